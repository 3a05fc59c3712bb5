package auth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/charter"
)

// TestR16_SignInsAndAccountChangesAreRecorded: account creation (with who did it), sign-ins,
// refused sign-ins, sign-outs, script tokens and an administrator's unlock are in the record chain.
func TestR16_SignInsAndAccountChangesAreRecorded(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := audit.WithActor(context.Background(), 42, "admin")
		const pw = "Vigie-Quartz-Tournesol-9187"
		u, err := a.Auth.CreateUser(ctx, "agent@courtier.example", "Agent Devis", "devis", pw)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := apptest.Enrol(t, a, u)
		a.Auth.CheckPassword(ctx, auth.Attempt{Email: u.Email, Password: "wrong-password-1", Address: "192.0.2.1"})
		a.Auth.CheckPassword(ctx, auth.Attempt{Email: "nobody@courtier.example", Password: "wrong-password-1", Address: "192.0.2.2"})
		if _, err := a.Auth.Login(ctx, auth.Attempt{Email: u.Email, Password: pw, Code: "000000", Address: "192.0.2.3"}); err == nil {
			t.Fatal("a wrong code was accepted")
		}
		if _, err := a.Auth.Login(ctx, auth.Attempt{Email: u.Email, Password: pw, Code: d.Code(t, time.Now()), Address: "192.0.2.3"}); err != nil {
			t.Fatal(err)
		}
		session, err := a.Auth.IssueToken(ctx, u, auth.KindSession)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Auth.RevokeToken(ctx, session); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Auth.IssueToken(ctx, u, auth.KindScript); err != nil {
			t.Fatal(err)
		}
		if err := a.Auth.Unlock(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		events, err := a.Audit.Events(ctx, audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(events) - 1; i >= 0; i-- {
			e := events[i]
			got = append(got, fmt.Sprintf("%s by %d/%s on user %d: %s", e.Action, e.UserID, e.Department, e.RowID, e.Detail))
		}
		want := []string{
			fmt.Sprintf("user_create by 42/admin on user %d: department=devis", u.ID),
			fmt.Sprintf("totp_enrol by %d/devis on user %d: ", u.ID, u.ID),
			// apptest.Enrol accepts the charter as the first web sign-in does (R43): acceptance n° 1.
			fmt.Sprintf("charter_acknowledge by %d/devis on user 1: version=%s sha256=%s", u.ID, charter.FirstVersion, charter.Hash(charter.FirstBody())),
			fmt.Sprintf("login_failed by %d/devis on user %d: wrong password", u.ID, u.ID),
			"login_failed by 0/- on user 0: unknown account",
			fmt.Sprintf("login_failed by %d/devis on user %d: wrong second factor", u.ID, u.ID),
			fmt.Sprintf("login by %d/devis on user %d: session", u.ID, u.ID),
			fmt.Sprintf("logout by %d/devis on user %d: session", u.ID, u.ID),
			fmt.Sprintf("token_issue by 42/admin on user %d: script token", u.ID),
			fmt.Sprintf("account_unlock by 42/admin on user %d: ", u.ID),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("recorded:\n%v\nwant:\n%v", got, want)
		}
	})
}
