package stats

import (
	"cmp"
	"math/bits"
	"slices"
)

// classes counts rows by their quasi-identifiers at the current levels (the cell without its
// converted bit): how many were not converted, how many were. It is an open-addressing table of
// its own because the search regroups up to a million classes a dozen times per step, where a
// built-in map spends most of its time probing.
type classes struct {
	keys  []uint64 // the key with bit 63 set; 0 marks a free slot (cells use fewer than 63 bits)
	count [][2]uint32
	used  int
	shift uint
}

const occupied = 1 << 63

func newClasses(capacity int) *classes {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	return &classes{keys: make([]uint64, size), count: make([][2]uint32, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

// slot finds key's slot, free or its own (Fibonacci hashing, linear probing: the keys of a step
// arrive in the order of the step before, so neighbours stay near, which keeps the cache warm).
func (c *classes) slot(key uint64) int {
	mask := len(c.keys) - 1
	i := int((key * 0x9E3779B97F4A7C15) >> c.shift)
	for c.keys[i] != 0 && c.keys[i] != key|occupied {
		i = (i + 1) & mask
	}
	return i
}

// addCounts adds to key's class, growing the table past half full.
func (c *classes) addCounts(key uint64, v [2]uint32) {
	if 2*(c.used+1) > len(c.keys) {
		c.grow()
	}
	i := c.slot(key)
	if c.keys[i] == 0 {
		c.keys[i] = key | occupied
		c.used++
	}
	c.count[i][0] += v[0]
	c.count[i][1] += v[1]
}

// add counts n rows of a cell.
func (c *classes) add(cell uint64, n uint32) {
	var v [2]uint32
	v[cell&1] = n // converted is bit 0 (offsets)
	c.addCounts(cell&^1, v)
}

func (c *classes) grow() {
	next := newClasses(len(c.keys))
	c.each(func(key uint64, v [2]uint32) { next.addCounts(key, v) })
	*c = *next
}

func (c *classes) get(key uint64) ([2]uint32, bool) {
	i := c.slot(key)
	return c.count[i], c.keys[i] != 0
}

func (c *classes) each(fn func(key uint64, v [2]uint32)) {
	for i, k := range c.keys {
		if k != 0 {
			fn(k&^occupied, c.count[i])
		}
	}
}

func (c *classes) len() int { return c.used }

// reset empties the table, keeping its room.
func (c *classes) reset() {
	clear(c.keys)
	clear(c.count)
	c.used = 0
}

// plan is the outcome of the search: the level of each quasi-identifier, and the classes shown.
type plan struct {
	levels     [quasiIdentifiers]int
	classes    *classes
	rows       int64 // in the source
	suppressed int64
	kReached   int64 // the smallest class shown
}

// shown tells whether a class may appear: at least k rows and, with l = 2, both outcomes (so that
// being in the class does not reveal whether one signed).
func shown(v [2]uint32, k, l int) bool {
	if int64(v[0])+int64(v[1]) < int64(k) {
		return false
	}
	return l < 2 || (v[0] > 0 && v[1] > 0)
}

// importance weighs what an attribute's detail is worth to the analysts when two refinements
// are otherwise equal.
var importance = [quasiIdentifiers]float64{attrMonth: 3, attrPlace: 3, attrPrice: 3, attrAge: 2, attrCoverage: 2, attrBonusMalus: 2,
	attrEnergy: 1.5, attrUsage: 1, attrVehicleAge: 1, attrChannel: 1, attrInsurer: 1, attrDuration: 1}

// maxSuppression is the share of rows the search may suppress rather than generalise further.
const maxSuppression = 0.02

// sampleAbove is the number of distinct rows past which the search estimates its tries on a
// sample of the resulting groups before checking the chosen one on every row.
const sampleAbove = 1 << 16

// search is the state of the top-down search: the distinct rows at the finest levels (their
// cells without the converted bit, and their counts), and the same rows at the current levels.
type search struct {
	base    []uint64
	count   [][2]uint32
	current []uint64
	levels  [quasiIdentifiers]int
	rows    int64
	k, l    int
	budget  int64
	// coarsen[a][level][code] is the code at that level of a finest-level code.
	coarsen [quasiIdentifiers][][]uint64
	scratch *classes
}

// anonymise searches full-domain generalisations top down (Fung, Wang and Yu's top-down
// specialisation): it starts with every quasi-identifier at its top level — one group — and, as
// long as one of them can be refined by a level while at most maxSuppression of the rows sit in
// groups that may not be shown, it refines the one that leaves the lowest discernibility (the sum
// of the squared sizes of the groups shown, plus the rows hidden times all rows). The groups still
// too small at the end are suppressed. Attributes the caller left out stay at their top level.
// The groups of a try are few (the rows over k, and the budget), so a try is a pass over the rows
// into a small table.
func anonymise(base *classes, k, l int, omitted [quasiIdentifiers]bool) plan {
	s := &search{k: k, l: l}
	s.base = make([]uint64, 0, base.len())
	s.count = make([][2]uint32, 0, base.len())
	base.each(func(key uint64, v [2]uint32) {
		s.base = append(s.base, key)
		s.count = append(s.count, v)
		s.rows += int64(v[0]) + int64(v[1])
	})
	s.current = make([]uint64, len(s.base)) // every field at its top level: code 0
	s.budget = int64(float64(s.rows) * maxSuppression)
	for a := range quasiIdentifiers {
		at := attributes[a]
		s.levels[a] = len(at.levels) - 1
		s.coarsen[a] = make([][]uint64, len(at.levels))
		finest := make([]uint64, 1<<at.bits)
		for code := range finest {
			finest[code] = uint64(code)
		}
		s.coarsen[a][0] = finest
		for level := 1; level < len(at.levels); level++ {
			up := make([]uint64, len(finest))
			for code := range up {
				up[code] = at.up(level-1, s.coarsen[a][level-1][code])
			}
			s.coarsen[a][level] = up
		}
	}
	if hidden, _ := s.try(-1, 0); hidden <= s.budget {
		for s.refine(omitted) {
		}
	}
	return s.plan()
}

// refine takes the best refinement that keeps the suppression within the budget; false when none
// does.
func (s *search) refine(omitted [quasiIdentifiers]bool) bool {
	type candidate struct {
		a            int
		hidden       int64
		cost, weight float64
	}
	var sampleBits uint
	if len(s.base) > sampleAbove {
		sampleBits = 3
	}
	var candidates []candidate
	for a := range quasiIdentifiers {
		if omitted[a] || s.levels[a] == 0 {
			continue
		}
		hidden, cost := s.try(a, sampleBits)
		candidates = append(candidates, candidate{a, hidden << sampleBits, cost * float64(uint64(1)<<sampleBits), importance[a]})
	}
	slices.SortFunc(candidates, func(x, y candidate) int {
		switch {
		case x.cost != y.cost:
			return cmp.Compare(x.cost, y.cost)
		default:
			return cmp.Compare(y.weight, x.weight)
		}
	})
	for _, c := range candidates {
		if sampleBits > 0 {
			if c.hidden > 2*s.budget+int64(s.k)<<sampleBits {
				continue // far over the budget even allowing for the sample's error
			}
			if hidden, _ := s.try(c.a, 0); hidden > s.budget {
				continue
			}
		} else if c.hidden > s.budget {
			continue
		}
		s.apply(c.a)
		return true
	}
	return false
}

// try groups the rows with attribute a one level finer (a < 0: as they are) and measures the
// groups; with sampleBits, only the groups whose key hashes into the first 1/2^sampleBits.
func (s *search) try(a int, sampleBits uint) (hidden int64, cost float64) {
	if s.scratch == nil {
		s.scratch = newClasses(1 << 12)
	} else {
		s.scratch.reset()
	}
	if a < 0 {
		for i, key := range s.current {
			s.scratch.addCounts(key, s.count[i])
		}
		return s.scratch.measure(s.k, s.l, s.rows)
	}
	off, width := offsets[a], attributes[a].bits
	mask := uint64(1<<width-1) << off
	finer := s.coarsen[a][s.levels[a]-1]
	for i, key := range s.current {
		refined := key&^mask | finer[s.base[i]>>off&(1<<width-1)]<<off
		if sampleBits > 0 && (refined*0xC2B2AE3D27D4EB4F)>>(64-sampleBits) != 0 {
			continue
		}
		s.scratch.addCounts(refined, s.count[i])
	}
	return s.scratch.measure(s.k, s.l, s.rows)
}

// apply refines attribute a by one level for every row.
func (s *search) apply(a int) {
	s.levels[a]--
	off, width := offsets[a], attributes[a].bits
	mask := uint64(1<<width-1) << off
	finer := s.coarsen[a][s.levels[a]]
	for i, key := range s.current {
		s.current[i] = key&^mask | finer[s.base[i]>>off&(1<<width-1)]<<off
	}
}

// plan groups the rows at the levels found and keeps the groups that may be shown.
func (s *search) plan() plan {
	p := plan{levels: s.levels, rows: s.rows}
	all := newClasses(1 << 12)
	for i, key := range s.current {
		all.addCounts(key, s.count[i])
	}
	p.classes = newClasses(all.len())
	all.each(func(key uint64, v [2]uint32) {
		n := int64(v[0]) + int64(v[1])
		if !shown(v, s.k, s.l) {
			p.suppressed += n
			return
		}
		p.classes.addCounts(key, v)
		if p.kReached == 0 || n < p.kReached {
			p.kReached = n
		}
	})
	return p
}

// measure counts the rows in classes that may not be shown, and the discernibility.
func (c *classes) measure(k, l int, rows int64) (hidden int64, cost float64) {
	c.each(func(_ uint64, v [2]uint32) {
		n := int64(v[0]) + int64(v[1])
		if shown(v, k, l) {
			cost += float64(n) * float64(n)
		} else {
			hidden += n
		}
	})
	return hidden, cost + float64(hidden)*float64(rows)
}

// sortedKeys lists the shown classes in cell order: chronological, then by band.
func (p *plan) sortedKeys() []uint64 {
	keys := make([]uint64, 0, p.classes.len())
	p.classes.each(func(key uint64, _ [2]uint32) { keys = append(keys, key) })
	slices.Sort(keys)
	return keys
}

// generalised is a row's cell brought to the plan's levels.
func (p *plan) generalised(cell uint64) uint64 {
	for a := range quasiIdentifiers {
		code := field(cell, a)
		for l := range p.levels[a] {
			code = attributes[a].up(l, code)
		}
		cell = withField(cell, a, code)
	}
	return cell
}
