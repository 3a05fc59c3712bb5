package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"vigie/internal/db"
)

// Problem is a place where the trail is not what it claims: the chain and the first event (seq)
// that is wrong, and what is wrong with it.
type Problem struct {
	Chain string `json:"chain"`
	Seq   int64  `json:"seq"`
	What  string `json:"what"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s chain, event %d: %s", p.Chain, p.Seq, p.What)
}

// ChainReport sums up one verified chain.
type ChainReport struct {
	Chain       string `json:"chain"`
	First       int64  `json:"first"`
	Last        int64  `json:"last"`
	Events      int64  `json:"events"`
	Checkpoints int    `json:"checkpoints"`
}

// Report is the outcome of Verify.
type Report struct {
	Chains   []ChainReport `json:"chains"`
	Problems []Problem     `json:"problems"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// OK reports whether the trail verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify recomputes every chain from its start (or from the signed checkpoint that anchors it
// after a purge), checks every checkpoint signature with pub, and compares the chain with the
// checkpoints stored in the database and, when given, with an exported checkpoint file. It detects
// a modified, deleted, inserted or reordered event, a rewritten chain, and — with the last exported
// file — a truncated tail, and names the first event that is wrong.
func Verify(ctx context.Context, d *db.DB, pub ed25519.PublicKey, external *CheckpointFile) (*Report, error) {
	start := time.Now()
	r := &Report{}
	if external != nil && !bytes.Equal(external.PublicKey, pub) {
		r.Problems = append(r.Problems, Problem{Chain: "-", What: "the checkpoint file was signed by another key than this trail's"})
	}
	for _, chain := range Chains {
		cr, err := verifyChain(ctx, d, pub, chain, external, r)
		if err != nil {
			return nil, err
		}
		r.Chains = append(r.Chains, cr)
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func verifyChain(ctx context.Context, d *db.DB, pub ed25519.PublicKey, chain string, external *CheckpointFile, r *Report) (ChainReport, error) {
	cr := ChainReport{Chain: chain}
	problem := func(seq int64, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Chain: chain, Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	signed := map[int64][]byte{}
	rows, err := d.QueryContext(ctx, `SELECT seq, hash, at_us, signature FROM audit_checkpoints WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return cr, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	for rows.Next() {
		var c Checkpoint
		var atUS int64
		if err := rows.Scan(&c.Seq, &c.Hash, &atUS, &c.Signature); err != nil {
			rows.Close()
			return cr, fmt.Errorf("audit: read checkpoints: %w", err)
		}
		c.Chain, c.At = chain, time.UnixMicro(atUS).UTC()
		if !c.valid(pub) {
			problem(c.Seq, "the signed checkpoint's signature is wrong (checkpoint forged or edited)")
			continue
		}
		signed[c.Seq] = c.Hash
		cr.Checkpoints++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return cr, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	fileHashes := map[int64][]byte{}
	if external != nil {
		for _, c := range external.Checkpoints {
			if c.Chain != chain {
				continue
			}
			if !c.valid(external.PublicKey) {
				problem(c.Seq, "the checkpoint file's signature is wrong")
				continue
			}
			fileHashes[c.Seq] = c.Hash
		}
	}
	var headSeq int64
	var headHash []byte
	if err := d.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&headSeq, &headHash); err != nil {
		return cr, fmt.Errorf("audit: read head of %s: %w", chain, err)
	}

	events, err := d.QueryContext(ctx, `SELECT seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash
		FROM audit_events WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return cr, fmt.Errorf("audit: read events: %w", err)
	}
	defer events.Close()
	var (
		e       = Event{Chain: chain}
		atUS    int64
		prev    []byte
		next    int64 // the seq the next event must have
		buf     []byte
		started bool
	)
	for events.Next() {
		if err := events.Scan(&e.Seq, &atUS, &e.UserID, &e.Department, &e.Action, &e.Table, &e.RowID, &e.Subject, &e.Fields, &e.Purpose, &e.Detail, &e.Hash); err != nil {
			return cr, fmt.Errorf("audit: read events: %w", err)
		}
		e.At = time.UnixMicro(atUS)
		cr.Events++
		if !started {
			started = true
			cr.First = e.Seq
			switch anchor, ok := signed[e.Seq-1]; {
			case e.Seq == 1:
				prev = zeroHash
			case ok:
				prev = anchor
			default:
				problem(e.Seq, "events 1 to %d are missing and no signed checkpoint anchors what remains (deleted)", e.Seq-1)
				prev = nil
			}
			next = e.Seq
		}
		switch {
		case e.Seq != next:
			problem(next, "missing: the trail jumps from event %d to event %d (deleted)", next-1, e.Seq)
			prev = e.Hash // resynchronise on what is stored, to find further problems
		case prev == nil:
			prev = e.Hash
		default:
			var h []byte
			h, buf = chainHash(prev, &e, buf)
			if !bytes.Equal(h, e.Hash) {
				problem(e.Seq, "does not match its hash (modified, inserted or reordered)")
			}
			prev = e.Hash
		}
		if want, ok := signed[e.Seq]; ok && !bytes.Equal(want, e.Hash) {
			problem(e.Seq, "differs from the signed checkpoint (chain rewritten)")
		}
		if want, ok := fileHashes[e.Seq]; ok && !bytes.Equal(want, e.Hash) {
			problem(e.Seq, "differs from the exported checkpoint file (chain rewritten)")
		}
		next = e.Seq + 1
	}
	if err := events.Err(); err != nil {
		return cr, fmt.Errorf("audit: read events: %w", err)
	}
	last := next - 1
	cr.Last = last
	if !started {
		last = 0
		if _, anchored := signed[headSeq]; headSeq > 0 && anchored {
			last = headSeq // everything purged, the anchor stands for the end
		}
	}
	if headSeq != last || started && !bytes.Equal(headHash, prev) {
		problem(last+1, "the chain's head says it ends at event %d, the events end at %d (truncated, or written outside Vigie)", headSeq, last)
	}
	for seq := range signed {
		if seq > last {
			problem(last+1, "a signed checkpoint names event %d, beyond the end of the trail (truncated)", seq)
			break
		}
	}
	for seq := range fileHashes {
		if seq > last {
			problem(last+1, "the exported checkpoint names event %d, the trail ends at %d (truncated)", seq, last)
		}
	}
	return cr, nil
}
