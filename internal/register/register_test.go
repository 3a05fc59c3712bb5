package register_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/lifecycle"
	"vigie/internal/register"
)

// The register of processing (R38, GDPR art. 30). The register holds no personal data; failures
// name activities, fields and formats only.

var dpo = register.Staff{Department: "dpo"}

// named gives the test app the controller and DPO every real configuration names (apptest's has
// none, and a register without them is refused).
func named(a *app.App) {
	a.Config.Controller = consent.Controller{Name: "Courtier d'essai", Address: "1 rue de l'Essai, 69002 Lyon", DPOEmail: "dpo@essai.example"}
	a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, a.Config.Controller, false, a.Log, a.Now)
}

// TestR38_EveryExportHoldsEveryArt30Field: the register's CSV, HTML, PDF and JSON exports hold, for
// every activity of the dictionary, every field of art. 30(1) — the controller and the DPO, the
// purpose and its legal basis, the subjects and data, the recipients, the transfers, the
// retention and the security measures — and none of them is empty.
func TestR38_EveryExportHoldsEveryArt30Field(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		named(a)
		v, err := a.Register.Current(ctx, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if v.Number != 1 || len(v.SHA256) != 64 || len(v.Register.Activities) != len(a.Dict.Purposes) {
			t.Fatalf("first version: number %d, sha256 of %d characters, %d activities for %d purposes",
				v.Number, len(v.SHA256), len(v.Register.Activities), len(a.Dict.Purposes))
		}
		formats := []struct {
			format string
			check  func(t *testing.T, b []byte, v *register.Version)
		}{
			{"csv", checkCSV},
			{"html", checkHTML},
			{"pdf", checkPDF},
			{"json", checkJSON},
		}
		for _, f := range formats {
			t.Run(f.format, func(t *testing.T) {
				got, b, err := a.Register.Export(ctx, dpo, 0, f.format)
				if err != nil {
					t.Fatal(err)
				}
				if got.Number != v.Number {
					t.Errorf("export made version %d, want %d (nothing changed)", got.Number, v.Number)
				}
				f.check(t, b, got)
			})
		}
		var exports int
		if err := a.DB.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE table_name = 'register_versions' AND action = 'export'`).Scan(&exports); err != nil {
			t.Fatal(err)
		}
		if exports != len(formats) {
			t.Errorf("%d exports in the audit trail, want %d", exports, len(formats))
		}
	})
}

// wantField is a field every sheet must fill, with the point of art. 30(1) it answers.
type wantField struct{ point, field string }

func requiredFields() []wantField {
	var out []wantField
	for _, p := range register.Art30 {
		for _, f := range p.Fields {
			out = append(out, wantField{p.Letter, f})
		}
	}
	return out
}

func checkCSV(t *testing.T, b []byte, v *register.Version) {
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatal("no UTF-8 byte-order mark")
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Error("lines do not end with CRLF")
	}
	r := csv.NewReader(bytes.NewReader(b[3:]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if !slices.Equal(rows[0], register.CSVHeader) {
		t.Fatalf("header %q", rows[0])
	}
	type key struct{ ref, field string }
	values := map[key]string{}
	points := map[string]map[string]int{}
	for i, row := range rows[1:] {
		ref, field, value, point := row[0], row[3], row[4], row[5]
		if point != "" {
			if strings.TrimSpace(value) == "" {
				t.Errorf("line %d (%s, %s %s): empty value", i+2, ref, field, point)
			}
			if points[ref] == nil {
				points[ref] = map[string]int{}
			}
			points[ref][point]++
		}
		values[key{ref, field}] = value
	}
	for _, a := range v.Register.Activities {
		for _, p := range register.Art30 {
			if points[a.Ref]["("+p.Letter+")"] == 0 {
				t.Errorf("%s (%s): no line for art. 30(1)(%s)", a.Ref, a.Code, p.Letter)
			}
		}
		for _, f := range requiredFields() {
			if strings.TrimSpace(values[key{a.Ref, f.field}]) == "" {
				t.Errorf("%s (%s): field %q of art. 30(1)(%s) missing or empty", a.Ref, a.Code, f.field, f.point)
			}
		}
		for _, rt := range a.Retention {
			if values[key{a.Ref, rt.Label}] == "" {
				t.Errorf("%s (%s): no retention line for rule %s", a.Ref, a.Code, rt.Rule)
			}
		}
	}
}

var htmlRow = regexp.MustCompile(`<tr data-art30="([a-g])"><th scope="row">([^<]*)</th><td>([^<]*)</td>`)

func checkHTML(t *testing.T, b []byte, v *register.Version) {
	page := string(b)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, `<html lang="fr">`) {
		t.Fatal("not a standalone French HTML page")
	}
	for _, forbidden := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(page, forbidden) {
			t.Errorf("the page holds %q: it must stand alone", forbidden)
		}
	}
	for _, a := range v.Register.Activities {
		start := strings.Index(page, `<section class="fiche" id="fiche-`+a.Ref+`"`)
		if start < 0 {
			t.Errorf("%s (%s): no sheet", a.Ref, a.Code)
			continue
		}
		sheet := page[start:]
		sheet = sheet[:strings.Index(sheet, "</section>")]
		fields := map[string]string{}
		points := map[string]bool{}
		for _, m := range htmlRow.FindAllStringSubmatch(sheet, -1) {
			if strings.TrimSpace(m[3]) == "" {
				t.Errorf("%s (%s): %s is empty", a.Ref, a.Code, m[2])
			}
			points[m[1]] = true
			fields[html.UnescapeString(m[2])] = m[3]
		}
		for _, p := range register.Art30 {
			if !points[p.Letter] {
				t.Errorf("%s (%s): no row for art. 30(1)(%s)", a.Ref, a.Code, p.Letter)
			}
		}
		for _, f := range requiredFields() {
			if strings.TrimSpace(fields[f.field]) == "" {
				t.Errorf("%s (%s): field %q of art. 30(1)(%s) missing or empty", a.Ref, a.Code, f.field, f.point)
			}
		}
	}
}

func checkPDF(t *testing.T, b []byte, v *register.Version) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[len(b)-16:], []byte("%%EOF")) {
		t.Fatal("not a PDF file")
	}
	pages := regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(b, -1)
	if len(pages) < 1+len(v.Register.Activities) {
		t.Errorf("%d pages, want at least one per activity and the first", len(pages))
	}
	text := pdfText(t, b)
	if !strings.Contains(text, "Registre des activités de traitement") {
		t.Error("the title is not in the PDF's text (accents lost?)")
	}
	for _, a := range v.Register.Activities {
		if !strings.Contains(text, "Fiche "+a.Ref+" — "+a.Name) {
			t.Errorf("%s (%s): no sheet", a.Ref, a.Code)
		}
	}
	for _, f := range requiredFields() {
		if n := strings.Count(text, f.field); n < len(v.Register.Activities) {
			t.Errorf("field %q of art. 30(1)(%s) appears %d times, want once per activity", f.field, f.point, n)
		}
	}
	for _, want := range []string{v.Register.Actors.Controller, v.Register.Actors.DPO, "Durées de conservation", "Transferts hors de l'Union européenne"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
}

// pdfText inflates the PDF's content streams and returns the strings they show, decoded from the
// UTF-16 gofpdf writes for a UTF-8 font, one space between pieces (a wrapped line is a piece).
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	var out []string
	for rest := b; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("stream\n"):]
		j := bytes.Index(rest, []byte("endstream"))
		if j < 0 {
			break
		}
		zr, err := zlib.NewReader(bytes.NewReader(rest[:j]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil {
			continue
		}
		rest = rest[j:]
		for c := content; ; {
			k := bytes.Index(c, []byte("Td ("))
			if k < 0 {
				break
			}
			c = c[k+len("Td ("):]
			var raw []byte
			for len(c) > 0 && c[0] != ')' {
				if c[0] == '\\' && len(c) > 1 {
					c = c[1:]
					if c[0] == 'r' {
						raw = append(raw, '\r')
						c = c[1:]
						continue
					}
				}
				raw = append(raw, c[0])
				c = c[1:]
			}
			units := make([]uint16, len(raw)/2)
			for n := range units {
				units[n] = uint16(raw[2*n])<<8 | uint16(raw[2*n+1])
			}
			out = append(out, string(utf16.Decode(units)))
		}
	}
	return strings.Join(strings.Fields(strings.Join(out, " ")), " ")
}

func checkJSON(t *testing.T, b []byte, v *register.Version) {
	var got register.Version
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if got.Number != v.Number || got.SHA256 != v.SHA256 || got.Register == nil || got.Register.Format != register.Format {
		t.Fatalf("JSON: version %d, format %q", got.Number, got.Register.Format)
	}
	if err := got.Register.Validate(); err != nil {
		t.Errorf("the JSON register misses a field: %v", err)
	}
	content, _ := json.Marshal(got.Register)
	if string(content) != string(mustJSON(t, v.Register)) {
		t.Error("the JSON export is not the version's content")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestR38_TheRegisterIsTheRulesInForce: the register's retention is the lifecycle's rules in force
// and its departments are the access control's, one source. A rule changed by the DPO makes a new
// version whose retention shows the new duration in every format; reading the register again
// without a change makes no version; the earlier version is kept as it was.
func TestR38_TheRegisterIsTheRulesInForce(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		named(a)
		v1, err := a.Register.Current(ctx, dpo)
		if err != nil {
			t.Fatal(err)
		}
		checkOneSource(t, a, v1)
		again, err := a.Register.Current(ctx, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if again.Number != 1 || versions(t, a) != 1 {
			t.Fatalf("an unchanged register made version %d (%d kept), want 1", again.Number, versions(t, a))
		}

		changes := []struct {
			rule   string
			months int
			action string
			want   string
		}{
			{"prospect", 48, "delete", "48 mois (4 ans)"},
			{"quote_no_contract", 18, "delete", "18 mois"},
		}
		for i, c := range changes {
			if _, err := a.Lifecycle.SetRule(ctx, lifecycle.Staff{Department: "dpo"}, lifecycle.RuleChange{Code: c.rule, Months: c.months, Action: c.action,
				Reason: "Nouvelle recommandation de la CNIL pour le secteur"}); err != nil {
				t.Fatal(err)
			}
			v, err := a.Register.Current(ctx, dpo)
			if err != nil {
				t.Fatal(err)
			}
			if v.Number != i+2 {
				t.Fatalf("after changing %s: version %d, want %d", c.rule, v.Number, i+2)
			}
			if !strings.Contains(v.Changes, "durées de conservation") {
				t.Errorf("version %d: changes %q do not name the retention", v.Number, v.Changes)
			}
			checkOneSource(t, a, v)
			lines := 0
			for _, act := range v.Register.Activities {
				for _, rt := range act.Retention {
					if rt.Rule == c.rule {
						lines++
						if rt.Months != c.months || !strings.Contains(rt.Duration, c.want) || rt.Version != 1 {
							t.Errorf("%s, rule %s: %d months, duration %q, version %d; want %d months, %q, version 1",
								act.Code, c.rule, rt.Months, rt.Duration, rt.Version, c.months, c.want)
						}
					}
				}
			}
			if lines == 0 {
				t.Errorf("no activity keeps its data by %s", c.rule)
			}
			for _, format := range []string{"csv", "html", "pdf"} {
				_, b, err := a.Register.Export(ctx, dpo, 0, format)
				if err != nil {
					t.Fatal(err)
				}
				text := string(b)
				if format == "pdf" {
					text = pdfText(t, b)
				}
				if !strings.Contains(text, c.want) {
					t.Errorf("%s export of version %d does not show %q", format, v.Number, c.want)
				}
			}
		}
		old, err := a.Register.Version(ctx, dpo, 1)
		if err != nil {
			t.Fatal(err)
		}
		if old.SHA256 != v1.SHA256 || !strings.Contains(string(mustJSON(t, old.Register)), `"duration":"3 ans"`) {
			t.Error("version 1 was not kept as it was")
		}
		list, err := a.Register.Versions(ctx, dpo)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].Number != 3 || list[2].Number != 1 || list[0].Register != nil {
			t.Errorf("versions listed: %d, latest first without content", len(list))
		}
	})
}

// checkOneSource compares the register with the sources the software obeys: each activity's
// departments are those whose staff act for the purpose, each retention rule the engine applies
// has the engine's duration.
func checkOneSource(t *testing.T, a *app.App, v *register.Version) {
	t.Helper()
	rules, err := a.Lifecycle.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range v.Register.Activities {
		var want []string
		for _, d := range a.Dict.Departments {
			if slices.Contains(d.Purposes, act.Code) {
				want = append(want, d.Name)
			}
		}
		if !slices.Equal(act.Departments, want) {
			t.Errorf("%s: departments %q, the access control says %q", act.Code, act.Departments, want)
		}
		p, _ := a.Dict.Purpose(act.Code)
		if p.LegalBasis != act.LegalBasis || p.Recipients != act.Recipients {
			t.Errorf("%s: legal basis or recipients differ from the dictionary's", act.Code)
		}
		for _, rt := range act.Retention {
			for _, r := range rules {
				if r.Code == rt.Rule && r.Months != rt.Months {
					t.Errorf("%s, rule %s: %d months in the register, %d applied by the engine", act.Code, rt.Rule, rt.Months, r.Months)
				}
			}
		}
	}
}

func versions(t *testing.T, a *app.App) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM register_versions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestR38_AnEntryWithoutLegalBasisOrRetentionIsRefused: a purpose of the dictionary without its
// legal basis, subjects or retention — or with retention rules that leave out one of its columns',
// or a transfer without safeguards — is refused when the dictionary loads, by purpose, field and
// rule; a register missing a field of art. 30(1) is refused before anything is written.
func TestR38_AnEntryWithoutLegalBasisOrRetentionIsRefused(t *testing.T) {
	quotes := `{"code": "quotes", "name": "Établissement des devis", "legal_basis": "mesures précontractuelles", `
	scenarios := []struct {
		name, from, to string
		field, rule    string
	}{
		{"no legal basis", `"legal_basis": "mesures précontractuelles"`, `"legal_basis": ""`, "legal_basis", "required"},
		{"legal basis left out", `"legal_basis": "mesures précontractuelles", `, ``, "legal_basis", "required"},
		{"no retention", `"retention": ["quote_no_contract", "prospect", "rights_request"]`, `"retention": []`, "retention", "required"},
		{"retention left out", `, "retention": ["quote_no_contract", "prospect", "rights_request"]`, ``, "retention", "required"},
		{"an unknown retention rule", `"retention": ["quote_no_contract", "prospect", "rights_request"]`, `"retention": ["quote_no_contract", "prospect", "rights_request", "forever"]`, "retention", "unknown_rule"},
		{"a column's rule left out", `"retention": ["quote_no_contract", "prospect", "rights_request"]`, `"retention": ["prospect", "rights_request"]`, "retention", "covers_columns"},
		{"no subjects", `"subjects": ["Demandeurs de devis (prospects et clients), conducteur principal du véhicule"]`, `"subjects": []`, "subjects", "required"},
		{"a transfer without safeguards", `"retention": ["quote_no_contract", "prospect", "rights_request"]`,
			`"retention": ["quote_no_contract", "prospect", "rights_request"], "transfers": [{"recipient": "Assureur partenaire", "country": "Suisse", "safeguards": ""}]`, "transfers[0]", "required"},
	}
	raw := string(dictionary.Raw())
	start := strings.Index(raw, quotes)
	if start < 0 {
		t.Fatal("the quotes purpose is not where the test expects it")
	}
	end := start + strings.Index(raw[start:], "}\n")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			entry := raw[start:end]
			if !strings.Contains(entry, sc.from) {
				t.Fatalf("the quotes purpose has no %q", sc.from)
			}
			_, err := dictionary.Parse([]byte(raw[:start] + strings.Replace(entry, sc.from, sc.to, 1) + raw[end:]))
			var pe *dictionary.PurposeError
			if !errors.As(err, &pe) {
				t.Fatalf("accepted, or refused without naming the purpose: %v", err)
			}
			if pe.Purpose != "quotes" || pe.Field != sc.field || pe.Rule != sc.rule || !strings.Contains(err.Error(), "purpose quotes: "+sc.field) {
				t.Errorf("refused as %s/%s/%s (%v), want quotes/%s/%s", pe.Purpose, pe.Field, pe.Rule, err, sc.field, sc.rule)
			}
		})
	}

	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		named(a)
		good, err := a.Register.Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		blank := []struct {
			name, activity, field string
			change                func(r *register.Register)
		}{
			{"no legal basis", "quotes", "legal_basis", func(r *register.Register) { r.Activities[1].LegalBasis = " " }},
			{"no retention", "contracts", "retention", func(r *register.Register) { r.Activities[2].Retention = nil }},
			{"a rule without duration", "support", "retention.ticket", func(r *register.Register) { r.Activities[3].Retention[0].Duration = "" }},
			{"no subjects", "prospection", "subjects", func(r *register.Register) { r.Activities[0].Subjects = nil }},
			{"no DPO", "", "dpo", func(r *register.Register) { r.Actors.DPO = "" }},
		}
		for _, sc := range blank {
			t.Run(sc.name, func(t *testing.T) {
				var reg register.Register
				if err := json.Unmarshal(mustJSON(t, good), &reg); err != nil {
					t.Fatal(err)
				}
				sc.change(&reg)
				_, err := a.Register.RecordForTest(ctx, dpo, &reg)
				var issue *register.Issue
				if !errors.As(err, &issue) || issue.Activity != sc.activity || issue.Field != sc.field || !strings.HasPrefix(issue.Rule, "art") {
					t.Fatalf("refused as %+v (%v), want %s/%s", issue, err, sc.activity, sc.field)
				}
				if n := versions(t, a); n != 0 {
					t.Errorf("%d versions written by a refused register", n)
				}
			})
		}
		// A controller configured without its DPO cannot produce a register at all.
		noDPO := register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, consent.Controller{Name: "Courtier", Address: "Lyon"}, false, nil, a.Now)
		_, err = noDPO.Current(ctx, dpo)
		var issue *register.Issue
		if !errors.As(err, &issue) || issue.Field != "dpo" || issue.Rule != "art30_1_a" {
			t.Errorf("a register without DPO: %v", err)
		}
		if n := versions(t, a); n != 0 {
			t.Errorf("%d versions written by a refused register", n)
		}
	})
}

// TestR38_OnlyTheDPOKeepsTheRegister: the departments the dictionary does not let read the
// register's versions are refused, and nothing is written for them.
func TestR38_OnlyTheDPOKeepsTheRegister(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		named(a)
		readers := a.Dict.Table("register_versions").Read
		for _, d := range a.Dict.Departments {
			by := register.Staff{Department: d.Code}
			_, errCurrent := a.Register.Current(ctx, by)
			_, errList := a.Register.Versions(ctx, by)
			_, _, errExport := a.Register.Export(ctx, by, 0, "csv")
			allowed := slices.Contains(readers, d.Code)
			for name, err := range map[string]error{"current": errCurrent, "versions": errList, "export": errExport} {
				if allowed && err != nil || !allowed && !errors.Is(err, register.ErrForbidden) {
					t.Errorf("%s, %s: %v (allowed: %t)", d.Code, name, err, allowed)
				}
			}
		}
		if n := versions(t, a); n != 1 {
			t.Errorf("%d versions, want the DPO's one", n)
		}
	})
}

func TestMonthsText(t *testing.T) {
	for m, want := range map[int]string{1: "1 mois", 12: "12 mois (1 an)", 18: "18 mois", 36: "36 mois (3 ans)"} {
		if got := register.MonthsText(m); got != want {
			t.Errorf("MonthsText(%d) = %q, want %q", m, got, want)
		}
	}
}
