package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"

	"vigie/internal/app"
	"vigie/internal/db"
)

// migrateStatus prints every migration the binary knows, applied (with when, in UTC) or pending,
// then those the database has that the binary does not (a newer Vigie migrated it). It changes
// nothing, not even by creating a missing SQLite file, and exits 0 whatever it finds: the server
// is what refuses to start on pending migrations.
func migrateStatus(ctx context.Context, e env, cfg app.Config) error {
	var list []db.MigrationStatus
	if _, isPostgres := app.RedactedURL(cfg.DatabaseURL); !isPostgres {
		if _, err := os.Stat(cfg.DatabaseURL); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.stdout, "no database file %s yet: every migration is pending\n", cfg.DatabaseURL)
			all, err := (&db.DB{Dialect: db.SQLite}).Migrations()
			if err != nil {
				return err
			}
			for _, m := range all {
				list = append(list, db.MigrationStatus{Version: m.Version, Name: m.Name})
			}
		}
	}
	if list == nil {
		a, err := app.Open(ctx, cfg, e.log)
		if err != nil {
			return err
		}
		defer a.Close()
		if list, err = a.DB.Status(ctx); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	var applied, pending, unknown int
	for _, m := range list {
		name := fmt.Sprintf("%04d_%s", m.Version, m.Name)
		switch {
		case m.Unknown:
			unknown++
			fmt.Fprintf(w, "%s\tapplied\t%s (unknown to this version of vigie)\n", name, m.AppliedAt.Format("2006-01-02 15:04:05 UTC"))
		case m.Applied:
			applied++
			fmt.Fprintf(w, "%s\tapplied\t%s\n", name, m.AppliedAt.Format("2006-01-02 15:04:05 UTC"))
		default:
			pending++
			fmt.Fprintf(w, "%s\tpending\n", name)
		}
	}
	w.Flush()
	fmt.Fprintf(e.stdout, "%d applied, %d pending", applied, pending)
	if unknown > 0 {
		fmt.Fprintf(e.stdout, ", %d unknown to this version (a newer vigie migrated this database)", unknown)
	}
	if pending > 0 {
		fmt.Fprint(e.stdout, ": run `vigie migrate`")
	}
	fmt.Fprintln(e.stdout)
	return nil
}
