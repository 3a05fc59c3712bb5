package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"vigie/internal/db"
)

// migratedSQLite is an empty, migrated SQLite database in a directory of the test's own, where
// the journal goes too.
func migratedSQLite(t *testing.T) (*db.DB, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, dir
}

// TestR16_JournalIsFoldedExactlyOnce: reads journalled by a process that died before folding them
// are folded at the next start, and a journal already folded (a crash between the fold's commit
// and the removal of its file) is not folded twice.
func TestR16_JournalIsFoldedExactlyOnce(t *testing.T) {
	ctx := context.Background()
	d, dir := migratedSQLite(t)
	signer := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pseudonym := func(id int64) []byte { return []byte{byte(id)} }
	path := filepath.Join(dir, "journal")
	open := func() *Trail {
		tr, err := New(ctx, d, time.Now, pseudonym, signer, path)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	count := func() (n int) {
		d.QueryRow(`SELECT count(*) FROM audit_events WHERE chain = 'access'`).Scan(&n)
		return n
	}

	// A process journals three reads and dies: its folder stopped, its file left as it was.
	first := open()
	close(first.done)
	first.wg.Wait()
	if err := first.journalWrite([]Event{{Department: "devis", Action: ActionRead, Table: "persons", RowID: 1, Subject: []byte{1}},
		{Department: "devis", Action: ActionRead, Table: "persons", RowID: 2}, {Department: "support", Action: ActionRead, Table: "tickets", RowID: 3}}); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first.journal.unmap()
	first.lock.Close()
	if count() != 0 {
		t.Fatal("events reached the database before any fold")
	}

	second := open()
	if got := count(); got != 3 {
		t.Fatalf("after restart: %d access events, want 3", got)
	}
	second.Close()

	// The same generation found again as a folding file: already folded, so skipped.
	if err := os.WriteFile(path+".folding", left, 0o600); err != nil {
		t.Fatal(err)
	}
	third := open()
	defer third.Close()
	if got := count(); got != 3 {
		t.Errorf("a folded journal was folded again: %d events", got)
	}
	if _, err := os.Stat(path + ".folding"); !os.IsNotExist(err) {
		t.Error("the folded journal was not removed")
	}
	r, err := Verify(ctx, d, signer.Public().(ed25519.PublicKey), nil)
	if err != nil || !r.OK() {
		t.Errorf("verify: %v %v", err, r.Problems)
	}
}

// TestR16_WhoAccessedCountsJournalledReadsOnce: reads still in the journal are in "who accessed
// my data" at once, and count once — before the fold and after it.
func TestR16_WhoAccessedCountsJournalledReadsOnce(t *testing.T) {
	ctx := context.Background()
	d, dir := migratedSQLite(t)
	pseudonym := func(id int64) []byte { return []byte{byte(id)} }
	tr, err := New(ctx, d, time.Now, pseudonym, ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Append(ctx, Event{Department: "devis", Action: ActionRead, Table: "persons", RowID: 7, Subject: pseudonym(7)},
		Event{Department: "support", Action: ActionRead, Table: "persons", RowID: 8, Subject: pseudonym(8)}); err != nil {
		t.Fatal(err)
	}
	reads := func(when string) {
		t.Helper()
		got, err := tr.WhoAccessed(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Department != "devis" || got[0].Count != 1 {
			t.Errorf("%s: who accessed person 7 = %+v, want devis once", when, got)
		}
	}
	reads("journalled, not folded")
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reads("folded")
}

// TestR16_AReadTheJournalCannotTakeIsRefused: when the journal is full and cannot grow (a full
// disk), every read is refused — the reader gets an error, not the data — and none is counted or
// folded; once the journal can grow again, reads are recorded.
func TestR16_AReadTheJournalCannotTakeIsRefused(t *testing.T) {
	ctx := context.Background()
	d, dir := migratedSQLite(t)
	pseudonym := func(id int64) []byte { return []byte{byte(id)} }
	path := filepath.Join(dir, "journal")
	tr, err := New(ctx, d, time.Now, pseudonym, ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	read := func(id int64) error {
		return tr.Append(ctx, Event{Department: "support", Action: ActionRead, Table: "persons", RowID: id, Subject: pseudonym(id)})
	}
	readMany := func(n int) (refused int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range n {
			wg.Go(func() {
				if read(7) != nil {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return refused
	}

	tr.jmu.Lock()
	grow := tr.journal.reserve
	tr.journal.reserve = func(*os.File, int64, int64) error { return syscall.ENOSPC }
	tr.jmu.Unlock()
	accepted := 0
	for accepted < journalInitialSize && read(7) == nil { // a full journal refuses before that
		accepted++
	}
	if refused := readMany(16); refused != 16 {
		t.Errorf("%d of 16 reads refused while the journal cannot grow", refused)
	}
	tr.jmu.Lock()
	tr.journal.reserve = grow
	tr.jmu.Unlock()
	if refused := readMany(16); refused != 0 {
		t.Errorf("%d of 16 reads refused once the journal can grow again", refused)
	}
	// What a restart would fold: the file, grown, holds every read answered.
	if _, events, err := readJournal(path); err != nil || len(events) != accepted+16 {
		t.Errorf("the journal file holds %d reads (%v), want %d", len(events), err, accepted+16)
	}

	got, err := tr.WhoAccessed(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := accepted + 16; len(got) != 1 || got[0].Count != want {
		t.Errorf("before the fold, who accessed = %+v, want the %d reads answered", got, want)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM audit_events WHERE chain = 'access'`).Scan(&n); err != nil || n != accepted+16 {
		t.Errorf("%d read events folded (%v), want %d", n, err, accepted+16)
	}
}

// TestR16_AJournalEndsAtItsLastWholeRecord: the journal file is longer than what it holds; what a
// process killed in the middle of a write leaves — the records copied but their length not yet
// written, or a file cut inside a record — was never acknowledged, and reading the journal back
// stops before it, with every record acknowledged before.
func TestR16_AJournalEndsAtItsLastWholeRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j, err := openJournal(path, 3, journalInitialSize, reserveBlocks)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int
	for id := range int64(3) {
		offsets = append(offsets, j.size)
		if err := j.write(appendJournalRecord(nil, &Event{At: time.UnixMicro(1), Department: "devis", Action: ActionRead, Table: "persons", RowID: id + 1, Subject: []byte{byte(id + 1)}})); err != nil {
			t.Fatal(err)
		}
	}
	end := j.size
	j.unmap()
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != journalInitialSize {
		t.Fatalf("journal file of %d bytes, want %d reserved", len(whole), journalInitialSize)
	}
	for _, tc := range []struct {
		name string
		file func() []byte
		want []int64 // row ids read back
	}{
		{"every write done, the tail zeros", func() []byte { return whole }, []int64{1, 2, 3}},
		{"killed after copying the last record, before its length", func() []byte {
			b := bytes.Clone(whole)
			copy(b[offsets[2]:], []byte{0, 0, 0, 0})
			return b
		}, []int64{1, 2}},
		{"file cut inside the last record", func() []byte { return whole[:end-3] }, []int64{1, 2}},
		{"file cut inside the first length", func() []byte { return whole[:offsets[0]+2] }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.file(), 0o600); err != nil {
				t.Fatal(err)
			}
			gen, events, err := readJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range events {
				got = append(got, e.RowID)
			}
			if gen != 3 || !slices.Equal(got, tc.want) {
				t.Errorf("generation %d, rows %v; want generation 3, rows %v", gen, got, tc.want)
			}
		})
	}
}
