package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// service is the staff service of an app, on a fake clock, hashing at the test cost.
func service(a *app.App, c *clock) *auth.Service {
	return auth.NewService(a.DB, a.Dict, a.Keys, c.now, auth.WithArgon2(auth.TestArgon2()))
}

const testPassword = "Un-mot-de-passe-long-2026"

// TestR12_PasswordsStoredWithArgon2id: the stored hash is salted argon2id, never the password,
// and only the right password verifies; a hash made at another cost still verifies with the
// parameters it records.
func TestR12_PasswordsStoredWithArgon2id(t *testing.T) {
	h1, h2 := auth.HashPassword(testPassword), auth.HashPassword(testPassword)
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=65536,t=3,p=2$") || h1 == h2 {
		t.Fatalf("hash is not salted argon2id in PHC format at the default cost")
	}
	old := auth.Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}.Hash(testPassword)
	cases := []struct {
		name, hash, password string
		ok                   bool
	}{
		{"right password", h1, testPassword, true},
		{"one more character", h1, testPassword + "x", false},
		{"empty", h1, "", false},
		{"older, cheaper cost", old, testPassword, true},
		{"older cost, wrong password", old, "x" + testPassword, false},
		{"argon2i, not argon2id", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", testPassword, false},
		{"absurd cost", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", testPassword, false},
		{"not a hash", "not a hash", testPassword, false},
	}
	for _, c := range cases {
		if got := auth.VerifyPassword(c.hash, c.password); got != c.ok {
			t.Errorf("%s: VerifyPassword = %v, want %v", c.name, got, c.ok)
		}
	}
}

// TestR12_OutdatedHashIsRedoneAtSignIn: a hash of an older cost is replaced by one at today's cost
// at the next right password.
func TestR12_OutdatedHashIsRedoneAtSignIn(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		svc := service(a, newClock())
		u, err := svc.CreateUser(ctx, "agent@courtier.example", "Agent Devis", "devis", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		a.DB.Exec(`UPDATE users SET password_hash = $1 WHERE id = $2`, auth.Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}.Hash(testPassword), u.ID)
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: u.Email, Password: testPassword}); err != nil {
			t.Fatalf("old hash refused: %v", err)
		}
		var stored string
		a.DB.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&stored)
		if !strings.HasPrefix(stored, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("the hash was not redone at the service's cost")
		}
	})
}

// TestR12_CreateUserAppliesThePolicy: an account is refused with a weak, common or personal
// password, naming the field and the rule.
func TestR12_CreateUserAppliesThePolicy(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		svc := service(a, newClock())
		cases := []struct{ name, email, display, password, rule string }{
			{"short", "a@courtier.example", "Agent A", "Bref-7!x", "password.length"},
			{"12 characters of three kinds", "a@courtier.example", "Agent A", "Abcdefgh1234", "password.length"},
			{"keyboard walk", "a@courtier.example", "Agent A", "Azertyuiop123!", "password.guessable"},
			{"own name", "a@courtier.example", "Agent Martineau", "Martineau-Zèbre-88!", "password.personal"},
			{"own e-mail", "j.martineau@courtier.example", "Agent A", "Zèbre-martineau-88!", "password.personal"},
			{"accepted", "a@courtier.example", "Agent A", "Girafe-Lampadaire-Ozone-7", ""},
		}
		for _, c := range cases {
			_, err := svc.CreateUser(ctx, c.email, c.display, "devis", c.password)
			var ve *record.ValidationError
			switch {
			case c.rule == "" && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.rule != "" && (!errors.As(err, &ve) || ve.Fields[0].Field != "password" || ve.Fields[0].Rule != c.rule):
				t.Errorf("%s: %v, want a refusal of the password by %s", c.name, err, c.rule)
			case c.rule != "" && strings.Contains(err.Error(), c.password):
				t.Errorf("%s: the refusal repeats the password", c.name)
			}
		}
	})
}

func TestUsersAndTokens(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := newClock()
		svc := service(a, c)
		u, err := svc.CreateUser(ctx, "agent@courtier.example", "Agent Devis", "devis", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		a.DB.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&stored)
		if strings.Contains(stored, "Un-mot-de-passe") {
			t.Fatal("the password is stored in clear")
		}
		refused := []struct{ name, email, display, dep, password, field string }{
			{"duplicate", "agent@courtier.example", "Autre", "devis", testPassword, ""},
			{"bad email", "agent@", "Autre", "devis", testPassword, "email"},
			{"unknown department", "x@courtier.example", "Autre", "ventes", testPassword, "department"},
			{"short password", "y@courtier.example", "Autre", "devis", "court", "password"},
		}
		for _, c := range refused {
			_, err := svc.CreateUser(ctx, c.email, c.display, c.dep, c.password)
			var ve *record.ValidationError
			switch {
			case c.field == "" && !errors.Is(err, auth.ErrUserExists):
				t.Errorf("%s: %v, want ErrUserExists", c.name, err)
			case c.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Field != c.field):
				t.Errorf("%s: %v, want a refusal naming %s", c.name, err, c.field)
			}
		}
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: "agent@courtier.example", Password: "wrong-password-2026"}); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v", err)
		}
		if _, err := svc.CheckPassword(ctx, auth.Attempt{Email: "nobody@courtier.example", Password: "wrong-password-2026"}); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("unknown user: %v", err)
		}
		session, err := svc.IssueToken(ctx, u, auth.KindSession)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := svc.UserForToken(ctx, session); err != nil || got.ID != u.ID {
			t.Fatalf("fresh session: %v", err)
		}
		c.advance(auth.SessionTTL + time.Minute)
		if _, err := svc.UserForToken(ctx, session); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("expired session accepted: %v", err)
		}
		script, _ := svc.IssueToken(ctx, u, auth.KindScript)
		a.DB.Exec(`UPDATE users SET disabled = TRUE WHERE id = $1`, u.ID)
		if _, err := svc.UserForToken(ctx, script); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("disabled user's token accepted: %v", err)
		}
		if _, err := svc.UserForToken(ctx, "vg_forged"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("forged token accepted: %v", err)
		}
	})
}
