package web_test

import (
	"archive/zip"
	"bytes"
	"context"
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
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
	"vigie/internal/record"
)

var portalCode = regexp.MustCompile(`: (\d{6})\b`)

// portalSignIn asks a code on the portal, has the outbox deliver it through a real SMTP server,
// and signs in with it; it returns the portal session cookie.
func (w *world) portalSignIn(srv *smtptest.Server, address string) *http.Cookie {
	w.t.Helper()
	res, body := w.request("POST", "/portail/code", "", url.Values{"email": {address}}, nil)
	if res.StatusCode != 200 || !strings.Contains(body, "un code à 6 chiffres vient d'y être envoyé") {
		w.t.Fatalf("code request: %d %s", res.StatusCode, heading(body))
	}
	if _, err := w.a.Outbox.Deliver(context.Background(), &outbox.SMTPSender{Addr: srv.Addr}, "Vigie <no-reply@exemple.fr>", 10); err != nil {
		w.t.Fatal(err)
	}
	m := portalCode.FindStringSubmatch(srv.WaitFor(w.t, address, 5*time.Second))
	if m == nil {
		w.t.Fatal("no code in the message")
	}
	res, _ = w.request("POST", "/portail/connexion", "", url.Values{"email": {address}, "code": {m[1]}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/portail/mes-donnees" {
		w.t.Fatalf("sign-in answered %d to %s", res.StatusCode, res.Header.Get("Location"))
	}
	for _, c := range res.Cookies() {
		if c.Name == "vigie_portail" {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/portail" {
				w.t.Errorf("portal cookie %+v", c)
			}
			return c
		}
	}
	w.t.Fatal("no portal cookie")
	return nil
}

func (w *world) portal(method, path string, c *http.Cookie, form url.Values) (*http.Response, string) {
	w.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(c)
	return w.serve(req)
}

// TestR24_PortalShowsEverythingAndEachRightWorks: through the portal a person signs in with a
// code, sees their data with its purposes and who accessed it, downloads the archive, withdraws a
// consent, objects to prospection, corrects their city, records a directive and asks for erasure;
// the DPO's desk lists the request with its clock and erases the person with a certificate.
func TestR24_PortalShowsEverythingAndEachRightWorks(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		srv := smtptest.Start(t)
		if res, _ := w.request("GET", "/portail/mes-donnees", "", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the portal opened without a session: %d", res.StatusCode)
		}
		c := w.portalSignIn(srv, email)

		res, body := w.portal("GET", "/portail/mes-donnees", c, nil)
		for _, want := range []string{firstName, lastName, vehicleMake, policyNumber, "Qui a consulté mes données", "Conservation", "Télécharger"} {
			if !strings.Contains(body, want) {
				t.Errorf("the portal page lacks %q", want)
			}
		}
		if res.StatusCode != 200 {
			t.Fatalf("portal page %d", res.StatusCode)
		}
		res, zipped := w.portal("GET", "/portail/mes-donnees.zip", c, nil)
		zr, err := zip.NewReader(bytes.NewReader([]byte(zipped)), int64(len(zipped)))
		if res.StatusCode != 200 || err != nil || len(zr.File) < 3 {
			t.Fatalf("archive: %d %v", res.StatusCode, err)
		}

		steps := []struct {
			path string
			form url.Values
			done string
		}{
			{"/portail/opposition", url.Values{"purpose": {"prospection"}}, "vous ne recevrez plus aucune prospection"},
			{"/portail/rectification", url.Values{"city": {"Villeurbanne"}, "email": {email}}, "Vos corrections sont enregistrées"},
			{"/portail/directives", url.Values{"instruction": {"transmit"}, "trusted_contact": {"Ma sœur, 06 00 00 00 00"}}, "directives pour après votre décès sont enregistrées"},
			{"/portail/reexamen", url.Values{"quote_id": {strconv.FormatInt(w.ids["quote"], 10)}, "details": {"Mon bonus a changé."}}, "Votre demande de réexamen est enregistrée"},
			{"/portail/demande", url.Values{"type": {"erasure"}, "details": {"Je ne suis plus client."}}, "demande d'effacement est enregistrée"},
		}
		for _, s := range steps {
			res, _ := w.portal("POST", s.path, c, s.form)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s answered %d", s.path, res.StatusCode)
			}
			next, _, _ := strings.Cut(res.Header.Get("Location"), "#") // a browser keeps the fragment to itself
			_, body := w.portal("GET", next, c, nil)
			if !strings.Contains(body, s.done) {
				t.Errorf("%s: the page does not confirm (%q)", s.path, heading(body))
			}
		}
		// The review reaches the quotes department's desk; another person's quote cannot be asked.
		if _, body := w.request("GET", "/droits", "devis", nil, nil); !strings.Contains(body, "Réexamen humain d'un tarif") {
			t.Error("the quotes department does not see the review asked on the portal")
		}
		other, err := a.Records.Create(context.Background(), a.Auth.Actor(w.users["devis"]), "persons", record.Input{Text: map[string]string{"first_name": "Autre", "last_name": "Personne"}})
		if err != nil {
			t.Fatal(err)
		}
		otherQuote, err := a.Records.Create(context.Background(), a.Auth.Actor(w.users["devis"]), "quotes", record.Input{Text: map[string]string{
			"person_id": strconv.FormatInt(other.ID, 10), "vehicle_make": "Fiat", "vehicle_model": "500", "vehicle_year": "2019", "vehicle_energy": "essence",
			"vehicle_usage": "prive", "licence_date": "2005-06-01", "bonus_malus": "0.85", "coverage": "tiers", "premium_quoted": "400.00"}})
		if err != nil {
			t.Fatal(err)
		}
		if res, _ := w.portal("POST", "/portail/reexamen", c, url.Values{"quote_id": {strconv.FormatInt(otherQuote.ID, 10)}}); res.StatusCode != 400 {
			t.Errorf("a review of another person's quote answered %d", res.StatusCode)
		}
		res, body = w.portal("POST", "/portail/rectification", c, url.Values{"email": {"pas-une-adresse"}})
		if res.StatusCode != 400 || !strings.Contains(body, "E-mail") {
			t.Errorf("an invalid correction answered %d", res.StatusCode)
		}

		// The DPO's desk: the erasure request is there with its clock, and erasing answers it.
		_, body = w.request("GET", "/droits", "dpo", nil, nil)
		if !strings.Contains(body, "Effacement (art. 17)") || !strings.Contains(body, "j restants") {
			t.Fatalf("the DPO's queue lacks the erasure request with its clock")
		}
		var requestID int64
		if err := a.DB.QueryRowContext(context.Background(), `SELECT id FROM rights_requests WHERE person_id = $1 AND type = 'erasure'`, w.ids["person"]).Scan(&requestID); err != nil {
			t.Fatal(err)
		}
		page := "/droits/" + strconv.FormatInt(requestID, 10)
		if res, _ := w.request("GET", page, "devis", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the quotes department opened an erasure request: %d", res.StatusCode)
		}
		if res, body := w.request("POST", page+"/effacer", "dpo", url.Values{}, nil); res.StatusCode != 400 || !strings.Contains(body, "confirmation") {
			t.Errorf("an unconfirmed erasure answered %d", res.StatusCode)
		}
		res, body = w.request("POST", page+"/effacer", "dpo", url.Values{"confirm": {"oui"}}, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Certificat d'effacement") || !strings.Contains(body, "Contrat") {
			t.Fatalf("erasure answered %d: %s", res.StatusCode, heading(body))
		}
		if res, _ := w.portal("GET", "/portail/mes-donnees", c, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the erased person's portal session still opens: %d", res.StatusCode)
		}
		if res, body := w.request("POST", page+"/effacer", "dpo", url.Values{"confirm": {"oui"}}, nil); res.StatusCode == 200 && strings.Contains(body, "Certificat") {
			t.Error("a second erasure produced a second certificate")
		}
	})
}

// TestR24_PortalShowsEveryDossierOfTheAddress: when an address belongs to several records (each
// quote request opens one), the portal says so and shows each in turn; a record under another
// address cannot be reached by changing the number in the form.
func TestR24_PortalShowsEveryDossierOfTheAddress(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		srv := smtptest.Start(t)
		ctx := context.Background()
		create := func(first, address string) int64 {
			p, err := a.Records.Create(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "persons",
				record.Input{Channel: "web_form", Text: map[string]string{"first_name": first, "last_name": lastName, "email": address}})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		create("Maëlle", email)
		stranger := create("Inconnue", "autre.personne@exemple.fr")
		c := w.portalSignIn(srv, email)

		_, body := w.portal("GET", "/portail/mes-donnees", c, nil)
		if !strings.Contains(body, "Vos dossiers") || !strings.Contains(body, "correspond à 2 dossiers") || !strings.Contains(body, "Maëlle") {
			t.Fatalf("the portal does not offer both records of the address (%q)", heading(body))
		}
		res, _ := w.portal("POST", "/portail/dossier", c, url.Values{"dossier": {strconv.FormatInt(w.ids["person"], 10)}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("showing the other record: status %d", res.StatusCode)
		}
		if _, body = w.portal("GET", "/portail/mes-donnees", c, nil); !strings.Contains(body, firstName) || strings.Contains(body, "Maëlle") {
			t.Error("the portal does not show the record chosen")
		}
		for _, bad := range []string{strconv.FormatInt(stranger, 10), "abc", ""} {
			res, body := w.portal("POST", "/portail/dossier", c, url.Values{"dossier": {bad}})
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Dossier inconnu") || strings.Contains(body, "Inconnue") {
				t.Errorf("dossier %q: status %d", bad, res.StatusCode)
			}
		}
		if _, body = w.portal("GET", "/portail/mes-donnees", c, nil); !strings.Contains(body, firstName) {
			t.Error("a refused switch changed the record shown")
		}
	})
}

// TestR24_PortalCodeRefusals: a wrong code, a malformed address and too many requests from one
// client get a clear answer, and a refused sign-in opens nothing.
func TestR24_PortalCodeRefusals(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		res, body := w.request("POST", "/portail/connexion", "", url.Values{"email": {email}, "code": {"123456"}}, nil)
		if res.StatusCode != 400 || !strings.Contains(body, "Code incorrect ou expiré") || len(res.Cookies()) != 0 {
			t.Errorf("a wrong code answered %d", res.StatusCode)
		}
		res, body = w.request("POST", "/portail/code", "", url.Values{"email": {"pas-une-adresse"}}, nil)
		if res.StatusCode != 400 || !strings.Contains(body, "adresse e-mail invalide") {
			t.Errorf("a malformed address answered %d", res.StatusCode)
		}
		var last int
		for range 25 {
			res, _ = w.request("POST", "/portail/code", "", url.Values{"email": {"inconnu@exemple.fr"}}, nil)
			last = res.StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("the 25th code request from one client answered %d", last)
		}
	})
}

// TestR30_StaffReportADeathToTheDPO: a department that sees the person reports a death from the
// person page; the DPO finds the request on the desk and records the death, which applies the
// person's directive. A report without its source is refused and records nothing.
func TestR30_StaffReportADeathToTheDPO(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		page := "/personnes/" + strconv.FormatInt(w.ids["person"], 10)
		if _, body := w.request("GET", page, "support", nil, nil); !strings.Contains(body, "Signaler le décès au DPO") {
			t.Fatal("the person page offers no way to report a death")
		}
		before := w.count("rights_requests")
		if res, _ := w.request("POST", page+"/deces", "support", url.Values{"details": {" "}}, nil); res.StatusCode != 400 || w.count("rights_requests") != before {
			t.Errorf("a report without its source answered %d and recorded %d requests", res.StatusCode, w.count("rights_requests")-before)
		}
		if res, body := w.request("POST", page+"/deces", "support", url.Values{"details": {"Appel de sa fille"}}, nil); res.StatusCode != 200 || !strings.Contains(body, "Décès signalé au DPO") {
			t.Fatalf("report answered %d", res.StatusCode)
		}
		var requestID int64
		if err := a.DB.QueryRowContext(context.Background(), `SELECT id FROM rights_requests WHERE person_id = $1 AND type = 'post_mortem'`, w.ids["person"]).Scan(&requestID); err != nil {
			t.Fatal(err)
		}
		if _, body := w.request("GET", "/droits", "dpo", nil, nil); !strings.Contains(body, "Directives post-mortem") {
			t.Error("the DPO's desk does not list the reported death")
		}
		res, _ := w.request("POST", "/droits/"+strconv.FormatInt(requestID, 10)+"/deces", "dpo", url.Values{"confirm": {"oui"}}, nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("recording the death answered %d", res.StatusCode)
		}
		var deceased, restricted bool
		if err := a.DB.QueryRowContext(context.Background(), `SELECT deceased, restricted FROM persons WHERE id = $1`, w.ids["person"]).Scan(&deceased, &restricted); err != nil || !deceased || !restricted {
			t.Errorf("after the death: deceased %v, restricted %v (no directive: processing frozen for the heirs' requests)", deceased, restricted)
		}
	})
}
