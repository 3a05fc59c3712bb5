package record

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Loader writes many records fast — demo data, and later legacy imports — with the same encryption,
// provenance and blind indexes as Create, but without read-back: ids are allocated by the loader,
// rows are buffered and written as multi-row INSERTs, and the work is committed in batches.
// Values must already be canonical (checked with the dictionary's Decode). A loader assumes it is
// the only writer of these tables while it runs (PostgreSQL tables are locked to make sure).
type Loader struct {
	s    *Store
	ctx  context.Context
	conn *sql.Conn
	tx   *sql.Tx
	// stmts are the prepared INSERTs, by table and number of rows, on the driver's connection:
	// prepared once for the whole load, where a statement of database/sql lasts one transaction.
	stmts    map[stmtKey]driver.Stmt
	args     []driver.NamedValue
	cacheKiB int64 // SQLite: the connection's page cache before the load, restored after
	nextID   map[string]int64
	pending  map[string][][]any
	// index holds the blind-index entries to write, by column; they are written sorted by hash.
	index map[indexKey][]indexEntry
	// keys are the data keys of the buffered persons, wrapped when they are written.
	keys     []pendingKey
	buffered int
	rowsInTx int
	// allOrNothing: Rollback also deletes what earlier batches committed (see AllOrNothing).
	allOrNothing bool
	committed    bool             // a batch was committed
	firstID      map[string]int64 // the first id the loader allocated, by table
	// noFK: SQLite's foreign keys are off on the loader's connection (see NewLoader). known are
	// the persons outside the load that records were added to, checked once each (checkPerson).
	noFK  bool
	known map[int64]bool
}

type indexKey struct{ table, column string }

type indexEntry struct {
	hash            []byte
	rowID, personID int64
}

type pendingKey struct {
	id int64
	sk *keys.SubjectKey
	at time.Time
}

// AllOrNothing makes Rollback also delete the rows that earlier batches committed: a load that
// fails or is interrupted leaves nothing behind, so that running it again cannot write anything
// twice. (One transaction would say the same more simply, but SQLite slows down more and more as
// a transaction outgrows its page cache: 3x slower over a million persons.) Only the death of the
// process itself can leave the committed batches of an unfinished load.
func (l *Loader) AllOrNothing() { l.allOrNothing = true }

// NewSubjectKey draws a data key for a person to be added with Prepare and AddPreparedPerson.
func (s *Store) NewSubjectKey() (*keys.SubjectKey, error) { return s.keys.NewSubjectKey() }

// loaderTables is the order in which buffered rows are written, parents before children.
var loaderTables = []string{"persons", "subject_keys", "search_index", "quotes", "contracts", "documents", "interactions", "tickets", "ticket_messages", "consents"}

const (
	loaderFlushRows = 16384
	// loaderTxRows is how many rows (index entries and data keys included, about eight per
	// imported person with a quote) a transaction takes before it commits. Each commit writes
	// every page the transaction changed, and the blind index's pages are changed all over by
	// every transaction: with 200,000 rows, an import of a million persons wrote the whole
	// index out some forty times. The transaction's pages must fit in the page cache below.
	loaderTxRows = 2_000_000
	// loaderCacheKiB is SQLite's page cache during a load (allocated as used, given back when
	// the load ends). The blind index is a B-tree keyed by HMACs, so each entry lands on a
	// random page: with the default 2 MiB cache, pages of a large load are written out and read
	// back again and again (3x slower over 200,000 persons); at 256 MiB, the index of a million
	// persons no longer fitted, with the pages of a transaction.
	loaderCacheKiB = 1 << 20
)

// NewLoader starts a bulk load, on a connection of its own.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("record: loader: %w", err)
	}
	l := &Loader{s: s, ctx: ctx, conn: conn, stmts: map[stmtKey]driver.Stmt{}, nextID: map[string]int64{}, pending: map[string][][]any{},
		index: map[indexKey][]indexEntry{}, known: map[int64]bool{}}
	if s.db.Dialect == db.SQLite {
		err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&l.cacheKiB)
		if err == nil {
			_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", loaderCacheKiB))
		}
		// The loader's rows reference only persons it wrote first or checked (checkPerson), so
		// SQLite's foreign-key checks are redundant here; with them on, every multi-row INSERT
		// also copies each page it changes to a statement journal, to undo itself alone if a
		// check failed: a tenth of the writer's time, and a lookup of the person per row. A
		// failed INSERT fails the whole load. release turns them back on.
		if err == nil {
			_, err = conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF")
			l.noFK = err == nil
		}
		if err != nil {
			l.release()
			return nil, fmt.Errorf("record: loader: pragmas: %w", err)
		}
	}
	if err := l.begin(); err != nil {
		l.release()
		return nil, err
	}
	for _, name := range loaderTables {
		if s.dict.Table(name).Column("id") == nil {
			continue
		}
		var maxID sql.NullInt64
		if err := l.tx.QueryRowContext(ctx, "SELECT max(id) FROM "+name).Scan(&maxID); err != nil {
			l.Rollback()
			return nil, fmt.Errorf("record: loader: %w", err)
		}
		l.nextID[name] = maxID.Int64 + 1
	}
	l.firstID = maps.Clone(l.nextID)
	return l, nil
}

func (l *Loader) begin() error {
	tx, err := l.conn.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("record: loader: begin: %w", err)
	}
	l.tx = tx
	if l.s.db.Dialect == db.Postgres {
		if _, err := tx.ExecContext(l.ctx, "LOCK TABLE "+strings.Join(loaderTables, ", ")+" IN EXCLUSIVE MODE"); err != nil {
			tx.Rollback()
			return fmt.Errorf("record: loader: lock: %w", err)
		}
	}
	return nil
}

// AddPerson buffers a new person with a fresh data key and returns its id and key, with which
// the person's other records are added.
func (l *Loader) AddPerson(vals map[string]any, prov keys.Provenance) (int64, *keys.SubjectKey, error) {
	sk, err := l.s.keys.NewSubjectKey()
	if err != nil {
		return 0, nil, err
	}
	id, err := l.add("persons", 0, vals, sk, prov)
	if err != nil {
		return 0, nil, err
	}
	l.keys = append(l.keys, pendingKey{id, sk, prov.CollectedAt})
	l.buffered++
	return id, sk, l.maybeFlush()
}

// Add buffers a record of a person's (a quote, a contract…) and returns its id.
func (l *Loader) Add(table string, personID int64, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) (int64, error) {
	if err := l.checkPerson(personID); err != nil {
		return 0, err
	}
	id, err := l.add(table, personID, vals, sk, prov)
	if err != nil {
		return 0, err
	}
	return id, l.maybeFlush()
}

func (l *Loader) add(table string, personID int64, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) (int64, error) {
	p, err := l.s.Prepare(table, vals, sk, prov)
	if err != nil {
		return 0, err
	}
	return l.addPrepared(p, personID), nil
}

// Prepared is a record sealed and indexed ahead of the loader. Encryption and blind-index HMACs
// are most of a load's CPU time; Store.Prepare is safe for concurrent use, so a caller can spread
// them over the cores and leave only id allocation and writing to the loader's goroutine.
type Prepared struct {
	table *dictionary.Table
	// row holds every column in dictionary order; the loader sets the id and the person column.
	row   []any
	terms []preparedTerm
}

type preparedTerm struct {
	column string
	hash   []byte
}

// Prepare seals a record's canonical values under the person's key and computes its blind-index
// entries. Values must already be canonical (checked with the dictionary's Decode and CheckRow).
// known are entries the caller already computed with IndexHash, for the same values.
func (s *Store) Prepare(table string, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance, known ...IndexHash) (*Prepared, error) {
	t := s.dict.Table(table)
	if t == nil {
		return nil, fmt.Errorf("record: loader: unknown table %s", table)
	}
	p := &Prepared{table: t, row: make([]any, len(t.Columns))}
	var err error
columns:
	for i, c := range t.Columns {
		if i == 0 || c.Name == t.PersonColumn {
			continue
		}
		v, ok := vals[c.Name]
		if !ok {
			v = c.DefaultValue()
		}
		if p.row[i], err = s.loaderArg(sqlArg(c, v, sk, prov)); err != nil {
			return nil, fmt.Errorf("record: loader: %s: %w", c.Ref, err)
		}
		if c.Searchable == "" || v == nil {
			continue
		}
		for _, k := range known {
			if k.Column == c.Name && c.Searchable == "exact" && k.Hash != nil {
				p.terms = append(p.terms, preparedTerm{c.Name, k.Hash})
				continue columns
			}
		}
		for _, term := range indexTerms(c, v) {
			p.terms = append(p.terms, preparedTerm{c.Name, s.keys.BlindIndex(c.Ref, term)})
		}
	}
	return p, nil
}

// loaderArg turns a time into the text the SQLite driver would write for it (time.Time.String,
// as no _time_format is set), so that the worker calling Prepare formats it rather than the
// loader's single writer, which binds it: the same bytes in the database either way.
//
// Any other value becomes one a driver takes as it is (an int becomes an int64…), as database/sql
// would make it: the loader hands its rows to the driver directly.
func (s *Store) loaderArg(v any) (any, error) {
	if t, ok := v.(time.Time); ok && s.db.Dialect == db.SQLite {
		return t.String(), nil
	}
	if driver.IsValue(v) {
		return v, nil
	}
	return driver.DefaultParameterConverter.ConvertValue(v)
}

// IndexHash is the blind-index entry of a field searched by exact match (persons.email…).
type IndexHash struct {
	Column string
	Hash   []byte
}

// IndexHash computes the blind-index entry a canonical value of an exact-match field has: what
// Search looks up, what the suppression list keeps, what an import compares to find duplicates.
// It is nil for an empty value.
func (s *Store) IndexHash(table, column string, v any) (IndexHash, error) {
	c := s.dict.Table(table).Column(column)
	if c == nil || c.Searchable != "exact" {
		return IndexHash{}, fmt.Errorf("record: %s.%s is not searched by exact match", table, column)
	}
	h := IndexHash{Column: column}
	if terms := indexTerms(c, v); len(terms) == 1 && terms[0] != "" {
		h.Hash = s.keys.BlindIndex(c.Ref, terms[0])
	}
	return h, nil
}

// IndexHashes calls fn with every blind-index entry of one column, for a bulk job that compares
// many values with those already stored (an import looking for duplicates) in memory rather than
// with one query each.
func (s *Store) IndexHashes(ctx context.Context, table, column string, fn func(hash []byte)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT hash FROM search_index WHERE table_name = $1 AND column_name = $2`, table, column)
	if err != nil {
		return fmt.Errorf("record: read index of %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("record: read index of %s.%s: %w", table, column, err)
		}
		fn(h)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record: read index of %s.%s: %w", table, column, err)
	}
	return nil
}

// AddPreparedPerson buffers a person made by Store.Prepare, with its data key, and returns its id.
func (l *Loader) AddPreparedPerson(p *Prepared, sk *keys.SubjectKey, prov keys.Provenance) (int64, error) {
	if p.table.Name != "persons" {
		return 0, fmt.Errorf("record: loader: %s is not a person", p.table.Name)
	}
	id := l.addPrepared(p, 0)
	l.keys = append(l.keys, pendingKey{id, sk, prov.CollectedAt})
	l.buffered++
	return id, l.maybeFlush()
}

// AddPrepared buffers a record of a person's made by Store.Prepare and returns its id.
func (l *Loader) AddPrepared(p *Prepared, personID int64) (int64, error) {
	if p.table.Name == "persons" {
		return 0, fmt.Errorf("record: loader: a person is added with AddPreparedPerson")
	}
	if err := l.checkPerson(personID); err != nil {
		return 0, err
	}
	id := l.addPrepared(p, personID)
	return id, l.maybeFlush()
}

func (l *Loader) addPrepared(p *Prepared, personID int64) int64 {
	t := p.table
	id := l.nextID[t.Name]
	l.nextID[t.Name]++
	if t.Name == "persons" {
		personID = id
	}
	for i, c := range t.Columns {
		switch {
		case i == 0:
			p.row[i] = id
		case c.Name == t.PersonColumn:
			p.row[i] = personID
		}
	}
	for _, term := range p.terms {
		k := indexKey{t.Name, term.column}
		l.index[k] = append(l.index[k], indexEntry{term.hash, id, personID})
		l.buffered++
	}
	l.buffer(t.Name, p.row)
	return id
}

// checkPerson makes sure a record is added to a person who exists: one the loader wrote, or one
// already in the database (looked up once). SQLite's foreign keys are off during a load, and
// PostgreSQL's would only say it when the batch is written.
func (l *Loader) checkPerson(personID int64) error {
	if personID >= l.firstID["persons"] && personID < l.nextID["persons"] || l.known[personID] {
		return nil
	}
	var one int
	if err := l.tx.QueryRowContext(l.ctx, "SELECT 1 FROM persons WHERE id = $1", personID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("record: loader: no person %d", personID)
		}
		return fmt.Errorf("record: loader: %w", err)
	}
	l.known[personID] = true
	return nil
}

// CheckRow applies to a new row the rules that involve more than one of its fields (a postal code
// and its département…), for callers of the loader that validate values themselves.
func CheckRow(t *dictionary.Table, vals map[string]any) []*dictionary.FieldError {
	return crossChecks(t, vals, vals)
}

// buffer queues a row. It never flushes: a flush between a row and its index entries would write
// index entries whose person is not yet written (search_index.person_id is a foreign key).
func (l *Loader) buffer(table string, row []any) {
	l.pending[table] = append(l.pending[table], row)
	l.buffered++
}

// maybeFlush writes the buffered rows once there are enough. AddPerson and Add call it once a
// whole record (row, blind-index entries, data key) is buffered.
func (l *Loader) maybeFlush() error {
	if l.buffered >= loaderFlushRows {
		return l.flush()
	}
	return nil
}

// flush writes every buffered row, parents first, and commits once enough rows are in the
// transaction so that a large load does not grow one transaction without bound.
func (l *Loader) flush() error {
	if len(l.keys) > 0 {
		wrap := l.s.keys.Wrapper()
		for _, k := range l.keys {
			l.pending["subject_keys"] = append(l.pending["subject_keys"], []any{k.id, wrap(k.id, k.sk), k.at})
		}
		clear(l.keys)
		l.keys = l.keys[:0]
	}
	for _, name := range loaderTables {
		if name == "search_index" {
			if err := l.flushIndex(); err != nil {
				return err
			}
			continue
		}
		rows := l.pending[name]
		if len(rows) == 0 {
			continue
		}
		t := l.s.dict.Table(name)
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		if err := l.insertRows(name, cols, "", len(rows), func(i int, args []any) []any { return append(args, rows[i]...) }); err != nil {
			return err
		}
		l.rowsInTx += len(rows)
		clear(rows)
		l.pending[name] = rows[:0]
	}
	l.buffered = 0
	if l.rowsInTx >= loaderTxRows {
		if err := l.tx.Commit(); err != nil {
			return fmt.Errorf("record: loader: commit: %w", err)
		}
		l.rowsInTx, l.committed = 0, true
		return l.begin()
	}
	return nil
}

// indexColumns are the columns of search_index the loader binds; the table and column names are
// written into the statement, one per indexed column.
var indexColumns = []string{"hash", "row_id", "person_id"}

// flushIndex writes the buffered blind-index entries, column by column, each column's sorted by
// hash: consecutive entries then land on neighbouring pages of search_index's primary key
// (table_name, column_name, hash, row_id) rather than on random ones.
func (l *Loader) flushIndex() error {
	ks := slices.SortedFunc(maps.Keys(l.index), func(a, b indexKey) int {
		return cmp.Or(cmp.Compare(a.table, b.table), cmp.Compare(a.column, b.column))
	})
	for _, k := range ks {
		entries := l.index[k]
		if len(entries) == 0 {
			continue
		}
		slices.SortFunc(entries, func(a, b indexEntry) int {
			return cmp.Or(bytes.Compare(a.hash, b.hash), cmp.Compare(a.rowID, b.rowID))
		})
		add := func(i int, args []any) []any {
			return append(args, entries[i].hash, entries[i].rowID, entries[i].personID)
		}
		if err := l.insertRows("search_index", indexColumns, k.table+"."+k.column, len(entries), add); err != nil {
			return err
		}
		l.rowsInTx += len(entries)
		clear(entries)
		l.index[k] = entries[:0]
	}
	return nil
}

// insertRows writes count rows into a table with multi-row INSERTs; add appends the values of
// the i-th row to a statement's arguments (no row is built apart only to be copied there). index,
// for search_index, names the indexed column ("persons.email") whose entries these are. The
// statements run on the driver's connection, inside the loader's transaction; the values are
// those a driver takes (see loaderArg), so database/sql has nothing to convert.
func (l *Loader) insertRows(table string, cols []string, index string, count int, add func(i int, args []any) []any) error {
	// Stay under SQLite's 32766 bound variables per statement. Chunks are powers of two, so
	// that a table has a handful of INSERTs, each prepared once and not parsed again.
	per := max(1, 30000/len(cols))
	vals := make([]any, 0, min(count, per)*len(cols))
	for start := 0; start < count; {
		n := 1 << (bits.Len(uint(min(count-start, per))) - 1)
		vals = vals[:0]
		for i := start; i < start+n; i++ {
			vals = add(i, vals)
		}
		start += n
		l.args = l.args[:0]
		for i, v := range vals {
			l.args = append(l.args, driver.NamedValue{Ordinal: i + 1, Value: v})
		}
		err := l.conn.Raw(func(dc any) error {
			stmt, err := l.insert(dc, table, cols, index, n)
			if err != nil {
				return err
			}
			exec, ok := stmt.(driver.StmtExecContext)
			if !ok {
				return fmt.Errorf("record: loader: insert %s: the driver's statements take no context", table)
			}
			if _, err := exec.ExecContext(l.ctx, l.args); err != nil {
				return fmt.Errorf("record: loader: insert %s: %w", table, err)
			}
			return nil
		})
		clear(l.args)
		if err != nil {
			return err
		}
	}
	return nil
}

// insert returns the prepared INSERT of n rows into a table, on the driver's connection dc.
func (l *Loader) insert(dc any, table string, cols []string, index string, n int) (driver.Stmt, error) {
	key := stmtKey{table, index, n}
	if stmt := l.stmts[key]; stmt != nil {
		return stmt, nil
	}
	var b strings.Builder
	// Without foreign keys, OR FAIL spares SQLite the statement journal (see NewLoader): a
	// failed INSERT keeps the rows before it, but fails the load, whose transaction is undone.
	verb := "INSERT"
	if l.noFK {
		verb = "INSERT OR FAIL"
	}
	allCols := cols
	var table2, column2 string
	if index != "" {
		table2, column2, _ = strings.Cut(index, ".")
		if !identifier(table2) || !identifier(column2) {
			return nil, fmt.Errorf("record: loader: bad index name %q", index)
		}
		allCols = []string{"hash", "table_name", "column_name", "row_id", "person_id"}
	}
	fmt.Fprintf(&b, "%s INTO %s (%s) VALUES ", verb, table, strings.Join(allCols, ", "))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			if index != "" && j == 1 {
				fmt.Fprintf(&b, "'%s','%s',", table2, column2)
			}
			// SQLite resolves "$N" by name, scanning the statement's list of parameter names for
			// each one: quadratic in a 30,000-parameter INSERT (14x slower here). "?" is positional.
			if l.s.db.Dialect == db.SQLite {
				b.WriteByte('?')
				continue
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i*len(cols) + j + 1))
		}
		b.WriteByte(')')
	}
	prep, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("record: loader: the driver prepares no statement with a context")
	}
	stmt, err := prep.PrepareContext(l.ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("record: loader: prepare insert %s: %w", table, err)
	}
	l.stmts[key] = stmt
	return stmt, nil
}

type stmtKey struct {
	table, index string
	rows         int
}

// identifier tells whether a dictionary name can be written into a statement as it is.
func identifier(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

// release gives the connection back, with its usual page cache; it may be called more than once.
func (l *Loader) release() {
	if l.conn == nil {
		return
	}
	ctx := context.WithoutCancel(l.ctx)
	if len(l.stmts) > 0 {
		l.conn.Raw(func(any) error {
			for _, stmt := range l.stmts {
				stmt.Close()
			}
			return nil
		})
		clear(l.stmts)
	}
	if l.cacheKiB != 0 {
		l.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", l.cacheKiB))
	}
	if l.noFK {
		if _, err := l.conn.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
			// A connection without foreign keys must not go back to the pool: close it.
			l.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	l.conn.Close()
	l.conn = nil
}

// Commit writes what is buffered, commits, and brings PostgreSQL's id sequences past the ids the
// loader allocated. Each of last runs in the transaction just before it commits (a record of the
// load in the audit trail, written with the data or not at all).
func (l *Loader) Commit(last ...func(*sql.Tx) error) error {
	err := l.commit(last)
	if err != nil && l.allOrNothing && l.committed {
		if uerr := l.undo(); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}
	l.release()
	return err
}

func (l *Loader) commit(last []func(*sql.Tx) error) error {
	if err := l.flush(); err != nil {
		l.tx.Rollback()
		return err
	}
	for _, fn := range last {
		if err := fn(l.tx); err != nil {
			l.tx.Rollback()
			return err
		}
	}
	if l.s.db.Dialect == db.Postgres {
		for name, next := range l.nextID {
			if _, err := l.tx.ExecContext(l.ctx, fmt.Sprintf(
				"SELECT setval(pg_get_serial_sequence('%s', 'id'), $1, false)", name), max(next, 1)); err != nil {
				l.tx.Rollback()
				return fmt.Errorf("record: loader: sequence %s: %w", name, err)
			}
		}
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("record: loader: commit: %w", err)
	}
	return nil
}

// Rollback abandons what is not yet committed, and with AllOrNothing what was.
func (l *Loader) Rollback() error {
	defer l.release()
	l.tx.Rollback()
	if !l.allOrNothing || !l.committed {
		return nil
	}
	return l.undo()
}

// undo deletes every row the loader committed, children first: rows it wrote have ids from
// firstID on, since it allocates them and is the only writer while it runs.
func (l *Loader) undo() error {
	ctx := context.WithoutCancel(l.ctx) // an interrupted load is undone all the same
	tx, err := l.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record: loader: undo: %w", err)
	}
	defer tx.Rollback()
	del := func(query string, args ...any) error {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("record: loader: undo: %w", err)
		}
		return nil
	}
	for _, name := range slices.Backward(loaderTables) {
		switch first, ok := l.firstID[name]; {
		case name == "search_index":
			// Through their persons (search_index has no index by row): those the loader wrote,
			// and those outside the load it added records to.
			if err := del("DELETE FROM search_index WHERE person_id >= $1", l.firstID["persons"]); err != nil {
				return err
			}
			for person := range l.known {
				for table, first := range l.firstID {
					if err := del("DELETE FROM search_index WHERE person_id = $1 AND table_name = $2 AND row_id >= $3", person, table, first); err != nil {
						return err
					}
				}
			}
		case name == "subject_keys":
			if err := del("DELETE FROM subject_keys WHERE person_id >= $1", l.firstID["persons"]); err != nil {
				return err
			}
		case ok:
			if err := del("DELETE FROM "+name+" WHERE id >= $1", first); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record: loader: undo: %w", err)
	}
	return nil
}
