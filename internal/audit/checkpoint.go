package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Checkpoint is a signed statement that a chain's event seq has hash Hash. Kept in the database it
// anchors the chain after a purge and exposes a rewritten chain; exported to a file kept elsewhere
// it also exposes a truncated one.
type Checkpoint struct {
	Chain     string    `json:"chain"`
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	At        time.Time `json:"at"`
	Signature []byte    `json:"signature"`
}

// CheckpointFile is the small exported file: the checkpoints of both chains and the public key
// that verifies them.
type CheckpointFile struct {
	Format      string       `json:"format"`
	PublicKey   []byte       `json:"public_key"`
	Checkpoints []Checkpoint `json:"checkpoints"`
}

// CheckpointFormat names the file format.
const CheckpointFormat = "vigie-audit-checkpoint-v1"

func (c Checkpoint) valid(pub ed25519.PublicKey) bool {
	return ed25519.Verify(pub, checkpointMessage(c.Chain, c.Seq, c.Hash, c.At.UnixMicro()), c.Signature)
}

// Checkpoint signs the current head of every chain that has moved since its last checkpoint, and
// returns the latest checkpoint of each chain.
func (t *Trail) Checkpoint(ctx context.Context) ([]Checkpoint, error) {
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}
	var out []Checkpoint
	err := t.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, chain := range Chains {
			var seq int64
			var hash []byte
			if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&seq, &hash); err != nil {
				return fmt.Errorf("audit: read head of %s: %w", chain, err)
			}
			c, err := t.signAt(ctx, tx, chain, seq, hash)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// signAt stores (or finds) the signed checkpoint of a chain at seq.
func (t *Trail) signAt(ctx context.Context, tx *sql.Tx, chain string, seq int64, hash []byte) (Checkpoint, error) {
	var existing Checkpoint
	var atUS int64
	err := tx.QueryRowContext(ctx, `SELECT hash, at_us, signature FROM audit_checkpoints WHERE chain = $1 AND seq = $2`, chain, seq).
		Scan(&existing.Hash, &atUS, &existing.Signature)
	if err == nil {
		existing.Chain, existing.Seq, existing.At = chain, seq, time.UnixMicro(atUS).UTC()
		return existing, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	c := Checkpoint{Chain: chain, Seq: seq, Hash: hash, At: t.now().UTC().Truncate(time.Microsecond)}
	c.Signature = ed25519.Sign(t.signer, checkpointMessage(chain, seq, hash, c.At.UnixMicro()))
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (chain, seq, hash, at_us, signature) VALUES ($1, $2, $3, $4, $5)`,
		c.Chain, c.Seq, c.Hash, c.At.UnixMicro(), c.Signature); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	return c, nil
}

// CheckpointIfDue signs a checkpoint when a chain has grown by every events, or when its last
// checkpoint is older than maxAge and it has moved since. serve calls it periodically.
func (t *Trail) CheckpointIfDue(ctx context.Context, every int64, maxAge time.Duration) error {
	if err := t.Flush(ctx); err != nil {
		return err
	}
	return t.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, chain := range Chains {
			var seq int64
			var hash []byte
			if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&seq, &hash); err != nil {
				return fmt.Errorf("audit: read head of %s: %w", chain, err)
			}
			var lastSeq, lastAt sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT max(seq), max(at_us) FROM audit_checkpoints WHERE chain = $1`, chain).Scan(&lastSeq, &lastAt); err != nil {
				return fmt.Errorf("audit: read checkpoints: %w", err)
			}
			grown := seq - lastSeq.Int64
			old := t.now().Sub(time.UnixMicro(lastAt.Int64)) >= maxAge
			if grown >= every || grown > 0 && old {
				if _, err := t.signAt(ctx, tx, chain, seq, hash); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Export signs the current heads and returns the file to keep apart from the database.
func (t *Trail) Export(ctx context.Context) ([]byte, error) {
	cps, err := t.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(CheckpointFile{Format: CheckpointFormat, PublicKey: t.PublicKey(), Checkpoints: cps}, "", "  ")
}

// ParseCheckpointFile reads an exported checkpoint file.
func ParseCheckpointFile(data []byte) (*CheckpointFile, error) {
	var f CheckpointFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("audit: checkpoint file: %w", err)
	}
	if f.Format != CheckpointFormat || len(f.PublicKey) != ed25519.PublicKeySize || len(f.Checkpoints) == 0 {
		return nil, fmt.Errorf("audit: checkpoint file: not a %s file", CheckpointFormat)
	}
	return &f, nil
}
