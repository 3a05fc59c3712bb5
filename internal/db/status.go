package db

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// MigrationStatus is one migration as `vigie migrate --status` lists it.
type MigrationStatus struct {
	Version int
	Name    string
	Applied bool
	// AppliedAt is when it was applied (UTC); zero while pending.
	AppliedAt time.Time
	// Unknown marks a migration the database has applied but this binary does not know: the
	// database was migrated by a newer version of Vigie.
	Unknown bool
}

// Status lists every migration this binary knows, applied or pending, in order, followed by any the
// database has applied that it does not know. It changes nothing: on a database never migrated,
// everything is pending.
func (d *DB) Status(ctx context.Context) ([]MigrationStatus, error) {
	all, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	applied := map[int]MigrationStatus{}
	if !d.tableMissing(ctx) {
		rows, err := d.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations`)
		if err != nil {
			return nil, fmt.Errorf("db: read applied migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s MigrationStatus
			if err := rows.Scan(&s.Version, &s.Name, &s.AppliedAt); err != nil {
				return nil, fmt.Errorf("db: read applied migrations: %w", err)
			}
			s.Applied, s.AppliedAt = true, s.AppliedAt.UTC()
			applied[s.Version] = s
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("db: read applied migrations: %w", err)
		}
	}
	var out []MigrationStatus
	for _, m := range all {
		s, ok := applied[m.Version]
		if !ok {
			s = MigrationStatus{Version: m.Version, Name: m.Name}
		}
		delete(applied, m.Version)
		out = append(out, s)
	}
	var unknown []MigrationStatus
	for _, s := range applied {
		s.Unknown = true
		unknown = append(unknown, s)
	}
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Version < unknown[j].Version })
	return append(out, unknown...), nil
}

// MigrateTo applies the pending migrations up to and including version, each in its own
// transaction, and returns what it applied. Upgrade tests use it to build a database as an earlier
// release left it; everything else uses Migrate.
func (d *DB) MigrateTo(ctx context.Context, version int) ([]Migration, error) {
	return d.migrateUpTo(ctx, migrationFiles, version)
}
