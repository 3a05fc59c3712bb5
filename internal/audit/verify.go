package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
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
	open, err := eventSources(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, chain := range Chains {
		cr, err := verifyChain(ctx, d, open, pub, chain, external, r)
		if err != nil {
			return nil, err
		}
		r.Chains = append(r.Chains, cr)
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func verifyChain(ctx context.Context, d *db.DB, open func() (eventSource, error), pub ed25519.PublicKey, chain string,
	external *CheckpointFile, r *Report) (ChainReport, error) {
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
	// The head and the chain's bounds are read in one statement, so in one snapshot: the trail
	// grows while it is verified, and a head read before a write that the bounds see after it
	// would look like a truncated chain. Events are only added past those bounds afterwards (a purge
	// that runs during a verification, R17, can still remove its first ones).
	// Two subqueries: SQLite reads a lone min() or max() from the index, but scans the whole
	// chain for both in one query.
	var headSeq int64
	var headHash []byte
	var first, lastStored sql.NullInt64
	if err := d.QueryRowContext(ctx, `SELECT seq, hash, (SELECT min(seq) FROM audit_events WHERE chain = $1),
		(SELECT max(seq) FROM audit_events WHERE chain = $1) FROM audit_heads WHERE chain = $1`, chain).Scan(&headSeq, &headHash, &first, &lastStored); err != nil {
		return cr, fmt.Errorf("audit: read head and bounds of %s: %w", chain, err)
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
				results[i] = verifyRange(ctx, d, open, chain, rg, i == 0, anchor, signed, fileHashes)
			}()
		}
		wg.Wait()
		// A gap can span ranges: it is reported once, from its first missing event to the event
		// that ends it, whichever ranges it crosses.
		var gapFrom int64 // first missing event of a gap still open at the end of the ranges before
		for i, res := range results {
			if res.err != nil {
				return cr, res.err
			}
			cr.Events += res.events
			if res.events == 0 {
				gapFrom = cmp.Or(gapFrom, ranges[i].from)
				continue
			}
			if res.first != ranges[i].from {
				gapFrom = cmp.Or(gapFrom, ranges[i].from)
			}
			if gapFrom != 0 {
				problem(gapFrom, "missing: the trail jumps from event %d to event %d (deleted)", gapFrom-1, res.first)
			}
			r.Problems = append(r.Problems, res.problems...)
			gapFrom = res.openGap
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
	first    int64 // the range's first event found
	openGap  int64 // the first missing event of a gap that runs to the range's end, 0 for none
	lastHash []byte
	problems []Problem
	err      error
}

// storedEvent is an event as Verify reads it; its byte slices are valid only during the call
// that receives it.
type storedEvent struct {
	seq, atUS, userID, rowID                                          int64
	department, action, table, subject, fields, purpose, detail, hash []byte
	badNumber                                                         bool // a number column holds another type
}

// eventSource reads the events of a chain from seq from to seq to, in order.
type eventSource interface {
	scan(ctx context.Context, chain string, from, to int64, fn func(*storedEvent)) error
	close()
}

// eventSources returns how each range opens its reader: on SQLite, a connection of its own
// through the C API (sqlitescan.go); on PostgreSQL, database/sql.
func eventSources(ctx context.Context, d *db.DB) (func() (eventSource, error), error) {
	if d.Dialect != db.SQLite {
		return func() (eventSource, error) { return sqlSource{d}, nil }, nil
	}
	var path string
	if err := d.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		return nil, fmt.Errorf("audit: locate the database file: %w", err)
	}
	return func() (eventSource, error) { return openSQLiteReader(path) }, nil
}

type sqlSource struct{ d *db.DB }

func (s sqlSource) close() {}

func (s sqlSource) scan(ctx context.Context, chain string, from, to int64, fn func(*storedEvent)) error {
	rows, err := s.d.QueryContext(ctx, `SELECT seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash
		FROM audit_events WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`, chain, from, to)
	if err != nil {
		return fmt.Errorf("audit: read events: %w", err)
	}
	defer rows.Close()
	var (
		e                                                           storedEvent
		department, action, table, subject, fields, purpose, detail sql.RawBytes
		hash                                                        sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&e.seq, &e.atUS, &e.userID, &department, &action, &table, &e.rowID, &subject, &fields, &purpose, &detail, &hash); err != nil {
			return fmt.Errorf("audit: read events: %w", err)
		}
		e.department, e.action, e.table, e.subject, e.fields, e.purpose, e.detail, e.hash = department, action, table, subject, fields, purpose, detail, hash
		fn(&e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read events: %w", err)
	}
	return nil
}

// verifyRange checks the events of one range: each must be where the sequence says, and must
// hash, after the stored hash of the event before it, to its own stored hash. The first range
// starts from the chain's anchor (nil when there is none); the others from the stored hash of
// the event before them.
func verifyRange(ctx context.Context, d *db.DB, open func() (eventSource, error), chain string, rg seqRange, isFirst bool, anchor []byte,
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
	src, err := open()
	if err != nil {
		res.err = err
		return res
	}
	defer src.close()
	var (
		buf     []byte
		sum     [sha256.Size]byte
		h       = sha256.New()
		prevBuf = make([]byte, 0, sha256.Size)
	)
	prevBuf = append(prevBuf, prev...)
	havePrev := prev != nil
	next := rg.from
	res.err = src.scan(ctx, chain, rg.from, rg.to, func(e *storedEvent) {
		res.events++
		if res.events == 1 {
			res.first = e.seq // a gap before it is reported by Verify, which sees where it began
		}
		switch {
		case e.seq != next && res.events == 1:
		case e.seq != next:
			problem(next, "missing: the trail jumps from event %d to event %d (deleted)", next-1, e.seq)
		case e.badNumber:
			problem(e.seq, "holds a number stored as another type (modified)")
		case havePrev:
			buf = encode(buf[:0], chain, e.seq, e.atUS, e.userID, e.department, e.action, e.table, e.rowID, e.subject, e.fields, e.purpose, e.detail)
			h.Reset()
			h.Write(prevBuf)
			h.Write(buf)
			if !bytes.Equal(h.Sum(sum[:0]), e.hash) {
				problem(e.seq, "does not match its hash (modified, inserted or reordered)")
			}
		}
		if want, ok := signed[e.seq]; ok && !bytes.Equal(want, e.hash) {
			problem(e.seq, "differs from the signed checkpoint (chain rewritten)")
		}
		if want, ok := fileHashes[e.seq]; ok && !bytes.Equal(want, e.hash) {
			problem(e.seq, "differs from the exported checkpoint file (chain rewritten)")
		}
		prevBuf, havePrev = append(prevBuf[:0], e.hash...), true
		next = e.seq + 1
	})
	if res.err != nil {
		return res
	}
	if next <= rg.to {
		res.openGap = next
	}
	res.lastHash = append([]byte(nil), prevBuf...)
	return res
}
