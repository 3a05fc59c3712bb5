package demo

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"vigie/internal/keys"
)

// Times are handled as Unix seconds (UTC, whole seconds) while generating: it keeps the hot path
// free of time.Time arithmetic, and whole seconds compare the same way in Go, SQLite and
// PostgreSQL.
const (
	hour = int64(3600)
	day  = 24 * hour
	year = 365*day + day/4
)

// plan is one generated person and everything attached to them, ready for the loader. Plans are
// reused from one person to the next, maps included, so that generating a million persons does
// not allocate a million sets of maps.
type plan struct {
	person row
	rows   []row
	n      int
	// due: some of the person's data is past its retention period at opt.Now under the default
	// rules of DESIGN §5 (see generator.markDue).
	due bool
}

// row is one record of a person's: its table, canonical values and provenance. ref names a
// column that takes the id the loader gives to rows[refIdx] (a contract's quote_id, a message's
// ticket_id).
type row struct {
	table  string
	vals   map[string]any
	prov   keys.Provenance
	ref    string
	refIdx int
}

func (p *plan) reset() {
	if p.person.vals == nil {
		p.person.vals = make(map[string]any, 20)
	}
	clear(p.person.vals)
	p.person.table = "persons"
	p.n = 0
	p.due = false
}

// add starts a new row and returns its index. Rows are addressed by index because add may grow
// the slice.
func (p *plan) add(table string, prov keys.Provenance) int {
	if p.n == len(p.rows) {
		p.rows = append(p.rows, row{vals: make(map[string]any, 24)})
	}
	r := &p.rows[p.n]
	clear(r.vals)
	r.table, r.prov, r.ref, r.refIdx = table, prov, "", 0
	p.n++
	return p.n - 1
}

// generator draws persons from the embedded lists with a seeded PCG: the same seed and the same
// opt.Now give the same data, value for value.
type generator struct {
	l     *lists
	r     *rand.Rand
	now   int64
	start int64 // six years before now: where the data begins

	// Retention horizons of DESIGN §5, counted back from now.
	cut2y, cut3y, cut5y int64
	cut3yDate           string

	seq         int   // persons generated so far; numbers the e-mail addresses
	lastContact int64 // latest contact of the person being generated
	first, last name  // the person being generated
	commune     *commune
	insurerSum  int
	num         []byte
}

func newGenerator(l *lists, seed int64, now time.Time) *generator {
	now = now.UTC().Truncate(time.Second)
	g := &generator{
		l:     l,
		r:     rand.New(rand.NewPCG(uint64(seed), 0x56494749452d3236)), // "VIGIE-26"
		now:   now.Unix(),
		start: now.AddDate(-6, 0, 0).Unix(),
		cut2y: now.AddDate(-2, 0, 0).Unix(),
		cut3y: now.AddDate(-3, 0, 0).Unix(),
		cut5y: now.AddDate(-5, 0, 0).Unix(),
	}
	g.cut3yDate = dateOf(g.cut3y)
	for _, ins := range insurers {
		g.insurerSum += ins.weight
	}
	return g
}

// Small helpers over the random source.

func (g *generator) between(a, b int64) int64 {
	if b <= a {
		return a
	}
	return a + g.r.Int64N(b-a)
}

func (g *generator) percent(p int) bool { return g.r.IntN(100) < p }

func pick[T any](g *generator, list []T) T { return list[g.r.IntN(len(list))] }

// delay is an exponentially distributed wait with the given mean.
func (g *generator) delay(mean int64) int64 { return int64(g.r.ExpFloat64() * float64(mean)) }

func (g *generator) contact(at int64) {
	if at > g.lastContact {
		g.lastContact = at
	}
}

func (g *generator) clamp(at int64) int64 { return min(at, g.now) }

func ts(s int64) time.Time { return time.Unix(s, 0).UTC() }

// dateOf formats a day as AAAA-MM-JJ without going through time.Format.
func dateOf(s int64) string {
	y, m, d := time.Unix(s, 0).UTC().Date()
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// weighted draws a value from value/weight pairs whose weights sum to 100.
type weighted []struct {
	v string
	w int
}

func (g *generator) draw(list weighted) string {
	x := g.r.IntN(100)
	for _, e := range list {
		if x < e.w {
			return e.v
		}
		x -= e.w
	}
	return list[len(list)-1].v
}

var (
	prospectSources = weighted{{"web_form", 30}, {"phone", 20}, {"email", 10}, {"partner", 15}, {"agency", 5}, {"legacy_import", 20}}
	customerSources = weighted{{"web_form", 40}, {"phone", 20}, {"agency", 25}, {"partner", 10}, {"email", 5}}
	coverages       = [3]string{"tiers", "tiers_plus", "tous_risques"}
	usages          = weighted{{"prive", 55}, {"trajet_travail", 40}, {"professionnel", 5}}
	emailDomains    = []string{"exemple.fr", "exemple.fr", "exemple.com", "exemple.org", "example.com", "example.net"}
	plateLetters    = "ABCDEFGHJKLMNPQRSTVWXYZ" // SIV: no I, O or U
)

// provenanceChannel is the collection channel (record.Channels) of data that came from a source.
func provenanceChannel(source string) string {
	if source == "legacy_import" {
		return "import"
	}
	return source
}

// quoteChannel is the quotes.channel value for a person's source.
func quoteChannel(source string) string {
	switch source {
	case "web_form", "phone", "email", "agency":
		return source
	}
	return "api"
}

// next generates the next person into p: 45 % prospects, 35 % customers, 20 % former customers.
func (g *generator) next(p *plan) {
	p.reset()
	g.seq++
	g.lastContact = 0
	g.first, g.last = pick(g, g.l.firstNames), pick(g, g.l.lastNames)
	g.commune = &g.l.communes[g.r.IntN(len(g.l.communes))]
	switch x := g.r.IntN(100); {
	case x < 45:
		g.prospect(p)
	case x < 80:
		g.customer(p)
	default:
		g.former(p)
	}
}

// prospect: collected for prospection (or for a quote, through the web form), contacted a few
// times, never converted. Legacy imports are the old CRM's prospects, loaded at the start of the
// six years and never contacted since: the data the CNIL found kept forever.
func (g *generator) prospect(p *plan) {
	source := g.draw(prospectSources)
	created := g.between(g.start, g.now-day)
	if source == "legacy_import" {
		created = g.importDate()
	}
	quoting := source == "web_form" && g.percent(70) || source != "legacy_import" && g.percent(15)
	g.contact(created)
	purpose := "prospection"
	var birth int64
	if quoting {
		purpose = "quotes"
		birth = g.birth(created)
		at := created
		for n := 1 + g.quoteExtra(); n > 0 && at < g.now; n-- {
			status := g.openQuoteStatus(at)
			g.quote(p, at, birth, status, quoteChannel(source))
			if at < g.cut2y {
				p.due = true // quote without contract, past 2 years: anonymise
			}
			g.contact(at)
			if g.percent(50) {
				follow := g.clamp(at + g.between(day, 10*day))
				g.interaction(p, follow, "quotes", quoteNotes, 70)
				g.contact(follow)
			}
			at += g.between(day, 60*day)
		}
	} else if source != "legacy_import" || g.percent(30) {
		at := created
		for n := 1 + g.r.IntN(3); n > 0 && at < g.now; n-- {
			g.interaction(p, at, "prospection", prospectionNotes, 60)
			g.contact(at)
			at += g.delay(120 * day)
		}
	}
	if g.lastContact < g.cut3y {
		p.due = true // prospect not contacted for three years: delete
	}
	g.personVals(p, "prospect", source, created, purpose, birth)
}

// customer: converted from a quote (or signed at the agency), with an active contract, sometimes
// a second quote or contract, a few interactions and now and then a support ticket.
func (g *generator) customer(p *plan) {
	source := g.draw(customerSources)
	created := g.between(g.start, g.now-45*day)
	g.contact(created)
	viaQuote := source != "agency" || g.percent(50)
	purpose := "contracts"
	if viaQuote {
		purpose = "quotes"
	}
	birth := g.birth(created)
	var first int
	start := created + g.between(0, 7*day)
	if viaQuote {
		qi, o := g.quote(p, created, birth, "accepted", quoteChannel(source))
		start = created + g.between(day, 30*day)
		first = g.contract(p, qi, o, start, 0, "", provenanceChannel(source), 0)
	} else {
		first = g.contract(p, -1, g.offer(), start, 0, "", "agency", 0)
	}
	if g.percent(50) {
		// Another quote: a second car, or a price check at renewal.
		at := g.between(created+day, g.now-day)
		accepted := g.percent(30)
		status := "accepted"
		if !accepted {
			status = g.openQuoteStatus(at)
		}
		qi, o := g.quote(p, at, birth, status, quoteChannel(source))
		g.contact(at)
		if accepted {
			g.contract(p, qi, o, g.clamp(at+g.between(day, 20*day)), 0, "", "agency", 0)
		} else if at < g.cut2y {
			p.due = true
		}
	}
	if g.percent(50) {
		at := g.between(created, g.now)
		g.interaction(p, at, "contracts", contractNotes, 70)
		g.contact(at)
	}
	if g.percent(20) {
		g.ticket(p, first, start+day, g.now, "")
	}
	g.personVals(p, "customer", source, created, purpose, birth)
}

// former: a customer whose contract ended. Three in ten are legacy imports whose contracts ended
// before the six years began: past the five-year archive, to be deleted.
func (g *generator) former(p *plan) {
	var source, purpose, channel string
	var created, start, end int64
	var ci int
	birth := int64(0)
	if g.percent(30) {
		source, purpose, channel = "legacy_import", "contracts", "import"
		created = g.importDate()
		birth = g.birth(created)
		end = created - g.between(day, 2*year)
		start = end - g.between(year, 5*year)
		ci = g.contract(p, -1, g.offer(), start, end, g.endStatus(), channel, created)
	} else {
		source, purpose = g.draw(customerSources), "quotes"
		channel = provenanceChannel(source)
		// Those who left joined early, more often than not.
		u := g.r.Float64()
		created = g.start + int64(u*u*float64(g.now-400*day-g.start))
		birth = g.birth(created)
		g.contact(created)
		qi, o := g.quote(p, created, birth, "accepted", quoteChannel(source))
		start = created + g.between(day, 30*day)
		end = start + g.between(180*day, 3*year)
		if maxEnd := g.now - 30*day; end > maxEnd {
			end = g.between(start+day, maxEnd)
		}
		ci = g.contract(p, qi, o, start, end, g.endStatus(), channel, 0)
	}
	left := g.clamp(end + g.between(0, 20*day))
	if g.percent(60) {
		g.interaction(p, left, "contracts", contractNotes, 80)
	}
	g.contact(left)
	if g.percent(15) {
		subject := ""
		if g.percent(50) {
			subject = "Résiliation du contrat"
		}
		g.ticket(p, ci, start, end, subject)
	}
	if dateOf(end) < g.cut3yDate {
		p.due = true // relationship ended three years ago: anonymise the profile
	}
	g.personVals(p, "former_customer", source, created, purpose, birth)
}

// importDate is when the legacy CRM was loaded: in the first two months of the six years.
func (g *generator) importDate() int64 { return g.start + g.between(day, 60*day) }

func (g *generator) quoteExtra() int {
	switch x := g.r.IntN(100); {
	case x < 10:
		return 2
	case x < 40:
		return 1
	}
	return 0
}

// openQuoteStatus is the state of a quote that did not become a contract: still open when recent,
// expired or refused when old.
func (g *generator) openQuoteStatus(at int64) string {
	if at > g.now-30*day {
		if g.percent(20) {
			return "draft"
		}
		return "sent"
	}
	if g.percent(60) {
		return "expired"
	}
	return "refused"
}

func (g *generator) endStatus() string {
	if g.percent(60) {
		return "terminated"
	}
	return "expired"
}

// birth draws a birth date so that the person is 18 to 80 at collection (and so an adult now).
func (g *generator) birth(collected int64) int64 {
	age := 18 + (g.r.Int64N(63)+g.r.Int64N(63))/2
	return collected - age*year - g.between(2*day, year)
}

// personVals fills the person row, once the children are known (last contact is the latest of
// their contacts).
func (g *generator) personVals(p *plan, kind, source string, created int64, purpose string, birth int64) {
	v := p.person.vals
	first, last, c := g.first, g.last, g.commune
	emailP, phoneP := 90, 85
	switch source {
	case "phone":
		emailP, phoneP = 50, 100
	case "web_form":
		emailP, phoneP = 100, 70
	}
	v["kind"] = kind
	v["source"] = source
	v["first_name"] = first.text
	v["last_name"] = last.text
	v["birth_date"] = nil
	if birth != 0 {
		v["birth_date"] = dateOf(birth)
	}
	v["email"] = nil
	if g.percent(emailP) {
		v["email"] = g.email(first, last)
	}
	v["phone"] = nil
	if g.percent(phoneP) || v["email"] == nil {
		v["phone"] = g.phone(c)
	}
	v["address_line"] = g.address()
	v["postal_code"] = c.postalCode
	v["city"] = c.name
	v["departement"] = c.departement
	v["last_contact_at"] = ts(g.lastContact)
	v["restricted"] = false
	v["legal_hold"] = false
	v["deceased"] = false
	v["objected_prospection"] = false
	v["erased_at"] = nil
	v["renewal_asked_at"] = nil
	v["created_at"] = ts(created)
	v["updated_at"] = ts(max(created, g.lastContact))
	p.person.prov = keys.Provenance{CollectedAt: ts(created), Channel: provenanceChannel(source), Purpose: purpose}
	g.consents(p, source, created)
}

// consents are the person's choices for the optional purposes: the web form asks all three with
// unticked boxes; on the phone or at the agency a staff member sometimes records a choice; some
// e-mail consents are later withdrawn through the link of a message. The old CRM's imports come
// with none: it kept no proof of consent.
func (g *generator) consents(p *plan, source string, created int64) {
	choice := func(purpose string, granted bool, at int64, channel, method string) {
		i := p.add("consents", keys.Provenance{CollectedAt: ts(at), Channel: channel, Purpose: "compliance"})
		v := p.rows[i].vals
		v["purpose"], v["granted"], v["given_at"], v["recorded_at"] = purpose, granted, ts(at), ts(at)
		v["channel"], v["method"], v["notice_id"], v["recorded_by"] = channel, method, nil, nil
	}
	switch source {
	case "web_form":
		email := g.percent(35)
		choice("prospection_email", email, created, "web_form", "checkbox")
		choice("prospection_phone", g.percent(15), created, "web_form", "checkbox")
		choice("performance", g.percent(55), created, "web_form", "checkbox")
		if email && g.percent(10) {
			choice("prospection_email", false, g.between(created, g.now), "email", "withdrawal_link")
		}
	case "phone", "agency":
		if g.percent(40) {
			choice("prospection_phone", g.percent(60), created, provenanceChannel(source), "staff_recorded")
		}
		if g.percent(30) {
			choice("performance", g.percent(50), created, provenanceChannel(source), "staff_recorded")
		}
	}
}

func (g *generator) email(first, last name) string {
	b := g.num[:0]
	b = append(b, first.slug...)
	b = append(b, '.')
	b = append(b, last.slug...)
	b = append(b, '+')
	b = strconv.AppendInt(b, int64(g.seq), 10)
	b = append(b, '@')
	b = append(b, pick(g, emailDomains)...)
	g.num = b
	return string(b)
}

// phone draws a number of the commune's numbering zone: three mobiles for one landline.
func (g *generator) phone(c *commune) string {
	prefixes := c.mobile
	if g.percent(25) {
		prefixes = c.landline
	}
	prefix := pick(g, prefixes)
	size := 13 // +590…, +596…, +594…, +262… and nine digits
	if prefix[:3] == "+33" {
		size = 12
	}
	b := append(g.num[:0], prefix...)
	for len(b) < size {
		b = append(b, byte('0'+g.r.IntN(10)))
	}
	g.num = b
	return string(b)
}

func (g *generator) address() string {
	n := 1 + g.r.IntN(40)
	if g.percent(30) {
		n = 1 + g.r.IntN(180)
	}
	b := strconv.AppendInt(g.num[:0], int64(n), 10)
	switch x := g.r.IntN(100); {
	case x < 4:
		b = append(b, " bis"...)
	case x < 5:
		b = append(b, " ter"...)
	}
	b = append(b, ' ')
	b = append(b, pick(g, streetTypes)...)
	b = append(b, ' ')
	b = append(b, pick(g, g.l.streets)...)
	g.num = b
	return string(b)
}

// offer is what a contract takes from its quote.
type offer struct {
	insurer *insurer
	premium int64 // cents a year
}

func (g *generator) insurer() *insurer {
	x := g.r.IntN(g.insurerSum)
	for i := range insurers {
		if x < insurers[i].weight {
			return &insurers[i]
		}
		x -= insurers[i].weight
	}
	return &insurers[0]
}

// offer prices a contract signed without a quote in Vigie (agency, legacy).
func (g *generator) offer() offer {
	return offer{insurer: g.insurer(), premium: g.between(35000, 140000)}
}

// bonusMalus[y] is the coefficient, in hundredths, after y years without a claim: 5 % less each
// year, rounded down, never under 0.50 (Code des assurances, art. A121-1).
var bonusMalus = func() [61]int64 {
	var t [61]int64
	c := int64(100)
	for y := range t {
		t[y] = c
		c = max(50, c*95/100)
	}
	return t
}()

// hundredths[n] is n/100 with two decimals ("0.85"), the canonical text of a numeric(x,2).
var hundredths = func() []string {
	t := make([]string, 351)
	for i := range t {
		t[i] = strconv.Itoa(i/100) + "." + string([]byte{byte('0' + i%100/10), byte('0' + i%10)})
	}
	return t
}()

func (g *generator) cents(c int64) json.Number {
	b := strconv.AppendInt(g.num[:0], c/100, 10)
	b = append(b, '.', byte('0'+c%100/10), byte('0'+c%10))
	g.num = b
	return json.Number(b)
}

// quote adds a quote request made at `at` by a driver born at birth, and returns its row and
// what a contract would take from it.
func (g *generator) quote(p *plan, at, birth int64, status, channel string) (int, offer) {
	i := p.add("quotes", keys.Provenance{CollectedAt: ts(at), Channel: channel, Purpose: "quotes"})
	v := p.rows[i].vals
	quoteYear := time.Unix(at, 0).UTC().Year()

	m := pick(g, vehicleModels)
	for m.from > quoteYear {
		m = pick(g, vehicleModels)
	}
	age := 0
	if !g.percent(15) {
		age = 1 + g.r.IntN(15)
	}
	vYear := max(m.from, quoteYear-age)
	energy := g.energy(m, vYear)
	reg := min(time.Date(vYear, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+g.between(0, 365*day), at-day)

	licence := birth + 18*year + 2*day
	licence += g.between(0, min(10*year, at-licence))
	yearsLicensed := min(int((at-licence)/year), 60)
	claims := 0
	switch x := g.r.IntN(100); {
	case x < 1:
		claims = 3
	case x < 5:
		claims = 2
	case x < 20:
		claims = 1
	}
	bm := bonusMalus[yearsLicensed]
	for range claims {
		if g.percent(60) { // a claim the driver was responsible for: +25 %
			bm = min(350, bm*125/100)
		}
	}
	coverage := g.coverage(quoteYear - vYear)
	ins := g.insurer()
	premium := g.premium(coverage, bm, at-birth, energy)

	v["status"] = status
	v["channel"] = channel
	v["vehicle_make"] = m.make
	v["vehicle_model"] = m.model
	v["vehicle_year"] = int64(vYear)
	v["vehicle_energy"] = energy
	v["vehicle_usage"] = g.draw(usages)
	v["registration_date"] = dateOf(reg)
	v["plate"] = g.plate(reg)
	v["licence_date"] = dateOf(licence)
	v["bonus_malus"] = json.Number(hundredths[bm])
	v["claims_3y"] = int64(claims)
	v["licence_suspension_5y"] = g.percent(2)
	v["cancelled_by_insurer_3y"] = g.percent(2) || claims >= 2 && g.percent(10)
	v["coverage"] = coverage
	v["insurer"] = ins.name
	v["premium_quoted"] = g.cents(premium)
	v["automated_decision"] = channel == "web_form" || channel == "api"
	v["comment"] = nil
	if g.percent(25) {
		v["comment"] = pick(g, quoteComments)
	}
	v["created_at"] = ts(at)
	updated := at
	if status != "draft" {
		updated = g.clamp(at + g.between(hour, 30*day))
	}
	v["updated_at"] = ts(updated)
	return i, offer{insurer: ins, premium: premium}
}

// energy draws one of the model's energies that existed in that year.
func (g *generator) energy(m vehicleModel, vYear int) string {
	var ok [6]string
	n := 0
	for _, e := range m.energies {
		if e == "electrique" && vYear < 2019 && len(m.energies) > 1 || e == "hybride" && vYear < 2012 && len(m.energies) > 1 {
			continue
		}
		ok[n] = e
		n++
	}
	if n == 0 {
		return m.energies[0]
	}
	return ok[g.r.IntN(n)]
}

func (g *generator) coverage(vehicleAge int) string {
	x := g.r.IntN(100)
	switch {
	case vehicleAge < 4:
		x = x/10*10 + 40 // mostly tous_risques
	case vehicleAge > 10:
		x /= 2 // mostly tiers
	}
	switch {
	case x < 33:
		return coverages[0]
	case x < 66:
		return coverages[1]
	}
	return coverages[2]
}

// premium is a plausible yearly premium, in cents: coverage, bonus-malus, driver's age, energy,
// zone, and some noise.
func (g *generator) premium(coverage string, bm, ageSeconds int64, energy string) int64 {
	base := map[string]int64{"tiers": 32000, "tiers_plus": 52000, "tous_risques": 82000}[coverage]
	c := base * bm / 100
	switch age := ageSeconds / year; {
	case age < 25:
		c = c * 190 / 100
	case age < 30:
		c = c * 130 / 100
	case age > 70:
		c = c * 120 / 100
	}
	if energy == "electrique" {
		c = c * 110 / 100
	}
	c = c * g.commune.priceFactor / 100
	c = c * (85 + g.r.Int64N(31)) / 100
	return min(max(c, 9000), 9_999_999)
}

// plate is a SIV registration number. SIV plates are issued in order since April 2009 (AA-001-AA
// then, about a letter every two years, GA in 2022); older cars got one when they changed hands.
func (g *generator) plate(reg int64) string {
	months := (reg - time.Date(2009, 4, 1, 0, 0, 0, 0, time.UTC).Unix()) / (30 * day)
	first := int(months * 6 / 156)
	if months < 0 {
		first = g.r.IntN(6)
	}
	first = min(first, 20)
	n := 1 + g.r.IntN(999)
	b := [9]byte{plateLetters[first], plateLetters[g.r.IntN(23)], '-',
		byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10), '-',
		plateLetters[g.r.IntN(23)], plateLetters[g.r.IntN(23)]}
	return string(b[:])
}

// contract adds a contract from quote row qi (-1: none). end 0 means still running; recorded is
// when the row was written (0: at the start, as usual; a legacy import sets it).
func (g *generator) contract(p *plan, qi int, o offer, start, end int64, status, channel string, recorded int64) int {
	if recorded == 0 {
		recorded = g.clamp(start + g.between(8*hour, 18*hour))
	}
	i := p.add("contracts", keys.Provenance{CollectedAt: ts(recorded), Channel: channel, Purpose: "contracts"})
	r := &p.rows[i]
	v := r.vals
	if qi >= 0 {
		r.ref, r.refIdx = "quote_id", qi
	} else {
		v["quote_id"] = nil
	}
	policy := g.policyNumber(o.insurer, start)
	premium := o.premium * (97 + g.r.Int64N(7)) / 100
	v["insurer"] = o.insurer.name
	v["policy_number"] = policy
	v["start_date"] = dateOf(start)
	updated := recorded
	if end == 0 {
		v["end_date"] = nil
		if status = "active"; g.percent(4) {
			status = "suspended"
		}
		// Renewed every year on its anniversary.
		updated = max(recorded, start+(g.now-start)/year*year)
	} else {
		v["end_date"] = dateOf(end)
		updated = max(recorded, g.clamp(end+g.between(0, 5*day)))
	}
	v["annual_premium"] = g.cents(premium)
	v["broker_commission"] = g.cents(premium * (8 + g.r.Int64N(8)) / 100)
	v["status"] = status
	// Archiving is the lifecycle engine's work: the demo leaves it to the first run.
	v["archived"] = false
	v["created_at"] = ts(recorded)
	v["updated_at"] = ts(updated)
	if g.percent(10) {
		g.document(p, i, o.insurer.name, policy, start, end, recorded)
	}
	return i
}

func (g *generator) policyNumber(ins *insurer, start int64) string {
	b := append(g.num[:0], ins.policyPrefix...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(time.Unix(start, 0).UTC().Year()), 10)
	b = append(b, '-')
	b = appendPadded(b, g.r.Int64N(10_000_000), 7)
	g.num = b
	return string(b)
}

// document adds a small document of a contract: the signed contract, an insurance certificate
// or an invoice, as a one-page PDF or a text file.
func (g *generator) document(p *plan, ci int, insurerName, policy string, start, end, recorded int64) {
	at := g.clamp(recorded + g.between(0, 2*day))
	i := p.add("documents", keys.Provenance{CollectedAt: ts(at), Channel: "email", Purpose: "contracts"})
	r := &p.rows[i]
	r.ref, r.refIdx = "contract_id", ci
	kind, title, file := "certificate", "Attestation d'assurance automobile", "attestation-"
	switch x := g.r.IntN(100); {
	case x < 40:
		kind, title, file = "contract", "Conditions particulières du contrat", "contrat-"
	case x < 60:
		kind, title, file = "invoice", "Avis d'échéance", "avis-echeance-"
	}
	period := "Période : à compter du " + dateOf(start)
	if end != 0 {
		period = "Période : du " + dateOf(start) + " au " + dateOf(end)
	}
	lines := []string{title, "Assureur : " + insurerName, "Police n° " + policy, period,
		"Document de démonstration généré par Vigie — sans valeur contractuelle."}
	var content []byte
	contentType := "application/pdf"
	if g.percent(70) {
		content = appendPDF(make([]byte, 0, 1024), lines)
		file += policy + ".pdf"
	} else {
		contentType = "text/plain"
		for _, l := range lines {
			content = append(content, l...)
			content = append(content, '\n')
		}
		file += policy + ".txt"
	}
	v := r.vals
	v["kind"] = kind
	v["filename"] = file
	v["content_type"] = contentType
	v["size_bytes"] = int64(len(content))
	v["content"] = content
	v["archived"] = false
	v["created_at"] = ts(at)
}

// interactionChannels maps an interaction channel to the channel its note was collected through.
var interactionChannels = [...]struct{ channel, collected string }{
	{"phone", "phone"}, {"phone", "phone"}, {"email", "email"}, {"email", "email"},
	{"sms", "phone"}, {"letter", "letter"}, {"meeting", "agency"}, {"web", "web_form"},
}

// interaction adds an exchange for one purpose, with a note notePct % of the time.
func (g *generator) interaction(p *plan, at int64, purpose string, notes []string, notePct int) {
	ch := interactionChannels[g.r.IntN(len(interactionChannels))]
	i := p.add("interactions", keys.Provenance{CollectedAt: ts(at), Channel: ch.collected, Purpose: purpose})
	v := p.rows[i].vals
	v["channel"] = ch.channel
	v["purpose"] = purpose
	v["occurred_at"] = ts(at)
	v["note"] = nil
	if g.percent(notePct) {
		v["note"] = pick(g, notes)
	}
	v["created_by"] = nil
	v["created_at"] = ts(at)
}

// ticket adds a support ticket on contract row ci, opened between from and to, with one to three
// messages; old tickets are closed.
func (g *generator) ticket(p *plan, ci int, from, to int64, subject string) {
	opened := g.between(from, g.clamp(to))
	channel := "email"
	if g.percent(30) {
		channel = "phone"
	}
	if subject == "" {
		subject = pick(g, ticketSubjects)
	}
	ti := p.add("tickets", keys.Provenance{CollectedAt: ts(opened), Channel: channel, Purpose: "support"})
	r := &p.rows[ti]
	r.ref, r.refIdx = "contract_id", ci
	v := r.vals
	v["subject"] = subject
	at, last := opened, opened
	messages := 1 + g.r.IntN(3)
	for n := 0; n < messages && at <= g.now; n++ {
		author, bodies := "customer", customerMessages
		if n%2 == 1 {
			author, bodies = "staff", staffMessages
		} else {
			g.contact(at) // a customer's reply counts as contact
		}
		mi := p.add("ticket_messages", keys.Provenance{CollectedAt: ts(at), Channel: "email", Purpose: "support"})
		m := &p.rows[mi]
		m.ref, m.refIdx = "ticket_id", ti
		m.vals["author"] = author
		m.vals["body"] = pick(g, bodies)
		m.vals["archived"] = false
		m.vals["created_at"] = ts(at)
		last = at
		at += g.between(2*hour, 4*day)
	}
	status := "closed"
	if opened > g.now-30*day || g.percent(5) {
		status = [...]string{"open", "pending", "closed"}[g.r.IntN(3)]
	}
	if g.percent(40) {
		// A call about the ticket, noted by support.
		call := g.clamp(opened + g.between(hour, 3*day))
		g.interaction(p, call, "support", supportNotes, 90)
		g.contact(call)
	}
	v = p.rows[ti].vals
	v["status"] = status
	v["archived"] = false
	v["closed_at"] = nil
	updated := last
	if status == "closed" {
		closed := g.clamp(last + g.between(hour, 5*day))
		v["closed_at"] = ts(closed)
		updated = closed
		if closed < g.cut5y {
			p.due = true // closed five years ago: out of the archive
		}
	}
	v["created_at"] = ts(opened)
	v["updated_at"] = ts(updated)
}
