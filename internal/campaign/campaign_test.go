package campaign_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
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
	"vigie/internal/rights"
)

var prospection = record.Actor{Department: "prospection", Purposes: []string{"prospection"}}

const publicURL = "https://vigie.courtier.example"

// service is the campaign service of an installation whose public address is configured.
func service(a *app.App) (*campaign.Service, *outbox.Outbox) {
	box := outbox.New(a.DB, a.Keys, a.Now, outbox.WithProspection(campaign.NewWithdrawal(a.Consent, publicURL)))
	return campaign.New(a.DB, a.Records, a.Consent, box, a.Audit, a.Now), box
}

func outboxRows(t *testing.T, a *app.App) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestR19_CampaignReachesOnlyThoseWhoConsentWithTheWithdrawalLink: a campaign is queued for the
// persons whose latest choice for e-mail prospection is a grant — not the ones who refused,
// withdrew, objected or are restricted — each message leaves with its signed link to the public
// withdrawal page, and a withdrawal between queueing and sending cancels the message.
func TestR19_CampaignReachesOnlyThoseWhoConsentWithTheWithdrawalLink(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		proof := consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox}
		person := func(name string, choices ...bool) int64 {
			p, err := a.Records.Create(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "persons", record.Input{Channel: "web_form",
				Text: map[string]string{"first_name": "Anne", "last_name": "Kervella", "email": name + "@exemple.fr"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, granted := range choices {
				if err := a.Consent.Record(ctx, p.ID, []consent.Choice{{Purpose: campaign.Purpose, Granted: granted}}, proof); err != nil {
					t.Fatal(err)
				}
			}
			return p.ID
		}
		reached := person("accepte", true)
		later := person("retirera", true)
		person("refuse", false)
		person("a.retire", true, false)
		person("muet")
		objects := person("oppose", true)
		if err := a.Consent.Object(ctx, objects, "prospection", proof); err != nil {
			t.Fatal(err)
		}
		restricted := person("limite", true)
		if err := a.Rights.Restrict(ctx, rights.Staff{Department: "dpo"}, restricted, 0, "Exactitude des données contestée"); err != nil {
			t.Fatal(err)
		}

		svc, box := service(a)
		res, err := svc.Send(ctx, prospection, campaign.Campaign{Subject: "Votre assurance auto à prix réduit", Body: "Bonjour,\nDécouvrez notre offre d'hiver.\n"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Queued != 2 || res.Skipped != 0 {
			t.Fatalf("queued %d, skipped %d; want the 2 persons who accept e-mail prospection", res.Queued, res.Skipped)
		}
		if err := a.Consent.Record(ctx, later, []consent.Choice{{Purpose: campaign.Purpose}}, consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink}); err != nil {
			t.Fatal(err)
		}
		srv := smtptest.Start(t)
		if sent, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, "Courtier <offres@exemple.fr>", 10); err != nil || sent != 1 {
			t.Fatalf("sent %d (%v); want only the message of the person who still accepts", sent, err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(srv.Messages()[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		_, after, ok := strings.Cut(string(text), outbox.WithdrawalLine)
		link, _, _ := strings.Cut(after, "\r\n")
		u, err := url.Parse(strings.TrimSpace(link))
		if !ok || err != nil || !strings.HasPrefix(link, publicURL+"/consentement/retrait?") || u.Query().Get("p") != strconv.FormatInt(reached, 10) ||
			!a.Consent.CheckWithdrawalToken(reached, u.Query().Get("f"), u.Query().Get("t")) {
			t.Errorf("the message does not carry the person's signed link to the public withdrawal page")
		}
	})
}

// TestR19_CampaignRefusalsQueueNothing: another department, an installation without the public
// address of the withdrawal page, an empty subject, a text carrying a social-security number: a
// clear refusal naming the field and the rule, and not one message queued.
func TestR19_CampaignRefusalsQueueNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p, err := a.Records.Create(ctx, prospection, "persons", record.Input{Channel: "phone", Text: map[string]string{"first_name": "Anne", "last_name": "Kervella", "email": "anne@exemple.fr"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Consent.Record(ctx, p.ID, []consent.Choice{{Purpose: campaign.Purpose, Granted: true}}, consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "prospection"}); err != nil {
			t.Fatal(err)
		}
		svc, _ := service(a)
		ok := campaign.Campaign{Subject: "Offre d'hiver", Body: "Bonjour,\nDécouvrez notre offre.\n"}
		cases := []struct {
			name        string
			svc         *campaign.Service
			by          record.Actor
			c           campaign.Campaign
			field, rule string
		}{
			{"no public address", a.Campaigns, prospection, ok, "public_url", "required"},
			{"empty subject", svc, prospection, campaign.Campaign{Subject: " ", Body: ok.Body}, "subject", "required"},
			{"a subject on two lines", svc, prospection, campaign.Campaign{Subject: "Offre\nd'hiver", Body: ok.Body}, "subject", "single_line"},
			{"a social-security number", svc, prospection, campaign.Campaign{Subject: ok.Subject, Body: "Votre numéro de sécurité sociale : 1 85 03 29 019 004 05."}, "body", "sensitive_nir"},
		}
		for _, c := range cases {
			_, err := c.svc.Send(ctx, c.by, c.c)
			var bad *campaign.InputError
			if !errors.As(err, &bad) || bad.Field != c.field || bad.Rule != c.rule {
				t.Errorf("%s: %v, want %s/%s", c.name, err, c.field, c.rule)
			}
		}
		var forbidden *record.ForbiddenError
		if _, err := svc.Send(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, ok); !errors.As(err, &forbidden) {
			t.Errorf("the quotes department sends a campaign: %v", err)
		}
		if n := outboxRows(t, a); n != 0 {
			t.Errorf("%d messages queued by refused campaigns", n)
		}
	})
}
