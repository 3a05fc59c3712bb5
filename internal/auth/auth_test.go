package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
)

// TestR12_PasswordsStoredWithArgon2id: the stored hash is salted argon2id, never the password,
// and only the right password verifies.
func TestR12_PasswordsStoredWithArgon2id(t *testing.T) {
	const password = "Un-mot-de-passe-long-2026"
	h1, h2 := auth.HashPassword(password), auth.HashPassword(password)
	if !strings.HasPrefix(h1, "$argon2id$v=19$") || h1 == h2 {
		t.Fatalf("hash is not salted argon2id in PHC format")
	}
	cases := []struct {
		hash, password string
		ok             bool
	}{
		{h1, password, true},
		{h1, password + "x", false},
		{h1, "", false},
		{"$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", password, false},
		{"not a hash", password, false},
	}
	for _, c := range cases {
		if got := auth.VerifyPassword(c.hash, c.password); got != c.ok {
			t.Errorf("VerifyPassword(%.12s…) = %v, want %v", c.hash, got, c.ok)
		}
	}
}

func TestUsersAndTokens(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		svc := auth.NewService(a.DB, a.Dict, func() time.Time { return now })
		u, err := svc.CreateUser(ctx, "agent@courtier.example", "Agent Devis", "devis", "Un-mot-de-passe-long-2026")
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		a.DB.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&stored)
		if strings.Contains(stored, "Un-mot-de-passe") {
			t.Fatal("the password is stored in clear")
		}
		refused := []struct{ name, email, display, dep, password, field string }{
			{"duplicate", "agent@courtier.example", "Autre", "devis", "Un-mot-de-passe-long-2026", ""},
			{"bad email", "agent@", "Autre", "devis", "Un-mot-de-passe-long-2026", "email"},
			{"unknown department", "x@courtier.example", "Autre", "ventes", "Un-mot-de-passe-long-2026", "department"},
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
		if _, err := svc.Authenticate(ctx, "agent@courtier.example", "wrong-password-2026"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "nobody@courtier.example", "wrong-password-2026"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("unknown user: %v", err)
		}
		session, err := svc.IssueToken(ctx, u, auth.KindSession)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := svc.UserForToken(ctx, session); err != nil || got.ID != u.ID {
			t.Fatalf("fresh session: %v", err)
		}
		now = now.Add(auth.SessionTTL + time.Minute)
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
