package backup

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/masterkey"
	"vigie/internal/rights"
)

// ActionRestore is the audit action of a restore, appended to the restored trail with its counts.
const ActionRestore = "restore"

// ErrNotEmpty refuses a restore into a database that holds data.
var ErrNotEmpty = errors.New("backup: restore needs a new, empty database")

// RestoreOptions say what to restore and with which keys.
type RestoreOptions struct {
	// Open opens the backup; it is read twice, first whole to check it, then to restore it.
	Open func() (io.ReadCloser, error)
	// Keys is the current key store (an export, or read from the live database).
	Keys *KeyStore
	// MasterKeyFile and AuditKeyFile are the files the restored database will be opened with.
	MasterKeyFile string
	AuditKeyFile  string
	// Find opens the backup's data key; default masterkey.FindKey(MasterKeyFile).
	Find KeyFinder
	Now  func() time.Time
	Log  *slog.Logger
}

// RestoreReport is what a restore did, in counts.
type RestoreReport struct {
	SchemaVersion   int
	BackupCreatedAt time.Time
	Tables          int
	Rows            int64
	// Migrated counts the migrations applied after the backup's schema version.
	Migrated int
	// Keys counts the subject keys loaded from the key store.
	Keys int
	// Erasures counts the erasures re-applied; Removed the persons the retention lifecycle had
	// removed since the backup (their key gone, no tombstone), removed again.
	Erasures, Removed int
}

// Restore brings a backup back into target, which must be empty (no table holding data), in one
// transaction: nothing is written unless everything is. It checks the whole backup first (a file
// changed or cut short is refused before anything else), then migrates the database to the
// backup's schema version, inserts the rows table by table (parents first), loads the subject
// keys and master key versions from the key store, migrates to the latest schema, and re-applies
// every erasure made since the backup (R26): the person's rows are deleted as the erasure did,
// and their key, destroyed since, is not in the key store — what might remain sealed under it
// stays unreadable. Finally it checks that the master and audit key files open the result.
func Restore(ctx context.Context, target *db.DB, dict *dictionary.Dictionary, opt RestoreOptions) (RestoreReport, error) {
	var rep RestoreReport
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Find == nil {
		opt.Find = masterkey.FindKey(opt.MasterKeyFile)
	}
	if opt.Keys == nil {
		return rep, errors.New("backup: a restore needs the current key store (--keys FILE or --keys-from-database URL)")
	}
	// 1. The whole file, authenticated, before anything is touched.
	sum, err := inspect(opt)
	if err != nil {
		return rep, err
	}
	rep.SchemaVersion, rep.BackupCreatedAt = sum.SchemaVersion, sum.CreatedAt
	migrations, err := target.Migrations()
	if err != nil {
		return rep, err
	}
	if latest := migrations[len(migrations)-1].Version; sum.SchemaVersion > latest {
		return rep, fmt.Errorf("backup: the backup has schema version %d, this Vigie knows up to %d: restore it with a later Vigie", sum.SchemaVersion, latest)
	}
	if opt.Keys.CreatedAt.Before(sum.CreatedAt) {
		return rep, fmt.Errorf("backup: the key store (%s) is older than the backup (%s): it lacks the keys of persons created in between; export the current one (vigie backup keys)",
			opt.Keys.CreatedAt.Format(time.RFC3339), sum.CreatedAt.Format(time.RFC3339))
	}
	signer, err := readAuditKey(opt.AuditKeyFile)
	if err != nil {
		return rep, err
	}
	err = target.InTx(ctx, func(tx *sql.Tx) error {
		rep = RestoreReport{SchemaVersion: sum.SchemaVersion, BackupCreatedAt: sum.CreatedAt}
		if err := checkEmpty(ctx, target, tx, sum.SchemaVersion); err != nil {
			return err
		}
		if _, err := target.MigrateToTx(ctx, tx, sum.SchemaVersion); err != nil {
			return err
		}
		// 2. The rows, then the key store.
		persons, err := loadData(ctx, target, dict, tx, opt, &rep)
		if err != nil {
			return err
		}
		if err := sameDatabase(ctx, tx, opt.Keys); err != nil {
			return err
		}
		if err := loadKeys(ctx, target, dict, tx, opt.Keys, persons, &rep); err != nil {
			return err
		}
		if err := resetSequences(ctx, target, tx); err != nil {
			return err
		}
		// 3. The schema of this Vigie.
		applied, err := target.MigrateToTx(ctx, tx, math.MaxInt)
		if err != nil {
			return err
		}
		rep.Migrated = len(applied)
		// 4. The keys open it.
		kr, err := checkKeys(ctx, tx, opt.MasterKeyFile, signer)
		if err != nil {
			return err
		}
		// 5. The erasures made since the backup.
		trail, err := audit.New(ctx, target, opt.Now, kr.Pseudonym, signer, "")
		if err != nil {
			return err
		}
		cons := consent.New(target, kr, trail, opt.Now)
		rts := rights.New(target, dict, kr, nil, cons, trail, nil, consent.Controller{}, opt.Now)
		for _, id := range slices.Sorted(maps.Keys(persons)) {
			if persons[id] {
				continue // already erased when the backup was made
			}
			at, erased := opt.Keys.Erased[id]
			removed := !erased && !opt.Keys.HasKey(id)
			if !erased && !removed {
				continue
			}
			if removed {
				at = opt.Keys.CreatedAt
			}
			if _, err := rts.ReapplyErasureTx(ctx, tx, id, at, removed); err != nil {
				return fmt.Errorf("backup: re-apply the erasure of person %d: %w", id, err)
			}
			if removed {
				rep.Removed++
			} else {
				rep.Erasures++
			}
		}
		if err := resetSequences(ctx, target, tx); err != nil {
			return err
		}
		return trail.AppendTx(ctx, tx, audit.Event{Department: "admin", Action: ActionRestore, Purpose: "operations",
			Detail: fmt.Sprintf("backup_created_at=%s;schema_version=%d;tables=%d;rows=%d;keys=%d;migrated=%d;erasures_reapplied=%d;removed=%d",
				sum.CreatedAt.Format(time.RFC3339), sum.SchemaVersion, rep.Tables, rep.Rows, rep.Keys, rep.Migrated, rep.Erasures, rep.Removed)})
	})
	if err != nil {
		return rep, err
	}
	opt.Log.Info("backup restored", "schema_version", rep.SchemaVersion, "tables", rep.Tables, "rows", rep.Rows, "keys", rep.Keys,
		"migrated", rep.Migrated, "erasures_reapplied", rep.Erasures, "removed", rep.Removed)
	return rep, nil
}

func inspect(opt RestoreOptions) (Summary, error) {
	rc, err := opt.Open()
	if err != nil {
		return Summary{}, fmt.Errorf("backup: open: %w", err)
	}
	defer rc.Close()
	return Inspect(rc, opt.Find)
}

// readAuditKey reads the audit signing key the restored database will be opened with; it must
// exist (the restored trail was started with it).
func readAuditKey(path string) (ed25519.PrivateKey, error) {
	seed, err := keys.ReadKeyFile(path, ed25519.SeedSize, "audit signing key")
	if err != nil {
		return nil, fmt.Errorf("backup: the audit signing key the restored trail needs: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// checkKeys builds the restored database's keyring as app.Unlock will, and refuses keys that
// would not open it: a master key that is not the one of its data, an audit key that is not the
// one of its trail.
func checkKeys(ctx context.Context, tx *sql.Tx, masterKeyFile string, signer ed25519.PrivateKey) (*keys.Keyring, error) {
	kr, err := masterkey.Open(ctx, tx, masterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("backup: the master key file does not open the restored database: %w", err)
	}
	setting := func(name string) (string, error) {
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return v, err
	}
	check, err := setting("master_key_check")
	if err != nil {
		return nil, fmt.Errorf("backup: read the key check: %w", err)
	}
	if check != "" && check != kr.Check() {
		return nil, fmt.Errorf("backup: %w", keys.ErrWrongMasterKey)
	}
	public, err := setting("audit_public_key")
	if err != nil {
		return nil, fmt.Errorf("backup: read the audit public key: %w", err)
	}
	if public != "" && public != hex.EncodeToString(signer.Public().(ed25519.PublicKey)) {
		return nil, errors.New("backup: the audit signing key is not the one the backed-up trail was started with (wrong VIGIE_AUDIT_KEY_FILE?)")
	}
	return kr, nil
}

// sameDatabase refuses a key store that is not the backed-up database's: its persons' keys would
// be missing, and each would be taken for erased.
func sameDatabase(ctx context.Context, tx *sql.Tx, ks *KeyStore) error {
	for _, name := range identitySettings {
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("backup: read the backup's %s: %w", name, err)
		}
		if v != ks.identity[name] {
			return fmt.Errorf("backup: the key store is another database's (its %s differs from the backup's); nothing was changed", name)
		}
	}
	return nil
}

// checkEmpty refuses a database with data: only tables without rows, the migrations ledger (up
// to the backup's version) and the audit chains' initial heads are accepted — what a failed
// restore or `vigie migrate` without a start would leave.
func checkEmpty(ctx context.Context, d *db.DB, tx *sql.Tx, backupVersion int) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if d.Dialect == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("backup: list the target's tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("backup: list the target's tables: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backup: list the target's tables: %w", err)
	}
	for _, t := range tables {
		quoted := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		where := ""
		switch t {
		case migrationsTable:
			var v int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
				return fmt.Errorf("backup: read the target's schema version: %w", err)
			}
			if v > backupVersion {
				return fmt.Errorf("%w: it is migrated to schema version %d, past the backup's %d; nothing was changed", ErrNotEmpty, v, backupVersion)
			}
			continue
		case "audit_heads":
			where = " WHERE seq <> 0"
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+quoted+where+` LIMIT 1) x`).Scan(&n); err != nil {
			return fmt.Errorf("backup: read the target's table %s: %w", t, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: table %s holds data; nothing was changed", ErrNotEmpty, t)
		}
	}
	return nil
}

// loadData inserts the backup's rows, table by table in the order of the file (parents first),
// and returns the persons it holds, each with whether it was already erased then.
func loadData(ctx context.Context, d *db.DB, dict *dictionary.Dictionary, tx *sql.Tx, opt RestoreOptions, rep *RestoreReport) (map[int64]bool, error) {
	rc, err := opt.Open()
	if err != nil {
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	defer rc.Close()
	o, err := newOpener(rc, kindData, opt.Find)
	if err != nil {
		return nil, err
	}
	dec := newDecoder(o)
	h, err := dec.header()
	if err != nil {
		return nil, err
	}
	persons := map[int64]bool{}
	var ins *inserter
	var idCol, erasedCol int
	tables, rows, err := dec.walk(func(t table) error {
		if ins != nil {
			if err := ins.flush(ctx); err != nil {
				return err
			}
		}
		if t.Name == migrationsTable || slices.Contains(keyTables, t.Name) || dict.Table(t.Name) == nil && !validName(t.Name) {
			return fmt.Errorf("%w: unexpected table %q", errFormat, t.Name)
		}
		// What the migrations put there (the audit chains' first heads) gives way to the backup.
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.Name); err != nil {
			return fmt.Errorf("backup: restore %s: %w", t.Name, err)
		}
		ins = newInserter(d, dict, tx, t, h.Dialect)
		idCol, erasedCol = indexOf(t.Columns, "id"), indexOf(t.Columns, "erased_at")
		return nil
	}, func(t table, vals []any) error {
		if t.Name == "persons" && idCol >= 0 && erasedCol >= 0 {
			id, ok := vals[idCol].(int64)
			if !ok {
				return errFormat
			}
			persons[id] = vals[erasedCol] != nil
		}
		return ins.add(ctx, vals)
	})
	if err != nil {
		return nil, err
	}
	if ins != nil {
		if err := ins.flush(ctx); err != nil {
			return nil, err
		}
	}
	rep.Tables, rep.Rows = tables, rows
	return persons, nil
}

// validName accepts a table name the current dictionary no longer declares (dropped by a later
// migration) only if it is a plain identifier.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// loadKeys inserts the key store: every master key version, and the subject key of each person
// of the backup (the others were created after it).
func loadKeys(ctx context.Context, d *db.DB, dict *dictionary.Dictionary, tx *sql.Tx, ks *KeyStore, persons map[int64]bool, rep *RestoreReport) error {
	for _, name := range keyTables {
		set := ks.tables[name]
		ins := newInserter(d, dict, tx, table{Name: name, Columns: set.columns}, "")
		personCol := indexOf(set.columns, "person_id")
		for _, r := range set.rows {
			if name == "subject_keys" {
				id, _ := r[personCol].(int64)
				if _, ok := persons[id]; !ok {
					continue
				}
				rep.Keys++
			}
			if err := ins.add(ctx, r); err != nil {
				return err
			}
		}
		if err := ins.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// inserter inserts rows in multi-row statements.
type inserter struct {
	tx      *sql.Tx
	table   string
	columns []string
	kinds   []*dictionary.Column // for values from the other database, else nil
	target  db.Dialect
	per     int
	pending []any
	n       int
}

func newInserter(d *db.DB, dict *dictionary.Dictionary, tx *sql.Tx, t table, sourceDialect string) *inserter {
	ins := &inserter{tx: tx, table: t.Name, columns: t.Columns, target: d.Dialect, per: max(1, min(200, 30000/len(t.Columns)))}
	if sourceDialect != "" && sourceDialect != string(d.Dialect) {
		if dt := dict.Table(t.Name); dt != nil {
			ins.kinds = make([]*dictionary.Column, len(t.Columns))
			for i, c := range t.Columns {
				ins.kinds[i] = dt.Column(c)
			}
		}
	}
	return ins
}

func (ins *inserter) add(ctx context.Context, vals []any) error {
	for i, v := range vals {
		if ins.kinds != nil && ins.kinds[i] != nil {
			v = convert(ins.kinds[i], v, ins.target)
		}
		ins.pending = append(ins.pending, v)
	}
	ins.n++
	if ins.n >= ins.per {
		return ins.flush(ctx)
	}
	return nil
}

func (ins *inserter) flush(ctx context.Context) error {
	if ins.n == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + ins.table + " (" + strings.Join(ins.columns, ", ") + ") VALUES ")
	p := 1
	for r := range ins.n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range ins.columns {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(p))
			p++
		}
		b.WriteByte(')')
	}
	if _, err := ins.tx.ExecContext(ctx, b.String(), ins.pending...); err != nil {
		return fmt.Errorf("backup: restore %s: %w", ins.table, err)
	}
	ins.pending, ins.n = ins.pending[:0], 0
	return nil
}

// convert adapts a value read from the other database to the target's column: SQLite keeps
// booleans as integers and times as text, PostgreSQL dates as times.
func convert(c *dictionary.Column, v any, target db.Dialect) any {
	if v == nil {
		return nil
	}
	switch c.Kind {
	case dictionary.KindBoolean:
		if x, ok := v.(int64); ok && target == db.Postgres {
			return x != 0
		}
	case dictionary.KindTimestamp:
		if _, ok := v.(string); ok && !c.Encrypted {
			if t, err := c.FromDB(v); err == nil {
				return t
			}
		}
	case dictionary.KindDate:
		if x, ok := v.(time.Time); ok && target == db.SQLite && !c.Encrypted {
			return x.UTC().Format(dictionary.DateLayout)
		}
	}
	return v
}

// resetSequences moves PostgreSQL's identity sequences past the restored ids (SQLite's rowids
// follow the largest id by themselves).
func resetSequences(ctx context.Context, d *db.DB, tx *sql.Tx) error {
	if d.Dialect != db.Postgres {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("backup: list identity columns: %w", err)
	}
	type identity struct{ table, column string }
	var ids []identity
	for rows.Next() {
		var id identity
		if err := rows.Scan(&id.table, &id.column); err != nil {
			rows.Close()
			return fmt.Errorf("backup: list identity columns: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backup: list identity columns: %w", err)
	}
	for _, id := range ids {
		if !validName(id.table) || !validName(id.column) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(`+id.column+`) FROM `+id.table+`), 0) + 1, false)`,
			id.table, id.column); err != nil {
			return fmt.Errorf("backup: reset the sequence of %s: %w", id.table, err)
		}
	}
	return nil
}
