package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"vigie/internal/db"
)

// TestMigrateStatusListsAppliedAndPendingAndChangesNothing follows a database through an upgrade
// with `vigie migrate --status`: before it exists (nothing created), one release behind (the
// latest migration pending), migrated (all applied, with when), and migrated by a newer binary.
// Each time the command exits 0.
func TestMigrateStatusListsAppliedAndPendingAndChangesNothing(t *testing.T) {
	c := newCLI(t)
	all, err := (&db.DB{Dialect: db.SQLite}).Migrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := all[len(all)-1]
	latestName := fmt.Sprintf("%04d_%s", latest.Version, latest.Name)
	applied := regexp.MustCompile(`(?m)^0001_core +applied +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`)
	pendingLatest := regexp.MustCompile(`(?m)^` + latestName + ` +pending$`)

	for _, step := range []struct {
		name    string
		prepare func(t *testing.T)
		want    []*regexp.Regexp
	}{
		{"no database yet: everything pending", nil,
			[]*regexp.Regexp{regexp.MustCompile(`(?m)^0001_core +pending$`), pendingLatest, regexp.MustCompile(fmt.Sprintf(`0 applied, %d pending: run .vigie migrate.`, len(all)))}},
		{"one release behind: the latest pending", func(t *testing.T) { migrateTo(t, c.file("vigie.db"), all[len(all)-2].Version) },
			[]*regexp.Regexp{applied, pendingLatest, regexp.MustCompile(fmt.Sprintf(`%d applied, 1 pending`, len(all)-1))}},
		{"migrated: everything applied", func(t *testing.T) { migrateTo(t, c.file("vigie.db"), latest.Version) },
			[]*regexp.Regexp{applied, regexp.MustCompile(`(?m)^` + latestName + ` +applied `), regexp.MustCompile(fmt.Sprintf(`(?m)^%d applied, 0 pending$`, len(all)))}},
		{"migrated by a newer vigie: the unknown one named", func(t *testing.T) {
			d, err := db.Open(context.Background(), c.file("vigie.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', CURRENT_TIMESTAMP)`); err != nil {
				t.Fatal(err)
			}
		}, []*regexp.Regexp{regexp.MustCompile(`(?m)^9999_from_the_future +applied .*unknown to this version`), regexp.MustCompile(`1 unknown to this version`)}},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.prepare != nil {
				step.prepare(t)
			}
			code, out, errOut := c.run("", "migrate", "--status")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, re := range step.want {
				if !re.MatchString(out) {
					t.Errorf("output does not match %s:\n%s", re, out)
				}
			}
			if strings.Count(out, "\n") < len(all)+1 {
				t.Errorf("want a line per migration:\n%s", out)
			}
		})
	}
	if _, err := os.Stat(c.file("vigie.db")); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateStatusCreatesNoDatabase: listing never creates the SQLite file it was pointed at.
func TestMigrateStatusCreatesNoDatabase(t *testing.T) {
	c := newCLI(t)
	if code, _, errOut := c.run("", "migrate", "--status"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(c.file("vigie.db")); err == nil {
		t.Fatal("migrate --status created the database file")
	}
}

func migrateTo(t *testing.T, path string, version int) {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.MigrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
}
