// Package auth knows the staff (DESIGN §8): users with one department each, passwords checked
// against the CNIL policy and hashed with argon2id (R12), expiring for privileged departments and
// never reused (R13), a mandatory TOTP second factor with one-time recovery codes (R14), failed
// sign-ins throttled then locked (R15), and bearer tokens of which only a SHA-256 is stored.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/password"
	"vigie/internal/record"
)

// User is a staff member, with the state of their credentials when it was read.
type User struct {
	ID          int64
	Email       string
	DisplayName string
	Department  string
	Disabled    bool
	// MustChangePassword is set by an administrator: the password only serves to choose another.
	MustChangePassword bool
	PasswordChangedAt  time.Time
	// TOTPEnrolled is false until the person has confirmed a first code of their authenticator.
	TOTPEnrolled bool
	// LockedUntil is when a lock after repeated failures ends (zero: never locked).
	LockedUntil time.Time
}

// Locked reports whether repeated failures have locked the account at the given time.
func (u User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// Errors callers map to answers. ErrInvalidCredentials never says whether the account exists, is
// locked, is disabled or was given a wrong password.
var (
	ErrInvalidCredentials = errors.New("auth: invalid email or password")
	ErrInvalidToken       = errors.New("auth: invalid or expired token")
	ErrUserExists         = errors.New("auth: a user with this email already exists")
	// The password was right, and:
	ErrEnrolmentRequired      = errors.New("auth: the second factor must be enrolled first (web sign-in)")
	ErrPasswordChangeRequired = errors.New("auth: the password has expired or must be changed")
	ErrSecondFactorRequired   = errors.New("auth: a TOTP code or a recovery code is required")
	ErrInvalidCode            = errors.New("auth: wrong, expired or already used code")
)

// Service manages users, their credentials and tokens.
type Service struct {
	db    *db.DB
	dict  *dictionary.Dictionary
	keys  *keys.Keyring
	now   func() time.Time
	argon Argon2Params

	recorder Recorder
	log      *slog.Logger

	hashSlots chan struct{}
	dummyOnce sync.Once
	dummy     string
	addresses *addressLimiter
	failures  failureCounts // refused sign-ins by reason, for monitoring (monitoring.go)

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

// Option tunes a Service.
type Option func(*Service)

// WithArgon2 sets the cost of new password hashes; the zero value keeps DefaultArgon2. Tests pass
// TestArgon2.
func WithArgon2(p Argon2Params) Option {
	return func(s *Service) {
		if p != (Argon2Params{}) {
			s.argon = p
		}
	}
}

// NewService returns the staff service. The keyring seals the TOTP secrets.
func NewService(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, now func() time.Time, opts ...Option) *Service {
	s := &Service{db: d, dict: dict, keys: kr, now: now, argon: DefaultArgon2(), log: slog.New(slog.DiscardHandler),
		hashSlots: make(chan struct{}, 4), addresses: newAddressLimiter(10000), cache: map[string]cachedToken{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Actor is what the user may do: their department and its purposes.
func (s *Service) Actor(u User) record.Actor {
	dep, _ := s.dict.Department(u.Department)
	return record.Actor{UserID: u.ID, Department: u.Department, Purposes: dep.Purposes}
}

// CreateUser adds a staff member with a password of their own choosing. Every input is checked and
// the error names the field; the password must satisfy the CNIL policy (package password).
func (s *Service) CreateUser(ctx context.Context, email, displayName, department, pw string) (User, error) {
	return s.createUser(ctx, email, displayName, department, pw, false)
}

// ProvisionUser adds a staff member with an initial password an administrator chose for them: it
// serves once, to choose their own at the first sign-in (CNIL 2022-100: a password set by someone
// else is temporary).
func (s *Service) ProvisionUser(ctx context.Context, email, displayName, department, pw string) (User, error) {
	return s.createUser(ctx, email, displayName, department, pw, true)
}

func (s *Service) createUser(ctx context.Context, email, displayName, department, pw string, mustChange bool) (User, error) {
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
	if fe := password.Check(pw, email, displayName); fe != nil {
		errs = append(errs, fe)
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
	hash, now := s.hash(pw), s.now().UTC()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO users (email, display_name, department, password_hash, disabled, created_at, password_changed_at, must_change_password)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`, u.Email, u.DisplayName, u.Department, hash, false, now, mustChange).Scan(&u.ID)
	if err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)`, u.ID, hash, now); err != nil {
		return User{}, fmt.Errorf("auth: create user: password history: %w", err)
	}
	if err := s.recordTx(ctx, tx, accountEvent(ctx, audit.ActionUserCreate, u.ID, "department="+u.Department)); err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	u.PasswordChangedAt, u.MustChangePassword = now, mustChange
	return u, nil
}

const userColumns = `u.id, u.email, u.display_name, u.department, u.disabled, u.must_change_password, u.created_at,
	u.password_changed_at, u.totp_enrolled_at, u.locked_until`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var disabled, mustChange any
	var created time.Time
	var changed, enrolled, locked sql.NullTime
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.DisplayName, &u.Department, &disabled, &mustChange, &created,
		&changed, &enrolled, &locked}, extra...)...)
	u.Disabled, u.MustChangePassword = truth(disabled), truth(mustChange)
	u.PasswordChangedAt = created.UTC()
	if changed.Valid {
		u.PasswordChangedAt = changed.Time.UTC()
	}
	u.TOTPEnrolled = enrolled.Valid
	if locked.Valid {
		u.LockedUntil = locked.Time.UTC()
	}
	return u, err
}

// truth reads a boolean column: BOOLEAN on PostgreSQL, an integer on SQLite.
func truth(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case int64:
		return b != 0
	}
	return false
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

// UserByID finds a user.
func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
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

// PasswordOpens reports whether the password is the account's, without counting a failure: for
// operator tools on the server (the demo checks whether its printed password still works). Never
// call it with a request's input: it is not throttled.
func (s *Service) PasswordOpens(ctx context.Context, email, pw string) (bool, error) {
	var hash string
	var disabled any
	err := s.db.QueryRowContext(ctx, `SELECT password_hash, disabled FROM users WHERE email = $1`, strings.TrimSpace(email)).Scan(&hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: check password: %w", err)
	}
	return !truth(disabled) && s.verify(hash, pw), nil
}

// Token kinds and lifetimes: a session lasts a working day; a script token until revoked; a
// pending sign-in (password checked, second factor or new password awaited) ten minutes.
const (
	KindSession       = "session"
	KindScript        = "script"
	KindPendingMFA    = "pending_mfa"
	KindPendingChange = "pending_change"
	SessionTTL        = 12 * time.Hour
	SessionIdle       = 30 * time.Minute
	PendingTTL        = 10 * time.Minute
)

// IssueToken creates a bearer token; only its SHA-256 is stored.
func (s *Service) IssueToken(ctx context.Context, u User, kind string) (string, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := "vg_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	var expires any
	switch kind {
	case KindSession:
		expires = now.Add(SessionTTL)
	case KindPendingMFA, KindPendingChange:
		expires = now.Add(PendingTTL)
	case KindScript:
	default:
		return "", fmt.Errorf("auth: issue token: unknown kind %q", kind)
	}
	err := s.inTx(ctx, "issue token", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (user_id, token_hash, kind, created_at, expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $4)`,
			u.ID, tokenHash(token), kind, now, expires); err != nil {
			return err
		}
		switch kind {
		case KindSession:
			return s.recordTx(ctx, tx, selfEvent(u, audit.ActionLogin, "session"))
		case KindScript:
			return s.recordTx(ctx, tx, accountEvent(ctx, audit.ActionToken, u.ID, "script token"))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// UserForToken returns the user a valid session or script token belongs to. A pending sign-in's
// token is not a session: it opens nothing but the next step (PendingUser).
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
	u, err := s.tokenUser(ctx, h, KindSession, KindScript)
	if err != nil {
		return User{}, err
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[h] = cachedToken{user: u, expires: now.Add(tokenCacheTTL)}
	s.mu.Unlock()
	return u, nil
}

// PendingUser returns the user of a pending sign-in token of the given kind.
func (s *Service) PendingUser(ctx context.Context, token, kind string) (User, error) {
	if !strings.HasPrefix(token, "vg_") {
		return User{}, ErrInvalidToken
	}
	u, err := s.tokenUser(ctx, tokenHash(token), kind, kind)
	if err != nil {
		return User{}, err
	}
	if u.Locked(s.now()) {
		return User{}, ErrInvalidToken
	}
	return u, nil
}

func (s *Service) tokenUser(ctx context.Context, hash, kind1, kind2 string) (User, error) {
	var expires, lastUsed sql.NullTime
	var kind string
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, t.expires_at, t.kind, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.kind IN ($2, $3)`, hash, kind1, kind2), &expires, &kind, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: check token: %w", err)
	}
	now := s.now()
	if u.Disabled || expires.Valid && !now.Before(expires.Time) {
		return User{}, ErrInvalidToken
	}
	if kind == KindSession && lastUsed.Valid {
		idle := now.Sub(lastUsed.Time)
		if idle >= SessionIdle {
			return User{}, ErrInvalidToken
		}
		// Noted to the minute: a write per request would cost more than the precision is worth.
		if idle >= time.Minute {
			if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2`, now.UTC(), hash); err != nil {
				return User{}, fmt.Errorf("auth: note token use: %w", err)
			}
		}
	}
	return u, nil
}

// LogoutEverywhere ends every session and pending sign-in of the user, on every device.
func (s *Service) LogoutEverywhere(ctx context.Context, u User) error {
	return s.inTx(ctx, "log out everywhere", func(tx *sql.Tx) error {
		if err := s.endSessions(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.recordTx(ctx, tx, selfEvent(u, audit.ActionLogout, "everywhere"))
	})
}

// RevokeToken ends a session (logout) or a pending sign-in.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	h := tokenHash(token)
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
	return s.inTx(ctx, "revoke token", func(tx *sql.Tx) error {
		var u User
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT t.kind, u.id, u.department FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = $1`, h).Scan(&kind, &u.ID, &u.Department)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE token_hash = $1`, h); err != nil {
			return err
		}
		if kind != KindSession {
			return nil
		}
		return s.recordTx(ctx, tx, selfEvent(u, audit.ActionLogout, "session"))
	})
}

// endSessions revokes the user's sessions and pending sign-ins (script tokens stay: an operator
// made them on the server), and forgets them in the cache at once.
func (s *Service) endSessions(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, userID int64) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND kind <> $2`, userID, KindScript); err != nil {
		return fmt.Errorf("auth: end sessions: %w", err)
	}
	s.mu.Lock()
	for h, c := range s.cache {
		if c.user.ID == userID {
			delete(s.cache, h)
		}
	}
	s.mu.Unlock()
	return nil
}
