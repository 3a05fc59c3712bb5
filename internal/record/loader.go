package record

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"vigie/internal/db"
	"vigie/internal/keys"
)

// Loader writes many records fast — demo data, and later legacy imports — with the same encryption,
// provenance and blind indexes as Create, but without read-back: ids are allocated by the loader,
// rows are buffered and written as multi-row INSERTs, and the work is committed in batches.
// Values must already be canonical (checked with the dictionary's Decode). A loader assumes it is
// the only writer of these tables while it runs (PostgreSQL tables are locked to make sure).
type Loader struct {
	s        *Store
	ctx      context.Context
	tx       *sql.Tx
	nextID   map[string]int64
	pending  map[string][][]any
	buffered int
	rowsInTx int
}

// loaderTables is the order in which buffered rows are written, parents before children.
var loaderTables = []string{"persons", "subject_keys", "search_index", "quotes", "contracts", "documents", "interactions", "tickets", "ticket_messages"}

const (
	loaderFlushRows = 4000
	loaderTxRows    = 200000
)

// NewLoader starts a bulk load.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) {
	l := &Loader{s: s, ctx: ctx, nextID: map[string]int64{}, pending: map[string][][]any{}}
	if err := l.begin(); err != nil {
		return nil, err
	}
	for _, name := range loaderTables {
		if s.dict.Table(name).Column("id") == nil {
			continue
		}
		var maxID sql.NullInt64
		if err := l.tx.QueryRowContext(ctx, "SELECT max(id) FROM "+name).Scan(&maxID); err != nil {
			l.tx.Rollback()
			return nil, fmt.Errorf("record: loader: %w", err)
		}
		l.nextID[name] = maxID.Int64 + 1
	}
	return l, nil
}

func (l *Loader) begin() error {
	tx, err := l.s.db.BeginTx(l.ctx, nil)
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
	t := l.s.dict.Table(table)
	if t == nil {
		return 0, fmt.Errorf("record: loader: unknown table %s", table)
	}
	id := l.nextID[table]
	l.nextID[table]++
	if table == "persons" {
		personID = id
	} else {
		vals[t.PersonColumn] = personID
	}
	row := []any{id}
	for _, c := range t.Columns[1:] {
		v, ok := vals[c.Name]
		if !ok {
			v = c.DefaultValue()
		}
		row = append(row, sqlArg(t, c, v, sk, prov))
		if c.Searchable != "" {
			for _, term := range indexTerms(c, v) {
				l.buffer("search_index", []any{l.s.keys.BlindIndex(t.Name+"."+c.Name, term), t.Name, c.Name, id, personID})
			}
		}
	}
	l.buffer(table, row)
	return id, nil
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
	sqlite := l.s.db.Dialect == db.SQLite
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
		// Stay under SQLite's 32766 bound variables per statement.
		per := max(1, 30000/len(cols))
		for start := 0; start < len(rows); start += per {
			chunk := rows[start:min(len(rows), start+per)]
			var b strings.Builder
			args := make([]any, 0, len(chunk)*len(cols))
			fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", name, strings.Join(cols, ", "))
			for i, row := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('(')
				for j := range row {
					if j > 0 {
						b.WriteByte(',')
					}
					// SQLite resolves "$N" by name, scanning the statement's list of parameter
					// names for each one: quadratic in a 30,000-parameter INSERT (14x slower
					// here). "?" is positional.
					if sqlite {
						b.WriteByte('?')
						continue
					}
					b.WriteByte('$')
					b.WriteString(strconv.Itoa(len(args) + j + 1))
				}
				b.WriteByte(')')
				args = append(args, row...)
			}
			if _, err := l.tx.ExecContext(l.ctx, b.String(), args...); err != nil {
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
		l.rowsInTx = 0
		return l.begin()
	}
	return nil
}

// Commit writes what is buffered, commits, and brings PostgreSQL's id sequences past the ids the
// loader allocated.
func (l *Loader) Commit() error {
	if err := l.flush(); err != nil {
		l.tx.Rollback()
		return err
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

// Rollback abandons what is not yet committed.
func (l *Loader) Rollback() { l.tx.Rollback() }
