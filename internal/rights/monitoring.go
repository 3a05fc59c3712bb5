package rights

import (
	"context"
	"fmt"
	"time"
)

// Backlog is, for one right, how many requests wait for their answer and how many of them are past
// their deadline (R32): what monitoring watches. Counts only, no person.
type Backlog struct {
	Type          string
	Open, Overdue int64
}

// Backlogs counts the open requests of every right, and the late ones at now, for every purpose
// (the DPO's and the quotes department's human reviews alike). Every right of Types is listed,
// with zeros, so that a series exists before the first request.
func (s *Service) Backlogs(ctx context.Context, now time.Time) ([]Backlog, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, due_at FROM rights_requests WHERE status IN ('open', 'in_progress')`)
	if err != nil {
		return nil, fmt.Errorf("rights: count open requests: %w", err)
	}
	defer rows.Close()
	out := make([]Backlog, 0, len(Types))
	index := map[string]int{}
	for _, t := range Types {
		index[t] = len(out)
		out = append(out, Backlog{Type: t})
	}
	for rows.Next() {
		var typ string
		var due time.Time
		if err := rows.Scan(&typ, &due); err != nil {
			return nil, fmt.Errorf("rights: count open requests: %w", err)
		}
		i, ok := index[typ]
		if !ok {
			i = len(out)
			index[typ] = i
			out = append(out, Backlog{Type: typ})
		}
		out[i].Open++
		if due.Before(now) {
			out[i].Overdue++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rights: count open requests: %w", err)
	}
	return out, nil
}
