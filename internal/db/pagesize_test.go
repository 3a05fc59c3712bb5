package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestANewSQLiteDatabaseHasLargePagesAndAnOldOneKeepsItsOwn: Vigie creates its SQLite file with
// 16 KiB pages, in WAL mode; a database created earlier with another page size opens unchanged.
func TestANewSQLiteDatabaseHasLargePagesAndAnOldOneKeepsItsOwn(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		existing int // page size of a file made before Vigie opens it; 0: no file
		want     int
	}{
		{"new file", 0, sqlitePageSize},
		{"file of an earlier version", 4096, 4096},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigie.db")
			if c.existing != 0 {
				old, err := sql.Open("sqlite", "file:"+path)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{"PRAGMA page_size = 4096", "CREATE TABLE earlier (id INTEGER PRIMARY KEY)"} {
					if _, err := old.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				old.Close()
			}
			d, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var size int
			var mode string
			if err := d.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
				t.Fatal(err)
			}
			if err := d.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if size != c.want || mode != "wal" {
				t.Errorf("page size %d, journal %s; want %d, wal", size, mode, c.want)
			}
		})
	}
}
