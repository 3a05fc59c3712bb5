package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

// The DPO's breach pages (R39, R40). Failures name the scenario and the page heading, never a
// value: only the letters page shows a person's name, and the tests only check it is there.

var paris, _ = time.LoadLocation("Europe/Paris")

// breachForm is a complete high-risk breach as the form sends it, aware at the given time.
func breachForm(aware time.Time) url.Values {
	return url.Values{
		"title": {"Export des contrats envoyé au mauvais destinataire"}, "nature": {"confidentiality"}, "origin": {"wrong_recipient"},
		"cause": {"internal_accidental"}, "description": {"Un export des contrats a été envoyé par erreur à un partenaire."},
		"aware_at":     {aware.In(paris).Format("2006-01-02T15:04")},
		"scope_table":  {"contracts"},
		"consequences": {"Hameçonnage ciblé à partir des numéros de contrat."}, "measures_taken": {"Suppression confirmée par écrit."},
		"advice": {"Méfiez-vous des appels demandant vos coordonnées bancaires."},
		"risk":   {"high"}, "risk_reason": {"Identité et contrats en clair : risque élevé d'hameçonnage."},
	}
}

// TestR39_R40_BreachPagesScenarios: only the DPO opens the register; a breach without its
// awareness time is refused beside the field and writes nothing; a recorded breach shows its
// clock on its page, in the list and on the DPO's home page, with both drafts; a notification
// dated before awareness is refused beside its field; a valid one stops the clock; the letters
// are addressed to the person found, and their reading is recorded.
func TestR39_R40_BreachPagesScenarios(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		aware := time.Now().Add(-5 * time.Hour)
		rows := func(table string, want int) func() string {
			return func() string {
				if n := w.count(table); n != want {
					return table + " has " + strconv.Itoa(n) + " rows, want " + strconv.Itoa(want)
				}
				return ""
			}
		}
		noAware := breachForm(aware)
		noAware.Del("aware_at")
		noRisk := breachForm(aware)
		noRisk.Set("risk", "")
		type scenario struct {
			name, dept, method, path string
			form                     url.Values
			status                   int
			location                 string
			show, hide               []string
			check                    func() string
		}
		run := func(scenarios []scenario) {
			for _, sc := range scenarios {
				res, body := w.request(sc.method, w.path(sc.path), sc.dept, sc.form, nil)
				if res.StatusCode != sc.status {
					t.Errorf("%s: status %d (%s), want %d", sc.name, res.StatusCode, heading(body), sc.status)
					continue
				}
				if loc := res.Header.Get("Location"); sc.location != "" && !strings.HasPrefix(loc, w.path(sc.location)) {
					t.Errorf("%s: sent to %s, want %s", sc.name, loc, sc.location)
				}
				for _, s := range sc.show {
					if !strings.Contains(body, w.path(s)) {
						t.Errorf("%s: the page lacks %q", sc.name, s)
					}
				}
				for _, s := range sc.hide {
					if strings.Contains(body, s) {
						t.Errorf("%s: the page shows %q", sc.name, s)
					}
				}
				if sc.check != nil {
					if msg := sc.check(); msg != "" {
						t.Errorf("%s: %s", sc.name, msg)
					}
				}
			}
		}
		run([]scenario{
			{name: "the DPO sees the empty register", dept: "dpo", method: "GET", path: "/violations", status: 200,
				show: []string{"<h1>Violations de données</h1>", "Aucune violation inscrite", `href="/violations" aria-current="page">Violations de données`,
					"Aucun délai de notification en cours", `href="/violations/nouvelle"`}},
			{name: "the form asks the awareness time", dept: "dpo", method: "GET", path: "/violations/nouvelle", status: 200,
				show: []string{`name="aware_at"`, `type="datetime-local"`, `name="nature" value="confidentiality"`, `name="scope_table"`, `name="risk_reason"`}},
			{name: "support is refused the register", dept: "support", method: "GET", path: "/violations", status: 403,
				show: []string{"tenu par le DPO"}, hide: []string{"Violations de données</a>"}},
			{name: "admin is refused the form", dept: "admin", method: "GET", path: "/violations/nouvelle", status: 403},
			{name: "contracts may not record a breach", dept: "contrats", method: "POST", path: "/violations/nouvelle", form: breachForm(aware),
				status: 403, check: rows("breaches", 0)},
			{name: "a breach without awareness time is refused beside the field", dept: "dpo", method: "POST", path: "/violations/nouvelle",
				form: noAware, status: 400,
				show: []string{"Rien n'a été enregistré", `<a href="#f-aware_at">Prise de connaissance</a>`, `aria-invalid="true"`,
					`<p class="error" id="f-aware_at-erreur">l'heure de prise de connaissance est obligatoire`, `value="Export des contrats`},
				check: rows("breaches", 0)},
			{name: "a breach without a risk level is refused", dept: "dpo", method: "POST", path: "/violations/nouvelle", form: noRisk, status: 400,
				show: []string{`<p class="error" id="f-risk-erreur">le niveau de risque : obligatoire`}, check: rows("breaches", 0)},
			{name: "a valid breach is recorded", dept: "dpo", method: "POST", path: "/violations/nouvelle", form: breachForm(aware), status: 303,
				location: "/violations/", check: rows("breaches", 1)},
		})
		var id int64
		if err := a.DB.QueryRowContext(context.Background(), `SELECT id FROM breaches`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.ids["breach"] = id
		before := aware.Add(-time.Hour).In(paris).Format("2006-01-02T15:04")
		sent := time.Now().Add(-time.Minute).In(paris).Format("2006-01-02T15:04")
		notify := func(at string) url.Values {
			return url.Values{"recipient": {"cnil"}, "phase": {"initial"}, "channel": {"teleservice"}, "sent_at": {at}, "reference": {"N-7"}}
		}
		run([]scenario{
			{name: "the breach's page shows its clock and both drafts", dept: "dpo", method: "GET", path: "/violations/{breach}?fait=inscrite", status: 200,
				show: []string{"Violation inscrite au registre", `id="horloge"`, "reste 6", "Projet de notification à la CNIL",
					"Notification initiale", "3. Chronologie", "Nombre approximatif de personnes concernées : 1", `href="/violations/{breach}/notification-cnil.txt"`,
					"Courrier aux personnes concernées", "Madame, Monsieur,", "Méfiez-vous des appels", `href="/violations/{breach}/courriers"`,
					"personnes à informer sans délai", `<strong id="trouvees">1 personne(s)</strong>`},
				hide: []string{lastName, email}},
			{name: "the list shows the clock", dept: "dpo", method: "GET", path: "/violations", status: 200,
				show: []string{"1 délai(s) de notification en cours", `<a href="/violations/{breach}">Export des contrats`, "reste 6"}},
			{name: "the DPO's home page shows the clock", dept: "dpo", method: "GET", path: "/", status: 200,
				show: []string{`id="violations-en-cours"`, "reste 6"}},
			{name: "another department's home page does not", dept: "contrats", method: "GET", path: "/", status: 200,
				hide: []string{"violations-en-cours"}},
			{name: "support may not read the breach", dept: "support", method: "GET", path: "/violations/{breach}", status: 403},
			{name: "an unknown breach", dept: "dpo", method: "GET", path: "/violations/987654", status: 404},
			{name: "a notification dated before awareness is refused beside the field", dept: "dpo", method: "POST",
				path: "/violations/{breach}/notifications", form: notify(before), status: 400,
				show:  []string{"La notification n'a pas été inscrite", `<p class="error" id="f-sent_at-erreur">une notification ne peut pas être datée d'avant la prise de connaissance`},
				check: rows("breach_notifications", 0)},
			{name: "a valid notification is recorded", dept: "dpo", method: "POST", path: "/violations/{breach}/notifications", form: notify(sent),
				status: 303, location: "/violations/{breach}", check: rows("breach_notifications", 1)},
			{name: "the clock stops", dept: "dpo", method: "GET", path: "/violations/{breach}", status: 200,
				show: []string{"notifiée à la CNIL le", "dans le délai", "N-7", "Notification complémentaire"}},
			{name: "the update of the measures is recorded", dept: "dpo", method: "POST", path: "/violations/{breach}/modifier",
				form: url.Values{"consequences": {"Hameçonnage ciblé à partir des numéros de contrat."}, "measures_taken": {"Suppression confirmée par écrit."},
					"measures_proposed": {"Double validation des envois d'exports."}, "risk": {"high"},
					"risk_reason": {"Identité et contrats en clair : risque élevé d'hameçonnage."}},
				status: 303, location: "/violations/{breach}"},
			{name: "a bad update is refused and changes nothing", dept: "dpo", method: "POST", path: "/violations/{breach}/modifier",
				form: url.Values{"consequences": {"court"}, "measures_taken": {"Suppression confirmée par écrit."}, "risk": {"high"},
					"risk_reason": {"Identité et contrats en clair : risque élevé d'hameçonnage."}},
				status: 400, show: []string{"La violation n'a pas été mise à jour", `id="f-consequences-erreur"`, "Double validation des envois"}},
		})

		// The drafts: the CNIL text to download, the letters addressed to the person found.
		res, body := w.request("GET", w.path("/violations/{breach}/notification-cnil.txt"), "dpo", nil, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(body, "PROJET DE NOTIFICATION À LA CNIL") {
			t.Errorf("the CNIL draft download: status %d", res.StatusCode)
		}
		res, body = w.request("GET", w.path("/violations/{breach}/courriers"), "dpo", nil, nil)
		if res.StatusCode != 200 || strings.Count(body, `<article class="letter"`) != 1 || !strings.Contains(body, lastName) ||
			!strings.Contains(body, "Objet : violation de données personnelles vous concernant") {
			t.Errorf("the letters: status %d (%s), %d letters", res.StatusCode, heading(body), strings.Count(body, `<article class="letter"`))
		}
		if res, _ := w.request("GET", w.path("/violations/{breach}/courriers"), "contrats", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the contracts department reads the letters: %d", res.StatusCode)
		}
		if err := a.Audit.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := w.count("audit_events WHERE table_name = 'persons' AND detail LIKE 'breach=%letter'"); n != 1 {
			t.Errorf("%d readings recorded for the letters, want 1", n)
		}
		if n := w.count("audit_events WHERE table_name = 'breaches' AND action = 'export'"); n != 1 {
			t.Errorf("%d productions of the CNIL draft recorded, want 1", n)
		}
		if regexp.MustCompile(`reste -`).MatchString(body) {
			t.Error("a negative time left is shown")
		}
	})
}

// TestR39_OnlyTheDPOOpensTheBreachRegister: every department but those the dictionary lets read
// the register is refused its pages, and does not see it in the menu.
func TestR39_OnlyTheDPOOpensTheBreachRegister(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	for _, d := range a.Dict.Departments {
		allowed := false
		for _, code := range a.Dict.Table("breaches").Read {
			allowed = allowed || code == d.Code
		}
		for _, path := range []string{"/violations", "/violations/nouvelle", "/violations/1", "/violations/1/courriers"} {
			want := http.StatusForbidden
			if allowed {
				want = http.StatusOK
				if path != "/violations" && path != "/violations/nouvelle" {
					want = http.StatusNotFound // no breach recorded
				}
			}
			if res, body := w.request("GET", path, d.Code, nil, nil); res.StatusCode != want {
				t.Errorf("%s GET %s: %d (%s), want %d", d.Code, path, res.StatusCode, heading(body), want)
			}
		}
		if _, body := w.request("GET", "/", d.Code, nil, nil); strings.Contains(body, `href="/violations"`) != allowed {
			t.Errorf("%s: the menu link to the register is shown %v, want %v", d.Code, !allowed, allowed)
		}
	}
}
