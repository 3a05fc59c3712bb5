package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/record"
)

func quoteForm() url.Values {
	return url.Values{"first_name": {"Léa"}, "last_name": {"Publique"}, "birth_date": {"1992-02-02"},
		"email": {"lea.publique@exemple.fr"}, "phone": {"0611223344"}, "postal_code": {"33000"}, "city": {"Bordeaux"},
		"vehicle_make": {"Citroën"}, "vehicle_model": {"C3"}, "vehicle_year": {"2018"}, "vehicle_energy": {"essence"},
		"vehicle_usage": {"prive"}, "registration_date": {"2018-04-01"}, "licence_date": {"2011-05-05"}, "bonus_malus": {"0.80"},
		"claims_3y": {"0"}, "coverage": {"tiers_plus"}, "comment": {"Pas de remarque."}}
}

var resultLink = regexp.MustCompile(`^/demande-de-devis/resultat\?d=\d+&t=[A-Za-z0-9_-]+$`)

// TestR21_QuoteFormShowsNoticeAndUntickedChoices: the public form needs no account, shows the
// privacy notice beside it and one unticked box per optional purpose.
func TestR21_QuoteFormShowsNoticeAndUntickedChoices(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		res, body := w.request("GET", "/demande-de-devis", "", nil, nil)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, want := range []string{"Vos données personnelles", "Finalités et bases légales", "Durées de conservation",
			`name="consent_prospection_email"`, `name="consent_prospection_phone"`, `name="consent_performance"`, "empreinte"} {
			if !strings.Contains(body, want) {
				t.Errorf("the form page lacks %q", want)
			}
		}
		if strings.Contains(body, "checked") {
			t.Error("a box is ticked in advance")
		}
		for _, never := range []string{`name="address_line"`, `name="plate"`, `name="premium_quoted"`} {
			if strings.Contains(body, never) {
				t.Errorf("the public form asks %s", never)
			}
		}
	})
}

// TestR18_QuoteFormRecordsChoicesWithTheNotice: a submission redirects to the result, which shows
// the price, the automated decision and the choices recorded with the notice version.
func TestR18_QuoteFormRecordsChoicesWithTheNotice(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		f := quoteForm()
		f.Set("consent_prospection_email", "true")
		res, _ := w.request("POST", "/demande-de-devis", "", f, nil)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !resultLink.MatchString(loc) {
			t.Fatalf("status %d, location shape ok: %v", res.StatusCode, resultLink.MatchString(loc))
		}
		res, body := w.request("GET", loc, "", nil, nil)
		if res.StatusCode != 200 {
			t.Fatalf("result status %d", res.StatusCode)
		}
		for _, want := range []string{"€ par an", "calculé automatiquement", "Demander un réexamen", "accordé", "refusé", "version ", "Retirer mon consentement"} {
			if !strings.Contains(body, want) {
				t.Errorf("the result page lacks %q", want)
			}
		}
		// The withdrawal link works in one click and takes effect at once (R19).
		m := regexp.MustCompile(`href="(/consentement/retrait\?[^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no withdrawal link")
		}
		link := strings.ReplaceAll(m[1], "&amp;", "&")
		res, page := w.request("GET", link, "", nil, nil)
		if res.StatusCode != 200 || !strings.Contains(page, "Retirer mon consentement") {
			t.Fatalf("withdrawal page: %d", res.StatusCode)
		}
		u, _ := url.Parse(link)
		res, page = w.request("POST", "/consentement/retrait", "", u.Query(), nil)
		if res.StatusCode != 200 || !strings.Contains(page, "Consentement retiré") {
			t.Fatalf("withdrawal: %d", res.StatusCode)
		}
		forged := u.Query()
		forged.Set("f", "performance")
		if res, _ := w.request("POST", "/consentement/retrait", "", forged, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a link signed for another purpose: %d", res.StatusCode)
		}
		_, body = w.request("GET", loc, "", nil, nil)
		if strings.Contains(body, "accordé") {
			t.Error("the result still shows a granted consent after withdrawal")
		}
		// Human review (R31).
		q, _ := url.Parse(loc)
		review := url.Values{"d": {q.Query().Get("d")}, "t": {q.Query().Get("t")}, "details": {"Mon bonus a changé."}}
		res, body = w.request("POST", "/demande-de-devis/reexamen", "", review, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "demande de réexamen est enregistrée") {
			t.Errorf("review: %d", res.StatusCode)
		}
		if n := w.count("rights_requests"); n != 1 {
			t.Errorf("%d rights requests, want 1", n)
		}
	})
}

// TestR18_GPCOnTheForm: with Sec-GPC: 1 the marketing boxes are disabled and refusals recorded.
func TestR18_GPCOnTheForm(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		gpc := http.Header{"Sec-Gpc": {"1"}}
		_, body := w.request("GET", "/demande-de-devis", "", nil, gpc)
		if !strings.Contains(body, "Global Privacy Control") || strings.Count(body, " disabled") != 2 {
			t.Errorf("the form does not honour GPC visibly (%d disabled boxes)", strings.Count(body, " disabled"))
		}
		f := quoteForm()
		f.Set("consent_prospection_email", "true")
		res, _ := w.request("POST", "/demande-de-devis", "", f, gpc)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", res.StatusCode)
		}
		_, body = w.request("GET", res.Header.Get("Location"), "", nil, nil)
		if !strings.Contains(body, "Global Privacy Control") || strings.Contains(body, "accordé") {
			t.Error("the result does not show the refusals recorded from GPC")
		}
		res, body = w.request("GET", "/.well-known/gpc.json", "", nil, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `"gpc": true`) || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("gpc.json: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
}

// TestQuoteFormRefusalKeepsNothing: an invalid postal code, a missing name and an unknown energy
// are each named; nothing is stored.
func TestQuoteFormRefusalKeepsNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		before := []int{w.count("persons"), w.count("quotes"), w.count("consents")}
		f := quoteForm()
		f.Set("postal_code", "3300")
		f.Del("last_name")
		f.Set("vehicle_energy", "vapeur")
		res, body := w.request("POST", "/demande-de-devis", "", f, nil)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, label := range []string{"Code postal", "Nom", "Énergie", "Rien n'a été conservé"} {
			if !strings.Contains(body, label) {
				t.Errorf("the refusal does not name %q", label)
			}
		}
		after := []int{w.count("persons"), w.count("quotes"), w.count("consents")}
		for i := range before {
			if before[i] != after[i] {
				t.Errorf("rows changed: %v → %v", before, after)
			}
		}
	})
}

// TestR22_StaffQuoteFromProspectionDataNeedsConfirmation: the quotes department cannot build a
// quote on a person collected by prospection until it ticks that the person confirmed their data;
// the refusal names the person's fields.
func TestR22_StaffQuoteFromProspectionDataNeedsConfirmation(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := t.Context()
		p, err := a.Records.Create(ctx, a.Auth.Actor(w.users["prospection"]), "persons", record.Input{
			Text: map[string]string{"first_name": "Paul", "last_name": "Prospect", "email": "paul.prospect@exemple.fr"}, Channel: "phone"})
		if err != nil {
			t.Fatal(err)
		}
		f := url.Values{"person_id": {strconv.FormatInt(p.ID, 10)}, "vehicle_make": {"Fiat"}, "vehicle_model": {"500"},
			"vehicle_year": {"2017"}, "vehicle_energy": {"essence"}, "vehicle_usage": {"prive"}, "licence_date": {"2008-01-01"},
			"bonus_malus": {"1.00"}, "coverage": {"tiers"}, "status": {"draft"}, "channel": {"phone"}, "_canal": {"phone"}}
		before := w.count("quotes")
		res, body := w.request("POST", "/devis/nouveau", "devis", f, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Personne — E-mail") || !strings.Contains(body, "prospection") {
			t.Fatalf("status %d; the refusal must name the person's fields and the purpose", res.StatusCode)
		}
		if w.count("quotes") != before {
			t.Fatal("a refused quote was stored")
		}
		f.Set("_confirmation", "true")
		if res, _ := w.request("POST", "/devis/nouveau", "devis", f, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirmed: status %d", res.StatusCode)
		}
	})
}
