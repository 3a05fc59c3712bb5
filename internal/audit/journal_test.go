package audit

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync"
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
	first.journal.file.Close()
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

// TestR16_AReadTheJournalCannotTakeIsRefused: reads made together share one write to the journal;
// when that write fails, every one of them is refused — the reader gets an error, not the data —
// and none is counted or folded; once the journal takes writes again, reads are recorded.
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

	writable := tr.journal.file
	readOnly, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tr.wmu.Lock()
	tr.journal.file = readOnly
	tr.wmu.Unlock()
	if refused := readMany(16); refused != 16 {
		t.Errorf("%d of 16 reads refused while the journal takes no write", refused)
	}
	tr.wmu.Lock()
	tr.journal.file = writable
	tr.wmu.Unlock()
	readOnly.Close()
	if refused := readMany(16); refused != 0 {
		t.Errorf("%d of 16 reads refused once the journal takes writes again", refused)
	}

	got, err := tr.WhoAccessed(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 16 {
		t.Errorf("before the fold, who accessed = %+v, want the 16 reads answered", got)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM audit_events WHERE chain = 'access'`).Scan(&n); err != nil || n != 16 {
		t.Errorf("%d read events folded (%v), want 16", n, err)
	}
}
