package audit

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Access is one line of "who accessed my data": a department, what it did, on which day, how
// many times. Staff names are not part of it: the person learns which service, not who.
type Access struct {
	Department string    `json:"department"`
	Action     string    `json:"action"`
	Day        time.Time `json:"day"`
	Count      int       `json:"count"`
}

// microsPerDay is a UTC day in the microseconds events are timed in.
const microsPerDay = int64(24 * time.Hour / time.Microsecond)

// WhoAccessed lists the departments that read or changed a person's data, by day, oldest first.
// It counts the events in the database and those still waiting in the journal, without folding
// them first: a person's access export does not wait for a database transaction. Holding the fold
// lock keeps an event from being counted in both places.
func (t *Trail) WhoAccessed(ctx context.Context, personID int64) ([]Access, error) {
	subject := t.Subject(personID)
	type key struct {
		dep, action string
		day         time.Time
	}
	counts := map[key]int{}
	count := func(dep, action string, at time.Time) {
		at = at.UTC()
		counts[key{dep, action, time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)}]++
	}
	t.foldMu.Lock()
	defer t.foldMu.Unlock()
	// Counted by day in the database: a person read often has thousands of events. The reads are
	// counted already (days.go); the record chain's events are counted here.
	rows, err := t.db.QueryContext(ctx, `SELECT department, action, at_us / $2, count(*) FROM audit_events
		WHERE chain = 'record' AND subject = $1 GROUP BY department, action, at_us / $2
		UNION ALL SELECT department, action, day, events FROM audit_access_days WHERE subject = $1`, subject, microsPerDay)
	if err != nil {
		return nil, fmt.Errorf("audit: who accessed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dep, action string
		var day int64
		var n int
		if err := rows.Scan(&dep, &action, &day, &n); err != nil {
			return nil, fmt.Errorf("audit: who accessed: %w", err)
		}
		counts[key{dep, action, time.UnixMicro(day * microsPerDay).UTC()}] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: who accessed: %w", err)
	}
	t.jmu.Lock()
	journalled := t.journalled // only ever appended to: what is there now stays as it is
	t.jmu.Unlock()
	// Only the records that hold the pseudonym's bytes are decoded: the journal may hold
	// thousands of reads of other persons.
	for _, pending := range [][]byte{t.retry, journalled} {
		for rec := range journalRecords(pending) {
			if !bytes.Contains(rec, subject) {
				continue
			}
			e, err := decodeJournalRecord(rec, map[string]string{})
			if err != nil {
				return nil, fmt.Errorf("audit: who accessed: %w", err)
			}
			if bytes.Equal(e.Subject, subject) {
				count(e.Department, e.Action, e.At)
			}
		}
	}
	out := make([]Access, 0, len(counts))
	for k, n := range counts {
		out = append(out, Access{Department: k.dep, Action: k.action, Day: k.day, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Day.Equal(b.Day) {
			return a.Day.Before(b.Day)
		}
		if a.Department != b.Department {
			return a.Department < b.Department
		}
		return a.Action < b.Action
	})
	return out, nil
}

// Filter selects events for the DPO's audit page. Zero values do not filter.
type Filter struct {
	UserID     int64
	Department string
	Action     string
	PersonID   int64
	From, To   time.Time
	Limit      int
}

// Events returns the events matching the filter, newest first.
func (t *Trail) Events(ctx context.Context, f Filter) ([]Event, error) {
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 500
	}
	var q conditions
	if f.UserID != 0 {
		q.add("user_id = ?", f.UserID)
	}
	if f.Department != "" {
		q.add("department = ?", f.Department)
	}
	if f.Action != "" {
		q.add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		q.add("at_us >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		q.add("at_us < ?", f.To.UnixMicro())
	}
	if f.PersonID == 0 {
		return t.events(ctx, q, f.Limit)
	}
	return t.eventsOf(ctx, t.Subject(f.PersonID), f, q)
}

// eventsOf returns a person's events matching q: those of the record chain through its subject
// index, and the reads day by day, newest first, on the days the counts say the person was read
// (the access chain has no index by person, days.go).
func (t *Trail) eventsOf(ctx context.Context, subject []byte, f Filter, q conditions) ([]Event, error) {
	out, err := t.events(ctx, q.and("chain = 'record'", nil).and("subject = ?", subject), f.Limit)
	if err != nil {
		return nil, err
	}
	days := conditions{}.and("subject = ?", subject)
	if f.Department != "" {
		days = days.and("department = ?", f.Department)
	}
	if f.Action != "" {
		days = days.and("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		days = days.and("day >= ?", f.From.UnixMicro()/microsPerDay)
	}
	if !f.To.IsZero() {
		days = days.and("day <= ?", (f.To.UnixMicro()-1)/microsPerDay)
	}
	rows, err := t.db.QueryContext(ctx, `SELECT DISTINCT day FROM audit_access_days WHERE `+days.where()+` ORDER BY day DESC`, days.args...)
	if err != nil {
		return nil, fmt.Errorf("audit: events of a person: %w", err)
	}
	var list []int64
	for rows.Next() {
		var day int64
		if err := rows.Scan(&day); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: events of a person: %w", err)
		}
		list = append(list, day)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: events of a person: %w", err)
	}
	reads := 0
	for _, day := range list {
		if reads >= f.Limit {
			break
		}
		of := q.and("chain = 'access'", nil).and("at_us >= ?", day*microsPerDay).and("at_us < ?", (day+1)*microsPerDay).and("subject = ?", subject)
		evs, err := t.events(ctx, of, f.Limit-reads)
		if err != nil {
			return nil, err
		}
		reads += len(evs)
		out = append(out, evs...)
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(a.Chain, b.Chain), cmp.Compare(b.Seq, a.Seq))
	})
	return out[:min(len(out), f.Limit)], nil
}

// conditions is the WHERE clause of an events query, with its arguments numbered in order.
type conditions struct {
	conds []string
	args  []any
}

// add appends a condition; a ? in it stands for v.
func (c *conditions) add(cond string, v any) {
	if strings.Contains(cond, "?") {
		c.args = append(c.args, v)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(c.args)), 1)
	}
	c.conds = append(c.conds, cond)
}

// and is c with one more condition, leaving c as it was.
func (c conditions) and(cond string, v any) conditions {
	out := conditions{conds: slices.Clone(c.conds), args: slices.Clone(c.args)}
	out.add(cond, v)
	return out
}

func (c conditions) where() string { return strings.Join(c.conds, " AND ") }

// events runs an events query, newest first.
func (t *Trail) events(ctx context.Context, c conditions, limit int) ([]Event, error) {
	q := `SELECT chain, seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash FROM audit_events`
	if len(c.conds) > 0 {
		q += " WHERE " + c.where()
	}
	q += fmt.Sprintf(" ORDER BY at_us DESC, chain, seq DESC LIMIT %d", limit)
	rows, err := t.db.QueryContext(ctx, q, c.args...)
	if err != nil {
		return nil, fmt.Errorf("audit: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var atUS int64
		if err := rows.Scan(&e.Chain, &e.Seq, &atUS, &e.UserID, &e.Department, &e.Action, &e.Table, &e.RowID, &e.Subject, &e.Fields, &e.Purpose, &e.Detail, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit: events: %w", err)
		}
		e.At = time.UnixMicro(atUS).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Access-log retention (R17): a setting between 6 and 36 months, 12 by default. Records of writes,
// rights requests and breaches are kept RecordRetentionMonths.
const (
	DefaultAccessRetentionMonths = 12
	MinAccessRetentionMonths     = 6
	MaxAccessRetentionMonths     = 36
	RecordRetentionMonths        = 60
	accessRetentionSetting       = "audit_access_retention_months"
)

// AccessRetention returns the configured access-log retention in months.
func (t *Trail) AccessRetention(ctx context.Context) (int, error) {
	var v string
	err := t.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, accessRetentionSetting).Scan(&v)
	if err == sql.ErrNoRows {
		return DefaultAccessRetentionMonths, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: read retention: %w", err)
	}
	return strconv.Atoi(v)
}

// CheckAccessRetention refuses a retention outside what the CNIL recommendation allows here.
func CheckAccessRetention(months int) error {
	if months < MinAccessRetentionMonths || months > MaxAccessRetentionMonths {
		return fmt.Errorf("audit: access-log retention must be between %d and %d months, got %d", MinAccessRetentionMonths, MaxAccessRetentionMonths, months)
	}
	return nil
}

// SetAccessRetention changes the access-log retention; the change is itself recorded.
func (t *Trail) SetAccessRetention(ctx context.Context, userID int64, department string, months int) error {
	if err := CheckAccessRetention(months); err != nil {
		return err
	}
	return t.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			accessRetentionSetting, strconv.Itoa(months), t.now().UTC()); err != nil {
			return fmt.Errorf("audit: store retention: %w", err)
		}
		return t.AppendTx(ctx, tx, Event{UserID: userID, Department: department, Action: ActionSetting, Table: "settings",
			Detail: accessRetentionSetting + "=" + strconv.Itoa(months)})
	})
}

// Purge removes a chain's events older than before, from the chain's start. The last purged
// event's hash is first signed as a checkpoint, so that what remains still verifies from it. The
// purge is recorded in the record chain. It returns how many events were removed.
func (t *Trail) Purge(ctx context.Context, chain string, before time.Time) (int64, error) {
	if err := t.Flush(ctx); err != nil {
		return 0, err
	}
	var purged int64
	err := t.db.InTx(ctx, func(tx *sql.Tx) error {
		var upTo sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM audit_events WHERE chain = $1 AND at_us < $2`, chain, before.UnixMicro()).Scan(&upTo); err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		if !upTo.Valid {
			return nil
		}
		var hash []byte
		if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2`, chain, upTo.Int64).Scan(&hash); err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		if _, err := t.signAt(ctx, tx, chain, upTo.Int64, hash); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE chain = $1 AND seq <= $2`, chain, upTo.Int64)
		if err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		purged, _ = res.RowsAffected()
		if chain == ChainAccess {
			if err := recountAccessDays(ctx, tx, before.UnixMicro()); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE chain = $1 AND seq < $2`, chain, upTo.Int64); err != nil {
			return fmt.Errorf("audit: purge checkpoints: %w", err)
		}
		return t.AppendTx(ctx, tx, Event{Department: "system", Action: ActionPurge, Table: "audit_events",
			Detail: fmt.Sprintf("chain=%s up_to_seq=%d events=%d", chain, upTo.Int64, purged)})
	})
	return purged, err
}

// PurgeExpired applies both retentions: access events after the configured months, record events
// after RecordRetentionMonths.
func (t *Trail) PurgeExpired(ctx context.Context) (access, record int64, err error) {
	months, err := t.AccessRetention(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := t.now()
	if access, err = t.Purge(ctx, ChainAccess, now.AddDate(0, -months, 0)); err != nil {
		return 0, 0, err
	}
	record, err = t.Purge(ctx, ChainRecord, now.AddDate(0, -RecordRetentionMonths, 0))
	return access, record, err
}
