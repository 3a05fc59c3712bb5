package web_test

import (
	"context"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/lifecycle"
	"vigie/internal/register"
)

// The DPO's page « Registre des traitements » (R38). The register names no person; failures name
// the scenario and the page heading.

// TestR38_RegisterPageScenarios: only the DPO opens the register, which shows the version in
// force, a sheet per activity and the versions with their downloads; each download is the
// version in its format, as an attachment; a rule changed on the lifecycle makes the page show a
// new version with the new duration, while the first one still downloads as it was.
func TestR38_RegisterPageScenarios(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		a.Config.Controller = consent.Controller{Name: "Courtier d'essai", Address: "1 rue de l'Essai, 69002 Lyon", DPOEmail: "dpo@essai.example"}
		a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, a.Config.Controller, false, a.Log, a.Now)
		w := newWorld(t, a)
		page := []string{"<h1>Registre des traitements</h1>", "Version en vigueur : n° 1", "Courtier d'essai", "dpo@essai.example",
			`href="/registre" aria-current="page">Registre des traitements`,
			`href="/registre/versions/1/pdf"`, `href="/registre/versions/1/csv"`, `href="/registre/versions/1/html"`, `href="/registre/versions/1/json"`}
		for _, act := range a.Dict.Purposes {
			page = append(page, act.Name, act.LegalBasis)
		}
		for _, p := range register.Art30 {
			page = append(page, `data-art30="`+p.Letter+`"`)
		}
		scenarios := []struct {
			name, dept, path string
			status           int
			contentType      string
			show, hide       []string
		}{
			{name: "the DPO sees the register", dept: "dpo", path: "/registre", status: 200, contentType: "text/html",
				show: page, hide: []string{"<script", "Registre incomplet"}},
			{name: "prospection is refused", dept: "prospection", path: "/registre", status: 403,
				show: []string{"tenu par le DPO"}, hide: []string{"Registre des traitements</a>"}},
			{name: "admin is refused", dept: "admin", path: "/registre", status: 403},
			{name: "contracts may not download", dept: "contrats", path: "/registre/versions/1/pdf", status: 403},
			{name: "the PDF", dept: "dpo", path: "/registre/versions/1/pdf", status: 200, contentType: "application/pdf", show: []string{"%PDF-"}},
			{name: "the CSV", dept: "dpo", path: "/registre/versions/1/csv", status: 200, contentType: "text/csv",
				show: []string{"\ufeffFiche;Traitement;Rubrique;Champ;Valeur;Art. 30(1)", "Délégué à la protection des données (DPO)"}},
			{name: "the HTML", dept: "dpo", path: "/registre/versions/1/html", status: 200, contentType: "text/html",
				show: []string{"<!DOCTYPE html>", "<h1>Registre des activités de traitement</h1>"}},
			{name: "the JSON", dept: "dpo", path: "/registre/versions/1/json", status: 200, contentType: "application/json",
				show: []string{`"format": "vigie-registre-art30/1"`}},
			{name: "an unknown version", dept: "dpo", path: "/registre/versions/99/pdf", status: 404},
			{name: "an unknown format", dept: "dpo", path: "/registre/versions/1/docx", status: 404},
		}
		for _, sc := range scenarios {
			res, body := w.request("GET", sc.path, sc.dept, nil, nil)
			if res.StatusCode != sc.status {
				t.Errorf("%s: status %d (%s), want %d", sc.name, res.StatusCode, heading(body), sc.status)
				continue
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, sc.contentType) {
				t.Errorf("%s: content type %q, want %s", sc.name, ct, sc.contentType)
			}
			if strings.Contains(sc.path, "/versions/") && sc.status == 200 {
				if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="registre-traitements-v1.`) {
					t.Errorf("%s: disposition %q", sc.name, cd)
				}
			}
			for _, s := range sc.show {
				if !strings.Contains(body, s) {
					t.Errorf("%s: the answer lacks %q", sc.name, s)
				}
			}
			for _, s := range sc.hide {
				if strings.Contains(body, s) {
					t.Errorf("%s: the answer shows %q", sc.name, s)
				}
			}
		}

		if _, err := a.Lifecycle.SetRule(context.Background(), lifecycle.Staff{UserID: w.users["dpo"].ID, Department: "dpo"},
			lifecycle.RuleChange{Code: "prospect", Months: 48, Action: "delete", Reason: "Nouvelle recommandation de la CNIL"}); err != nil {
			t.Fatal(err)
		}
		_, body := w.request("GET", "/registre", "dpo", nil, nil)
		for _, s := range []string{"Version en vigueur : n° 2", "48 mois (4 ans)", "durées de conservation", `href="/registre/versions/2/pdf"`, `href="/registre/versions/1/pdf"`} {
			if !strings.Contains(body, s) {
				t.Errorf("after the rule change, the page lacks %q", s)
			}
		}
		_, old := w.request("GET", "/registre/versions/1/csv", "dpo", nil, nil)
		if strings.Contains(old, "48 mois") || !strings.Contains(old, "Prospects sans contact : 3 ans") {
			t.Error("version 1 no longer downloads as it was")
		}
	})
}
