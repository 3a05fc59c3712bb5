package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/lifecycle"
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
	"vigie/internal/record"
)

// TestR33_KeepInTouchLinkRestartsTheProspectsThreeYears: the link of the renewal message is a
// contact — the prospect who clicks it is kept past the term, the silent one is deleted — and a
// link signed for someone else, an objection or a person no longer held change nothing.
func TestR33_KeepInTouchLinkRestartsTheProspectsThreeYears(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC().AddDate(0, -1, 0)
		clicks, _ := person(t, a, "clique@exemple.fr", at.AddDate(-3, 0, 10))
		silent, _ := person(t, a, "muet@exemple.fr", at.AddDate(-3, 0, 10))
		objects, _ := person(t, a, "oppose@exemple.fr", at.AddDate(-3, 0, 10))
		a.Lifecycle.WithPublicURL("https://vigie.courtier.example/")
		run(t, a, at)

		// The renewal message carries the prospect's own link.
		srv := smtptest.Start(t)
		if sent, err := a.Outbox.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, "Courtier <contact@exemple.fr>", 10); err != nil || sent != 3 {
			t.Fatalf("renewal messages sent: %d (%v), want 3", sent, err)
		}
		m, err := mail.ReadMessage(bytes.NewReader([]byte(srv.WaitFor(t, "clique@exemple.fr", 5*time.Second))))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		link := regexp.MustCompile(`https://vigie\.courtier\.example/contact/renouvellement\?\S+`).FindString(string(body))
		u, err := url.Parse(link)
		if link == "" || err != nil || u.Query().Get("p") != strconv.FormatInt(clicks, 10) || !a.Lifecycle.CheckRenewalToken(clicks, u.Query().Get("t")) {
			t.Fatal("the renewal message has no valid keep-in-touch link for its prospect")
		}

		if a.Lifecycle.CheckRenewalToken(clicks, a.Lifecycle.RenewalToken(silent)) || a.Lifecycle.CheckRenewalToken(clicks, "") {
			t.Error("a link signed for another person, or no signature, is accepted")
		}
		if !a.Lifecycle.CheckRenewalToken(clicks, a.Lifecycle.RenewalToken(clicks)) {
			t.Fatal("the prospect's own link is refused")
		}
		until, err := a.Lifecycle.KeepInTouch(ctx, clicks)
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Now().UTC().AddDate(3, 0, 0); until.Sub(want).Abs().Hours() > 24 {
			t.Errorf("kept until %s, want three years from now", until.Format("2006-01-02"))
		}
		if err := a.Consent.Object(ctx, objects, "prospection", consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Lifecycle.KeepInTouch(ctx, objects); !errors.Is(err, lifecycle.ErrObjected) {
			t.Errorf("keep in touch after an objection: %v, want ErrObjected", err)
		}
		run(t, a, at.AddDate(0, 0, 11))
		if !exists(t, a, "persons", clicks) {
			t.Error("the prospect who clicked was deleted")
		}
		for _, id := range []int64{silent, objects} {
			if exists(t, a, "persons", id) {
				t.Errorf("person %d, who did not ask to stay, is still there after the term", id)
			}
		}
		if _, err := a.Lifecycle.KeepInTouch(ctx, silent); !errors.Is(err, lifecycle.ErrGone) {
			t.Errorf("keep in touch of a deleted prospect: %v, want ErrGone", err)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE detail = 'renewal:keep_in_touch'`); n != 1 {
			t.Errorf("%d audit events of the answer, want 1", n)
		}
	})
}

// TestR25_EndOfLifeTakesTheCorrectionHistory: when the lifecycle removes a row — a quote past its
// two years — the history of its corrections, which holds earlier values, goes with it.
func TestR25_EndOfLifeTakesTheCorrectionHistory(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		now := a.Now().UTC()
		_, q := person(t, a, "corrige@exemple.fr", now.AddDate(-2, -2, 0))
		if _, err := a.Records.Update(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "quotes", q,
			record.Input{Channel: "phone", Text: map[string]string{"vehicle_model": "308"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.DB.ExecContext(ctx, `UPDATE quotes SET created_at = $1 WHERE id = $2`, now.AddDate(-2, -2, 0), q); err != nil {
			t.Fatal(err)
		}
		history := func() int64 {
			return count(t, a, `SELECT count(*) FROM rectifications WHERE table_name = 'quotes' AND row_id = $1`, q)
		}
		if history() != 1 {
			t.Fatalf("%d corrections recorded for the quote, want 1", history())
		}
		run(t, a, now)
		if exists(t, a, "quotes", q) || history() != 0 {
			t.Errorf("after the quote's end of life: quote still there %v, %d corrections left", exists(t, a, "quotes", q), history())
		}
	})
}
