package stats_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/demo"
	"vigie/internal/record"
	"vigie/internal/rights"
	"vigie/internal/stats"
)

var analyst = stats.Actor{UserID: 0, Department: "performance"}

// export runs an extract and parses it.
func export(t *testing.T, a *app.App, opt stats.Options) (stats.Report, [][]string) {
	t.Helper()
	opt.By = analyst
	var out bytes.Buffer
	rep, err := a.Stats.Export(context.Background(), &out, opt)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out.Bytes(), []byte("\uFEFF"))))
	if opt.Format == stats.FormatExcelFR {
		r.Comma = ';'
	}
	lines, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the extract is not valid CSV: %v", err)
	}
	return rep, lines
}

// quasiIdentifierCounts counts the extract's rows by their quasi-identifiers: every column but
// the pseudonym and the outcome (converted, the last one).
func quasiIdentifierCounts(lines [][]string, pseudonymous bool) map[string]int {
	counts := map[string]int{}
	for _, l := range lines[1:] {
		if pseudonymous {
			l = l[1:]
		}
		counts[strings.Join(l[:len(l)-1], "|")]++
	}
	return counts
}

// synthetic fills the statistics with n rows drawn from skewed distributions, as a population
// where some combinations are rare.
func synthetic(t *testing.T, a *app.App, n int, seed uint64) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seed))
	pick := func(values ...string) string { return values[int(float64(len(values))*r.Float64()*r.Float64())] }
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		w, err := stats.NewWriter(ctx, tx, stats.OriginArchive)
		if err != nil {
			return err
		}
		for range n {
			row := stats.Row{Month: fmt.Sprintf("20%02d-%02d", 21+r.IntN(4), 1+r.IntN(12)),
				AgeBand: pick("25-34", "35-44", "45-54", "18-24", "55-64", "65+"), Departement: pick("69", "75", "13", "33", "29", "2A", "971", "01"),
				Energy: pick("essence", "diesel", "hybride", "electrique", "gpl"), Usage: pick("prive", "trajet_travail", "professionnel"),
				VehicleAgeBand: pick("3-5", "6-10", "0-2", "11+"), Coverage: pick("tiers_plus", "tous_risques", "tiers"),
				BonusMalusBand: pick("0.50-0.69", "0.70-0.89", "1.00", "0.90-0.99", "1.01+"),
				PriceBand:      sql.NullInt64{Int64: int64(300 + 100*r.IntN(12)), Valid: true},
				Channel:        pick("web_form", "phone", "agency", "email"), Insurer: pick("Mutuelle des Routes de France", "La Prévoyance Automobile", "Assurances Rhône-Alpes Auto"),
				Converted: r.IntN(3) == 0}
			if row.Converted {
				row.DurationBand = pick("en cours", "1-2 ans", "<1 an", "2-5 ans")
			}
			if err := w.Add(ctx, row); err != nil {
				return err
			}
		}
		return w.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestR37_ExtractIsKAnonymous: whatever the population and the k asked, every combination of
// quasi-identifiers in the extract is shared by at least k rows; the extract says the k reached
// and the suppression rate, and its counts add up.
func TestR37_ExtractIsKAnonymous(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		synthetic(t, a, 3000, 1)
		for _, c := range []struct {
			k, l     int
			from, to string
		}{{10, 0, "", ""}, {2, 0, "", ""}, {25, 0, "", ""}, {10, 2, "", ""}, {10, 0, "2022-01", "2022-12"}, {50, 0, "2023-04", "2023-09"}} {
			rep, lines := export(t, a, stats.Options{K: c.k, L: c.l, From: c.from, To: c.to})
			if got := int64(len(lines) - 1); got != rep.Written || rep.Written+rep.Suppressed != rep.Rows {
				t.Errorf("k=%d: %d lines, report says %d written + %d suppressed of %d", c.k, got, rep.Written, rep.Suppressed, rep.Rows)
			}
			smallest := int(rep.Rows)
			for _, n := range quasiIdentifierCounts(lines, false) { // the combinations themselves are never printed
				if n < c.k {
					t.Errorf("k=%d: a combination is shared by %d rows only", c.k, n)
				}
				smallest = min(smallest, n)
			}
			if int64(smallest) != rep.KReached || rep.KReached < int64(c.k) {
				t.Errorf("k=%d: report says k reached %d, the extract's smallest group is %d", c.k, rep.KReached, smallest)
			}
			if rep.SuppressionRate() > 2 {
				t.Errorf("k=%d: suppression rate %.2f %% above the 2 %% budget", c.k, rep.SuppressionRate())
			}
			if c.l == 2 {
				outcomes := map[string]map[string]bool{}
				for _, l := range lines[1:] {
					qi := strings.Join(l[:len(l)-1], "|")
					if outcomes[qi] == nil {
						outcomes[qi] = map[string]bool{}
					}
					outcomes[qi][l[len(l)-1]] = true
				}
				for _, o := range outcomes {
					if len(o) < 2 {
						t.Errorf("l=2: a group holds a single outcome")
					}
				}
			}
			if c.from != "" {
				for _, l := range lines[1:] {
					if l[0] != "*" && (l[0][:4] < c.from[:4] || l[0][:4] > c.to[:4]) {
						t.Errorf("period %s..%s: a row of %s", c.from, c.to, l[0])
					}
				}
			}
			if !strings.Contains(rep.Summary(), fmt.Sprintf("k atteint : %d", rep.KReached)) || !strings.Contains(rep.Summary(), "Taux de suppression") {
				t.Errorf("the statement does not say the k reached and the suppression rate:\n%s", rep.Summary())
			}
		}
	})
}

// TestR37_ExtractCarriesNoDetailedPriceNorIdentifier: the extract's columns are bands; prices
// are ranges of at least €100; no column names a person, a date or an identifier.
func TestR37_ExtractCarriesNoDetailedPriceNorIdentifier(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		if _, err := demo.Generate(context.Background(), a, demo.Options{Persons: 150, Seed: 3, Now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		rep, lines := export(t, a, stats.Options{K: 2})
		if rep.Rows == 0 {
			t.Fatal("the demo's consenting customers gave no statistics")
		}
		want := "month,age_band,zone,vehicle_energy,vehicle_usage,vehicle_age_band,coverage,bonus_malus_band,price,channel,insurer,contract_duration_band,converted"
		if got := strings.Join(lines[0], ","); got != want {
			t.Errorf("header %s, want %s", got, want)
		}
		price := regexp.MustCompile(`^([0-9]+-[0-9]+|[0-9]+\+|\*|)$`)
		month := regexp.MustCompile(`^([0-9]{4}(-[0-9]{2}|-T[1-4])?|\*)$`)
		for _, l := range lines[1:] {
			if !price.MatchString(l[8]) {
				t.Fatalf("a price that is not a band of at least €100")
			}
			if !month.MatchString(l[0]) {
				t.Fatalf("a date finer than the month")
			}
		}
	})
}

// person creates a person with one quote, as the quotes department does.
func person(t *testing.T, a *app.App, i int) int64 {
	t.Helper()
	ctx := context.Background()
	actor := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	p, err := a.Records.Create(ctx, actor, "persons", record.Input{Channel: "phone", Fields: jsonFields(t,
		fmt.Sprintf(`{"first_name":"Camille","last_name":"Le Goff","email":"camille.%d@exemple.fr","birth_date":"1985-03-14","departement":"29"}`, i))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Records.Create(ctx, actor, "quotes", record.Input{Channel: "phone", Fields: jsonFields(t, fmt.Sprintf(`{"person_id":%d,
		"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2015,"vehicle_energy":"essence","vehicle_usage":"prive",
		"licence_date":"2004-06-01","bonus_malus":0.68,"coverage":"tous_risques","premium_quoted":612.40}`, p.ID))})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func jsonFields(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestR37_OnlyConsentingPeopleAreCounted: a person's quotes are in the extract only while their
// latest choice on the performance purpose is a consent and they neither objected nor are
// restricted; a withdrawal leaves the very next extract.
func TestR37_OnlyConsentingPeopleAreCounted(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		proof := consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "devis"}
		choose := func(p int64, granted bool) {
			if err := a.Consent.Record(ctx, p, []consent.Choice{{Purpose: "performance", Granted: granted}}, proof); err != nil {
				t.Fatal(err)
			}
		}
		var consenting []int64
		for i, state := range []string{"consent", "consent", "consent", "none", "refused", "withdrawn", "objected", "restricted"} {
			p := person(t, a, i)
			switch state {
			case "consent":
				choose(p, true)
				consenting = append(consenting, p)
			case "refused":
				choose(p, false)
			case "withdrawn":
				choose(p, true)
				choose(p, false)
			case "objected":
				choose(p, true)
				if err := a.Consent.Object(ctx, p, "performance", proof); err != nil {
					t.Fatal(err)
				}
			case "restricted":
				choose(p, true)
				if err := a.Rights.Restrict(ctx, rights.Staff{Department: "dpo"}, p, 0, "Exactitude contestée par la personne"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if rep, _ := export(t, a, stats.Options{K: 2}); rep.Rows != 3 {
			t.Fatalf("%d quotes counted, want the 3 of the consenting people", rep.Rows)
		}
		choose(consenting[0], false)
		if rep, _ := export(t, a, stats.Options{K: 2}); rep.Rows != 2 {
			t.Fatalf("after a withdrawal, %d quotes counted, want 2", rep.Rows)
		}
		if err := a.Consent.Object(ctx, consenting[1], "performance", proof); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Stats.Export(ctx, &bytes.Buffer{}, stats.Options{K: 2, By: analyst}); err == nil {
			t.Fatal("one quote left, k = 2: want the extract refused, not a group of one")
		}
	})
}

// TestR37_SnapshotIsBuiltAsideThenSwappedIn: the live snapshot is built in statistics_building
// and swapped in whole; rows of a build still running are never counted, and what a dead build
// left behind goes with the next rebuild.
func TestR37_SnapshotIsBuiltAsideThenSwappedIn(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		proof := consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "devis"}
		for i := range 3 {
			if err := a.Consent.Record(ctx, person(t, a, i), []consent.Choice{{Purpose: "performance", Granted: true}}, proof); err != nil {
				t.Fatal(err)
			}
		}
		building := func(mark string) {
			if _, err := a.DB.ExecContext(ctx, `INSERT INTO statistics_building (month, converted, origin, cell) VALUES ('2026-01', FALSE, $1, 1)`, mark); err != nil {
				t.Fatal(err)
			}
		}
		// A build that died long ago, and one another process started a minute ago, marked as a
		// build marks its rows.
		running := strconv.FormatInt(a.Now().Add(-time.Minute).Unix(), 36)
		running = strings.Repeat("0", 8-len(running)) + running
		building("00000001")
		building(running)
		if n, err := a.Stats.Refresh(ctx); err != nil || n != 3 {
			t.Fatalf("refresh: %d rows (%v), want 3", n, err)
		}
		if rep, _ := export(t, a, stats.Options{K: 2}); rep.Rows != 3 {
			t.Errorf("%d rows counted, want the 3 live quotes and no row of a build", rep.Rows)
		}
		var left []string
		rows, err := a.DB.QueryContext(ctx, `SELECT origin FROM statistics_building ORDER BY origin`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var mark string
			rows.Scan(&mark)
			left = append(left, mark)
		}
		if len(left) != 1 || left[0] != running {
			t.Errorf("builds left after the rebuild: %q, want only the running one", left)
		}
	})
}

// TestR37_BadOptionsAreRefusedAndWriteNothing: k below 2, an empty period, an unknown format, a
// malformed month, an impossible l: a clear error naming the field, and not a byte written.
func TestR37_BadOptionsAreRefusedAndWriteNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		synthetic(t, a, 200, 2)
		for _, c := range []struct {
			opt   stats.Options
			field string
		}{
			{stats.Options{K: 1}, "k"},
			{stats.Options{K: 0}, "k"},
			{stats.Options{K: -4}, "k"},
			{stats.Options{K: 10, L: 3}, "l"},
			{stats.Options{K: 10, Format: "xlsx"}, "format"},
			{stats.Options{K: 10, From: "2024-13"}, "from"},
			{stats.Options{K: 10, To: "24-01"}, "to"},
			{stats.Options{K: 10, From: "2024-06", To: "2024-01"}, "from"},
			{stats.Options{K: 10, From: "2030-01", To: "2030-12"}, "from"},
			{stats.Options{K: 100000}, "k"},
			{stats.Options{K: 10, Columns: []string{"month", "email"}}, "columns"},
		} {
			var out bytes.Buffer
			_, err := a.Stats.Export(context.Background(), &out, c.opt)
			var input *stats.InputError
			if !errors.As(err, &input) || input.Field != c.field {
				t.Errorf("%+v: got %v, want an error on %s", c.opt, err, c.field)
			}
			if out.Len() != 0 {
				t.Errorf("%+v: %d bytes written by a refused extract", c.opt, out.Len())
			}
		}
	})
}

// TestR37_ExcelFrenchVariantOpensInAFrenchSpreadsheet: the excel-fr bytes start with a UTF-8
// BOM, separate with semicolons, end lines with CRLF, write decimal commas, ranges that cannot
// be read as dates, and départements with their names so "01" keeps its zero.
func TestR37_ExcelFrenchVariantOpensInAFrenchSpreadsheet(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		synthetic(t, a, 2000, 3)
		var out, prices bytes.Buffer
		opt := stats.Options{K: 2, Format: stats.FormatExcelFR, Columns: []string{"zone", "bonus_malus_band"}, By: analyst}
		if _, err := a.Stats.Export(context.Background(), &out, opt); err != nil {
			t.Fatal(err)
		}
		opt.Columns = []string{"price"}
		if _, err := a.Stats.Export(context.Background(), &prices, opt); err != nil {
			t.Fatal(err)
		}
		b := out.Bytes()
		if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
			t.Fatalf("no UTF-8 BOM: % x", b[:3])
		}
		header, _, _ := bytes.Cut(b[3:], []byte("\r\n"))
		if want := "Zone géographique;Bonus-malus;Transformé en contrat"; string(header) != want {
			t.Errorf("header %q, want %q", header, want)
		}
		if bytes.Count(b, []byte("\r\n")) != bytes.Count(b, []byte("\n")) {
			t.Error("a line not ended by CRLF")
		}
		text := string(b) + prices.String()
		for _, want := range []string{"0,70 à 0,89", "300 à 399", "69 Rhône", "01 Ain"} {
			if !strings.Contains(text, want) {
				t.Errorf("no %q in the extract", want)
			}
		}
		if regexp.MustCompile(`;[0-9]+\.[0-9]+`).MatchString(text) {
			t.Error("a decimal point where a French spreadsheet wants a comma")
		}
		var std bytes.Buffer
		if _, err := a.Stats.Export(context.Background(), &std, stats.Options{K: 2, By: analyst}); err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(std.Bytes(), []byte{0xEF}) || !strings.HasPrefix(std.String(), "month,age_band,") {
			t.Error("the RFC 4180 variant has a BOM or another header")
		}
	})
}

// TestR37_ReidentificationFindsNothing: on a generated population, no row of a pseudonymised
// extract has a quasi-identifier combination shared by fewer than k rows, the pseudonym follows
// a person across their quotes within one extract, and a second extract of the same people
// shares no pseudonym with the first: they cannot be joined.
func TestR37_ReidentificationFindsNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		if _, err := demo.Generate(context.Background(), a, demo.Options{Persons: 300, Seed: 5, Now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		const k = 5
		first, lines1 := export(t, a, stats.Options{K: k, Pseudonymise: true})
		_, lines2 := export(t, a, stats.Options{K: k, Pseudonymise: true})
		if first.Written < 20 || len(lines1) != len(lines2) {
			t.Fatalf("extracts of %d and %d rows", len(lines1)-1, len(lines2)-1)
		}
		for _, n := range quasiIdentifierCounts(lines1, true) {
			if n < k {
				t.Fatalf("a combination shared by %d rows < k = %d", n, k)
			}
		}
		pseudonyms := map[string]int{}
		for _, l := range lines1[1:] {
			pseudonyms[l[0]]++
		}
		followed := 0
		for _, n := range pseudonyms {
			if n > 1 {
				followed++
			}
		}
		if followed == 0 {
			t.Error("no person followed across two quotes in the pseudonymised extract")
		}
		for _, l := range lines2[1:] {
			if _, ok := pseudonyms[l[0]]; ok {
				t.Fatal("a pseudonym of the first extract is in the second: they can be joined")
			}
		}
	})
}
