package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// erasedTable is the key store's list of the persons erased so far: ids and dates, nothing else.
const erasedTable = "erased_persons"

// identityTable names the database the key store belongs to: its master key check and audit
// public key (settings), which a restore compares with the backup's. A key store of another
// database would make every person of the backup look erased since.
const identityTable = "database_identity"

var identitySettings = []string{"master_key_check", "audit_public_key"}

// rowSet is one table of the key store as read.
type rowSet struct {
	columns []string
	rows    [][]any
}

// KeyStore is what a restore takes from the current key store, apart from the data backup: the
// subject keys (still wrapped under the master key), the master key versions, and the persons
// erased so far with the date of their erasure. It holds no personal data.
type KeyStore struct {
	// CreatedAt is when it was read: a restore refuses a key store older than the backup, which
	// would lack the keys of persons created in between.
	CreatedAt     time.Time
	SchemaVersion int
	tables        map[string]*rowSet
	// Erased maps each erased person (a tombstone) to the date of the erasure.
	Erased   map[int64]time.Time
	keyed    map[int64]bool
	identity map[string]string
}

// Keys is the number of subject keys held.
func (ks *KeyStore) Keys() int { return len(ks.keyed) }

// HasKey says whether the key store holds the person's key.
func (ks *KeyStore) HasKey(personID int64) bool { return ks.keyed[personID] }

// ReadKeyStore reads the key store of a live database in one consistent snapshot.
func ReadKeyStore(ctx context.Context, d *db.DB, dict *dictionary.Dictionary) (*KeyStore, error) {
	// Taken before the snapshot: the store holds every key that existed at its date.
	created := time.Now().UTC().Truncate(time.Microsecond)
	tx, version, err := snapshot(ctx, d)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ks := &KeyStore{CreatedAt: created, SchemaVersion: version, tables: map[string]*rowSet{}}
	for _, name := range keyTables {
		t := dict.Table(name)
		if t == nil {
			return nil, fmt.Errorf("backup: the dictionary has no %s table", name)
		}
		cols, key := columnNames(t)
		set := &rowSet{columns: cols}
		rows, err := tx.QueryContext(ctx, "SELECT "+selectColumns(d, cols)+" FROM "+name+" ORDER BY "+key[0])
		if err != nil {
			return nil, fmt.Errorf("backup: read %s: %w", name, err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("backup: read %s: %w", name, err)
			}
			set.rows = append(set.rows, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("backup: read %s: %w", name, err)
		}
		ks.tables[name] = set
	}
	erasedAt := dict.Table("persons").Column("erased_at")
	rows, err := tx.QueryContext(ctx, `SELECT id, `+selectColumns(d, []string{"erased_at"})+` FROM persons WHERE erased_at IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("backup: read erasures: %w", err)
	}
	set := &rowSet{columns: []string{"person_id", "erased_at"}}
	for rows.Next() {
		var id int64
		var raw any
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: read erasures: %w", err)
		}
		at, err := erasedAt.FromDB(raw)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: read erasures: %w", err)
		}
		set.rows = append(set.rows, []any{id, at})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: read erasures: %w", err)
	}
	ks.tables[erasedTable] = set
	ident := &rowSet{columns: []string{"name", "value"}}
	for _, name := range identitySettings {
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("backup: read the database's identity: %w", err)
		}
		ident.rows = append(ident.rows, []any{name, v})
	}
	ks.tables[identityTable] = ident
	if err := ks.index(); err != nil {
		return nil, err
	}
	return ks, nil
}

// index fills Erased and the set of keyed persons from the tables.
func (ks *KeyStore) index() error {
	ks.Erased, ks.keyed = map[int64]time.Time{}, map[int64]bool{}
	for _, name := range append([]string{erasedTable, identityTable}, keyTables...) {
		if ks.tables[name] == nil {
			return fmt.Errorf("%w: the key store has no %s", errFormat, name)
		}
	}
	sk := ks.tables["subject_keys"]
	col := indexOf(sk.columns, "person_id")
	if col < 0 {
		return errFormat
	}
	for _, r := range sk.rows {
		id, ok := r[col].(int64)
		if !ok {
			return errFormat
		}
		ks.keyed[id] = true
	}
	ks.identity = map[string]string{}
	for _, r := range ks.tables[identityTable].rows {
		name, ok := r[0].(string)
		value, ok2 := r[1].(string)
		if !ok || !ok2 {
			return errFormat
		}
		ks.identity[name] = value
	}
	for _, r := range ks.tables[erasedTable].rows {
		id, ok := r[0].(int64)
		at, ok2 := r[1].(time.Time)
		if !ok || !ok2 {
			return errFormat
		}
		ks.Erased[id] = at
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Write writes the key store encrypted like a backup (sealed under the current master key):
// the subject keys inside are wrapped under the master key besides.
func (ks *KeyStore) Write(w io.Writer, kr *keys.Keyring, dialect db.Dialect) (Summary, error) {
	sum := Summary{SchemaVersion: ks.SchemaVersion, CreatedAt: ks.CreatedAt}
	s, err := newSealer(w, kr, kindKeys, ks.CreatedAt)
	if err != nil {
		return sum, err
	}
	enc := newEncoder(s)
	if err := enc.header(streamHeader{Kind: kindKeys, SchemaVersion: ks.SchemaVersion, CreatedAt: ks.CreatedAt, Dialect: string(dialect)}); err != nil {
		return sum, fmt.Errorf("backup: write: %w", err)
	}
	for _, name := range append(append([]string{}, keyTables...), erasedTable, identityTable) {
		set := ks.tables[name]
		if err := enc.table(name, set.columns); err != nil {
			return sum, fmt.Errorf("backup: write: %w", err)
		}
		for _, r := range set.rows {
			if err := enc.row(r); err != nil {
				return sum, fmt.Errorf("backup: write: %w", err)
			}
		}
		if err := enc.endTable(int64(len(set.rows))); err != nil {
			return sum, fmt.Errorf("backup: write: %w", err)
		}
		sum.Tables++
		sum.Rows += int64(len(set.rows))
	}
	if err := enc.end(sum.Tables); err != nil {
		return sum, fmt.Errorf("backup: write: %w", err)
	}
	return sum, s.Close()
}

// OpenKeyStore reads a key store export, refusing one changed or cut short.
func OpenKeyStore(r io.Reader, find KeyFinder) (*KeyStore, error) {
	o, err := newOpener(r, kindKeys, find)
	if err != nil {
		return nil, err
	}
	dec := newDecoder(o)
	h, err := dec.header()
	if err != nil {
		return nil, err
	}
	if h.Kind != kindKeys || !h.CreatedAt.Equal(o.CreatedAt) {
		return nil, errFormat
	}
	ks := &KeyStore{CreatedAt: h.CreatedAt, SchemaVersion: h.SchemaVersion, tables: map[string]*rowSet{}}
	_, _, err = dec.walk(func(t table) error {
		ks.tables[t.Name] = &rowSet{columns: t.Columns}
		return nil
	}, func(t table, vals []any) error {
		ks.tables[t.Name].rows = append(ks.tables[t.Name].rows, append([]any(nil), vals...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ks.index(); err != nil {
		return nil, err
	}
	return ks, nil
}
