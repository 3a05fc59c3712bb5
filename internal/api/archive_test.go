package api_test

import (
	"context"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

// The archive through the API (R35). Failures print statuses, codes and field names, never a
// body: the answers hold the seeded person's data.

// archiveTrace is what an archive reading leaves: access rows and audit events of archive readings.
func (w *world) archiveTrace() string {
	w.t.Helper()
	if err := w.a.Audit.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return w.scalar(`SELECT count(*) FROM archive_accesses`) + "|" + w.scalar(`SELECT count(*) FROM audit_events WHERE detail = 'archive'`)
}

// TestR35_APIArchiveOpensOnlyToTheDPOWithAJustification: the DPO lists a person's archive with
// clear columns only and reads an archived contract on a written justification, which is logged;
// every other department is refused, and every refusal names its field and rule and logs nothing.
func TestR35_APIArchiveOpensOnlyToTheDPOWithAJustification(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		if _, err := a.DB.ExecContext(context.Background(), `UPDATE contracts SET archived = TRUE WHERE id = $1`, w.ids["contract"]); err != nil {
			t.Fatal(err)
		}
		const why = `{"justification":"Contestation de la résiliation par l'assuré : vérifier la date de fin"}`

		// The list: the DPO sees the archived contract and document, by clear columns only.
		status, _, raw := w.fetch("dpo", "GET", "/api/v1/persons/{person}/archive", "")
		if status != 200 {
			t.Fatalf("the DPO lists the archive: status %d", status)
		}
		list := string(raw)
		for _, want := range []string{`"table":"contracts"`, `"table":"documents"`} {
			if !strings.Contains(list, want) {
				t.Errorf("the archive list lacks %s", want)
			}
		}
		for _, secret := range []string{"POL-778899", "MAIF", "facture.txt", "612.4", "Camille"} {
			if strings.Contains(list, secret) {
				t.Error("the archive list holds personal data")
			}
		}

		cases := []struct {
			name, dep, method, path, body string
			status                        int
			field, rule                   string
		}{
			{"the contracts department lists the archive", "contrats", "GET", "/api/v1/persons/{person}/archive", "", 403, "", ""},
			{"the archive of an unknown person", "dpo", "GET", "/api/v1/persons/987654/archive", "", 404, "", ""},
			{"the contracts department reads it normally", "contrats", "GET", "/api/v1/contracts/{contract}", "", 403, "", ""},
			{"the contracts department opens the archive", "contrats", "POST", "/api/v1/archive/contracts/{contract}", why, 403, "", ""},
			{"the support department opens the archive", "support", "POST", "/api/v1/archive/contracts/{contract}", why, 403, "", ""},
			{"no justification", "dpo", "POST", "/api/v1/archive/contracts/{contract}", `{}`, 400, "justification", "required"},
			{"a blank justification", "dpo", "POST", "/api/v1/archive/contracts/{contract}", `{"justification":"   "}`, 400, "justification", "required"},
			{"a too short justification", "dpo", "POST", "/api/v1/archive/contracts/{contract}", `{"justification":"Vérification"}`, 400, "justification", "min_length"},
			{"a justification of the wrong type", "dpo", "POST", "/api/v1/archive/contracts/{contract}", `{"justification":42}`, 400, "justification", "type"},
			{"an unknown field", "dpo", "POST", "/api/v1/archive/contracts/{contract}", `{"justification":"Contestation de la résiliation par l'assuré","motif":"x"}`, 400, "motif", "unknown_field"},
			{"a table without archive", "dpo", "POST", "/api/v1/archive/persons/{person}", why, 400, "table", "not_archived"},
			{"a ticket that is not archived", "dpo", "POST", "/api/v1/archive/tickets/{ticket}", why, 409, "id", "archived"},
			{"an unknown contract", "dpo", "POST", "/api/v1/archive/contracts/987654", why, 404, "", ""},
			{"an unknown table", "dpo", "POST", "/api/v1/archive/vehicles/1", why, 404, "", ""},
		}
		for _, c := range cases {
			before := w.archiveTrace()
			status, body := w.do(c.dep, c.method, c.path, c.body)
			if status != c.status {
				t.Errorf("%s: status %d, want %d (%v)", c.name, status, c.status, body["error"])
			} else if c.field != "" && !hasIssue(body, c.field, c.rule) {
				t.Errorf("%s: the answer does not name field %s and rule %s: %v", c.name, c.field, c.rule, body["fields"])
			}
			if after := w.archiveTrace(); after != before {
				t.Errorf("%s: a refused call logged an archive reading (%s → %s)", c.name, before, after)
			}
		}

		// The DPO's justified reading: the contract decrypted, one access row, one audit event.
		before := w.archiveTrace()
		status, body := w.do("dpo", "POST", "/api/v1/archive/contracts/{contract}", why)
		if status != 200 {
			t.Fatalf("the DPO's justified reading: status %d (%v)", status, body["error"])
		}
		if body["policy_number"] != "POL-778899" || body["annual_premium"] == nil || body["archived"] != true {
			t.Error("the archived contract is not answered with its fields decrypted")
		}
		if after := w.archiveTrace(); after != "1|1" || before != "0|0" {
			t.Errorf("the reading logged %s (access rows|audit events), want 1|1", after)
		}
		if got := w.scalar(`SELECT count(*) FROM audit_events WHERE detail = 'archive' AND department = 'dpo' AND action = 'read' AND purpose = 'compliance' AND table_name = 'contracts' AND row_id = {contract}`); got != "1" {
			t.Error("the audit event does not say who read which row for which purpose")
		}
	})
}
