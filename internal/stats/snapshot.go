package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Auditor records what the statistics service did: exports and snapshots.
type Auditor interface {
	Record(ctx context.Context, events ...audit.Event) error
}

// Service keeps the statistics and makes their extracts.
type Service struct {
	db     *db.DB
	reader *Reader
	audit  Auditor
	now    func() time.Time
}

// New builds the service over the database, the dictionary and the subject keys.
func New(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, a Auditor, now func() time.Time) *Service {
	return &Service{db: d, reader: NewReader(dict, kr), audit: a, now: now}
}

// snapshotLock is the advisory lock key of the snapshot's rebuild ("VIGIE-ST" in ASCII).
const snapshotLock = 0x5649474945_5354

// fingerprint reads, from indexes, the latest change of everything the snapshot comes from: a
// new, changed or deleted quote, person or contract, a consent, an objection, a restriction
// placed or lifted, an erased key.
func fingerprint(ctx context.Context, q Querier) (string, error) {
	const n = 14
	rows, err := q.QueryContext(ctx, `SELECT (SELECT COUNT(*) FROM quotes), (SELECT MAX(id) FROM quotes), (SELECT MAX(updated_at) FROM quotes),
		(SELECT COUNT(*) FROM persons), (SELECT MAX(id) FROM persons), (SELECT MAX(updated_at) FROM persons),
		(SELECT COUNT(*) FROM contracts), (SELECT MAX(id) FROM contracts), (SELECT MAX(updated_at) FROM contracts),
		(SELECT MAX(id) FROM consents), (SELECT MAX(id) FROM objections),
		(SELECT MAX(id) FROM restrictions), (SELECT COUNT(lifted_at) FROM restrictions), (SELECT COUNT(*) FROM subject_keys)`)
	if err != nil {
		return "", fmt.Errorf("statistics: read what the snapshot comes from: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", fmt.Errorf("statistics: read what the snapshot comes from: %w", errors.Join(rows.Err(), sql.ErrNoRows))
	}
	values := make([]any, n)
	dest := make([]any, n)
	for i := range values {
		dest[i] = &values[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return "", fmt.Errorf("statistics: read what the snapshot comes from: %w", err)
	}
	parts := make([]string, n)
	for i, v := range values {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339Nano)
		}
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|"), rows.Err()
}

// Snapshot describes the snapshot of the live quotes.
type Snapshot struct {
	RefreshedAt time.Time
	LiveRows    int64
	Fresh       bool // nothing it comes from changed since
}

// Snapshot tells how current the live part of the statistics is.
func (s *Service) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	var print string
	var at any
	err := s.db.QueryRowContext(ctx, "SELECT fingerprint, refreshed_at, live_rows FROM statistics_snapshots ORDER BY id DESC LIMIT 1").
		Scan(&print, &at, &snap.LiveRows)
	if errors.Is(err, sql.ErrNoRows) {
		return snap, nil
	}
	if err != nil {
		return snap, fmt.Errorf("statistics: read the snapshot: %w", err)
	}
	if t, ok := dateOf(at); ok {
		snap.RefreshedAt = t
	}
	now, err := fingerprint(ctx, s.db)
	if err != nil {
		return snap, err
	}
	snap.Fresh = now == print
	return snap, nil
}

// Refresh rebuilds the live part of the statistics from the quotes of the people who may be
// counted (Eligible), in one transaction: an extract sees the old snapshot or the new one.
func (s *Service) Refresh(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.db.Serialise(ctx, tx, snapshotLock); err != nil {
			return fmt.Errorf("statistics: %w", err)
		}
		// Read first: whatever changes from now on makes the snapshot stale, never silently missed.
		print, err := fingerprint(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM statistics WHERE origin = $1", OriginLive); err != nil {
			return fmt.Errorf("statistics: clear the snapshot: %w", err)
		}
		w, err := NewWriter(ctx, tx, OriginLive)
		if err != nil {
			return err
		}
		err = s.reader.Quotes(ctx, tx, "1 = 1", func(_ int64, r Row) error {
			n++
			return w.Add(ctx, r)
		})
		if err != nil {
			return err
		}
		if err := w.Flush(ctx); err != nil {
			return err
		}
		if err := fillCells(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM statistics_snapshots"); err != nil {
			return fmt.Errorf("statistics: record the snapshot: %w", err)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO statistics_snapshots (fingerprint, refreshed_at, live_rows) VALUES ($1, $2, $3)",
			print, s.now().UTC(), n)
		if err != nil {
			return fmt.Errorf("statistics: record the snapshot: %w", err)
		}
		return nil
	})
	return n, err
}

// ensureFresh rebuilds the snapshot when what it comes from changed since, and says when the
// snapshot in force was made.
func (s *Service) ensureFresh(ctx context.Context) (time.Time, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil || snap.Fresh {
		return snap.RefreshedAt, err
	}
	if _, err = s.Refresh(ctx); err != nil {
		return time.Time{}, err
	}
	return s.now().UTC(), nil
}

// fillCells computes the cell of rows written before cells existed (anonymised by an earlier
// version), from their bands.
func fillCells(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, month, age_band, departement, vehicle_energy, vehicle_usage, vehicle_age_band, coverage,
		bonus_malus_band, price_band, channel, insurer, converted, contract_duration_band FROM statistics WHERE cell IS NULL`)
	if err != nil {
		return fmt.Errorf("statistics: read rows without cell: %w", err)
	}
	type pending struct {
		id  int64
		row Row
	}
	var todo []pending
	for rows.Next() {
		var p pending
		var s [10]sql.NullString
		if err := rows.Scan(&p.id, &p.row.Month, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &p.row.PriceBand, &s[7], &s[8],
			&p.row.Converted, &s[9]); err != nil {
			rows.Close()
			return fmt.Errorf("statistics: read rows without cell: %w", err)
		}
		r := &p.row
		r.AgeBand, r.Departement, r.Energy, r.Usage, r.VehicleAgeBand = s[0].String, s[1].String, s[2].String, s[3].String, s[4].String
		r.Coverage, r.BonusMalusBand, r.Channel, r.Insurer, r.DurationBand = s[5].String, s[6].String, s[7].String, s[8].String, s[9].String
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return err
	}
	w, err := NewWriter(ctx, tx, OriginArchive)
	if err != nil {
		return err
	}
	for _, p := range todo {
		code, err := w.insurer(ctx, p.row.Insurer)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE statistics SET cell = $1 WHERE id = $2", int64(p.row.cell(code)), p.id); err != nil {
			return fmt.Errorf("statistics: fill a cell: %w", err)
		}
	}
	return nil
}
