package audit

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The access chain has no index by person: an index over every read ever logged takes each new
// read at a random place and made logging a read twice as dear. "Who accessed my data" is
// answered instead from audit_access_days — reads counted per person, day, department and action
// — written in the transaction that appends the reads, so a count never lacks its events nor
// counts events that are not there. The record chain, written far less often, keeps its index.

// accessDay is one row of audit_access_days.
type accessDay struct {
	subject            string
	day                int64
	department, action string
}

// accessDayChunk is how many rows one upsert statement writes (5 parameters each).
const accessDayChunk = 400

// countAccessDays adds appended access events to the per-day counts, in tx.
func (t *Trail) countAccessDays(ctx context.Context, tx *sql.Tx, events []Event) error {
	counts := map[accessDay]int64{}
	for i := range events {
		e := &events[i]
		if len(e.Subject) == 0 {
			continue
		}
		counts[accessDay{string(e.Subject), e.At.UnixMicro() / microsPerDay, e.Department, e.Action}]++
	}
	keys := make([]accessDay, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// In the table's order: consecutive rows land on the same pages.
	slices.SortFunc(keys, func(a, b accessDay) int {
		return cmp.Or(strings.Compare(a.subject, b.subject), cmp.Compare(a.day, b.day),
			strings.Compare(a.department, b.department), strings.Compare(a.action, b.action))
	})
	err := execChunks(ctx, tx, len(keys), accessDayChunk, t.accessDaysSQL, func(args []any, i int) []any {
		k := keys[i]
		return append(args, []byte(k.subject), k.day, k.department, k.action, counts[k])
	})
	if err != nil {
		return fmt.Errorf("audit: count reads by day: %w", err)
	}
	return nil
}

// accessDaysSQL is the upsert of n per-day counts.
func (t *Trail) accessDaysSQL(n int) string {
	return "INSERT INTO audit_access_days (subject, day, department, action, events) VALUES " + t.db.Values(n, 5) +
		" ON CONFLICT (subject, day, department, action) DO UPDATE SET events = audit_access_days.events + excluded.events"
}

// recountAccessDays brings the counts back in line with the access chain after a purge of its
// events before a time: the days before it are gone whole, and the day it falls in (and the
// next, for events timed a little out of order) are counted again from the events left. The
// delete reads the whole table, once a day: an index by day would take every new row at a random
// place (it orders a day's rows by person), which is what the table is there to avoid.
func recountAccessDays(ctx context.Context, tx *sql.Tx, before int64) error {
	through := before / microsPerDay
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_access_days WHERE day <= $1`, through+1); err != nil {
		return fmt.Errorf("audit: purge the reads by day: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_access_days (subject, day, department, action, events)
		SELECT subject, at_us / $1, department, action, count(*) FROM audit_events
		WHERE chain = 'access' AND at_us < $2 AND length(subject) > 0
		GROUP BY subject, at_us / $1, department, action`, microsPerDay, (through+2)*microsPerDay); err != nil {
		return fmt.Errorf("audit: count again the reads by day: %w", err)
	}
	return nil
}
