// Package quoting is the online quote request (DESIGN §3, §6; rules R02, R18, R21, R31): the
// public form's submission — person, quote and consents written together or not at all — and the
// automated tariff whose price a person may ask a human to review (art. 22).
package quoting

import (
	"math"
	"strconv"
	"time"
)

// Facts are what the tariff looks at: the fields of the quote form, nothing else.
type Facts struct {
	Coverage     string
	BonusMalus   float64
	DriverAge    int
	LicenceYears int
	VehicleAge   int
	Energy       string
	Usage        string
	Claims       int
	Suspension   bool
	Cancelled    bool
	Departement  string
}

// Factor is one step of the computation, shown to the person so that the logic of the automated
// decision is explained (arts. 13(2)(f) and 22).
type Factor struct {
	Label      string
	Multiplier float64
}

// Price is the tariff's answer: the cheapest partner's yearly premium and how it was reached.
type Price struct {
	Premium float64
	Insurer string
	Base    float64
	Factors []Factor
}

// partners are the insurers the broker quotes for, with their yearly base premium per coverage.
var partners = []struct {
	name string
	base map[string]float64
}{
	{"Mutuelle des Routes de France", map[string]float64{"tiers": 395, "tiers_plus": 540, "tous_risques": 810}},
	{"Assurances Rhône-Alpes Auto", map[string]float64{"tiers": 410, "tiers_plus": 515, "tous_risques": 790}},
	{"La Prévoyance Automobile", map[string]float64{"tiers": 380, "tiers_plus": 560, "tous_risques": 835}},
}

// denseAreas are départements where traffic, and so the claim rate, is higher.
var denseAreas = map[string]bool{"75": true, "92": true, "93": true, "94": true, "13": true, "69": true, "06": true, "59": true}

// Quote runs the tariff: each partner's base for the coverage times the same risk factors; the
// cheapest partner wins. Deterministic, so a human reviewer can recompute it.
func Quote(f Facts) Price {
	factors := []Factor{{"Coefficient bonus-malus " + strconv.FormatFloat(f.BonusMalus, 'f', 2, 64), f.BonusMalus}}
	add := func(label string, m float64) {
		if m != 1 {
			factors = append(factors, Factor{label, m})
		}
	}
	switch {
	case f.DriverAge < 25:
		add("Conducteur de moins de 25 ans", 1.6)
	case f.DriverAge < 30:
		add("Conducteur de 25 à 29 ans", 1.2)
	case f.DriverAge >= 75:
		add("Conducteur de 75 ans ou plus", 1.25)
	}
	if f.LicenceYears < 3 {
		add("Permis de moins de 3 ans", 1.3)
	}
	switch {
	case f.VehicleAge <= 2:
		add("Véhicule de moins de 3 ans", 1.15)
	case f.VehicleAge >= 12:
		add("Véhicule de 12 ans ou plus", 0.85)
	}
	switch f.Energy {
	case "electrique":
		add("Véhicule électrique", 0.9)
	case "hybride":
		add("Véhicule hybride", 0.95)
	}
	switch f.Usage {
	case "trajet_travail":
		add("Usage trajet domicile-travail", 1.1)
	case "professionnel":
		add("Usage professionnel", 1.25)
	}
	if f.Claims > 0 {
		add("Sinistres sur 3 ans : "+strconv.Itoa(f.Claims), 1+0.2*float64(f.Claims))
	}
	if f.Suspension {
		add("Suspension de permis dans les 5 ans", 1.5)
	}
	if f.Cancelled {
		add("Résiliation par un assureur dans les 3 ans", 1.4)
	}
	if denseAreas[f.Departement] {
		add("Zone de circulation dense", 1.2)
	}
	risk := 1.0
	for _, x := range factors {
		risk *= x.Multiplier
	}
	best := Price{Premium: math.Inf(1)}
	for _, p := range partners {
		premium := math.Round(p.base[f.Coverage]*risk*100) / 100
		if premium < best.Premium {
			best = Price{Premium: premium, Insurer: p.name, Base: p.base[f.Coverage]}
		}
	}
	best.Factors = factors
	return best
}

// yearsBetween counts whole years from a date to now (an age, a licence's seniority).
func yearsBetween(from, now time.Time) int {
	y := now.Year() - from.Year()
	if now.YearDay() < from.YearDay() {
		y--
	}
	return max(y, 0)
}
