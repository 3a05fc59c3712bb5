package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// Test output never shows a generated value: failures name the table, the column and the rule.

// testNow is a fixed day, so that tests do not depend on the clock.
var testNow = time.Date(2026, 11, 16, 9, 30, 0, 0, time.UTC)

func counts(s Summary) map[string]int {
	return map[string]int{"persons": s.Persons, "quotes": s.Quotes, "contracts": s.Contracts, "documents": s.Documents,
		"interactions": s.Interactions, "tickets": s.Tickets, "ticket_messages": s.TicketMessages, "consents": s.Consents}
}

func countRows(t *testing.T, a *app.App, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func generate(t *testing.T, a *app.App, persons int, seed int64) Summary {
	t.Helper()
	var progress bytes.Buffer
	s, err := Generate(context.Background(), a, Options{Persons: persons, Seed: seed, Now: testNow, Progress: &progress})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) != 20 || lines[19] != fmt.Sprintf("demo: %d/%d personnes (100%%)", persons, persons) {
		t.Errorf("progress: want 20 lines ending at 100%%, got %d", len(lines))
	}
	return s
}

func TestGenerate(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		s := generate(t, a, 300, 42)

		t.Run("summary matches the tables", func(t *testing.T) {
			for table, want := range counts(s) {
				if got := countRows(t, a, "SELECT count(*) FROM "+table); got != want {
					t.Errorf("%s: summary says %d, table has %d", table, want, got)
				}
				if want == 0 {
					t.Errorf("%s: nothing generated", table)
				}
			}
			if s.Persons != 300 {
				t.Errorf("persons: got %d, want 300", s.Persons)
			}
			if got := countRows(t, a, "SELECT count(*) FROM subject_keys"); got != 300 {
				t.Errorf("subject keys: got %d, want one per person", got)
			}
			// Every person has an e-mail or a phone, and both are searchable.
			if got := countRows(t, a, "SELECT count(DISTINCT person_id) FROM search_index WHERE table_name = 'persons' AND column_name IN ('email', 'phone')"); got != 300 {
				t.Errorf("persons reachable by e-mail or phone: got %d, want 300", got)
			}
			// A quote turned contract belongs to the same person.
			if got := countRows(t, a, "SELECT count(*) FROM contracts c JOIN quotes q ON q.id = c.quote_id WHERE q.person_id <> c.person_id"); got != 0 {
				t.Errorf("%d contracts link another person's quote", got)
			}
			if got := countRows(t, a, "SELECT count(*) FROM ticket_messages m JOIN tickets k ON k.id = m.ticket_id WHERE k.person_id <> m.person_id"); got != 0 {
				t.Errorf("%d ticket messages on another person's ticket", got)
			}
		})

		t.Run("dates spread over six years", func(t *testing.T) {
			for y := range 6 {
				from, to := testNow.AddDate(-6+y, 0, 0), testNow.AddDate(-5+y, 0, 0)
				n := countRows(t, a, "SELECT count(*) FROM persons WHERE created_at >= $1 AND created_at < $2", from, to)
				if n < 20 {
					t.Errorf("year %d of 6: only %d persons created", y+1, n)
				}
			}
			if n := countRows(t, a, "SELECT count(*) FROM persons WHERE created_at < $1 OR created_at > $2 OR last_contact_at > $2",
				testNow.AddDate(-6, 0, 0), testNow); n != 0 {
				t.Errorf("%d persons outside the six years", n)
			}
		})

		t.Run("retention has work to do", func(t *testing.T) {
			// R-lifecycle (DESIGN §5): the same rules, computed from the clear columns.
			due := countRows(t, a, `SELECT count(*) FROM persons p WHERE
				(p.kind = 'prospect' AND p.last_contact_at < $1)
				OR EXISTS (SELECT 1 FROM quotes q WHERE q.person_id = p.id AND q.created_at < $2
					AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = q.id))
				OR (p.kind = 'former_customer' AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = p.id
					AND (c.end_date IS NULL OR c.end_date >= $3)))
				OR EXISTS (SELECT 1 FROM tickets k WHERE k.person_id = p.id AND k.closed_at < $4)`,
				testNow.AddDate(-3, 0, 0), testNow.AddDate(-2, 0, 0), testNow.AddDate(-3, 0, 0).Format(time.DateOnly), testNow.AddDate(-5, 0, 0))
			if due != s.PastRetention {
				t.Errorf("past retention: summary says %d, the tables say %d", s.PastRetention, due)
			}
			if share := float64(due) / float64(s.Persons); share < 0.35 || share > 0.55 {
				t.Errorf("past retention: %.0f %% of persons, want about 45 %%", share*100)
			}
			if n := countRows(t, a, "SELECT count(*) FROM contracts WHERE end_date < $1", testNow.AddDate(-5, 0, 0).Format(time.DateOnly)); n == 0 {
				t.Error("no contract ended more than five years ago")
			}
		})

		t.Run("same seed, same data", func(t *testing.T) {
			b := apptest.New(t, string(a.DB.Dialect))
			if s2 := generate(t, b, 300, 42); !reflect.DeepEqual(counts(s), counts(s2)) || s.PastRetention != s2.PastRetention {
				t.Fatalf("same seed gave other counts")
			}
			reads := []struct{ department, table string }{
				{"devis", "persons"}, {"contrats", "persons"}, {"devis", "quotes"}, {"contrats", "contracts"},
				{"contrats", "documents"}, {"support", "tickets"}, {"support", "ticket_messages"},
				{"prospection", "interactions"}, {"support", "interactions"},
			}
			for _, r := range reads {
				if x, y := dump(t, a, r.department, r.table), dump(t, b, r.department, r.table); x == "" || x != y {
					t.Errorf("%s read by %s: two runs with the same seed differ", r.table, r.department)
				}
			}
			c := apptest.New(t, string(a.DB.Dialect))
			generate(t, c, 300, 43)
			if dump(t, a, "devis", "persons") == dump(t, c, "devis", "persons") {
				t.Error("another seed gave the same persons")
			}
		})

		t.Run("records read back through the store", func(t *testing.T) {
			actor := a.Auth.Actor(auth.User{Department: "devis"})
			rec, err := a.Records.Get(context.Background(), actor, "persons", 1)
			if err != nil {
				t.Fatalf("get person: %v", err)
			}
			for _, f := range []string{"first_name", "last_name", "postal_code", "departement"} {
				if rec.Text(f) == "" {
					t.Errorf("person 1: %s empty after decryption", f)
				}
			}
			if dictionary.DepartementOfPostalCode(rec.Text("postal_code")) != rec.Text("departement") {
				t.Error("person 1: postal code and département disagree")
			}
		})
	})
}

// TestGenerateManyBatches crosses many of the loader's flushes and commits: every person's rows,
// keys and blind indexes must still land together.
func TestGenerateManyBatches(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		s, err := Generate(context.Background(), a, Options{Persons: 3000, Seed: 2026, Now: testNow})
		if err != nil {
			t.Fatalf("generate: %v", err)
		}
		for table, want := range counts(s) {
			if got := countRows(t, a, "SELECT count(*) FROM "+table); got != want {
				t.Errorf("%s: summary says %d, table has %d", table, want, got)
			}
		}
		if n := countRows(t, a, "SELECT count(*) FROM persons p WHERE NOT EXISTS (SELECT 1 FROM subject_keys k WHERE k.person_id = p.id)"); n != 0 {
			t.Errorf("%d persons without a data key", n)
		}
	})
}

func TestGenerateCancelled(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Generate(ctx, a, Options{Persons: 5000, Seed: 1, Now: testNow}); !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
		if n := countRows(t, a, "SELECT count(*) FROM persons"); n != 0 {
			t.Errorf("%d persons written after cancellation", n)
		}
	})
}

// dump reads a whole table as a department sees it, decrypted, in a stable text form.
func dump(t *testing.T, a *app.App, department, table string) string {
	t.Helper()
	actor := a.Auth.Actor(auth.User{Department: department})
	var b strings.Builder
	var after int64
	for {
		recs, next, err := a.Records.List(context.Background(), actor, table, record.ListQuery{After: after, Limit: record.MaxPage})
		if err != nil {
			t.Fatalf("list %s as %s: %v", table, department, err)
		}
		for _, r := range recs {
			j, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("marshal %s: %v", table, err)
			}
			b.Write(j)
			b.WriteByte('\n')
		}
		if next == 0 {
			return b.String()
		}
		after = next
	}
}

func TestCreateUsers(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		first, err := CreateUsers(ctx, a)
		if err != nil {
			t.Fatalf("create users: %v", err)
		}
		if len(first) != 7 || len(first) != len(a.Dict.Departments) {
			t.Fatalf("want one user per department (7), got %d", len(first))
		}
		for i, l := range first {
			if l.Department != a.Dict.Departments[i].Code || l.Email != l.Department+"@demo.vigie.local" || l.Password != DemoPassword {
				t.Errorf("login %d: unexpected %s / %s", i, l.Department, l.Email)
			}
			// The printed password opens the account; the second factor is enrolled at the first
			// web sign-in, as for every staff member (R14).
			u, err := a.Auth.CheckPassword(ctx, auth.Attempt{Email: l.Email, Password: l.Password})
			if err != nil || u.Department != l.Department || u.TOTPEnrolled {
				t.Errorf("%s: cannot log in with the printed password, or already enrolled: %v", l.Email, err)
			}
		}
		again, err := CreateUsers(ctx, a)
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Errorf("second run gave other logins")
		}
		if n := countRows(t, a, "SELECT count(*) FROM users"); n != 7 {
			t.Errorf("after two runs: %d users, want 7", n)
		}
	})
}

// TestGeneratedValuesValidate checks every value of 2000 generated persons against the
// dictionary, as the API would: type, size, allowed values, range, format, canonical form, the
// store's cross-field rules, minimisation (R02: a personal value is only collected for a
// purpose the dictionary declares for it), and the sensitive-data detectors (R03–R06).
func TestGeneratedValuesValidate(t *testing.T) {
	dict, err := dictionary.Load()
	if err != nil {
		t.Fatal(err)
	}
	l, err := loadLists()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(l, 7, testNow)
	var p plan
	problems := map[string]int{}
	fail := func(table, column, rule string) { problems[table+"."+column+": "+rule]++ }
	kinds := map[string]int{}
	var due int
	const persons = 2000
	for range persons {
		g.next(&p)
		kinds[p.person.vals["kind"].(string)]++
		if p.due {
			due++
		}
		for _, r := range append([]row{p.person}, p.rows[:p.n]...) {
			checkRow(dict, r, fail)
		}
	}
	for problem, n := range problems {
		t.Errorf("%s (%d values)", problem, n)
	}
	for kind, share := range map[string]float64{"prospect": 0.45, "customer": 0.35, "former_customer": 0.20} {
		if got := float64(kinds[kind]) / persons; got < share-0.05 || got > share+0.05 {
			t.Errorf("%s: %.0f %% of persons, want about %.0f %%", kind, got*100, share*100)
		}
	}
	if share := float64(due) / persons; share < 0.40 || share > 0.50 {
		t.Errorf("past retention: %.1f %% of persons, want about 45 %%", share*100)
	}
}

func checkRow(dict *dictionary.Dictionary, r row, fail func(table, column, rule string)) {
	t := dict.Table(r.table)
	if !slices.Contains(record.Channels, r.prov.Channel) {
		fail(r.table, "_channel", "unknown collection channel")
	}
	if r.prov.CollectedAt.IsZero() || r.prov.CollectedAt.After(testNow) {
		fail(r.table, "_collected_at", "outside the six years")
	}
	for _, c := range t.Columns {
		v, ok := r.vals[c.Name]
		switch {
		case c.Name == "id" || c.Name == t.PersonColumn && r.table != "persons" || c.Name == r.ref:
			if ok {
				fail(r.table, c.Name, "set by the generator, but the loader assigns it")
			}
			continue
		case !ok:
			fail(r.table, c.Name, "missing (the loader would decode the default on every row)")
			continue
		case v == nil:
			if !c.Nullable() {
				fail(r.table, c.Name, "required")
			}
			continue
		}
		raw, err := json.Marshal(c.JSON(v))
		if err != nil {
			fail(r.table, c.Name, "not marshalable")
			continue
		}
		got, fe := c.Decode(raw, testNow)
		switch {
		case fe != nil:
			fail(r.table, c.Name, fe.Rule)
		case !canonicalEqual(got, v):
			fail(r.table, c.Name, "not in canonical form")
		}
		if s, ok := v.(string); ok {
			for _, f := range record.Sensitive(c, s) {
				fail(r.table, c.Name, "sensitive_"+string(f.Kind)+" (the store would refuse it)")
			}
		}
		if c.Personal && !slices.Contains(c.Purposes, r.prov.Purpose) {
			fail(r.table, c.Name, "collected for purpose "+r.prov.Purpose+", which the dictionary does not allow (R02)")
		}
	}
	for k := range r.vals {
		if t.Column(k) == nil {
			fail(r.table, k, "not in the dictionary")
		}
	}
	str := func(k string) string { s, _ := r.vals[k].(string); return s }
	switch r.table {
	case "persons":
		if dictionary.DepartementOfPostalCode(str("postal_code")) != str("departement") {
			fail(r.table, "postal_code", "postal_code_departement")
		}
		if r.vals["email"] == nil && r.vals["phone"] == nil {
			fail(r.table, "email", "no way to contact the person")
		}
	case "contracts":
		if end := str("end_date"); end != "" && end < str("start_date") {
			fail(r.table, "end_date", "date_order")
		}
	case "quotes":
		if year, _ := r.vals["vehicle_year"].(int64); str("registration_date")[:4] < strconv.FormatInt(year-1, 10) {
			fail(r.table, "registration_date", "date_order")
		}
		if created, _ := r.vals["created_at"].(time.Time); str("licence_date") > created.Format(time.DateOnly) {
			fail(r.table, "licence_date", "after the quote")
		}
	case "documents":
		if b, _ := r.vals["content"].([]byte); int64(len(b)) != r.vals["size_bytes"] {
			fail(r.table, "size_bytes", "does not match the content")
		}
	}
	for _, k := range []string{"created_at", "updated_at", "closed_at", "occurred_at", "last_contact_at"} {
		if ts, ok := r.vals[k].(time.Time); ok && ts.After(testNow) {
			fail(r.table, k, "in the future")
		}
	}
	if created, ok := r.vals["created_at"].(time.Time); ok {
		if updated, ok := r.vals["updated_at"].(time.Time); ok && updated.Before(created) {
			fail(r.table, "updated_at", "before created_at")
		}
	}
}

func canonicalEqual(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.DeepEqual(a, b)
}

func TestLists(t *testing.T) {
	l, err := loadLists()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.firstNames) < 200 || len(l.lastNames) < 290 || len(l.communes) < 300 || len(l.streets) < 50 {
		t.Errorf("lists too short: %d first names, %d last names, %d communes, %d streets",
			len(l.firstNames), len(l.lastNames), len(l.communes), len(l.streets))
	}
	deps := map[string]bool{}
	for _, c := range l.communes {
		deps[c.departement] = true
	}
	for _, want := range []string{"2A", "2B", "971", "972", "973", "974", "75", "13", "69"} {
		if !deps[want] {
			t.Errorf("no commune in département %s", want)
		}
	}
	if len(deps) < 95 {
		t.Errorf("communes cover %d départements, want them all", len(deps))
	}
	dict, _ := dictionary.Load()
	nameCol := dict.Table("persons").Column("last_name")
	shapes := map[string]bool{}
	for _, n := range append(slices.Clone(l.firstNames), l.lastNames...) {
		if _, fe := nameCol.DecodeString(n.text, testNow); fe != nil {
			t.Errorf("a listed name fails %s", fe.Rule)
		}
		if n.slug == "" || strings.Trim(n.slug, "abcdefghijklmnopqrstuvwxyz-") != "" {
			t.Errorf("a listed name has an unusable e-mail form")
		}
		shapes["space"] = shapes["space"] || strings.Contains(n.text, " ")
		shapes["apostrophe"] = shapes["apostrophe"] || strings.Contains(n.text, "'")
		shapes["hyphen"] = shapes["hyphen"] || strings.Contains(n.text, "-")
		shapes["accent"] = shapes["accent"] || strings.ContainsAny(n.text, "éèêëàâäîïôöûüçœÉ")
	}
	for _, s := range []string{"space", "apostrophe", "hyphen", "accent"} {
		if !shapes[s] {
			t.Errorf("no name with a %s", s)
		}
	}
}

// TestPhones draws many numbers in every département: all valid, all E.164.
func TestPhones(t *testing.T) {
	dict, _ := dictionary.Load()
	col := dict.Table("persons").Column("phone")
	l, err := loadLists()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(l, 1, testNow)
	for i := range l.communes {
		c := &l.communes[i]
		for range 40 {
			p := g.phone(c)
			v, fe := col.DecodeString(p, testNow)
			if fe != nil || v != p {
				t.Errorf("département %s: a generated number is not a valid E.164 French number", c.departement)
				break
			}
		}
	}
}

func TestPDF(t *testing.T) {
	b := appendPDF(nil, []string{"Attestation d'assurance", "Période : du 2024-01-01 (inclus)", "Œuvre — 12 €"})
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatal("not a PDF")
	}
	i := bytes.LastIndex(b, []byte("startxref\n"))
	xref, err := strconv.Atoi(string(bytes.TrimSpace(bytes.TrimSuffix(b[i+10:], []byte("%%EOF\n")))))
	if err != nil || !bytes.HasPrefix(b[xref:], []byte("xref\n0 6\n")) {
		t.Fatal("startxref does not point at the cross-reference table")
	}
	entries := b[xref+len("xref\n0 6\n"):]
	for n := 1; n <= 5; n++ {
		entry := entries[20*n : 20*n+20]
		off, err := strconv.Atoi(string(entry[:10]))
		if err != nil || !bytes.HasPrefix(b[off:], []byte(strconv.Itoa(n)+" 0 obj")) {
			t.Errorf("object %d: wrong offset in the cross-reference table", n)
		}
	}
	if !bytes.Contains(b, []byte("P\xe9riode : du 2024-01-01 \\(inclus\\)")) || !bytes.Contains(b, []byte("\x8cuvre \x97 12 \x80")) {
		t.Error("text not encoded in WinAnsi with escapes")
	}
}

// BenchmarkGenerate measures the whole path on SQLite: generation, encryption, blind indexes and
// inserts, 10,000 persons per operation.
func BenchmarkGenerate(b *testing.B) {
	a := apptest.New(b, "sqlite")
	const persons = 10_000
	b.ResetTimer()
	for i := range b.N {
		if _, err := Generate(context.Background(), a, Options{Persons: persons, Seed: int64(i), Now: testNow}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(persons*b.N)/b.Elapsed().Seconds(), "persons/s")
}

// BenchmarkGenerator measures the generator alone, without the loader.
func BenchmarkGenerator(b *testing.B) {
	l, err := loadLists()
	if err != nil {
		b.Fatal(err)
	}
	g := newGenerator(l, 1, testNow)
	var p plan
	for b.Loop() {
		g.next(&p)
	}
}
