package lifecycle

import (
	"context"
	"database/sql"

	"vigie/internal/stats"
)

// feedStatistics writes a statistics row for each quote whose person may be counted
// (stats.Eligible): the others are simply not counted. The values are decrypted in memory, banded,
// and only the bands are written — once the quotes are read: PostgreSQL takes no statement on a
// connection whose result is still being read.
func (e *Engine) feedStatistics(ctx context.Context, tx *sql.Tx, quoteIDs []int64) error {
	rows := make([]stats.Row, 0, len(quoteIDs))
	err := stats.NewReader(e.dict, e.keys).Quotes(ctx, tx, "q.id IN "+e.idList(quoteIDs), func(_ int64, r stats.Row) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return err
	}
	w, err := stats.NewWriter(ctx, tx, stats.OriginArchive)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Add(ctx, r); err != nil {
			return err
		}
	}
	return w.Flush(ctx)
}
