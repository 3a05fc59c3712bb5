package web_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/internal/app/apptest"
	"vigie/internal/demo"
)

// TestR39_R40_BrowserDemoDPORecordsABreach is issue 9's "done when", in a real browser: the DPO
// demo user (dpo@demo.vigie.local, the demo password) signs in for the first time, enrolling the
// second factor; opens the register from the menu; sends the form without the awareness time and
// is shown the refusal beside the field; records the breach with a scope; sees its 72-hour clock;
// reads the CNIL draft on the breach's page; and produces the letters to the people found.
func TestR39_R40_BrowserDemoDPORecordsABreach(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	ctx := context.Background()
	if _, err := demo.Generate(ctx, a, demo.Options{Persons: 30, Seed: 5}); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	if _, err := demo.CreateUsers(ctx, a); err != nil {
		t.Fatalf("demo users: %v", err)
	}
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	dpo := startBrowser(t)

	err := chromedp.Do(dpo,
		chromedp.Navigate(srv.URL+"/connexion"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "dpo@"+demo.DemoEmailDomain),
		chromedp.SendKeys(chromedp.CSS("#password"), demo.DemoPassword),
		chromedp.Click(chromedp.CSS(`form[action="/connexion"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	)
	if err != nil {
		t.Fatalf("the demo DPO signs in: %v", err)
	}
	secret, err := chromedp.Run(dpo, chromedp.Text(chromedp.CSS("#secret")))
	if err != nil {
		t.Fatalf("read the secret: %v", err)
	}
	err = chromedp.Do(dpo,
		chromedp.SendKeys(chromedp.CSS("#code"), apptest.NewAuthenticator(secret).Code(t, time.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/connexion/activation"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#codes-de-secours")),
		chromedp.Click(chromedp.CSS("#continuer")),
		// A first sign-in: the data-governance charter comes before any page (R43).
		chromedp.WaitVisible(chromedp.CSS("#accepter-charte")),
		chromedp.Click(chromedp.CSS("#accepter-charte")),
		chromedp.WaitVisible(chromedp.CSS("nav.menu")),
		chromedp.Click(chromedp.CSS(`nav.menu a[href="/violations"]`)),
		chromedp.WaitVisible(chromedp.CSS("#delais")),
		chromedp.Click(chromedp.CSS("#nouvelle")),
		chromedp.WaitVisible(chromedp.CSS("#f-aware_at")),
	)
	if err != nil {
		t.Fatalf("enrol the second factor and open the form from the menu: %v", err)
	}
	text := func(what, sel string) string {
		t.Helper()
		s, err := chromedp.Run(dpo, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		return s
	}

	// The form sent without the awareness time: refused beside the field, nothing recorded.
	aware := time.Now().Add(-30 * time.Hour).In(paris).Format("2006-01-02T15:04")
	err = chromedp.Do(dpo,
		chromedp.SetValue(chromedp.CSS("#f-aware_at"), ""),
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Fichier des contrats exposé"),
		chromedp.Click(chromedp.CSS("#f-nature-confidentiality")),
		chromedp.SetValue(chromedp.CSS("#f-origin"), "unintended_publication"),
		chromedp.SetValue(chromedp.CSS("#f-cause"), "internal_accidental"),
		chromedp.SendKeys(chromedp.CSS("#f-description"), "Un export des contrats a été déposé sur un partage public."),
		chromedp.SetValue(chromedp.CSS("#f-scope_table"), "contracts"),
		chromedp.SendKeys(chromedp.CSS("#f-consequences"), "Hameçonnage ciblé à partir des numéros de contrat."),
		chromedp.SendKeys(chromedp.CSS("#f-measures_taken"), "Partage fermé, journaux d'accès analysés."),
		chromedp.SendKeys(chromedp.CSS("#f-advice"), "Méfiez-vous des appels demandant vos coordonnées bancaires."),
		chromedp.SetValue(chromedp.CSS("#f-risk"), "high"),
		chromedp.SendKeys(chromedp.CSS("#f-risk_reason"), "Identité et contrats en clair, accessibles à tous : risque élevé."),
		chromedp.Click(chromedp.CSS("#inscrire")),
		chromedp.WaitVisible(chromedp.CSS("#f-aware_at-erreur")),
	)
	if err != nil {
		t.Fatalf("send the form without the awareness time: %v", err)
	}
	if msg := text("the refusal", "#f-aware_at-erreur"); !strings.Contains(msg, "prise de connaissance est obligatoire") {
		t.Errorf("the refusal beside the field reads %q", msg)
	}
	if n := w.count("breaches"); n != 0 {
		t.Fatalf("a refused form recorded %d breach(es)", n)
	}

	// The same form with the awareness time: recorded, its clock on its page.
	err = chromedp.Do(dpo,
		chromedp.SetValue(chromedp.CSS("#f-aware_at"), aware),
		chromedp.Click(chromedp.CSS("#inscrire")),
		chromedp.WaitVisible(chromedp.CSS("#horloge")),
	)
	if err != nil {
		t.Fatalf("record the breach: %v", err)
	}
	if clock := text("the clock", "#horloge"); !strings.HasPrefix(clock, "reste 4") {
		t.Errorf("30 hours after awareness the clock reads %q, want about 42 hours left", clock)
	}
	if draft := text("the CNIL draft", "#projet-cnil"); !strings.Contains(draft, "Notification initiale") || !strings.Contains(draft, "3. Chronologie") ||
		!strings.Contains(draft, "Nombre approximatif de personnes concernées") {
		t.Error("the breach's page does not show the CNIL draft")
	}
	if model := text("the model letter", "#modele-courrier"); !strings.Contains(model, "Madame, Monsieur,") {
		t.Error("the breach's page does not show the model letter")
	}
	found := text("the people found", "#trouvees")
	err = chromedp.Do(dpo,
		chromedp.Click(chromedp.CSS("#courriers")),
		chromedp.WaitVisible(chromedp.CSS("article.letter")),
	)
	if err != nil {
		t.Fatalf("produce the letters: %v", err)
	}
	n, err := chromedp.Run(dpo, chromedp.Evaluate[int](`document.querySelectorAll("article.letter").length`))
	if err != nil || n == 0 {
		t.Fatalf("%d letters (err %v)", n, err)
	}
	if !strings.HasPrefix(found, strconv.Itoa(n)+" ") {
		t.Errorf("%d letters for %q found", n, found)
	}

	// Back on the register, the breach is listed with its clock.
	err = chromedp.Do(dpo,
		chromedp.Navigate(srv.URL+"/violations"),
		chromedp.WaitVisible(chromedp.CSS("#registre")),
	)
	if err != nil {
		t.Fatalf("open the register: %v", err)
	}
	if row := text("the register", "#registre tbody"); !strings.Contains(row, "Fichier des contrats exposé") || !strings.Contains(row, "reste 4") {
		t.Error("the register does not list the breach with its clock")
	}
}
