package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ChainStatus is what monitoring may know of a chain without recomputing it (that is Verify's
// job, minutes long on millions of events): its head, its latest signed checkpoint, and whether
// that checkpoint still holds.
type ChainStatus struct {
	Chain string
	// Head is the seq of the chain's last event in the database (0: none yet).
	Head int64
	// CheckpointSeq and CheckpointAt are the latest signed checkpoint; CheckpointAt is zero when
	// the chain has none yet.
	CheckpointSeq int64
	CheckpointAt  time.Time
	// CheckpointHolds is false when the latest checkpoint's signature does not verify with this
	// trail's key, or when the event it signs was changed or removed other than by a purge: a
	// tripwire, checked in two indexed reads; Verify says what and where.
	CheckpointHolds bool
}

// Status reads each chain's head and checks its latest checkpoint.
func (t *Trail) Status(ctx context.Context) ([]ChainStatus, error) {
	var out []ChainStatus
	for _, chain := range Chains {
		s := ChainStatus{Chain: chain, CheckpointHolds: true}
		if err := t.db.QueryRowContext(ctx, `SELECT seq FROM audit_heads WHERE chain = $1`, chain).Scan(&s.Head); err != nil {
			return nil, fmt.Errorf("audit: read head of %s: %w", chain, err)
		}
		var c Checkpoint
		var atUS int64
		err := t.db.QueryRowContext(ctx, `SELECT seq, hash, at_us, signature FROM audit_checkpoints WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, chain).
			Scan(&c.Seq, &c.Hash, &atUS, &c.Signature)
		if errors.Is(err, sql.ErrNoRows) {
			out = append(out, s)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit: read checkpoint of %s: %w", chain, err)
		}
		c.Chain, c.At = chain, time.UnixMicro(atUS).UTC()
		s.CheckpointSeq, s.CheckpointAt = c.Seq, c.At
		if s.CheckpointHolds = c.valid(t.PublicKey()); s.CheckpointHolds && c.Seq > 0 {
			if s.CheckpointHolds, err = t.signedEventHolds(ctx, c); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// signedEventHolds reports whether the event a checkpoint signs still has the signed hash, or is
// gone with everything before it (a purge keeps the checkpoint of the last event it removes).
func (t *Trail) signedEventHolds(ctx context.Context, c Checkpoint) (bool, error) {
	var hash []byte
	err := t.db.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2`, c.Chain, c.Seq).Scan(&hash)
	if err == nil {
		return bytes.Equal(hash, c.Hash), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("audit: read checkpointed event: %w", err)
	}
	var first sql.NullInt64
	if err := t.db.QueryRowContext(ctx, `SELECT min(seq) FROM audit_events WHERE chain = $1`, c.Chain).Scan(&first); err != nil {
		return false, fmt.Errorf("audit: read first event: %w", err)
	}
	return !first.Valid || first.Int64 > c.Seq, nil
}

// Unfolded is how many acknowledged reads wait in the server's journal to be folded into the
// access chain (normally at most FoldEvery's worth of reads; a number that only grows means the
// folds fail).
func (t *Trail) Unfolded() int {
	t.jmu.Lock()
	defer t.jmu.Unlock()
	return t.unfolded
}
