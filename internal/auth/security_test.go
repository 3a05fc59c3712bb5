package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
)

// enrolled creates a user of the department with the second factor enrolled.
func enrolled(t *testing.T, a *app.App, svc *auth.Service, c *clock, email, dept string) (auth.User, *apptest.Authenticator, []string) {
	t.Helper()
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, email, "Agent "+dept, dept, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.BeginEnrolment(u, "binding")
	if err != nil {
		t.Fatal(err)
	}
	d := apptest.NewAuthenticator(e.Secret)
	codes, err := svc.ConfirmEnrolment(ctx, u, "binding", e.Sealed, d.Code(t, c.now()))
	if err != nil {
		t.Fatalf("enrolment: %v", err)
	}
	u, _ = svc.UserByEmail(ctx, email)
	return u, d, codes
}

// TestR14_SecondFactorEnrolment: the enrolment shows a QR code and the secret, stores nothing
// until a first code is right, stores the secret encrypted, gives ten recovery codes of which
// only hashes are kept, and cannot be confirmed from another sign-in or twice.
func TestR14_SecondFactorEnrolment(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, err := svc.CreateUser(ctx, "agent@courtier.example", "Agent Devis", "devis", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Login(ctx, auth.Attempt{Email: u.Email, Password: testPassword, Code: "123456"}); !errors.Is(err, auth.ErrEnrolmentRequired) {
			t.Fatalf("login before enrolment: %v, want ErrEnrolmentRequired", err)
		}
		e, err := svc.BeginEnrolment(u, "binding")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(e.QRCode, []byte("\x89PNG")) || !strings.HasPrefix(e.URL, "otpauth://totp/Vigie:") || len(strings.ReplaceAll(e.Secret, " ", "")) != 32 {
			t.Fatalf("enrolment: want a PNG QR code, an otpauth URL and a 160-bit base32 secret")
		}
		d := apptest.NewAuthenticator(e.Secret)
		wrong := apptest.NewAuthenticator(e.Secret).CodeAt(t, c.now().Unix()/30+5)
		steps := []struct {
			name, binding, sealed, code string
			ok                          bool
		}{
			{"wrong code", "binding", e.Sealed, wrong, false},
			{"another sign-in's enrolment", "other", e.Sealed, d.Code(t, c.now()), false},
			{"tampered secret", "binding", e.Sealed[:len(e.Sealed)-2] + "AA", d.CodeAt(t, c.now().Unix()/30), false},
			{"right code", "binding", e.Sealed, d.CodeAt(t, c.now().Unix()/30), true},
		}
		var codes []string
		for _, s := range steps {
			got, err := svc.ConfirmEnrolment(ctx, u, s.binding, s.sealed, s.code)
			if s.ok != (err == nil) {
				t.Fatalf("%s: %v", s.name, err)
			}
			if !s.ok {
				if !errors.Is(err, auth.ErrInvalidCode) {
					t.Errorf("%s: %v, want ErrInvalidCode", s.name, err)
				}
				var secret []byte
				a.DB.QueryRow(`SELECT totp_secret FROM users WHERE id = $1`, u.ID).Scan(&secret)
				if secret != nil {
					t.Errorf("%s: a secret was stored", s.name)
				}
			}
			codes = got
		}
		if len(codes) != auth.RecoveryCodes {
			t.Fatalf("%d recovery codes, want %d", len(codes), auth.RecoveryCodes)
		}
		var secret []byte
		var hashes int
		a.DB.QueryRow(`SELECT totp_secret FROM users WHERE id = $1`, u.ID).Scan(&secret)
		a.DB.QueryRow(`SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND code_hash <> $2`, u.ID, codes[0]).Scan(&hashes)
		if len(secret) == 0 || bytes.Contains(secret, []byte(strings.ReplaceAll(e.Secret, " ", ""))) || hashes != auth.RecoveryCodes {
			t.Errorf("secret or recovery codes stored in clear")
		}
		if _, err := svc.ConfirmEnrolment(ctx, u, "binding", e.Sealed, d.Code(t, c.now())); err == nil {
			t.Errorf("a second enrolment replaced the first")
		}
	})
}

// TestR14_TOTPCodes: a right code signs in once; a wrong one, a replayed one, or one more than a
// step away are refused; one step of clock skew either way is accepted; a recovery code works
// once.
func TestR14_TOTPCodes(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, d, recovery := enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		step := func(offset int64) string { return d.CodeAt(t, c.now().Unix()/30+offset) }
		login := func(code string) error {
			_, err := svc.Login(ctx, auth.Attempt{Email: u.Email, Password: testPassword, Code: code})
			return err
		}
		scenarios := []struct {
			name    string
			advance time.Duration
			code    func() string
			want    error
		}{
			{"no code", 0, func() string { return "" }, auth.ErrSecondFactorRequired},
			{"code of the enrolment step, already used", 0, func() string { return step(0) }, auth.ErrInvalidCode},
			{"next step's code (clock skew +30 s)", 0, func() string { return step(1) }, nil},
			{"the same code again", 0, func() string { return step(1) }, auth.ErrInvalidCode},
			{"two steps ahead (+60 s)", 2 * time.Minute, func() string { return step(2) }, auth.ErrInvalidCode},
			{"two steps behind (−60 s)", 0, func() string { return step(-2) }, auth.ErrInvalidCode},
			{"previous step's code (clock skew −30 s)", 0, func() string { return step(-1) }, nil},
			{"current code after a later one was used", 0, func() string { return step(0) }, nil},
			{"replayed current code", 0, func() string { return step(0) }, auth.ErrInvalidCode},
			{"a wrong code", 30 * time.Second, func() string { return fmt.Sprintf("%06d", (atoi(step(0))+1)%1000000) }, auth.ErrInvalidCode},
			{"the right current code", 0, func() string { return step(0) }, nil},
			{"a recovery code", 30 * time.Second, func() string { return recovery[3] }, nil},
			{"the same recovery code again", 0, func() string { return recovery[3] }, auth.ErrInvalidCode},
			{"another recovery code, typed loosely", 0, func() string { return strings.ToLower(strings.ReplaceAll(recovery[4], "-", " ")) }, nil},
			{"a made-up recovery code", 0, func() string { return "AAAA-BBBB-CCCC-DDDD" }, auth.ErrInvalidCode},
		}
		for _, sc := range scenarios {
			c.advance(sc.advance)
			if err := login(sc.code()); !errors.Is(err, sc.want) || (sc.want == nil) != (err == nil) {
				t.Errorf("%s: %v, want %v", sc.name, err, sc.want)
			}
			svc.Unlock(ctx, u.ID) // failures are R15's business
		}
		if n, _ := svc.RecoveryCodesLeft(ctx, u.ID); n != auth.RecoveryCodes-2 {
			t.Errorf("%d recovery codes left, want %d", n, auth.RecoveryCodes-2)
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

// TestR14_PendingSignInIsNotASession: the token of a sign-in waiting for its second factor opens
// no page, only the next step, and only until a lock.
func TestR14_PendingSignInIsNotASession(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, _, _ := enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		pending, err := svc.IssueToken(ctx, u, auth.KindPendingMFA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UserForToken(ctx, pending); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("a pending sign-in opened a session: %v", err)
		}
		if _, err := svc.PendingUser(ctx, pending, auth.KindPendingChange); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("a pending second factor allowed a password change: %v", err)
		}
		if got, err := svc.PendingUser(ctx, pending, auth.KindPendingMFA); err != nil || got.ID != u.ID {
			t.Errorf("pending sign-in: %v", err)
		}
		c.advance(auth.PendingTTL + time.Second)
		if _, err := svc.PendingUser(ctx, pending, auth.KindPendingMFA); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("an expired pending sign-in still works: %v", err)
		}
	})
}

// TestR13_PasswordExpiry: by default only administrators' and the DPO's passwords expire, after
// 180 days; the settings table changes a department's expiry (0: none); an expired or
// administrator-forced password only serves to set a new one, which cannot be one of the last 5.
func TestR13_PasswordExpiry(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		admin, adminApp, _ := enrolled(t, a, svc, c, "admin@courtier.example", "admin")
		dpo, _, _ := enrolled(t, a, svc, c, "dpo@courtier.example", "dpo")
		devis, devisApp, _ := enrolled(t, a, svc, c, "devis@courtier.example", "devis")
		required := func(u auth.User) bool {
			t.Helper()
			u, _ = svc.UserByEmail(ctx, u.Email)
			got, err := svc.ChangeRequired(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		checks := []struct {
			name    string
			advance time.Duration
			setting func()
			user    auth.User
			want    bool
		}{
			{"admin, new password", 0, nil, admin, false},
			{"admin, 179 days", 179 * 24 * time.Hour, nil, admin, false},
			{"admin, 180 days", 24 * time.Hour, nil, admin, true},
			{"DPO, 180 days", 0, nil, dpo, true},
			{"quotes, 180 days: no expiry by default", 0, nil, devis, false},
			{"quotes, expiry set to 90 days", 0, func() { svc.SetPasswordMaxAge(ctx, "devis", 90) }, devis, true},
			{"admin, expiry turned off", 0, func() { svc.SetPasswordMaxAge(ctx, "admin", 0) }, admin, false},
			{"quotes, forced by an administrator", 0, func() { svc.SetPasswordMaxAge(ctx, "devis", 0); svc.ForceChange(ctx, devis.ID) }, devis, true},
		}
		for _, ch := range checks {
			c.advance(ch.advance)
			if ch.setting != nil {
				ch.setting()
			}
			if got := required(ch.user); got != ch.want {
				t.Errorf("%s: change required %v, want %v", ch.name, got, ch.want)
			}
		}
		if err := svc.SetPasswordMaxAge(ctx, "ventes", 10); err == nil {
			t.Errorf("an unknown department's expiry was stored")
		}
		a.DB.Exec(`UPDATE settings SET value = 'six mois' WHERE name = $1`, auth.MaxAgeSetting("admin"))
		if _, err := svc.PasswordMaxAge(ctx, "admin"); err == nil {
			t.Errorf("a setting that is not a number of days was accepted")
		}
		svc.SetPasswordMaxAge(ctx, "admin", 180)

		// The forced password signs in to nothing but its change.
		at := auth.Attempt{Email: devis.Email, Password: testPassword, Code: devisApp.Code(t, c.now())}
		if _, err := svc.Login(ctx, at); !errors.Is(err, auth.ErrPasswordChangeRequired) {
			t.Fatalf("forced change: login %v, want ErrPasswordChangeRequired", err)
		}
		// No reuse of the last 5 passwords (the current one included); the 6th back is allowed.
		passwords := []string{testPassword, "Girafe-Lampadaire-Ozone-1", "Girafe-Lampadaire-Ozone-2", "Girafe-Lampadaire-Ozone-3", "Girafe-Lampadaire-Ozone-4"}
		for _, pw := range passwords[1:] {
			c.advance(time.Minute)
			if _, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: devis.Email, Password: at.Password, Code: devisApp.Code(t, c.now())}, pw); err != nil {
				t.Fatalf("change to a new password: %v", err)
			}
			at.Password = pw
		}
		for i, old := range passwords {
			c.advance(30 * time.Second)
			_, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: devis.Email, Password: at.Password, Code: devisApp.Code(t, c.now())}, old)
			var ve *record.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Rule != auth.RuleReused {
				t.Errorf("password %d back: %v, want a refusal by %s", len(passwords)-i, err, auth.RuleReused)
			}
		}
		c.advance(time.Minute)
		if _, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: devis.Email, Password: at.Password, Code: devisApp.Code(t, c.now())}, "Girafe-Lampadaire-Ozone-5"); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Minute)
		if _, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: devis.Email, Password: "Girafe-Lampadaire-Ozone-5", Code: devisApp.Code(t, c.now())}, testPassword); err != nil {
			t.Errorf("the 6th password back is refused: %v", err)
		}
		var history int
		a.DB.QueryRow(`SELECT count(*) FROM password_history WHERE user_id = $1`, devis.ID).Scan(&history)
		if history != auth.HistorySize {
			t.Errorf("%d passwords in the history, want %d", history, auth.HistorySize)
		}
		if required(devis) {
			t.Errorf("still required to change after a change")
		}
		// An expired administrator: a new password signs in, an ordinary login does not.
		c.advance(181 * 24 * time.Hour)
		c.advance(time.Minute)
		// The change is asked before the code is spent, so that the change can use it.
		if _, err := svc.Login(ctx, auth.Attempt{Email: admin.Email, Password: testPassword, Code: "123456"}); !errors.Is(err, auth.ErrPasswordChangeRequired) {
			t.Errorf("expired admin password: %v", err)
		}
		if _, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: admin.Email, Password: testPassword, Code: "123456"}, "court"); err == nil {
			t.Errorf("a weak new password was accepted")
		}
		if _, err := svc.LoginWithNewPassword(ctx, auth.Attempt{Email: admin.Email, Password: testPassword, Code: adminApp.Code(t, c.now())}, "Nouveau-mot-de-passe-2027"); err != nil {
			t.Errorf("new password for an expired admin: %v", err)
		}
	})
}

// TestR13_ForcedChangeEndsSessions: forcing a change ends the user's sessions, not the scripts'.
func TestR13_ForcedChangeEndsSessions(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, _, _ := enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		session, _ := svc.IssueToken(ctx, u, auth.KindSession)
		script, _ := svc.IssueToken(ctx, u, auth.KindScript)
		svc.UserForToken(ctx, session) // cached
		if err := svc.ForceChange(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UserForToken(ctx, session); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("session still valid after a forced change: %v", err)
		}
		if _, err := svc.UserForToken(ctx, script); err != nil {
			t.Errorf("script token ended by a forced change: %v", err)
		}
	})
}

// TestR15_ThrottlingAndLockout: from the 3rd failure the account waits 2^(n-3) s between tries,
// even with the right password; the 10th failure locks it for 30 minutes; an administrator
// unlocks it. Every refusal is the same as for a wrong password or an unknown account.
func TestR15_ThrottlingAndLockout(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, d, _ := enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		// Each try from another address, as from a botnet: the account is what is throttled here.
		tries := 0
		address := func() string { tries++; return fmt.Sprintf("198.51.100.%d", tries) }
		try := func(pw string) error {
			_, err := svc.CheckPassword(ctx, auth.Attempt{Email: u.Email, Password: pw, Address: address()})
			return err
		}
		failures := func() int {
			var n int
			a.DB.QueryRow(`SELECT failed_logins FROM users WHERE id = $1`, u.ID).Scan(&n)
			return n
		}
		steps := []struct {
			name     string
			advance  time.Duration
			password string
			ok       bool
			failures int
		}{
			{"1st failure", 0, "wrong-password-1", false, 1},
			{"2nd failure, at once", 0, "wrong-password-2", false, 2},
			{"3rd failure, at once", 0, "wrong-password-3", false, 3},
			{"right password within the 1 s delay", 500 * time.Millisecond, testPassword, false, 3},
			{"right password after the delay", 500 * time.Millisecond, testPassword, true, 3},
			{"4th failure", 0, "wrong-password-4", false, 4},
			{"within the 2 s delay", 1900 * time.Millisecond, "wrong-password-x", false, 4},
			{"5th failure after 2 s", 100 * time.Millisecond, "wrong-password-5", false, 5},
			{"6th failure after 4 s", 4 * time.Second, "wrong-password-6", false, 6},
			{"7th failure after 8 s", 8 * time.Second, "wrong-password-7", false, 7},
			{"8th failure after 16 s", 16 * time.Second, "wrong-password-8", false, 8},
			{"9th failure after 32 s", 32 * time.Second, "wrong-password-9", false, 9},
			{"10th failure after 64 s: locked", 64 * time.Second, "wrong-password-10", false, 10},
			{"right password, locked", 10 * time.Minute, testPassword, false, 10},
			{"right password, 29 minutes later", 19 * time.Minute, testPassword, false, 10},
			{"right password after 30 minutes", 2 * time.Minute, testPassword, true, 10},
			{"a failure after the lock ends locks again", 0, "wrong-password-11", false, 11},
			{"right password, locked again", 10 * time.Minute, testPassword, false, 11},
		}
		for _, s := range steps {
			c.advance(s.advance)
			err := try(s.password)
			if s.ok != (err == nil) || err != nil && !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("%s: %v, want success %v", s.name, err, s.ok)
			}
			if got := failures(); got != s.failures {
				t.Errorf("%s: %d failures counted, want %d", s.name, got, s.failures)
			}
		}
		locked, _ := svc.UserByEmail(ctx, u.Email)
		if !locked.Locked(c.now()) {
			t.Errorf("the account does not show as locked")
		}
		if err := svc.Unlock(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := try(testPassword); err != nil || failures() != 0 {
			t.Errorf("after an administrator's unlock: %v, %d failures", err, failures())
		}
		// Wrong second-factor codes count too, and a full sign-in clears the count.
		for i := range 3 {
			if _, err := svc.Login(ctx, auth.Attempt{Email: u.Email, Password: testPassword, Code: "000000", Address: address()}); !errors.Is(err, auth.ErrInvalidCode) && !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("wrong code %d: %v", i, err)
			}
		}
		if failures() != 3 {
			t.Errorf("%d failures after 3 wrong codes, want 3", failures())
		}
		c.advance(2 * time.Second)
		if _, err := svc.Login(ctx, auth.Attempt{Email: u.Email, Password: testPassword, Code: d.Code(t, c.now()), Address: address()}); err != nil || failures() != 0 {
			t.Errorf("full sign-in: %v, %d failures left", err, failures())
		}
	})
}

// TestR15_SameAnswerWhateverTheAccount: unknown, locked, disabled and wrong-password attempts get
// the same error; an unknown account is throttled per address like a real one, and another address
// is not held back.
func TestR15_SameAnswerWhateverTheAccount(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		locked, _, _ := enrolled(t, a, svc, c, "locked@courtier.example", "devis")
		disabled, _, _ := enrolled(t, a, svc, c, "disabled@courtier.example", "devis")
		a.DB.Exec(`UPDATE users SET failed_logins = 10, locked_until = $1 WHERE id = $2`, c.now().Add(time.Hour), locked.ID)
		a.DB.Exec(`UPDATE users SET disabled = TRUE WHERE id = $1`, disabled.ID)
		for i, at := range []auth.Attempt{
			{Email: "agent@courtier.example", Password: "wrong-password-1", Address: "192.0.2.1"},
			{Email: "nobody@courtier.example", Password: "wrong-password-1", Address: "192.0.2.2"},
			{Email: "locked@courtier.example", Password: testPassword, Address: "192.0.2.3"},
			{Email: "disabled@courtier.example", Password: testPassword, Address: "192.0.2.4"},
		} {
			if _, err := svc.CheckPassword(ctx, at); err != auth.ErrInvalidCredentials {
				t.Errorf("attempt %d: %v, want exactly ErrInvalidCredentials", i, err)
			}
		}
		// One address trying unknown accounts is throttled from its 3rd failure.
		for i := range 3 {
			svc.CheckPassword(ctx, auth.Attempt{Email: fmt.Sprintf("x%d@courtier.example", i), Password: "p", Address: "203.0.113.9"})
		}
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: "agent@courtier.example", Password: testPassword, Address: "203.0.113.9"}); err == nil {
			t.Errorf("a throttled address was let through")
		}
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: "agent@courtier.example", Password: testPassword, Address: "203.0.113.10"}); err != nil {
			t.Errorf("another address was held back: %v", err)
		}
		c.advance(time.Second)
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: "agent@courtier.example", Password: testPassword, Address: "203.0.113.9"}); err != nil {
			t.Errorf("the address is still throttled after the delay: %v", err)
		}
	})
}

// TestR15_ConcurrentAttemptsCannotSlipThrough: many simultaneous wrong attempts against an account
// at its 3rd failure are checked once; the others wait their turn like sequential ones.
func TestR15_ConcurrentAttemptsCannotSlipThrough(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, _, _ := enrolled(t, a, svc, c, "agent@courtier.example", "devis")
		a.DB.Exec(`UPDATE users SET failed_logins = 2 WHERE id = $1`, u.ID)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc.CheckPassword(ctx, auth.Attempt{Email: u.Email, Password: fmt.Sprintf("wrong-password-%d", i), Address: fmt.Sprintf("192.0.2.%d", i)})
			}()
		}
		wg.Wait()
		var n int
		a.DB.QueryRow(`SELECT failed_logins FROM users WHERE id = $1`, u.ID).Scan(&n)
		if n != 3 {
			t.Errorf("%d failures counted, want 3: concurrent attempts slipped through the delay", n)
		}
	})
}

// TestR13_PasswordSetByAdministratorIsTemporary: a password an administrator chose for someone
// (web users page, API, `vigie user add`) only serves to choose their own at the first sign-in; a
// password the person chose does not.
func TestR13_PasswordSetByAdministratorIsTemporary(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		cases := []struct {
			name   string
			create func(ctx context.Context, email, name, dept, pw string) (auth.User, error)
			want   bool
		}{
			{"provisioned by an administrator", a.Auth.ProvisionUser, true},
			{"chosen by the person", a.Auth.CreateUser, false},
		}
		for i, c := range cases {
			u, err := c.create(ctx, fmt.Sprintf("agent%d@courtier.example", i), "Agent", "support", testPassword)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Auth.ChangeRequired(ctx, u)
			if err != nil || got != c.want {
				t.Errorf("%s: change required %v (%v), want %v", c.name, got, err, c.want)
			}
		}
	})
}
