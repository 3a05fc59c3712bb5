package rights

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ActionEraseReapplied is the audit action of an erasure re-applied to a restored backup.
const ActionEraseReapplied = "erase_reapplied"

// ReapplyErasureTx re-applies to a database restored from a backup (DESIGN §8) the erasure of a
// person made after that backup, in the restore's transaction, the way Erase did it: the person
// row becomes a tombstone dated erasedAt, their e-mail and phone join the suppression list, every
// row linked to them is deleted but what the law kept (computed as of erasedAt), the texts of
// their requests go, and the audit trail records it. Nothing is decrypted: the person's key is not
// in the restored database (it was destroyed, or it is the archive key of records the backup does
// not hold re-sealed), so the records the law keeps stay in the archive unreadable. removed is
// for a person the retention lifecycle deleted since the backup: their row goes too, unless
// rights requests they made still need it. It returns the rows deleted per table.
func (s *Service) ReapplyErasureTx(ctx context.Context, tx *sql.Tx, personID int64, erasedAt time.Time, removed bool) (map[string]int64, error) {
	erasedAt = erasedAt.UTC()
	res, err := tx.ExecContext(ctx, `UPDATE persons SET erased_at = $1 WHERE id = $2 AND erased_at IS NULL`, erasedAt, personID)
	if err != nil {
		return nil, fmt.Errorf("rights: re-apply erasure: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil // not in the backup, or already erased there
	}
	kept, err := s.keptOnErasure(ctx, tx, personID, erasedAt)
	if err != nil {
		return nil, err
	}
	if err := s.consent.SuppressTx(ctx, tx, personID); err != nil {
		return nil, err
	}
	deleted := map[string]int64{}
	if err := s.deleteSubjectRows(ctx, tx, personID, kept, nil, deleted); err != nil {
		return nil, err
	}
	for _, k := range kept {
		if t := s.dict.Table(k.Table); t != nil && t.Column("archived") != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE "+k.Table+" SET archived = TRUE WHERE id = $1", k.ID); err != nil {
				return nil, fmt.Errorf("rights: archive %s: %w", k.Table, err)
			}
		}
	}
	if removed {
		res, err := tx.ExecContext(ctx, `DELETE FROM persons WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM rights_requests WHERE person_id = $1)`, personID)
		if err != nil {
			return nil, fmt.Errorf("rights: remove person: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			deleted["persons"] = n
		}
	}
	var parts []string
	for _, table := range slices.Sorted(maps.Keys(deleted)) {
		parts = append(parts, table+"="+strconv.FormatInt(deleted[table], 10))
	}
	detail := "deleted:" + strings.Join(parts, ",") + ";kept:" + strconv.Itoa(len(kept)) + ";erased_at:" + erasedAt.Format(time.RFC3339)
	if removed {
		detail += ";removed"
	}
	if err := s.event(ctx, tx, Staff{Department: "dpo"}, ActionEraseReapplied, "persons", personID, personID, detail); err != nil {
		return nil, err
	}
	return deleted, nil
}
