// Package apptest gives tests a fresh, migrated, unlocked Vigie on every database the suite runs
// on: a SQLite file in a temporary directory, and a private schema on the PostgreSQL server named
// by VIGIE_TEST_POSTGRES_URL (default: the local server). Without a reachable PostgreSQL the
// PostgreSQL half is skipped, except under CI (CI=true), where it fails.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"vigie/internal/app"
	"vigie/internal/auth"
)

// DefaultPostgresURL is the machine's PostgreSQL server that tests use unless told otherwise.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Dialects are the databases every storage test runs on.
var Dialects = []string{"sqlite", "postgres"}

// Each runs fn as a subtest once per database, with a fresh app.
func Each(t *testing.T, fn func(t *testing.T, a *app.App)) {
	t.Helper()
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			fn(t, New(t, dialect))
		})
	}
}

// New returns a migrated, unlocked app on the given database, removed when the test ends.
func New(t testing.TB, dialect string) *app.App {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := app.Config{MasterKeyFile: filepath.Join(dir, "vigie.key"), AuditKeyFile: filepath.Join(dir, "vigie-audit.key"),
		AuditJournal:    filepath.Join(dir, "vigie-audit-journal"),
		PasswordHashing: auth.TestArgon2()}
	switch dialect {
	case "sqlite":
		cfg.DatabaseURL = filepath.Join(dir, "vigie.db")
	case "postgres":
		cfg.DatabaseURL = PostgresSchemaURL(t)
	default:
		t.Fatalf("apptest: unknown dialect %s", dialect)
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("apptest: open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.DB.Migrate(ctx); err != nil {
		t.Fatalf("apptest: migrate: %v", err)
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatalf("apptest: unlock: %v", err)
	}
	return a
}

// PostgresSchemaURL creates a private schema on the test server and returns a URL whose
// search_path points at it; the schema is dropped when the test ends.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("VIGIE_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("apptest: PostgreSQL is required under CI and unreachable: %v", err)
		}
		t.Skipf("apptest: PostgreSQL unreachable, skipping (set VIGIE_TEST_POSTGRES_URL): %v", err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := "vigie_test_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("apptest: create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("apptest: bad VIGIE_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
