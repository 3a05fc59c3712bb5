package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/internal/app/apptest"
)

// chromiumPath is Debian's Chromium, which the browser test drives headless.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser_MainFlows drives a real browser through the pages, with no JavaScript of ours:
// the quotes department signs in, finds a person by email, opens the person, creates a quote
// through the generated form and lands on it; then prospection, in a separate browser profile,
// is refused the quotes and does not see the birth date.
func TestBrowser_MainFlows(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	devis := startBrowser(t)

	login := func(ctx context.Context, dept string) { browserLogin(t, ctx, srv.URL, dept) }
	text := func(ctx context.Context, what string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		return s
	}
	location := func(ctx context.Context) string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return strings.TrimPrefix(loc, srv.URL)
	}

	// 1. The quotes department finds the person by email and opens the person page.
	login(devis, "devis")
	err := chromedp.Do(devis,
		chromedp.Navigate(srv.URL+"/personnes"),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SetValue(chromedp.CSS("#champ"), "email"),
		chromedp.SendKeys(chromedp.CSS("#q"), email),
		chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.status")),
		chromedp.Click(chromedp.CSS("main table tbody tr td a")),
		chromedp.WaitVisible(chromedp.CSS("dl.fields")),
	)
	if err != nil {
		t.Fatalf("search and open the person: %v", err)
	}
	personPath := w.path("/personnes/{person}")
	if got := location(devis); got != personPath {
		t.Fatalf("after the search: at %s, want %s", got, personPath)
	}
	if page := text(devis, "person page"); !strings.Contains(page, "Date de naissance") || !strings.Contains(page, birthDate) {
		t.Errorf("devis: the person page should show the birth date")
	}

	// 2. It creates a quote for this person through the generated form.
	err = chromedp.Do(devis,
		chromedp.Click(chromedp.CSS(`a[href^="/devis/nouveau?personne="]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-vehicle_make")),
		chromedp.SendKeys(chromedp.CSS("#f-vehicle_make"), "Renault"),
		chromedp.SendKeys(chromedp.CSS("#f-vehicle_model"), "Clio"),
		chromedp.SetValue(chromedp.CSS("#f-vehicle_year"), "2021"),
		chromedp.SetValue(chromedp.CSS("#f-vehicle_energy"), "hybride"),
		chromedp.SetValue(chromedp.CSS("#f-vehicle_usage"), "trajet_travail"),
		chromedp.SetValue(chromedp.CSS("#f-licence_date"), "2010-09-01"),
		chromedp.SetValue(chromedp.CSS("#f-bonus_malus"), "0.9"),
		chromedp.SetValue(chromedp.CSS("#f-coverage"), "tous_risques"),
		chromedp.Click(chromedp.CSS("#f-licence_suspension_5y")),
	)
	if err != nil {
		t.Fatalf("fill in the quote form: %v", err)
	}
	if v, err := chromedp.Run(devis, chromedp.Value(chromedp.CSS("#f-person_id"))); err != nil || v != strconv.FormatInt(w.ids["person"], 10) {
		t.Errorf("the quote form is not prefilled with the person (err %v)", err)
	}
	res, err := chromedp.RunResponse(devis, chromedp.Click(chromedp.CSS(`form.record button[type="submit"]`)))
	if err != nil {
		t.Fatalf("submit the quote form: %v", err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("after submitting the quote: status %d", res.Status)
	}
	if err := chromedp.Do(devis, chromedp.WaitVisible(chromedp.CSS("dl.fields"))); err != nil {
		t.Fatal(err)
	}
	quotePath := location(devis)
	if !regexp.MustCompile(`^/devis/[0-9]+$`).MatchString(quotePath) || quotePath == w.path("/devis/{quote}") {
		t.Fatalf("after submitting the quote: at %s, want the new quote's page", quotePath)
	}
	page := text(devis, "quote page")
	for _, want := range []string{"Demande de devis n°", "Renault", "Hybride", "Trajet domicile-travail", "Tous risques", "0,90", "01/09/2010"} {
		if !strings.Contains(page, want) {
			t.Errorf("the new quote page lacks %q", want)
		}
	}

	// 3. Prospection, in a separate browser profile, may not see quotes nor the birth date.
	prospection, cancelProspection := chromedp.NewContext(devis, chromedp.WithNewBrowserContext())
	defer cancelProspection()
	login(prospection, "prospection")
	for _, path := range []string{quotePath, "/devis"} {
		res, err := chromedp.Run(prospection, chromedp.NavigateResponse(srv.URL+path))
		if err != nil {
			t.Fatalf("prospection GET %s: %v", path, err)
		}
		if res.Status != http.StatusForbidden {
			t.Errorf("prospection GET %s: status %d, want 403", path, res.Status)
		}
		if page := text(prospection, "403 page"); !strings.Contains(page, "Votre service n'a pas accès à ces données") || strings.Contains(page, "Renault") {
			t.Errorf("prospection GET %s: not the 403 page, or it shows the quote", path)
		}
	}
	if err := chromedp.Do(prospection, chromedp.Navigate(srv.URL+personPath), chromedp.WaitVisible(chromedp.CSS("dl.fields"))); err != nil {
		t.Fatalf("prospection opens the person: %v", err)
	}
	page = text(prospection, "person page")
	if !strings.Contains(page, email) {
		t.Errorf("prospection: the person page should show the email")
	}
	if strings.Contains(page, "Date de naissance") || strings.Contains(page, birthDate) || strings.Contains(page, "Renault") {
		t.Errorf("prospection: the person page shows the birth date or the quote")
	}

	// 4. The data dictionary is styled under the strict policy (its style sheet is allowed by hash).
	if err := chromedp.Do(prospection, chromedp.Navigate(srv.URL+"/dictionnaire"), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatalf("open the dictionary: %v", err)
	}
	collapse, err := chromedp.Run(prospection, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("table")).borderCollapse`))
	if err != nil || collapse != "collapse" {
		t.Errorf("the dictionary page is not styled (border-collapse %q, err %v): its style sheet was blocked", collapse, err)
	}
}

// startBrowser starts Debian's Chromium headless for one test, in a profile of its own; it fails
// under CI when Chromium is missing, and skips otherwise.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test: %s is required under CI: %v", chromiumPath, err)
		}
		t.Skipf("browser test: %s not installed", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	timeout, cancelTimeout := context.WithTimeout(allocCtx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	ctx, cancel := chromedp.NewContext(timeout)
	t.Cleanup(cancel)
	return ctx
}

// browserLogin signs a department's user in, enrolling the second factor from the secret the page
// shows (R14) on this first sign-in.
func browserLogin(t *testing.T, ctx context.Context, base, dept string) {
	t.Helper()
	browserSignIn(t, ctx, base, dept+"@vigie.test", testPassword)
}

// browserSignIn goes through a first sign-in: the password, the enrolment of the second factor
// from the secret the page shows, the recovery codes, and the charter in force when it is asked.
func browserSignIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/connexion"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/connexion"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	)
	if err != nil {
		t.Fatalf("%s: sign in: %v", email, err)
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#secret")))
	if err != nil {
		t.Fatalf("%s: read the secret: %v", email, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), apptest.NewAuthenticator(secret).Code(t, time.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/connexion/activation"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#codes-de-secours")),
		chromedp.Click(chromedp.CSS("#continuer")),
		chromedp.WaitVisible(chromedp.CSS("nav.menu, #accepter-charte")),
	)
	if err != nil {
		t.Fatalf("%s: enrol the second factor: %v", email, err)
	}
	// The charter in force, when not accepted yet, comes before any page (R43).
	asked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#accepter-charte") !== null`))
	if err == nil && asked {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#accepter-charte")), chromedp.WaitVisible(chromedp.CSS("nav.menu")))
	}
	if err != nil {
		t.Fatalf("%s: accept the charter: %v", email, err)
	}
}
