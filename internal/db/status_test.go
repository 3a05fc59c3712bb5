package db

import (
	"context"
	"testing"
	"time"
)

// TestStatusListsEveryMigrationAppliedOrPending: Status changes nothing, lists every migration the
// binary knows in order with when it was applied, and names one only a newer binary knows.
func TestStatusListsEveryMigrationAppliedOrPending(t *testing.T) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			d := openTest(t, dialect)
			all, err := d.Migrations()
			if err != nil {
				t.Fatal(err)
			}
			behind := all[len(all)-2].Version
			for _, c := range []struct {
				name    string
				prepare func() error
				applied func(version int) bool
				unknown int
				// untouched: the database has no schema_migrations table yet, and Status makes none
				untouched bool
			}{
				{"never migrated: all pending, nothing created", func() error { return nil },
					func(int) bool { return false }, 0, true},
				{"one release behind: the latest pending", func() error { _, err := d.MigrateTo(ctx, behind); return err },
					func(v int) bool { return v <= behind }, 0, false},
				{"migrated: all applied", func() error { _, err := d.Migrate(ctx); return err },
					func(int) bool { return true }, 0, false},
				{"migrated by a newer binary: one unknown", func() error {
					_, err := d.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'later', $1)`, time.Now().UTC())
					return err
				}, func(int) bool { return true }, 1, false},
			} {
				t.Run(c.name, func(t *testing.T) {
					if err := c.prepare(); err != nil {
						t.Fatal(err)
					}
					before := time.Now().UTC().Add(-time.Hour)
					list, err := d.Status(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if len(list) != len(all)+c.unknown {
						t.Fatalf("%d listed, want %d", len(list), len(all)+c.unknown)
					}
					for i, m := range all {
						s := list[i]
						if s.Version != m.Version || s.Name != m.Name || s.Unknown {
							t.Fatalf("entry %d is %04d_%s, want %04d_%s", i, s.Version, s.Name, m.Version, m.Name)
						}
						if s.Applied != c.applied(m.Version) {
							t.Errorf("%04d applied = %v", m.Version, s.Applied)
						}
						if s.Applied != !s.AppliedAt.IsZero() || s.Applied && (s.AppliedAt.Before(before) || s.AppliedAt.Location() != time.UTC) {
							t.Errorf("%04d applied at %v", m.Version, s.AppliedAt)
						}
					}
					if c.unknown > 0 && (!list[len(list)-1].Unknown || list[len(list)-1].Version != 9999) {
						t.Errorf("the newer migration is not named: %+v", list[len(list)-1])
					}
					if c.untouched && tableExists(t, d, "schema_migrations") {
						t.Error("Status created schema_migrations")
					}
				})
			}
		})
	}
}
