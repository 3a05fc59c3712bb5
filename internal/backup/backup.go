// Package backup writes and restores Vigie's backups (DESIGN §8, rules R41 and R26): an
// encrypted, consistent, logical copy of every table of the dictionary but the key material,
// the same on SQLite and PostgreSQL; and, apart, the key store — the subject keys still wrapped
// under the master key, the master key versions, and the persons erased so far (ids and dates).
//
// A data backup never holds a subject key, so a person erased after it stays unreadable in it
// whatever happens to the file; a restore takes the keys from the current key store, and
// re-applies every erasure made since the backup (internal/rights), so that the person is gone
// from the restored database too.
package backup

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// keyTables hold key material: never in a data backup, always in the key store.
var keyTables = []string{"subject_keys", "master_keys"}

// migrationsTable is rebuilt by the restore's migrations, not copied.
const migrationsTable = "schema_migrations"

// Summary describes a backup or a key store export; it holds counts only.
type Summary struct {
	SchemaVersion int
	CreatedAt     time.Time
	Tables        int
	Rows          int64
}

// dataTables are the dictionary's tables a data backup holds, every table before those whose
// foreign keys point at it, in the dictionary's order otherwise.
func dataTables(dict *dictionary.Dictionary) ([]*dictionary.Table, error) {
	var tables []*dictionary.Table
	for _, t := range dict.Tables {
		if t.Name != migrationsTable && !slices.Contains(keyTables, t.Name) {
			tables = append(tables, t)
		}
	}
	return topological(tables)
}

// topological orders tables parents first; a cycle of foreign keys is an error (a restore could
// not insert it table by table).
func topological(tables []*dictionary.Table) ([]*dictionary.Table, error) {
	index := map[string]bool{}
	for _, t := range tables {
		index[t.Name] = true
	}
	done := map[string]bool{}
	var out []*dictionary.Table
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t.Name] {
				continue
			}
			ready := true
			for _, c := range t.Columns {
				if ref, _, ok := c.ForeignKey(); ok && ref != t.Name && index[ref] && !done[ref] {
					ready = false
					break
				}
			}
			if ready {
				done[t.Name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("backup: the dictionary's foreign keys form a cycle")
		}
	}
	return out, nil
}

// snapshot begins the read transaction everything of a backup is read in: REPEATABLE READ on
// PostgreSQL, a read transaction on SQLite (WAL: it sees the database as of its first read, and
// writers go on). The first statement establishes it.
func snapshot(ctx context.Context, d *db.DB) (*sql.Tx, int, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Dialect == db.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("backup: begin: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		tx.Rollback()
		return nil, 0, fmt.Errorf("backup: read the schema version: %w", err)
	}
	return tx, version, nil
}

// selectColumns is the select list reading the columns as stored: on SQLite, `+c` keeps the
// driver from converting a TIMESTAMP or DATE text into a time (the unary plus changes nothing but
// the declared type), so a restore writes back the very same values.
func selectColumns(d *db.DB, columns []string) string {
	if d.Dialect != db.SQLite {
		return strings.Join(columns, ", ")
	}
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = "+" + c
	}
	return strings.Join(out, ", ")
}

func columnNames(t *dictionary.Table) (names, key []string) {
	for _, c := range t.Columns {
		names = append(names, c.Name)
		if c.PrimaryKey() {
			key = append(key, c.Name)
		}
	}
	return names, key
}

// dumpTable streams one table's rows in primary-key order.
func dumpTable(ctx context.Context, d *db.DB, tx *sql.Tx, enc *encoder, name string, columns, key []string, where string) (int64, error) {
	q := "SELECT " + selectColumns(d, columns) + " FROM " + name
	if where != "" {
		q += " WHERE " + where
	}
	if len(key) > 0 {
		q += " ORDER BY " + strings.Join(key, ", ")
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("backup: read %s: %w", name, err)
	}
	defer rows.Close()
	if err := enc.table(name, columns); err != nil {
		return 0, fmt.Errorf("backup: write: %w", err)
	}
	vals := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("backup: read %s: %w", name, err)
		}
		if err := enc.row(vals); err != nil {
			return n, fmt.Errorf("backup: write %s: %w", name, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("backup: read %s: %w", name, err)
	}
	if err := enc.endTable(n); err != nil {
		return n, fmt.Errorf("backup: write: %w", err)
	}
	return n, nil
}

// Write writes an encrypted backup of the data to w (R41): every table of the dictionary but the
// subject keys, the master key versions and the migrations ledger, read in one consistent
// snapshot while the database stays in use, sealed under a fresh data key wrapped under the
// current master key. The summary (counts) is what may be logged.
func Write(ctx context.Context, d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, w io.Writer) (Summary, error) {
	tables, err := dataTables(dict)
	if err != nil {
		return Summary{}, err
	}
	tx, version, err := snapshot(ctx, d)
	if err != nil {
		return Summary{}, err
	}
	defer tx.Rollback()
	// Taken once the snapshot exists: the backup holds nothing newer than its date (a restore
	// relies on it to tell the erasures made since).
	sum := Summary{SchemaVersion: version, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	s, err := newSealer(w, kr, kindData, sum.CreatedAt)
	if err != nil {
		return sum, err
	}
	enc := newEncoder(s)
	if err := enc.header(streamHeader{Kind: kindData, SchemaVersion: version, CreatedAt: sum.CreatedAt, Dialect: string(d.Dialect)}); err != nil {
		return sum, fmt.Errorf("backup: write: %w", err)
	}
	for _, t := range tables {
		cols, key := columnNames(t)
		n, err := dumpTable(ctx, d, tx, enc, t.Name, cols, key, "")
		if err != nil {
			return sum, err
		}
		sum.Tables++
		sum.Rows += n
	}
	if err := enc.end(sum.Tables); err != nil {
		return sum, fmt.Errorf("backup: write: %w", err)
	}
	if err := s.Close(); err != nil {
		return sum, err
	}
	return sum, nil
}

// Inspect checks a backup whole — every chunk authenticated, the stream complete — without
// restoring it, and returns its summary.
func Inspect(r io.Reader, find KeyFinder) (Summary, error) {
	o, err := newOpener(r, kindData, find)
	if err != nil {
		return Summary{}, err
	}
	dec := newDecoder(o)
	h, err := dec.header()
	if err != nil {
		return Summary{}, err
	}
	if h.Kind != kindData || !h.CreatedAt.Equal(o.CreatedAt) {
		return Summary{}, errFormat
	}
	tables, rows, err := dec.walk(nil, nil)
	if err != nil {
		return Summary{}, err
	}
	return Summary{SchemaVersion: h.SchemaVersion, CreatedAt: h.CreatedAt, Tables: tables, Rows: rows}, nil
}
