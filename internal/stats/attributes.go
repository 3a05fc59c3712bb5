// Package stats is what the commercial-performance team works on (DESIGN §10): the statistics
// table, fed with bands only, and its extract, generalised and suppressed until every combination
// of quasi-identifiers is shared by at least k rows (R37).
package stats

import (
	"strconv"
	"strings"
)

// An attribute is a column of the extract with its generalisation hierarchy: level 0 is the band
// the statistics table keeps, each level above groups the one below, the top level says nothing.
// Values travel as small codes (0 = unknown) so a row's bands pack into one integer, its cell.
type attribute struct {
	column string   // in the statistics table and the RFC 4180 header
	label  string   // in the excel-fr header
	levels []string // the name of each level, the last being the suppressed attribute
	bits   uint
	// up maps a code at level l to its code at level l+1.
	up func(l int, code uint64) uint64
	// text is the value written for a code at level l.
	text func(l int, code uint64, insurers []string) string
	// encode is the level-0 code of a band as the statistics table holds it.
	encode func(band string) uint64
}

const (
	attrMonth = iota
	attrAge
	attrPlace
	attrEnergy
	attrUsage
	attrVehicleAge
	attrCoverage
	attrBonusMalus
	attrPrice
	attrChannel
	attrInsurer
	attrDuration
	quasiIdentifiers // converted, below, is the attribute the extract is about, not one that singles out
)

// star is what a suppressed attribute shows.
const star = "*"

// enumerated builds the attribute of a closed list of bands, grouped above by groups (one map per
// level above 0, from a band to its group's name), then suppressed.
func enumerated(column, label string, levels []string, bits uint, bands []string, groups ...[]string) attribute {
	codes := make(map[string]uint64, len(bands))
	for i, b := range bands {
		codes[b] = uint64(i + 1)
	}
	// names[l] lists level l's values; parent[l][code] is the code at level l+1.
	names := [][]string{bands}
	var parent [][]uint64
	for _, g := range groups {
		var level []string
		index := map[string]uint64{}
		up := make([]uint64, len(names[len(names)-1])+1)
		for i, group := range g {
			if _, ok := index[group]; !ok {
				level = append(level, group)
				index[group] = uint64(len(level))
			}
			up[i+1] = index[group]
		}
		names = append(names, level)
		parent = append(parent, up)
	}
	return attribute{column: column, label: label, levels: levels, bits: bits,
		up: func(l int, code uint64) uint64 {
			if l >= len(parent) || code == 0 || code >= uint64(len(parent[l])) {
				return 0
			}
			return parent[l][code]
		},
		text: func(l int, code uint64, _ []string) string {
			if l >= len(names) {
				return star
			}
			if code == 0 || int(code) > len(names[l]) {
				return ""
			}
			return names[l][code-1]
		},
		encode: func(band string) uint64 { return codes[band] },
	}
}

// attributes are the extract's columns in their order; the month is first because the cell keeps
// it in its highest bits, so a period is a range of cells.
var attributes = [quasiIdentifiers + 1]attribute{
	attrMonth: {column: "month", label: "Période", levels: []string{"mois", "trimestre", "année", "supprimé"}, bits: 12,
		up: func(l int, code uint64) uint64 {
			if code == 0 {
				return 0
			}
			switch l {
			case 0: // month → quarter
				return (code-1)/3 + 1
			case 1: // quarter → year
				return (code-1)/4 + 1
			}
			return 0
		},
		text: func(l int, code uint64, _ []string) string {
			if code == 0 {
				if l >= 3 {
					return star
				}
				return ""
			}
			switch l {
			case 0:
				return strconv.Itoa(2000+int(code-1)/12) + "-" + twoDigits(int(code-1)%12+1)
			case 1:
				return strconv.Itoa(2000+int(code-1)/4) + "-T" + strconv.Itoa(int(code-1)%4+1)
			case 2:
				return strconv.Itoa(2000 + int(code-1))
			}
			return star
		},
		encode: monthCode},
	attrAge: enumerated("age_band", "Tranche d'âge", []string{"tranche de 10 ans", "tranche large", "supprimé"}, 3,
		[]string{"18-24", "25-34", "35-44", "45-54", "55-64", "65+"},
		[]string{"18-34", "18-34", "35-54", "35-54", "55+", "55+"}),
	attrPlace: enumerated("zone", "Zone géographique", []string{"département", "région", "pays"}, 7,
		departements(), regionsOfDepartements()),
	attrEnergy: enumerated("vehicle_energy", "Énergie", []string{"énergie", "famille", "supprimé"}, 3,
		[]string{"essence", "diesel", "hybride", "electrique", "gpl", "e85"},
		[]string{"thermique", "thermique", "electrifie", "electrifie", "thermique", "thermique"}),
	attrUsage: enumerated("vehicle_usage", "Usage", []string{"usage", "famille", "supprimé"}, 2,
		[]string{"prive", "trajet_travail", "professionnel"},
		[]string{"prive", "prive", "professionnel"}),
	attrVehicleAge: enumerated("vehicle_age_band", "Âge du véhicule", []string{"tranche", "tranche large", "supprimé"}, 3,
		[]string{"0-2", "3-5", "6-10", "11+"},
		[]string{"0-5", "0-5", "6+", "6+"}),
	attrCoverage: enumerated("coverage", "Garantie", []string{"garantie", "famille", "supprimé"}, 2,
		[]string{"tiers", "tiers_plus", "tous_risques"},
		[]string{"tiers", "tiers", "tous_risques"}),
	attrBonusMalus: enumerated("bonus_malus_band", "Bonus-malus", []string{"tranche", "bonus, neutre ou malus", "supprimé"}, 3,
		[]string{"0.50-0.69", "0.70-0.89", "0.90-0.99", "1.00", "1.01+"},
		[]string{"bonus", "bonus", "bonus", "neutre", "malus"}),
	attrPrice: priceAttribute(),
	attrChannel: enumerated("channel", "Canal", []string{"canal", "supprimé"}, 3,
		[]string{"web_form", "phone", "email", "agency", "api"}),
	attrInsurer: {column: "insurer", label: "Assureur", levels: []string{"assureur", "supprimé"}, bits: 6,
		up: func(int, uint64) uint64 { return 0 },
		text: func(l int, code uint64, insurers []string) string {
			if l >= 1 {
				return star
			}
			if code == 0 || int(code) > len(insurers) {
				return ""
			}
			return insurers[code-1]
		}},
	attrDuration: enumerated("contract_duration_band", "Durée du contrat", []string{"tranche", "supprimé"}, 3,
		[]string{"<1 an", "1-2 ans", "2-5 ans", "5+ ans", "en cours"}),
	quasiIdentifiers: {column: "converted", label: "Transformé en contrat", levels: []string{"oui ou non"}, bits: 1,
		text: func(_ int, code uint64, _ []string) string {
			if code == 1 {
				return "oui"
			}
			return "non"
		}},
}

// maxInsurers is how many insurers the cell can name; the rest share the last code.
const maxInsurers = 1<<6 - 1

// Price bands are €100 wide in the table; above, €200, then €1,000 (each nests in the next, which
// €250 would not), then nothing.
var priceWidths = []uint64{100, 200, 1000}

// maxPriceCode is the highest €100 band the cell holds: above it, prices share the last band.
const maxPriceCode = 1<<7 - 1

func priceAttribute() attribute {
	return attribute{column: "price", label: "Tranche de prix", levels: []string{"100 €", "200 €", "1 000 €", "supprimé"}, bits: 7,
		up: func(l int, code uint64) uint64 {
			if code == 0 || l+1 >= len(priceWidths) {
				return 0
			}
			low := (code - 1) * priceWidths[l]
			return low/priceWidths[l+1] + 1
		},
		text: func(l int, code uint64, _ []string) string {
			if l >= len(priceWidths) {
				return star
			}
			if code == 0 {
				return ""
			}
			low := (code - 1) * priceWidths[l]
			if l == 0 && code == maxPriceCode {
				return strconv.FormatUint(low, 10) + "+"
			}
			return strconv.FormatUint(low, 10) + "-" + strconv.FormatUint(low+priceWidths[l]-1, 10)
		},
		encode: func(band string) uint64 {
			n, err := strconv.ParseUint(band, 10, 64)
			if err != nil {
				return 0
			}
			return min(n/100+1, maxPriceCode)
		}}
}

// monthCode numbers the months from January 2000.
func monthCode(month string) uint64 {
	y, m, ok := strings.Cut(month, "-")
	year, err1 := strconv.Atoi(y)
	mon, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || year < 2000 || mon < 1 || mon > 12 || year > 2300 {
		return 0
	}
	return uint64((year-2000)*12 + mon)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// offsets are each attribute's lowest bit in a cell: the month highest, converted at bit 0.
var offsets = func() [quasiIdentifiers + 1]uint {
	var off [quasiIdentifiers + 1]uint
	var at uint
	for i := len(attributes) - 1; i >= 0; i-- {
		off[i] = at
		at += attributes[i].bits
	}
	return off
}()

func field(cell uint64, a int) uint64 {
	return cell >> offsets[a] & (1<<attributes[a].bits - 1)
}

func withField(cell uint64, a int, code uint64) uint64 {
	mask := uint64(1<<attributes[a].bits-1) << offsets[a]
	return cell&^mask | code<<offsets[a]
}

// ColumnDoc describes a column of the extract for the statistics' dictionary.
type ColumnDoc struct {
	Column, Label string
	// Levels are the generalisation levels, finest first; one level means the column is not a
	// quasi-identifier and is never generalised.
	Levels []string
}

// Dictionary is the « Dictionnaire de données — Statistiques »: each column of the extract with
// its generalisation hierarchy.
func Dictionary() []ColumnDoc {
	var out []ColumnDoc
	for _, a := range attributes {
		out = append(out, ColumnDoc{Column: a.column, Label: a.label, Levels: a.levels})
	}
	return out
}
