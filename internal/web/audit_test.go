package web_test

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/record"
)

// A second person, created and read in the test itself, so that the trail holds a known series
// for it: created by the quotes department, then read once each by prospection, quotes and support.
const (
	scriptedFirstName = "Bérénice"
	scriptedLastName  = "Lemoine-Essai"
	scriptedEmail     = "berenice.lemoine@exemple.fr"
)

// personalValues are the seeded values that no audit page or file may contain.
var personalValues = []shown{
	valueFirstName, valueLastName, valueEmail, valueBirthDate, valueVehicle, valuePolicy, valueProspectNote,
	valueSupportNote, valueTicket,
	{"the scripted first name", scriptedFirstName}, {"the scripted last name", scriptedLastName},
	{"the scripted email", scriptedEmail},
}

// staffNames are the display names of the departments that read the scripted person.
var staffNames = []shown{
	{"the prospection agent's name", "Agent prospection"}, {"the quotes agent's name", "Agent devis"},
	{"the support agent's name", "Agent support"}, {"a staff email", "@vigie.test"},
}

// newAuditWorld is the usual world plus the scripted series; the scripted person is {scripted}.
func newAuditWorld(t *testing.T, a *app.App) *world {
	t.Helper()
	ctx := context.Background()
	w := newWorld(t, a)
	rec, err := a.Records.Create(ctx, a.Auth.Actor(w.users["devis"]), "persons", record.Input{Channel: "phone",
		Text: map[string]string{"first_name": scriptedFirstName, "last_name": scriptedLastName, "email": scriptedEmail}})
	if err != nil {
		t.Fatalf("seed the scripted person: %v", err)
	}
	w.ids["scripted"] = rec.ID
	for _, dept := range []string{"prospection", "devis", "support"} {
		if _, err := a.Records.Get(ctx, a.Auth.Actor(w.users[dept]), "persons", rec.ID); err != nil {
			t.Fatalf("%s reads the scripted person: %v", dept, err)
		}
	}
	return w
}

// scriptedAccesses are the rows of "Qui a accédé à ces données" for the scripted person of
// newAuditWorld, seen by the DPO on the given day. Oldest first, then by department code: quotes
// created the person and read it twice (the creation answers with the record, then the scripted
// read); the DPO's own visit of the page is an access too, and is listed.
func scriptedAccesses(day string) [][]string {
	return [][]string{
		{"Devis", "création", day, "1"},
		{"Devis", "consultation", day, "2"},
		{"Délégué à la protection des données", "consultation", day, "1"},
		{"Prospection commerciale", "consultation", day, "1"},
		{"Support client", "consultation", day, "1"},
	}
}

var (
	accessSection = regexp.MustCompile(`(?s)<h2 id="acces-titre">Qui a accédé à ces données</h2>.*?</section>`)
	tableRow      = regexp.MustCompile(`(?s)<tr><td>.*?</tr>`)
	tableCell     = regexp.MustCompile(`(?s)<td>(.*?)</td>`)
	markup        = regexp.MustCompile(`<[^>]*>`)
	auditTable    = regexp.MustCompile(`(?s)<table class="audit">.*?</table>`)
)

// rowsOf returns the body rows of an HTML fragment, each cell as text.
func rowsOf(fragment string) [][]string {
	var rows [][]string
	for _, tr := range tableRow.FindAllString(fragment, -1) {
		var cells []string
		for _, m := range tableCell.FindAllStringSubmatch(tr, -1) {
			cells = append(cells, strings.TrimSpace(markup.ReplaceAllString(m[1], " ")))
		}
		rows = append(rows, cells)
	}
	return rows
}

// TestR16_DPOPersonPageSaysWhichDepartmentsAccessed: on a person's page the DPO, and only the DPO,
// sees which departments created and read the person's data, by day with a count — the
// departments, never the staff members.
func TestR16_DPOPersonPageSaysWhichDepartmentsAccessed(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newAuditWorld(t, a)
		today := time.Now().UTC().Format("02/01/2006")
		res, body := w.request("GET", w.path("/personnes/{scripted}"), "dpo", nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("DPO person page: status %d (%s)", res.StatusCode, heading(body))
		}
		section := accessSection.FindString(body)
		if section == "" {
			t.Fatal("the DPO's person page has no \"Qui a accédé à ces données\" section")
		}
		if got, want := rowsOf(section), scriptedAccesses(today); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("who accessed:\n got %q\nwant %q", got, want)
		}
		for _, s := range append(slices.Clone(staffNames), personalValues...) {
			if strings.Contains(body, s.text) {
				t.Errorf("the DPO's person page shows %s", s.what)
			}
		}

		// Every other department that may open the page sees no such section.
		for _, dept := range []string{"prospection", "devis", "contrats", "support"} {
			res, body := w.request("GET", w.path("/personnes/{scripted}"), dept, nil, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s person page: status %d, want 200", dept, res.StatusCode)
			}
			if strings.Contains(body, "Qui a accédé") {
				t.Errorf("%s sees the \"who accessed\" section", dept)
			}
		}
	})
}

var correctionsSection = regexp.MustCompile(`(?s)<h2 id="corrections-titre">Historique des corrections</h2>.*?</section>`)

// TestR25_DPOPersonPageListsTheCorrections: on a person's page the DPO, and only the DPO, sees
// each correction of the person's data — which field, when, through which channel, by which
// department — and never the value it replaced.
func TestR25_DPOPersonPageListsTheCorrections(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newAuditWorld(t, a)
		ctx := context.Background()
		replaced := "Lemoine-Ancien"
		for _, name := range []string{replaced, "Lemoine-Nouveau"} {
			if _, err := a.Records.Update(ctx, a.Auth.Actor(w.users["support"]), "persons", w.ids["scripted"],
				record.Input{Channel: "phone", Text: map[string]string{"last_name": name}}); err != nil {
				t.Fatal(err)
			}
		}
		res, body := w.request("GET", w.path("/personnes/{scripted}"), "dpo", nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("DPO person page: status %d (%s)", res.StatusCode, heading(body))
		}
		section := correctionsSection.FindString(body)
		rows := rowsOf(section)
		if len(rows) != 2 {
			t.Fatalf("corrections on the DPO's page: %q", rows)
		}
		for _, row := range rows {
			if row[0] != "Personne — Nom" || row[2] != "Téléphone" || row[3] != "Support client" {
				t.Errorf("a correction reads %q", row)
			}
		}
		if strings.Contains(body, replaced) || strings.Contains(section, scriptedLastName) {
			t.Error("the DPO's page shows a value a correction replaced")
		}
		for _, dept := range []string{"prospection", "devis", "contrats", "support"} {
			if _, body := w.request("GET", w.path("/personnes/{scripted}"), dept, nil, nil); strings.Contains(body, "Historique des corrections") {
				t.Errorf("%s sees the corrections", dept)
			}
		}
	})
}

// TestR16_AuditJournalIsForTheDPOOnly: the journal and its export answer 403 to every other
// department, and only the DPO's menu offers it.
func TestR16_AuditJournalIsForTheDPOOnly(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for _, d := range a.Dict.Departments {
			want := http.StatusForbidden
			if d.Code == "dpo" {
				want = http.StatusOK
			}
			for _, path := range []string{"/audit", "/audit.csv", "/audit?service=support"} {
				if res, body := w.request("GET", path, d.Code, nil, nil); res.StatusCode != want {
					t.Errorf("%s GET %s: status %d (%s), want %d", d.Code, path, res.StatusCode, heading(body), want)
				} else if want == http.StatusForbidden && strings.Contains(body, "Agent ") && !strings.Contains(body, "Agent "+d.Code) {
					t.Errorf("%s GET %s: the 403 page names other staff", d.Code, path)
				}
			}
			_, home := w.request("GET", "/", d.Code, nil, nil)
			if got := strings.Contains(home, `href="/audit"`); got != (d.Code == "dpo") {
				t.Errorf("%s: the menu offers the audit journal: %v, want %v", d.Code, got, d.Code == "dpo")
			}
		}
	})
}

// TestR16_AuditJournalFilters: the DPO's journal lists the events and filters them by actor,
// department, action, person (through its pseudonym) and period; it never shows a personal value.
func TestR16_AuditJournalFilters(t *testing.T) {
	type check struct {
		col  int
		text string
	}
	const (
		colActor  = 3
		colAction = 4
		colPseudo = 7
	)
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newAuditWorld(t, a)
		paris, _ := time.LoadLocation("Europe/Paris")
		today := time.Now().In(paris).Format(time.DateOnly)
		scripted := hex.EncodeToString(a.Audit.Subject(w.ids["scripted"]))[:8]
		first := hex.EncodeToString(a.Audit.Subject(w.ids["person"]))[:8]
		prospectionID := strconv.FormatInt(w.users["prospection"].ID, 10)
		scenarios := []struct {
			name, query string
			rows        int // exact number of rows, or -1 for at least one
			every       []check
			none        []check
		}{
			{"no filter", "", -1, nil, nil},
			{"service=support shows only support's events", "service=support", -1,
				[]check{{colActor, "Agent support"}, {colActor, "Support client"}}, nil},
			{"action=create shows only creations", "action=create", -1, []check{{colAction, "création"}}, nil},
			{"action=read shows only reads", "action=read", -1, []check{{colAction, "consultation"}}, nil},
			{"acteur shows only that staff member", "acteur=" + prospectionID, -1, []check{{colActor, "Agent prospection"}}, nil},
			// The creation, its answer, and the three scripted reads.
			{"personne shows only that person's pseudonym", "personne={scripted}", 5,
				[]check{{colPseudo, scripted}}, []check{{colPseudo, first}}},
			{"filters combine", "service=support&action=read&personne={scripted}", 1,
				[]check{{colActor, "Agent support"}, {colAction, "consultation"}, {colPseudo, scripted}}, nil},
			{"today, in Paris", "du=" + today + "&au=" + today, -1, nil, nil},
			{"a period with no event", "du=2001-01-01&au=2001-01-31", 0, nil, nil},
		}
		for _, sc := range scenarios {
			res, body := w.request("GET", w.path("/audit?"+sc.query), "dpo", nil, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: status %d (%s), want 200", sc.name, res.StatusCode, heading(body))
				continue
			}
			rows := rowsOf(auditTable.FindString(body))
			if sc.rows >= 0 && len(rows) != sc.rows || sc.rows < 0 && len(rows) == 0 {
				t.Errorf("%s: %d rows, want %d", sc.name, len(rows), sc.rows)
			}
			if sc.rows == 0 && !strings.Contains(body, "Aucun événement ne correspond") {
				t.Errorf("%s: the empty state is missing", sc.name)
			}
			for i, row := range rows {
				if len(row) != 11 {
					t.Fatalf("%s: row %d has %d cells, want 11", sc.name, i, len(row))
				}
				for _, c := range sc.every {
					if !strings.Contains(row[c.col], c.text) {
						t.Errorf("%s: row %d, column %d lacks %q", sc.name, i, c.col, c.text)
					}
				}
				for _, c := range sc.none {
					if strings.Contains(row[c.col], c.text) {
						t.Errorf("%s: row %d, column %d has %q", sc.name, i, c.col, c.text)
					}
				}
			}
			if strings.Contains(sc.query, "personne") && !strings.Contains(body, "pseudonyme "+scripted+"…") {
				t.Errorf("%s: the person's abbreviated pseudonym is not stated", sc.name)
			}
			for _, s := range personalValues {
				if strings.Contains(body, s.text) {
					t.Errorf("%s: the journal shows %s", sc.name, s.what)
				}
			}
		}
	})
}

// TestR16_AuditFilterRefusesBadInput: each invalid parameter gets a 400 naming the field, and no
// event is listed or exported.
func TestR16_AuditFilterRefusesBadInput(t *testing.T) {
	scenarios := []struct{ query, field string }{
		{"personne=abc", "Personne"},
		{"personne=-3", "Personne"},
		{"personne=1.5", "Personne"},
		{"acteur=quelqu-un", "Acteur"},
		{"acteur=999999", "Acteur"},
		{"service=comptabilite", "Service"},
		{"action=delete", "Action"},
		{"du=2026-13-45", "Du"},
		{"au=demain", "Au"},
		{"du=2026-02-01&au=2026-01-01", "Au"},
	}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for _, sc := range scenarios {
			for _, path := range []string{"/audit?", "/audit.csv?"} {
				res, body := w.request("GET", path+sc.query, "dpo", nil, nil)
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("GET %s%s: status %d, want 400", path, sc.query, res.StatusCode)
					continue
				}
				if !regexp.MustCompile(`<a href="#f-[a-z]+">` + sc.field + `</a> : `).MatchString(body) {
					t.Errorf("GET %s%s: the message does not name the field %s", path, sc.query, sc.field)
				}
				if strings.Contains(body, `<table class="audit">`) || strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
					t.Errorf("GET %s%s: events were listed despite the error", path, sc.query)
				}
			}
		}
	})
}

// TestR16_AuditCSVExport: the export opens in a French spreadsheet (UTF-8 with BOM, semicolons,
// French header), holds the same events as the page with the full pseudonym and UTC times, and
// no personal value.
func TestR16_AuditCSVExport(t *testing.T) {
	header := []string{"Date et heure (UTC)", "Chaîne", "N°", "Acteur", "N° acteur", "Service", "Action",
		"Table", "Ligne", "Pseudonyme", "Champs", "Finalité", "Détail"}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newAuditWorld(t, a)
		scripted := hex.EncodeToString(a.Audit.Subject(w.ids["scripted"]))
		for _, sc := range []struct {
			query string
			rows  int // -1: as many as the page lists
		}{
			{"", -1},
			{"personne={scripted}", 5},
			{"service=support&action=read&personne={scripted}", 1},
		} {
			want := sc.rows
			if want < 0 {
				// Counted before the export: the export is itself recorded in the trail.
				_, page := w.request("GET", w.path("/audit?"+sc.query), "dpo", nil, nil)
				want = len(rowsOf(auditTable.FindString(page)))
			}
			res, body := w.request("GET", w.path("/audit.csv?"+sc.query), "dpo", nil, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("CSV %q: status %d (%s)", sc.query, res.StatusCode, heading(body))
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("CSV %q: Content-Type %q", sc.query, ct)
			}
			if cd := res.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename="journal-audit-\d{8}\.csv"$`).MatchString(cd) {
				t.Errorf("CSV %q: Content-Disposition %q", sc.query, cd)
			}
			rest, ok := strings.CutPrefix(body, "\ufeff")
			if !ok {
				t.Errorf("CSV %q: no UTF-8 byte order mark", sc.query)
			}
			r := csv.NewReader(strings.NewReader(rest))
			r.Comma = ';'
			records, err := r.ReadAll()
			if err != nil || len(records) == 0 {
				t.Fatalf("CSV %q: does not parse: %v", sc.query, err)
			}
			if !slices.Equal(records[0], header) {
				t.Errorf("CSV %q: header %q, want %q", sc.query, records[0], header)
			}
			if len(records)-1 != want {
				t.Errorf("CSV %q: %d rows, want %d", sc.query, len(records)-1, want)
			}
			for i, rec := range records[1:] {
				at, err := time.Parse(time.RFC3339, rec[0])
				if err != nil || !strings.HasSuffix(rec[0], "Z") || at.After(time.Now()) {
					t.Errorf("CSV %q: row %d: time %q is not RFC 3339 UTC", sc.query, i, rec[0])
				}
				if sc.query != "" && rec[9] != scripted {
					t.Errorf("CSV %q: row %d: the pseudonym is not the person's, in full", sc.query, i)
				}
			}
			for _, s := range personalValues {
				if strings.Contains(body, s.text) {
					t.Errorf("CSV %q contains %s", sc.query, s.what)
				}
			}
		}
	})
}

// TestR16_AuditJournalSaysWhenTheLimitIsReached: the page lists the 500 newest events and says
// so; the CSV carries them all, up to 10,000.
func TestR16_AuditJournalSaysWhenTheLimitIsReached(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		_, body := w.request("GET", "/audit", "dpo", nil, nil)
		before := len(rowsOf(auditTable.FindString(body)))
		events := make([]audit.Event, 520)
		for i := range events {
			events[i] = audit.Event{UserID: w.users["support"].ID, Department: "support", Action: audit.ActionRead,
				Table: "persons", RowID: w.ids["person"], Subject: a.Audit.Subject(w.ids["person"]), Fields: "email", Purpose: "support"}
		}
		if err := a.Audit.Append(context.Background(), events...); err != nil {
			t.Fatalf("append events: %v", err)
		}
		res, body := w.request("GET", "/audit", "dpo", nil, nil)
		if rows := rowsOf(auditTable.FindString(body)); res.StatusCode != http.StatusOK || len(rows) != 500 {
			t.Errorf("journal: status %d, %d rows, want 200 and 500", res.StatusCode, len(rows))
		}
		if !strings.Contains(body, "seuls les 500 plus récents sont affichés") {
			t.Error("the journal does not say that the limit was reached")
		}
		_, body = w.request("GET", "/audit.csv", "dpo", nil, nil)
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		r.Comma = ';'
		records, err := r.ReadAll()
		if err != nil || len(records)-1 != before+520 {
			t.Errorf("CSV: %d rows (%v), want %d", len(records)-1, err, before+520)
		}
	})
}
