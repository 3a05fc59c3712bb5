package audit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"strconv"
	"syscall"
	"time"

	"vigie/internal/db"
)

// The access journal makes a read durable without a database commit per read: Append copies the
// read's events into a local append-only file mapped in memory (no system call) before the reader
// is answered, and a folder moves the journalled events into the database's access chain in large
// batches. A crash loses nothing that was answered: at start the journal is folded first.
// The journal survives a killed process (a shared mapping's pages belong to the kernel's page
// cache as soon as they are written); like SQLite in WAL mode with synchronous=NORMAL, it does not
// claim to survive a power cut.
//
// Files: PATH is the current journal; PATH.folding holds the batch being folded. Each starts
// with its generation; the generation last folded is kept in the database (settings), in the
// fold's own transaction, so a batch is folded once even if the process dies mid-way. The file
// is longer than what it holds, its tail zeros: a zero length ends its records.
type journal struct {
	path string
	file *os.File
	gen  int64
	data []byte // the file, mapped: its first size bytes are written
	size int
	// reserve gives the file the disk blocks of bytes [from, to): a page of a shared mapping that
	// had none, written when the disk is full, would kill the process (SIGBUS) where a write
	// returns an error.
	reserve func(f *os.File, from, to int64) error
}

const journalSetting = "audit_journal_folded"

// journalInitialSize is the mapping a new journal starts with; it doubles when full. A fold every
// two seconds of a few thousand reads a second fills about a megabyte.
const journalInitialSize = 1 << 20

// lockJournal takes PATH.lock for the life of the process: one process per journal, and the
// journal of a process is only recovered once that process is gone.
func lockJournal(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open journal lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: journal %s is in use by another Vigie process (give each server its own VIGIE_AUDIT_JOURNAL): %w", path, err)
	}
	return f, nil
}

// openJournal starts a generation of the journal, of size bytes; the caller holds the journal's
// lock.
func openJournal(path string, gen int64, size int, reserve func(*os.File, int64, int64) error) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open journal: %w", err)
	}
	j := &journal{path: path, file: f, gen: gen, size: 8, reserve: reserve}
	if err := j.mapTo(max(size, journalInitialSize)); err != nil {
		f.Close()
		return nil, err
	}
	binary.BigEndian.PutUint64(j.data, uint64(gen))
	return j, nil
}

// reserveBlocks allocates a file's blocks, writing zeros where the file system cannot allocate.
func reserveBlocks(f *os.File, from, to int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, from, to-from)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		err = nil
		zeros := make([]byte, 64<<10)
		for off := from; off < to && err == nil; off += int64(len(zeros)) {
			_, err = f.WriteAt(zeros[:min(int64(len(zeros)), to-off)], off)
		}
	}
	return err
}

// mapTo grows the file to size bytes and maps it again.
func (j *journal) mapTo(size int) error {
	if err := j.reserve(j.file, int64(len(j.data)), int64(size)); err != nil {
		return fmt.Errorf("audit: grow journal: %w", err)
	}
	data, err := syscall.Mmap(int(j.file.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("audit: map journal: %w", err)
	}
	if j.data != nil {
		syscall.Munmap(j.data)
	}
	j.data = data
	return nil
}

// write appends encoded records. Their first length is written last: a process killed in the
// middle of the copy leaves a zero there, and the journal ends before them.
func (j *journal) write(b []byte) error {
	if len(b) < 4 {
		return nil
	}
	if j.size+len(b) > len(j.data) {
		if err := j.mapTo(max(2*len(j.data), j.size+len(b))); err != nil {
			return err
		}
	}
	copy(j.data[j.size+4:], b[4:])
	copy(j.data[j.size:j.size+4], b[:4])
	j.size += len(b)
	return nil
}

// rotate moves the current file aside for folding and starts the next generation, as large.
func (j *journal) rotate() error {
	if err := os.Rename(j.path, j.path+".folding"); err != nil {
		return fmt.Errorf("audit: rotate journal: %w", err)
	}
	next, err := openJournal(j.path, j.gen+1, len(j.data), j.reserve)
	if err != nil {
		return err
	}
	j.unmap()
	*j = *next
	return nil
}

func (j *journal) unmap() {
	syscall.Munmap(j.data)
	j.data = nil
	j.file.Close()
}

func (j *journal) close() {
	j.unmap()
	os.Remove(j.path)
}

// appendJournalRecord encodes an access event for the journal: a length, then the fields.
func appendJournalRecord(b []byte, e *Event) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = encode(b, "", 0, e.At.UnixMicro(), e.UserID, e.Department, e.Action, e.Table, e.RowID, e.Subject, e.Fields, e.Purpose, e.Detail)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// readJournal reads a journal file: its generation and its events.
func readJournal(path string) (int64, []Event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(data) < 8 {
		return 0, nil, nil
	}
	events, err := decodeJournal(data[8:])
	if err != nil {
		return 0, nil, fmt.Errorf("audit: journal %s: %w", path, err)
	}
	return int64(binary.BigEndian.Uint64(data)), events, nil
}

// decodeJournal decodes journal records. A record cut short by a crash during a write was never
// acknowledged: it is dropped. The events' subjects point into data; their texts, few and
// repeated (departments, actions, tables, field lists), are allocated once per call.
func decodeJournal(data []byte) ([]Event, error) {
	n := 0
	for range journalRecords(data) {
		n++
	}
	events := make([]Event, 0, n)
	texts := map[string]string{}
	for rec := range journalRecords(data) {
		e, err := decodeJournalRecord(rec, texts)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

// journalRecords yields the records of journal data, without their length; a zero length (the
// file's unwritten tail) or a record cut short ends it.
func journalRecords(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(data) >= 4 {
			n := binary.BigEndian.Uint32(data)
			if n == 0 || uint64(len(data)-4) < uint64(n) || !yield(data[4:4+n]) {
				return
			}
			data = data[4+n:]
		}
	}
}

// decodeJournalRecord reverses encode for the fields a journal record carries; texts interns the
// text fields.
func decodeJournalRecord(b []byte, texts map[string]string) (Event, error) {
	var e Event
	raw := func() []byte {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			b = nil
			return nil
		}
		v := b[k : k+int(n) : k+int(n)]
		b = b[k+int(n):]
		return v
	}
	field := func() string {
		v := raw()
		if s, ok := texts[string(v)]; ok {
			return s
		}
		s := string(v)
		texts[s] = s
		return s
	}
	u64 := func() int64 {
		if len(b) < 8 {
			b = nil
			return 0
		}
		v := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		return v
	}
	field() // chain, empty in the journal
	u64()   // seq, given at folding
	e.At = time.UnixMicro(u64()).UTC()
	e.UserID = u64()
	e.Department, e.Action, e.Table = field(), field(), field()
	e.RowID = u64()
	e.Subject = raw()
	e.Fields, e.Purpose, e.Detail = field(), field(), field()
	if b == nil {
		return Event{}, errors.New("truncated record")
	}
	return e, nil
}

// recoverJournal folds what a previous process journalled and did not fold, then returns the
// generation the next journal starts at.
func (t *Trail) recoverJournal(ctx context.Context, path string) (int64, error) {
	folded, err := t.foldedGeneration(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range []string{path + ".folding", path} {
		gen, events, err := readJournal(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if gen > folded {
			if err := t.foldEvents(ctx, gen, events); err != nil {
				return 0, err
			}
			folded = gen
		}
		if err := os.Remove(p); err != nil {
			return 0, fmt.Errorf("audit: remove folded journal: %w", err)
		}
	}
	return folded + 1, nil
}

func (t *Trail) foldedGeneration(ctx context.Context) (int64, error) {
	var v string
	err := t.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, journalSetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: read journal state: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// foldEvents appends a generation's events to the access chain and records the generation as
// folded, in one transaction.
func (t *Trail) foldEvents(ctx context.Context, gen int64, events []Event) error {
	return t.foldTx(ctx, func(tx *sql.Tx) error {
		if err := t.appendTx(ctx, tx, ChainAccess, events); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			journalSetting, strconv.FormatInt(gen, 10), t.now().UTC())
		return err
	})
}

// foldCacheKiB is the page cache of the SQLite connection that folds: 64 MiB, against SQLite's
// default of 2 MiB.
const foldCacheKiB = 64 << 10

// foldTx runs a fold's transaction. On SQLite it runs on a connection kept for folding, whose
// page cache keeps the pages folds write from one fold to the next (the reads counted by day are
// written at random): with the default cache, a fold read most of them back from the file and
// spilled them to the WAL before its commit. Another connection's commit empties that cache, so
// this helps most where reads outnumber writes. PostgreSQL caches pages in the server.
func (t *Trail) foldTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if t.db.Dialect != db.SQLite {
		return t.db.InTx(ctx, fn)
	}
	if t.foldConn == nil {
		c, err := t.db.Conn(ctx)
		if err == nil {
			if _, err = c.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", foldCacheKiB)); err != nil {
				c.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("audit: fold connection: %w", err)
		}
		t.foldConn = c
	}
	err := db.InTx(ctx, t.foldConn, fn)
	if err != nil {
		t.dropFoldConn() // after a failure, the next fold starts on a fresh connection
	}
	return err
}

// dropFoldConn closes the fold connection rather than give it back to the pool with its cache.
func (t *Trail) dropFoldConn() {
	if t.foldConn == nil {
		return
	}
	t.foldConn.Raw(func(any) error { return driver.ErrBadConn }) // database/sql closes a bad connection
	t.foldConn.Close()
	t.foldConn = nil
}

// Flush folds every journalled event into the database now. Readers of the trail (the DPO's
// pages, a purge, a checkpoint) call it first, so they see every acknowledged read.
func (t *Trail) Flush(ctx context.Context) error {
	if t.journal == nil {
		return nil
	}
	t.foldMu.Lock()
	defer t.foldMu.Unlock()
	if t.retry == nil {
		t.jmu.Lock()
		if t.unfolded == 0 {
			t.jmu.Unlock()
			return nil
		}
		batch, gen := t.journalled, t.journal.gen
		err := t.journal.rotate()
		if err == nil {
			t.retry, t.retryGen = batch, gen
			t.journalled, t.unfolded = make([]byte, 0, len(batch)), 0 // room for as many reads as the last fold had
		}
		t.jmu.Unlock()
		if err != nil {
			return err
		}
	}
	// A batch that fails to fold stays in PATH.folding and in retry, and is folded before any
	// other: the folding file is never overwritten.
	events, err := decodeJournal(t.retry)
	if err != nil {
		return fmt.Errorf("audit: journal: %w", err)
	}
	if err := t.foldEvents(ctx, t.retryGen, events); err != nil {
		return err
	}
	t.retry = nil
	return os.Remove(t.journal.path + ".folding")
}

// folder folds the journal every FoldEvery.
func (t *Trail) folder() {
	defer t.wg.Done()
	tick := time.NewTicker(FoldEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			t.Flush(context.Background()) // a failure is retried at the next tick, and at Close
		}
	}
}

// FoldEvery is how often a server folds its journal. It is long because a fold costs by the page
// more than by the event: the reads counted by day (days.go) are keyed by pseudonym, so a fold's
// counts land at random places, and each page a fold touches is written (to the WAL, then to the
// file) once however many events land on it; and each commit makes every other connection drop
// its page cache. The price: a fold holds the write lock while it inserts, and writers wait.
const FoldEvery = 2 * time.Second
