package lifecycle

import (
	"context"
	"database/sql"

	"vigie/internal/stats"
)

// feedStatistics writes a statistics row for each quote whose person may be counted
// (stats.Eligible): the others are simply not counted. The values are decrypted in memory, banded,
// and only the bands are written.
func (e *Engine) feedStatistics(ctx context.Context, tx *sql.Tx, quoteIDs []int64) error {
	w, err := stats.NewWriter(ctx, tx, stats.OriginArchive)
	if err != nil {
		return err
	}
	err = stats.NewReader(e.dict, e.keys).Quotes(ctx, tx, "q.id IN "+idList(quoteIDs), func(_ int64, r stats.Row) error {
		return w.Add(ctx, r)
	})
	if err != nil {
		return err
	}
	return w.Flush(ctx)
}
