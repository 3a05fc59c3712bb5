package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"vigie/internal/app/apptest"
)

// TestBrowser_PublicQuoteForm: a member of the public fills the quote form in a real browser,
// ticks one optional purpose, gets a priced quote that says it is automated, finds their choices
// recorded with the notice version, withdraws the consent through the link in one click, and asks
// for a human review. A second submission carrying a social-security number in the comment is
// refused with the field named, and nothing is stored.
func TestBrowser_PublicQuoteForm(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	ctx := startBrowser(t)
	main := func(what string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		return s
	}
	fill := func(comment string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(srv.URL + "/demande-de-devis"),
			chromedp.WaitVisible(chromedp.CSS("#f-first_name")),
			chromedp.SendKeys(chromedp.CSS("#f-first_name"), "Inès"),
			chromedp.SendKeys(chromedp.CSS("#f-last_name"), "Navigatrice"),
			chromedp.SetValue(chromedp.CSS("#f-birth_date"), "1988-08-08"),
			chromedp.SendKeys(chromedp.CSS("#f-email"), "ines.navigatrice@exemple.fr"),
			chromedp.SendKeys(chromedp.CSS("#f-postal_code"), "13001"),
			chromedp.SendKeys(chromedp.CSS("#f-city"), "Marseille"),
			chromedp.SendKeys(chromedp.CSS("#f-vehicle_make"), "Toyota"),
			chromedp.SendKeys(chromedp.CSS("#f-vehicle_model"), "Yaris"),
			chromedp.SetValue(chromedp.CSS("#f-vehicle_year"), "2020"),
			chromedp.SetValue(chromedp.CSS("#f-vehicle_energy"), "hybride"),
			chromedp.SetValue(chromedp.CSS("#f-vehicle_usage"), "prive"),
			chromedp.SetValue(chromedp.CSS("#f-licence_date"), "2009-03-03"),
			chromedp.SetValue(chromedp.CSS("#f-bonus_malus"), "0.76"),
			chromedp.SetValue(chromedp.CSS("#f-claims_3y"), "0"),
			chromedp.SetValue(chromedp.CSS("#f-coverage"), "tiers_plus"),
			chromedp.SendKeys(chromedp.CSS("#f-comment"), comment),
			chromedp.Click(chromedp.CSS("#c-performance")),
			chromedp.Click(chromedp.CSS(`form.public-form button[type="submit"]`)),
		}
	}

	// 1. The form, its notice and a refusal: a NIR in the comment (R03, R06).
	persons := w.count("persons")
	nir := "Mon numéro de sécu : 1 85 05 78 006 084 " + "91"
	if err := chromedp.Do(ctx, append(fill(nir), chromedp.WaitVisible(chromedp.CSS("#erreurs")))...); err != nil {
		t.Fatalf("submit a form with a NIR: %v", err)
	}
	if page := main("refusal"); !strings.Contains(page, "Commentaire") || !strings.Contains(page, "sécurité sociale") {
		t.Error("the refusal does not name the comment field and the rule")
	}
	if w.count("persons") != persons {
		t.Fatal("a refused form stored a person")
	}

	// 2. A clean submission: the result, automated price, recorded choices.
	if err := chromedp.Do(ctx, append(fill("Rappel possible le matin."), chromedp.WaitVisible(chromedp.CSS(".quote-price")))...); err != nil {
		t.Fatalf("submit the form: %v", err)
	}
	page := main("result")
	for _, want := range []string{"€ par an", "calculé automatiquement", "accordé", "refusé", "case à cocher du formulaire", "version "} {
		if !strings.Contains(page, want) {
			t.Errorf("the result page lacks %q", want)
		}
	}
	resultURL, _ := chromedp.Run(ctx, chromedp.Location())

	// 3. Withdrawal in one click (R19).
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href^="/consentement/retrait"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/consentement/retrait"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/consentement/retrait"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.status")),
	)
	if err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	if !strings.Contains(main("withdrawal"), "Consentement retiré") {
		t.Error("no confirmation of the withdrawal")
	}

	// 4. Human review of the automated price (R31).
	err = chromedp.Do(ctx,
		chromedp.Navigate(resultURL),
		chromedp.WaitVisible(chromedp.CSS("#f-details")),
		chromedp.SendKeys(chromedp.CSS("#f-details"), "Mon bonus vient de baisser."),
		chromedp.Click(chromedp.CSS(`form[action="/demande-de-devis/reexamen"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.status")),
	)
	if err != nil {
		t.Fatalf("ask for a review: %v", err)
	}
	if page := main("review"); !strings.Contains(page, "réexamen est enregistrée") || strings.Contains(page, "accordé") {
		t.Error("the review is not confirmed, or the withdrawn consent still shows as granted")
	}
}
