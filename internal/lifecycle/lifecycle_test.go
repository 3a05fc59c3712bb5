package lifecycle_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/demo"
	"vigie/internal/lifecycle"
)

// day0 is the day the demo data is generated for: six years of history end there.
var day0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func demoData(t *testing.T, a *app.App, persons int) demo.Summary {
	t.Helper()
	s, err := demo.Generate(context.Background(), a, demo.Options{Persons: persons, Seed: 7, Now: day0})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t *testing.T, a *app.App, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestR33_R34_R35_RunLeavesNothingOverdue: on the demo data, a run applies every rule: nothing is
// due any more at its date, prospects past three years are gone, quotes without contract past two
// years are statistics, ended contracts are archived; six years later, the same holds.
func TestR33_R34_R35_RunLeavesNothingOverdue(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		s := demoData(t, a, 400)
		if s.PastRetention == 0 {
			t.Fatal("the demo data has nothing past its retention")
		}
		for _, at := range []time.Time{day0, day0.AddDate(6, 0, 0)} {
			run, err := a.Lifecycle.Run(ctx, lifecycle.Options{Now: at})
			if err != nil {
				t.Fatalf("run at %s: %v", at.Format("2006-01-02"), err)
			}
			if run.Status != lifecycle.StatusDone || run.Overdue != 0 {
				t.Errorf("run at %s: status %s, overdue %d", at.Format("2006-01-02"), run.Status, run.Overdue)
			}
			t.Logf("run at %s: %+v", at.Format("2006-01-02"), run.Counts)
			due, err := a.Lifecycle.Due(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range due {
				if d.Now != 0 {
					t.Errorf("after the run at %s, %s/%s still has %d due", at.Format("2006-01-02"), d.Rule, d.Action, d.Now)
				}
			}
			if n := count(t, a, `SELECT count(*) FROM persons WHERE kind = 'prospect' AND erased_at IS NULL AND COALESCE(last_contact_at, created_at) < $1`, at.AddDate(-3, 0, 0)); n != 0 {
				t.Errorf("%d prospects past three years remain", n)
			}
			if n := count(t, a, `SELECT count(*) FROM quotes q WHERE q.created_at < $1 AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = q.id)`, at.AddDate(-2, 0, 0)); n != 0 {
				t.Errorf("%d quotes without contract past two years remain", n)
			}
			if n := count(t, a, `SELECT count(*) FROM contracts WHERE end_date < $1 AND NOT archived`, at.Format("2006-01-02")); n != 0 {
				t.Errorf("%d ended contracts are not archived", n)
			}
		}
		if n := count(t, a, `SELECT count(*) FROM statistics`); n == 0 {
			t.Error("no statistics were fed")
		}
		var orphanKeys int64
		orphanKeys = count(t, a, `SELECT count(*) FROM subject_keys k WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = k.person_id)`)
		if orphanKeys != 0 {
			t.Errorf("%d keys outlive their person", orphanKeys)
		}
		_ = sql.ErrNoRows
	})
}
