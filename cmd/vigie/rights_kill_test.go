package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/keys"
	"vigie/internal/record"
)

// heavy is what each person of the kill test holds besides their own row, its blind-index entries
// and key: enough for an erasure to take a few hundred milliseconds, so that a SIGKILL lands in
// the middle of its transaction. PostgreSQL deletes about five times faster than SQLite, which
// zeroes every freed page (secure_delete).
var heavy = map[string]struct{ interactions, consents int64 }{
	"sqlite":   {60_000, 20_000},
	"postgres": {100_000, 100_000},
}

// TestR26_ErasureSurvivesKillDashNine erases a person with tens of thousands of rows through
// `vigie rights erase` and kills the process with SIGKILL after a growing delay, a fresh person
// each time, then reopens the database: the person is either untouched (not marked erased, key
// present, every row there and decryptable, no erase event, nothing added to the suppression
// list) or fully erased (marked, key destroyed, no row left in any table linked to them but
// their emptied row, the erase event recorded, e-mail and phone suppressed) — never half — the
// other persons are intact, and `vigie audit verify` passes.
func TestR26_ErasureSurvivesKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and loads persons with tens of thousands of rows")
	}
	bin := filepath.Join(t.TempDir(), "vigie")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Delays are fractions of the time a whole erasure takes, measured first on the same data.
	fractions := []float64{0.1, 0.3, 0.5, 0.7, 0.9, 1.1}
	for _, dialect := range apptest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			cfg := app.Config{MasterKeyFile: filepath.Join(dir, "vigie.key"), AuditKeyFile: filepath.Join(dir, "vigie-audit.key"),
				DatabaseURL: filepath.Join(dir, "vigie.db")}
			if dialect == "postgres" {
				cfg.DatabaseURL = apptest.PostgresSchemaURL(t)
			}
			env := append(os.Environ(), "VIGIE_DATABASE_URL="+cfg.DatabaseURL, "VIGIE_MASTER_KEY_FILE="+cfg.MasterKeyFile,
				"VIGIE_AUDIT_KEY_FILE="+cfg.AuditKeyFile)
			k := &killTest{t: t, bin: bin, cfg: cfg, env: env, interactions: heavy[dialect].interactions, consents: heavy[dialect].consents}
			if out, err := k.vigie("migrate"); err != nil {
				t.Fatalf("migrate: %v\n%s", err, out)
			}
			start := time.Now()
			persons := k.loadPersons(1 + len(fractions))
			t.Logf("%d persons of %d interactions and %d consents each loaded in %s", len(persons), k.interactions, k.consents,
				time.Since(start).Round(time.Millisecond))

			// A whole erasure, not killed: how long it takes, and what "erased" looks like.
			whole, killed := k.erase(persons[0], time.Hour)
			if killed {
				t.Fatal("the erasure was killed without a kill")
			}
			if state := k.check(persons, 0); state != "erased" {
				t.Fatalf("an erasure that ran to its end left the person %s", state)
			}
			t.Logf("a whole erasure takes %s from its start to the end of the process", whole.Round(time.Millisecond))
			// Sized for 300 to 400 ms here; a faster machine may take less, and the delays follow. Whether
			// the kills landed in the middle is what the checks below assert, not this duration.
			if whole < 150*time.Millisecond {
				t.Logf("the erasure took %s: short; if no kill lands before the commit, raise heavy", whole)
			}
			outcomes := map[string]int{}
			var lines []string
			inTx := 0
			for i, f := range fractions {
				delay := time.Duration(f * float64(whole))
				k.txOpen = ""
				ran, killed := k.erase(persons[i+1], delay)
				state := k.check(persons, i+1)
				outcomes[state]++
				if k.txOpen == "yes" {
					inTx++
				}
				lines = append(lines, fmt.Sprintf("SIGKILL after %s (process ran %s, killed: %v, transaction open at the kill: %s): %s",
					delay.Round(time.Millisecond), ran.Round(time.Millisecond), killed, cmp.Or(k.txOpen, "not observed"), state))
			}
			t.Logf("after SIGKILL: %d untouched, %d erased, of %d attempts:\n  %s", outcomes["untouched"], outcomes["erased"],
				len(fractions), strings.Join(lines, "\n  "))
			if outcomes["untouched"] == 0 {
				t.Error("no kill landed before the erasure committed: the test did not test the transaction")
			}
			if dialect == "postgres" && inTx == 0 {
				t.Error("no kill landed while the erasure's transaction was open")
			}
		})
	}
}

type killTest struct {
	t                      *testing.T
	bin                    string
	cfg                    app.Config
	env                    []string
	interactions, consents int64
	// appName names the erasure's connections on PostgreSQL (PGAPPNAME), so that pg_stat_activity
	// can tell whether its transaction is open at the moment of the kill; txOpen says what it told.
	appName, txOpen string
	// suppressed is the size of the suppression list after the last check.
	suppressed int64
}

func (k *killTest) vigie(args ...string) ([]byte, error) {
	cmd := exec.Command(k.bin, args...)
	cmd.Env = k.env
	return cmd.CombinedOutput()
}

func (k *killTest) open() *app.App {
	k.t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, k.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		k.t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		k.t.Fatal(err)
	}
	return a
}

// loadPersons writes n persons through the store's bulk loader — sealed, blind-indexed, with
// their provenance, as the application writes them — the first with its interactions and
// consents, which are then copied to the others in SQL: all the persons share one data key, so
// the copies decrypt under each person's own (wrapped) key.
func (k *killTest) loadPersons(n int) []int64 {
	t := k.t
	t.Helper()
	ctx := context.Background()
	a := k.open()
	defer a.Close()
	now := time.Now().UTC().Truncate(time.Second)
	decode := func(table string, text map[string]string) map[string]any {
		vals := map[string]any{}
		for name, s := range text {
			v, fe := a.Dict.Table(table).Column(name).DecodeString(s, now)
			if fe != nil {
				t.Fatalf("%s.%s: %v", table, name, fe.Rule)
			}
			vals[name] = v
		}
		return vals
	}
	ld, err := a.Records.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := a.Records.NewSubjectKey()
	if err != nil {
		t.Fatal(err)
	}
	prov := keys.Provenance{CollectedAt: now.Add(-time.Hour), Channel: "phone", Purpose: "support"}
	var ids []int64
	for i := range n {
		vals := decode("persons", map[string]string{"kind": "customer", "source": "phone", "first_name": "Camille", "last_name": "Le Goff",
			"email": fmt.Sprintf("effacement.%d@exemple.fr", i), "phone": fmt.Sprintf("06123456%02d", i), "birth_date": "1985-03-14",
			"address_line": "3 rue des Lilas", "postal_code": "29200", "city": "Brest", "departement": "29"})
		for _, flag := range []string{"restricted", "objected_prospection", "legal_hold", "deceased"} {
			vals[flag] = false
		}
		vals["erased_at"], vals["last_contact_at"], vals["created_at"], vals["updated_at"] = nil, now, now, now
		p, err := a.Records.Prepare("persons", vals, sk, prov)
		if err != nil {
			t.Fatal(err)
		}
		id, err := ld.AddPreparedPerson(p, sk, prov)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for j := range k.interactions {
		at := now.Add(-time.Duration(j) * time.Minute)
		if _, err := ld.Add("interactions", ids[0], map[string]any{"channel": "phone", "purpose": "support", "occurred_at": at,
			"note": heavyNote(j), "created_by": nil, "created_at": at}, sk, prov); err != nil {
			t.Fatal(err)
		}
	}
	for j := range k.consents {
		at := now.Add(-time.Duration(j) * time.Minute)
		if _, err := ld.Add("consents", ids[0], map[string]any{"purpose": "performance", "granted": j%2 == 0, "given_at": at,
			"channel": "phone", "method": "staff_recorded", "notice_id": nil, "recorded_by": nil, "recorded_at": at},
			sk, keys.Provenance{CollectedAt: at, Channel: "phone", Purpose: "compliance"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ld.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"interactions", "consents"} {
		var cols []string
		for _, c := range a.Dict.Table(table).Columns[1:] {
			if c.Name != "person_id" {
				cols = append(cols, c.Name)
			}
		}
		list := strings.Join(cols, ", ")
		for _, id := range ids[1:] {
			if _, err := a.DB.ExecContext(ctx, "INSERT INTO "+table+" (person_id, "+list+") SELECT $1, "+list+" FROM "+table+
				" WHERE person_id = $2 ORDER BY id", id, ids[0]); err != nil {
				t.Fatalf("copy %s: %v", table, err)
			}
		}
	}
	return ids
}

func heavyNote(j int64) string { return fmt.Sprintf("Appel n° %d : rappeler pour l'attestation", j) }

// erase runs `vigie rights erase --person N --yes` and kills it with SIGKILL delay after it
// announced the start of the erasure. It returns how long the process ran from that moment, and
// whether the kill ended it (false: it had finished).
func (k *killTest) erase(person int64, delay time.Duration) (time.Duration, bool) {
	t := k.t
	t.Helper()
	cmd := exec.Command(k.bin, "rights", "erase", "--person", fmt.Sprint(person), "--yes")
	cmd.Env = k.env
	var probe *sql.DB
	if strings.HasPrefix(k.cfg.DatabaseURL, "postgres") {
		k.appName = fmt.Sprintf("vigie-kill-test-%d-%d", os.Getpid(), person)
		cmd.Env = append(slices.Clone(k.env), "PGAPPNAME="+k.appName)
		var err error
		if probe, err = sql.Open("pgx", k.cfg.DatabaseURL); err != nil {
			t.Fatal(err)
		}
		defer probe.Close()
		if err := probe.Ping(); err != nil {
			t.Fatal(err)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if strings.HasPrefix(line, "effacement de la personne") {
				close(started)
				break
			}
			if err != nil {
				return
			}
		}
		io.Copy(io.Discard, r) // the certificate, not shown
	}()
	select {
	case <-started:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the erasure did not start")
	}
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(delay):
		if probe != nil {
			var open bool
			if err := probe.QueryRow(`SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL`,
				k.appName).Scan(&open); err == nil {
				k.txOpen = map[bool]string{true: "yes", false: "no"}[open]
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		werr = <-done
	}
	ran := time.Since(begin)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ran, true
	}
	if werr != nil {
		t.Fatalf("vigie rights erase: %v (stderr: %d bytes)", werr, stderr.Len())
	}
	return ran, false
}

// check reopens the database and tells whether persons[target] is untouched or erased; it fails
// the test for anything in between, for damage to the other persons, or for a trail that does not
// verify.
func (k *killTest) check(persons []int64, target int) string {
	t := k.t
	t.Helper()
	a := k.open()
	defer a.Close()
	ctx := context.Background()
	person := persons[target]
	one := func(query string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := a.DB.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	rows := map[string]int64{}
	for _, tbl := range a.Dict.Tables {
		if tbl.PersonColumn != "" {
			rows[tbl.Name] = one("SELECT count(*) FROM "+tbl.Name+" WHERE "+tbl.PersonColumn+" = $1", person)
		}
	}
	var erasedAt sql.NullTime
	if err := a.DB.QueryRowContext(ctx, `SELECT erased_at FROM persons WHERE id = $1`, person).Scan(&erasedAt); err != nil {
		t.Fatal(err)
	}
	events := one(`SELECT count(*) FROM audit_events WHERE chain = 'record' AND action = 'erase' AND table_name = 'persons' AND row_id = $1`, person)
	suppressed := one(`SELECT count(*) FROM suppressions`)
	emailLeft := one(`SELECT count(*) FROM persons WHERE id = $1 AND email IS NOT NULL`, person)

	state := "untouched"
	var half []string
	if erasedAt.Valid {
		state = "erased"
		for table, n := range rows {
			if n != 0 && table != "persons" && table != "rights_requests" {
				half = append(half, fmt.Sprintf("%d rows left in %s", n, table))
			}
		}
		if events != 1 {
			half = append(half, fmt.Sprintf("%d erase events", events))
		}
		if emailLeft != 0 {
			half = append(half, "the e-mail is still in the person's row")
		}
		if suppressed != k.suppressed+2 {
			half = append(half, fmt.Sprintf("%d entries added to the suppression list, want 2 (e-mail, phone)", suppressed-k.suppressed))
		}
	} else {
		want := map[string]int64{"persons": 1, "subject_keys": 1, "interactions": k.interactions, "consents": k.consents}
		for table, n := range want {
			if rows[table] != n {
				half = append(half, fmt.Sprintf("%d rows in %s, want %d", rows[table], table, n))
			}
		}
		if rows["search_index"] == 0 {
			half = append(half, "no blind-index entry left")
		}
		if events != 0 {
			half = append(half, fmt.Sprintf("%d erase events", events))
		}
		if suppressed != k.suppressed {
			half = append(half, "the suppression list changed")
		}
		half = append(half, k.decryptable(a, person)...)
	}
	if len(half) > 0 {
		t.Fatalf("person %d is half erased (erased_at set: %v): %s", target, erasedAt.Valid, strings.Join(half, "; "))
	}
	k.suppressed = suppressed
	// The other persons: those not yet tried keep every row.
	for _, other := range persons[target+1:] {
		if n := one(`SELECT count(*) FROM interactions WHERE person_id = $1`, other); n != k.interactions {
			t.Fatalf("an erasure of person %d left %d interactions to a person not erased", target, n)
		}
	}
	if out, err := k.vigie("audit", "verify"); err != nil || !bytes.Contains(out, []byte("OK: the trail verifies")) {
		t.Fatalf("vigie audit verify after the attempt on person %d: %v", target, err)
	}
	return state
}

// decryptable reads the person's rows back with their key, as the access right does, and compares
// them with what was written.
func (k *killTest) decryptable(a *app.App, person int64) []string {
	var problems []string
	actor := record.Actor{Department: "dpo", Purposes: []string{"compliance"}, AllFields: true}
	err := a.DB.InTx(context.Background(), func(tx *sql.Tx) error {
		recs, err := a.Records.PersonRowsTx(context.Background(), tx, actor, "persons", person, false)
		if err != nil {
			return err
		}
		if len(recs) != 1 || !strings.HasPrefix(recs[0].Text("email"), "effacement.") || recs[0].Text("city") != "Brest" {
			problems = append(problems, "the person's row does not decrypt to what was written")
		}
		recs, err = a.Records.PersonRowsTx(context.Background(), tx, actor, "interactions", person, false)
		if err != nil {
			return err
		}
		notes := map[string]bool{}
		for j := range k.interactions {
			notes[heavyNote(j)] = true
		}
		wrong := 0
		for _, r := range recs {
			if !notes[r.Text("note")] {
				wrong++
			}
			delete(notes, r.Text("note"))
		}
		if int64(len(recs)) != k.interactions || wrong > 0 {
			problems = append(problems, fmt.Sprintf("%d interactions read back, %d notes differ from what was written", len(recs), wrong))
		}
		recs, err = a.Records.PersonRowsTx(context.Background(), tx, actor, "consents", person, false)
		if err == nil && (int64(len(recs)) != k.consents || recs[0].Values["purpose"] != "performance") {
			problems = append(problems, fmt.Sprintf("%d consents read back", len(recs)))
		}
		return err
	})
	if err != nil {
		problems = append(problems, "reading back: "+err.Error())
	}
	return problems
}
