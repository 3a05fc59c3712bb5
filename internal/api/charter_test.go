package api_test

import (
	"context"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/charter"
)

// TestR43_APISignInNeedsTheCharter: a person signing in through the API must have accepted the
// charter in force: after a new version, the sign-in answers 403 charter_acknowledgement_required
// (and opens no session) until they accept it, then 201. Script tokens, issued by an operator for
// a program, keep working.
func TestR43_APISignInNeedsTheCharter(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		const email = "devis@test.vigie.local"
		u, err := a.Auth.UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		phone, recovery := apptest.Enrol(t, a, u) // accepts the charter in force, as the first web sign-in does
		if status, body := w.do("", "POST", "/api/v1/session", login(email, testPassword, `,"totp":"`+phone.Code(t, time.Now())+`"`)); status != 201 || body["token"] == nil {
			t.Fatalf("sign-in with the charter accepted: %d %v", status, body["error"])
		}
		v, err := a.Charter.Publish(ctx, charter.Staff{Department: "dpo"}, "1.1", charter.FirstBody()+"\n10. Télétravail\nLes règles valent aussi en télétravail.\n")
		if err != nil {
			t.Fatal(err)
		}
		sessions := w.count("api_tokens WHERE kind = 'session'")
		// The enrolment and the first sign-in spent two codes of the application within 30 s: the
		// next sign-ins use recovery codes.
		status, body := w.do("", "POST", "/api/v1/session", login(email, testPassword, `,"recovery_code":"`+recovery[0]+`"`))
		if status != 403 || body["error"] != "charter_acknowledgement_required" || body["token"] != nil {
			t.Fatalf("sign-in after a new version: %d %v, want 403 charter_acknowledgement_required", status, body["error"])
		}
		if w.count("api_tokens WHERE kind = 'session'") != sessions {
			t.Errorf("a refused sign-in opened a session")
		}
		if status, _ := w.do("devis", "GET", "/api/v1/me", ""); status != 200 {
			t.Errorf("a script token is held back by the charter: %d", status)
		}
		if _, err := a.Charter.Acknowledge(ctx, charter.Staff{UserID: u.ID, Department: u.Department}, v.SHA256); err != nil {
			t.Fatal(err)
		}
		if status, body := w.do("", "POST", "/api/v1/session", login(email, testPassword, `,"recovery_code":"`+recovery[1]+`"`)); status != 201 {
			t.Errorf("sign-in once the new version is accepted: %d %v", status, body["error"])
		}
	})
}
