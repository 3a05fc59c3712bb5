package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/campaign"
	"vigie/internal/outbox"
)

// TestR18_R20_R28_StaffConsentsOnThePersonPage: a consent told by phone is recorded from the
// person page with the agent's name; the campaign list checks it when it is made; an objection
// takes the person out of prospection's sight at once; a bad form records nothing.
func TestR18_R20_R28_StaffConsentsOnThePersonPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		person := w.path("/personnes/{person}")
		_, page := w.request("GET", person, "prospection", nil, nil)
		if !strings.Contains(page, "Consentements et opposition") || !strings.Contains(page, "jamais demandé") {
			t.Fatal("the person page has no consent section")
		}
		campaign := func() string {
			t.Helper()
			res, body := w.request("GET", "/campagnes?canal=prospection_email", "prospection", nil, nil)
			if res.StatusCode != 200 {
				t.Fatalf("campaign: %d", res.StatusCode)
			}
			return body
		}
		if strings.Contains(campaign(), email) {
			t.Fatal("a person without consent is in the campaign")
		}
		bad := url.Values{"purpose": {"prospection_email"}, "granted": {"peut-être"}, "channel": {"phone"}}
		if res, _ := w.request("POST", person+"/consentements", "prospection", bad, nil); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a bad choice: %d", res.StatusCode)
		}
		if w.count("consents") != 0 {
			t.Fatal("a refused form recorded a consent")
		}
		ok := url.Values{"purpose": {"prospection_email"}, "granted": {"true"}, "channel": {"phone"}, "given_at": {"2026-11-20T10:30"}}
		if res, _ := w.request("POST", person+"/consentements", "prospection", ok, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("record a consent: %d", res.StatusCode)
		}
		_, page = w.request("GET", person, "prospection", nil, nil)
		if !strings.Contains(page, "accordé") || !strings.Contains(page, "Agent prospection") || !strings.Contains(page, "20/11/2026") {
			t.Error("the recorded consent does not show who and when")
		}
		if !strings.Contains(campaign(), email) {
			t.Fatal("the consenting person is not in the campaign")
		}
		if res, _ := w.request("POST", person+"/opposition", "support", url.Values{"channel": {"letter"}}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("objection: %d", res.StatusCode)
		}
		if strings.Contains(campaign(), email) {
			t.Error("the objecting person is still in the campaign")
		}
		if res, _ := w.request("GET", person, "prospection", nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("prospection still opens the objecting person: %d", res.StatusCode)
		}
		if res, _ := w.request("GET", "/campagnes", "devis", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the quotes department opens the campaigns: %d", res.StatusCode)
		}
	})
}

// TestR19_CampaignSentFromTheCampaignPage: the e-mail campaign page offers the form only when the
// public address of the withdrawal link is configured; a text carrying a social-security number
// is refused beside its field with the text kept and nothing queued; a good one is queued for
// every person on the list; another department may not send.
func TestR19_CampaignSentFromTheCampaignPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		if _, body := w.request("GET", "/campagnes?canal=prospection_email", "prospection", nil, nil); !strings.Contains(body, "n'est pas configuré") {
			t.Error("without VIGIE_PUBLIC_URL the page does not say that e-mail campaigns cannot leave")
		}
		a.Outbox = outbox.New(a.DB, a.Keys, a.Now, outbox.WithProspection(campaign.NewWithdrawal(a.Consent, "https://vigie.courtier.example")))
		a.Campaigns = campaign.New(a.DB, a.Records, a.Consent, a.Outbox, a.Audit, a.Now)
		ok := url.Values{"purpose": {"prospection_email"}, "granted": {"true"}, "channel": {"phone"}, "given_at": {"2026-11-20T10:30"}}
		if res, _ := w.request("POST", w.path("/personnes/{person}")+"/consentements", "prospection", ok, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("record a consent: %d", res.StatusCode)
		}
		if _, body := w.request("GET", "/campagnes?canal=prospection_email", "prospection", nil, nil); !strings.Contains(body, `action="/campagnes/envoi"`) {
			t.Fatal("the e-mail campaign page has no sending form")
		}
		nir := url.Values{"objet": {"Offre d'hiver"}, "texte": {"Votre numéro de sécurité sociale : 1 85 03 29 019 004 05."}}
		res, body := w.request("POST", "/campagnes/envoi", "prospection", nir, nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "numéro de sécurité sociale, qui ne doit pas être collecté") ||
			!strings.Contains(body, `value="Offre d`) || w.count("outbox") != 0 {
			t.Errorf("a campaign carrying a NIR: status %d, %d messages queued", res.StatusCode, w.count("outbox"))
		}
		if res, _ := w.request("POST", "/campagnes/envoi", "devis", url.Values{"objet": {"Offre"}, "texte": {"Bonjour"}}, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("the quotes department sends a campaign: %d", res.StatusCode)
		}
		res, body = w.request("POST", "/campagnes/envoi", "prospection", url.Values{"objet": {"Offre d'hiver"}, "texte": {"Bonjour,\nDécouvrez notre offre."}}, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "1 message(s) mis en file d'envoi") || w.count("outbox") != 1 {
			t.Errorf("sending: status %d (%s), %d messages queued; want 1", res.StatusCode, heading(body), w.count("outbox"))
		}
	})
}
