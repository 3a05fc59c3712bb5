package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one embedded schema change, named NNNN_name.sql, with one file per dialect.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ErrPendingMigrations stops the server from starting on a schema older than the code.
var ErrPendingMigrations = errors.New("db: migrations are pending; run `vigie migrate` first")

// Migrations returns the dialect's embedded migrations in order.
func (d *DB) Migrations() ([]Migration, error) { return d.migrationsIn(migrationFiles) }

func (d *DB) migrationsIn(fsys fs.FS) ([]Migration, error) {
	dir := path.Join("migrations", string(d.Dialect))
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("db: migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("db: read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (d *DB) migrationTableDDL() string {
	ddl := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at TIMESTAMP NOT NULL)`
	if d.Dialect == Postgres {
		ddl = strings.Replace(ddl, "TIMESTAMP", "TIMESTAMPTZ", 1)
	}
	return ddl
}

func (d *DB) ensureMigrationTable(ctx context.Context) error {
	if _, err := d.ExecContext(ctx, d.migrationTableDDL()); err != nil {
		return fmt.Errorf("db: create schema_migrations: %w", err)
	}
	return nil
}

// Pending returns the migrations not yet applied.
func (d *DB) Pending(ctx context.Context) ([]Migration, error) {
	return d.pendingIn(ctx, migrationFiles)
}

func (d *DB) pendingIn(ctx context.Context, fsys fs.FS) ([]Migration, error) {
	all, err := d.migrationsIn(fsys)
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	rows, err := d.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		if d.tableMissing(ctx) {
			return all, nil
		}
		return nil, fmt.Errorf("db: read applied migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("db: read applied migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: read applied migrations: %w", err)
	}
	var pending []Migration
	for _, m := range all {
		if !applied[m.Version] {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

func (d *DB) tableMissing(ctx context.Context) bool {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if d.Dialect == Postgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	var n int
	return d.QueryRowContext(ctx, q).Scan(&n) == nil && n == 0
}

// Migrate applies every pending migration, each in its own transaction together with its row in
// schema_migrations, so a failed migration leaves the schema as it was. It returns what it applied.
func (d *DB) Migrate(ctx context.Context) ([]Migration, error) {
	return d.migrateFrom(ctx, migrationFiles)
}

func (d *DB) migrateFrom(ctx context.Context, fsys fs.FS) ([]Migration, error) {
	return d.migrateUpTo(ctx, fsys, math.MaxInt)
}

// migrateUpTo applies the pending migrations whose version is at most upTo (see MigrateTo).
func (d *DB) migrateUpTo(ctx context.Context, fsys fs.FS, upTo int) ([]Migration, error) {
	if err := d.ensureMigrationTable(ctx); err != nil {
		return nil, err
	}
	pending, err := d.pendingIn(ctx, fsys)
	if err != nil {
		return nil, err
	}
	for i, m := range pending {
		if m.Version > upTo {
			pending = pending[:i]
			break
		}
	}
	for _, m := range pending {
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UTC())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("db: migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return pending, nil
}

// CheckMigrated returns ErrPendingMigrations when the schema is behind the code.
func (d *DB) CheckMigrated(ctx context.Context) error {
	pending, err := d.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w (%d pending, first %04d_%s)", ErrPendingMigrations, len(pending), pending[0].Version, pending[0].Name)
	}
	return nil
}
