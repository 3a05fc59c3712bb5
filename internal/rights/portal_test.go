package rights_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
	"vigie/internal/rights"
)

var codeInMessage = regexp.MustCompile(`: (\d{6})\b`)

// deliverCode sends the outbox through a real SMTP server and returns the code the person got.
func deliverCode(t *testing.T, a *app.App, srv *smtptest.Server, email string) string {
	t.Helper()
	if _, err := a.Outbox.Deliver(context.Background(), &outbox.SMTPSender{Addr: srv.Addr}, "Vigie <no-reply@exemple.fr>", 10); err != nil {
		t.Fatal(err)
	}
	m := codeInMessage.FindStringSubmatch(srv.WaitFor(t, email, 5*time.Second))
	if m == nil {
		t.Fatal("the message carries no code")
	}
	return m[1]
}

// TestR24_PortalSignsInWithASingleUseCode: a code sent by e-mail opens a session once; a wrong
// code, a reused one, an unknown address and too many attempts are refused alike.
func TestR24_PortalSignsInWithASingleUseCode(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		srv := smtptest.Start(t)
		c := seed(t, a, "portail@exemple.fr", "none")

		if err := a.Rights.SendCode(ctx, "inconnu@exemple.fr"); err != nil {
			t.Fatalf("an unknown address must get the same answer as a known one: %v", err)
		}
		if err := a.Rights.SendCode(ctx, "Portail@Exemple.fr "); err != nil {
			t.Fatal(err)
		}
		code := deliverCode(t, a, srv, "portail@exemple.fr")
		if len(srv.Messages()) != 1 {
			t.Fatalf("%d messages sent, want 1 (none to the unknown address)", len(srv.Messages()))
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		var inputErr *rights.InputError
		refusals := []struct {
			name, email, code string
			check             func(error) bool
		}{
			{"wrong code", "portail@exemple.fr", wrong, func(err error) bool { return errors.Is(err, rights.ErrBadCode) }},
			{"unknown address", "inconnu@exemple.fr", code, func(err error) bool { return errors.Is(err, rights.ErrBadCode) }},
			{"malformed code", "portail@exemple.fr", "12ab56", func(err error) bool { return errors.As(err, &inputErr) && inputErr.Field == "code" }},
			{"malformed address", "pas-une-adresse", code, func(err error) bool { return errors.As(err, &inputErr) && inputErr.Field == "email" }},
		}
		for _, r := range refusals {
			if _, err := a.Rights.SignIn(ctx, r.email, r.code); !r.check(err) {
				t.Errorf("%s: got %v", r.name, err)
			}
		}
		token, err := a.Rights.SignIn(ctx, "portail@exemple.fr", code)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := a.Rights.SessionPerson(ctx, token); err != nil || id != c.person {
			t.Fatalf("session person %d, %v", id, err)
		}
		if _, err := a.Rights.SignIn(ctx, "portail@exemple.fr", code); !errors.Is(err, rights.ErrBadCode) {
			t.Errorf("a used code was accepted again: %v", err)
		}
		if err := a.Rights.SignOut(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Rights.SessionPerson(ctx, token); !errors.Is(err, rights.ErrNoSession) {
			t.Errorf("a closed session still works: %v", err)
		}

		// Too many wrong attempts burn the code, even if the right one comes next.
		if err := a.Rights.SendCode(ctx, "portail@exemple.fr"); err != nil {
			t.Fatal(err)
		}
		code = deliverCode(t, a, srv, "portail@exemple.fr")
		for range rights.CodeAttempts {
			a.Rights.SignIn(ctx, "portail@exemple.fr", wrong)
		}
		if _, err := a.Rights.SignIn(ctx, "portail@exemple.fr", code); !errors.Is(err, rights.ErrBadCode) {
			t.Errorf("the code survived %d wrong attempts: %v", rights.CodeAttempts, err)
		}
	})
}

func TestR24_PortalLimiterCountsPerClient(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	l := rights.NewLimiter(3, func() time.Time { return now })
	for i := range 3 {
		if !l.Allow("198.51.100.7") {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if l.Allow("198.51.100.7") {
		t.Error("a fourth attempt within the hour was allowed")
	}
	if !l.Allow("198.51.100.8") {
		t.Error("another client was refused")
	}
	now = now.Add(61 * time.Minute)
	if !l.Allow("198.51.100.7") {
		t.Error("the client is still refused an hour later")
	}
}
