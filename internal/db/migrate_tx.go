package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MigrateToTx applies inside tx the migrations up to and including version that the database
// has not applied, creating schema_migrations if needed, and returns them. A restore uses it
// (internal/backup): the schema of the backup, its rows and the migrations after it arrive
// together, or nothing does.
func (d *DB) MigrateToTx(ctx context.Context, tx *sql.Tx, version int) ([]Migration, error) {
	if _, err := tx.ExecContext(ctx, d.migrationTableDDL()); err != nil {
		return nil, fmt.Errorf("db: create schema_migrations: %w", err)
	}
	all, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("db: read applied migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("db: read applied migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: read applied migrations: %w", err)
	}
	var done []Migration
	for _, m := range all {
		if m.Version > version || applied[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("db: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return nil, fmt.Errorf("db: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}
