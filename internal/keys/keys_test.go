package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	kr, err := NewKeyring(bytes.Repeat([]byte{7}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestR10_EnvelopeRoundTripAndBinding: a value comes back with its provenance, and a ciphertext
// opens neither in another column nor under another person's key.
func TestR10_EnvelopeRoundTripAndBinding(t *testing.T) {
	kr := testKeyring(t)
	alice, _ := kr.NewSubjectKey()
	bob, _ := kr.NewSubjectKey()
	prov := Provenance{CollectedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), Channel: "web_form", Purpose: "quotes"}
	sealed := alice.Seal("persons.email", prov, []byte("value"))
	got, gotProv, err := alice.Open("persons.email", sealed)
	if err != nil || string(got) != "value" || gotProv != prov {
		t.Fatalf("round trip: %q %+v %v", got, gotProv, err)
	}
	cases := []struct {
		name  string
		key   *SubjectKey
		place string
		data  []byte
	}{
		{"another column", alice, "persons.phone", sealed},
		{"another person's key", bob, "persons.email", sealed},
		{"a flipped bit", alice, "persons.email", append(append([]byte{}, sealed[:20]...), append([]byte{sealed[20] ^ 1}, sealed[21:]...)...)},
		{"truncated", alice, "persons.email", sealed[:10]},
	}
	for _, c := range cases {
		if _, _, err := c.key.Open(c.place, c.data); err == nil {
			t.Errorf("%s: opened, want refused", c.name)
		}
	}
	if bytes.Equal(alice.Seal("persons.email", prov, []byte("value")), sealed) {
		t.Error("two seals of the same value are equal: nonces are not fresh")
	}
}

// TestR10_SubjectKeyIsBoundToItsPerson: a wrapped key copied onto another person does not unwrap.
func TestR10_SubjectKeyIsBoundToItsPerson(t *testing.T) {
	kr := testKeyring(t)
	sk, _ := kr.NewSubjectKey()
	wrapped := kr.Wrap(41, sk)
	if _, err := kr.Unwrap(41, wrapped); err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := kr.Unwrap(42, wrapped); err == nil {
		t.Error("a key wrapped for person 41 unwrapped for person 42")
	}
	other, _ := NewKeyring(bytes.Repeat([]byte{8}, MasterKeySize))
	if _, err := other.Unwrap(41, wrapped); err == nil {
		t.Error("another master key unwrapped the subject key")
	}
}

func TestBlindIndexIsKeyedAndPerColumn(t *testing.T) {
	kr := testKeyring(t)
	other, _ := NewKeyring(bytes.Repeat([]byte{9}, MasterKeySize))
	a := kr.BlindIndex("persons.email", "x@exemple.fr")
	if !bytes.Equal(a, kr.BlindIndex("persons.email", "x@exemple.fr")) {
		t.Error("the same term gives two indexes")
	}
	if bytes.Equal(a, kr.BlindIndex("persons.phone", "x@exemple.fr")) || bytes.Equal(a, other.BlindIndex("persons.email", "x@exemple.fr")) {
		t.Error("the index does not depend on the column and the key")
	}
}

// The HMAC state BlindIndex keeps per place gives the entries already stored: HMAC-SHA-256 of
// the place, a zero byte and the term, under the index key, cut to 16 bytes — on the first call
// for a place and on the later ones, from several goroutines at once.
func TestBlindIndexIsTheKeyedHMACOfPlaceAndTerm(t *testing.T) {
	kr := testKeyring(t)
	want := func(place, term string) []byte {
		m := hmac.New(sha256.New, kr.indexKey)
		m.Write([]byte(place + "\x00" + term))
		return m.Sum(nil)[:16]
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				place := []string{"persons.email", "persons.phone", "quotes.plate"}[(g+i)%3]
				term := strconv.Itoa(i)
				if got := kr.BlindIndex(place, term); !bytes.Equal(got, want(place, term)) {
					t.Errorf("BlindIndex(%s, %s) = %x, want %x", place, term, got, want(place, term))
				}
			}
		})
	}
	wg.Wait()
}

// The HMACs Pseudonym reuses give the pseudonyms already in the audit trail: HMAC-SHA-256 of
// "person:" and the id, under the pseudonym key, cut to 16 bytes — from several goroutines at once.
func TestR16_PseudonymIsTheKeyedHMACOfThePersonID(t *testing.T) {
	kr := testKeyring(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := int64(g*1000 + i)
				m := hmac.New(sha256.New, kr.pseudonymKey)
				m.Write([]byte("person:" + strconv.FormatInt(id, 10)))
				if got, want := kr.Pseudonym(id), m.Sum(nil)[:16]; !bytes.Equal(got, want) {
					t.Errorf("Pseudonym(%d) = %x, want %x", id, got, want)
				}
			}
		})
	}
	wg.Wait()
}

func TestMasterKeyFileIsCreatedPrivateAndReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "vigie.key")
	key, created, err := LoadOrCreateMasterKey(path)
	if err != nil || !created || len(key) != MasterKeySize {
		t.Fatalf("create: %v %v", created, err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	again, created, err := LoadOrCreateMasterKey(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("reread: %v %v", created, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateMasterKey(path); err == nil {
		t.Error("a world-readable key file was accepted")
	}
	os.WriteFile(path, []byte("not hex"), 0o600)
	if _, _, err := LoadOrCreateMasterKey(path); err == nil {
		t.Error("a malformed key file was accepted")
	}
}

// TestR14_SealedSecretsAreBoundToTheirPlaceAndKey: a staff secret (TOTP) sealed under the master
// key comes back only for the same place, under the same master key, unaltered.
func TestR14_SealedSecretsAreBoundToTheirPlaceAndKey(t *testing.T) {
	kr := testKeyring(t)
	other, err := NewKeyring(bytes.Repeat([]byte{8}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("twenty bytes secret!")
	sealed := kr.SealSecret("users.totp_secret:1", secret)
	if bytes.Contains(sealed, secret) {
		t.Fatal("the secret is stored in clear")
	}
	if got, err := kr.OpenSecret("users.totp_secret:1", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("round trip failed: %v", err)
	}
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-1] ^= 1
	for _, c := range []struct {
		name  string
		kr    *Keyring
		place string
		data  []byte
	}{
		{"another user", kr, "users.totp_secret:2", sealed},
		{"another master key", other, "users.totp_secret:1", sealed},
		{"a flipped bit", kr, "users.totp_secret:1", flipped},
		{"truncated", kr, "users.totp_secret:1", sealed[:5]},
	} {
		if _, err := c.kr.OpenSecret(c.place, c.data); err == nil {
			t.Errorf("%s: opened", c.name)
		}
	}
}
