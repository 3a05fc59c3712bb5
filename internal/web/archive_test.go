package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/record"
)

// The archive on the person page (R35). Failures name the check and the page heading, never a
// value.

const archiveJustification = "Contestation de la résiliation par l'assuré : vérifier la date de fin du contrat"

// archiveContract archives the seeded contract, as the lifecycle does at its end.
func (w *world) archiveContract() {
	w.t.Helper()
	if _, err := w.a.DB.ExecContext(context.Background(), `UPDATE contracts SET archived = TRUE WHERE id = $1`, w.ids["contract"]); err != nil {
		w.t.Fatal(err)
	}
}

// TestR35_DPOOpensAnArchivedContractFromThePersonPage: on the person page, only the DPO has an
// « Archives » section, which names the archived contract by its clear columns only; a too short
// justification is refused beside the row and records nothing; a written one opens the contract
// decrypted on « Archive consultée », and the reading is recorded.
func TestR35_DPOOpensAnArchivedContractFromThePersonPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		w.archiveContract()
		action := w.path("/archives/contracts/{contract}")
		personID := w.path("{person}")

		res, body := w.request("GET", w.path("/personnes/{person}"), "dpo", nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("DPO person page: status %d (%s)", res.StatusCode, heading(body))
		}
		for _, want := range []string{`<h2 id="archives-titre">Archives</h2>`, `action="` + action + `"`, "Justification écrite", w.path("Contrat n° {contract}")} {
			if !strings.Contains(body, want) {
				t.Errorf("the DPO's archive section lacks %q", want)
			}
		}
		for _, s := range []shown{valuePolicy, valueAnnualPremium, {"the insurer", "Mutuelle Test"}} {
			if strings.Contains(body, s.text) {
				t.Errorf("the DPO's person page shows %s before any justification", s.what)
			}
		}
		for _, dept := range []string{"contrats", "support", "devis", "prospection"} {
			if _, body := w.request("GET", w.path("/personnes/{person}"), dept, nil, nil); strings.Contains(body, "archives-titre") {
				t.Errorf("%s sees the archive section", dept)
			}
		}
		if res, _ := w.request("GET", w.path("/contrats/{contract}"), "contrats", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("contrats opens the archived contract: status %d, want 403", res.StatusCode)
		}

		refusals := []struct {
			name, dept, path, justification string
			status                          int
			says                            string
		}{
			{"the contracts department", "contrats", action, archiveJustification, http.StatusForbidden, "Votre service n'a pas accès"},
			{"no justification", "dpo", action, "", http.StatusUnprocessableEntity, "Justification écrite : une justification écrite est obligatoire"},
			{"a too short justification", "dpo", action, "Vérification", http.StatusUnprocessableEntity, "Justification écrite : 20 caractères au moins"},
			{"a ticket that is not archived", "dpo", w.path("/archives/tickets/{ticket}"), archiveJustification, http.StatusConflict, "n'est pas archivée"},
		}
		for _, c := range refusals {
			res, body := w.request("POST", c.path, c.dept, url.Values{"justification": {c.justification}, "personne": {personID}}, nil)
			if res.StatusCode != c.status || !strings.Contains(body, c.says) {
				t.Errorf("%s: status %d (%s), want %d saying %q", c.name, res.StatusCode, heading(body), c.status, c.says)
			}
			if strings.Contains(body, policyNumber) {
				t.Errorf("%s: the refusal shows the policy number", c.name)
			}
			if n := w.count("archive_accesses"); n != 0 {
				t.Errorf("%s: %d archive readings recorded, want none", c.name, n)
			}
		}

		res, body = w.request("POST", action, "dpo", url.Values{"justification": {archiveJustification}, "personne": {personID}}, nil)
		if res.StatusCode != http.StatusOK || heading(body) != "Archive consultée" {
			t.Fatalf("the DPO's justified reading: status %d (%s)", res.StatusCode, heading(body))
		}
		for _, want := range []shown{valuePolicy, valueAnnualPremium, {"the logging notice", "Cette consultation a été enregistrée"}} {
			if !strings.Contains(body, want.text) {
				t.Errorf("the « Archive consultée » page lacks %s", want.what)
			}
		}
		if n := w.count("archive_accesses"); n != 1 {
			t.Errorf("%d archive readings recorded, want 1", n)
		}
	})
}

// TestR35_DPODownloadsAnArchivedDocumentOnAJustification: the « Archive consultée » page of an
// archived document offers its file; the download is a second justified reading, recorded like the
// first, under a neutral file name; without a justification nothing is sent and nothing recorded.
func TestR35_DPODownloadsAnArchivedDocumentOnAJustification(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		pdf := []byte("%PDF-1.4\n% archive\n%%EOF\n")
		doc, err := a.Records.Create(context.Background(), a.Auth.Actor(w.users["contrats"]), "documents", record.Input{Channel: "email",
			Fields: map[string]json.RawMessage{"person_id": json.RawMessage(w.path("{person}")), "contract_id": json.RawMessage(w.path("{contract}")),
				"kind": json.RawMessage(`"certificate"`), "filename": json.RawMessage(`"attestation.pdf"`), "content_type": json.RawMessage(`"application/pdf"`),
				"content": json.RawMessage(`"` + base64.StdEncoding.EncodeToString(pdf) + `"`)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.DB.ExecContext(context.Background(), `UPDATE documents SET archived = TRUE WHERE id = $1`, doc.ID); err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(doc.ID, 10)
		form := url.Values{"justification": {archiveJustification}, "personne": {w.path("{person}")}}
		res, body := w.request("POST", "/archives/documents/"+id, "dpo", form, nil)
		file := "/archives/documents/" + id + "/fichier"
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+file+`"`) || !strings.Contains(body, "Télécharger le document") {
			t.Fatalf("the archived document's page does not offer its file: status %d (%s)", res.StatusCode, heading(body))
		}
		if res, _ := w.request("POST", file, "dpo", url.Values{"personne": {w.path("{person}")}}, nil); res.StatusCode != http.StatusUnprocessableEntity || w.count("archive_accesses") != 1 {
			t.Errorf("a download without justification: status %d, %d readings recorded; want 422 and 1", res.StatusCode, w.count("archive_accesses"))
		}
		if res, _ := w.request("POST", file, "contrats", form, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the contracts department downloads the archived file: status %d, want 403", res.StatusCode)
		}
		res, body = w.request("POST", file, "dpo", form, nil)
		if res.StatusCode != http.StatusOK || body != string(pdf) || res.Header.Get("Content-Type") != "application/pdf" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="archive-documents-`+id+`.pdf"` {
			t.Errorf("download: status %d, type %q, disposition %q, content as stored: %v", res.StatusCode, res.Header.Get("Content-Type"),
				res.Header.Get("Content-Disposition"), body == string(pdf))
		}
		if n := w.count("archive_accesses"); n != 2 {
			t.Errorf("%d archive readings recorded, want 2 (the page, then the file)", n)
		}
	})
}

// TestBrowser_DPOOpensTheArchive: in a real browser, the DPO writes a justification in the form of
// the « Archives » section and lands on « Archive consultée ».
func TestBrowser_DPOOpensTheArchive(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	w.archiveContract()
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	ctx := startBrowser(t)
	browserLogin(t, ctx, srv.URL, "dpo")
	field := w.path("#j-contracts-{contract}")
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+w.path("/personnes/{person}")),
		chromedp.WaitVisible(chromedp.CSS(field)),
		chromedp.SendKeys(chromedp.CSS(field), archiveJustification),
	)
	if err != nil {
		t.Fatalf("fill in the justification: %v", err)
	}
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(w.path(`form[action="/archives/contracts/{contract}"] button[type="submit"]`))))
	if err != nil {
		t.Fatalf("submit the justification: %v", err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("after submitting the justification: status %d", res.Status)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Archive consultée", "Cette consultation a été enregistrée", policyNumber} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after the justification lacks an expected text (%d characters)", len(want))
		}
	}
	if n := w.count("archive_accesses"); n != 1 {
		t.Errorf("%d archive readings recorded, want 1", n)
	}
}
