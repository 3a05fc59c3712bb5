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
	"vigie/internal/auth"
	"vigie/internal/charter"
)

// The data-governance charter and the staff's training on the web (R43). Failures name the check
// and the page heading, never a value.

var charterHash = regexp.MustCompile(`name="version" value="([0-9a-f]{64})"`)

// acceptCharterIfAsked accepts, through the charter page, a version the user has not accepted
// yet: what a person does when the charter comes before their first page.
func (w *world) acceptCharterIfAsked(dept string, session *http.Cookie) {
	w.t.Helper()
	get := httptest.NewRequest("GET", "/charte", nil)
	get.AddCookie(session)
	res, page := w.serve(get)
	if res.StatusCode != http.StatusOK {
		w.t.Fatalf("login %s: charter page: status %d", dept, res.StatusCode)
	}
	m := charterHash.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="accepter-charte"`) {
		return
	}
	post := httptest.NewRequest("POST", "/charte", strings.NewReader(url.Values{"version": {m[1]}, "suivant": {"/"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(session)
	if res, _ := w.serve(post); res.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("login %s: accept the charter: status %d", dept, res.StatusCode)
	}
}

// newcomer adds a staff member who never signed in nor accepted the charter, signed in under the
// given name (name@vigie.test) like the world's departments.
func (w *world) newcomer(name, dept string) auth.User {
	w.t.Helper()
	u, err := w.a.Auth.CreateUser(context.Background(), name+"@vigie.test", "Nouvel agent", dept, testPassword)
	if err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	w.users[name] = u
	return u
}

// signInFirstTime goes through the password and the enrolment of the second factor in a browser
// of its own, and stops there: what comes next is the charter's.
func (w *world) signInFirstTime(name string) *browser {
	w.t.Helper()
	b := w.browser()
	if res := b.password(name, testPassword); !strings.HasPrefix(res.Header.Get("Location"), "/connexion/activation") {
		w.t.Fatalf("%s: sent to %q after the password, want the enrolment", name, res.Header.Get("Location"))
	}
	_, page := b.do("GET", "/connexion/activation?suivant=%2Ftickets", nil)
	secret, sealed := secretText.FindStringSubmatch(page), sealedSecret.FindStringSubmatch(page)
	if secret == nil || sealed == nil {
		w.t.Fatalf("%s: no enrolment page", name)
	}
	w.apps[name] = apptest.NewAuthenticator(secret[1])
	res, _ := b.do("POST", "/connexion/activation", url.Values{"secret": {sealed[1]}, "code": {w.apps[name].Code(w.t, time.Now())}, "suivant": {"/tickets"}})
	if res.StatusCode != http.StatusOK || b.jar["vigie_session"] == nil {
		w.t.Fatalf("%s: enrolment: status %d, want the recovery codes and a session", name, res.StatusCode)
	}
	return b
}

// TestR43_FirstSignInLeadsToTheCharter: once signed in, a newcomer is sent from every staff page
// (reads and writes alike) to the charter, shown without the menu, with its version and SHA-256;
// a forged, outdated or cross-site acceptance is refused and records nothing; the acceptance is
// recorded and audited and leads on to the page asked for; after that, pages open. A new version
// brings the charter back for everyone, its publisher included, saying that it changed.
func TestR43_FirstSignInLeadsToTheCharter(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		newcomer := w.newcomer("stagiaire", "support")
		b := w.signInFirstTime("stagiaire")
		w.login("devis") // signed in before the new version below
		cur, err := a.Charter.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ackedBy := "charter_acknowledgements WHERE user_id = " + strconv.FormatInt(newcomer.ID, 10)
		acks := func() int { return w.count(ackedBy) }
		persons := w.count("persons")
		accept := func(hash, next string) url.Values { return url.Values{"version": {hash}, "suivant": {next}} }
		steps := []struct {
			name, method, path string
			form               url.Values
			header             http.Header
			status             int
			location           string
			show, hide         []string
			acks               int
		}{
			{name: "the page asked for leads to the charter", method: "GET", path: "/tickets", status: 303, location: "/charte?suivant=%2Ftickets"},
			{name: "the home page leads to the charter", method: "GET", path: "/", status: 303, location: "/charte"},
			{name: "a write leads to the charter and writes nothing", method: "POST", path: "/tickets/nouveau",
				form: url.Values{"person_id": {w.path("{person}")}, "subject": {"Question"}}, status: 303, location: "/charte"},
			{name: "the DPO's page leads to the charter too", method: "GET", path: "/charte-et-formation", status: 303, location: "/charte?suivant=%2Fcharte-et-formation"},
			{name: "the charter page", method: "GET", path: "/charte?suivant=%2Ftickets", status: 200,
				show: []string{"<h1>Charte de gouvernance des données</h1>", "Avant votre première utilisation de Vigie", "Version " + charter.FirstVersion,
					cur.SHA256, "5. Demandes d'exercice des droits", "6. Violations de données", `<form method="post" action="/charte"`,
					`name="suivant" value="/tickets"`, `id="accepter-charte">J'ai lu et j'accepte la charte</button>`, "Se déconnecter"},
				hide: []string{`<nav class="menu"`, "<script"}},
			{name: "an acceptance from another site", method: "POST", path: "/charte", form: accept(cur.SHA256, "/tickets"),
				header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, status: 403, show: []string{"CSRF"}},
			{name: "an acceptance of a version that does not exist", method: "POST", path: "/charte", form: accept(strings.Repeat("a", 64), "/tickets"),
				status: 409, show: []string{"cette version de la charte n'existe pas", `id="accepter-charte"`}},
			{name: "the acceptance", method: "POST", path: "/charte", form: accept(cur.SHA256, "/tickets"),
				header: http.Header{"Sec-Fetch-Site": {"same-origin"}}, status: 303, location: "/tickets", acks: 1},
			{name: "accepting again records nothing more", method: "POST", path: "/charte", form: accept(cur.SHA256, "https://ailleurs.example/"),
				status: 303, location: "/", acks: 1},
			{name: "pages open", method: "GET", path: "/tickets", status: 200, acks: 1, show: []string{`<nav class="menu"`}},
			{name: "the charter says when it was accepted", method: "GET", path: "/charte", status: 200, acks: 1,
				show: []string{"Vous avez accepté cette version de la charte le"}, hide: []string{`id="accepter-charte"`}},
			{name: "staff other than the DPO and IT do not follow the charter", method: "GET", path: "/charte-et-formation", status: 403, acks: 1,
				show: []string{"tenu par le DPO et l'administration informatique"}},
		}
		for _, st := range steps {
			var body *strings.Reader
			if st.form != nil {
				body = strings.NewReader(st.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(st.method, st.path, body)
			if st.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for k, v := range st.header {
				req.Header[k] = v
			}
			for _, c := range b.jar {
				req.AddCookie(c)
			}
			res, page := w.serve(req)
			if res.StatusCode != st.status || res.Header.Get("Location") != st.location {
				t.Errorf("%s: %d to %q (%s), want %d to %q", st.name, res.StatusCode, res.Header.Get("Location"), heading(page), st.status, st.location)
			}
			for _, s := range st.show {
				if !strings.Contains(page, s) {
					t.Errorf("%s: the page lacks %q", st.name, s)
				}
			}
			for _, s := range st.hide {
				if strings.Contains(page, s) {
					t.Errorf("%s: the page shows %q", st.name, s)
				}
			}
			if n := acks(); n != st.acks {
				t.Errorf("%s: %d acceptances recorded, want %d", st.name, n, st.acks)
			}
		}
		if w.count("persons") != persons || w.count("tickets") != 1 {
			t.Errorf("a write went through before the charter was accepted")
		}
		if n := w.count("audit_events WHERE action = 'charter_acknowledge' AND user_id = " + strconv.FormatInt(newcomer.ID, 10) +
			" AND department = 'support' AND detail LIKE '%" + cur.SHA256 + "%'"); n != 1 {
			t.Errorf("%d audit events for the acceptance, want 1", n)
		}

		// The DPO publishes a new version: everyone accepts it again, the DPO first.
		newText := cur.Body + "\n10. Télétravail\nLes règles de cette charte valent aussi en télétravail : écran à l'abri des regards, aucune impression à domicile.\n"
		res, page := w.request("POST", "/charte-et-formation/versions", "dpo", url.Values{"version": {"1.1"}, "body": {newText}}, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/charte-et-formation?fait=version") {
			t.Fatalf("publish: %d (%s)", res.StatusCode, heading(page))
		}
		for _, dept := range []string{"dpo", "devis"} {
			if res, _ := w.request("GET", "/personnes", dept, nil, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/charte?suivant=%2Fpersonnes" {
				t.Errorf("%s after a new version: %d to %q, want the charter", dept, res.StatusCode, res.Header.Get("Location"))
			}
		}
		req := httptest.NewRequest("GET", "/charte", nil)
		for _, c := range b.jar {
			req.AddCookie(c)
		}
		if _, page := w.serve(req); !strings.Contains(page, "La charte a changé depuis la version 1.0 que vous avez acceptée") ||
			!strings.Contains(page, "10. Télétravail") || !strings.Contains(page, charter.Hash(charter.Normalise(newText))) {
			t.Errorf("the charter page does not say it changed, or does not show the new text and its hash")
		}
		// The old version shown before the publication is no longer accepted in its place.
		req = httptest.NewRequest("POST", "/charte", strings.NewReader(accept(cur.SHA256, "/tickets").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range b.jar {
			req.AddCookie(c)
		}
		if res, page := w.serve(req); res.StatusCode != http.StatusConflict || !strings.Contains(page, "une nouvelle version de la charte a été publiée") {
			t.Errorf("accepting the old version: %d, want 409 saying a new one was published", res.StatusCode)
		}
		// A new sign-in accepts it through the page (world.signIn), and pages open again.
		delete(w.cookies, "devis")
		if res, _ := w.request("GET", "/personnes", "devis", nil, nil); res.StatusCode != http.StatusOK {
			t.Errorf("devis after accepting the new version: %d", res.StatusCode)
		}
	})
}

// TestR43_CharterAndTrainingPage: the DPO and IT administration follow who accepted the charter
// and who holds each mandatory module; a training is recorded from the page, and an unknown
// member, an unknown module or a future day is refused beside its field and writes nothing; a new
// version too short or with a label already used is refused the same way.
func TestR43_CharterAndTrainingPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		today := time.Now().Format("2006-01-02")
		rows := func(table string, want int) func() string {
			return func() string {
				if n := w.count(table); n != want {
					return table + " has " + strconv.Itoa(n) + " rows, want " + strconv.Itoa(want)
				}
				return ""
			}
		}
		training := func(email, module, day string) url.Values {
			return url.Values{"email": {email}, "module": {module}, "date": {day}}
		}
		scenarios := []struct {
			name, dept, method, path string
			form                     url.Values
			status                   int
			location                 string
			show, hide               []string
			check                    func() string
		}{
			{name: "the DPO sees who is missing", dept: "dpo", method: "GET", path: "/charte-et-formation", status: 200,
				show: []string{"<h1>Charte et formation</h1>", `href="/charte-et-formation" aria-current="page">Charte et formation`,
					"acceptée par <strong>7</strong> sur 7", "formations obligatoires à jour : <strong>0</strong> sur 7",
					"7 membre(s) du personnel à relancer", "prospection@vigie.test", "Agent devis", "manquant", "non obligatoire",
					"Les fondamentaux du RGPD", "Prospection et consentement", `action="/charte-et-formation/formations"`,
					`action="/charte-et-formation/versions"`, "(en vigueur)"},
				hide: []string{"<script"}},
			{name: "IT administration sees it too", dept: "admin", method: "GET", path: "/charte-et-formation", status: 200},
			{name: "the quotes department does not", dept: "devis", method: "GET", path: "/charte-et-formation", status: 403,
				hide: []string{"Charte et formation</a>"}},
			{name: "support may not record a training", dept: "support", method: "POST", path: "/charte-et-formation/formations",
				form: training("support@vigie.test", "violations", today), status: 403, check: rows("training_completions", 0)},
			{name: "an unknown member is refused", dept: "dpo", method: "POST", path: "/charte-et-formation/formations",
				form: training("inconnu@vigie.test", "violations", today), status: 400,
				show:  []string{"La formation n'a pas été inscrite", `<p class="error" id="f-training-email-erreur">aucun membre du personnel n'a cette adresse e-mail</p>`},
				check: rows("training_completions", 0)},
			{name: "an unknown module is refused", dept: "dpo", method: "POST", path: "/charte-et-formation/formations",
				form: training("devis@vigie.test", "cybersecurite", today), status: 400,
				show: []string{`<p class="error" id="f-training-module-erreur">module inconnu`}, check: rows("training_completions", 0)},
			{name: "a future day is refused", dept: "dpo", method: "POST", path: "/charte-et-formation/formations",
				form: training("devis@vigie.test", "violations", time.Now().AddDate(0, 1, 0).Format("2006-01-02")), status: 400,
				show:  []string{`<p class="error" id="f-training-date-erreur">la date de la formation ne peut pas être dans le futur</p>`},
				check: rows("training_completions", 0)},
			{name: "a training is recorded", dept: "admin", method: "POST", path: "/charte-et-formation/formations",
				form: training("devis@vigie.test", "violations", today), status: 303, location: "/charte-et-formation",
				check: rows("training_completions WHERE module = 'violations' AND recorded_by = "+strconv.FormatInt(w.users["admin"].ID, 10), 1)},
			{name: "the page shows it", dept: "dpo", method: "GET", path: "/charte-et-formation?fait=formation", status: 200,
				show: []string{"Formation inscrite.", "<td>" + time.Now().Format("02/01/2006") + "</td>"}},
			{name: "a version too short is refused", dept: "dpo", method: "POST", path: "/charte-et-formation/versions",
				form: url.Values{"version": {"2"}, "body": {"Soyez prudents."}}, status: 400,
				show:  []string{"La nouvelle version n'a pas été publiée", `<p class="error" id="f-charter-body-erreur">le texte de la charte est trop court`},
				check: rows("charter_versions", 1)},
			{name: "a label already used is refused", dept: "dpo", method: "POST", path: "/charte-et-formation/versions",
				form: url.Values{"version": {charter.FirstVersion}, "body": {charter.FirstBody() + "\nAjout.\n"}}, status: 400,
				show:  []string{`<p class="error" id="f-charter-version-erreur">ce libellé est déjà celui d'une version publiée`},
				check: rows("charter_versions", 1)},
			{name: "the quotes department may not publish", dept: "devis", method: "POST", path: "/charte-et-formation/versions",
				form: url.Values{"version": {"2"}, "body": {charter.FirstBody() + "\nAjout.\n"}}, status: 403, check: rows("charter_versions", 1)},
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
	})
}

// TestR43_BrowserFirstSignInAcceptsTheCharter drives Chromium through a newcomer's first sign-in:
// password, second factor, recovery codes, then the charter instead of the page asked for; the
// button records the acceptance and opens that page, with the menu.
func TestR43_BrowserFirstSignInAcceptsTheCharter(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	newcomer := w.newcomer("stagiaire", "support")
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	ctx := startBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/tickets"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "stagiaire@vigie.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/connexion"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#secret")))
	if err != nil {
		t.Fatalf("read the secret: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), apptest.NewAuthenticator(secret).Code(t, time.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/connexion/activation"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#codes-de-secours")),
		chromedp.Click(chromedp.CSS("#continuer")),
		chromedp.WaitVisible(chromedp.CSS("#accepter-charte")),
	)
	if err != nil {
		t.Fatalf("enrol, then the charter: %v", err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Charte de gouvernance des données", "Avant votre première utilisation de Vigie", "empreinte SHA-256",
		"3. Aucune donnée sensible dans les champs libres", "8. Poste de travail et bureau propre"} {
		if !strings.Contains(page, want) {
			t.Errorf("the charter page lacks %q", want)
		}
	}
	if menus, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("nav.menu").length`)); err != nil || menus != 0 {
		t.Errorf("the charter page shows the menu before the acceptance (%v)", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/charte?suivant=%2Ftickets") {
		t.Errorf("at %s, want the charter, then the tickets", strings.TrimPrefix(loc, srv.URL))
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#accepter-charte")), chromedp.WaitVisible(chromedp.CSS("nav.menu"))); err != nil {
		t.Fatalf("accept the charter: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.TrimPrefix(loc, srv.URL) != "/tickets" {
		t.Errorf("after the acceptance: at %s, want /tickets", strings.TrimPrefix(loc, srv.URL))
	}
	if n := w.count("charter_acknowledgements WHERE user_id = " + strconv.FormatInt(newcomer.ID, 10)); n != 1 {
		t.Errorf("%d acceptances recorded, want 1", n)
	}
}
