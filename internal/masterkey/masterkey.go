// Package masterkey keeps the versions of the master key (DESIGN §8, issue 3 item 8): which key
// files open the database, the keyring built from them at start, and the rotation that re-wraps
// every subject key under a new master key.
//
// The master key lives in the file VIGIE_MASTER_KEY_FILE names (P). A rotation writes the new key
// to P.next, records it in master_keys as "rotating", re-wraps the subject keys in batches, marks
// it "current" and the old version "retired" once no key is wrapped under the old one, then keeps
// the old file as P.vN.retired and renames P.next to P. Until then every process holds both
// versions: it reads keys wrapped under either, and wraps new ones under the new version. A
// database that never rotated has no row: its key file is version 1.
package masterkey

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"vigie/internal/db"
	"vigie/internal/keys"
)

// Version states in master_keys.
const (
	StateRotating = "rotating"
	StateCurrent  = "current"
	StateRetired  = "retired"
)

// NextPath is where a rotation keeps the new master key until it is done.
func NextPath(path string) string { return path + ".next" }

// RetiredPath is where a rotation keeps the master key file it replaced.
func RetiredPath(path string, version uint32) string {
	return fmt.Sprintf("%s.v%d.retired", path, version)
}

// Row is one version of master_keys. It holds no key, only the root wrapped under the version.
type Row struct {
	Version     uint32
	KeyCheck    string
	WrappedRoot []byte
	State       string
	CreatedAt   time.Time
	RetiredAt   sql.NullTime
}

// Querier is a database or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Rows reads master_keys, in version order; none when the table is empty or not there yet.
func Rows(ctx context.Context, q Querier) ([]Row, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, key_check, wrapped_root, state, created_at, retired_at FROM master_keys ORDER BY version`)
	if err != nil {
		if missingTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("masterkey: read versions: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var created any
		if err := rows.Scan(&r.Version, &r.KeyCheck, &r.WrappedRoot, &r.State, &created, &r.RetiredAt); err != nil {
			return nil, fmt.Errorf("masterkey: read versions: %w", err)
		}
		r.KeyCheck = strings.TrimSpace(r.KeyCheck)
		if t, ok := created.(time.Time); ok {
			r.CreatedAt = t.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("masterkey: read versions: %w", err)
	}
	return out, nil
}

// missingTable recognises the error of a database migrated before master_keys existed.
func missingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}

// state is what the key files and master_keys say together.
type state struct {
	root     []byte
	masters  []keys.Master
	current  uint32
	created  bool
	rows     []Row
	fileRow  *Row // P's version; nil before the first rotation
	rotating *Row // the version a rotation is re-wrapping keys under, if any
	// finishing is set when the database says the rotation is done but P still holds the
	// retired key and P.next the current one: the files were not swapped yet.
	finishing bool
}

func (s *state) keyring() (*keys.Keyring, error) {
	return keys.NewVersionedKeyring(s.root, s.masters, s.current)
}

// resolve reads the key files and master_keys. create lets it draw the first master key of a
// database that has none (P missing and no version recorded).
func resolve(ctx context.Context, q Querier, path string, create bool) (*state, error) {
	rows, err := Rows(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		var key []byte
		var created bool
		if create {
			key, created, err = keys.LoadOrCreateMasterKey(path)
		} else {
			key, err = keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
		}
		if err != nil {
			return nil, err
		}
		return &state{root: key, masters: []keys.Master{{Version: 1, Key: key}}, current: 1, created: created}, nil
	}
	st := &state{rows: rows}
	byCheck := map[string]*Row{}
	for i := range rows {
		byCheck[rows[i].KeyCheck] = &rows[i]
		if rows[i].State == StateRotating {
			st.rotating = &rows[i]
		}
	}
	key, err := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
	if err != nil {
		return nil, err
	}
	r := byCheck[keys.MasterCheck(key)]
	if r == nil {
		return nil, keys.ErrWrongMasterKey
	}
	st.fileRow = r
	switch r.State {
	case StateCurrent:
		st.masters, st.current = []keys.Master{{Version: r.Version, Key: key}}, r.Version
	case StateRetired:
		next, err := keys.ReadKeyFile(NextPath(path), keys.MasterKeySize, "next master key")
		nr := byCheck[keys.MasterCheck(next)]
		if err != nil || nr == nil || nr.State != StateCurrent {
			return nil, fmt.Errorf("masterkey: %s holds master key version %d, which is retired; the current key file is missing (run `vigie keys rotate` from the directory that holds %s)",
				path, r.Version, filepath.Base(NextPath(path)))
		}
		st.masters = []keys.Master{{Version: r.Version, Key: key}, {Version: nr.Version, Key: next}}
		st.current, st.finishing = nr.Version, true
	default:
		return nil, fmt.Errorf("masterkey: %s holds the key of the rotation in progress (version %d); it belongs in %s", path, r.Version, NextPath(path))
	}
	if st.rotating != nil {
		next, err := keys.ReadKeyFile(NextPath(path), keys.MasterKeySize, "next master key")
		if err != nil {
			return nil, fmt.Errorf("masterkey: a rotation to master key version %d is in progress and its key file is unreadable: %w", st.rotating.Version, err)
		}
		if keys.MasterCheck(next) != st.rotating.KeyCheck {
			return nil, fmt.Errorf("masterkey: %s is not the key of the rotation in progress (version %d)", NextPath(path), st.rotating.Version)
		}
		st.masters = append(st.masters, keys.Master{Version: st.rotating.Version, Key: next})
		st.current = st.rotating.Version
	}
	if st.root, err = rootOf(st); err != nil {
		return nil, err
	}
	return st, nil
}

// rootOf is the first master key: version 1's file when it is held, else the root wrapped under a
// held version.
func rootOf(st *state) ([]byte, error) {
	for _, m := range st.masters {
		if m.Version == 1 {
			return m.Key, nil
		}
	}
	for _, m := range st.masters {
		for _, r := range st.rows {
			if r.Version == m.Version && len(r.WrappedRoot) > 0 {
				return keys.OpenRoot(m.Key, r.WrappedRoot)
			}
		}
	}
	return nil, errors.New("masterkey: no held master key version records the root")
}

// Load builds the keyring of a database from its key files and master_keys (app.Unlock): it
// creates the first master key of a new database (created says so), follows a rotation in
// progress, and keeps following rotations other processes run, so a server reads every key
// throughout. A file that is not one of the database's keys is keys.ErrWrongMasterKey.
func Load(ctx context.Context, d *db.DB, path string) (kr *keys.Keyring, created bool, err error) {
	st, err := resolve(ctx, d, path, true)
	if err != nil {
		return nil, false, err
	}
	if kr, err = st.keyring(); err != nil {
		return nil, false, err
	}
	w := &watcher{d: d, path: path, root: st.root, seen: fingerprint(path)}
	kr.SetRefresher(w.refresh)
	return kr, st.created, nil
}

// Open builds the keyring of a database seen through q (a restore's transaction), without
// creating or following anything.
func Open(ctx context.Context, q Querier, path string) (*keys.Keyring, error) {
	st, err := resolve(ctx, q, path, false)
	if err != nil {
		return nil, err
	}
	return st.keyring()
}

// watcher re-reads the key files and master_keys when the files change (a stat of each per call),
// or when forced by a key under a version the keyring lacks.
type watcher struct {
	d    *db.DB
	path string
	root []byte

	mu   sync.Mutex
	seen string
}

func (w *watcher) refresh(force bool) ([]keys.Master, uint32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := fingerprint(w.path)
	if now == w.seen && !force {
		return nil, 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := resolve(ctx, w.d, w.path, false)
	if err != nil || subtle.ConstantTimeCompare(st.root, w.root) != 1 {
		return nil, 0, false // keep what the keyring holds; the next call tries again
	}
	w.seen = now
	return st.masters, st.current, true
}

// fingerprint says whether the key files changed: existence, size and time of each (a rotation
// creates P.next, then replaces P with it).
func fingerprint(path string) string {
	var b strings.Builder
	for _, p := range []string{path, NextPath(path)} {
		info, err := os.Stat(p)
		if err != nil {
			b.WriteString("-;")
			continue
		}
		fmt.Fprintf(&b, "%d:%d;", info.Size(), info.ModTime().UnixNano())
	}
	return b.String()
}

// writeKeyFile creates a key file with mode 0600, durably; it refuses to replace one.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("masterkey: create %s: %w", path, err)
	}
	_, werr := fmt.Fprintf(f, "%x\n", key)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("masterkey: write %s: %w", path, werr)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("masterkey: open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("masterkey: sync %s: %w", dir, err)
	}
	return nil
}
