package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/keys"
	"vigie/internal/sensitive"
)

// plantedValues are written where the detectors would have refused them; no report may show them.
var plantedValues = map[string]string{
	"address_line": "FR76 3000 6000 0112 3456 7890 189",
	"note":         "Le client a donné son NIR 2 55 08 14 168 025 38",
	"body":         "Je suis du groupe sanguin O+, au cas où.",
}

// planted are the ids of the rows that carry forbidden data.
type planted struct{ person, interaction, message int64 }

// plantSensitive writes through the bulk loader, which does not run the detectors, as data stored
// before a detector improved: a person whose address is an IBAN, an interaction note with a NIR,
// a ticket message with a blood group, a clean note, and a NIR in the note of a person whose key
// is then destroyed (erased: nothing left to find).
func plantSensitive(t *testing.T, a *app.App) planted {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	prov := keys.Provenance{CollectedAt: now, Channel: "import", Purpose: "quotes"}
	l, err := a.Records.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	must := func(id int64, err error) int64 {
		t.Helper()
		if err != nil {
			l.Rollback()
			t.Fatal(err)
		}
		return id
	}
	person := func(address string) (int64, *keys.SubjectKey) {
		id, sk, err := l.AddPerson(map[string]any{"first_name": "Zoé", "last_name": "Martin", "address_line": address,
			"created_at": now, "updated_at": now}, prov)
		must(id, err)
		return id, sk
	}
	note := func(personID int64, sk *keys.SubjectKey, text string) int64 {
		return must(l.Add("interactions", personID, map[string]any{"channel": "phone", "purpose": "quotes", "occurred_at": now,
			"created_at": now, "note": text}, sk, prov))
	}
	var p planted
	var sk *keys.SubjectKey
	p.person, sk = person(plantedValues["address_line"])
	p.interaction = note(p.person, sk, plantedValues["note"])
	note(p.person, sk, "Rappeler lundi au 06 12 34 56 78")
	ticket := must(l.Add("tickets", p.person, map[string]any{"subject": "Attestation", "created_at": now, "updated_at": now}, sk, prov))
	p.message = must(l.Add("ticket_messages", p.person, map[string]any{"ticket_id": ticket, "author": "customer",
		"body": plantedValues["body"], "created_at": now}, sk, prov))
	erased, erasedKey := person("3 rue des Lilas")
	note(erased, erasedKey, plantedValues["note"])
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.ExecContext(ctx, `DELETE FROM subject_keys WHERE person_id = $1`, erased); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkNoPlantedValue(t *testing.T, where, out string) {
	t.Helper()
	for field, v := range plantedValues {
		for _, part := range []string{v, "168 025 38", "FR76", "sanguin"} {
			if strings.Contains(out, part) && strings.Contains(v, part) {
				t.Errorf("%s shows the value of %s", where, field)
			}
		}
	}
}

// R06: data already stored that the detectors now refuse is found by the scan on both databases —
// free text and structured fields, decrypted with each person's key, not for an erased person —
// and reported by table, column, kind and row id, never by value; the summary is kept for the
// DPO's dashboard and the run is recorded in the audit trail.
func TestR06_ScanFindsSensitiveDataAlreadyStored(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p := plantSensitive(t, a)
		rep, err := scanStored(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		type found struct {
			table, column string
			kind          sensitive.Kind
			rule          string
			rows          int64
			ids           []int64
		}
		var got []found
		for _, f := range rep.Findings {
			got = append(got, found{f.Table, f.Column, f.Kind, f.Rule, f.Rows, f.RowIDs})
		}
		want := []found{
			{"persons", "address_line", sensitive.KindIBAN, "R06", 1, []int64{p.person}},
			{"interactions", "note", sensitive.KindNIR, "R03", 1, []int64{p.interaction}},
			{"ticket_messages", "body", sensitive.KindBloodGroup, "R04", 1, []int64{p.message}},
		}
		if !slices.EqualFunc(got, want, func(x, y found) bool {
			return x.table == y.table && x.column == y.column && x.kind == y.kind && x.rule == y.rule && x.rows == y.rows && slices.Equal(x.ids, y.ids)
		}) {
			t.Errorf("findings %+v, want %+v", got, want)
		}
		rows := map[string]int64{}
		for _, tb := range rep.Tables {
			rows[tb.Table] = tb.Rows
		}
		for table, n := range map[string]int64{"persons": 2, "interactions": 3, "tickets": 1, "ticket_messages": 1, "quotes": 0} {
			if rows[table] != n {
				t.Errorf("%s: %d rows read, want %d", table, rows[table], n)
			}
		}
		if _, ok := rows["audit_events"]; ok {
			t.Error("an internal table was scanned")
		}
		out, _ := json.Marshal(rep)
		checkNoPlantedValue(t, "the report", string(out))

		var value string
		if err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, scanSetting).Scan(&value); err != nil {
			t.Fatalf("no summary in the settings: %v", err)
		}
		var sum scanSummary
		if err := json.Unmarshal([]byte(value), &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Findings != 3 || sum.Rows != 7 || sum.ByKind[sensitive.KindNIR] != 1 || !slices.Contains(sum.Columns, "interactions.note") || sum.At.IsZero() {
			t.Errorf("summary %+v", sum)
		}
		checkNoPlantedValue(t, "the summary", value)
		var detail string
		if err := a.DB.QueryRowContext(ctx, `SELECT detail FROM audit_events WHERE action = $1`, actionSensitiveScan).Scan(&detail); err != nil {
			t.Fatalf("the scan is not in the audit trail: %v", err)
		}
		if !strings.Contains(detail, "findings=3") {
			t.Errorf("audit detail %q", detail)
		}
	})
}

func TestScanCommandLine(t *testing.T) {
	c := newCLI(t)
	steps := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
	}{
		{"scan refuses a schema with pending migrations", []string{"scan"}, 1, "", "migrations are pending"},
		{"migrate", []string{"migrate"}, 0, "applied", ""},
		{"scan an empty database", []string{"scan"}, 0, "Aucune donnée sensible trouvée", ""},
		{"scan with an unknown format", []string{"scan", "--format", "xml"}, 2, "", "want text or json"},
		{"scan with a stray argument", []string{"scan", "now"}, 2, "", `unexpected argument "now"`},
		{"scan finds what was planted", []string{"scan"}, 1, "interactions.note", "sensitive-data finding"},
		{"scan reports the blood group", []string{"scan"}, 1, "blood_group (R04)", ""},
		{"scan as JSON", []string{"scan", "--format", "json"}, 1, `"kind": "nir"`, "see the report"},
	}
	for _, s := range steps {
		if s.name == "scan finds what was planted" {
			plantThroughCLIConfig(t)
		}
		code, out, errOut := c.run("", s.args...)
		if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; stdout has %q: %v; stderr has %q: %v", s.name, code, s.code,
				s.wantOut, strings.Contains(out, s.wantOut), s.wantErrOut, strings.Contains(errOut, s.wantErrOut))
		}
		checkNoPlantedValue(t, s.name, out+errOut)
	}
}

// plantThroughCLIConfig opens the database the command line uses (from the environment newCLI
// sets) and plants forbidden data in it.
func plantThroughCLIConfig(t *testing.T) {
	t.Helper()
	a := cliApp(t, time.Now)
	defer a.Close()
	plantSensitive(t, a)
}

// cliApp opens and starts the application the command line uses, from the environment newCLI
// sets, with the given clock.
func cliApp(t *testing.T, now func() time.Time) *app.App {
	t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, app.ConfigFromEnv(app.Config{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.Now = now
	if err := a.Start(ctx); err != nil {
		a.Close()
		t.Fatal(err)
	}
	return a
}
