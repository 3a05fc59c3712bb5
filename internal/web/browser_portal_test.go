package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
)

// TestBrowser_PrivacyPortal: in a real browser, a person asks for a code, reads it from the
// e-mail a real SMTP server received, opens their space, sees their data and who accessed it,
// withdraws a consent, objects to prospection, corrects their city, leaves a post-mortem
// directive and asks for erasure, and follows the request. The DPO then finds it on the desk
// with its clock, erases the person and gets the certificate, which lists the contract kept.
func TestBrowser_PrivacyPortal(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	mail := smtptest.Start(t)
	ctx := context.Background()
	if err := a.Consent.Record(ctx, w.ids["person"], []consent.Choice{{Purpose: "prospection_email", Granted: true}},
		consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	person := startBrowser(t)
	text := func(b context.Context) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return s
	}
	do := func(b context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// 1. A code by e-mail opens the space.
	do(person, "ask a code",
		chromedp.Navigate(srv.URL+"/portail"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.Click(chromedp.CSS(`form[action="/portail/code"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#f-code")),
	)
	if _, err := a.Outbox.Deliver(ctx, &outbox.SMTPSender{Addr: mail.Addr}, "Vigie <no-reply@exemple.fr>", 10); err != nil {
		t.Fatal(err)
	}
	code := portalCode.FindStringSubmatch(mail.WaitFor(t, email, 5*time.Second))
	if code == nil {
		t.Fatal("no code in the e-mail")
	}
	do(person, "sign in",
		chromedp.SendKeys(chromedp.CSS("#f-code"), code[1]),
		chromedp.Click(chromedp.CSS(`form[action="/portail/connexion"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#h-donnees")),
	)
	page := text(person)
	for _, want := range []string{firstName, vehicleMake, policyNumber, "Qui a consulté mes données", "Tout télécharger"} {
		if !strings.Contains(page, want) {
			t.Errorf("the portal lacks %q", want)
		}
	}

	// 2. Each right, one form at a time; each answer says what was done.
	steps := []struct {
		what    string
		actions []chromedp.Action[chromedp.Void]
		confirm string
	}{
		{"withdraw", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`form[action="/portail/consentements"] button`))}, "consentement est retiré"},
		{"object", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`form.inline[action="/portail/opposition"] button`))}, "plus aucune prospection"},
		{"correct", []chromedp.Action[chromedp.Void]{
			chromedp.SetValue(chromedp.CSS("#f-city"), "Villeurbanne"),
			chromedp.Click(chromedp.CSS(`form[action="/portail/rectification"] button`))}, "corrections"},
		{"directive", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS("#d-erase")),
			chromedp.Click(chromedp.CSS(`form[action="/portail/directives"] button`))}, "directives pour après votre décès"},
		{"human review", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`form[action="/portail/reexamen"] button`))}, "demande de réexamen est enregistrée"},
		{"erasure", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS("#t-erasure")),
			chromedp.SendKeys(chromedp.CSS("#f-details"), "Je ne suis plus client."),
			chromedp.Click(chromedp.CSS(`form[action="/portail/demande"] button`))}, "demande d'effacement est enregistrée"},
	}
	for _, s := range steps {
		// From a fresh page, so that the confirmation awaited is this step's.
		do(person, s.what, append(append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL + "/portail/mes-donnees"),
			chromedp.WaitVisible(chromedp.CSS("#h-donnees"))}, s.actions...), chromedp.WaitVisible(chromedp.CSS("#resultat .status")))...)
		if page := text(person); !strings.Contains(page, s.confirm) {
			t.Errorf("%s: the page does not confirm it", s.what)
		}
	}
	page = text(person)
	for _, want := range []string{"Villeurbanne", "Effacement (art. 17)", "Réexamen humain d'un tarif (art. 22)", "reçue", "Effacer mes données à mon décès", "opposé(e) à toute prospection"} {
		if !strings.Contains(page, want) {
			t.Errorf("after the steps, the portal lacks %q", want)
		}
	}

	// 3. The DPO answers the erasure from the desk.
	dpo := startBrowser(t)
	browserLogin(t, dpo, srv.URL, "dpo")
	do(dpo, "open the desk", chromedp.Navigate(srv.URL+"/droits"), chromedp.WaitVisible(chromedp.CSS("h1")))
	desk := text(dpo)
	if !strings.Contains(desk, "Effacement (art. 17)") || !strings.Contains(desk, "j restants") {
		t.Fatal("the desk does not list the erasure request with its clock")
	}
	do(dpo, "erase",
		chromedp.Click(chromedp.CSS(`tbody tr td a`)),
		chromedp.WaitVisible(chromedp.CSS("#f-confirm-erase")),
		chromedp.Click(chromedp.CSS("#f-confirm-erase")),
		chromedp.Click(chromedp.CSS(`form[action$="/effacer"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#h-cert")),
	)
	cert := text(dpo)
	for _, want := range []string{"Certificat d'effacement", "Clé de données détruite : oui", "Contrat n° ", "sha256:"} {
		if !strings.Contains(cert, want) {
			t.Errorf("the certificate lacks %q", want)
		}
	}
	do(person, "reload", chromedp.Navigate(srv.URL+"/portail/mes-donnees"), chromedp.WaitVisible(chromedp.CSS("#f-email")))
}
