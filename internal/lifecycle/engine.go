// Package lifecycle is the retention engine (DESIGN §5, rules R33–R36): it applies the retention
// rules — the dictionary's defaults, as the DPO has changed them — to the data whose time has
// come: prospects are asked whether to keep in touch, then deleted; quotes without a contract are
// anonymised into statistics; contracts and tickets are archived at their end and deleted at the
// end of the limitation period; superseded consent proofs and closed rights requests go after
// five years; a person of whom nothing is left is deleted with their key. A legal hold or a
// restriction (art. 18) suspends every action on the person.
//
// The engine works in batches, each one transaction that also adds its counts to the run's
// record: a run cut off (kill -9) leaves every batch either done and counted or not done at all,
// and the next run resumes it. Candidates are chosen by their state, never by a list kept
// aside, so a batch done is never done twice and none is skipped.
package lifecycle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/outbox"
)

// Auditor is the part of the audit trail the engine uses.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Subject(personID int64) []byte
}

// Mailer queues a message inside the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m outbox.Message) (int64, error)
}

// Engine applies the retention rules.
type Engine struct {
	db         *db.DB
	dict       *dictionary.Dictionary
	keys       *keys.Keyring
	audit      Auditor
	mail       Mailer
	controller consent.Controller
	now        func() time.Time
	batch      int
	// publicURL is where people reach the public pages: the renewal message's "stay in touch"
	// link points there (empty: the message asks for a reply instead).
	publicURL string
}

// New builds the engine; controller is the broker's name, signed under the renewal messages.
func New(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, a Auditor, mail Mailer, controller consent.Controller, now func() time.Time) *Engine {
	return &Engine{db: d, dict: dict, keys: kr, audit: a, mail: mail, controller: controller, now: now, batch: DefaultBatch}
}

// DefaultBatch is how many rows a batch takes unless told otherwise: on SQLite a batch of that
// size holds the write lock for a fraction of a second, and larger ones gain little.
const DefaultBatch = 5000

// WithBatch sets how many rows a batch (one transaction) takes; tests use small ones.
func (e *Engine) WithBatch(n int) *Engine { e.batch = max(1, n); return e }

// WithPublicURL sets the address of the public pages (VIGIE_PUBLIC_URL), for the renewal link.
func (e *Engine) WithPublicURL(u string) *Engine { e.publicURL = strings.TrimRight(u, "/"); return e }

// Staff is who starts a run or changes a rule (UserID 0: the scheduler inside vigie serve).
type Staff struct {
	UserID     int64
	Department string
}

// Options of a run.
type Options struct {
	// Now is the day the rules are applied for; zero means the clock's now. It may not be earlier
	// than the last run's: data deleted cannot be brought back to match an earlier date.
	Now time.Time
	// DryRun does all the work in one transaction and rolls it back: the counts are exactly what a
	// real run would do, and nothing changes (no message leaves, no audit event is written). On
	// SQLite the transaction holds the write lock while it runs.
	DryRun bool
	// Progress, when set, receives a line per rule as it advances; it never carries personal data.
	Progress io.Writer
	By       Staff
}

// Run is a run of the engine as recorded.
type Run struct {
	ID         int64
	AsOf       time.Time
	DryRun     bool
	Status     string
	StartedAt  time.Time
	FinishedAt time.Time
	// Resumed is set when a later call took up the run an interruption left unfinished; ResumedAt
	// is when it last did.
	Resumed   bool
	ResumedAt time.Time
	Counts    []Count
	// Overdue is what was still due at AsOf when the run finished: 0 unless a batch failed.
	Overdue int64
	Errors  string
}

// Count is what a run did under one rule with one action.
type Count struct {
	Rule, Action string
	N            int64
}

// Total is the number of records a run handled.
func (r *Run) Total() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c.N
	}
	return n
}

// Run statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// InputError is a refused run; Field and Rule name what to fix.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "lifecycle: " + e.Field + ": " + e.Message }

// Run applies every rule as of opt.Now. A real run left unfinished by a crash is resumed first,
// at its own date: a new date is refused until it has finished.
func (e *Engine) Run(ctx context.Context, opt Options) (*Run, error) {
	asOf := opt.Now.UTC()
	if asOf.IsZero() {
		asOf = e.now().UTC()
	}
	asOf = asOf.Truncate(time.Microsecond)
	run, err := e.begin(ctx, asOf, opt)
	if err != nil {
		return nil, err
	}
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	if !opt.DryRun {
		if err := e.expireHolds(ctx, run.AsOf); err != nil {
			return nil, err
		}
		if err := e.sweepCredentials(ctx, run.AsOf); err != nil {
			return nil, err
		}
	}
	// The batches go through one connection; a dry run works, counts and checks inside one
	// transaction that it rolls back.
	conn, release, err := WorkConn(ctx, e.db)
	if err != nil {
		return nil, err
	}
	defer release()
	var work func(ctx context.Context, fn func(tx *sql.Tx) error) error
	var view querier = conn
	var dry *sql.Tx
	if opt.DryRun {
		if dry, err = conn.BeginTx(ctx, nil); err != nil {
			return nil, fmt.Errorf("lifecycle: begin: %w", err)
		}
		defer dry.Rollback()
		work = func(_ context.Context, fn func(tx *sql.Tx) error) error { return fn(dry) }
		view = dry
	} else {
		work = func(ctx context.Context, fn func(tx *sql.Tx) error) error { return db.InTx(ctx, conn, fn) }
	}
	counts := map[[2]string]int64{}
	var runErr error
	for _, st := range e.steps() {
		r := ruleByCode(rules, st.rule)
		if !st.applies(r) {
			continue
		}
		n, err := e.runStep(ctx, work, view, run, st, rules, asOf, opt.Progress)
		counts[[2]string{st.rule, st.action}] += n
		if err != nil {
			runErr = fmt.Errorf("%s/%s: %w", st.rule, st.action, err)
			break
		}
	}
	if opt.DryRun {
		for k, n := range counts {
			if n > 0 {
				run.Counts = append(run.Counts, Count{Rule: k[0], Action: k[1], N: n})
			}
		}
		sortCounts(run.Counts)
	}
	if runErr == nil {
		run.Overdue, runErr = e.overdueIn(ctx, view, rules, asOf)
	}
	if dry != nil {
		dry.Rollback()
	}
	return e.finish(ctx, run, runErr)
}

// begin records a new run, or takes up the real run a crash left unfinished.
func (e *Engine) begin(ctx context.Context, asOf time.Time, opt Options) (*Run, error) {
	var run *Run
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		var last any
		if err := tx.QueryRowContext(ctx, `SELECT max(as_of) FROM lifecycle_runs WHERE NOT dry_run`).Scan(&last); err != nil {
			return fmt.Errorf("lifecycle: read last run: %w", err)
		}
		if last != nil {
			lastAsOf, err := e.timestamp(last)
			if err != nil {
				return err
			}
			if asOf.Before(lastAsOf) {
				return &InputError{"now", "after_last_run", "la date de référence (" + day(asOf) + ") précède celle du dernier passage (" +
					day(lastAsOf) + ") : ce qui a été supprimé ne peut pas être rendu à une date antérieure"}
			}
		}
		if !opt.DryRun {
			var id int64
			var at any
			err := tx.QueryRowContext(ctx, `SELECT id, as_of FROM lifecycle_runs WHERE status = $1 AND NOT dry_run ORDER BY id LIMIT 1`, StatusRunning).Scan(&id, &at)
			switch {
			case err == nil:
				unfinished, err := e.timestamp(at)
				if err != nil {
					return err
				}
				if !opt.Now.IsZero() && !unfinished.Equal(asOf) {
					return &InputError{"now", "resume_first", fmt.Sprintf("le passage n° %d (au %s) a été interrompu : relancez-le sans --now (ou avec --now %s) pour qu'il se termine avant d'en commencer un autre",
						id, day(unfinished), unfinished.Format(time.RFC3339))}
				}
				run = &Run{ID: id, AsOf: unfinished, Status: StatusRunning, Resumed: true, StartedAt: e.now().UTC()}
				run.ResumedAt = run.StartedAt
				if _, err := tx.ExecContext(ctx, `UPDATE lifecycle_runs SET resumed_at = $1 WHERE id = $2`, run.ResumedAt, id); err != nil {
					return fmt.Errorf("lifecycle: record resumption: %w", err)
				}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("lifecycle: read unfinished run: %w", err)
			}
		}
		run = &Run{AsOf: asOf, DryRun: opt.DryRun, Status: StatusRunning, StartedAt: e.now().UTC()}
		return tx.QueryRowContext(ctx, `INSERT INTO lifecycle_runs (as_of, dry_run, status, started_at, started_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			run.AsOf, run.DryRun, run.Status, run.StartedAt, nullID(opt.By.UserID)).Scan(&run.ID)
	})
	return run, err
}

// finish records the end of a run: done, or failed with the error (which names no one).
func (e *Engine) finish(ctx context.Context, run *Run, runErr error) (*Run, error) {
	run.FinishedAt = e.now().UTC()
	run.Status = StatusDone
	if runErr != nil {
		run.Status, run.Errors = StatusFailed, truncate(runErr.Error(), 4000)
		if errors.Is(runErr, context.Canceled) {
			// Stopped on purpose (Ctrl-C, shutdown): left running, so the next run resumes it.
			return run, runErr
		}
	}
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE lifecycle_runs SET status = $1, finished_at = $2, overdue = $3, errors = $4 WHERE id = $5`,
			run.Status, run.FinishedAt, run.Overdue, nullString(run.Errors), run.ID); err != nil {
			return fmt.Errorf("lifecycle: record run: %w", err)
		}
		if run.DryRun {
			for _, c := range run.Counts {
				if err := addCount(ctx, tx, run.ID, c.Rule, c.Action, c.N); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return run, err
	}
	if !run.DryRun {
		counts, err := e.counts(ctx, run.ID)
		if err != nil {
			return run, err
		}
		run.Counts = counts
	}
	return run, runErr
}

// addCount adds n to a run's count, in the batch's transaction.
func addCount(ctx context.Context, tx *sql.Tx, runID int64, rule, action string, n int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO lifecycle_counts (run_id, rule, action, n) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id, rule, action) DO UPDATE SET n = lifecycle_counts.n + excluded.n`, runID, rule, action, n); err != nil {
		return fmt.Errorf("lifecycle: count: %w", err)
	}
	return nil
}

func (e *Engine) counts(ctx context.Context, runID int64) ([]Count, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT rule, action, n FROM lifecycle_counts WHERE run_id = $1`, runID)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: read counts: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Rule, &c.Action, &c.N); err != nil {
			return nil, fmt.Errorf("lifecycle: read counts: %w", err)
		}
		out = append(out, c)
	}
	sortCounts(out)
	return out, rows.Err()
}

// sortCounts orders counts as the rules are listed, then by action.
func sortCounts(cs []Count) {
	order := map[string]int{}
	for i, g := range governed {
		order[g.code] = i
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && (order[cs[j].Rule] < order[cs[j-1].Rule] || order[cs[j].Rule] == order[cs[j-1].Rule] && cs[j].Action < cs[j-1].Action); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// runStep takes the step's candidates batch after batch until none is left. The cursor only moves
// forward, so a candidate that an action leaves in place (a prospect without an address to ask)
// is not taken again in the same run.
func (e *Engine) runStep(ctx context.Context, work func(context.Context, func(*sql.Tx) error) error, view querier, run *Run, st step,
	rules []Rule, asOf time.Time, progress io.Writer) (int64, error) {
	r := ruleByCode(rules, st.rule)
	// Progress is told by how far the cursor has gone through the table's ids: counting the
	// candidates first would cost as much as a batch's search through the whole table.
	var lastID int64
	if progress != nil {
		var last sql.NullInt64
		if err := view.QueryRowContext(ctx, "SELECT max(id) FROM "+st.table).Scan(&last); err != nil {
			return 0, fmt.Errorf("lifecycle: read %s: %w", st.table, err)
		}
		lastID = last.Int64
	}
	p := newProgress(progress, st, r, lastID)
	var done int64
	var cursor int64
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		var batchDone int64
		var last int64
		err := work(ctx, func(tx *sql.Tx) error {
			if err := e.serialise(ctx, tx); err != nil {
				return err
			}
			ids, err := e.candidates(ctx, tx, st, r, asOf, cursor)
			if err != nil || len(ids) == 0 {
				return err
			}
			last = ids[len(ids)-1]
			n, err := st.apply(e, ctx, tx, batch{ids: ids, rule: r, rules: rules, asOf: asOf, run: run.ID})
			if err != nil {
				return err
			}
			batchDone = n
			if n == 0 || run.DryRun {
				return nil
			}
			if err := e.audit.AppendTx(ctx, tx, audit.Event{UserID: 0, Department: "system", Action: "lifecycle_" + st.action,
				Table: st.table, Purpose: "compliance",
				Detail: fmt.Sprintf("run=%d rule=%s version=%d months=%d n=%d", run.ID, r.Code, r.Version, r.Months, n)}); err != nil {
				return err
			}
			return addCount(ctx, tx, run.ID, st.rule, st.action, n)
		})
		if err != nil {
			return done, err
		}
		if last == 0 {
			p.end(done)
			return done, nil
		}
		cursor = last
		done += batchDone
		p.advance(done, cursor)
	}
}

// candidates returns the ids of the next batch of the step's candidates after cursor.
func (e *Engine) candidates(ctx context.Context, tx *sql.Tx, st step, r Rule, asOf time.Time, cursor int64) ([]int64, error) {
	a := &args{}
	cursorArg := a.add(cursor)
	query := "SELECT t.id FROM " + st.from() + " WHERE t.id > " + cursorArg + " AND " + st.condition(e, r, asOf, a, true) +
		" ORDER BY t.id LIMIT " + strconv.Itoa(e.batch)
	rows, err := tx.QueryContext(ctx, query, a.list...)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: select %s: %w", st.table, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("lifecycle: select %s: %w", st.table, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// countCandidates counts the step's candidates at a date; gated leaves out the held and
// restricted persons, whose data waits.
func (e *Engine) countCandidates(ctx context.Context, q querier, st step, r Rule, at time.Time, gated bool) (int64, error) {
	a := &args{}
	var n int64
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+st.from()+" WHERE "+st.condition(e, r, at, a, gated), a.list...).Scan(&n); err != nil {
		return 0, fmt.Errorf("lifecycle: count %s: %w", st.table, err)
	}
	return n, nil
}

// querier is the database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// args numbers a query's placeholders as they are added.
type args struct{ list []any }

func (a *args) add(v any) string {
	a.list = append(a.list, v)
	return "$" + strconv.Itoa(len(a.list))
}

func ruleByCode(rules []Rule, code string) Rule {
	for _, r := range rules {
		if r.Code == code {
			return r
		}
	}
	return Rule{Code: code}
}

// timestamp reads a timestamp the way either driver returns it.
func (e *Engine) timestamp(v any) (time.Time, error) {
	t, err := e.dict.Table("lifecycle_runs").Column("as_of").FromDB(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("lifecycle: %w", err)
	}
	return t.(time.Time), nil
}

func day(t time.Time) string { return t.UTC().Format(dictionary.DateLayout) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// idList is a batch's ids as the right side of IN: integers the engine read itself, never input.
// On SQLite they are one JSON array, read by json_each: the parser would otherwise build a node
// for each of a batch's thousands of literals, in each of its statements.
func (e *Engine) idList(ids []int64) string {
	var b strings.Builder
	if e.db.Dialect == db.SQLite {
		b.WriteString("(SELECT value FROM json_each('[")
	} else {
		b.WriteByte('(')
	}
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	if e.db.Dialect == db.SQLite {
		b.WriteString("]'))")
	} else {
		b.WriteByte(')')
	}
	return b.String()
}

// expireHolds clears the flag of persons whose holds have all ended, for erasure to see it.
func (e *Engine) expireHolds(ctx context.Context, at time.Time) error {
	if _, err := e.db.ExecContext(ctx, `UPDATE persons SET legal_hold = FALSE WHERE legal_hold AND NOT EXISTS
		(SELECT 1 FROM legal_holds h WHERE h.person_id = persons.id AND h.lifted_at IS NULL AND h.ends_at > $1)`, at); err != nil {
		return fmt.Errorf("lifecycle: expire holds: %w", err)
	}
	return nil
}

// sweepCredentials deletes what only served to sign in and has expired: staff sessions and
// tokens past their end, the privacy portal's sessions, and its one-time codes a day after they
// were sent (the portal counts the codes of the last hour to throttle requests). They are refused
// once expired anyway; kept, they would only be personal data without a purpose.
func (e *Engine) sweepCredentials(ctx context.Context, at time.Time) error {
	for _, q := range []struct {
		query string
		at    time.Time
	}{
		{`DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at < $1`, at},
		{`DELETE FROM portal_sessions WHERE expires_at < $1`, at},
		{`DELETE FROM portal_codes WHERE created_at < $1`, at.Add(-24 * time.Hour)},
	} {
		if _, err := e.db.ExecContext(ctx, q.query, q.at); err != nil {
			return fmt.Errorf("lifecycle: sweep expired credentials: %w", err)
		}
	}
	return nil
}

// workCache is the page cache, in KiB, of the connection a run's batches use on SQLite: a batch
// touches pages all over the tables it deletes from, and SQLite's default cache (2 MiB) would
// spill them to the log and read them again. It is given back at the end of the run.
const workCache = 64 << 10

// workCheckpoint is how many pages the write-ahead log of SQLite may hold before a batch's commit
// copies them into the database: a page that many batches change is copied once, not each time.
const workCheckpoint = 32 << 10

// WorkConn is the one connection a run's batches use: on SQLite, its page cache is enlarged
// (workCache) and its log checkpointed less often (workCheckpoint) until release gives it back
// as it was. bench/ runs its raw SQL on such a connection too, for the comparison to be fair.
func WorkConn(ctx context.Context, d *db.DB) (conn *sql.Conn, release func(), err error) {
	if conn, err = d.Conn(ctx); err != nil {
		return nil, nil, fmt.Errorf("lifecycle: connect: %w", err)
	}
	if d.Dialect != db.SQLite {
		return conn, func() { conn.Close() }, nil
	}
	pragmas := []struct {
		name string
		want int
		was  int64
	}{{"cache_size", -workCache, 0}, {"wal_autocheckpoint", workCheckpoint, 0}}
	for i := range pragmas {
		p := &pragmas[i]
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&p.was); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("lifecycle: read %s: %w", p.name, err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA "+p.name+" = "+strconv.Itoa(p.want)); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("lifecycle: set %s: %w", p.name, err)
		}
	}
	return conn, func() {
		for _, p := range pragmas {
			conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA "+p.name+" = "+strconv.FormatInt(p.was, 10))
		}
		conn.Close()
	}, nil
}

// serialise makes batches of concurrent runs (the nightly one, one started from the DPO's page)
// take turns, each choosing its candidates only once the other's batch has committed.
func (e *Engine) serialise(ctx context.Context, tx *sql.Tx) error {
	if err := e.db.Serialise(ctx, tx, lifecycleLock); err != nil {
		return fmt.Errorf("lifecycle: %w", err)
	}
	return nil
}

// lifecycleLock is the advisory lock key of the engine's batches ("VIGIE-LC" in ASCII).
const lifecycleLock = 0x5649474945_4c43
