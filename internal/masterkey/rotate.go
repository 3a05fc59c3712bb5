package masterkey

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/keys"
)

// ActionRotate is the audit action of a finished rotation; its detail holds counts only.
const ActionRotate = "key_rotation"

// rotationLock serialises the steps of rotations that would otherwise race (PostgreSQL advisory
// lock; SQLite's write lock does it already).
const rotationLock = 0x7669_6b65_7973 // "vikeys"

// Auditor is the part of the audit trail a rotation uses.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
}

// Options tune a rotation.
type Options struct {
	// NewKey is the new master key; nil draws one. Resuming a rotation ignores it unless it
	// differs from the key of the rotation in progress, which is refused.
	NewKey []byte
	// BatchSize is how many subject keys one transaction re-wraps (default 500).
	BatchSize int
	// AfterBatch, when set, is called after each committed batch with the keys re-wrapped so far
	// by this run; an error stops the run there, as an interruption would (tests use it).
	AfterBatch func(rewrapped int64) error
	Now        func() time.Time
	Log        *slog.Logger
}

// Result is what a rotation did.
type Result struct {
	From, To uint32
	// Rewrapped counts the keys this run re-wrapped; Keys those under the new version at the end.
	Rewrapped, Keys int64
	Batches         int
	// Resumed is set when the run took over a rotation an earlier run had started.
	Resumed bool
	// RetiredFile is where the old master key now is.
	RetiredFile string
}

// Rotate re-wraps every subject key under a new master key (issue 3 item 8), and is resumed by
// running it again after an interruption at any point:
//
//  1. the new key is written to P.next (mode 0600), then recorded in master_keys as "rotating",
//     with the root wrapped under it; from then on every process holds both keys and wraps new
//     subject keys under the new one;
//  2. the subject keys still under another version are re-wrapped in batches of BatchSize, one
//     transaction each, so readers never wait and a killed run loses at most one batch's work;
//  3. in one transaction, only if no key is left under another version: the new version becomes
//     current, the others retired, and the audit trail records the counts;
//  4. the old key file is kept as P.vN.retired (mode 0600) and P.next takes P's place, so the
//     configuration does not change; a last pass re-wraps any key a process that had not yet
//     seen the new key wrote under the old one meanwhile.
func Rotate(ctx context.Context, d *db.DB, path string, trail Auditor, opt Options) (Result, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	var res Result
	st, err := resolve(ctx, d, path, false)
	if err != nil {
		return res, err
	}
	oldKey, err := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
	if err != nil {
		return res, err
	}
	res.From = 1
	if st.fileRow != nil {
		res.From = st.fileRow.Version
	}
	switch {
	case st.finishing:
		res.Resumed, res.To = true, st.current
	case st.rotating != nil:
		if opt.NewKey != nil && keys.MasterCheck(opt.NewKey) != st.rotating.KeyCheck {
			return res, fmt.Errorf("masterkey: a rotation to another key (version %d) is in progress; run the command again without --new-key to finish it", st.rotating.Version)
		}
		res.Resumed, res.To = true, st.rotating.Version
	default:
		if res.Resumed, err = start(ctx, d, path, st, opt); err != nil {
			return res, err
		}
		if st, err = resolve(ctx, d, path, false); err != nil {
			return res, err
		}
		res.To = st.current
	}
	// Keys a process wrapped under an old version after an earlier rotation retired it are
	// re-wrapped too, when its retired file is still there.
	for _, r := range st.rows {
		if r.State != StateRetired || slices.ContainsFunc(st.masters, func(m keys.Master) bool { return m.Version == r.Version }) {
			continue
		}
		if key, err := keys.ReadKeyFile(RetiredPath(path, r.Version), keys.MasterKeySize, "retired master key"); err == nil && keys.MasterCheck(key) == r.KeyCheck {
			st.masters = append(st.masters, keys.Master{Version: r.Version, Key: key})
		}
	}
	kr, err := st.keyring()
	if err != nil {
		return res, err
	}
	opt.Log.Info("master key rotation", "from_version", res.From, "to_version", res.To, "resumed", res.Resumed)
	if !st.finishing {
		if err := finish(ctx, d, kr, trail, &res, opt); err != nil {
			return res, err
		}
	}
	if err := swapFiles(path, oldKey, res.From, &res); err != nil {
		return res, err
	}
	// A process that wrapped a key under the old version just before it saw the new key may have
	// committed it after step 3: this keyring still holds both versions.
	late, _, err := sweep(ctx, d, kr, res.To, opt, nil)
	if err != nil {
		return res, err
	}
	if late > 0 {
		opt.Log.Warn("re-wrapped keys written under the old master key during the rotation", "keys", late)
		res.Rewrapped += late
	}
	opt.Log.Info("master key rotated", "to_version", res.To, "rewrapped", res.Rewrapped, "keys", res.Keys, "batches", res.Batches)
	return res, nil
}

// start writes the new key to P.next and records its version as rotating. A P.next left by a run
// killed before it recorded the version is taken over (resumed is then true).
func start(ctx context.Context, d *db.DB, path string, st *state, opt Options) (resumed bool, err error) {
	next := opt.NewKey
	existing, rerr := keys.ReadKeyFile(NextPath(path), keys.MasterKeySize, "next master key")
	switch {
	case rerr == nil:
		if next != nil && !bytes.Equal(next, existing) {
			return false, fmt.Errorf("masterkey: %s already holds another key, left by an interrupted rotation; run again without --new-key to use it, or remove it", NextPath(path))
		}
		next, resumed = existing, true
	case !errors.Is(rerr, fs.ErrNotExist):
		return false, rerr
	default:
		if next == nil {
			next = keys.NewMasterKey()
		}
		if len(next) != keys.MasterKeySize {
			return false, fmt.Errorf("masterkey: a master key is %d bytes", keys.MasterKeySize)
		}
	}
	check := keys.MasterCheck(next)
	for _, r := range st.rows {
		if r.KeyCheck == check {
			return false, fmt.Errorf("masterkey: the new key is version %d's key; a rotation needs a key never used", r.Version)
		}
	}
	if check == keys.MasterCheck(st.root) {
		return false, errors.New("masterkey: the new key is the database's first master key; a rotation needs a key never used")
	}
	if !resumed {
		if err := writeKeyFile(NextPath(path), next); err != nil {
			return false, err
		}
	}
	sealedRoot, err := keys.SealRoot(next, st.root)
	if err != nil {
		return false, err
	}
	now := opt.Now().UTC()
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.Serialise(ctx, tx, rotationLock); err != nil {
			return err
		}
		rows, err := Rows(ctx, tx)
		if err != nil {
			return err
		}
		version := uint32(2)
		if len(rows) == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO master_keys (version, key_check, wrapped_root, state, created_at) VALUES (1, $1, NULL, $2, $3)`,
				keys.MasterCheck(st.root), StateCurrent, now); err != nil {
				return fmt.Errorf("masterkey: record version 1: %w", err)
			}
		}
		for _, r := range rows {
			if r.State == StateRotating {
				return fmt.Errorf("masterkey: another rotation (version %d) started meanwhile", r.Version)
			}
			version = max(version, r.Version+1)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO master_keys (version, key_check, wrapped_root, state, created_at) VALUES ($1, $2, $3, $4, $5)`,
			version, check, sealedRoot, StateRotating, now); err != nil {
			return fmt.Errorf("masterkey: record version %d: %w", version, err)
		}
		return nil
	})
	return resumed, err
}

// notUnder is the condition of a subject key not wrapped under a version (2 or later) whose
// prefix is the query's first parameter.
const notUnder = `NOT (length(wrapped_key) = 64 AND substr(wrapped_key, 1, 4) = $1)`

// sweep re-wraps, in batches, the subject keys not under version; it returns how many it
// re-wrapped and how many batches it committed. after, when set, is called after each batch.
func sweep(ctx context.Context, d *db.DB, kr *keys.Keyring, version uint32, opt Options, after func(int64) error) (int64, int, error) {
	prefix := keys.WrappedPrefix(version)
	var done int64
	var batches int
	var last int64
	for {
		n := 0
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT person_id, wrapped_key FROM subject_keys WHERE `+notUnder+` AND person_id > $2`+
				` ORDER BY person_id LIMIT `+strconv.Itoa(opt.BatchSize), prefix, last)
			if err != nil {
				return fmt.Errorf("masterkey: read subject keys: %w", err)
			}
			type key struct {
				person  int64
				wrapped []byte
			}
			var batch []key
			for rows.Next() {
				var k key
				if err := rows.Scan(&k.person, &k.wrapped); err != nil {
					rows.Close()
					return fmt.Errorf("masterkey: read subject keys: %w", err)
				}
				batch = append(batch, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("masterkey: read subject keys: %w", err)
			}
			for _, k := range batch {
				rewrapped, changed, err := kr.Rewrap(k.person, k.wrapped)
				if err != nil {
					return fmt.Errorf("masterkey: re-wrap the key of person %d: %w", k.person, err)
				}
				if changed {
					// Unless an erasure replaced or destroyed it meanwhile.
					if _, err := tx.ExecContext(ctx, `UPDATE subject_keys SET wrapped_key = $1 WHERE person_id = $2 AND wrapped_key = $3`,
						rewrapped, k.person, k.wrapped); err != nil {
						return fmt.Errorf("masterkey: store a re-wrapped key: %w", err)
					}
				}
				last = k.person
			}
			n = len(batch)
			return nil
		})
		if err != nil {
			return done, batches, err
		}
		if n == 0 {
			return done, batches, nil
		}
		done += int64(n)
		batches++
		if after != nil {
			if err := after(done); err != nil {
				return done, batches, err
			}
		}
		if n < opt.BatchSize {
			return done, batches, nil
		}
	}
}

// finish re-wraps until no key is left under another version, then, in one transaction that
// checks it again, makes the new version current, retires the others and records the event.
func finish(ctx context.Context, d *db.DB, kr *keys.Keyring, trail Auditor, res *Result, opt Options) error {
	for pass := 0; ; pass++ {
		n, b, err := sweep(ctx, d, kr, res.To, opt, opt.AfterBatch)
		res.Rewrapped += n
		res.Batches += b
		if err != nil {
			return err
		}
		left := int64(-1)
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			if err := d.Serialise(ctx, tx, rotationLock); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys WHERE `+notUnder, keys.WrappedPrefix(res.To)).Scan(&left); err != nil {
				return fmt.Errorf("masterkey: count keys left: %w", err)
			}
			if left > 0 {
				return nil
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subject_keys`).Scan(&res.Keys); err != nil {
				return fmt.Errorf("masterkey: count keys: %w", err)
			}
			now := opt.Now().UTC()
			if _, err := tx.ExecContext(ctx, `UPDATE master_keys SET state = $1, retired_at = $2 WHERE version <> $3 AND state <> $1`,
				StateRetired, now, res.To); err != nil {
				return fmt.Errorf("masterkey: retire the old versions: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE master_keys SET state = $1 WHERE version = $2`, StateCurrent, res.To); err != nil {
				return fmt.Errorf("masterkey: make version %d current: %w", res.To, err)
			}
			return trail.AppendTx(ctx, tx, audit.Event{Department: "admin", Action: ActionRotate, Table: "master_keys",
				RowID: int64(res.To), Purpose: "operations", Detail: fmt.Sprintf("from_version=%d;to_version=%d;rewrapped=%d;keys=%d;batches=%d;resumed=%t",
					res.From, res.To, res.Rewrapped, res.Keys, res.Batches, res.Resumed)})
		})
		if err != nil {
			return err
		}
		if left == 0 {
			return nil
		}
		if pass >= 10 {
			return fmt.Errorf("masterkey: %d subject keys are still wrapped under the old master key after %d passes; run the command again", left, pass+1)
		}
	}
}

// swapFiles keeps the old key as P.vN.retired and puts the new key in P's place. Each step is
// safe to repeat; P is never missing.
func swapFiles(path string, oldKey []byte, oldVersion uint32, res *Result) error {
	retired := RetiredPath(path, oldVersion)
	res.RetiredFile = retired
	next, err := keys.ReadKeyFile(NextPath(path), keys.MasterKeySize, "next master key")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // already swapped
	}
	if err != nil {
		return err
	}
	if kept, err := keys.ReadKeyFile(retired, keys.MasterKeySize, "retired master key"); err == nil {
		if !bytes.Equal(kept, oldKey) {
			return fmt.Errorf("masterkey: %s already holds another key; move it away and run again", retired)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	} else if err := writeKeyFile(retired, oldKey); err != nil {
		return err
	}
	if keys.MasterCheck(next) == keys.MasterCheck(oldKey) {
		return nil
	}
	if err := os.Rename(NextPath(path), path); err != nil {
		return fmt.Errorf("masterkey: put the new key in place: %w", err)
	}
	return syncDir(filepath.Dir(path))
}
