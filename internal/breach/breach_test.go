package breach_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/breach"
	"vigie/internal/record"
	"vigie/internal/rights"
)

var rightsDPO = rights.Staff{Department: "dpo"}

// The test data is fake but treated as personal: failures name the check, the field and the rule,
// never a value.

// now is the fixed time of the register's clock in these tests.
var now = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

var dpo = breach.Staff{UserID: 0, Department: "dpo"}

const (
	title       = "Ordinateur portable volé dans le train"
	description = "Un ordinateur du service contrats, non chiffré, a été volé ; il contenait un export des contrats."
	lastName    = "Kerhervé-Testeur"
)

// register is the register of a fresh app on a fixed clock.
func register(a *app.App, at *time.Time) *breach.Service {
	return breach.New(a.DB, a.Dict, a.Keys, a.Audit, a.Config.Controller, nil, func() time.Time { return *at })
}

// valid is a complete high-risk breach, aware 10 hours before now.
func valid() breach.Details {
	return breach.Details{
		Title: title, AwareAt: now.Add(-10 * time.Hour), DetectedAt: now.Add(-11 * time.Hour), OccurredAt: now.Add(-30 * time.Hour),
		Nature: []string{"confidentiality"}, Origin: "lost_device", Cause: "external_malicious", Description: description,
		DataCategories: []string{"identity", "contact", "contract"}, PeopleCategories: []string{"customer"},
		PeopleCount: ptr(120), RecordsCount: ptr(130),
		Consequences:  "Usurpation d'identité, hameçonnage ciblé à partir des numéros de contrat.",
		MeasuresTaken: "Plainte déposée, comptes de l'employé révoqués, effacement à distance demandé.",
		Risk:          breach.RiskHigh, RiskReason: "Données non chiffrées, identité et contrats : risque élevé d'usurpation.",
	}
}

func ptr(n int64) *int64 { return &n }

func count(t *testing.T, a *app.App, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// snapshot counts what a refused write must leave as it was. The trail's journal is folded
// first: reads made before are counted, not a fold that lands between two snapshots.
func snapshot(t *testing.T, a *app.App) string {
	t.Helper()
	if err := a.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("breaches=%d persons=%d notifications=%d audit=%d updated=%s",
		count(t, a, `SELECT count(*) FROM breaches`), count(t, a, `SELECT count(*) FROM breach_persons`),
		count(t, a, `SELECT count(*) FROM breach_notifications`), count(t, a, `SELECT count(*) FROM audit_events`),
		fmt.Sprint(count(t, a, `SELECT count(*) FROM breach_persons WHERE notified_at IS NOT NULL`)))
}

// refusedAs checks that err is a ValidationError naming field and rule.
func refusedAs(t *testing.T, what string, err error, field, rule string) {
	t.Helper()
	ve, ok := breach.IsInput(err)
	if !ok {
		t.Errorf("%s: %v, want a refusal of %s (%s)", what, err, field, rule)
		return
	}
	for _, is := range ve.Issues {
		if is.Field == field && is.Rule == rule {
			if is.Message == "" {
				t.Errorf("%s: the refusal of %s has no message", what, field)
			}
			return
		}
	}
	var got []string
	for _, is := range ve.Issues {
		got = append(got, is.Field+"/"+is.Rule)
	}
	t.Errorf("%s: refused for %v, want %s/%s", what, got, field, rule)
}

// TestR39_BreachIsRecordedWithArt33ContentAndItsClock: a breach is recorded with every field of
// art. 33(3), its free texts sealed (the raw column never holds the text), audited; its clock
// runs 72 hours from awareness, is overdue after, stops once the CNIL is notified, and is not
// required for a breach unlikely to result in a risk.
func TestR39_BreachIsRecordedWithArt33ContentAndItsClock(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		id, err := reg.Record(ctx, dpo, valid())
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		b, err := reg.Get(ctx, dpo, id)
		if err != nil {
			t.Fatal(err)
		}
		want := valid()
		switch {
		case b.Title != want.Title || b.Description != want.Description || b.Consequences != want.Consequences ||
			b.MeasuresTaken != want.MeasuresTaken || b.RiskReason != want.RiskReason:
			t.Error("a free text does not read back as recorded")
		case !b.AwareAt.Equal(want.AwareAt) || !b.DetectedAt.Equal(want.DetectedAt) || !b.OccurredAt.Equal(want.OccurredAt) || !b.EndedAt.IsZero():
			t.Error("the times do not read back as recorded")
		case *b.PeopleCount != 120 || *b.RecordsCount != 130 || b.Risk != breach.RiskHigh || b.Origin != "lost_device" || b.Cause != "external_malicious":
			t.Error("the numbers or codes do not read back as recorded")
		case strings.Join(b.DataCategories, ",") != "identity,contact,contract" || strings.Join(b.PeopleCategories, ",") != "customer":
			t.Error("the categories do not read back as recorded")
		case !strings.Contains(b.Contact, a.Config.Controller.DPOEmail):
			t.Error("the contact point is not the DPO by default")
		}
		var raw []byte
		if err := a.DB.QueryRowContext(ctx, `SELECT title FROM breaches WHERE id = $1`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || bytes.Contains(raw, []byte("portable")) {
			t.Error("the title is not sealed in the database")
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE table_name = 'breaches' AND action = 'create' AND row_id = $1 AND purpose = 'compliance'`, id); n != 1 {
			t.Errorf("%d audit events for the recording, want 1", n)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE detail LIKE '%portable%'`); n != 0 {
			t.Error("a free text reached the audit trail")
		}

		clocks := []struct {
			name  string
			at    time.Time
			state string
			left  time.Duration
		}{
			{"10 hours after awareness", now, breach.ClockRunning, 62 * time.Hour},
			{"a minute before the deadline", want.AwareAt.Add(72*time.Hour - time.Minute), breach.ClockRunning, time.Minute},
			{"an hour past the deadline", want.AwareAt.Add(73 * time.Hour), breach.ClockOverdue, -time.Hour},
		}
		for _, c := range clocks {
			clock := b.Clock(c.at)
			if clock.State != c.state || clock.Left != c.left || !clock.Deadline.Equal(want.AwareAt.Add(72*time.Hour)) {
				t.Errorf("%s: clock %s, %v left, want %s, %v", c.name, clock.State, clock.Left, c.state, c.left)
			}
			if clock.People != breach.PeoplePending {
				t.Errorf("%s: people %s, want pending (high risk)", c.name, clock.People)
			}
		}
		if _, err := reg.Notify(ctx, dpo, id, breach.NotificationInput{Recipient: "cnil", Phase: "initial", SentAt: now.Add(-time.Hour),
			Channel: "teleservice", Reference: "NOTIF-2026-123"}); err != nil {
			t.Fatalf("notify: %v", err)
		}
		if b, err = reg.Get(ctx, dpo, id); err != nil {
			t.Fatal(err)
		}
		if c := b.Clock(now.Add(100 * time.Hour)); c.State != breach.ClockNotified || c.Late {
			t.Errorf("after an on-time notification, clock %s late=%t, want notified on time", c.State, c.Late)
		}

		low := valid()
		low.Risk, low.RiskReason = breach.RiskLow, "Données chiffrées par le disque, clé non compromise : risque improbable."
		lowID, err := reg.Record(ctx, dpo, low)
		if err != nil {
			t.Fatalf("record a low-risk breach: %v", err)
		}
		lb, _ := reg.Get(ctx, dpo, lowID)
		if c := lb.Clock(now.Add(200 * time.Hour)); c.State != breach.ClockNotRequired || c.People != breach.PeopleNotRequired {
			t.Errorf("low risk: clock %s, people %s, want not required", c.State, c.People)
		}
		list, err := reg.List(ctx, dpo)
		if err != nil || len(list) != 2 || len(list[0].Notifications)+len(list[1].Notifications) != 1 {
			t.Errorf("the register lists %d breaches (err %v), want both with the one notification", len(list), err)
		}
	})
}

// TestR39_BadBreachIsRefusedAndChangesNothing: each bad input is refused naming its field and its
// rule, and leaves the register, the people found and the audit trail as they were.
func TestR39_BadBreachIsRefusedAndChangesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		erased := person(t, a, "Erased", now.AddDate(-1, 0, 0))
		if _, err := a.DB.ExecContext(ctx, `UPDATE persons SET erased_at = $1 WHERE id = $2`, now, erased); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, field, rule string
			change            func(d *breach.Details)
		}{
			{"no awareness time", "aware_at", "required", func(d *breach.Details) { d.AwareAt, d.DetectedAt = time.Time{}, time.Time{} }},
			{"awareness in the future", "aware_at", "not_future", func(d *breach.Details) { d.AwareAt = now.Add(time.Hour) }},
			{"detection after awareness", "detected_at", "not_after_awareness", func(d *breach.Details) { d.DetectedAt = d.AwareAt.Add(time.Minute) }},
			{"start after detection", "occurred_at", "not_after_detection", func(d *breach.Details) { d.OccurredAt = d.DetectedAt.Add(time.Hour) }},
			{"end before start", "ended_at", "not_before_start", func(d *breach.Details) { d.EndedAt = d.OccurredAt.Add(-time.Hour) }},
			{"no nature", "nature", "required", func(d *breach.Details) { d.Nature = nil }},
			{"unknown nature", "nature", "enum", func(d *breach.Details) { d.Nature = []string{"leak"} }},
			{"unknown origin", "origin", "enum", func(d *breach.Details) { d.Origin = "aliens" }},
			{"no cause", "cause", "required", func(d *breach.Details) { d.Cause = "" }},
			{"no title", "title", "required", func(d *breach.Details) { d.Title = " " }},
			{"circumstances too short", "description", "min_length", func(d *breach.Details) { d.Description = "vol" }},
			{"no data categories and no scope", "data_categories", "required", func(d *breach.Details) { d.DataCategories = nil }},
			{"no people categories and no scope", "people_categories", "required", func(d *breach.Details) { d.PeopleCategories = nil }},
			{"negative number of people", "people_count", "min", func(d *breach.Details) { d.PeopleCount = ptr(-1) }},
			{"no consequences", "consequences", "required", func(d *breach.Details) { d.Consequences = "" }},
			{"no measures taken", "measures_taken", "required", func(d *breach.Details) { d.MeasuresTaken = "" }},
			{"no risk level", "risk", "required", func(d *breach.Details) { d.Risk = "" }},
			{"unknown risk level", "risk", "enum", func(d *breach.Details) { d.Risk = "medium" }},
			{"a risk level without its reason", "risk_reason", "min_length", func(d *breach.Details) { d.RiskReason = "non" }},
			{"an art. 34(3) exception without a high risk", "people_exemption", "high_risk_only", func(d *breach.Details) {
				d.Risk, d.PeopleExemption = breach.RiskRisk, "encrypted"
			}},
			{"an unknown scope table", "scope_table", "enum", func(d *breach.Details) { d.Scope.Table = "audit_events" }},
			{"a scope table the department cannot read", "scope_table", "department_access", func(d *breach.Details) {
				d.Scope.Department, d.Scope.Table = "prospection", "contracts"
			}},
			{"a window ending before it starts", "scope_to", "after_from", func(d *breach.Details) {
				d.Scope.From, d.Scope.To = now.AddDate(0, -1, 0), now.AddDate(0, -2, 0)
			}},
			{"an unknown person named", "scope_persons", "exists", func(d *breach.Details) { d.Scope.PersonIDs = []int64{987654} }},
			{"an erased person named", "scope_persons", "exists", func(d *breach.Details) { d.Scope.PersonIDs = []int64{erased} }},
			{"a scope that finds no one, without people categories", "people_categories", "required", func(d *breach.Details) {
				d.Scope.Table, d.PeopleCategories = "tickets", nil
			}},
		}
		for _, c := range cases {
			before := snapshot(t, a)
			d := valid()
			c.change(&d)
			id, err := reg.Record(ctx, dpo, d)
			refusedAs(t, c.name, err, c.field, c.rule)
			if id != 0 {
				t.Errorf("%s: an id was returned", c.name)
			}
			if after := snapshot(t, a); after != before {
				t.Errorf("%s: refused but changed the database: %s, was %s", c.name, after, before)
			}
		}
		for _, dept := range []string{"prospection", "devis", "contrats", "support", "performance", "admin"} {
			if _, err := reg.Record(ctx, breach.Staff{Department: dept}, valid()); !errors.Is(err, breach.ErrForbidden) {
				t.Errorf("%s records a breach: %v, want forbidden", dept, err)
			}
			if _, err := reg.List(ctx, breach.Staff{Department: dept}); !errors.Is(err, breach.ErrForbidden) {
				t.Errorf("%s lists the register: %v, want forbidden", dept, err)
			}
		}
		if n := count(t, a, `SELECT count(*) FROM breaches`); n != 0 {
			t.Errorf("%d breaches recorded by refused writes", n)
		}
	})
}

// TestR39_NotificationsArePhasedAndALateOneGivesItsReason: notifications to the CNIL are initial
// then complementary; one dated before awareness, or in the future, is refused; an initial one
// later than 72 hours needs the reason of the delay; a refused notification changes nothing.
func TestR39_NotificationsArePhasedAndALateOneGivesItsReason(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		d := valid()
		d.AwareAt, d.DetectedAt, d.OccurredAt = now.Add(-100*time.Hour), now.Add(-101*time.Hour), time.Time{}
		id, err := reg.Record(ctx, dpo, d)
		if err != nil {
			t.Fatal(err)
		}
		late := d.AwareAt.Add(80 * time.Hour)
		cnil := func(phase string, sent time.Time, reason string) breach.NotificationInput {
			return breach.NotificationInput{Recipient: "cnil", Phase: phase, SentAt: sent, Channel: "teleservice", LateReason: reason}
		}
		steps := []struct {
			name        string
			in          breach.NotificationInput
			field, rule string // empty: accepted
		}{
			{"a notification dated before awareness", cnil("initial", d.AwareAt.Add(-time.Minute), ""), "sent_at", "not_before_awareness"},
			{"a notification dated in the future", cnil("initial", now.Add(time.Hour), ""), "sent_at", "not_future"},
			{"a notification without its date", cnil("initial", time.Time{}, ""), "sent_at", "required"},
			{"an unknown recipient", breach.NotificationInput{Recipient: "press", Phase: "initial", SentAt: late, Channel: "email"}, "recipient", "enum"},
			{"a channel the CNIL does not use", breach.NotificationInput{Recipient: "cnil", Phase: "initial", SentAt: late, Channel: "phone",
				LateReason: "Analyse technique plus longue que prévu."}, "channel", "enum"},
			{"a complementary notification before the initial one", cnil("complementary", late, ""), "phase", "initial_first"},
			{"a late initial notification without its reason", cnil("initial", late, ""), "late_reason", "required_when_late"},
			{"a late initial notification with a too short reason", cnil("initial", late, "retard"), "late_reason", "required_when_late"},
			{"a late initial notification with its reason", cnil("initial", late, "Le prestataire n'a confirmé l'ampleur de la fuite qu'au quatrième jour."), "", ""},
			{"a second initial notification", cnil("initial", late.Add(time.Hour), ""), "phase", "once"},
			{"a complementary notification before the initial one's date", cnil("complementary", late.Add(-time.Hour), ""), "sent_at", "not_before_initial"},
			{"a complementary notification", cnil("complementary", late.Add(2*time.Hour), ""), "", ""},
		}
		for _, s := range steps {
			before := snapshot(t, a)
			_, err := reg.Notify(ctx, dpo, id, s.in)
			if s.field == "" {
				if err != nil {
					t.Errorf("%s: %v, want accepted", s.name, err)
				}
				continue
			}
			refusedAs(t, s.name, err, s.field, s.rule)
			if after := snapshot(t, a); after != before {
				t.Errorf("%s: refused but changed the database: %s, was %s", s.name, after, before)
			}
		}
		b, err := reg.Get(ctx, dpo, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Notifications) != 2 || b.Notifications[0].Phase != "initial" || b.Notifications[1].Phase != "complementary" {
			t.Fatalf("%d notifications recorded, want the initial and the complementary", len(b.Notifications))
		}
		if b.Notifications[0].LateReason == "" {
			t.Error("the reason of the delay is not kept")
		}
		if c := b.Clock(now); c.State != breach.ClockNotified || !c.Late {
			t.Errorf("clock %s late=%t, want notified late", c.State, c.Late)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE table_name = 'breach_notifications' AND detail LIKE '%late=true%'`); n != 1 {
			t.Errorf("%d audit events for the late notification, want 1", n)
		}
		if _, err := reg.Notify(ctx, dpo, 987654, cnil("initial", now, "")); !errors.Is(err, breach.ErrNotFound) {
			t.Errorf("a notification of an unknown breach: %v, want not found", err)
		}
		if _, err := reg.Notify(ctx, breach.Staff{Department: "support"}, id, cnil("complementary", now, "")); !errors.Is(err, breach.ErrForbidden) {
			t.Errorf("support records a notification: %v, want forbidden", err)
		}

		// An update never moves the clock; the measures it adds are audited by field name.
		d.MeasuresProposed = "Chiffrement intégral des disques de tous les postes d'ici la fin du mois."
		moved := d
		moved.AwareAt = d.AwareAt.Add(24 * time.Hour)
		before := snapshot(t, a)
		refusedAs(t, "an update moving the awareness time", reg.Update(ctx, dpo, id, moved), "aware_at", "immutable")
		if after := snapshot(t, a); after != before {
			t.Errorf("a refused update changed the database: %s, was %s", after, before)
		}
		if err := reg.Update(ctx, dpo, id, d); err != nil {
			t.Fatalf("update: %v", err)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_events WHERE table_name = 'breaches' AND action = 'update' AND fields = 'measures_proposed'`); n != 1 {
			t.Errorf("%d audit events naming the measures changed, want 1", n)
		}
	})
}

// person creates a customer with a quote and a contract made at the given time.
func person(t *testing.T, a *app.App, last string, created time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	p, err := a.Records.Create(ctx, devis, "persons", record.Input{Channel: "phone", Text: map[string]string{
		"first_name": "Camille", "last_name": last, "email": fmt.Sprintf("camille.%d@exemple.fr", time.Now().UnixNano()), "birth_date": "1985-03-14",
		"address_line": "3 rue des Lilas", "postal_code": "29200", "city": "Brest", "departement": "29", "kind": "customer"}})
	if err != nil {
		t.Fatalf("seed a person: %v", err) // the store's errors name fields and rules, never values
	}
	pid := fmt.Sprint(p.ID)
	if _, err := a.Records.Create(ctx, devis, "quotes", record.Input{Channel: "phone", Text: map[string]string{
		"person_id": pid, "vehicle_make": "Peugeot", "vehicle_model": "208", "vehicle_year": "2015", "vehicle_energy": "essence",
		"vehicle_usage": "prive", "licence_date": "2004-06-01", "bonus_malus": "0.68", "coverage": "tous_risques", "premium_quoted": "612.40"}}); err != nil {
		t.Fatalf("seed a quote: %v", err)
	}
	if _, err := a.Records.Create(ctx, record.Actor{Department: "contrats", Purposes: []string{"contracts"}}, "contracts", record.Input{Channel: "phone",
		Text: map[string]string{"person_id": pid, "insurer": "Mutuelle Test", "policy_number": "POL-" + pid, "start_date": "2026-01-01",
			"annual_premium": "640.00", "broker_commission": "64.00"}}); err != nil {
		t.Fatalf("seed a contract: %v", err)
	}
	for _, table := range []string{"persons", "quotes", "contracts"} {
		col := "person_id"
		if table == "persons" {
			col = "id"
		}
		if _, err := a.DB.ExecContext(ctx, `UPDATE `+table+` SET created_at = $1 WHERE `+col+` = $2`, created.UTC(), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	return p.ID
}

// TestR39_ScopeFindsThePeopleThroughTheData: a breach naming a scope — a table and a window of
// records created, a department whose access leaked, people by number — finds exactly the people
// and records concerned in the data; erased people are never counted; the categories and numbers
// left empty are derived from what was found.
func TestR39_ScopeFindsThePeopleThroughTheData(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		at := now
		reg := register(a, &at)
		old := person(t, a, "Ancien", now.AddDate(-2, 0, 0))
		march := person(t, a, "Mars", time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		april := person(t, a, "Avril", time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC))
		gone := person(t, a, "Parti", time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC))
		if _, err := a.DB.ExecContext(ctx, `UPDATE persons SET erased_at = $1 WHERE id = $2`, now, gone); err != nil {
			t.Fatal(err)
		}
		q1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cases := []struct {
			name            string
			scope           breach.Scope
			people, records int64
			listed          int
		}{
			{"the contracts created in March and April", breach.Scope{Table: "contracts", From: q1, To: q1.AddDate(0, 2, 0)}, 2, 2, 0},
			{"everything created since March", breach.Scope{From: q1}, 2, 6, 0},
			{"the quotes department's access", breach.Scope{Department: "devis"}, 3, 6, 0},
			{"the support department's contracts", breach.Scope{Department: "support", Table: "contracts"}, 3, 3, 0},
			{"one person named", breach.Scope{PersonIDs: []int64{old}}, 1, 3, 1},
			{"a window and a person named outside it", breach.Scope{Table: "quotes", From: q1, To: q1.AddDate(0, 1, 0), PersonIDs: []int64{april}}, 2, 1, 1},
		}
		var first int64
		for _, c := range cases {
			d := valid()
			d.Scope, d.PeopleCount, d.RecordsCount, d.DataCategories, d.PeopleCategories = c.scope, nil, nil, nil, nil
			id, err := reg.Record(ctx, dpo, d)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if first == 0 {
				first = id
			}
			b, err := reg.Get(ctx, dpo, id)
			if err != nil {
				t.Fatal(err)
			}
			if b.PeopleFound != c.people || b.RecordsFound != c.records {
				t.Errorf("%s: found %d people and %d records, want %d and %d", c.name, b.PeopleFound, b.RecordsFound, c.people, c.records)
			}
			if b.PeopleCount == nil || *b.PeopleCount != c.people || b.RecordsCount == nil || *b.RecordsCount != c.records {
				t.Errorf("%s: the approximate numbers are not those found", c.name)
			}
			if len(b.Scope.PersonIDs) != c.listed {
				t.Errorf("%s: %d people named, want %d", c.name, len(b.Scope.PersonIDs), c.listed)
			}
			if strings.Join(b.PeopleCategories, ",") != "customer" || len(b.DataCategories) == 0 {
				t.Errorf("%s: categories not derived (%v, %v)", c.name, b.PeopleCategories, b.DataCategories)
			}
			if n := count(t, a, `SELECT count(*) FROM breach_persons WHERE breach_id = $1 AND person_id = $2`, id, gone); n != 0 {
				t.Errorf("%s: the erased person is counted", c.name)
			}
		}
		people, next, err := reg.People(ctx, dpo, first, 0, 10)
		if err != nil || next != 0 || len(people) != 2 || people[0].PersonID != march || people[1].PersonID != april {
			t.Errorf("the people of the first breach: %d (next %d, err %v), want the two of March and April", len(people), next, err)
		}
		// A department's scope names only the categories it reads: quotes see no contract.
		d := valid()
		d.Scope, d.DataCategories = breach.Scope{Department: "devis"}, nil
		id, err := reg.Record(ctx, dpo, d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := reg.Get(ctx, dpo, id)
		if cats := strings.Join(b.DataCategories, ","); !strings.Contains(cats, "vehicle") || strings.Contains(cats, "contract") {
			t.Errorf("the quotes department's categories are %s, want vehicle without contract", cats)
		}
		// Erasing a person removes them from every breach; the breach keeps its numbers.
		if _, err := a.Rights.Erase(ctx, rightsDPO, march, 0); err != nil {
			t.Fatalf("erase: %v", err)
		}
		if n := count(t, a, `SELECT count(*) FROM breach_persons WHERE person_id = $1`, march); n != 0 {
			t.Errorf("%d breach rows outlive the erasure of the person", n)
		}
		if b, _ := reg.Get(ctx, dpo, first); b.PeopleFound != 2 {
			t.Error("the breach lost its numbers with the erasure")
		}
	})
}
