package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"vigie/internal/db"
	"vigie/internal/keys"
)

// Trail appends events. Writes append inside the transaction of the action they record, so there
// is no action without its event and no event without its action. Reads are written to a local
// journal before the reader is answered — an acknowledged read is never missing — and folded
// into the database's access chain in batches (journal.go).
type Trail struct {
	db        *db.DB
	now       func() time.Time
	pseudonym func(personID int64) []byte
	signer    ed25519.PrivateKey

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	journal    *journal   // nil: reads are committed to the database one call at a time
	lock       *os.File   // the journal's lock, held while the trail is open
	jmu        sync.Mutex // journal, journalled and unfolded
	journalled []byte     // written to the journal, not yet folded: the file's records, free of pointers for the GC
	unfolded   int        // how many events journalled holds
	foldMu     sync.Mutex // one fold at a time
	retry      []byte     // the records of the batch being folded, or whose fold failed: folded first
	retryGen   int64
	foldConn   *sql.Conn // SQLite: the connection folds run on (foldTx)
}

// New opens the trail. pseudonym turns a person id into the keyed pseudonym stored in events;
// signer signs checkpoints and must be kept outside the database. journalPath, for a server, is
// the local file of reads not yet folded, of which one process is the only user (what a previous
// process left there is folded first); without one — a command run once — each read is committed
// to the database when it happens.
func New(ctx context.Context, d *db.DB, now func() time.Time, pseudonym func(int64) []byte, signer ed25519.PrivateKey, journalPath string) (*Trail, error) {
	t := &Trail{db: d, now: now, pseudonym: pseudonym, signer: signer, done: make(chan struct{})}
	if journalPath == "" {
		return t, nil
	}
	lock, err := lockJournal(journalPath)
	if err != nil {
		return nil, err
	}
	gen, err := t.recoverJournal(ctx, journalPath)
	if err == nil {
		t.journal, err = openJournal(journalPath, gen, journalInitialSize, reserveBlocks)
	}
	if err != nil {
		t.dropFoldConn()
		lock.Close()
		return nil, err
	}
	t.lock = lock
	t.wg.Add(1)
	go t.folder()
	return t, nil
}

// Close stops the folder and folds what remains in the journal.
func (t *Trail) Close() {
	t.once.Do(func() {
		close(t.done)
		t.wg.Wait()
		if t.journal == nil {
			return
		}
		if t.Flush(context.Background()) == nil {
			t.journal.close()
		}
		t.dropFoldConn()
		t.lock.Close()
	})
}

// Subject is the pseudonym the trail stores for a person (empty for none).
func (t *Trail) Subject(personID int64) []byte {
	if personID == 0 {
		return nil
	}
	return t.pseudonym(personID)
}

// PublicKey is the key that verifies this trail's checkpoints.
func (t *Trail) PublicKey() ed25519.PublicKey { return t.signer.Public().(ed25519.PublicKey) }

// ErrClosed is returned for events offered after Close.
var ErrClosed = errors.New("audit: trail closed")

// Append copies read events into the journal — a local file mapped in memory — and returns once
// they are there; they reach the database's access chain at the next fold.
func (t *Trail) Append(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	select {
	case <-t.done:
		return ErrClosed
	default:
	}
	if t.journal == nil {
		return t.db.InTx(ctx, func(tx *sql.Tx) error { return t.appendTx(ctx, tx, ChainAccess, events) })
	}
	return t.journalWrite(events)
}

// journalWrite writes events to the journal and returns once they are in it: durable, and folded
// into the database later.
func (t *Trail) journalWrite(events []Event) error {
	now := t.now().UTC().Truncate(time.Microsecond)
	t.jmu.Lock()
	defer t.jmu.Unlock()
	start := len(t.journalled)
	for i := range events {
		if events[i].At.IsZero() {
			events[i].At = now
		}
		t.journalled = appendJournalRecord(t.journalled, &events[i])
	}
	if err := t.journal.write(t.journalled[start:]); err != nil {
		t.journalled = t.journalled[:start]
		return err
	}
	t.unfolded += len(events)
	return nil
}

// AppendTx writes events to the record chain inside the caller's transaction.
func (t *Trail) AppendTx(ctx context.Context, tx *sql.Tx, events ...Event) error {
	return t.appendTx(ctx, tx, ChainRecord, events)
}

// Record writes events to the record chain in a transaction of their own, for steps that are not
// part of a database write (a login, an export).
func (t *Trail) Record(ctx context.Context, events ...Event) error {
	return t.db.InTx(ctx, func(tx *sql.Tx) error { return t.appendTx(ctx, tx, ChainRecord, events) })
}

// appendTx locks the chain's head, numbers and hashes the events after it, writes them and moves
// the head, all in tx.
func (t *Trail) appendTx(ctx context.Context, tx *sql.Tx, chain string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	lock := ""
	if t.db.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var seq int64
	var prev []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`+lock, chain).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit: read head of %s: %w", chain, err)
	}
	now := t.now().UTC().Truncate(time.Microsecond)
	var buf []byte
	for i := range events {
		e := &events[i]
		seq++
		e.Chain, e.Seq = chain, seq
		if e.At.IsZero() {
			e.At = now
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
		if e.Subject == nil {
			e.Subject = []byte{}
		}
		e.Hash, buf = chainHash(prev, e, buf)
		prev = e.Hash
	}
	if err := t.insert(ctx, tx, events); err != nil {
		return fmt.Errorf("audit: append to %s: %w", chain, err)
	}
	if chain == ChainAccess {
		if err := t.countAccessDays(ctx, tx, events); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_heads SET seq = $1, hash = $2 WHERE chain = $3`, seq, prev, chain); err != nil {
		return fmt.Errorf("audit: move head of %s: %w", chain, err)
	}
	return nil
}

// insertChunk is how many events a statement writes.
const insertChunk = 500

// insert writes numbered and hashed events, insertChunk to a statement. On SQLite the statement
// says OR ROLLBACK: a failing row then ends the whole transaction (which every caller rolls back
// on an error anyway), so SQLite keeps no statement journal of the pages the statement changes —
// a journal that a fold of thousands of events spilled to a temporary file, page after page.
func (t *Trail) insert(ctx context.Context, tx *sql.Tx, events []Event) error {
	return execChunks(ctx, tx, len(events), insertChunk, t.insertSQL, func(args []any, i int) []any {
		e := &events[i]
		return append(args, e.Chain, e.Seq, e.At.UnixMicro(), e.UserID, e.Department, e.Action, e.Table, e.RowID,
			e.Subject, e.Fields, e.Purpose, e.Detail, e.Hash)
	})
}

// execChunks runs a multi-row statement over n rows, chunk rows at a time: the statement of a
// whole chunk is compiled once per call, that of the last, shorter chunk once. add appends the
// arguments of row i.
func execChunks(ctx context.Context, tx *sql.Tx, n, chunk int, statement func(rows int) string, add func(args []any, i int) []any) error {
	var full *sql.Stmt
	var args []any
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		args = args[:0]
		for i := start; i < end; i++ {
			args = add(args, i)
		}
		if end-start < chunk {
			if _, err := tx.ExecContext(ctx, statement(end-start), args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, statement(chunk)); err != nil {
				return err
			}
			defer full.Close()
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// insertSQL is the statement that inserts n events.
func (t *Trail) insertSQL(n int) string {
	verb := "INSERT"
	if t.db.Dialect == db.SQLite {
		verb = "INSERT OR ROLLBACK"
	}
	return verb + " INTO audit_events (chain, seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash) VALUES " +
		t.db.Values(n, 13)
}

// LoadOrCreateSigningKey reads the Ed25519 key that signs checkpoints, or creates it (mode 0600).
// It must live apart from the database: whoever can rewrite the database must not be able to
// re-sign a rewritten chain.
func LoadOrCreateSigningKey(path string) (ed25519.PrivateKey, bool, error) {
	seed, created, err := keys.LoadOrCreateKeyFile(path, ed25519.SeedSize, "audit signing key")
	if err != nil {
		return nil, false, err
	}
	return ed25519.NewKeyFromSeed(seed), created, nil
}

// checkpointMessage is what a checkpoint signs.
func checkpointMessage(chain string, seq int64, hash []byte, atUS int64) []byte {
	var b bytes.Buffer
	b.WriteString("vigie audit checkpoint v1\x00")
	b.WriteString(chain)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteByte(0)
	b.Write(hash)
	b.WriteString(strconv.FormatInt(atUS, 10))
	return b.Bytes()
}
