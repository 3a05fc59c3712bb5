// Package auth knows the staff: users with one department each (DESIGN §1), passwords hashed with
// argon2id (R12), and bearer tokens for scripts and sessions, of which only a SHA-256 is stored.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// User is a staff member.
type User struct {
	ID          int64
	Email       string
	DisplayName string
	Department  string
	Disabled    bool
}

// Errors callers map to answers. ErrInvalidCredentials never says whether the account exists.
var (
	ErrInvalidCredentials = errors.New("auth: invalid email or password")
	ErrInvalidToken       = errors.New("auth: invalid or expired token")
	ErrUserExists         = errors.New("auth: a user with this email already exists")
)

// Service manages users and tokens.
type Service struct {
	db    *db.DB
	dict  *dictionary.Dictionary
	now   func() time.Time
	dummy string

	mu    sync.Mutex
	cache map[string]cachedToken
}

type cachedToken struct {
	user    User
	expires time.Time
}

// tokenCacheTTL bounds how long a revoked token can still be honoured; it spares a database
// round trip on every API call.
const tokenCacheTTL = 5 * time.Second

// NewService returns the staff service.
func NewService(d *db.DB, dict *dictionary.Dictionary, now func() time.Time) *Service {
	return &Service{db: d, dict: dict, now: now, dummy: HashPassword("not a real password, used for timing"), cache: map[string]cachedToken{}}
}

// Actor is what the user may do: their department and its purposes.
func (s *Service) Actor(u User) record.Actor {
	dep, _ := s.dict.Department(u.Department)
	return record.Actor{UserID: u.ID, Department: u.Department, Purposes: dep.Purposes}
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format, with a random salt.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword checks a password against a PHC argon2id hash in constant time.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// MinPasswordLength is the floor applied until the full CNIL policy lands (security issue).
const MinPasswordLength = 12

// CreateUser adds a staff member. Every input is checked and the error names the field.
func (s *Service) CreateUser(ctx context.Context, email, displayName, department, password string) (User, error) {
	users := s.dict.Table("users")
	var errs []*dictionary.FieldError
	emailV, fe := users.Column("email").DecodeString(email, s.now())
	if fe != nil {
		errs = append(errs, fe)
	}
	nameV, fe := users.Column("display_name").DecodeString(displayName, s.now())
	if fe != nil {
		errs = append(errs, fe)
	}
	if _, fe := users.Column("department").DecodeString(department, s.now()); fe != nil {
		errs = append(errs, fe)
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		errs = append(errs, &dictionary.FieldError{Field: "password", Rule: "min_length",
			Message: fmt.Sprintf("le mot de passe doit compter au moins %d caractères", MinPasswordLength)})
	}
	if len(errs) > 0 {
		return User{}, &record.ValidationError{Fields: errs}
	}
	u := User{Email: emailV.(string), DisplayName: nameV.(string), Department: department}
	var exists int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = $1`, u.Email).Scan(&exists); err != nil {
		return User{}, fmt.Errorf("auth: check user: %w", err)
	}
	if exists > 0 {
		return User{}, ErrUserExists
	}
	err := s.db.QueryRowContext(ctx, `INSERT INTO users (email, display_name, department, password_hash, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, u.Email, u.DisplayName, u.Department, HashPassword(password), false, s.now().UTC()).Scan(&u.ID)
	if err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	return u, nil
}

const userColumns = `u.id, u.email, u.display_name, u.department, u.disabled`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var disabled any
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.DisplayName, &u.Department, &disabled}, extra...)...)
	switch d := disabled.(type) {
	case bool:
		u.Disabled = d
	case int64:
		u.Disabled = d != 0
	}
	return u, err
}

// UserByEmail finds a user.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email = $1`, strings.TrimSpace(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, record.ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: find user: %w", err)
	}
	return u, nil
}

// Users lists the staff, for the administrators.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.department, u.email`)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Authenticate checks an email and password. An unknown email costs the same hashing time as a
// wrong password, so the answer's timing does not reveal which accounts exist.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	var hash string
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.email = $1`,
		strings.TrimSpace(email)), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		VerifyPassword(s.dummy, password)
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	if !VerifyPassword(hash, password) || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

// Token kinds and lifetimes: a session lasts a working day; a script token until revoked.
const (
	KindSession = "session"
	KindScript  = "script"
	SessionTTL  = 12 * time.Hour
)

// IssueToken creates a bearer token; only its SHA-256 is stored.
func (s *Service) IssueToken(ctx context.Context, u User, kind string) (string, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := "vg_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	var expires any
	if kind == KindSession {
		expires = now.Add(SessionTTL)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (user_id, token_hash, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, tokenHash(token), kind, now, expires); err != nil {
		return "", fmt.Errorf("auth: issue token: %w", err)
	}
	return token, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// UserForToken returns the user a valid token belongs to.
func (s *Service) UserForToken(ctx context.Context, token string) (User, error) {
	if !strings.HasPrefix(token, "vg_") {
		return User{}, ErrInvalidToken
	}
	h := tokenHash(token)
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.user, nil
	}
	var expires sql.NullTime
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, t.expires_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1`, h), &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: check token: %w", err)
	}
	if u.Disabled || expires.Valid && !now.Before(expires.Time) {
		return User{}, ErrInvalidToken
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[h] = cachedToken{user: u, expires: now.Add(tokenCacheTTL)}
	s.mu.Unlock()
	return u, nil
}

// RevokeToken ends a session (logout).
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	h := tokenHash(token)
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE token_hash = $1`, h); err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	return nil
}
