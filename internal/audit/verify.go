package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
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

	var first, lastStored sql.NullInt64
	if err := d.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM audit_events WHERE chain = $1`, chain).Scan(&first, &lastStored); err != nil {
		return cr, fmt.Errorf("audit: read events: %w", err)
	}
	started := first.Valid
	var prev []byte // the hash of the chain's last event
	next := int64(1)
	if started {
		cr.First = first.Int64
		var anchor []byte
		switch a, ok := signed[first.Int64-1]; {
		case first.Int64 == 1:
			anchor = zeroHash
		case ok:
			anchor = a
		default:
			problem(first.Int64, "events 1 to %d are missing and no signed checkpoint anchors what remains (deleted)", first.Int64-1)
		}
		// Every event is checked against the stored hash of the one before it, so ranges of the
		// chain can be checked at the same time, each on its own connection.
		ranges := splitRange(first.Int64, lastStored.Int64, runtime.NumCPU())
		results := make([]rangeResult, len(ranges))
		var wg sync.WaitGroup
		for i, rg := range ranges {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = verifyRange(ctx, d, chain, rg, i == 0, anchor, signed, fileHashes)
			}()
		}
		wg.Wait()
		for _, res := range results {
			if res.err != nil {
				return cr, res.err
			}
			r.Problems = append(r.Problems, res.problems...)
			cr.Events += res.events
		}
		prev = results[len(results)-1].lastHash
		next = lastStored.Int64 + 1
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

type seqRange struct{ from, to int64 }

// splitRange cuts [from, to] into at most n contiguous ranges.
func splitRange(from, to int64, n int) []seqRange {
	size := (to - from + int64(n)) / int64(n)
	var out []seqRange
	for lo := from; lo <= to; lo += max(size, 1) {
		out = append(out, seqRange{lo, min(to, lo+max(size, 1)-1)})
	}
	return out
}

type rangeResult struct {
	events   int64
	lastHash []byte
	problems []Problem
	err      error
}

// verifyRange checks the events of one range: each must be where the sequence says, and must
// hash, after the stored hash of the event before it, to its own stored hash. The first range
// starts from the chain's anchor (nil when there is none); the others from the stored hash of
// the event before them.
func verifyRange(ctx context.Context, d *db.DB, chain string, rg seqRange, isFirst bool, anchor []byte,
	signed, fileHashes map[int64][]byte) rangeResult {
	var res rangeResult
	problem := func(seq int64, format string, args ...any) {
		res.problems = append(res.problems, Problem{Chain: chain, Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	prev := anchor
	if !isFirst {
		err := d.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2`, chain, rg.from-1).Scan(&prev)
		if err != nil && err != sql.ErrNoRows {
			res.err = fmt.Errorf("audit: read events: %w", err)
			return res
		}
	}
	rows, err := d.QueryContext(ctx, `SELECT seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash
		FROM audit_events WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`, chain, rg.from, rg.to)
	if err != nil {
		res.err = fmt.Errorf("audit: read events: %w", err)
		return res
	}
	defer rows.Close()
	var (
		seq, atUS, userID, rowID                             int64
		dep, action, table, subject, fields, purpose, detail sql.RawBytes
		hash                                                 sql.RawBytes
		buf                                                  []byte
		prevBuf                                              = make([]byte, 0, 32)
	)
	prevBuf = append(prevBuf, prev...)
	havePrev := prev != nil
	next := rg.from
	for rows.Next() {
		if err := rows.Scan(&seq, &atUS, &userID, &dep, &action, &table, &rowID, &subject, &fields, &purpose, &detail, &hash); err != nil {
			res.err = fmt.Errorf("audit: read events: %w", err)
			return res
		}
		res.events++
		switch {
		case seq != next:
			problem(next, "missing: the trail jumps from event %d to event %d (deleted)", next-1, seq)
		case havePrev:
			buf = encode(buf[:0], chain, seq, atUS, userID, dep, action, table, rowID, subject, fields, purpose, detail)
			if !bytes.Equal(sum(prevBuf, buf), hash) {
				problem(seq, "does not match its hash (modified, inserted or reordered)")
			}
		}
		if want, ok := signed[seq]; ok && !bytes.Equal(want, hash) {
			problem(seq, "differs from the signed checkpoint (chain rewritten)")
		}
		if want, ok := fileHashes[seq]; ok && !bytes.Equal(want, hash) {
			problem(seq, "differs from the exported checkpoint file (chain rewritten)")
		}
		prevBuf, havePrev = append(prevBuf[:0], hash...), true
		next = seq + 1
	}
	if err := rows.Err(); err != nil {
		res.err = fmt.Errorf("audit: read events: %w", err)
		return res
	}
	if next <= rg.to {
		problem(next, "missing: the trail jumps from event %d to event %d (deleted)", next-1, rg.to+1)
	}
	res.lastHash = append([]byte(nil), prevBuf...)
	return res
}
