package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/demo"
)

// The DPO's lifecycle page (R33–R36). Failures name the check and the page heading, never a
// value: the page itself shows only counts and numbers.

const holdReason = "Contentieux prud'homal en cours : conserver le dossier du client"

// TestR33_R36_LifecyclePageScenarios: only the DPO opens the lifecycle page, which shows what is
// due, the chart, the rules, the runs and the holds; a rule change out of range is refused beside
// its field and changes nothing; a hold with a too short reason is refused and writes nothing; a
// valid hold is listed without its reason and can be lifted; a simulated run shows its summary.
func TestR33_R36_LifecyclePageScenarios(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		until := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
		holdForm := func(reason string) url.Values {
			return url.Values{"person_id": {w.path("{person}")}, "ends_at": {until}, "reason": {reason}}
		}
		legalHold := func() bool {
			var held bool
			if err := a.DB.QueryRowContext(context.Background(), `SELECT legal_hold FROM persons WHERE id = $1`, w.ids["person"]).Scan(&held); err != nil {
				t.Fatal(err)
			}
			return held
		}
		rows := func(table string, want int) func() string {
			return func() string {
				if n := w.count(table); n != want {
					return table + " has " + strconv.Itoa(n) + " rows, want " + strconv.Itoa(want)
				}
				return ""
			}
		}
		scenarios := []struct {
			name, dept, method, path string
			form                     url.Values
			status                   int
			location                 string // the redirect's target, up to its query
			show, hide               []string
			check                    func() string
		}{
			{name: "the DPO sees the page", dept: "dpo", method: "GET", path: "/cycle-de-vie", status: 200,
				show: []string{"<h1>Cycle de vie des données</h1>", `id="retard"`, "Rien en retard", "<svg", "<title id=\"graphique-titre\">",
					"<desc id=\"graphique-desc\">", "Prospects sans contact", "Contrats et leurs documents", "CNIL NS-048 art. 5",
					`action="/cycle-de-vie/regles"`, "Simuler un passage", "Lancer un passage", `action="/cycle-de-vie/gels"`, "Aucun gel.",
					`href="/cycle-de-vie" aria-current="page">Cycle de vie`},
				hide: []string{"<script", "http://", "https://"}},
			{name: "prospection is refused", dept: "prospection", method: "GET", path: "/cycle-de-vie", status: 403,
				show: []string{"piloté par le DPO"}, hide: []string{"Cycle de vie</a>"}},
			{name: "contracts are refused", dept: "contrats", method: "GET", path: "/cycle-de-vie", status: 403},
			{name: "admin is refused", dept: "admin", method: "GET", path: "/cycle-de-vie", status: 403},
			{name: "admin may not launch a run", dept: "admin", method: "POST", path: "/cycle-de-vie/passage",
				form: url.Values{"dry_run": {"non"}}, status: 403, check: rows("lifecycle_runs", 0)},
			{name: "support may not place a hold", dept: "support", method: "POST", path: "/cycle-de-vie/gels",
				form: holdForm(holdReason), status: 403, check: rows("legal_holds", 0)},

			{name: "a duration of -1 month is refused beside the field", dept: "dpo", method: "POST", path: "/cycle-de-vie/regles",
				form:   url.Values{"code": {"prospect"}, "months": {"-1"}, "action": {"delete"}, "reason": {"Nouvelle recommandation de la CNIL"}},
				status: 400,
				show: []string{"La règle n'a pas été modifiée", `<details class="rule-change" id="modifier-prospect" open>`, `<a href="#f-prospect-months">`,
					`id="f-prospect-months" name="months" value="-1"`, `aria-invalid="true" aria-describedby="f-prospect-months-erreur"`,
					`<p class="error" id="f-prospect-months-erreur">la durée doit être un nombre entier de mois entre 1 et 360</p>`},
				check: rows("retention_rules", 0)},
			{name: "a rule change without its reason is refused", dept: "dpo", method: "POST", path: "/cycle-de-vie/regles",
				form:   url.Values{"code": {"quote_no_contract"}, "months": {"12"}, "action": {"delete"}, "reason": {"court"}},
				status: 400, show: []string{`<p class="error" id="f-quote_no_contract-reason-erreur">le motif du changement est obligatoire`},
				check: rows("retention_rules", 0)},
			{name: "a hold with a too short reason is refused", dept: "dpo", method: "POST", path: "/cycle-de-vie/gels",
				form: holdForm("litige"), status: 400,
				show: []string{"Le gel n'a pas été posé", `<p class="error" id="f-hold-reason-erreur">le motif du gel est obligatoire`},
				check: func() string {
					if msg := rows("legal_holds", 0)(); msg != "" {
						return msg
					}
					if legalHold() {
						return "the person is flagged as held"
					}
					return ""
				}},
			{name: "a hold on an unknown person is refused", dept: "dpo", method: "POST", path: "/cycle-de-vie/gels",
				form:   url.Values{"person_id": {"999999"}, "ends_at": {until}, "reason": {holdReason}},
				status: 400, show: []string{`<p class="error" id="f-hold-person-erreur">aucune personne ne porte ce numéro`},
				check: rows("legal_holds", 0)},
			{name: "a valid hold is placed", dept: "dpo", method: "POST", path: "/cycle-de-vie/gels", form: holdForm(holdReason),
				status: 303, location: "/cycle-de-vie",
				check: func() string {
					if msg := rows("legal_holds", 1)(); msg != "" {
						return msg
					}
					if !legalHold() {
						return "the person is not flagged as held"
					}
					return ""
				}},
			{name: "the hold is listed, without its reason", dept: "dpo", method: "GET", path: "/cycle-de-vie?fait=gel", status: 200,
				show: []string{"Gel posé", w.path(`<a href="/personnes/{person}">n° {person}</a>`), "en cours", "Lever le gel n°"},
				hide: []string{holdReason, "Aucun gel."}},
			{name: "a simulated run shows its summary", dept: "dpo", method: "POST", path: "/cycle-de-vie/passage",
				form: url.Values{"dry_run": {"oui"}}, status: 303, location: "/cycle-de-vie", check: rows("lifecycle_runs", 1)},
		}
		for _, sc := range scenarios {
			res, body := w.request(sc.method, sc.path, sc.dept, sc.form, nil)
			if res.StatusCode != sc.status {
				t.Errorf("%s: status %d (%s), want %d", sc.name, res.StatusCode, heading(body), sc.status)
				continue
			}
			if loc := res.Header.Get("Location"); sc.location != "" && !strings.HasPrefix(loc, sc.location+"?") {
				t.Errorf("%s: sent to %s, want %s", sc.name, loc, sc.location)
			}
			for _, s := range sc.show {
				if !strings.Contains(body, s) {
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

		// The simulation's summary follows the redirect; then the hold is lifted.
		res, _ := w.request("POST", "/cycle-de-vie/passage", "dpo", url.Values{"dry_run": {"oui"}}, nil)
		target, _, _ := strings.Cut(res.Header.Get("Location"), "#")
		_, body := w.request("GET", target, "dpo", nil, nil)
		for _, want := range []string{`<section id="passage"`, "Simulation n°", "rien n'a été modifié", "en retard à la fin"} {
			if !strings.Contains(body, want) {
				t.Errorf("the simulation's summary lacks %q", want)
			}
		}
		lift := regexp.MustCompile(`action="(/cycle-de-vie/gels/[0-9]+/lever)"`).FindStringSubmatch(body)
		if lift == nil {
			t.Fatal("no button lifts the hold")
		}
		if res, body := w.request("POST", lift[1], "dpo", url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("lift the hold: status %d (%s)", res.StatusCode, heading(body))
		}
		if legalHold() {
			t.Error("the person is still flagged as held after the lift")
		}
		if res, body := w.request("POST", lift[1], "dpo", url.Values{}, nil); res.StatusCode != http.StatusConflict || !strings.Contains(body, "aucun gel en cours ne porte ce numéro") {
			t.Errorf("lift the hold twice: status %d (%s), want 409 saying so", res.StatusCode, heading(body))
		}
		if _, body := w.request("GET", "/cycle-de-vie", "dpo", nil, nil); !strings.Contains(body, "levé le") || strings.Contains(body, "Lever le gel n°") {
			t.Error("the lifted hold is not shown as lifted")
		}
	})
}

// TestR33_R35_BrowserLifecycleRun: on demo data, the DPO opens the lifecycle page in a real
// browser, sees records overdue, simulates a run (nothing changes, the summary says what a run
// would do), then launches a real one, after which the banner reads « Rien en retard ».
func TestR33_R35_BrowserLifecycleRun(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	if _, err := demo.Generate(context.Background(), a, demo.Options{Persons: 150, Seed: 11}); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	dpo := startBrowser(t)
	browserLogin(t, dpo, srv.URL, "dpo")

	text := func(what, sel string) string {
		t.Helper()
		s, err := chromedp.Run(dpo, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		return s
	}
	err := chromedp.Do(dpo,
		chromedp.Click(chromedp.CSS(`nav.menu a[href="/cycle-de-vie"]`)),
		chromedp.WaitVisible(chromedp.CSS("#retard")),
	)
	if err != nil {
		t.Fatalf("open the lifecycle page from the menu: %v", err)
	}
	if banner := text("the banner", "#retard"); !strings.Contains(banner, "en retard") || strings.Contains(banner, "Rien en retard") {
		t.Fatalf("on demo data the banner should count overdue records, it reads %q", banner)
	}
	if n, err := chromedp.Run(dpo, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg rect").length`)); err != nil || n < 6 {
		t.Errorf("the chart has %d bars (err %v)", n, err)
	}
	persons := w.count("persons")

	// A simulation changes nothing and says what a run would do.
	submit := func(what, button string) {
		t.Helper()
		// The click waits for the page the redirect leads to, not for the summary already shown.
		res, err := chromedp.RunResponse(dpo, chromedp.Click(chromedp.CSS(button)))
		if err == nil && res.Status != http.StatusOK {
			t.Fatalf("%s: status %d", what, res.Status)
		}
		if err == nil {
			err = chromedp.Do(dpo, chromedp.WaitVisible(chromedp.CSS("#passage")))
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	submit("simulate a run", "#simuler")
	summary := text("the simulation's summary", "#passage")
	for _, want := range []string{"Simulation n°", "rien n'a été modifié", "Total :"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the simulation's summary lacks %q", want)
		}
	}
	if n := w.count("persons"); n != persons {
		t.Errorf("the simulation changed the persons: %d, was %d", n, persons)
	}
	if banner := text("the banner", "#retard"); strings.Contains(banner, "Rien en retard") {
		t.Error("after a simulation, the banner should still count overdue records")
	}

	// A real run applies the rules: nothing is overdue any more.
	submit("launch a run", "#lancer")
	summary = text("the run's summary", "#passage")
	if !strings.Contains(summary, "Passage n°") || !strings.Contains(summary, "terminé") || !strings.Contains(summary, "en retard à la fin : 0") {
		t.Errorf("the run's summary does not show a finished run with nothing overdue at its end: %q", summary)
	}
	if banner := text("the banner", "#retard"); !strings.Contains(banner, "Rien en retard") {
		t.Errorf("after the run, the banner reads %q, want « Rien en retard »", banner)
	}
	if n := w.count("persons"); n >= persons {
		t.Errorf("the run removed no person (%d, was %d)", n, persons)
	}
	if runs := text("the runs", "#passages tbody"); strings.Count(runs, "terminé") != 2 {
		t.Errorf("the runs table should list the simulation and the run as finished")
	}
}
