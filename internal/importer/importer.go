// Package importer brings a legacy CRM extract (CSV) into Vigie (rule R07): columns mapped to the
// dictionary, sensitive, unknown and unneeded columns dropped, every cell validated and scanned,
// expired records and suppressed persons left out, and a report of what was kept, dropped and why.
//
// The file streams through: a reader parses records, workers validate, scan and encrypt them, one
// writer hands them to the store's bulk loader in file order. Memory holds a few batches of rows
// whatever the size of the file. The import is all or nothing (record.Loader.AllOrNothing): a
// broken row is reported and skipped, but a broken file or an interruption leaves nothing
// written, so that an import can always be run again; a file's encoding is checked to its end
// before the first row is written.
package importer

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// Suppressions tells whether a person objected to prospection or was erased (R28): such a person
// is not imported again. Email and phone are canonical, as the dictionary decodes them; either may
// be empty. It is called from several workers at once, so it must be safe for concurrent use.
type Suppressions interface {
	Suppressed(ctx context.Context, email, phone string) (bool, error)
}

// IndexedSuppressions is a Suppressions that also answers from the blind-index entries of the
// e-mail and the phone (nil when absent; see record.Store.IndexHash), which the import computes
// anyway to find duplicates: consent.SuppressionList is one. The import then asks it that way.
type IndexedSuppressions interface {
	SuppressedIndex(email, phone []byte) bool
}

// Options are the choices of one import.
type Options struct {
	Mapping *Mapping
	// Now is the day retention periods are counted back from; zero means time.Now().
	Now time.Time
	// DryRun reads, checks and reports without writing anything.
	DryRun bool
	// Progress, when set, receives a line every few seconds: rows, share of the file, rows/s.
	Progress io.Writer
	// Size is the file's size in bytes, for the share in the progress line; 0 if unknown.
	Size int64
	// BeforeCommit runs inside the import's transaction just before it commits, with the final
	// report (the audit trail's record of the import).
	BeforeCommit func(ctx context.Context, tx *sql.Tx, r *Report) error
	// Workers validate, scan and encrypt rows; 0 means one per CPU.
	Workers int
}

// batchRows is how many rows travel together between the goroutines.
const batchRows = 256

// progressEvery is how often the progress line is printed.
const progressEvery = 2 * time.Second

// Import reads a legacy CSV extract from r and loads it through the store, as opt.Mapping says.
func Import(ctx context.Context, r io.Reader, store *record.Store, supp Suppressions, opt Options) (*Report, error) {
	began := time.Now()
	d := store.Dictionary()
	if opt.Mapping == nil {
		return nil, errors.New("importer: no mapping")
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	opt.Now = opt.Now.UTC()
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	rep := &Report{DryRun: opt.DryRun, Purpose: opt.Mapping.Purpose, Now: opt.Now.Format(dictionary.DateLayout),
		RejectedRows: []Rejection{}, DuplicateRows: []Duplicate{}, DroppedCells: []CellCount{}}
	w, err := newWorker(d, store, supp, opt, rep)
	if err != nil {
		return nil, err
	}
	// A file can be read twice: its encoding is checked to the end before anything is written.
	if rs, ok := r.(io.ReadSeeker); ok && !opt.DryRun {
		if err := checkUTF8(rs); err != nil {
			return nil, err
		}
	}
	in, err := openInput(r)
	if err != nil {
		return nil, err
	}
	rep.BOM = in.bom
	delim, err := opt.Mapping.delimiter()
	if err != nil {
		return nil, err
	}
	// The dictionary audit judges the columns before any row is imported: on the first rows for
	// what the values are, on the header alone for what the names say. It also detects the
	// delimiter, the same way as `vigie dictionary audit`.
	sampleAudit, err := d.Audit(bytes.NewReader(in.sample), dictionary.AuditOptions{Delimiter: delim, MaxRows: sampleRows, Now: opt.Now})
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	delim, _ = utf8.DecodeRuneInString(sampleAudit.Delimiter)
	rep.Delimiter = sampleAudit.Delimiter
	if err := in.start(delim); err != nil {
		return nil, err
	}
	headerAudit, err := d.Audit(bytes.NewReader(headerLine(in.header, delim)), dictionary.AuditOptions{Delimiter: delim, Now: opt.Now})
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	if len(sampleAudit.Columns) != len(in.header) || len(headerAudit.Columns) != len(in.header) {
		return nil, errors.New("importer: the audit did not read the header as the import did")
	}
	if w.plan, err = newPlan(d, opt.Mapping, in.header, headerAudit, sampleAudit, opt.Now); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	for _, c := range w.plan.columns {
		rep.Columns = append(rep.Columns, ColumnReport{Index: c.index + 1, Header: c.display, Field: c.ref, Kept: c.kept,
			Reason: c.reason, Rule: c.rule, Detail: c.detail})
	}

	// The persons already in Vigie, by the blind-index entries of their e-mails and phones: a row
	// that shares one is a duplicate. Read before the first row is written.
	if w.existing, err = readContacts(ctx, store); err != nil {
		return nil, err
	}

	var ld *record.Loader
	if !opt.DryRun {
		if ld, err = store.NewLoader(ctx); err != nil {
			return nil, err
		}
		ld.AllOrNothing()
	}
	if err := run(ctx, in, w, ld, rep, opt); err != nil {
		if ld != nil {
			if opt.Progress != nil {
				fmt.Fprintln(opt.Progress, "import : arrêt, suppression de ce qui a déjà été écrit…")
			}
			if rerr := ld.Rollback(); rerr != nil {
				return nil, fmt.Errorf("%w ; et les lignes déjà écrites n'ont pas pu être retirées : %w", err, rerr)
			}
		}
		return nil, fmt.Errorf("%w (rien n'a été importé)", err)
	}
	rep.sortCells()
	rep.Seconds = time.Since(began).Seconds()
	if ld != nil {
		var last []func(*sql.Tx) error
		if opt.BeforeCommit != nil {
			last = append(last, func(tx *sql.Tx) error { return opt.BeforeCommit(ctx, tx, rep) })
		}
		if err := ld.Commit(last...); err != nil {
			return nil, fmt.Errorf("importer: %w (rien n'a été importé)", err)
		}
	}
	return rep, nil
}

func newWorker(d *dictionary.Dictionary, store *record.Store, supp Suppressions, opt Options, rep *Report) (*worker, error) {
	w := &worker{store: store, supp: supp, purpose: opt.Mapping.Purpose, now: opt.Now, dryRun: opt.DryRun,
		layouts: slices.Concat(opt.Mapping.DateFormats, []string{dictionary.DateLayout, time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04"})}
	for _, rule := range []struct{ id, code string }{{"R33", "prospect"}, {"R34", "quote_no_contract"}} {
		ret, ok := d.RetentionRule(rule.code)
		if !ok || ret.Months <= 0 {
			return nil, fmt.Errorf("importer: the dictionary's retention rule %q has no duration in months", rule.code)
		}
		cut := opt.Now.AddDate(0, -ret.Months, 0)
		if rule.id == "R33" {
			w.prospectCut = cut
		} else {
			w.quoteCut = cut
		}
		rep.Retention = append(rep.Retention, RetentionCut{Rule: rule.id, Code: ret.Code, Months: ret.Months,
			Before: cut.Format(dictionary.DateLayout), Then: ret.Then})
	}
	return w, nil
}

// batch is a run of consecutive rows: the reader fills items, a worker outcomes, and the writer
// takes batches in file order, waiting on done.
type batch struct {
	items []item
	out   []outcome
	done  chan struct{}
}

// item is one record as read: its line, and its fields, or why it could not be read.
type item struct {
	line    int64
	rec     []string
	problem *Rejection
}

// run streams the rows through the reader, the workers and the writer (this goroutine).
func run(ctx context.Context, in *input, w *worker, ld *record.Loader, rep *Report, opt Options) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	depth := 2*opt.Workers + 2
	free := make(chan *batch, depth)
	for range depth {
		free <- &batch{items: make([]item, 0, batchRows), out: make([]outcome, batchRows)}
	}
	work, ordered := make(chan *batch, depth), make(chan *batch, depth)
	var wg sync.WaitGroup
	defer wg.Wait() // no goroutine outlives the import
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(ordered)
		if err := read(ctx, in, free, work, ordered); err != nil {
			cancel(err)
		}
	}()
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := w.newRowValues()
			for b := range work {
				if err := w.batch(ctx, b, vals); err != nil {
					cancel(err)
				}
				close(b.done)
			}
		}()
	}

	cells := map[cellKey]int64{}
	seen := contactLines{}
	p := newProgress(opt.Progress, in.read, opt.Size)
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		for i := range b.items {
			if err := write(&b.out[i], ld, rep, cells, seen); err != nil {
				cancel(err)
				return err
			}
		}
		p.rows(rep.Rows)
		free <- b
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	p.end(rep.Rows)
	for k, n := range cells {
		col := w.plan.columns[k.col]
		rep.DroppedCells = append(rep.DroppedCells, CellCount{Header: col.display, Field: col.ref, Kind: k.kind, Rule: k.rule, Count: n})
	}
	return nil
}

// read parses records into batches and hands each to the workers and, in order, to the writer.
func read(ctx context.Context, in *input, free, work, ordered chan *batch) error {
	var b *batch
	send := func() error {
		for _, ch := range []chan *batch{work, ordered} {
			select {
			case ch <- b:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		b = nil
		return nil
	}
	lastLine := int64(1)
	for {
		if b == nil {
			select {
			case b = <-free:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			b.items, b.done = b.items[:0], make(chan struct{})
		}
		rec, err := in.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var it item
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			it = item{line: int64(pe.StartLine), problem: quoteProblem(pe)}
			lastLine = int64(pe.Line)
		case errors.Is(err, ErrTooLarge):
			return fmt.Errorf("après la ligne %d : %w", lastLine, ErrTooLarge)
		case err != nil:
			return fmt.Errorf("importer: after line %d: %w", lastLine, err)
		default:
			line, _ := in.csv.FieldPos(0)
			lastLine = int64(line)
			for i, cell := range rec {
				if !utf8.ValidString(cell) {
					l, _ := in.csv.FieldPos(i)
					return fmt.Errorf("ligne %d : %w", l, ErrNotUTF8)
				}
			}
			it = item{line: int64(line), rec: rec}
		}
		b.items = append(b.items, it)
		if len(b.items) == batchRows {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if b != nil && len(b.items) > 0 {
		return send()
	}
	return nil
}

// quoteProblem describes a record the CSV reader could not parse. A quote left open swallows the
// lines that follow it: the reason says which.
func quoteProblem(pe *csv.ParseError) *Rejection {
	reason := "guillemets mal placés"
	if pe.Line > pe.StartLine {
		reason = fmt.Sprintf("guillemet non refermé : lignes %d à %d illisibles", pe.StartLine, pe.Line)
	}
	return &Rejection{Line: int64(pe.StartLine), Rule: "csv.quote", Reason: reason}
}

// batch processes every row of b.
func (w *worker) batch(ctx context.Context, b *batch, vals rowValues) error {
	for i := range b.items {
		it := &b.items[i]
		if it.problem != nil {
			b.out[i] = outcome{line: it.line, verdict: rejected, problem: *it.problem, drops: b.out[i].drops[:0]}
			continue
		}
		if err := w.process(ctx, it.line, it.rec, &b.out[i], vals); err != nil {
			return err
		}
		it.rec = nil
	}
	return nil
}

type cellKey struct {
	col        int
	kind, rule string
}

// write counts an outcome and hands its records to the loader (nil in a dry run). seen holds the
// e-mails and phones of the rows imported so far, to recognise a row that repeats one.
func write(o *outcome, ld *record.Loader, rep *Report, cells map[cellKey]int64, seen contactLines) error {
	rep.Rows++
	switch o.verdict {
	case rejected:
		rep.reject(o.problem)
		return nil
	case expired:
		rep.Expired++
		return nil
	case suppressed:
		rep.Suppressed++
		return nil
	case duplicate:
		rep.duplicate(Duplicate{Line: o.line, Field: o.dupField})
		return nil
	}
	if first, field, ok := seen.find(o.email, o.phone); ok {
		rep.duplicate(Duplicate{Line: o.line, Field: field, FirstLine: first})
		o.person, o.quote, o.note, o.sk = nil, nil, nil, nil
		return nil
	}
	seen.add(o.email, o.phone, o.line)
	for _, d := range o.drops {
		cells[cellKey{d.col, d.kind, d.rule}]++
	}
	rep.Persons++
	if o.quoteExpired {
		rep.ExpiredQuotes++
	}
	if o.hasQuote {
		rep.Quotes++
	}
	if o.hasNote {
		rep.Interactions++
	}
	if ld == nil {
		return nil
	}
	id, err := ld.AddPreparedPerson(o.person, o.sk, o.prov)
	if err != nil {
		return fmt.Errorf("importer: line %d: %w", o.line, err)
	}
	for _, rec := range []*record.Prepared{o.quote, o.note} {
		if rec == nil {
			continue
		}
		if _, err := ld.AddPrepared(rec, id); err != nil {
			return fmt.Errorf("importer: line %d: %w", o.line, err)
		}
	}
	// The sealed records now belong to the loader; the outcome is reused for another row.
	o.person, o.quote, o.note, o.sk = nil, nil, nil, nil
	return nil
}

// progress prints a line on long imports: rows read, share of the file, rows per second.
type progress struct {
	w            io.Writer
	read         *countingReader
	size         int64
	began, after time.Time
}

func newProgress(w io.Writer, read *countingReader, size int64) *progress {
	now := time.Now()
	return &progress{w: w, read: read, size: size, began: now, after: now.Add(progressEvery)}
}

func (p *progress) rows(n int64) {
	if p.w == nil || time.Now().Before(p.after) {
		return
	}
	p.after = time.Now().Add(progressEvery)
	p.print(n)
}

func (p *progress) end(n int64) {
	if p.w != nil && time.Since(p.began) > progressEvery {
		p.print(n)
	}
}

func (p *progress) print(n int64) {
	share := ""
	if p.size > 0 {
		share = fmt.Sprintf(" (%d %%)", min(100, p.read.n.Load()*100/p.size))
	}
	fmt.Fprintf(p.w, "import : %d lignes lues%s, %.0f lignes/s\n", n, share, float64(n)/time.Since(p.began).Seconds())
}

// contactKey is a blind-index entry of an e-mail or a phone (16 bytes; the column is part of
// the keyed hash, so an e-mail and a phone never share one).
type contactKey [16]byte

// contacts are the e-mails and phones of the persons already in Vigie, as blind-index entries,
// sorted: read-only, shared by the workers.
type contacts []contactKey

// readContacts reads the blind-index entries of the e-mails and phones of every person.
func readContacts(ctx context.Context, store *record.Store) (contacts, error) {
	var c contacts
	for _, column := range []string{"email", "phone"} {
		err := store.IndexHashes(ctx, "persons", column, func(h []byte) {
			if len(h) == len(contactKey{}) {
				c = append(c, contactKey(h))
			}
		})
		if err != nil {
			return nil, fmt.Errorf("importer: %w", err)
		}
	}
	slices.SortFunc(c, func(a, b contactKey) int { return bytes.Compare(a[:], b[:]) })
	return c, nil
}

// has tells whether h is the entry of a person in Vigie.
func (c contacts) has(h []byte) bool {
	if len(h) != len(contactKey{}) {
		return false
	}
	_, ok := slices.BinarySearchFunc(c, contactKey(h), func(a, b contactKey) int { return bytes.Compare(a[:], b[:]) })
	return ok
}

// contactLines are the e-mails and phones of the rows imported so far, with the line of each
// one's first row.
type contactLines map[contactKey]int64

// find returns the line of the first imported row with the same e-mail or phone, and which.
func (s contactLines) find(email, phone []byte) (int64, string, bool) {
	for _, c := range []struct {
		hash  []byte
		field string
	}{{email, "persons.email"}, {phone, "persons.phone"}} {
		if len(c.hash) != len(contactKey{}) {
			continue
		}
		if line, ok := s[contactKey(c.hash)]; ok {
			return line, c.field, true
		}
	}
	return 0, "", false
}

func (s contactLines) add(email, phone []byte, line int64) {
	for _, h := range [][]byte{email, phone} {
		if len(h) == len(contactKey{}) {
			s[contactKey(h)] = line
		}
	}
}
