package keys

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestR26_VersionedKeyringReadsBothVersionsOfARotation: during a rotation a keyring holds the old
// and the new master key: it opens keys wrapped under either, wraps new ones under the new one,
// keeps the derived keys of the root (indexes, pseudonyms, check) and refuses a key whose version
// was tampered with.
func TestR26_VersionedKeyringReadsBothVersionsOfARotation(t *testing.T) {
	root, next := bytes.Repeat([]byte{7}, MasterKeySize), bytes.Repeat([]byte{8}, MasterKeySize)
	old, _ := NewKeyring(root)
	sk, _ := old.NewSubjectKey()
	legacy := old.Wrap(42, sk)
	if v, err := WrappedVersion(legacy); err != nil || v != 1 || len(legacy) != legacyWrappedSize {
		t.Fatalf("a key wrapped under the first master key: version %d, %d bytes (%v)", v, len(legacy), err)
	}
	both, err := NewVersionedKeyring(root, []Master{{1, root}, {2, next}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	rewrapped, changed, err := both.Rewrap(42, legacy)
	if err != nil || !changed {
		t.Fatalf("rewrap: %v", err)
	}
	if v, _ := WrappedVersion(rewrapped); v != 2 {
		t.Errorf("re-wrapped under version %d, want 2", v)
	}
	for _, w := range [][]byte{legacy, rewrapped, both.Wrap(42, sk)} {
		got, err := both.Unwrap(42, w)
		if err != nil || !bytes.Equal(got.raw, sk.raw) {
			t.Errorf("unwrap: %v", err)
		}
	}
	if _, err := both.Unwrap(43, rewrapped); err == nil {
		t.Error("a re-wrapped key opens for another person")
	}
	renumbered := bytes.Clone(rewrapped)
	binary.BigEndian.PutUint32(renumbered, 3)
	if _, err := both.Unwrap(42, renumbered); err == nil {
		t.Error("a key whose version was changed opens")
	}
	newOnly, _ := NewVersionedKeyring(root, []Master{{2, next}}, 2)
	if _, err := newOnly.Unwrap(42, legacy); err == nil {
		t.Error("a keyring without version 1 opens a key wrapped under it")
	}
	if newOnly.Check() != old.Check() || !bytes.Equal(newOnly.BlindIndex("persons.email", "a@b.fr"), old.BlindIndex("persons.email", "a@b.fr")) ||
		!bytes.Equal(newOnly.Pseudonym(42), old.Pseudonym(42)) {
		t.Error("the keys derived from the root changed with the master key")
	}
	sealed, err := SealRoot(next, root)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenRoot(next, sealed); err != nil || !bytes.Equal(got, root) {
		t.Errorf("open root: %v", err)
	}
	if _, err := OpenRoot(root, sealed); err == nil {
		t.Error("the root opens under another key")
	}
}
