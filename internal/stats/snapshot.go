package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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

// Refresh rebuilds the live snapshot and returns its number of rows. The quotes are read and
// decrypted outside any write transaction and written to statistics_building in short ones, so
// that other writers never wait for the decryption (on SQLite a write transaction stops every
// other writer); one last transaction swaps the finished build in. Two rebuilds at once each swap
// their own build in, whole. What a rebuild that died left behind goes with a later one.
func (s *Service) Refresh(ctx context.Context) (int64, error) {
	// Read first: whatever changes from now on makes the snapshot stale, never silently missed.
	print, err := fingerprint(ctx, s.db)
	if err != nil {
		return 0, err
	}
	started := s.now().UTC()
	build := buildMark(started)
	var n int64
	pending := make([]Row, 0, buildBatch)
	write := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			w, err := newWriterInto(ctx, tx, "statistics_building", build)
			if err != nil {
				return err
			}
			for _, r := range pending {
				if err := w.Add(ctx, r); err != nil {
					return err
				}
			}
			return w.Flush(ctx)
		})
		pending = pending[:0]
		return err
	}
	err = s.reader.Quotes(ctx, s.db, "1 = 1", func(_ int64, r Row) error {
		n++
		if pending = append(pending, r); len(pending) == buildBatch {
			return write()
		}
		return nil
	})
	if err == nil {
		err = write()
	}
	if err == nil {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error { return s.swapIn(ctx, tx, build, started, print, n) })
	}
	if err != nil {
		// The rows of a build that cannot finish are of no use to anyone.
		if _, derr := s.db.ExecContext(context.WithoutCancel(ctx), "DELETE FROM statistics_building WHERE origin = $1", build); derr != nil {
			err = errors.Join(err, fmt.Errorf("statistics: remove the unfinished build: %w", derr))
		}
		return 0, err
	}
	return n, nil
}

// buildBatch is how many rows a write transaction of a rebuild carries.
const buildBatch = 5000

// staleBuild is how old an unfinished build must be before a later rebuild removes its rows.
const staleBuild = time.Hour

// buildMark names a build by its start, in seconds written in base 36 on eight characters: the
// marks of older builds sort first.
func buildMark(t time.Time) string {
	m := strconv.FormatInt(t.Unix(), 36)
	return strings.Repeat("0", max(0, 8-len(m))) + m
}

// swapIn replaces the live rows with a finished build, in one transaction.
func (s *Service) swapIn(ctx context.Context, tx *sql.Tx, build string, started time.Time, print string, n int64) error {
	if err := s.db.Serialise(ctx, tx, snapshotLock); err != nil {
		return fmt.Errorf("statistics: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM statistics WHERE origin = $1", OriginLive); err != nil {
		return fmt.Errorf("statistics: clear the snapshot: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO statistics (`+statisticsColumns+`, origin, cell)
		SELECT `+statisticsColumns+`, $1, cell FROM statistics_building WHERE origin = $2`, OriginLive, build); err != nil {
		return fmt.Errorf("statistics: swap the snapshot in: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM statistics_building WHERE origin = $1 OR origin < $2", build, buildMark(started.Add(-staleBuild))); err != nil {
		return fmt.Errorf("statistics: clear the build: %w", err)
	}
	if err := fillCells(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM statistics_snapshots"); err != nil {
		return fmt.Errorf("statistics: record the snapshot: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO statistics_snapshots (fingerprint, refreshed_at, live_rows) VALUES ($1, $2, $3)",
		print, s.now().UTC(), n); err != nil {
		return fmt.Errorf("statistics: record the snapshot: %w", err)
	}
	return nil
}

// statisticsColumns are the bands a statistics row holds, as the table names them.
const statisticsColumns = `month, age_band, departement, vehicle_energy, vehicle_usage, vehicle_age_band, coverage,
	bonus_malus_band, price_band, channel, insurer, converted, contract_duration_band`

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
