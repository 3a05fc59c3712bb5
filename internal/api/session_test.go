package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

func login(email, password, extra string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q%s}`, email, password, extra)
}

// TestR14_APILoginNeedsTheSecondFactor: the API signs in with the password and a TOTP code (or a
// recovery code), each code once; an account not yet enrolled is sent to the web enrolment.
func TestR14_APILoginNeedsTheSecondFactor(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		const email = "support@test.vigie.local"
		if status, body := w.do("", "POST", "/api/v1/session", login(email, testPassword, `,"totp":"123456"`)); status != 403 || body["error"] != "totp_enrolment_required" {
			t.Fatalf("not enrolled: %d %v, want 403 totp_enrolment_required", status, body["error"])
		}
		u, _ := a.Auth.UserByEmail(ctx, email)
		authenticator, recovery := apptest.Enrol(t, a, u)
		step := time.Now().Unix() / 30
		right := authenticator.Code(t, time.Now())
		scenarios := []struct {
			name, body string
			status     int
			code       string
		}{
			{"no code", login(email, testPassword, ""), 401, "totp_required"},
			{"wrong code", login(email, testPassword, `,"totp":"`+fmt.Sprintf("%06d", (atoi(right)+1)%1000000)+`"`), 401, "invalid_totp"},
			{"right code", login(email, testPassword, `,"totp":"`+right+`"`), 201, ""},
			{"the same code again", login(email, testPassword, `,"totp":"`+right+`"`), 401, "invalid_totp"},
			{"the enrolment's code", login(email, testPassword, `,"totp":"`+authenticator.CodeAt(t, step)+`"`), 401, "invalid_totp"},
			{"a recovery code", login(email, testPassword, `,"recovery_code":"`+recovery[0]+`"`), 201, ""},
			{"the same recovery code", login(email, testPassword, `,"recovery_code":"`+recovery[0]+`"`), 401, "invalid_totp"},
			{"a right code, wrong password", login(email, "Mauvais-mot-de-passe-9", `,"recovery_code":"`+recovery[1]+`"`), 401, "invalid_credentials"},
			{"unknown field", login(email, testPassword, `,"otp":"123456"`), 400, "validation_failed"},
		}
		for _, sc := range scenarios {
			status, body := w.do("", "POST", "/api/v1/session", sc.body)
			if status != sc.status || sc.code != "" && body["error"] != sc.code || sc.code == "" && body["token"] == nil {
				t.Errorf("%s: %d %v, want %d %s", sc.name, status, body["error"], sc.status, sc.code)
			}
			a.Auth.Unlock(ctx, u.ID) // this test is about codes, not throttling
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestR13_APIPasswordChange: an expired or forced password gets 403 password_change_required at
// login, and POST /api/v1/session/password sets a new one (checked against the policy, refused
// with the field new_password) and signs in.
func TestR13_APIPasswordChange(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		const email = "dpo@test.vigie.local"
		u, _ := a.Auth.UserByEmail(ctx, email)
		authenticator, _ := apptest.Enrol(t, a, u)
		if err := a.Auth.ForceChange(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if status, body := w.do("", "POST", "/api/v1/session", login(email, testPassword, `,"totp":"000000"`)); status != 403 || body["error"] != "password_change_required" {
			t.Fatalf("forced change: %d %v, want 403 password_change_required", status, body["error"])
		}
		change := func(newPassword, code string) string {
			return fmt.Sprintf(`{"email":%q,"password":%q,"new_password":%q,"totp":%q}`, email, testPassword, newPassword, code)
		}
		status, body := w.do("", "POST", "/api/v1/session/password", change("court", "000000"))
		fields, _ := body["fields"].([]any)
		if status != 400 || len(fields) != 1 || fields[0].(map[string]any)["field"] != "new_password" || fields[0].(map[string]any)["rule"] != "password.length" {
			t.Errorf("weak new password: %d %v, want 400 naming new_password and password.length", status, body)
		}
		if status, body := w.do("", "POST", "/api/v1/session/password", change(testPassword, "000000")); status != 400 || body["fields"].([]any)[0].(map[string]any)["rule"] != "password.reused" {
			t.Errorf("same password again: %d, want 400 password.reused", status)
		}
		status, body = w.do("", "POST", "/api/v1/session/password", change("Girafe-Lampadaire-Ozone-7", authenticator.Code(t, time.Now())))
		if status != 201 || body["token"] == nil {
			t.Fatalf("password change: %d %v", status, body["error"])
		}
		w.tokens["changed"] = body["token"].(string)
		if status, _ := w.do("changed", "GET", "/api/v1/me", ""); status != 200 {
			t.Errorf("the session opened by the change does not work: %d", status)
		}
		if status, _ := w.do("", "POST", "/api/v1/session", login(email, testPassword, "")); status != 401 {
			t.Errorf("the old password still signs in: %d", status)
		}
	})
}

// TestR15_APIAnswersNeverTellAccountsApart: a wrong password, an unknown account, a locked account
// and a disabled account get the same status and body, and a locked account is refused even
// with the right password and code.
func TestR15_APIAnswersNeverTellAccountsApart(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		locked, _ := a.Auth.UserByEmail(ctx, "contrats@test.vigie.local")
		authenticator, _ := apptest.Enrol(t, a, locked)
		a.DB.ExecContext(ctx, `UPDATE users SET failed_logins = 10, locked_until = $1 WHERE id = $2`, time.Now().Add(time.Hour).UTC(), locked.ID)
		disabled, _ := a.Auth.UserByEmail(ctx, "performance@test.vigie.local")
		a.DB.ExecContext(ctx, `UPDATE users SET disabled = TRUE WHERE id = $1`, disabled.ID)
		var answers []string
		for _, body := range []string{
			login("devis@test.vigie.local", "Mauvais-mot-de-passe-9", ""),
			login("personne@test.vigie.local", "Mauvais-mot-de-passe-9", ""),
			login("contrats@test.vigie.local", testPassword, `,"totp":"`+authenticator.Code(t, time.Now())+`"`),
			login("performance@test.vigie.local", testPassword, ""),
		} {
			status, out := w.do("", "POST", "/api/v1/session", body)
			answers = append(answers, fmt.Sprint(status, out))
		}
		for i, ans := range answers[1:] {
			if ans != answers[0] {
				t.Errorf("answer %d differs from a wrong password's", i+1)
			}
		}
		if !strings.HasPrefix(answers[0], "401 map[error:invalid_credentials ") {
			t.Errorf("a wrong password is not answered 401 invalid_credentials")
		}
	})
}
