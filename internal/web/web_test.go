package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/web"
)

// The test data is fake but treated as personal: failures name the check, never the value, and
// no page body is ever logged.

const testPassword = "Cheval-Correct-Batterie-42"

// Seeded values, by what they are.
const (
	firstName     = "Camille"
	lastName      = "Durand-Testeur"
	email         = "camille.durand@exemple.fr"
	birthDate     = "14/03/1985"
	vehicleMake   = "Peugeot"
	policyNumber  = "POL-2026-0042"
	annualPremium = "640,00"
	prospectNote  = "Rappeler en mars pour une offre"
	supportNote   = "Attestation renvoyée par e-mail"
	ticketSubject = "Attestation introuvable"
)

// world is one user per department, a person with a quote, a contract, a ticket and two
// interactions of different purposes, and the web handler.
type world struct {
	t       *testing.T
	a       *app.App
	h       http.Handler
	users   map[string]auth.User
	ids     map[string]int64
	cookies map[string]string
	// apps are the departments' authenticator applications, once enrolled (R14).
	apps map[string]*apptest.Authenticator
}

func newWorld(t *testing.T, a *app.App) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, a: a, users: map[string]auth.User{}, ids: map[string]int64{}, cookies: map[string]string{}, apps: map[string]*apptest.Authenticator{}}
	for _, d := range a.Dict.Departments {
		u, err := a.Auth.CreateUser(ctx, d.Code+"@vigie.test", "Agent "+d.Code, d.Code, testPassword)
		if err != nil {
			t.Fatalf("create user %s: %v", d.Code, err)
		}
		w.users[d.Code] = u
	}
	// The world's staff accepted the charter in force before the test (R43); a first acceptance
	// through the pages is charter_test.go's.
	for _, u := range w.users {
		apptest.AcceptCharter(t, a, u)
	}
	create := func(name, dept, table string, text map[string]string) {
		t.Helper()
		rec, err := a.Records.Create(ctx, a.Auth.Actor(w.users[dept]), table, record.Input{Text: text, Channel: "phone"})
		if err != nil {
			t.Fatalf("seed %s: %v", name, err) // store errors name fields and rules, never values
		}
		w.ids[name] = rec.ID
	}
	create("person", "devis", "persons", map[string]string{
		"first_name": firstName, "last_name": lastName, "email": email, "phone": "06 12 34 56 78",
		"birth_date": "1985-03-14", "postal_code": "69003", "city": "Lyon", "departement": "69",
	})
	pid := strconv.FormatInt(w.ids["person"], 10)
	create("quote", "devis", "quotes", map[string]string{
		"person_id": pid, "vehicle_make": vehicleMake, "vehicle_model": "308", "vehicle_year": "2019",
		"vehicle_energy": "essence", "vehicle_usage": "prive", "licence_date": "2005-06-01",
		"bonus_malus": "0.85", "coverage": "tous_risques", "premium_quoted": "612.40",
	})
	create("contract", "contrats", "contracts", map[string]string{
		"person_id": pid, "insurer": "Mutuelle Test", "policy_number": policyNumber,
		"start_date": "2026-01-01", "annual_premium": "640.00", "broker_commission": "64.00",
	})
	create("ticket", "support", "tickets", map[string]string{"person_id": pid, "subject": ticketSubject})
	past := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	create("note_prospection", "prospection", "interactions", map[string]string{
		"person_id": pid, "channel": "phone", "purpose": "prospection", "occurred_at": past, "note": prospectNote,
	})
	create("note_support", "support", "interactions", map[string]string{
		"person_id": pid, "channel": "email", "purpose": "support", "occurred_at": past, "note": supportNote,
	})
	h, err := web.New(a)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	w.h = h
	return w
}

// request sends one request to the handler as a browser of the given department would ("" for
// none) and returns the answer with its body unescaped.
func (w *world) request(method, path, dept string, form url.Values, header http.Header) (*http.Response, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if dept != "" {
		req.AddCookie(&http.Cookie{Name: "vigie_session", Value: w.login(dept)})
	}
	return w.serve(req)
}

func (w *world) serve(req *http.Request) (*http.Response, string) {
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, html.UnescapeString(string(b))
}

// login signs in through the forms, once per department, and returns the session cookie.
func (w *world) login(dept string) string {
	w.t.Helper()
	if c, ok := w.cookies[dept]; ok {
		return c
	}
	c := w.signIn(dept)
	w.cookies[dept] = c.Value
	return c.Value
}

var (
	secretText   = regexp.MustCompile(`<code id="secret">([A-Z2-7 ]+)</code>`)
	sealedSecret = regexp.MustCompile(`name="secret" value="([A-Za-z0-9_-]+)"`)
)

// signIn goes through the sign-in steps as a person would: the password, then, the first time,
// the enrolment of the second factor (the secret read from the page, a code from it) and the
// recovery codes page; later, a code of the department's authenticator. It returns the session
// cookie.
func (w *world) signIn(dept string) *http.Cookie {
	w.t.Helper()
	jar := map[string]*http.Cookie{}
	step := func(method, path string, form url.Values) (*http.Response, string) {
		w.t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range jar {
			req.AddCookie(c)
		}
		res, page := w.serve(req)
		for _, c := range res.Cookies() {
			jar[c.Name] = c
		}
		return res, page
	}
	res, _ := step("POST", "/connexion", url.Values{"email": {dept + "@vigie.test"}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("login %s: status %d, want 303", dept, res.StatusCode)
	}
	next := res.Header.Get("Location")
	switch {
	case strings.HasPrefix(next, "/connexion/activation"):
		res, page := step("GET", next, nil)
		secret, sealed := secretText.FindStringSubmatch(page), sealedSecret.FindStringSubmatch(page)
		if res.StatusCode != http.StatusOK || secret == nil || sealed == nil || !strings.Contains(page, `src="data:image/png;base64,`) {
			w.t.Fatalf("login %s: enrolment page: status %d, secret shown %v, QR code shown %v", dept, res.StatusCode, secret != nil, strings.Contains(page, "data:image/png"))
		}
		app := apptest.NewAuthenticator(secret[1])
		res, page = step("POST", "/connexion/activation", url.Values{"secret": {sealed[1]}, "code": {app.Code(w.t, time.Now())}, "suivant": {"/"}})
		if res.StatusCode != http.StatusOK || strings.Count(page, "<li><code>") != auth.RecoveryCodes {
			w.t.Fatalf("login %s: enrolment: status %d (%s), want the recovery codes page", dept, res.StatusCode, heading(page))
		}
		w.apps[dept] = app
	case strings.HasPrefix(next, "/connexion/code"):
		app := w.apps[dept]
		if app == nil {
			w.t.Fatalf("login %s: asked for a code, but never enrolled here", dept)
		}
		res, _ = step("POST", "/connexion/code", url.Values{"code": {app.Code(w.t, time.Now())}, "suivant": {"/"}})
		if res.StatusCode != http.StatusSeeOther {
			w.t.Fatalf("login %s: code: status %d, want 303", dept, res.StatusCode)
		}
	default:
		w.t.Fatalf("login %s: sent to %s after the password", dept, next)
	}
	c := jar["vigie_session"]
	if c == nil || c.Value == "" {
		w.t.Fatalf("login %s: no session cookie", dept)
	}
	// A charter published since they last accepted one is accepted through its page (R43).
	w.acceptCharterIfAsked(dept, c)
	return c
}

func (w *world) path(p string) string {
	for name, id := range w.ids {
		p = strings.ReplaceAll(p, "{"+name+"}", strconv.FormatInt(id, 10))
	}
	return p
}

func (w *world) count(table string) int {
	w.t.Helper()
	var n int
	if err := w.a.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

var h1 = regexp.MustCompile(`(?s)<h1>(.*?)</h1>`)

// heading is the page's <h1>: page headings never carry personal data, so a failure may show it.
func heading(body string) string {
	if m := h1.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "(pas de titre)"
}

// shown is a value a page must or must not show, named for the failure message.
type shown struct{ what, text string }

var (
	labelEmail         = shown{"the email label", "E-mail"}
	valueEmail         = shown{"the email", email}
	valueFirstName     = shown{"the first name", firstName}
	valueLastName      = shown{"the last name", lastName}
	labelFirstName     = shown{"the first-name label", "Prénom"}
	labelBirthDate     = shown{"the birth-date label", "Date de naissance"}
	valueBirthDate     = shown{"the birth date", birthDate}
	valueVehicle       = shown{"the quoted vehicle", vehicleMake}
	valuePolicy        = shown{"the policy number", policyNumber}
	labelAnnualPremium = shown{"the annual-premium label", "Prime annuelle"}
	valueAnnualPremium = shown{"the annual premium", annualPremium}
	labelCommission    = shown{"the commission label", "Commission du courtier"}
	valueProspectNote  = shown{"the prospection note", prospectNote}
	valueSupportNote   = shown{"the support note", supportNote}
	valueTicket        = shown{"the ticket subject", ticketSubject}
	labelStatus        = shown{"the person status label", "Statut"}
	navPersons         = shown{"the persons menu entry", ">Personnes<"}
	statisticsOnly     = shown{"the anonymised-statistics notice", "statistiques anonymisées"}
	forbiddenMessage   = shown{"the 403 message", "Votre service n'a pas accès à ces données"}
)

// TestR08_WebShowsOnlyWhatTheDepartmentMaySee: each department, signed in through the login
// form, gets exactly the pages, labels and values the dictionary grants it.
func TestR08_WebShowsOnlyWhatTheDepartmentMaySee(t *testing.T) {
	scenarios := []struct {
		dept, path string
		status     int
		show, hide []shown
	}{
		// Prospection: identity and contact, its own interactions; no quote, contract, ticket.
		{"prospection", "/personnes/{person}", 200,
			[]shown{labelEmail, valueEmail, valueFirstName, valueLastName, valueProspectNote},
			[]shown{labelBirthDate, valueBirthDate, valueVehicle, valuePolicy, valueSupportNote, valueTicket}},
		{"prospection", "/personnes", 200, []shown{valueLastName, valueEmail}, nil},
		{"prospection", "/devis", 403, []shown{forbiddenMessage}, nil},
		{"prospection", "/devis/{quote}", 403, []shown{forbiddenMessage}, []shown{valueVehicle}},
		{"prospection", "/devis/nouveau", 403, nil, nil},
		{"prospection", "/contrats", 403, nil, nil},
		{"prospection", "/tickets", 403, nil, nil},
		{"prospection", "/interactions", 200, []shown{valueProspectNote}, []shown{valueSupportNote}},
		{"prospection", "/interactions/{note_prospection}", 200, []shown{valueProspectNote}, nil},
		{"prospection", "/interactions/{note_support}", 403, nil, []shown{valueSupportNote}},
		{"prospection", "/utilisateurs", 403, nil, nil},
		{"prospection", "/dictionnaire", 200, []shown{{"the dictionary title", "Dictionnaire de données — Base client"}}, nil},

		// Quotes: the birth date and the quote; no contract, ticket or prospection note.
		{"devis", "/personnes/{person}", 200,
			[]shown{labelBirthDate, valueBirthDate, valueEmail, valueVehicle},
			[]shown{valuePolicy, valueProspectNote, valueSupportNote, valueTicket}},
		{"devis", "/devis", 200, []shown{valueVehicle}, nil},
		{"devis", "/devis/{quote}", 200, []shown{valueVehicle, {"the bonus-malus", "0,85"}}, nil},
		{"devis", "/devis/nouveau", 200, []shown{{"the vehicle-make input", `name="vehicle_make"`}}, nil},
		{"devis", "/contrats", 403, nil, nil},
		{"devis", "/contrats/{contract}", 403, nil, []shown{valuePolicy}},
		{"devis", "/tickets", 403, nil, nil},

		// Contracts: contracts with pricing, documents; no quote in progress, no notes.
		{"contrats", "/personnes/{person}", 200,
			[]shown{labelBirthDate, valuePolicy},
			[]shown{valueVehicle, valueProspectNote, valueSupportNote, valueTicket}},
		{"contrats", "/contrats/{contract}", 200, []shown{valuePolicy, labelAnnualPremium, valueAnnualPremium, labelCommission}, nil},
		{"contrats", "/documents", 200, nil, nil},
		{"contrats", "/devis", 403, nil, nil},

		// Support: identity, contact, tickets and the contract summary without its pricing.
		{"support", "/personnes/{person}", 200,
			[]shown{valueEmail, valuePolicy, valueSupportNote, valueTicket},
			[]shown{labelAnnualPremium, valueAnnualPremium, labelBirthDate, valueProspectNote, valueVehicle}},
		{"support", "/contrats/{contract}", 200, []shown{valuePolicy}, []shown{labelAnnualPremium, valueAnnualPremium, labelCommission}},
		{"support", "/tickets/{ticket}", 200, []shown{valueTicket}, nil},
		{"support", "/contrats/nouveau", 403, nil, nil},
		{"support", "/devis/{quote}", 403, nil, []shown{valueVehicle}},

		// Performance: anonymised statistics only, no personal page at all.
		{"performance", "/", 200, []shown{statisticsOnly}, []shown{navPersons}},
		{"performance", "/personnes", 403, nil, []shown{valueEmail, valueLastName}},
		{"performance", "/personnes/{person}", 403, nil, []shown{valueEmail, valueFirstName, valueLastName}},
		{"performance", "/interactions", 403, nil, nil},
		{"performance", "/devis", 403, nil, nil},
		{"performance", "/dictionnaire", 200, nil, nil},

		// DPO: the person's technical fields only, outside a rights request.
		{"dpo", "/personnes/{person}", 200,
			[]shown{labelStatus},
			[]shown{valueFirstName, valueLastName, valueEmail, labelFirstName, labelBirthDate, valueBirthDate, valuePolicy, valueProspectNote}},
		{"dpo", "/devis", 403, nil, nil},
		{"dpo", "/interactions", 403, nil, nil},

		// IT administration: users, no personal data of the CRM.
		{"admin", "/", 200, nil, []shown{navPersons}},
		{"admin", "/personnes/{person}", 403, nil, []shown{valueEmail, valueLastName}},
		{"admin", "/personnes", 403, nil, nil},
		{"admin", "/utilisateurs", 200, []shown{{"a staff account", "prospection@vigie.test"}}, nil},
	}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for _, sc := range scenarios {
			path := w.path(sc.path)
			res, body := w.request("GET", path, sc.dept, nil, nil)
			if res.StatusCode != sc.status {
				t.Errorf("%s GET %s: status %d (%s), want %d", sc.dept, sc.path, res.StatusCode, heading(body), sc.status)
				continue
			}
			for _, s := range sc.show {
				if !strings.Contains(body, s.text) {
					t.Errorf("%s GET %s: %s should be shown", sc.dept, sc.path, s.what)
				}
			}
			for _, s := range sc.hide {
				if strings.Contains(body, s.text) {
					t.Errorf("%s GET %s: %s must not be shown", sc.dept, sc.path, s.what)
				}
			}
		}
	})
}
