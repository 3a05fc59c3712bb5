package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/importer"
	"vigie/internal/record"
)

// now is the day the tests import on: prospects last seen before 2023-06-01 and quotes made
// before 2024-06-01 are past their retention.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// suppressionList is an in-memory suppression list: canonical e-mails and phones.
type suppressionList map[string]bool

func (s suppressionList) Suppressed(_ context.Context, email, phone string) (bool, error) {
	return s[email] || s[phone], nil
}

var suppressed = suppressionList{"jean.petit@exemple.fr": true}

func mapping(t testing.TB, a *app.App, name string) *importer.Mapping {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := importer.ParseMapping(f, a.Dict)
	if err != nil {
		t.Fatalf("mapping %s: %v", name, err)
	}
	return m
}

func importBytes(a *app.App, data []byte, m *importer.Mapping, dryRun bool) (*importer.Report, error) {
	return importer.Import(context.Background(), bytes.NewReader(data), a.Records, suppressed,
		importer.Options{Mapping: m, Now: now, DryRun: dryRun})
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The NIRs and blood groups of testdata/legacy_crm.csv (fictitious, with valid keys), in every
// spelling the file uses.
var forbidden = []string{"2870529019741", "2 87 05 29 019 741", "172116748212886", "1 85 05 78 006 084", "1850578006084",
	"164093155501223", "AB positif", "AB+", "O-", "A+", "O+", "A-"}

// stored decrypts every imported person and quote through the governed store, as the quotes
// department, which reads all of their fields.
func stored(t *testing.T, a *app.App) []*record.Record {
	t.Helper()
	devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	var all []*record.Record
	for _, table := range []string{"persons", "quotes"} {
		recs, _, err := a.Records.List(context.Background(), devis, table, record.ListQuery{Limit: record.MaxPage})
		if err != nil {
			t.Fatalf("list %s: %v", table, err)
		}
		all = append(all, recs...)
	}
	return all
}

func count(t *testing.T, a *app.App, table string) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func column(rep *importer.Report, header string) importer.ColumnReport {
	for _, c := range rep.Columns {
		if c.Header == header {
			return c
		}
	}
	return importer.ColumnReport{}
}

// TestR07_LegacyImportDropsForbiddenColumns is the "done when": a legacy CSV with NIR and
// blood-group columns imports without them, the report says so, and no stored value holds them.
func TestR07_LegacyImportDropsForbiddenColumns(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		rep, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			header, reason, rule string
			kept                 bool
		}{
			{"num_secu", "sensible : NIR", "R03", false},
			// Mapped to a field by the mapping, dropped all the same: the dictionary audit has the last word.
			{"groupe_sanguin", "sensible : groupe sanguin", "R04", false},
			{"loisirs", "non nécessaire", "R02", false},
			{"civilite", "non nécessaire", "R02", false},
			{"code_promo", "inconnue", "R07", false},
			{"nom", "", "", true},
			{"commentaire", "", "", true},
		} {
			got := column(rep, want.header)
			if got.Kept != want.kept || got.Reason != want.reason || got.Rule != want.rule {
				t.Errorf("column %s: kept %v, reason %q (%s); want kept %v, %q (%s)", want.header, got.Kept, got.Reason, got.Rule, want.kept, want.reason, want.rule)
			}
		}
		var text bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"num_secu", "sensible : NIR (R03)", "groupe_sanguin", "sensible : groupe sanguin (R04)", "BOM"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("the text report does not say %q", want)
			}
		}
		js, _ := json.Marshal(rep)
		for _, leak := range append(slices.Clone(forbidden), "Martin", "manon.martin", "Strasbourg", "Sandero", "téléphone") {
			if strings.Contains(text.String(), leak) || strings.Contains(string(js), leak) {
				t.Errorf("the report prints a cell value (%d characters)", len(leak))
			}
		}
		recs := stored(t, a)
		if len(recs) == 0 {
			t.Fatal("nothing imported")
		}
		for _, r := range recs {
			for field, v := range r.Values {
				s := fmt.Sprint(v)
				for _, f := range forbidden {
					if strings.Contains(s, f) || strings.Contains(strings.ReplaceAll(s, " ", ""), strings.ReplaceAll(f, " ", "")) && len(f) > 5 {
						t.Errorf("%s %d: stored %s holds forbidden data", r.Table.Name, r.ID, field)
					}
				}
			}
		}
		if n := count(t, a, "interactions"); n != 0 {
			t.Errorf("%d interactions written from a dropped blood-group column", n)
		}
	})
}

// TestR07_LegacyImportReport checks every count of the report on the fixture, and what was
// stored: source, provenance (the original collection date, R22), blind indexes.
func TestR07_LegacyImportReport(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		rep, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{"rows": rep.Rows, "persons": rep.Persons, "quotes": rep.Quotes, "rejected": rep.Rejected,
			"expired": rep.Expired, "expired_quotes": rep.ExpiredQuotes, "suppressed": rep.Suppressed}
		want := map[string]int64{"rows": 11, "persons": 5, "quotes": 3, "rejected": 4, "expired": 1, "expired_quotes": 1, "suppressed": 1}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %d, want %d", k, got[k], w)
			}
		}
		if !rep.BOM || rep.Delimiter != ";" {
			t.Errorf("BOM %v, delimiter %q", rep.BOM, rep.Delimiter)
		}
		var lines []string
		for _, r := range rep.RejectedRows {
			lines = append(lines, fmt.Sprintf("%d %s %s", r.Line, r.Field, r.Rule))
		}
		wantLines := []string{"7 persons.last_name required", "8 quotes.vehicle_energy enum", "9  csv.fields", "10  csv.quote"}
		if !slices.Equal(lines, wantLines) {
			t.Errorf("rejected rows %q, want %q", lines, wantLines)
		}
		cells := map[string]int64{}
		for _, c := range rep.DroppedCells {
			cells[c.Header+" "+c.Kind+" "+c.Rule] += c.Count
		}
		if cells["commentaire NIR R03"] != 1 || cells["tel invalide format.phone_fr"] != 1 {
			t.Errorf("dropped cells %v: want the NIR of a comment and an invalid phone", cells)
		}
		if n := count(t, a, "persons"); n != 5 {
			t.Errorf("%d persons stored, want 5", n)
		}
		ctx := context.Background()
		devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
		found, err := a.Records.Search(ctx, devis, "persons", "email", "manon.martin@exemple.fr", 10)
		if err != nil || len(found) != 1 {
			t.Fatalf("search by e-mail: %d found, %v", len(found), err)
		}
		p := found[0]
		prov := p.Provenance["last_name"]
		if !prov.CollectedAt.Equal(time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)) || prov.Purpose != "quotes" || prov.Channel != "import" {
			t.Errorf("provenance %+v: want collected on 2025-03-15 for quotes through import", prov)
		}
		if p.Get("source") != "legacy_import" || p.Get("phone") != "+33684225684" {
			t.Errorf("source %v, phone canonical: %v", p.Get("source"), p.Get("phone") == "+33684225684")
		}
		quotes, _, err := a.Records.List(ctx, devis, "quotes", record.ListQuery{Limit: 10, Filter: map[string]int64{"person_id": p.ID}})
		if err != nil || len(quotes) != 1 {
			t.Fatalf("quotes of the person: %d, %v", len(quotes), err)
		}
		q := quotes[0]
		if q.Get("vehicle_energy") != "essence" || q.Get("coverage") != "tous_risques" || q.Get("vehicle_usage") != "prive" {
			t.Errorf("legacy spellings not made canonical: %v %v %v", q.Get("vehicle_energy"), q.Get("coverage"), q.Get("vehicle_usage"))
		}
	})
}

// TestR33_LegacyImportSkipsExpiredProspects and R34: a prospect not contacted for three years is
// not imported; a quote older than two years is left out, its person kept.
func TestR33_LegacyImportSkipsExpiredRecords(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		rep, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), false)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
		for _, c := range []struct {
			email  string
			person bool
			quotes int
		}{
			{"helene.dubois@exemple.fr", false, 0}, // R33: collected 2020, never contacted since
			{"paul.bernard@exemple.fr", true, 0},   // R34: quote of 2022; contacted in 2024
			{"manon.martin@exemple.fr", true, 1},
		} {
			found, err := a.Records.Search(ctx, devis, "persons", "email", c.email, 10)
			if err != nil {
				t.Fatal(err)
			}
			if (len(found) == 1) != c.person {
				t.Errorf("person %d: found %d", len(c.email), len(found))
				continue
			}
			if !c.person {
				continue
			}
			quotes, _, _ := a.Records.List(ctx, devis, "quotes", record.ListQuery{Limit: 10, Filter: map[string]int64{"person_id": found[0].ID}})
			if len(quotes) != c.quotes {
				t.Errorf("person %d: %d quotes, want %d", found[0].ID, len(quotes), c.quotes)
			}
		}
		if len(rep.Retention) != 2 || rep.Retention[0].Before != "2023-06-01" || rep.Retention[1].Before != "2024-06-01" {
			t.Errorf("retention cuts %+v", rep.Retention)
		}
	})
}

// TestR28_LegacyImportSkipsSuppressedPersons: a person on the suppression list does not come back.
func TestR28_LegacyImportSkipsSuppressedPersons(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		rep, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), false)
		if err != nil {
			t.Fatal(err)
		}
		found, err := a.Records.Search(context.Background(), record.Actor{Department: "devis", Purposes: []string{"quotes"}},
			"persons", "email", "jean.petit@exemple.fr", 10)
		if err != nil || len(found) != 0 || rep.Suppressed != 1 {
			t.Errorf("suppressed person: %d found (%v), %d counted", len(found), err, rep.Suppressed)
		}
	})
}

// TestR02_LegacyImportDropsFieldsOutsideThePurpose: data collected for prospection keeps what
// prospection needs; vehicle, driver and birth date are dropped, so no quote comes out of it (R22).
func TestR02_LegacyImportDropsFieldsOutsideThePurpose(t *testing.T) {
	a := apptest.New(t, "sqlite")
	m := mapping(t, a, "legacy_crm.mapping.json")
	m.Purpose = "prospection"
	rep, err := importBytes(a, readFile(t, "legacy_crm.csv"), m, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"date_naissance", "marque", "coef_bonus_malus", "commentaire", "date_devis"} {
		if c := column(rep, h); c.Kept || c.Reason != "non autorisée pour la finalité prospection" || c.Rule != "R02" {
			t.Errorf("column %s: kept %v, %q", h, c.Kept, c.Reason)
		}
	}
	if c := column(rep, "email"); !c.Kept {
		t.Errorf("email dropped for prospection: %q", c.Reason)
	}
	if rep.Quotes != 0 || count(t, a, "quotes") != 0 {
		t.Errorf("%d quotes made from prospection data", rep.Quotes)
	}
}

// TestR07_LegacyImportBadInput: each broken file gets its own clear error, and nothing is written.
func TestR07_LegacyImportBadInput(t *testing.T) {
	good := readFile(t, "legacy_crm.csv")
	noBOM := bytes.TrimPrefix(good, []byte("\ufeff"))
	header, _, _ := bytes.Cut(noBOM, []byte("\r\n"))
	latin1 := bytes.ReplaceAll(noBOM, []byte("Hélène"), []byte("H\xe9l\xe8ne"))
	// Past the first mebibyte, where the encoding of a stream is checked before the import
	// starts: a file is checked to its end first, but a stream only fails halfway through, once
	// a batch is committed (42,000 persons are 210,000 rows with their keys and blind indexes,
	// more than the loader's batch), and the batch is removed.
	var late bytes.Buffer
	late.Write(noBOM)
	for i := range 42_000 {
		fmt.Fprintf(&late, "1011;M.;Garnier;Paul;01/01/1970;;;paul.garnier.%d@exemple.fr;06 12 12 12 12;75001;Paris;;;;;;;;;;01/01/2026;;;;\r\n", i)
	}
	late.WriteString("1012;M.;Gu\xe9rin;Paul;01/01/1970;;;;06 12 12 12 12;75001;Paris;;;;;;;;;;01/01/2026;;;;\r\n")
	utf16 := append([]byte{0xFF, 0xFE}, []byte(strings.Join(strings.Split(string(header), ""), "\x00"))...)
	commas := bytes.ReplaceAll(noBOM, []byte(";"), []byte(","))
	unclosed := append(slices.Clone(noBOM), []byte("1011;M.;\"Garnier;Paul\r\n1012;M.;Durand;Paul\r\n")...)
	lateLine := fmt.Sprintf("ligne %d : ", bytes.Count(late.Bytes(), []byte("\n"))) // the last line
	for _, c := range []struct {
		name    string
		data    []byte
		stream  bool
		err     error
		message string
	}{
		{"empty", nil, false, importer.ErrEmptyFile, "vide"},
		{"a byte-order mark and nothing else", []byte("\ufeff\r\n"), false, importer.ErrEmptyFile, "vide"},
		{"UTF-16", utf16, false, importer.ErrUTF16, "iconv -f UTF-16"},
		{"Latin-1 in the first rows", latin1, false, importer.ErrNotUTF8, "ligne 4 : "},
		{"Latin-1 after the first mebibyte of a file", late.Bytes(), false, importer.ErrNotUTF8, lateLine},
		{"Latin-1 after the first mebibyte of a stream", late.Bytes(), true, importer.ErrNotUTF8, "iconv -f WINDOWS-1252 -t UTF-8"},
		{"wrong delimiter", commas, false, importer.ErrDelimiter, `délimiteur incorrect : l'en-tête n'a qu'une colonne avec le délimiteur « ; » mais contient des « , » ; indiquez "delimiter": ","`},
		{"unclosed quote", unclosed, false, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := apptest.New(t, "sqlite")
			var r io.Reader = bytes.NewReader(c.data)
			if c.stream {
				r = struct{ io.Reader }{r} // not an io.Seeker
			}
			rep, err := importer.Import(context.Background(), r, a.Records, suppressed,
				importer.Options{Mapping: mapping(t, a, "legacy_crm.mapping.json"), Now: now})
			if c.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				last := rep.RejectedRows[len(rep.RejectedRows)-1]
				if last.Line != 13 || last.Reason != "guillemet non refermé : lignes 13 à 14 illisibles" {
					t.Errorf("unclosed quote reported as %+v", last)
				}
				return
			}
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.message) {
				t.Errorf("error %v, want %v with %q", err, c.err, c.message)
			}
			if n := count(t, a, "persons") + count(t, a, "subject_keys") + count(t, a, "search_index"); n != 0 {
				t.Errorf("%d rows written by a failed import", n)
			}
		})
	}
}

// TestR07_LegacyImportDryRunWritesNothing: the report of a dry run is the report of the import.
func TestR07_LegacyImportDryRunWritesNothing(t *testing.T) {
	a := apptest.New(t, "sqlite")
	dry, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), true)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "persons"); n != 0 || dry.Persons != 5 || dry.Quotes != 3 || !dry.DryRun {
		t.Errorf("dry run: %d persons written, %d reported", n, dry.Persons)
	}
}

// TestR07_LegacyImportRefusesIncompleteMappings: a mapping that would lose the collection date or
// a required field, or names what is not there, is refused before anything is read.
func TestR07_LegacyImportRefusesIncompleteMappings(t *testing.T) {
	a := apptest.New(t, "sqlite")
	base := readFile(t, "legacy_crm.mapping.json")
	edit := func(fn func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(base, &m)
		fn(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	cols := func(m map[string]any) map[string]any { return m["columns"].(map[string]any) }
	for _, c := range []struct {
		name, mapping, want string
		atImport            bool
	}{
		{"no collection date", edit(func(m map[string]any) { delete(cols(m), "date_creation") }), "persons.created_at", false},
		{"unknown field", edit(func(m map[string]any) { cols(m)["cp"] = "persons.zip" }), "not in the data dictionary", false},
		{"computed field", edit(func(m map[string]any) { cols(m)["cp"] = "persons.source" }), "computed by Vigie", false},
		{"other table", edit(func(m map[string]any) { cols(m)["cp"] = "contracts.policy_number" }), "want \"drop\" or a field", false},
		{"bad purpose", edit(func(m map[string]any) { m["purpose"] = "performance" }), "purpose", false},
		{"bad date format", edit(func(m map[string]any) { m["date_formats"] = []string{"JJ/MM/AAAA"} }), "not a Go layout", false},
		{"two columns, one field", edit(func(m map[string]any) { cols(m)["ville"] = "persons.last_name" }), "both map to persons.last_name", false},
		{"unknown key", `{"purpose":"quotes","colonnes":{}}`, "unknown field", false},
		{"default outside the purpose", edit(func(m map[string]any) {
			m["defaults"] = map[string]string{"persons.birth_date": "1980-01-01"}
			m["purpose"] = "prospection"
		}), "not collected for the purpose prospection", false},
		{"invalid default", edit(func(m map[string]any) { m["defaults"] = map[string]string{"quotes.coverage": "omnium"} }), "defaults: quotes.coverage", false},
		{"absent header", edit(func(m map[string]any) { cols(m)["fax"] = "drop" }), `"fax" du fichier de correspondance n'est pas dans l'en-tête`, true},
		{"required quote field missing", edit(func(m map[string]any) { delete(cols(m), "modele") }), "quotes.vehicle_model est obligatoire", true},
	} {
		m, err := importer.ParseMapping(strings.NewReader(c.mapping), a.Dict)
		if err == nil && c.atImport {
			_, err = importBytes(a, readFile(t, "legacy_crm.csv"), m, false)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// contactsMapping maps the identity and contact columns of testdata/doublons.csv, for prospection.
const contactsMapping = `{"purpose": "prospection", "delimiter": ";", "date_formats": ["02/01/2006"], "columns": {
	"nom": "persons.last_name", "prenom": "persons.first_name", "email": "persons.email", "tel": "persons.phone",
	"date_creation": "persons.created_at", "dernier_contact": "persons.last_contact_at"}}`

// TestR07_LegacyImportSkipsDuplicates: a row whose e-mail or phone is that of a person already in
// Vigie, or of an earlier imported row of the file, creates no second person; the report counts it
// as a doublon with the line of the first occurrence (a row that was itself left out, here as
// expired, is no first occurrence). A dry run reports the same.
func TestR07_LegacyImportSkipsDuplicates(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		// manon.martin@exemple.fr and 06 84 22 56 84 come into Vigie with the first extract.
		if _, err := importBytes(a, readFile(t, "legacy_crm.csv"), mapping(t, a, "legacy_crm.mapping.json"), false); err != nil {
			t.Fatal(err)
		}
		before := count(t, a, "persons")
		m, err := importer.ParseMapping(strings.NewReader(contactsMapping), a.Dict)
		if err != nil {
			t.Fatal(err)
		}
		data := readFile(t, "doublons.csv")
		want := []string{"3 persons.email 2", "4 persons.phone 2", "5 persons.email 0", "8 persons.phone 0"}
		for _, dryRun := range []bool{true, false} {
			rep, err := importBytes(a, data, m, dryRun)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range rep.DuplicateRows {
				got = append(got, fmt.Sprintf("%d %s %d", d.Line, d.Field, d.FirstLine))
			}
			if !slices.Equal(got, want) || rep.Duplicates != 4 || rep.Persons != 2 || rep.Expired != 1 || rep.Rows != 7 {
				t.Errorf("dry run %v: duplicates %d %q, persons %d, expired %d, rows %d; want 4 %q, 2, 1, 7",
					dryRun, rep.Duplicates, got, rep.Persons, rep.Expired, rep.Rows, want)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"Doublons", "ligne 3", "persons.email : doublon de la ligne 2", "persons.phone : personne déjà dans Vigie"} {
				if !strings.Contains(text.String(), s) {
					t.Errorf("the text report does not say %q", s)
				}
			}
			for _, leak := range []string{"zoe", "durand", "31 41", "manon", "jules"} {
				if strings.Contains(strings.ToLower(text.String()), leak) {
					t.Errorf("the report prints a cell value (%d characters)", len(leak))
				}
			}
		}
		if n := count(t, a, "persons"); n != before+2 {
			t.Errorf("%d persons after the import, want %d", n, before+2)
		}
		prospection := record.Actor{Department: "prospection", Purposes: []string{"prospection"}}
		for _, c := range []struct{ field, term string }{
			{"email", "zoe.durand@exemple.fr"}, {"phone", "0631415926"}, {"email", "manon.martin@exemple.fr"},
			{"phone", "0684225684"}, {"email", "jules.vieux@exemple.fr"},
		} {
			found, err := a.Records.Search(context.Background(), prospection, "persons", c.field, c.term, 10)
			if err != nil || len(found) != 1 {
				t.Errorf("search by %s: %d persons (%v), want 1", c.field, len(found), err)
			}
		}
	})
}

// TestR28_LegacyImportSkipsObjectors: with the suppression list read from the database, as
// vigie import legacy reads it, a person who objected to prospection is not imported again, by
// e-mail or by phone; the objection is what the report says, not a doublon.
func TestR28_LegacyImportSkipsObjectors(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		m, err := importer.ParseMapping(strings.NewReader(contactsMapping), a.Dict)
		if err != nil {
			t.Fatal(err)
		}
		first := "nom;prenom;email;tel;date_creation;dernier_contact\nDurand;Zoé;zoe.durand@exemple.fr;06 31 41 59 26;01/03/2026;\n"
		if _, err := importBytes(a, []byte(first), m, false); err != nil {
			t.Fatal(err)
		}
		prospection := record.Actor{Department: "prospection", Purposes: []string{"prospection"}}
		found, err := a.Records.Search(ctx, prospection, "persons", "email", "zoe.durand@exemple.fr", 10)
		if err != nil || len(found) != 1 {
			t.Fatalf("imported person: %d found (%v)", len(found), err)
		}
		if err := a.Consent.Object(ctx, found[0].ID, "prospection", consent.Proof{Channel: "email"}); err != nil {
			t.Fatal(err)
		}
		supp, err := a.Consent.Suppressions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		again := "nom;prenom;email;tel;date_creation;dernier_contact\nDurand;Zoé;;+33631415926;01/04/2026;\nDurand;Zoé;zoe.durand@exemple.fr;;01/04/2026;\n"
		rep, err := importer.Import(ctx, strings.NewReader(again), a.Records, supp, importer.Options{Mapping: m, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Suppressed != 2 || rep.Persons != 0 {
			t.Errorf("%d suppressed, %d imported; want 2, 0", rep.Suppressed, rep.Persons)
		}
	})
}
