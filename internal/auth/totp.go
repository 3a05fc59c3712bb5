package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"
	"vigie/internal/audit"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The second factor (R14) is TOTP (RFC 6238): 6 digits, 30-second steps, HMAC-SHA1 — what every
// authenticator application reads from a QR code. A code is accepted one step early or late
// (clock skew of ±30 s), and only once: the last step used is stored, and a code of that step or
// an earlier one is refused. Ten recovery codes, each usable once, replace a lost phone.
const (
	totpIssuer     = "Vigie"
	totpPeriod     = 30
	totpSkew       = 1
	totpSecretSize = 20
	// RecoveryCodes is how many recovery codes an enrolment gives.
	RecoveryCodes = 10
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrolment is what the enrolment page shows: the secret as a QR code and as text, and the same
// secret sealed, to come back with the first code. Nothing is stored until that code is right.
type Enrolment struct {
	Secret string // base32, grouped by 4 for typing
	URL    string // otpauth:// URL the QR code holds
	QRCode []byte // PNG
	Sealed string // the secret sealed for this user and this sign-in, for the confirmation form
}

// enrolmentPlace binds a sealed enrolment secret to the user and to the pending sign-in it was
// shown in, so it cannot be confirmed from another one.
func enrolmentPlace(userID int64, binding string) string {
	return "totp-enrolment:" + strconv.FormatInt(userID, 10) + ":" + tokenHash(binding)
}

func secretPlace(userID int64) string { return "users.totp_secret:" + strconv.FormatInt(userID, 10) }

// BeginEnrolment draws a new TOTP secret for a user who has none yet. binding is the pending
// sign-in's token.
func (s *Service) BeginEnrolment(u User, binding string) (Enrolment, error) {
	if u.TOTPEnrolled {
		return Enrolment{}, errors.New("auth: second factor already enrolled")
	}
	secret := make([]byte, totpSecretSize)
	rand.Read(secret)
	return s.enrolment(u, binding, secret)
}

// ResumeEnrolment shows again the secret of an enrolment whose first code was wrong.
func (s *Service) ResumeEnrolment(u User, binding, sealed string) (Enrolment, error) {
	secret, err := s.openEnrolment(u, binding, sealed)
	if err != nil {
		return Enrolment{}, err
	}
	return s.enrolment(u, binding, secret)
}

func (s *Service) openEnrolment(u User, binding, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return nil, ErrInvalidCode
	}
	secret, err := s.keys.OpenSecret(enrolmentPlace(u.ID, binding), raw)
	if err != nil {
		return nil, ErrInvalidCode
	}
	return secret, nil
}

func (s *Service) enrolment(u User, binding string, secret []byte) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Secret: secret, Period: totpPeriod})
	if err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp qr code: %w", err)
	}
	text := b32.EncodeToString(secret)
	var grouped []string
	for i := 0; i < len(text); i += 4 {
		grouped = append(grouped, text[i:min(i+4, len(text))])
	}
	return Enrolment{
		Secret: strings.Join(grouped, " "),
		URL:    key.URL(),
		QRCode: buf.Bytes(),
		Sealed: base64.RawURLEncoding.EncodeToString(s.keys.SealSecret(enrolmentPlace(u.ID, binding), secret)),
	}, nil
}

// ConfirmEnrolment stores the secret once the person typed a right code from it, and returns the
// recovery codes, to be shown once. The code counts as a sign-in attempt: a wrong one is a failure
// (R15), and a right one completes the sign-in.
func (s *Service) ConfirmEnrolment(ctx context.Context, u User, binding, sealed, code string) ([]string, error) {
	secret, err := s.openEnrolment(u, binding, sealed)
	if err != nil {
		return nil, err
	}
	g, err := s.loadGuard(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ok, err := s.reserve(ctx, u.ID, g, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidCode
	}
	step, ok := matchStep(secret, code, now)
	if !ok {
		return nil, ErrInvalidCode
	}
	codes, hashes := newRecoveryCodes()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: enrol: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = $1, totp_enrolled_at = $2, totp_last_step = $3,
		failed_logins = 0, next_attempt_at = NULL, locked_until = NULL WHERE id = $4 AND totp_enrolled_at IS NULL`,
		s.keys.SealSecret(secretPlace(u.ID), secret), now.UTC(), step, u.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: enrol: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("auth: enrol: %w", err)
	} else if n != 1 {
		return nil, errors.New("auth: enrol: already enrolled")
	}
	if err := storeRecoveryCodes(ctx, tx, u.ID, hashes, now); err != nil {
		return nil, err
	}
	if err := s.recordTx(ctx, tx, selfEvent(u, audit.ActionTOTPEnrol, "")); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("auth: enrol: %w", err)
	}
	return codes, nil
}

// VerifySecondFactor checks a TOTP code, or a recovery code, of a user whose password was just
// checked. A wrong code counts as a failure of the account (R15) — not of the source address,
// whose throttling is against guessing passwords — and a right one completes the sign-in and
// clears the failures. A code is accepted once.
func (s *Service) VerifySecondFactor(ctx context.Context, u User, code string) error {
	err := s.verifySecondFactor(ctx, u, code)
	if errors.Is(err, ErrInvalidCode) {
		s.recordFailure(ctx, u, "wrong second factor")
	}
	return err
}

func (s *Service) verifySecondFactor(ctx context.Context, u User, code string) error {
	now := s.now()
	var sealed []byte
	var last sql.NullInt64
	var g guard
	var locked sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_last_step, failed_logins, next_attempt_at, locked_until FROM users
		WHERE id = $1 AND totp_enrolled_at IS NOT NULL`, u.ID).Scan(&sealed, &last, &g.failures, &g.next, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrEnrolmentRequired
	}
	if err != nil {
		return fmt.Errorf("auth: second factor: %w", err)
	}
	g.locked = locked
	ok, err := s.reserve(ctx, u.ID, g, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidCode
	}
	if isRecoveryCode(code) {
		ok, err := s.useRecoveryCode(ctx, u.ID, code, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrInvalidCode
		}
	} else {
		secret, err := s.keys.OpenSecret(secretPlace(u.ID), sealed)
		if err != nil {
			return fmt.Errorf("auth: second factor: %w", err)
		}
		step, ok := matchStep(secret, code, now)
		if !ok || last.Valid && step <= last.Int64 {
			return ErrInvalidCode
		}
		// Spend the step; a concurrent use of the same code loses this race.
		res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)`, step, u.ID)
		if err != nil {
			return fmt.Errorf("auth: second factor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("auth: second factor: %w", err)
		} else if n != 1 {
			return ErrInvalidCode
		}
	}
	return s.succeeded(ctx, u.ID)
}

func (s *Service) loadGuard(ctx context.Context, id int64) (guard, error) {
	var g guard
	err := s.db.QueryRowContext(ctx, `SELECT failed_logins, next_attempt_at, locked_until FROM users WHERE id = $1`, id).Scan(&g.failures, &g.next, &g.locked)
	if err != nil {
		return g, fmt.Errorf("auth: read failures: %w", err)
	}
	return g, nil
}

// matchStep finds the time step, within the allowed skew, whose code is the one given.
func matchStep(secret []byte, code string, now time.Time) (int64, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	for _, step := range []int64{current, current - 1, current + 1} {
		if step < current-totpSkew || step > current+totpSkew {
			continue
		}
		want, err := hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// Recovery codes: 16 base32 characters (80 random bits) in groups of 4, of which only a SHA-256 is
// stored — enough for a value that random, which no dictionary can guess.

func newRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodes {
		raw := make([]byte, 10)
		rand.Read(raw)
		c := b32.EncodeToString(raw)
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
		hashes = append(hashes, recoveryHash(c))
	}
	return codes, hashes
}

func normaliseRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

func isRecoveryCode(code string) bool { return len(normaliseRecovery(code)) == 16 }

func recoveryHash(code string) string {
	h := sha256.Sum256([]byte(normaliseRecovery(code)))
	return hex.EncodeToString(h[:])
}

func storeRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, hashes []string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("auth: recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, now.UTC()); err != nil {
			return fmt.Errorf("auth: recovery codes: %w", err)
		}
	}
	return nil
}

// useRecoveryCode spends a recovery code: the update succeeds once per code.
func (s *Service) useRecoveryCode(ctx context.Context, userID int64, code string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
		now.UTC(), userID, recoveryHash(code))
	if err != nil {
		return false, fmt.Errorf("auth: recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: recovery codes: %w", err)
	}
	return n, nil
}

// NewRecoveryCodes replaces a signed-in user's recovery codes with ten new ones, shown once.
func (s *Service) NewRecoveryCodes(ctx context.Context, userID int64) ([]string, error) {
	codes, hashes := newRecoveryCodes()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	defer tx.Rollback()
	if err := storeRecoveryCodes(ctx, tx, userID, hashes, s.now()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	return codes, nil
}

// ResetSecondFactor forgets a user's TOTP secret and recovery codes (a lost phone, an operator's
// action): the next sign-in enrols a new one. The user's sessions end.
func (s *Service) ResetSecondFactor(ctx context.Context, userID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("auth: reset second factor: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("auth: reset second factor: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("auth: reset second factor: %w", err)
	}
	if err := s.endSessions(ctx, tx, userID); err != nil {
		return err
	}
	if err := s.recordTx(ctx, tx, accountEvent(ctx, audit.ActionTOTPReset, userID, "")); err != nil {
		return err
	}
	return tx.Commit()
}
