package quoting

import (
	"math"
	"testing"
	"time"
)

// TestR31_TariffIsExplained: the automated price is the cheapest partner's base times the listed
// factors, so the person can be told how it was reached and a human can recompute it.
func TestR31_TariffIsExplained(t *testing.T) {
	base := Facts{Coverage: "tiers", BonusMalus: 1, DriverAge: 40, LicenceYears: 20, VehicleAge: 6, Energy: "essence", Usage: "prive", Departement: "23"}
	young := base
	young.DriverAge, young.LicenceYears = 20, 1
	risky := base
	risky.Claims, risky.Suspension, risky.Departement = 2, true, "75"
	cases := []struct {
		name    string
		f       Facts
		factors int
	}{
		{"reference driver", base, 1},
		{"young driver, new licence", young, 3},
		{"claims, suspension, dense area", risky, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Quote(c.f)
			if len(p.Factors) != c.factors {
				t.Errorf("%d factors, want %d: %+v", len(p.Factors), c.factors, p.Factors)
			}
			want := p.Base
			for _, f := range p.Factors {
				want *= f.Multiplier
			}
			if math.Abs(want-p.Premium) > 0.01 {
				t.Errorf("premium %.2f is not base × factors = %.2f", p.Premium, want)
			}
			if again := Quote(c.f); again.Premium != p.Premium || again.Insurer != p.Insurer {
				t.Error("the tariff is not deterministic")
			}
		})
	}
	if Quote(young).Premium <= Quote(base).Premium || Quote(risky).Premium <= Quote(base).Premium {
		t.Error("higher risk does not cost more")
	}
}

func TestYearsBetween(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from string
		want int
	}{{"1990-11-22", 36}, {"1990-11-23", 35}, {"2030-01-01", 0}} {
		from, _ := time.Parse("2006-01-02", c.from)
		if got := yearsBetween(from, now); got != c.want {
			t.Errorf("yearsBetween(%s) = %d, want %d", c.from, got, c.want)
		}
	}
}
