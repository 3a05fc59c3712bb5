package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/demo"
)

// TestR33_LifecycleRunSurvivesKillDashNine runs `vigie lifecycle run` on demo data in small
// batches, kills it with SIGKILL several times at growing progress, then lets it finish; a twin
// database with the same data is run once, without a kill. Both must end in the same state —
// the same rows in every table, the same statistics — and the resumed run's counts must equal the
// uninterrupted run's: nothing done twice, nothing skipped. The audit trail still verifies.
func TestR33_LifecycleRunSurvivesKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and generates demo data twice")
	}
	bin := filepath.Join(t.TempDir(), "vigie")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	const persons = 3000
	for _, dialect := range apptest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			killed, twin := newLifecycleDB(t, bin, dialect, persons, asOf), newLifecycleDB(t, bin, dialect, persons, asOf)
			args := []string{"lifecycle", "run", "--now", "2032-06-01", "--batch", "20"}
			if out, err := twin.vigie(args...); err != nil {
				t.Fatalf("uninterrupted run: %v\n%s", err, out)
			}
			kills := 0
			for _, progress := range []int64{50, 400, 1200, 2500} {
				cmd := exec.Command(bin, args...)
				cmd.Env = killed.env
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				if killed.waitProgress(progress, done) {
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					kills++
				}
			}
			if kills < 2 {
				t.Fatalf("only %d of the kills landed during the run: the test did not test resumption", kills)
			}
			if out, err := killed.vigie(args...); err != nil {
				t.Fatalf("resumed run: %v\n%s", err, out)
			} else if !strings.Contains(out, "reprise") {
				t.Errorf("the last run did not say it resumed the run cut off:\n%s", out)
			}
			var resumed int
			if err := killed.db.QueryRow(`SELECT count(*) FROM lifecycle_runs WHERE resumed_at IS NOT NULL AND status = 'done'`).Scan(&resumed); err != nil || resumed != 1 {
				t.Errorf("the run cut off is not recorded as resumed: %d runs, %v", resumed, err)
			}
			t.Logf("%d kills with SIGKILL during the run, then resumed to its end", kills)
			if a, b := killed.state(), twin.state(); a != b {
				t.Errorf("the killed and resumed run ends in another state than the uninterrupted one:\nkilled:\n%s\nuninterrupted:\n%s", a, b)
			}
			if a, b := killed.counts(), twin.counts(); a != b {
				t.Errorf("the resumed run counted otherwise than the uninterrupted one:\nkilled:\n%s\nuninterrupted:\n%s", a, b)
			}
			if out, err := killed.vigie("audit", "verify"); err != nil {
				t.Errorf("audit verify after the kills: %v\n%s", err, out)
			}
		})
	}
}

type lifecycleDB struct {
	t   *testing.T
	bin string
	cfg app.Config
	env []string
	db  *sql.DB
}

// newLifecycleDB creates a database with the demo data of the given day, deterministic but for the
// keys, and opens a plain connection to watch it.
func newLifecycleDB(t *testing.T, bin, dialect string, persons int, day time.Time) *lifecycleDB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := app.Config{MasterKeyFile: filepath.Join(dir, "vigie.key"), AuditKeyFile: filepath.Join(dir, "vigie-audit.key"),
		DatabaseURL: filepath.Join(dir, "vigie.db"), AuditJournal: filepath.Join(dir, "vigie-audit-journal")}
	if dialect == "postgres" {
		cfg.DatabaseURL = apptest.PostgresSchemaURL(t)
	}
	l := &lifecycleDB{t: t, bin: bin, cfg: cfg, env: append(os.Environ(), "VIGIE_DATABASE_URL="+cfg.DatabaseURL, "VIGIE_MASTER_KEY_FILE="+cfg.MasterKeyFile,
		"VIGIE_AUDIT_KEY_FILE="+cfg.AuditKeyFile, "VIGIE_AUDIT_JOURNAL="+cfg.AuditJournal)}
	if out, err := l.vigie("migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, a, demo.Options{Persons: persons, Seed: 11, Now: day}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a, err = app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l.db = a.DB.DB
	t.Cleanup(func() { a.Close() })
	return l
}

func (l *lifecycleDB) vigie(args ...string) (string, error) {
	cmd := exec.Command(l.bin, args...)
	cmd.Env = l.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitProgress waits until the running run has counted at least n records; false if the
// process ended first.
func (l *lifecycleDB) waitProgress(n int64, done <-chan error) bool {
	for {
		select {
		case <-done:
			return false
		case <-time.After(5 * time.Millisecond):
		}
		var got sql.NullInt64
		l.db.QueryRow(`SELECT sum(c.n) FROM lifecycle_counts c JOIN lifecycle_runs r ON r.id = c.run_id WHERE r.status = 'running'`).Scan(&got)
		if got.Int64 >= n {
			return true
		}
	}
}

// state describes the database by what the rules touch: rows per table and their archive flags,
// statistics by their content, renewal requests sent. No personal data: counts and bands only.
func (l *lifecycleDB) state() string {
	var b strings.Builder
	for _, q := range []string{
		`SELECT count(*) FROM persons`, `SELECT count(*) FROM persons WHERE erased_at IS NOT NULL`,
		`SELECT count(*) FROM subject_keys`, `SELECT count(*) FROM quotes`, `SELECT count(*) FROM contracts WHERE archived`,
		`SELECT count(*) FROM contracts`, `SELECT count(*) FROM documents`, `SELECT count(*) FROM interactions`, `SELECT count(*) FROM tickets WHERE archived`,
		`SELECT count(*) FROM tickets`, `SELECT count(*) FROM ticket_messages`, `SELECT count(*) FROM consents`, `SELECT count(*) FROM search_index`,
		`SELECT count(*) FROM statistics`, `SELECT count(DISTINCT month || COALESCE(age_band, '') || COALESCE(price_band, 0) || COALESCE(insurer, '')) FROM statistics`,
		`SELECT count(*) FROM outbox WHERE kind = 'renewal'`, `SELECT count(*) FROM persons WHERE renewal_asked_at IS NOT NULL`,
	} {
		var n int64
		if err := l.db.QueryRow(q).Scan(&n); err != nil {
			l.t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s = %d\n", q, n)
	}
	return b.String()
}

// counts is what the (single) real run recorded, rule by rule.
func (l *lifecycleDB) counts() string {
	rows, err := l.db.Query(`SELECT c.rule, c.action, c.n, r.status FROM lifecycle_counts c JOIN lifecycle_runs r ON r.id = c.run_id
		WHERE NOT r.dry_run ORDER BY c.rule, c.action`)
	if err != nil {
		l.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var rule, action, status string
		var n int64
		if err := rows.Scan(&rule, &action, &n, &status); err != nil {
			l.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s/%s = %d (%s)\n", rule, action, n, status)
	}
	return b.String()
}
