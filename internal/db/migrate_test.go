package db

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// openTest opens an empty database of the dialect: a SQLite file, or a private PostgreSQL schema.
// (apptest cannot be used here: it imports this package.)
func openTest(t *testing.T, dialect Dialect) *DB {
	t.Helper()
	ctx := context.Background()
	if dialect == SQLite {
		d, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	base := os.Getenv("VIGIE_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	admin, err := Open(cctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	schema := "vigie_migrate_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")
	admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	d, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func tableExists(t *testing.T, d *DB, name string) bool {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d.Dialect == Postgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := d.QueryRow(q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestMigrationsAreOrderedTransactionalAndGateTheServer: a fresh database has every migration
// pending; they apply once, in order; a migration that fails half-way leaves nothing behind.
func TestMigrationsAreOrderedTransactionalAndGateTheServer(t *testing.T) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			d := openTest(t, dialect)
			if err := d.CheckMigrated(ctx); !errors.Is(err, ErrPendingMigrations) {
				t.Fatalf("fresh database: %v, want pending migrations", err)
			}
			applied, err := d.Migrate(ctx)
			if err != nil || len(applied) == 0 {
				t.Fatalf("migrate: %v", err)
			}
			if again, err := d.Migrate(ctx); err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %d: %v", len(again), err)
			}
			if err := d.CheckMigrated(ctx); err != nil {
				t.Fatalf("after migrate: %v", err)
			}

			dir := "migrations/" + string(dialect) + "/"
			broken := fstest.MapFS{
				dir + "0001_core.sql":   {Data: []byte("SELECT 1")},
				dir + "9999_later.sql":  {Data: []byte("CREATE TABLE later_one (id INTEGER)")},
				dir + "9998_broken.sql": {Data: []byte("CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1)")},
			}
			if _, err := d.migrateFrom(ctx, broken); err == nil || !strings.Contains(err.Error(), "9998_broken") {
				t.Fatalf("broken migration: %v", err)
			}
			if tableExists(t, d, "half_done") {
				t.Error("a failed migration left its first statement applied")
			}
			if tableExists(t, d, "later_one") {
				t.Error("a migration after a failed one was applied")
			}
			var n int
			if err := d.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = 9998`).Scan(&n); err != nil || n != 0 {
				t.Errorf("failed migration recorded as applied: %d %v", n, err)
			}
		})
	}
}
