// Package keys holds Vigie's encryption (DESIGN §8, rule R10): a master key kept outside the
// database, a data key per person wrapped by it, AES-256-GCM field envelopes that remember how
// each value was collected, and keyed HMAC blind indexes for exact search.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MasterKeySize is the size of the master key and of every data key: AES-256.
const MasterKeySize = 32

// Keyring derives every working key from the master key. It holds no per-person state. Subject
// keys are wrapped under the master key's versions it holds (versions.go): after a rotation the
// other keys still come from the database's first master key, the root.
type Keyring struct {
	masters      masterSet
	indexKey     []byte
	pseudonymKey []byte
	signingKey   []byte
	secrets      cipher.AEAD
	check        string
	// places holds, by place, the blind-index HMAC with the key and the place already hashed
	// (a hash.Cloner): BlindIndex clones it rather than hashing them again for every term.
	places sync.Map
	// pseudonyms are keyed HMACs ready for Pseudonym, which the audit trail calls for every read:
	// reused rather than keyed anew each time.
	pseudonyms sync.Pool
}

// ErrWrongMasterKey means the master key does not match the one the database was created with.
var ErrWrongMasterKey = errors.New("keys: the master key does not match this database (wrong VIGIE_MASTER_KEY_FILE?)")

// LoadOrCreateMasterKey reads the master key file, or creates it with mode 0600 when it does not
// exist. created tells the caller to say where the new key is.
func LoadOrCreateMasterKey(path string) (key []byte, created bool, err error) {
	return LoadOrCreateKeyFile(path, MasterKeySize, "master key")
}

// LoadOrCreateKeyFile reads a secret of size bytes kept in hexadecimal in a file of its own, or
// draws one and creates the file with mode 0600. A file others can read is refused: such a key
// must be as protected as what it opens.
func LoadOrCreateKeyFile(path string, size int, what string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, size)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("keys: create %s directory: %w", what, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("keys: create %s: %w", what, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, fmt.Errorf("keys: write %s: %w", what, werr)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("keys: read %s: %w", what, err)
	}
	if key, err = decodeKeyFile(path, data, size, what); err != nil {
		return nil, false, err
	}
	return key, false, nil
}

// decodeKeyFile applies the rules of a key file already read: readable by its owner only, and
// size bytes in hexadecimal.
func decodeKeyFile(path string, data []byte, size int, what string) ([]byte, error) {
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keys: %s file %s is readable by others (mode %v); chmod 600 it", what, path, info.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != size {
		return nil, fmt.Errorf("keys: %s file %s must hold %d bytes in hexadecimal", what, path, size)
	}
	return key, nil
}

// NewKeyring derives the wrapping, index and check keys from the master key with HKDF-SHA256,
// each under its own label, so that no working key is the master key itself.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("keys: master key must be %d bytes", MasterKeySize)
	}
	derive := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "vigie "+label, 32)
		if err != nil {
			panic(err) // only fails for lengths HKDF cannot produce
		}
		return k
	}
	secrets, err := newGCM(derive("secret sealing v1"))
	if err != nil {
		return nil, err
	}
	k := &Keyring{indexKey: derive("blind index v1"), pseudonymKey: derive("audit pseudonym v1"),
		signingKey: derive("link signing v1"), secrets: secrets, check: MasterCheck(master)}
	if err := k.masters.set([]Master{{Version: 1, Key: master}}, 1); err != nil {
		return nil, err
	}
	return k, nil
}

// Check is a value stored in the database at creation and compared at every start, so that a
// server started with the wrong key file refuses instead of writing unreadable data.
func (k *Keyring) Check() string { return k.check }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return cipher.NewGCM(block)
}

// NewSubjectKey draws a fresh data key for a person. Wrap binds it to the person's id once the
// person row exists (the person row and its key row are written in the same transaction).
func (k *Keyring) NewSubjectKey() (*SubjectKey, error) {
	raw := make([]byte, MasterKeySize)
	rand.Read(raw)
	return newSubjectKey(raw)
}

// SealSecret encrypts a secret of the system that is not a person's data (a staff member's TOTP
// secret) under its own key derived from the master key. place names where the secret belongs
// ("users.totp_secret:42"): a sealed secret copied elsewhere does not open.
func (k *Keyring) SealSecret(place string, secret []byte) []byte {
	nonce := make([]byte, k.secrets.NonceSize())
	rand.Read(nonce)
	return k.secrets.Seal(nonce, nonce, secret, []byte(place))
}

// OpenSecret decrypts a secret sealed for the same place.
func (k *Keyring) OpenSecret(place string, sealed []byte) ([]byte, error) {
	ns := k.secrets.NonceSize()
	if len(sealed) < ns {
		return nil, errors.New("keys: sealed secret too short")
	}
	secret, err := k.secrets.Open(nil, sealed[:ns], sealed[ns:], []byte(place))
	if err != nil {
		return nil, fmt.Errorf("keys: open secret: %w", err)
	}
	return secret, nil
}

func personAAD(id int64) []byte { return appendPersonAAD(nil, id) }

func appendPersonAAD(b []byte, id int64) []byte {
	return strconv.AppendInt(append(b, "person:"...), id, 10)
}

// SubjectKey encrypts and decrypts one person's fields.
type SubjectKey struct {
	raw  []byte
	aead cipher.AEAD
}

func newSubjectKey(raw []byte) (*SubjectKey, error) {
	aead, err := newGCM(raw)
	if err != nil {
		return nil, err
	}
	return &SubjectKey{raw: raw, aead: aead}, nil
}

// Provenance records when, how and for which purpose a personal value was collected (DESIGN §5:
// "every stored value knows when, how and for which purpose it was collected"). It travels inside
// the encrypted envelope, so it is as protected as the value and erased with it.
type Provenance struct {
	CollectedAt time.Time `json:"collected_at"`
	Channel     string    `json:"channel"`
	Purpose     string    `json:"purpose"`
}

const envelopeVersion = 1

// Seal encrypts a value with its provenance. The additional data names the table and column, so a
// ciphertext moved to another column does not decrypt.
//
// Envelope: version(1) | nonce(12) | GCM( collected_unix(8) | len(channel)(1) | channel |
// len(purpose)(1) | purpose | value ).
func (s *SubjectKey) Seal(place string, p Provenance, value []byte) []byte {
	// One allocation: the plaintext is written where its ciphertext goes, and encrypted in place.
	size := 10 + len(p.Channel) + len(p.Purpose) + len(value)
	out := make([]byte, 1+12, 1+12+size+s.aead.Overhead())
	out[0] = envelopeVersion
	rand.Read(out[1:13])
	plain := binary.BigEndian.AppendUint64(out[13:13], uint64(p.CollectedAt.Unix()))
	plain = append(plain, byte(len(p.Channel)))
	plain = append(plain, p.Channel...)
	plain = append(plain, byte(len(p.Purpose)))
	plain = append(plain, p.Purpose...)
	plain = append(plain, value...)
	return s.aead.Seal(out, out[1:13], plain, []byte(place))
}

// Open decrypts a value sealed for the same place.
func (s *SubjectKey) Open(place string, envelope []byte) ([]byte, Provenance, error) {
	if len(envelope) < 13 || envelope[0] != envelopeVersion {
		return nil, Provenance{}, errors.New("keys: not a Vigie envelope")
	}
	plain, err := s.aead.Open(nil, envelope[1:13], envelope[13:], []byte(place))
	if err != nil {
		return nil, Provenance{}, fmt.Errorf("keys: open %s: %w", place, err)
	}
	if len(plain) < 10 {
		return nil, Provenance{}, errors.New("keys: truncated envelope")
	}
	var p Provenance
	p.CollectedAt = time.Unix(int64(binary.BigEndian.Uint64(plain)), 0).UTC()
	rest := plain[8:]
	n := int(rest[0])
	if len(rest) < 1+n+1 {
		return nil, Provenance{}, errors.New("keys: truncated envelope")
	}
	p.Channel = string(rest[1 : 1+n])
	rest = rest[1+n:]
	m := int(rest[0])
	if len(rest) < 1+m {
		return nil, Provenance{}, errors.New("keys: truncated envelope")
	}
	p.Purpose = string(rest[1 : 1+m])
	return rest[1+m:], p, nil
}

// BlindIndex is the keyed HMAC of a normalised search term for one column: equal terms give equal
// indexes, and without the key the index reveals nothing. 16 bytes keep collisions out of reach.
func (k *Keyring) BlindIndex(place, term string) []byte {
	var m hash.Hash
	if base, ok := k.places.Load(place); ok {
		if c, err := base.(hash.Cloner).Clone(); err == nil {
			m = c
		}
	}
	if m == nil {
		base := hmac.New(sha256.New, k.indexKey)
		base.Write([]byte(place))
		base.Write([]byte{0})
		if c, err := base.(hash.Cloner).Clone(); err == nil {
			k.places.Store(place, c)
		}
		m = base
	}
	m.Write([]byte(term))
	var sum [sha256.Size]byte
	return m.Sum(sum[:0])[:16:16]
}

// Sign authenticates a message Vigie hands out and later takes back — a withdrawal link in an
// e-mail, a review request on a public page — under a key of its own; place keeps a signature for
// one kind of message from being accepted as another.
func (k *Keyring) Sign(place string, msg []byte) []byte {
	m := hmac.New(sha256.New, k.signingKey)
	m.Write([]byte(place))
	m.Write([]byte{0})
	m.Write(msg)
	return m.Sum(nil)
}

// LinkToken is the token of a link Vigie sends and later takes back (a withdrawal, a quote's
// result, a prospect's "keep in touch"): the first 18 bytes of Sign, in URL-safe base64.
func (k *Keyring) LinkToken(place string, msg []byte) string {
	return base64.RawURLEncoding.EncodeToString(k.Sign(place, msg)[:linkTokenBytes])
}

// CheckLinkToken verifies a link's token in constant time.
func (k *Keyring) CheckLinkToken(place string, msg []byte, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, k.Sign(place, msg)[:linkTokenBytes])
}

// linkTokenBytes keeps a link short: 144 bits of HMAC are out of reach of forgery.
const linkTokenBytes = 18

// Pseudonym is how the audit trail names a person: a keyed HMAC of the id. It reveals nothing
// without the master key, stays the same for the person's whole history, and erasing the person
// (destroying their data key) leaves it, and the chain that contains it, intact.
func (k *Keyring) Pseudonym(personID int64) []byte {
	m, _ := k.pseudonyms.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, k.pseudonymKey)
	}
	var in [32]byte
	m.Write(appendPersonAAD(in[:0], personID))
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	m.Reset()
	k.pseudonyms.Put(m)
	return append(make([]byte, 0, 16), out[:16]...)
}
