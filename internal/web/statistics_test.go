package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/demo"
)

// The performance team's statistics page (R37). Failures name the check, never a value.

// TestR37_StatisticsPageScenarios: the performance team and the DPO open the statistics page,
// with its charts, the extract's form and the statistics' dictionary; the other departments are
// refused; a k below 2 is refused beside its field; a check states the k reached and the
// suppression rate and links the download, whose excel-fr bytes open in a French spreadsheet;
// the performance user reads no personal data anywhere.
func TestR37_StatisticsPageScenarios(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		if _, err := demo.Generate(context.Background(), a, demo.Options{Persons: 200, Seed: 4}); err != nil {
			t.Fatalf("demo data: %v", err)
		}
		check := "/statistiques?k=5&colonne=month&colonne=zone&colonne=price&format=excel-fr&verifier=1"
		for _, sc := range []struct {
			name, dept, path string
			status           int
			show             []string
		}{
			{"the performance team sees the page", "performance", "/statistiques", 200, []string{"<h1>Statistiques anonymes</h1>",
				"<svg", "Transformation par région", "Transformation par tranche de prix", "Transformation par trimestre",
				`name="colonne" value="zone"`, "Dictionnaire de données — Statistiques", "département → région → pays",
				`href="/statistiques" aria-current="page">Statistiques anonymes`}},
			{"the DPO sees the page", "dpo", "/statistiques", 200, []string{"<h1>Statistiques anonymes</h1>"}},
			{"prospection is refused", "prospection", "/statistiques", 403, []string{"réservées au service performance"}},
			{"quotes are refused", "devis", "/statistiques", 403, nil},
			{"admin is refused", "admin", "/statistiques", 403, nil},
			{"support may not download", "support", "/statistiques/extrait.csv?k=10", 403, nil},
			{"k = 1 is refused beside its field", "performance", "/statistiques?k=1&verifier=1", 422,
				[]string{"k doit valoir au moins 2", `<a href="#f-k">Aller au champ</a>`}},
			{"an empty period is refused", "performance", "/statistiques?from=2025-06&to=2025-01&verifier=1", 422,
				[]string{"période vide"}},
			{"a check states k and the suppression rate", "performance", check, 200,
				[]string{`id="verification"`, "k atteint :", "Taux de suppression", "Niveaux de généralisation", "Télécharger l'extrait"}},
		} {
			res, body := w.request("GET", sc.path, sc.dept, nil, nil)
			if res.StatusCode != sc.status {
				t.Errorf("%s: status %d (%s), want %d", sc.name, res.StatusCode, heading(body), sc.status)
				continue
			}
			for _, s := range sc.show {
				if !strings.Contains(body, s) {
					t.Errorf("%s: the page lacks %q", sc.name, s)
				}
			}
		}

		res, body := w.request("GET", "/statistiques/extrait.csv?k=5&colonne=month&colonne=zone&colonne=price&format=excel-fr", "performance", nil, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("download: status %d, disposition %q", res.StatusCode, res.Header.Get("Content-Disposition"))
		}
		if !strings.HasPrefix(body, "\uFEFFPériode;Zone géographique;Tranche de prix;Transformé en contrat\r\n") {
			t.Errorf("the excel-fr extract does not start with a BOM and its French header")
		}
		if res, _ := w.request("GET", "/statistiques/extrait.csv?k=0", "performance", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a refused download: status %d, want a redirect to the page with the error", res.StatusCode)
		}

		// The performance department reads no personal data anywhere.
		for _, path := range []string{"/personnes", "/devis", "/contrats", "/tickets", "/personnes/1", "/audit", "/droits", "/cycle-de-vie"} {
			if res, body := w.request("GET", path, "performance", nil, nil); res.StatusCode == http.StatusOK {
				t.Errorf("performance opens %s (%s)", path, heading(body))
			}
		}
	})
}

// TestR37_BrowserPerformanceDownloadsTheExtract: the performance user opens the statistics page
// from the menu in a real browser, keeps three columns, checks the anonymisation, downloads the
// excel-fr extract, and the file is the French spreadsheet's CSV.
func TestR37_BrowserPerformanceDownloadsTheExtract(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	if _, err := demo.Generate(context.Background(), a, demo.Options{Persons: 200, Seed: 4}); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	perf := startBrowser(t)
	browserLogin(t, perf, srv.URL, "performance")
	downloads := t.TempDir()
	_, err := chromedp.CallBrowser(perf, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	if err != nil {
		t.Fatalf("let the browser download: %v", err)
	}
	err = chromedp.Do(perf,
		chromedp.Click(chromedp.CSS(`nav.menu a[href="/statistiques"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-k")),
	)
	if err != nil {
		t.Fatalf("open the statistics page from the menu: %v", err)
	}
	if n, err := chromedp.Run(perf, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg").length`)); err != nil || n != 3 {
		t.Errorf("%d charts (err %v), want 3", n, err)
	}
	keep := `document.querySelectorAll('input[name="colonne"]').forEach(c => c.checked = ["month", "zone", "price"].includes(c.value)); true`
	if _, err := chromedp.Run(perf, chromedp.Evaluate[bool](keep)); err != nil {
		t.Fatalf("keep three columns: %v", err)
	}
	err = chromedp.Do(perf,
		chromedp.SetValue(chromedp.CSS("#f-k"), "5"),
		chromedp.Click(chromedp.CSS(`button[name="verifier"]`)),
		chromedp.WaitVisible(chromedp.CSS("#verification")),
	)
	if err != nil {
		t.Fatalf("check the anonymisation: %v", err)
	}
	statement, err := chromedp.Run(perf, chromedp.Text(chromedp.CSS("#verification")))
	if err != nil || !strings.Contains(statement, "k atteint") || !strings.Contains(statement, "Taux de suppression") {
		t.Fatalf("the check does not state the k reached and the suppression rate (err %v)", err)
	}
	if err := chromedp.Do(perf, chromedp.Click(chromedp.CSS(`#verification a[download]`))); err != nil {
		t.Fatalf("download: %v", err)
	}
	var file []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		matches, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
		if len(matches) == 1 {
			if file, err = os.ReadFile(matches[0]); err == nil && bytes.HasSuffix(file, []byte("\r\n")) {
				break
			}
		}
	}
	if !bytes.HasPrefix(file, []byte("\uFEFFPériode;Zone géographique;Tranche de prix;Transformé en contrat\r\n")) {
		t.Fatalf("the downloaded file (%d bytes) is not the excel-fr extract", len(file))
	}
	if bytes.Count(file, []byte("\r\n")) < 10 {
		t.Errorf("the downloaded extract has %d lines", bytes.Count(file, []byte("\r\n")))
	}
}
