package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"

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
	// stmts are the prepared INSERTs, by table and number of rows, for the current transaction.
	stmts    map[stmtKey]*sql.Stmt
	cacheKiB int64 // SQLite: the connection's page cache before the load, restored after
	nextID   map[string]int64
	pending  map[string][][]any
	buffered int
	rowsInTx int
	// allOrNothing: Rollback also deletes what earlier batches committed (see AllOrNothing).
	allOrNothing bool
	committed    bool             // a batch was committed
	firstID      map[string]int64 // the first id the loader allocated, by table
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
	loaderFlushRows = 4000
	loaderTxRows    = 200000
	// loaderCacheKiB is SQLite's page cache during a load. The blind index is a B-tree keyed by
	// HMACs, so each entry lands on a random page: with the default 2 MiB cache, pages of a large
	// load are written out and read back again and again (3x slower over 200,000 persons).
	loaderCacheKiB = 256 << 10
)

// NewLoader starts a bulk load, on a connection of its own.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("record: loader: %w", err)
	}
	l := &Loader{s: s, ctx: ctx, conn: conn, nextID: map[string]int64{}, pending: map[string][][]any{}}
	if s.db.Dialect == db.SQLite {
		err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&l.cacheKiB)
		if err == nil {
			_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", loaderCacheKiB))
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("record: loader: cache size: %w", err)
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
	l.tx, l.stmts = tx, map[stmtKey]*sql.Stmt{}
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
	l.buffer("subject_keys", []any{id, l.s.keys.Wrap(id, sk), prov.CollectedAt})
	return id, sk, l.maybeFlush()
}

// Add buffers a record of a person's (a quote, a contract…) and returns its id.
func (l *Loader) Add(table string, personID int64, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) (int64, error) {
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
func (s *Store) Prepare(table string, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) (*Prepared, error) {
	t := s.dict.Table(table)
	if t == nil {
		return nil, fmt.Errorf("record: loader: unknown table %s", table)
	}
	p := &Prepared{table: t, row: make([]any, len(t.Columns))}
	for i, c := range t.Columns {
		if i == 0 || c.Name == t.PersonColumn {
			continue
		}
		v, ok := vals[c.Name]
		if !ok {
			v = c.DefaultValue()
		}
		p.row[i] = sqlArg(t, c, v, sk, prov)
		if c.Searchable != "" {
			for _, term := range indexTerms(c, v) {
				p.terms = append(p.terms, preparedTerm{c.Name, s.keys.BlindIndex(t.Name+"."+c.Name, term)})
			}
		}
	}
	return p, nil
}

// AddPreparedPerson buffers a person made by Store.Prepare, with its data key, and returns its id.
func (l *Loader) AddPreparedPerson(p *Prepared, sk *keys.SubjectKey, prov keys.Provenance) (int64, error) {
	if p.table.Name != "persons" {
		return 0, fmt.Errorf("record: loader: %s is not a person", p.table.Name)
	}
	id := l.addPrepared(p, 0)
	l.buffer("subject_keys", []any{id, l.s.keys.Wrap(id, sk), prov.CollectedAt})
	return id, l.maybeFlush()
}

// AddPrepared buffers a record of a person's made by Store.Prepare and returns its id.
func (l *Loader) AddPrepared(p *Prepared, personID int64) (int64, error) {
	if p.table.Name == "persons" {
		return 0, fmt.Errorf("record: loader: a person is added with AddPreparedPerson")
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
		l.buffer("search_index", []any{term.hash, t.Name, term.column, id, personID})
	}
	l.buffer(t.Name, p.row)
	return id
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
	for _, name := range loaderTables {
		rows := l.pending[name]
		if len(rows) == 0 {
			continue
		}
		t := l.s.dict.Table(name)
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		// Stay under SQLite's 32766 bound variables per statement. Chunks are powers of two, so
		// that a table has a handful of INSERTs, each prepared once per transaction and not parsed
		// again (parsing was a fifth of a load's time on SQLite).
		per := max(1, 30000/len(cols))
		args := make([]any, 0, min(len(rows), per)*len(cols))
		for start := 0; start < len(rows); {
			n := 1 << (bits.Len(uint(min(len(rows)-start, per))) - 1)
			chunk := rows[start : start+n]
			start += n
			args = args[:0]
			for _, row := range chunk {
				args = append(args, row...)
			}
			stmt, err := l.insert(name, cols, n)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(l.ctx, args...); err != nil {
				return fmt.Errorf("record: loader: insert %s: %w", name, err)
			}
		}
		l.rowsInTx += len(rows)
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

// insert returns the prepared INSERT of n rows into a table, for the current transaction.
func (l *Loader) insert(table string, cols []string, n int) (*sql.Stmt, error) {
	key := stmtKey{table, n}
	if stmt := l.stmts[key]; stmt != nil {
		return stmt, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
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
	stmt, err := l.tx.PrepareContext(l.ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("record: loader: prepare insert %s: %w", table, err)
	}
	l.stmts[key] = stmt
	return stmt, nil
}

type stmtKey struct {
	table string
	rows  int
}

// release gives the connection back, with its usual page cache; it may be called more than once.
func (l *Loader) release() {
	if l.conn == nil {
		return
	}
	if l.cacheKiB != 0 {
		l.conn.ExecContext(context.WithoutCancel(l.ctx), fmt.Sprintf("PRAGMA cache_size = %d", l.cacheKiB))
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
			for table, first := range l.firstID {
				if err := del("DELETE FROM search_index WHERE table_name = $1 AND row_id >= $2", table, first); err != nil {
					return err
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
