package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params is the cost of an argon2id password hash. Every hash records its own parameters,
// so raising the cost never locks out an existing account: old hashes verify with what they say,
// and are upgraded at the next successful sign-in.
type Argon2Params struct {
	Time      uint32 // passes over the memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2 is the cost of staff password hashes (R12): 64 MiB, 3 passes, 2 lanes — RFC 9106's
// second recommended option with the lanes of this 2-core machine — about 75 ms a hash here
// (BenchmarkArgon2id), inside the 50–250 ms that OWASP suggests for an interactive sign-in.
func DefaultArgon2() Argon2Params { return Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2} }

// TestArgon2 is the cheapest cost argon2id accepts. Only tests use it (through app.Config), so that
// the hundreds of accounts they create do not cost a minute of hashing; never for real accounts.
func TestArgon2() Argon2Params { return Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1} }

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Hash returns an argon2id hash of the password in the PHC string format, with a random salt.
func (p Argon2Params) Hash(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// HashPassword hashes a password at the default cost.
func HashPassword(password string) string { return DefaultArgon2().Hash(password) }

// parseHash reads a PHC argon2id hash: its parameters, salt and key.
func parseHash(hash string) (p Argon2Params, salt, key []byte, ok bool) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, false
	}
	// Refuse parameters no hash of ours has, rather than let a forged row cost minutes of CPU.
	if p.Time == 0 || p.Time > 16 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 1<<20 {
		return p, nil, nil, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

// VerifyPassword checks a password against a PHC argon2id hash in constant time, with the
// parameters the hash records.
func VerifyPassword(hash, password string) bool {
	p, salt, want, ok := parseHash(hash)
	if !ok {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// verify is VerifyPassword with at most hashSlots hashes at once: each takes 64 MiB, so a burst
// of sign-ins queues instead of exhausting memory.
func (s *Service) verify(hash, password string) bool {
	s.hashSlots <- struct{}{}
	defer func() { <-s.hashSlots }()
	return VerifyPassword(hash, password)
}

func (s *Service) hash(password string) string {
	s.hashSlots <- struct{}{}
	defer func() { <-s.hashSlots }()
	return s.argon.Hash(password)
}

// outdated reports whether a hash was made at another cost than the service's, to be redone at
// the next successful sign-in.
func (s *Service) outdated(hash string) bool {
	p, _, _, ok := parseHash(hash)
	return ok && p != s.argon
}

// dummyHash is hashed against when an account does not exist or may not be tried now, so that the
// answer takes as long as a real check and its timing does not reveal which accounts exist.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = s.argon.Hash("not a real password, used for timing") })
	return s.dummy
}
