package web_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/internal/app/apptest"
)

// TestR16_BrowserDPOSeesWhoAccessedAPerson: after a scripted series of reads by three departments,
// the DPO, in a real browser, finds on the person's page which departments created and read the
// data, by day with a count, and no staff member's name; and the audit page, filtered by that
// person, lists those reads with the departments.
func TestR16_BrowserDPOSeesWhoAccessedAPerson(t *testing.T) {
	w := newAuditWorld(t, apptest.New(t, "sqlite"))
	server := httptest.NewServer(w.h)
	defer server.Close()
	srv := server.URL
	dpo := startBrowser(t)
	browserLogin(t, dpo, srv, "dpo")
	today := time.Now().UTC().Format("02/01/2006")

	err := chromedp.Do(dpo,
		chromedp.Navigate(srv+w.path("/personnes/{scripted}")),
		chromedp.WaitVisible(chromedp.CSS("#acces-titre")),
	)
	if err != nil {
		t.Fatalf("the person page: %v", err)
	}
	rows, err := chromedp.Run(dpo, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("section.accesses tbody tr")].map(tr => [...tr.cells].map(td => td.innerText.trim()))`))
	if err != nil {
		t.Fatalf("read who accessed: %v", err)
	}
	page, err := chromedp.Run(dpo, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("read the person page: %v", err)
	}
	want := scriptedAccesses(today)
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("who accessed, as the browser shows it:\n got %q\nwant %q", rows, want)
	}
	for _, s := range staffNames {
		if strings.Contains(page, s.text) {
			t.Errorf("the DPO's person page shows %s", s.what)
		}
	}

	err = chromedp.Do(dpo,
		chromedp.Navigate(srv+"/audit"),
		chromedp.WaitVisible(chromedp.CSS("#f-personne")),
		chromedp.SendKeys(chromedp.CSS("#f-personne"), w.path("{scripted}")),
		chromedp.Click(chromedp.CSS(`form.audit-filter button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.status")),
	)
	if err != nil {
		t.Fatalf("the audit page filtered by person: %v", err)
	}
	departments, err := chromedp.Run(dpo, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.audit tbody tr")].filter(tr => tr.cells[1].innerText.trim() === "consultations").map(tr => tr.cells[3].querySelector(".sub").innerText.trim())`))
	if err != nil {
		t.Fatalf("read the audit rows: %v", err)
	}
	slices.Sort(departments)
	for _, d := range []string{"Devis", "Délégué à la protection des données", "Prospection commerciale", "Support client"} {
		if !slices.Contains(departments, d) {
			t.Errorf("the audit page filtered by the person lists reads by %q, want one by %s", departments, d)
		}
	}
}
