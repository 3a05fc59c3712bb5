package lifecycle_test

import (
	"context"
	"errors"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/lifecycle"
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
		run(t, a, at)

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
