// Package db opens Vigie's database — embedded SQLite by default, PostgreSQL when a URL is given —
// and applies the embedded, ordered, transactional migrations.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL flavour; statements use $1… placeholders on both.
type Dialect string

// The two databases Vigie runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database and its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// Open opens PostgreSQL when databaseURL is a postgres:// URL, SQLite otherwise (a file path).
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return openPostgres(ctx, databaseURL)
	}
	return openSQLite(ctx, databaseURL)
}

// openSQLite sets the pragmas in one place: WAL so readers never wait for the writer, foreign keys
// on, a busy timeout instead of immediate "database is locked", and IMMEDIATE transactions so two
// writers queue instead of deadlocking on a lock upgrade.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := createSQLite(ctx, path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "secure_delete(1)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	// Readers never wait for the writer in WAL mode, so many connections serve concurrent
	// requests; writers queue on the database lock (busy timeout) whatever their number.
	sqldb.SetMaxOpenConns(max(16, 8*runtime.NumCPU()))
	sqldb.SetMaxIdleConns(max(16, 8*runtime.NumCPU()))
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	return &DB{DB: sqldb, Dialect: SQLite}, nil
}

// sqlitePageSize is the page size of a database Vigie creates. SQLite's default of 4 KiB makes a
// large write (an import, a lifecycle sweep) one system call per page, twice over with the WAL
// and its checkpoint: importing 200,000 rows took 26 s with 4 KiB pages and 19 s with 16 KiB.
// A page is read and written whole, so larger pages would cost small updates more.
const sqlitePageSize = 16384

// createSQLite creates a database file with Vigie's page size, fixed once the first page is
// written. The driver applies its pragmas sorted by name, journal_mode before page_size, so the
// page size of a new file is set here, on a connection of its own, before the pool opens it.
// An existing database keeps the page size it was created with.
func createSQLite(ctx context.Context, path string) error {
	if info, err := os.Stat(path); err == nil && info.Size() > 0 || err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil // an existing database, or one the pool will report it cannot open
	}
	sqldb, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("db: create sqlite: %w", err)
	}
	defer sqldb.Close()
	for _, pragma := range []string{fmt.Sprintf("PRAGMA page_size = %d", sqlitePageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := sqldb.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("db: create sqlite %s: %w", path, err)
		}
	}
	return nil
}

func openPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	sqldb, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("db: open postgres: %w", err)
	}
	sqldb.SetMaxOpenConns(4 * runtime.NumCPU())
	sqldb.SetMaxIdleConns(4 * runtime.NumCPU())
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: connect to postgres: %w", redactURL(err, databaseURL))
	}
	return &DB{DB: sqldb, Dialect: Postgres}, nil
}

// redactURL keeps a password in the URL out of the error text.
func redactURL(err error, databaseURL string) error {
	u, perr := url.Parse(databaseURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// InTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (d *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return InTx(ctx, d.DB, fn)
}

// Beginner is a database or one of its connections: what a transaction starts from.
type Beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// InTx is DB.InTx on a connection of one's own (a bulk job's, with its own cache settings).
func InTx(ctx context.Context, b Beginner, fn func(*sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// Serialise makes transactions that pass the same key take turns, each seeing what the previous
// one committed: on SQLite the write lock taken at BEGIN already does it; on PostgreSQL, a
// transaction-scoped advisory lock.
func (d *DB) Serialise(ctx context.Context, tx *sql.Tx, key int64) error {
	if d.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("db: lock: %w", err)
	}
	return nil
}

// Values writes the placeholders of a multi-row VALUES list: rows rows of cols values each, in
// the order the arguments are given. SQLite gets "?": it looks numbered parameters up by name,
// scanning the statement's list for each, which costs the square in a long statement.
func (d *DB) Values(rows, cols int) string {
	var b strings.Builder
	for i := range rows * cols {
		switch {
		case i == 0:
			b.WriteByte('(')
		case i%cols == 0:
			b.WriteString("),(")
		default:
			b.WriteByte(',')
		}
		if d.Dialect == SQLite {
			b.WriteByte('?')
		} else {
			b.WriteString("$" + strconv.Itoa(i+1))
		}
	}
	if rows*cols > 0 {
		b.WriteByte(')')
	}
	return b.String()
}
