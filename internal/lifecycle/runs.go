package lifecycle

import (
	"context"
	"fmt"
)

// Runs lists the latest runs, newest first, with their counts.
func (e *Engine) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT id, as_of, dry_run, status, started_at, finished_at, COALESCE(overdue, 0), COALESCE(errors, ''), resumed_at
		FROM lifecycle_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: read runs: %w", err)
	}
	var out []Run
	for rows.Next() {
		var r Run
		var asOf, started, finished, resumed any
		if err := rows.Scan(&r.ID, &asOf, &r.DryRun, &r.Status, &started, &finished, &r.Overdue, &r.Errors, &resumed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lifecycle: read runs: %w", err)
		}
		if r.AsOf, err = e.timestamp(asOf); err == nil {
			r.StartedAt, err = e.timestamp(started)
		}
		if err == nil && finished != nil {
			r.FinishedAt, err = e.timestamp(finished)
		}
		if err == nil && resumed != nil {
			r.ResumedAt, err = e.timestamp(resumed)
			r.Resumed = true
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lifecycle: read runs: %w", err)
	}
	for i := range out {
		if out[i].Counts, err = e.counts(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Unfinished reports whether a real run was cut off and waits to be resumed.
func (e *Engine) Unfinished(ctx context.Context) (bool, error) {
	var n int
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM lifecycle_runs WHERE status = $1 AND NOT dry_run`, StatusRunning).Scan(&n); err != nil {
		return false, fmt.Errorf("lifecycle: read runs: %w", err)
	}
	return n > 0, nil
}
