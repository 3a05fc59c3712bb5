package web_test

import (
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

// TestR44_DashboardShowsEveryCheck: only the DPO opens the compliance dashboard, which lists every
// check of the evidence report with its outcome and findings, draws the open requests by time
// left, and downloads the report as PDF and HTML.
func TestR44_DashboardShowsEveryCheck(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		res, body := w.request("GET", "/preuves", "dpo", nil, nil)
		if res.StatusCode != 200 {
			t.Fatalf("dashboard: status %d (%s)", res.StatusCode, heading(body))
		}
		for _, want := range []string{"<h1>Tableau de bord de conformité</h1>", `id="controle-audit"`, `id="controle-encryption"`,
			`id="controle-retention"`, `id="controle-breaches"`, `id="controle-charter"`, "Demandes des personnes ouvertes, par délai restant",
			"<svg", `href="/preuves/rapport.pdf"`, `href="/preuves" aria-current="page">Tableau de bord`} {
			if !strings.Contains(body, want) {
				t.Errorf("the dashboard lacks %q", want)
			}
		}
		res, body = w.request("GET", "/preuves/rapport.pdf", "dpo", nil, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(body, "%PDF-") || res.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("PDF report: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res, body := w.request("GET", "/preuves/rapport.html", "dpo", nil, nil); res.StatusCode != 200 || !strings.Contains(body, "Rapport de conformité RGPD") {
			t.Errorf("HTML report: status %d", res.StatusCode)
		}
		for _, dept := range []string{"admin", "performance", "devis", "support"} {
			if res, _ := w.request("GET", "/preuves", dept, nil, nil); res.StatusCode != 403 {
				t.Errorf("%s opens the dashboard: status %d", dept, res.StatusCode)
			}
			if res, _ := w.request("GET", "/preuves/rapport.pdf", dept, nil, nil); res.StatusCode != 403 {
				t.Errorf("%s downloads the report: status %d", dept, res.StatusCode)
			}
		}
	})
}
