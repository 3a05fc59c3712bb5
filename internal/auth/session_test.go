package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
)

// TestSessionsEndWhenIdleAndEverywhere: a session unused for 30 minutes ends (using it keeps it
// alive, up to its 12 hours); "log out everywhere" ends every session but not script tokens.
func TestSessionsEndWhenIdleAndEverywhere(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		svc := auth.NewService(a.DB, a.Dict, a.Keys, func() time.Time { return now }, auth.WithArgon2(auth.TestArgon2()))
		u, err := svc.CreateUser(ctx, "agent@courtier.example", "Agent Support", "support", "Vigie-Quartz-Tournesol-9187")
		if err != nil {
			t.Fatal(err)
		}
		valid := func(token string) bool {
			_, err := svc.UserForToken(ctx, token)
			if err != nil && !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatal(err)
			}
			return err == nil
		}
		session, _ := svc.IssueToken(ctx, u, auth.KindSession)
		steps := []struct {
			advance time.Duration
			valid   bool
		}{
			{20 * time.Minute, true},  // used after 20 minutes: still open, and noted
			{25 * time.Minute, true},  // 25 minutes after that use: still open
			{31 * time.Minute, false}, // 31 minutes without use: ended
		}
		for i, st := range steps {
			now = now.Add(st.advance)
			// Past the cache of recent tokens, so that the database decides.
			now = now.Add(6 * time.Second)
			if got := valid(session); got != st.valid {
				t.Errorf("step %d (+%s): valid %v, want %v", i, st.advance, got, st.valid)
			}
		}
		s1, _ := svc.IssueToken(ctx, u, auth.KindSession)
		s2, _ := svc.IssueToken(ctx, u, auth.KindSession)
		script, _ := svc.IssueToken(ctx, u, auth.KindScript)
		if err := svc.LogoutEverywhere(ctx, u); err != nil {
			t.Fatal(err)
		}
		now = now.Add(6 * time.Second)
		if valid(s1) || valid(s2) {
			t.Error("a session survived logging out everywhere")
		}
		if !valid(script) {
			t.Error("logging out everywhere revoked a script token")
		}
	})
}
