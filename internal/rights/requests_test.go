package rights_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/record"
	"vigie/internal/rights"
)

// TestR32_RequestClock: a request is due one month after receipt; it can be extended once, inside
// the first month, with a reason that is queued to the person; the DPO's queue is ordered by time
// left; an answer closes the clock.
func TestR32_RequestClock(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "horloge@exemple.fr", "none")
		id, err := a.Rights.Submit(ctx, dpo, rights.NewRequest{PersonID: c.person, Type: "access", Channel: "letter", Details: "Copie de mes données", IdentityCheck: "id_document"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := a.Rights.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !r.DueAt.Equal(r.ReceivedAt.AddDate(0, 1, 0)) || r.IdentityCheck != "id_document" || r.Purpose != "compliance" {
			t.Errorf("request recorded as %+v", r)
		}
		queue, err := a.Rights.Queue(ctx, "dpo", false)
		if err != nil || len(queue) < 2 || queue[0].DueAt.After(queue[1].DueAt) {
			t.Errorf("queue not ordered by time left: %v", err)
		}
		var inputErr *rights.InputError
		if err := a.Rights.Extend(ctx, dpo, id, " "); !errors.As(err, &inputErr) || inputErr.Field != "reason" {
			t.Errorf("an extension without a reason: %v", err)
		}
		queued := count(t, a, "SELECT count(*) FROM outbox WHERE person_id = $1", c.person)
		if err := a.Rights.Extend(ctx, dpo, id, "Archives papier à consulter"); err != nil {
			t.Fatal(err)
		}
		if r, _ = a.Rights.Get(ctx, id); !r.DueAt.Equal(r.ReceivedAt.AddDate(0, 3, 0)) || !r.ExtendedAt.Valid {
			t.Errorf("extension gave %+v", r)
		}
		if count(t, a, "SELECT count(*) FROM outbox WHERE person_id = $1", c.person) != queued+1 {
			t.Error("the person was not told of the extension")
		}
		if err := a.Rights.Extend(ctx, dpo, id, "Encore"); !errors.As(err, &inputErr) || inputErr.Rule != "once" {
			t.Errorf("a second extension: %v", err)
		}
		if err := a.Rights.Close(ctx, dpo, id, "closed", "", ""); !errors.As(err, &inputErr) || inputErr.Field != "outcome" {
			t.Errorf("a closure without an outcome: %v", err)
		}
		if err := a.Rights.Close(ctx, dpo, id, "closed", "Archive remise en main propre", ""); err != nil {
			t.Fatal(err)
		}
		if r, _ = a.Rights.Get(ctx, id); r.Open() || !r.ClosedAt.Valid {
			t.Errorf("closed request reads %+v", r)
		}
		if err := a.Rights.Close(ctx, dpo, id, "refused", "Non", ""); !errors.As(err, &inputErr) || inputErr.Field != "status" {
			t.Errorf("closing twice: %v", err)
		}
	})
}

// TestR32_ExtensionOnlyInsideTheFirstMonth: past the first month, the deadline can no longer move.
func TestR32_ExtensionOnlyInsideTheFirstMonth(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "tard@exemple.fr", "none")
		if _, err := a.DB.ExecContext(ctx, `UPDATE rights_requests SET received_at = $1 WHERE id = $2`, a.Now().AddDate(0, -1, -1), c.request); err != nil {
			t.Fatal(err)
		}
		var inputErr *rights.InputError
		if err := a.Rights.Extend(ctx, dpo, c.request, "Trop tard"); !errors.As(err, &inputErr) || inputErr.Rule != "first_month" {
			t.Errorf("a late extension: %v", err)
		}
	})
}

// TestR29_RestrictionFreezesProcessingExceptStorage: while restricted, the person is absent from
// every department's lists and reads, writes are refused, the DPO still sees them and their own
// requests are still recorded; lifting restores everything, and both steps keep their reason.
func TestR29_RestrictionFreezesProcessingExceptStorage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "limite@exemple.fr", "none")
		devis := actor("devis", "quotes")
		if err := a.Rights.Restrict(ctx, dpo, c.person, 0, "Exactitude contestée"); err != nil {
			t.Fatal(err)
		}
		var forbidden *record.ForbiddenError
		if _, err := a.Records.Get(ctx, devis, "persons", c.person); !errors.As(err, &forbidden) {
			t.Errorf("a restricted person is read by the quotes department: %v", err)
		}
		if _, err := a.Records.Get(ctx, devis, "quotes", c.quote); !errors.As(err, &forbidden) {
			t.Errorf("a restricted person's quote is read: %v", err)
		}
		recs, _, err := a.Records.List(ctx, devis, "quotes", record.ListQuery{Filter: map[string]int64{"person_id": c.person}})
		if err != nil || len(recs) != 0 {
			t.Errorf("a restricted person's quotes are listed (%d, %v)", len(recs), err)
		}
		if _, err := a.Records.Update(ctx, devis, "persons", c.person, record.Input{Text: map[string]string{"city": "Quimper"}}); !errors.As(err, &forbidden) {
			t.Errorf("a restricted person was written: %v", err)
		}
		if _, err := a.Records.Get(ctx, actor("dpo", "compliance"), "persons", c.person); err != nil {
			t.Errorf("the DPO cannot see a restricted person: %v", err)
		}
		if _, err := a.Rights.Submit(ctx, rights.Subject, rights.NewRequest{PersonID: c.person, Type: "access", Channel: "portal"}); err != nil {
			t.Errorf("a restricted person's own request was refused: %v", err)
		}
		var inputErr *rights.InputError
		if err := a.Rights.Restrict(ctx, dpo, c.person, 0, "Encore"); !errors.As(err, &inputErr) {
			t.Errorf("restricting twice: %v", err)
		}
		if err := a.Rights.Lift(ctx, dpo, c.person, "Exactitude vérifiée"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Records.Get(ctx, devis, "quotes", c.quote); err != nil {
			t.Errorf("after lifting, the quote is still hidden: %v", err)
		}
		if n := count(t, a, "SELECT count(*) FROM restrictions WHERE person_id = $1 AND lifted_at IS NOT NULL AND reason IS NOT NULL AND lift_reason IS NOT NULL", c.person); n != 1 {
			t.Error("the restriction's history is not kept with both reasons")
		}
	})
}

// TestR30_PostMortemDirectiveIsApplied: at the recorded death, "erase" erases the person; "transmit"
// opens a task for the DPO and freezes processing; no directive opens a task for the heirs.
func TestR30_PostMortemDirectiveIsApplied(t *testing.T) {
	cases := []struct {
		instruction string
		wantErased  bool
		wantTask    bool
	}{
		{"erase", true, false},
		{"transmit", false, true},
		{"", false, true},
	}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		for i, tc := range cases {
			c := seed(t, a, "deces"+string(rune('a'+i))+"@exemple.fr", "none")
			if tc.instruction != "" {
				if err := a.Rights.SetDirective(ctx, rights.Subject, c.person, rights.Directive{Instruction: tc.instruction, TrustedContact: "Mon frère, 06 00 00 00 00"}); err != nil {
					t.Fatal(err)
				}
			}
			out, err := a.Rights.RecordDeath(ctx, dpo, c.person)
			if err != nil {
				t.Fatalf("%q: %v", tc.instruction, err)
			}
			erased := count(t, a, "SELECT count(*) FROM persons WHERE id = $1 AND erased_at IS NOT NULL", c.person) == 1
			if erased != tc.wantErased || (out.RequestID != 0) != tc.wantTask {
				t.Errorf("%q: erased %v, task %d", tc.instruction, erased, out.RequestID)
			}
			if _, err := a.Rights.RecordDeath(ctx, dpo, c.person); err == nil {
				t.Errorf("%q: a death was recorded twice", tc.instruction)
			}
		}
		var inputErr *rights.InputError
		c := seed(t, a, "directive@exemple.fr", "none")
		if err := a.Rights.SetDirective(ctx, rights.Subject, c.person, rights.Directive{Instruction: "transmit"}); !errors.As(err, &inputErr) || inputErr.Field != "trusted_contact" {
			t.Errorf("transmit without anyone to transmit to: %v", err)
		}
		if err := a.Rights.SetDirective(ctx, rights.Subject, c.person, rights.Directive{Instruction: "sell"}); !errors.As(err, &inputErr) || inputErr.Field != "instruction" {
			t.Errorf("an unknown instruction: %v", err)
		}
	})
}

// TestR25_RectificationKeepsItsHistory: every correction of a personal field, by staff or by the
// person on the portal, keeps the value it replaced with when, how and by which department; the
// history is part of the person's access answer, a refused correction leaves none, and erasure
// takes it away.
func TestR25_RectificationKeepsItsHistory(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "historique@exemple.fr", "none")
		if _, err := a.Records.Update(ctx, actor("support", "support"), "persons", c.person,
			record.Input{Text: map[string]string{"phone": "0698765432"}, Channel: "phone"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Rights.Rectify(ctx, rights.Subject, c.person, map[string]string{"city": "Quimper", "postal_code": "29000"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Records.Update(ctx, actor("support", "support"), "persons", c.person,
			record.Input{Text: map[string]string{"email": "pas-une-adresse"}, Channel: "phone"}); err == nil {
			t.Fatal("an invalid e-mail was accepted")
		}
		ar, err := a.Rights.Access(ctx, dpo, c.person)
		if err != nil {
			t.Fatal(err)
		}
		type change struct{ field, previous, channel, department string }
		var got []change
		for _, cat := range ar.Categories {
			if cat.Table != "rectifications" {
				continue
			}
			for _, row := range cat.Rows {
				var ch change
				for _, f := range row.Fields {
					text := fmt.Sprint(f.Value)
					switch f.Field {
					case "field":
						ch.field = text
					case "previous_value":
						ch.previous = text
					case "channel":
						ch.channel = text
					case "department":
						ch.department = text
					}
				}
				got = append(got, ch)
			}
		}
		want := []change{
			{"phone", "+33612345678", "phone", "support"},
			{"postal_code", "29200", "portal", "dpo"},
			{"city", "Brest", "portal", "dpo"},
		}
		slices.SortFunc(got, func(x, y change) int { return strings.Compare(x.field, y.field) })
		slices.SortFunc(want, func(x, y change) int { return strings.Compare(x.field, y.field) })
		if !slices.Equal(got, want) {
			t.Errorf("history in the access answer:\n got %v\nwant %v", got, want)
		}
		if _, err := a.Rights.Erase(ctx, dpo, c.person, 0); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := a.DB.QueryRowContext(ctx, `SELECT count(*) FROM rectifications WHERE person_id = $1`, c.person).Scan(&left); err != nil || left != 0 {
			t.Errorf("after erasure, %d history rows are left (%v)", left, err)
		}
	})
}

// TestR25_RectificationByThePerson: contact fields are corrected at once, keeping the purpose
// they were collected for; a contract holder's identity goes to staff review; a field that is
// not the person's to correct, or an invalid value, is refused and nothing changes.
func TestR25_RectificationByThePerson(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		prospect := seed(t, a, "rectif@exemple.fr", "none")
		out, err := a.Rights.Rectify(ctx, rights.Subject, prospect.person, map[string]string{"city": "Quimper", "last_name": "Le Goff-Martin"})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Applied) != 2 || len(out.Review) != 0 {
			t.Errorf("without a contract, both fields apply at once: %+v", out)
		}
		p, err := a.Records.Get(ctx, actor("devis", "quotes"), "persons", prospect.person)
		if err != nil || p.Text("city") != "Quimper" || p.Provenance["city"].Channel != "portal" || p.Provenance["city"].Purpose != "quotes" {
			t.Errorf("city after rectification: %q %+v (%v)", p.Text("city"), p.Provenance["city"], err)
		}
		holder := seed(t, a, "titulaire@exemple.fr", "")
		out, err = a.Rights.Rectify(ctx, rights.Subject, holder.person, map[string]string{"phone": "0698765432", "birth_date": "1985-03-15"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(out.Applied, ",") != "phone" || strings.Join(out.Review, ",") != "birth_date" || out.RequestID == 0 {
			t.Errorf("a contract holder's birth date must go to review: %+v", out)
		}
		if r, _ := a.Rights.Get(ctx, out.RequestID); !r.Open() || r.Type != "rectification" {
			t.Errorf("the review request is %+v", r)
		}
		var inputErr *rights.InputError
		var invalid *record.ValidationError
		if _, err := a.Rights.Rectify(ctx, rights.Subject, holder.person, map[string]string{"kind": "customer"}); !errors.As(err, &inputErr) || inputErr.Field != "kind" {
			t.Errorf("a field that is not the person's to correct: %v", err)
		}
		if _, err := a.Rights.Rectify(ctx, rights.Subject, holder.person, map[string]string{"city": "Brest", "email": "pas-une-adresse"}); !errors.As(err, &invalid) {
			t.Errorf("an invalid e-mail: %v", err)
		}
		if p, _ := a.Records.Get(ctx, actor("devis", "quotes"), "persons", holder.person); p.Text("city") != "Brest" || p.Text("email") != "titulaire@exemple.fr" {
			t.Error("a refused rectification changed something")
		}
	})
}
