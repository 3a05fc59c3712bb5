package stats

import (
	"math/rand/v2"
	"testing"
)

// randomCells draws n cells with every attribute uniform over its bands (six years of months,
// three insurers): the hardest case, where nearly every row is unique at the finest levels.
func randomCells(n int) *classes {
	r := rand.New(rand.NewPCG(1, 1))
	domain := [quasiIdentifiers + 1]int{attrMonth: 72, attrAge: 6, attrPlace: 101, attrEnergy: 6, attrUsage: 3, attrVehicleAge: 4,
		attrCoverage: 3, attrBonusMalus: 5, attrPrice: 30, attrChannel: 5, attrInsurer: 3, attrDuration: 5, quasiIdentifiers: 2}
	c := newClasses(n)
	for range n {
		var cell uint64
		for a := range attributes {
			cell = withField(cell, a, uint64(r.IntN(domain[a])))
		}
		cell = withField(cell, attrMonth, uint64(240+r.IntN(domain[attrMonth])))
		c.add(cell, 1)
	}
	return c
}

func BenchmarkAnonymise1M(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		base := randomCells(1_000_000)
		b.StartTimer()
		anonymise(base, 10, 0, [quasiIdentifiers]bool{})
	}
}

// TestR37_HierarchiesNest: below the top level, a known value always generalises to a known
// group and an unknown one stays unknown (never hidden among real values); a price band lies
// within its wider band; the top level shows nothing but "*".
func TestR37_HierarchiesNest(t *testing.T) {
	for a := range quasiIdentifiers {
		at := attributes[a]
		top := len(at.levels) - 1
		for l := 0; l < top-1; l++ {
			for code := uint64(0); code < 1<<at.bits; code++ {
				known := at.text(l, code, []string{"A", "B"}) != ""
				if up := at.up(l, code); known != (up != 0) {
					t.Errorf("%s level %d: code %d known=%t goes to group %d", at.column, l, code, known, up)
				}
			}
		}
		if got := at.text(top, 1, []string{"A"}); got != star {
			t.Errorf("%s: the top level shows %q, want %q", at.column, got, star)
		}
	}
	price := attributes[attrPrice]
	for l := 0; l+1 < len(priceWidths); l++ {
		for code := uint64(1); code < maxPriceCode; code++ {
			low := (code - 1) * priceWidths[l]
			upLow := (price.up(l, code) - 1) * priceWidths[l+1]
			if low < upLow || low+priceWidths[l] > upLow+priceWidths[l+1] {
				t.Errorf("price band %s is not within %s", price.text(l, code, nil), price.text(l+1, price.up(l, code), nil))
			}
		}
	}
}
