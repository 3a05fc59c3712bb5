package api_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/campaign"
	"vigie/internal/consent"
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
	"vigie/internal/record"
)

const campaignPublicURL = "https://vigie.courtier.example"

// withPublicURL gives the app the campaign service and outbox of an installation whose public
// address (VIGIE_PUBLIC_URL) is configured, and returns that outbox.
func withPublicURL(a *app.App) *outbox.Outbox {
	box := outbox.New(a.DB, a.Keys, a.Now, outbox.WithProspection(campaign.NewWithdrawal(a.Consent, campaignPublicURL)))
	a.Campaigns = campaign.New(a.DB, a.Records, a.Consent, box, a.Audit, a.Now)
	return box
}

// campaignPerson creates a person with an address and records their e-mail prospection choices in
// order, the latest one standing.
func campaignPerson(t *testing.T, a *app.App, local string, choices ...bool) int64 {
	t.Helper()
	ctx := context.Background()
	p, err := a.Records.Create(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "persons", record.Input{Channel: "web_form",
		Text: map[string]string{"first_name": "Anne", "last_name": "Kervella", "email": local + "@exemple.fr"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, granted := range choices {
		if err := a.Consent.Record(ctx, p.ID, []consent.Choice{{Purpose: campaign.Purpose, Granted: granted}}, consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox}); err != nil {
			t.Fatal(err)
		}
	}
	return p.ID
}

// outboxPersons lists the person ids of the queued messages, in order (ids only, never addresses).
func outboxPersons(t *testing.T, a *app.App) []int64 {
	t.Helper()
	rows, err := a.DB.QueryContext(context.Background(), `SELECT person_id FROM outbox ORDER BY person_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestR19_CampaignSentThroughTheAPIReachesOnlyThoseWhoConsent: the prospection department sends a
// campaign with POST /api/v1/prospection/campaigns; it is accepted (202) with the counts, one
// message is queued per person whose latest choice for e-mail prospection is a grant — not the ones
// who refused, withdrew, never answered or objected — and each message leaves with the person's
// signed link to the public withdrawal page.
func TestR19_CampaignSentThroughTheAPIReachesOnlyThoseWhoConsent(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		w := newWorld(t, a) // its person has made no choice
		accepts := []int64{campaignPerson(t, a, "accepte", true), campaignPerson(t, a, "accepte.encore", false, true)}
		campaignPerson(t, a, "refuse", false)
		campaignPerson(t, a, "a.retire", true, false)
		campaignPerson(t, a, "muet")
		objects := campaignPerson(t, a, "oppose", true)
		if err := a.Consent.Object(ctx, objects, "prospection", consent.Proof{Channel: "letter"}); err != nil {
			t.Fatal(err)
		}
		box := withPublicURL(a)

		status, body := w.do("prospection", "POST", "/api/v1/prospection/campaigns", `{"subject":"Votre assurance auto à prix réduit","body":"Bonjour,\nDécouvrez notre offre d'hiver.\n"}`)
		if status != 202 || body["queued"] != float64(2) || body["skipped"] != float64(0) {
			t.Fatalf("send: %d, queued %v, skipped %v; want 202 with the 2 persons who accept e-mail prospection", status, body["queued"], body["skipped"])
		}
		if got := outboxPersons(t, a); !slices.Equal(got, accepts) {
			t.Fatalf("messages queued for persons %v, want %v", got, accepts)
		}

		srv := smtptest.Start(t)
		if sent, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, "Courtier <offres@exemple.fr>", 10); err != nil || sent != 2 {
			t.Fatalf("sent %d (%v), want 2", sent, err)
		}
		var linked []int64
		for i, got := range srv.Messages() {
			m, err := mail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
			_, after, ok := strings.Cut(string(text), outbox.WithdrawalLine)
			link, _, _ := strings.Cut(after, "\r\n")
			link = strings.TrimSpace(link)
			u, err := url.Parse(link)
			if !ok || err != nil || !strings.HasPrefix(link, campaignPublicURL+"/consentement/retrait?") {
				t.Errorf("message %d carries no link to the public withdrawal page", i)
				continue
			}
			p, _ := strconv.ParseInt(u.Query().Get("p"), 10, 64)
			if !a.Consent.CheckWithdrawalToken(p, u.Query().Get("f"), u.Query().Get("t")) || m.Header.Get("List-Unsubscribe") != "<"+link+">" {
				t.Errorf("message %d: the withdrawal link is not the person's signed one, in the text and in List-Unsubscribe", i)
			}
			linked = append(linked, p)
		}
		slices.Sort(linked)
		if !slices.Equal(linked, accepts) {
			t.Errorf("withdrawal links for persons %v, want %v", linked, accepts)
		}
	})
}

// TestR19_CampaignRefusedThroughTheAPIQueuesNothing: a text carrying a social-security number, a
// missing or empty member, a body that is not a JSON object, an unknown member, a value of the
// wrong type, another department, an installation without the public address of the withdrawal
// page: each is refused with the field and the rule it broke (or the reason), and not one message
// is queued although a person accepts e-mail prospection.
func TestR19_CampaignRefusedThroughTheAPIQueuesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		campaignPerson(t, a, "accepte", true)
		unconfigured := a.Campaigns // as app.Open built it: the test config has no VIGIE_PUBLIC_URL
		withPublicURL(a)
		configured := a.Campaigns
		cases := []struct {
			name, dep, body string
			noPublicURL     bool
			status          int
			code            string
			field, rule     string // the refused field and rule, for 400
			says            string // a fragment of the message
		}{
			{name: "a social-security number in the text", dep: "prospection", body: `{"subject":"Offre d'hiver","body":"Votre numéro de sécurité sociale : 1 85 03 29 019 004 05."}`,
				status: 400, code: "validation_failed", field: "body", rule: "sensitive_nir"},
			{name: "no subject", dep: "prospection", body: `{"body":"Bonjour"}`, status: 400, code: "validation_failed", field: "subject", rule: "required"},
			{name: "a null subject", dep: "prospection", body: `{"subject":null,"body":"Bonjour"}`, status: 400, code: "validation_failed", field: "subject", rule: "required"},
			{name: "an empty text", dep: "prospection", body: `{"subject":"Offre d'hiver","body":"  "}`, status: 400, code: "validation_failed", field: "body", rule: "required"},
			{name: "a subject on two lines", dep: "prospection", body: `{"subject":"Offre\nd'hiver","body":"Bonjour"}`, status: 400, code: "validation_failed", field: "subject", rule: "single_line"},
			{name: "not JSON", dep: "prospection", body: `objet=Offre&texte=Bonjour`, status: 400, code: "validation_failed", field: "body", rule: "json.object"},
			{name: "a JSON array", dep: "prospection", body: `["Offre","Bonjour"]`, status: 400, code: "validation_failed", field: "body", rule: "json.object"},
			{name: "an unknown member", dep: "prospection", body: `{"subject":"Offre","body":"Bonjour","to":"tous"}`, status: 400, code: "validation_failed", field: "to", rule: "unknown_field"},
			{name: "a subject of the wrong type", dep: "prospection", body: `{"subject":42,"body":"Bonjour"}`, status: 400, code: "validation_failed", field: "subject", rule: "type"},
			{name: "the quotes department", dep: "devis", body: `{"subject":"Offre","body":"Bonjour"}`, status: 403, code: "forbidden", says: "service prospection"},
			{name: "the DPO", dep: "dpo", body: `{"subject":"Offre","body":"Bonjour"}`, status: 403, code: "forbidden", says: "service prospection"},
			{name: "no token", dep: "", body: `{"subject":"Offre","body":"Bonjour"}`, status: 401, code: "unauthenticated"},
			{name: "no public address configured", dep: "prospection", body: `{"subject":"Offre d'hiver","body":"Bonjour"}`, noPublicURL: true,
				status: 503, code: "public_url_not_configured", says: "VIGIE_PUBLIC_URL"},
		}
		for _, c := range cases {
			a.Campaigns = configured
			if c.noPublicURL {
				a.Campaigns = unconfigured
			}
			status, body := w.do(c.dep, "POST", "/api/v1/prospection/campaigns", c.body)
			if status != c.status || body["error"] != c.code {
				t.Errorf("%s: %d %v, want %d %s", c.name, status, body["error"], c.status, c.code)
				continue
			}
			if c.field != "" && !namesRule(body, c.field, c.rule) {
				t.Errorf("%s: fields %v, want %s/%s", c.name, body["fields"], c.field, c.rule)
			}
			if msg, _ := body["message"].(string); c.says != "" && !strings.Contains(msg, c.says) {
				t.Errorf("%s: the message does not say %q", c.name, c.says)
			}
		}
		if n := w.count("outbox"); n != 0 {
			t.Errorf("%d messages queued by refused campaigns", n)
		}
	})
}

// namesRule reports whether an error answer names the field with the rule.
func namesRule(body map[string]any, field, rule string) bool {
	issues, _ := body["fields"].([]any)
	for _, it := range issues {
		if f := it.(map[string]any); f["field"] == field && f["rule"] == rule {
			return true
		}
	}
	return false
}
