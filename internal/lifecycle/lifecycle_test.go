package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/demo"
	"vigie/internal/lifecycle"
	"vigie/internal/record"
	"vigie/internal/rights"
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
		if n := count(t, a, `SELECT count(*) FROM subject_keys k WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = k.person_id)`); n != 0 {
			t.Errorf("%d keys outlive their person", n)
		}
	})
}

var dpo = lifecycle.Staff{Department: "dpo"}

// person creates a prospect whose last contact (and collection) was at the given time, with a
// quote made then; it returns the person's and the quote's numbers.
func person(t *testing.T, a *app.App, email string, contact time.Time) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	p, err := a.Records.Create(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "persons", record.Input{Channel: "phone",
		Fields: fields(t, fmt.Sprintf(`{"first_name":"Camille","last_name":"Le Goff","email":%q,"birth_date":"1985-03-14","departement":"29"}`, email))})
	if err != nil {
		t.Fatal(err)
	}
	q, err := a.Records.Create(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "quotes", record.Input{Channel: "phone",
		Fields: fields(t, fmt.Sprintf(`{"person_id":%d,"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2015,"vehicle_energy":"essence",
		"vehicle_usage":"prive","plate":"GH-456-JK","licence_date":"2004-06-01","bonus_malus":0.68,"coverage":"tous_risques","premium_quoted":612.40}`, p.ID))})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE persons SET created_at = $1, last_contact_at = $1 WHERE id = $2`, `UPDATE quotes SET created_at = $1 WHERE person_id = $2`} {
		if _, err := a.DB.ExecContext(ctx, q, contact, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	return p.ID, q.ID
}

func fields(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func exists(t *testing.T, a *app.App, table string, id int64) bool {
	t.Helper()
	return count(t, a, "SELECT count(*) FROM "+table+" WHERE id = $1", id) == 1
}

func run(t *testing.T, a *app.App, at time.Time) *lifecycle.Run {
	t.Helper()
	r, err := a.Lifecycle.Run(context.Background(), lifecycle.Options{Now: at})
	if err != nil {
		t.Fatalf("run at %s: %v", at.Format("2006-01-02"), err)
	}
	return r
}

func due(t *testing.T, a *app.App, at time.Time, rule, action string) lifecycle.Due {
	t.Helper()
	ds, err := a.Lifecycle.Due(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Rule == rule && d.Action == action {
			return d
		}
	}
	t.Fatalf("no step %s/%s", rule, action)
	return lifecycle.Due{}
}

// TestR36_LegalHoldSuspendsEveryAction: a person under a legal hold keeps everything past its
// term — the person, the quote — while another in the same state is deleted; the check counts
// them as suspended, not overdue; once the hold is lifted, the next run ends them. A hold without
// a reason, ending in the past, on an unknown person or on someone else's contract is refused and
// writes nothing.
func TestR36_LegalHoldSuspendsEveryAction(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC()
		held, heldQuote := person(t, a, "gel@exemple.fr", at.AddDate(-4, 0, 0))
		free, _ := person(t, a, "libre@exemple.fr", at.AddDate(-4, 0, 0))

		var inputErr *lifecycle.InputError
		for _, c := range []struct {
			name  string
			req   lifecycle.HoldRequest
			field string
		}{
			{"no reason", lifecycle.HoldRequest{PersonID: held, EndsAt: at.AddDate(1, 0, 0)}, "reason"},
			{"ends in the past", lifecycle.HoldRequest{PersonID: held, Reason: "Contentieux sinistre 2026-118", EndsAt: at.AddDate(0, 0, -1)}, "ends_at"},
			{"ends in fifty years", lifecycle.HoldRequest{PersonID: held, Reason: "Contentieux sinistre 2026-118", EndsAt: at.AddDate(50, 0, 0)}, "ends_at"},
			{"no person", lifecycle.HoldRequest{Reason: "Contentieux sinistre 2026-118", EndsAt: at.AddDate(1, 0, 0)}, "person_id"},
		} {
			if _, err := a.Lifecycle.PlaceHold(ctx, dpo, c.req); !errors.As(err, &inputErr) || inputErr.Field != c.field {
				t.Errorf("%s: got %v, want an error on %s", c.name, err, c.field)
			}
		}
		if _, err := a.Lifecycle.PlaceHold(ctx, dpo, lifecycle.HoldRequest{PersonID: 999999, Reason: "Contentieux sinistre 2026-118", EndsAt: at.AddDate(1, 0, 0)}); !errors.Is(err, lifecycle.ErrUnknownPerson) {
			t.Errorf("a hold on an unknown person: %v", err)
		}
		if n := count(t, a, `SELECT count(*) FROM legal_holds`); n != 0 {
			t.Fatalf("refused holds wrote %d rows", n)
		}

		hold, err := a.Lifecycle.PlaceHold(ctx, dpo, lifecycle.HoldRequest{PersonID: held, Reason: "Contentieux sinistre 2026-118", EndsAt: at.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if d := due(t, a, at, "prospect", "delete"); d.Now != 1 || d.Suspended != 1 {
			t.Errorf("before the run: %d due, %d suspended; want 1 and 1", d.Now, d.Suspended)
		}
		r := run(t, a, at)
		if !exists(t, a, "persons", held) || !exists(t, a, "quotes", heldQuote) {
			t.Error("the run touched the held person's data")
		}
		if exists(t, a, "persons", free) {
			t.Error("the person without a hold was not deleted")
		}
		if r.Overdue != 0 {
			t.Errorf("a held person counted as overdue: %d", r.Overdue)
		}
		if d := due(t, a, at, "prospect", "delete"); d.Now != 0 || d.Suspended != 1 {
			t.Errorf("after the run: %d due, %d suspended; want 0 and 1", d.Now, d.Suspended)
		}
		if err := a.Lifecycle.LiftHold(ctx, dpo, hold); err != nil {
			t.Fatal(err)
		}
		if err := a.Lifecycle.LiftHold(ctx, dpo, hold); !errors.As(err, &inputErr) {
			t.Errorf("lifting a hold twice: %v", err)
		}
		run(t, a, at.Add(time.Hour))
		if exists(t, a, "persons", held) || exists(t, a, "quotes", heldQuote) {
			t.Error("the hold was lifted, and the person is still there")
		}
	})
}

// TestR29_RestrictedPersonIsOnlyStored: a person whose processing is restricted is not processed
// by the engine, not even to be deleted at their term: they wait, counted as suspended.
func TestR29_RestrictedPersonIsOnlyStored(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		at := a.Now().UTC()
		p, q := person(t, a, "limite@exemple.fr", at.AddDate(-5, 0, 0))
		if err := a.Rights.Restrict(context.Background(), rights.Staff{Department: "dpo"}, p, 0, "La personne conteste l'exactitude de ses données"); err != nil {
			t.Fatal(err)
		}
		run(t, a, at)
		if !exists(t, a, "persons", p) || !exists(t, a, "quotes", q) {
			t.Error("the engine processed a restricted person")
		}
		if d := due(t, a, at, "prospect", "delete"); d.Suspended != 1 || d.Now != 0 {
			t.Errorf("a restricted prospect: %d due, %d suspended", d.Now, d.Suspended)
		}
	})
}

// TestR33_ProspectAskedOnceThenDeletedUnlessContactResumes: a month before the three years, a
// prospect is asked once whether to keep in touch (a resumed or repeated run does not ask again);
// one who answers — an exchange recorded with them — starts a new three years; the other is
// deleted at the term.
func TestR33_ProspectAskedOnceThenDeletedUnlessContactResumes(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC().AddDate(0, -1, 0) // the runs go a few days on, the reply stays in the past
		answers, _ := person(t, a, "repond@exemple.fr", at.AddDate(-3, 0, 10))
		silent, _ := person(t, a, "silence@exemple.fr", at.AddDate(-3, 0, 10))
		renewals := func() int64 { return count(t, a, `SELECT count(*) FROM outbox WHERE kind = 'renewal'`) }
		if r := run(t, a, at); renewals() != 2 || r.Overdue != 0 {
			t.Fatalf("first run: %d renewal messages, %d overdue; want 2 and 0", renewals(), r.Overdue)
		}
		run(t, a, at.AddDate(0, 0, 1))
		if n := renewals(); n != 2 {
			t.Errorf("a second run asked again: %d messages", n)
		}
		if _, err := a.Records.Create(ctx, record.Actor{Department: "prospection", Purposes: []string{"prospection"}}, "interactions", record.Input{Channel: "email",
			Fields: fields(t, fmt.Sprintf(`{"person_id":%d,"channel":"email","purpose":"prospection","occurred_at":%q,"note":"Souhaite rester en contact"}`,
				answers, at.AddDate(0, 0, 2).Format(time.RFC3339)))}); err != nil {
			t.Fatal(err)
		}
		run(t, a, at.AddDate(0, 0, 11))
		if !exists(t, a, "persons", answers) {
			t.Error("the prospect who answered was deleted")
		}
		if exists(t, a, "persons", silent) {
			t.Error("the prospect who did not answer is still there after the term")
		}
	})
}

// TestR34_AnonymisedQuotesFeedStatisticsOnlyWithConsent: a quote without contract past two years
// is removed; it leaves a statistics row — bands, a month, no identifier, no detailed price — only
// when its person consented to the performance purpose.
func TestR34_AnonymisedQuotesFeedStatisticsOnlyWithConsent(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC()
		consented, q1 := person(t, a, "accord@exemple.fr", at.AddDate(0, -1, 0))
		_, q2 := person(t, a, "refus@exemple.fr", at.AddDate(0, -1, 0))
		if err := a.Consent.Record(ctx, consented, []consent.Choice{{Purpose: "performance", Granted: true}},
			consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "devis"}); err != nil {
			t.Fatal(err)
		}
		quoted := at.AddDate(-2, -2, 0)
		if _, err := a.DB.ExecContext(ctx, `UPDATE quotes SET created_at = $1`, quoted); err != nil {
			t.Fatal(err)
		}
		run(t, a, at)
		if exists(t, a, "quotes", q1) || exists(t, a, "quotes", q2) {
			t.Fatal("a quote past two years without contract is still there")
		}
		var month, age, band, energy string
		var price int64
		var converted bool
		if err := a.DB.QueryRowContext(ctx, `SELECT month, age_band, bonus_malus_band, vehicle_energy, price_band, converted FROM statistics`).Scan(
			&month, &age, &band, &energy, &price, &converted); err != nil {
			t.Fatalf("want exactly one statistics row: %v (%d rows)", err, count(t, a, `SELECT count(*) FROM statistics`))
		}
		want := []any{quoted.Format("2006-01"), "35-44", "0.50-0.69", "essence", int64(600), false}
		if got := []any{month, age, band, energy, price, converted}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("statistics row %v, want %v", got, want)
		}
	})
}

// TestR38_RetentionRulesAreDataTheDPOChanges: the DPO changes a rule's duration with a reason and
// the engine applies the new version; a change to an unknown rule, with an absurd duration, an
// action the rule does not allow, or without a reason is refused and writes nothing; a run dated
// before the last one is refused.
func TestR38_RetentionRulesAreDataTheDPOChanges(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC()
		var ruleErr *lifecycle.RuleError
		for _, c := range []struct {
			change lifecycle.RuleChange
			field  string
		}{
			{lifecycle.RuleChange{Code: "clients_vip", Months: 12, Action: "delete", Reason: "Nouvelle règle interne"}, "code"},
			{lifecycle.RuleChange{Code: "prospect", Months: -3, Action: "delete", Reason: "Durée raccourcie par le DPO"}, "months"},
			{lifecycle.RuleChange{Code: "prospect", Months: 0, Action: "delete", Reason: "Durée raccourcie par le DPO"}, "months"},
			{lifecycle.RuleChange{Code: "prospect", Months: 12000, Action: "delete", Reason: "Durée allongée par le DPO"}, "months"},
			{lifecycle.RuleChange{Code: "prospect", Months: 24, Action: "archive", Reason: "Archiver plutôt que supprimer"}, "action"},
			{lifecycle.RuleChange{Code: "quote_no_contract", Months: 24, Action: "purge", Reason: "Action inconnue testée"}, "action"},
			{lifecycle.RuleChange{Code: "prospect", Months: 24, Action: "delete", Reason: " "}, "reason"},
		} {
			if _, err := a.Lifecycle.SetRule(ctx, dpo, c.change); !errors.As(err, &ruleErr) || ruleErr.Field != c.field {
				t.Errorf("%+v: got %v, want an error on %s", c.change, err, c.field)
			}
		}
		if n := count(t, a, `SELECT count(*) FROM retention_rules`); n != 0 {
			t.Fatalf("refused changes wrote %d versions", n)
		}
		p, _ := person(t, a, "court@exemple.fr", at.AddDate(0, -18, 0))
		run(t, a, at)
		if !exists(t, a, "persons", p) {
			t.Fatal("a prospect contacted 18 months ago was deleted under the three-year rule")
		}
		r, err := a.Lifecycle.SetRule(ctx, dpo, lifecycle.RuleChange{Code: "prospect", Months: 12, Action: "delete", Reason: "Décision du comité RGPD du 3 mars"})
		if err != nil || r.Version != 1 || r.Months != 12 {
			t.Fatalf("a valid change: %+v, %v", r, err)
		}
		run(t, a, at.Add(time.Hour))
		if exists(t, a, "persons", p) {
			t.Error("the engine did not apply the DPO's new version of the rule")
		}
		var inputErr *lifecycle.InputError
		if _, err := a.Lifecycle.Run(ctx, lifecycle.Options{Now: at.AddDate(0, 0, -1)}); !errors.As(err, &inputErr) || inputErr.Field != "now" {
			t.Errorf("a run dated before the last one: %v", err)
		}
	})
}

// TestR33_DryRunPredictsTheRunAndChangesNothing: a dry run changes no row and counts exactly what
// the real run then does.
func TestR33_DryRunPredictsTheRunAndChangesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		demoData(t, a, 300)
		snapshot := func() string {
			var b strings.Builder
			for _, table := range []string{"persons", "quotes", "contracts", "documents", "interactions", "tickets", "consents", "subject_keys",
				"search_index", "statistics", "outbox", "audit_events"} {
				fmt.Fprintf(&b, "%s=%d ", table, count(t, a, "SELECT count(*) FROM "+table))
			}
			fmt.Fprintf(&b, "archived=%d", count(t, a, "SELECT count(*) FROM contracts WHERE archived"))
			return b.String()
		}
		if err := a.Audit.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		before := snapshot()
		dry, err := a.Lifecycle.Run(ctx, lifecycle.Options{Now: day0, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Audit.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(); after != before {
			t.Errorf("the dry run changed the data:\nbefore %s\nafter  %s", before, after)
		}
		real := run(t, a, day0)
		if fmt.Sprint(dry.Counts) != fmt.Sprint(real.Counts) || dry.Total() == 0 {
			t.Errorf("dry run %v, real run %v", dry.Counts, real.Counts)
		}
	})
}

// TestR33_ConcurrentRunsDoNothingTwice: two runs started together (the nightly one and one from
// the DPO's page) share the work without doing any of it twice: together they handle exactly
// what a dry run predicted.
func TestR33_ConcurrentRunsDoNothingTwice(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		demoData(t, a, 300)
		dry, err := a.Lifecycle.Run(ctx, lifecycle.Options{Now: day0, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := a.Lifecycle.WithBatch(7).Run(ctx, lifecycle.Options{Now: day0})
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var handled int64
		if err := a.DB.QueryRowContext(ctx, `SELECT COALESCE(sum(c.n), 0) FROM lifecycle_counts c JOIN lifecycle_runs r ON r.id = c.run_id WHERE NOT r.dry_run`).Scan(&handled); err != nil {
			t.Fatal(err)
		}
		if handled != dry.Total() {
			t.Errorf("the two runs handled %d records together; the dry run predicted %d", handled, dry.Total())
		}
		if d := due(t, a, day0, "prospect", "delete"); d.Now != 0 {
			t.Errorf("%d prospects still due", d.Now)
		}
	})
}

// TestR33_ExpiredCredentialsAreSwept: a run deletes staff sessions past their end, portal
// sessions past theirs and portal codes sent more than a day before, and keeps the others.
func TestR33_ExpiredCredentialsAreSwept(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC()
		p, _ := person(t, a, "portail@exemple.fr", at)
		var user int64
		if err := a.DB.QueryRowContext(ctx, `INSERT INTO users (email, display_name, department, password_hash, created_at) VALUES ('ops@vigie.test', 'Ops', 'admin', 'x', $1) RETURNING id`, at).Scan(&user); err != nil {
			t.Fatal(err)
		}
		for i, c := range []struct {
			query string
			args  []any
		}{
			{`INSERT INTO api_tokens (user_id, token_hash, kind, created_at, expires_at) VALUES ($1, $2, 'session', $3, $4)`, []any{user, "expired", at.Add(-13 * time.Hour), at.Add(-time.Hour)}},
			{`INSERT INTO api_tokens (user_id, token_hash, kind, created_at, expires_at) VALUES ($1, $2, 'session', $3, $4)`, []any{user, "current", at, at.Add(time.Hour)}},
			{`INSERT INTO api_tokens (user_id, token_hash, kind, created_at) VALUES ($1, $2, 'script', $3)`, []any{user, "script", at.AddDate(-1, 0, 0)}},
			{`INSERT INTO portal_sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`, []any{[]byte("old"), p, at.Add(-2 * time.Hour), at.Add(-time.Hour)}},
			{`INSERT INTO portal_sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`, []any{[]byte("new"), p, at, at.Add(time.Hour)}},
			{`INSERT INTO portal_codes (person_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`, []any{p, []byte("old"), at.Add(-48 * time.Hour), at.Add(-47 * time.Hour)}},
			{`INSERT INTO portal_codes (person_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`, []any{p, []byte("recent"), at.Add(-time.Hour), at.Add(-50 * time.Minute)}},
		} {
			if _, err := a.DB.ExecContext(ctx, c.query, c.args...); err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
		}
		run(t, a, at)
		for _, c := range []struct {
			what  string
			query string
			want  int64
		}{
			{"staff tokens kept (the current session, the script token)", `SELECT count(*) FROM api_tokens WHERE user_id = $1`, 2},
			{"portal sessions kept", `SELECT count(*) FROM portal_sessions WHERE person_id = $1`, 1},
			{"portal codes kept (sent within a day)", `SELECT count(*) FROM portal_codes WHERE person_id = $1`, 1},
		} {
			arg := p
			if strings.HasPrefix(c.what, "staff") {
				arg = user
			}
			if n := count(t, a, c.query, arg); n != c.want {
				t.Errorf("%s: %d, want %d", c.what, n, c.want)
			}
		}
	})
}

// TestR33_ResumedRunIsRecordedAsResumed: a run that an interruption left unfinished is taken up
// by the next one at its own date, and the record of the runs keeps that it was resumed and when;
// a run that went through at once is not marked.
func TestR33_ResumedRunIsRecordedAsResumed(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		demoData(t, a, 100)
		// What a kill -9 leaves behind: a run recorded as running, never finished.
		if _, err := a.DB.ExecContext(ctx, `INSERT INTO lifecycle_runs (as_of, dry_run, status, started_at) VALUES ($1, FALSE, $2, $3)`,
			day0, lifecycle.StatusRunning, day0); err != nil {
			t.Fatal(err)
		}
		resumed, err := a.Lifecycle.Run(ctx, lifecycle.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !resumed.Resumed || !resumed.AsOf.Equal(day0) || resumed.Status != lifecycle.StatusDone {
			t.Fatalf("the unfinished run was not resumed at its date: %+v", resumed)
		}
		later := run(t, a, day0.AddDate(0, 0, 1))
		runs, err := a.Lifecycle.Runs(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			switch r.ID {
			case resumed.ID:
				if !r.Resumed || r.ResumedAt.IsZero() {
					t.Errorf("run %d was resumed; its record says %+v", r.ID, r)
				}
			case later.ID:
				if r.Resumed || !r.ResumedAt.IsZero() {
					t.Errorf("run %d went through at once; its record says resumed at %s", r.ID, r.ResumedAt)
				}
			}
		}
	})
}

// TestR34_ABatchOfManyQuotesFeedsTheStatistics: a batch whose quotes give more statistics rows
// than the writer holds at once feeds them all, on PostgreSQL too (where no statement may run on
// the connection while the quotes are still being read).
func TestR34_ABatchOfManyQuotesFeedsTheStatistics(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := a.Now().UTC()
		p, _ := person(t, a, "accord@exemple.fr", at.AddDate(0, -1, 0))
		if err := a.Consent.Record(ctx, p, []consent.Choice{{Purpose: "performance", Granted: true}},
			consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "devis"}); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, c := range a.Dict.Table("quotes").Columns {
			if c.Name != "id" {
				cols = append(cols, c.Name)
			}
		}
		copyQuotes := "INSERT INTO quotes (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(cols, ", ") + " FROM quotes"
		for range 10 { // 1024 quotes of the same person, sealed under their key
			if _, err := a.DB.ExecContext(ctx, copyQuotes); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.DB.ExecContext(ctx, `UPDATE quotes SET created_at = $1`, at.AddDate(-2, -2, 0)); err != nil {
			t.Fatal(err)
		}
		r := run(t, a, at)
		if r.Status != lifecycle.StatusDone {
			t.Fatalf("run %s: %s", r.Status, r.Errors)
		}
		if n := count(t, a, `SELECT count(*) FROM statistics WHERE origin = 'archive'`); n != 1024 {
			t.Errorf("%d statistics rows for 1024 anonymised quotes", n)
		}
		if n := count(t, a, `SELECT count(*) FROM quotes`); n != 0 {
			t.Errorf("%d quotes left", n)
		}
	})
}

// TestR33_RemovedRowsTakeTheirBlindIndexEntries: a run that deletes quotes and persons removes
// their blind-index entries too (found through their persons), and none of anyone else's.
func TestR33_RemovedRowsTakeTheirBlindIndexEntries(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		demoData(t, a, 300)
		orphans := func(table string) int64 {
			return count(t, a, "SELECT count(*) FROM search_index s WHERE s.table_name = $1 AND NOT EXISTS (SELECT 1 FROM "+table+" r WHERE r.id = s.row_id)", table)
		}
		missing := func(table string) int64 {
			return count(t, a, "SELECT count(*) FROM "+table+" r WHERE r."+map[string]string{"persons": "email", "quotes": "plate"}[table]+
				" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM search_index s WHERE s.table_name = $1 AND s.row_id = r.id)", table)
		}
		quotes, persons := count(t, a, "SELECT count(*) FROM quotes"), count(t, a, "SELECT count(*) FROM persons WHERE erased_at IS NULL")
		run(t, a, day0)
		if gone := quotes - count(t, a, "SELECT count(*) FROM quotes"); gone == 0 {
			t.Fatal("the run deleted no quote: nothing checked")
		}
		if gone := persons - count(t, a, "SELECT count(*) FROM persons WHERE erased_at IS NULL"); gone == 0 {
			t.Fatal("the run removed no person: nothing checked")
		}
		for _, table := range []string{"persons", "quotes"} {
			if n := orphans(table); n != 0 {
				t.Errorf("%d blind-index entries of deleted %s left", n, table)
			}
			if n := missing(table); n != 0 {
				t.Errorf("%d %s kept lost their blind-index entries", n, table)
			}
		}
	})
}
