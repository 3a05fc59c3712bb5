package record_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/record"
)

// The archive (R35). Failures name the check, never a value: the seeded values are personal.

const (
	archivedPolicy = "POL-ARCH-7731"
	archivedTicket = "Sinistre grêle de 2024"
	// justification is a valid written justification; it must never reach the audit trail.
	justification = "Réclamation de l'assureur sur le sinistre déclaré en 2024 : vérifier les garanties"
)

// archiveWorld is a person with two contracts (the first archived, the second running) and an
// archived ticket, a contracts agent, a support agent and the DPO.
type archiveWorld struct {
	a                         *app.App
	contrats, support, dpo    record.Actor
	person, archived, running int64
	ticket                    int64
}

func newArchiveWorld(t *testing.T, a *app.App) *archiveWorld {
	t.Helper()
	ctx := context.Background()
	w := &archiveWorld{a: a}
	for _, u := range []struct {
		dept  string
		actor *record.Actor
	}{{"contrats", &w.contrats}, {"support", &w.support}, {"dpo", &w.dpo}} {
		user, err := a.Auth.CreateUser(ctx, u.dept+"@archive.vigie.test", "Agent "+u.dept, u.dept, "Correct-Horse-Battery-9")
		if err != nil {
			t.Fatalf("create user %s: %v", u.dept, err)
		}
		*u.actor = a.Auth.Actor(user)
	}
	create := func(actor record.Actor, table string, fields map[string]any) int64 {
		t.Helper()
		raw := map[string]json.RawMessage{}
		for k, v := range fields {
			b, _ := json.Marshal(v)
			raw[k] = b
		}
		rec, err := a.Records.Create(ctx, actor, table, record.Input{Fields: raw})
		if err != nil {
			t.Fatalf("seed %s: %v", table, err) // store errors name fields and rules, never values
		}
		return rec.ID
	}
	w.person = create(w.contrats, "persons", map[string]any{"first_name": "Aurélien", "last_name": "Archivé-Test", "email": "aurelien.archive@exemple.fr"})
	w.archived = create(w.contrats, "contracts", map[string]any{"person_id": w.person, "insurer": "Mutuelle Test", "policy_number": archivedPolicy,
		"start_date": "2019-01-01", "end_date": "2021-12-31", "annual_premium": 540.5, "status": "expired"})
	w.running = create(w.contrats, "contracts", map[string]any{"person_id": w.person, "insurer": "Mutuelle Test", "policy_number": "POL-RUN-0001",
		"start_date": "2025-01-01", "annual_premium": 610})
	w.ticket = create(w.support, "tickets", map[string]any{"person_id": w.person, "subject": archivedTicket, "status": "closed"})
	for table, id := range map[string]int64{"contracts": w.archived, "tickets": w.ticket} {
		if _, err := a.DB.ExecContext(ctx, "UPDATE "+table+" SET archived = TRUE WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// trace counts what an archive reading leaves: access rows and the DPO's audit events.
func (w *archiveWorld) trace(t *testing.T) (accesses, events int) {
	t.Helper()
	ctx := context.Background()
	if err := w.a.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.a.DB.QueryRowContext(ctx, `SELECT count(*) FROM archive_accesses`).Scan(&accesses); err != nil {
		t.Fatal(err)
	}
	if err := w.a.DB.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE department = 'dpo'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	return accesses, events
}

// TestR35_ArchivedContractReadableOnlyByDPOWithJustification: an archived contract is out of the
// contracts department's reach; the DPO reads it only with a written justification of 20 to 2,000
// characters; every refusal writes nothing; a reading leaves one access row (its justification
// sealed) and one audit event that holds no personal data.
func TestR35_ArchivedContractReadableOnlyByDPOWithJustification(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		w := newArchiveWorld(t, a)

		// The contracts department no longer sees the archived contract, and still sees the other.
		var forbidden *record.ForbiddenError
		if _, err := a.Records.Get(ctx, w.contrats, "contracts", w.archived); !errors.As(err, &forbidden) {
			t.Errorf("contrats reads the archived contract: err %v, want a refusal", err)
		}
		if _, err := a.Records.Get(ctx, w.contrats, "contracts", w.running); err != nil {
			t.Errorf("contrats cannot read the running contract: %v", err)
		}
		recs, _, err := a.Records.List(ctx, w.contrats, "contracts", record.ListQuery{Filter: map[string]int64{"person_id": w.person}})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ID != w.running {
			t.Errorf("contrats lists %d contracts of the person, want only the running one", len(recs))
		}

		refusals := []struct {
			name          string
			actor         record.Actor
			table         string
			id            int64
			justification string
			field, rule   string // for a validation error
			want          error  // for a sentinel error
			forbidden     bool
		}{
			{name: "the contracts department, even with a justification", actor: w.contrats, table: "contracts", id: w.archived, justification: justification, forbidden: true},
			{name: "the support department", actor: w.support, table: "contracts", id: w.archived, justification: justification, forbidden: true},
			{name: "the DPO without a justification", actor: w.dpo, table: "contracts", id: w.archived, field: "justification", rule: "required"},
			{name: "the DPO with blanks only", actor: w.dpo, table: "contracts", id: w.archived, justification: " \n\t ", field: "justification", rule: "required"},
			{name: "the DPO with a too short justification", actor: w.dpo, table: "contracts", id: w.archived, justification: "  contrôle interne  ", field: "justification", rule: "min_length"},
			{name: "the DPO with a too long justification", actor: w.dpo, table: "contracts", id: w.archived, justification: strings.Repeat("a", 2001), field: "justification", rule: "max_length"},
			{name: "the DPO with bank data in the justification", actor: w.dpo, table: "contracts", id: w.archived,
				justification: "Virement vers FR76 3000 6000 0112 3456 7890 189 à vérifier", field: "justification", rule: "sensitive_iban"},
			{name: "the DPO on a table without archive", actor: w.dpo, table: "persons", id: w.person, justification: justification, field: "table", rule: "not_archived"},
			{name: "the DPO on a running contract", actor: w.dpo, table: "contracts", id: w.running, justification: justification, want: record.ErrNotArchived},
			{name: "the DPO on an unknown contract", actor: w.dpo, table: "contracts", id: 987654, justification: justification, want: record.ErrNotFound},
			{name: "the DPO on an internal table", actor: w.dpo, table: "archive_accesses", id: 1, justification: justification, want: record.ErrNotFound},
		}
		for _, c := range refusals {
			accesses, events := w.trace(t)
			rec, err := a.Records.ReadArchived(ctx, c.actor, c.table, c.id, c.justification)
			var ve *record.ValidationError
			switch {
			case rec != nil:
				t.Errorf("%s: the record was returned", c.name)
			case c.forbidden && !errors.As(err, &forbidden):
				t.Errorf("%s: err %v, want a refusal for the department", c.name, err)
			case c.field != "" && !(errors.As(err, &ve) && len(ve.Fields) == 1 && ve.Fields[0].Field == c.field && ve.Fields[0].Rule == c.rule):
				t.Errorf("%s: err %v, want field %s and rule %s", c.name, err, c.field, c.rule)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%s: err %v, want %v", c.name, err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), archivedPolicy) {
				t.Errorf("%s: the error shows the policy number", c.name)
			}
			if a2, e2 := w.trace(t); a2 != accesses || e2 != events {
				t.Errorf("%s: a refused reading wrote %d access rows and %d audit events", c.name, a2-accesses, e2-events)
			}
		}

		// The DPO reads it with a justification: every field decrypted, one access, one event.
		accesses, events := w.trace(t)
		rec, err := a.Records.ReadArchived(ctx, w.dpo, "contracts", w.archived, "  "+justification+"\n")
		if err != nil {
			t.Fatalf("the DPO's justified reading: %v", err)
		}
		if rec.Text("policy_number") != archivedPolicy || rec.Text("annual_premium") != "540.50" || rec.Text("insurer") == "" {
			t.Error("the archived contract is not returned with its fields decrypted")
		}
		if a2, e2 := w.trace(t); a2 != accesses+1 || e2 != events+1 {
			t.Fatalf("a justified reading wrote %d access rows and %d audit events, want 1 and 1", a2-accesses, e2-events)
		}
		var personID, rowID, by int64
		var tableName string
		var sealed []byte
		if err := a.DB.QueryRowContext(ctx, `SELECT person_id, table_name, row_id, accessed_by, justification FROM archive_accesses`).
			Scan(&personID, &tableName, &rowID, &by, &sealed); err != nil {
			t.Fatal(err)
		}
		if personID != w.person || tableName != "contracts" || rowID != w.archived || by != w.dpo.UserID {
			t.Errorf("the access row says person %d, %s %d, by user %d", personID, tableName, rowID, by)
		}
		if len(sealed) == 0 || bytes.Contains(sealed, []byte("sinistre")) {
			t.Error("the justification is not sealed")
		}
		evs, err := a.Audit.Events(ctx, audit.Filter{Department: "dpo", PersonID: w.person})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("%d audit events of the DPO on the person, want 1", len(evs))
		}
		e := evs[0]
		if e.Action != audit.ActionRead || e.Table != "contracts" || e.RowID != w.archived || e.Purpose != "compliance" || e.Detail != "archive" || e.UserID != w.dpo.UserID {
			t.Errorf("audit event: action %s, table %s, row %d, purpose %s, detail %q", e.Action, e.Table, e.RowID, e.Purpose, e.Detail)
		}
		if !strings.Contains(e.Fields, "policy_number") {
			t.Errorf("audit event: fields %q do not name what was read", e.Fields)
		}
		event := fmt.Sprint(e.Department, e.Action, e.Table, e.Fields, e.Purpose, e.Detail)
		for _, secret := range []string{archivedPolicy, "Mutuelle Test", "540", "sinistre", "Aurélien"} {
			if strings.Contains(event, secret) {
				t.Error("the audit event holds personal data or the justification")
			}
		}
		// Opening the archive did not unarchive anything.
		if _, err := a.Records.Get(ctx, w.contrats, "contracts", w.archived); !errors.As(err, &forbidden) {
			t.Error("after the DPO's reading, the contracts department reads the archived contract")
		}
	})
}

// TestR35_ArchiveListShowsTheDPOOnlyClearColumns: the DPO's list of a person's archive holds the
// archived rows of every table, with clear columns only; it is refused to every other department.
func TestR35_ArchiveListShowsTheDPOOnlyClearColumns(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		w := newArchiveWorld(t, a)
		for name, actor := range map[string]record.Actor{"contrats": w.contrats, "support": w.support} {
			var forbidden *record.ForbiddenError
			if _, err := a.Records.ArchivedRows(ctx, actor, w.person); !errors.As(err, &forbidden) {
				t.Errorf("%s lists the archive: err %v, want a refusal", name, err)
			}
		}
		if _, err := a.Records.ArchivedRows(ctx, w.dpo, 987654); !errors.Is(err, record.ErrNotFound) {
			t.Errorf("the archive of an unknown person: err %v, want not found", err)
		}
		_, events := w.trace(t)
		rows, err := a.Records.ArchivedRows(ctx, w.dpo, w.person)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprint(r.Table, " ", r.ID))
			for name := range r.Clear.Values {
				if c := r.Clear.Table.Column(name); c == nil || c.Personal || c.Encrypted {
					t.Errorf("the archive list shows %s.%s", r.Table, name)
				}
			}
		}
		want := []string{fmt.Sprint("contracts ", w.archived), fmt.Sprint("tickets ", w.ticket)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("archive list %v, want %v", got, want)
		}
		if rows[0].Clear.Text("status") != "expired" {
			t.Error("the archive list does not show the contract's status")
		}
		b, err := json.Marshal(rows)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{archivedPolicy, archivedTicket, "Mutuelle Test", "Aurélien", "2021-12-31"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Error("the archive list holds personal data")
			}
		}
		if _, e2 := w.trace(t); e2 != events {
			t.Errorf("listing the archive wrote %d audit events", e2-events)
		}
	})
}
