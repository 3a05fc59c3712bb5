package keys

// Master key versions (issue 3, item 8). A rotation gives the master key a new version and
// re-wraps every subject key under it; until it is done, some keys are wrapped under the old
// version and some under the new one, and a keyring holds both. A key wrapped under version 1 has
// the original layout, nonce(12) | GCM(key), 60 bytes; under a later version it starts with the
// version: version(4, big-endian) | nonce(12) | GCM(key), 64 bytes, the version also bound in the
// additional data. The index, pseudonym, link-signing, secret-sealing and check keys are not
// rotated: blind indexes and the audit trail's pseudonyms are stored, and the trail cannot be
// rewritten, so they stay derived from the database's first master key — the root — which the
// database keeps wrapped under each later version (internal/masterkey).

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
)

// Master is one version of the master key; the database's first master key is version 1.
type Master struct {
	Version uint32
	Key     []byte
}

// Refresher is how a keyring learns of a rotation started by another process: called before each
// wrap, and forced when a wrapped key names a version the keyring lacks, it returns the versions
// to hold and the one new keys go under, with changed false (and nothing else) when nothing
// changed. Unforced, it must be cheap in the common case (a stat of the key files).
type Refresher func(force bool) (masters []Master, current uint32, changed bool)

// ErrUnknownVersion means a key is wrapped under a master key version the keyring does not hold.
var ErrUnknownVersion = errors.New("keys: subject key wrapped under a master key version this keyring does not hold")

const (
	legacyWrappedSize = 12 + MasterKeySize + 16
	wrappedSize       = 4 + legacyWrappedSize
)

type masterVersion struct {
	wrap   cipher.AEAD // subject keys
	backup cipher.AEAD // the data key of a backup (internal/backup)
	root   cipher.AEAD // the root, kept in the database under every version after the first
	check  string
}

// masterSet is the versions a keyring holds; a rotation run by another process adds one while
// the keyring is in use, hence the lock.
type masterSet struct {
	mu       sync.RWMutex
	versions map[uint32]*masterVersion
	current  uint32
	refresh  Refresher
}

func derive(master []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, "vigie "+label, 32)
	if err != nil {
		panic(err) // only fails for lengths HKDF cannot produce
	}
	return k
}

func newMasterVersion(key []byte) (*masterVersion, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("keys: master key must be %d bytes", MasterKeySize)
	}
	wrap, err := newGCM(derive(key, "key wrapping v1"))
	if err != nil {
		return nil, err
	}
	backup, err := newGCM(derive(key, "backup key wrapping v1"))
	if err != nil {
		return nil, err
	}
	root, err := newGCM(derive(key, "root wrapping v1"))
	if err != nil {
		return nil, err
	}
	return &masterVersion{wrap: wrap, backup: backup, root: root, check: MasterCheck(key)}, nil
}

// MasterCheck names a master key without revealing it (an HMAC under a key derived from it): the
// database stores it to recognise its key files, and a backup to say which key opens it. For the
// first master key it is also the keyring's Check.
func MasterCheck(master []byte) string {
	m := hmac.New(sha256.New, derive(master, "key check v1"))
	m.Write([]byte("vigie"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// set replaces the versions held and the current one.
func (s *masterSet) set(masters []Master, current uint32) error {
	versions := make(map[uint32]*masterVersion, len(masters))
	for _, m := range masters {
		mv, err := newMasterVersion(m.Key)
		if err != nil {
			return err
		}
		versions[m.Version] = mv
	}
	if versions[current] == nil {
		return fmt.Errorf("keys: current master key version %d is not among those given", current)
	}
	s.mu.Lock()
	s.versions, s.current = versions, current
	s.mu.Unlock()
	return nil
}

// get returns a version (nil when not held) and the current version.
func (s *masterSet) get(version uint32) (*masterVersion, uint32) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.versions[version], s.current
}

// update asks the refresher whether the versions changed and, if so, adds the new ones and moves
// the current version. Versions already held stay: a key some other process wrapped under one of
// them a moment before a rotation is still read.
func (s *masterSet) update(force bool) {
	s.mu.RLock()
	refresh := s.refresh
	s.mu.RUnlock()
	if refresh == nil {
		return
	}
	masters, current, changed := refresh(force)
	if !changed {
		return
	}
	added := map[uint32]*masterVersion{}
	for _, m := range masters {
		if mv, err := newMasterVersion(m.Key); err == nil {
			added[m.Version] = mv
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for v, mv := range added {
		if s.versions[v] == nil {
			s.versions[v] = mv
		}
	}
	if mv := s.versions[current]; mv != nil && added[current] != nil && mv.check == added[current].check {
		s.current = current
	}
}

// NewVersionedKeyring builds a keyring whose index, pseudonym, signing, secret-sealing and check
// keys come from root, the database's first master key, and which wraps subject keys under the
// given versions of the master key, new ones under current.
func NewVersionedKeyring(root []byte, masters []Master, current uint32) (*Keyring, error) {
	k, err := NewKeyring(root)
	if err != nil {
		return nil, err
	}
	if err := k.masters.set(masters, current); err != nil {
		return nil, err
	}
	return k, nil
}

// SetRefresher makes the keyring follow rotations run by other processes (see Refresher).
func (k *Keyring) SetRefresher(r Refresher) {
	k.masters.mu.Lock()
	k.masters.refresh = r
	k.masters.mu.Unlock()
}

// CurrentVersion is the master key version new subject keys are wrapped under.
func (k *Keyring) CurrentVersion() uint32 {
	_, current := k.masters.get(0)
	return current
}

// Versions lists the master key versions the keyring holds, in order.
func (k *Keyring) Versions() []uint32 {
	k.masters.mu.RLock()
	defer k.masters.mu.RUnlock()
	var out []uint32
	for v := range k.masters.versions {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// VersionCheck is the MasterCheck of a version the keyring holds ("" when it holds none).
func (k *Keyring) VersionCheck(version uint32) string {
	mv, _ := k.masters.get(version)
	if mv == nil {
		return ""
	}
	return mv.check
}

// Wrap returns the subject key wrapped for the given person under the current master key
// version, ready for the subject_keys table. The wrapping binds the key to the person id, so a
// wrapped key copied onto another person fails.
func (k *Keyring) Wrap(personID int64, sk *SubjectKey) []byte {
	k.masters.update(false)
	_, current := k.masters.get(0)
	return k.wrapUnder(current, personID, sk)
}

// Wrapper is Wrap for a batch of keys: it looks for a rotation once, then wraps every key it is
// given under the version current then. A bulk load asks for one per batch written, rather than
// checking the key files for every person.
func (k *Keyring) Wrapper() func(personID int64, sk *SubjectKey) []byte {
	k.masters.update(false)
	_, current := k.masters.get(0)
	return func(personID int64, sk *SubjectKey) []byte { return k.wrapUnder(current, personID, sk) }
}

func (k *Keyring) wrapUnder(version uint32, personID int64, sk *SubjectKey) []byte {
	mv, _ := k.masters.get(version)
	if version == 1 {
		nonce := make([]byte, 12)
		rand.Read(nonce)
		return mv.wrap.Seal(nonce, nonce, sk.raw, personAAD(personID))
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, wrappedSize), version)
	out = append(out, make([]byte, 12)...)
	rand.Read(out[4:16])
	return mv.wrap.Seal(out, out[4:16], sk.raw, versionedAAD(personID, version))
}

// Unwrap opens a person's wrapped data key, under whichever held version wrapped it. A key under
// a version the keyring lacks makes it ask its refresher once (a rotation started elsewhere).
func (k *Keyring) Unwrap(personID int64, wrapped []byte) (*SubjectKey, error) {
	version, err := WrappedVersion(wrapped)
	if err != nil {
		return nil, err
	}
	mv, _ := k.masters.get(version)
	if mv == nil {
		k.masters.update(true)
		if mv, _ = k.masters.get(version); mv == nil {
			return nil, fmt.Errorf("%w (version %d)", ErrUnknownVersion, version)
		}
	}
	var raw []byte
	if version == 1 {
		raw, err = mv.wrap.Open(nil, wrapped[:12], wrapped[12:], personAAD(personID))
	} else {
		raw, err = mv.wrap.Open(nil, wrapped[4:16], wrapped[16:], versionedAAD(personID, version))
	}
	if err != nil {
		return nil, fmt.Errorf("keys: unwrap subject key: %w", err)
	}
	return newSubjectKey(raw)
}

// Rewrap re-wraps a person's key under the current version; changed is false when it already is.
func (k *Keyring) Rewrap(personID int64, wrapped []byte) (out []byte, changed bool, err error) {
	version, err := WrappedVersion(wrapped)
	if err != nil {
		return nil, false, err
	}
	_, current := k.masters.get(0)
	if version == current {
		return wrapped, false, nil
	}
	sk, err := k.Unwrap(personID, wrapped)
	if err != nil {
		return nil, false, err
	}
	return k.wrapUnder(current, personID, sk), true, nil
}

// WrappedVersion tells which master key version wrapped a subject key.
func WrappedVersion(wrapped []byte) (uint32, error) {
	switch len(wrapped) {
	case legacyWrappedSize:
		return 1, nil
	case wrappedSize:
		if v := binary.BigEndian.Uint32(wrapped); v >= 2 {
			return v, nil
		}
	}
	return 0, errors.New("keys: not a wrapped subject key")
}

// WrappedPrefix is how a key wrapped under version (2 or later) starts, for a query that looks
// for the keys not yet re-wrapped.
func WrappedPrefix(version uint32) []byte { return binary.BigEndian.AppendUint32(nil, version) }

func versionedAAD(personID int64, version uint32) []byte {
	return strconv.AppendUint(append(personAAD(personID), "/v"...), uint64(version), 10)
}

// SealRoot wraps the root (the first master key) under a later master key, for the database.
func SealRoot(master, root []byte) ([]byte, error) {
	mv, err := newMasterVersion(master)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return mv.root.Seal(nonce, nonce, root, []byte("vigie root")), nil
}

// OpenRoot opens the root sealed under master; it fails for any other key.
func OpenRoot(master, sealed []byte) ([]byte, error) {
	mv, err := newMasterVersion(master)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 12 {
		return nil, errors.New("keys: sealed root too short")
	}
	root, err := mv.root.Open(nil, sealed[:12], sealed[12:], []byte("vigie root"))
	if err != nil {
		return nil, fmt.Errorf("keys: open root: %w", err)
	}
	return root, nil
}

// SealBackupKey wraps the random data key of a backup under the current master key version,
// bound to the backup's header; check names the version, so that a restore finds its key file.
func (k *Keyring) SealBackupKey(header, dataKey []byte) (check string, sealed []byte) {
	_, current := k.masters.get(0)
	mv, _ := k.masters.get(current)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return mv.check, mv.backup.Seal(nonce, nonce, dataKey, header)
}

// OpenBackupKey opens a backup's data key with the master key that sealed it.
func OpenBackupKey(master, header, sealed []byte) ([]byte, error) {
	mv, err := newMasterVersion(master)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 12 {
		return nil, errors.New("keys: sealed backup key too short")
	}
	key, err := mv.backup.Open(nil, sealed[:12], sealed[12:], header)
	if err != nil {
		return nil, fmt.Errorf("keys: open backup key: %w", err)
	}
	return key, nil
}

// ReadKeyFile reads a key file that must exist, with the rules of LoadOrCreateKeyFile (mode 0600,
// size bytes in hexadecimal); it never creates one.
func ReadKeyFile(path string, size int, what string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", what, err)
	}
	return decodeKeyFile(path, data, size, what)
}

// NewMasterKey draws a fresh master key.
func NewMasterKey() []byte {
	key := make([]byte, MasterKeySize)
	rand.Read(key)
	return key
}
