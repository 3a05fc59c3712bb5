package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Attempt is one sign-in try: what was typed, and the source address it came from (empty for a
// command run on the server).
type Attempt struct {
	Email, Password string
	// Code is a TOTP code or a recovery code, for the one-request sign-in of the API.
	Code    string
	Address string
}

// CheckPassword is the first step of a sign-in. Every refusal is ErrInvalidCredentials, whether
// the account does not exist, is disabled, locked or throttled, or the password is wrong, and
// takes the time of one password hash (except for a throttled address, which is refused at once:
// that tells nothing about any account). A right password returns the user; the sign-in is not
// complete until the second factor is checked too, so the failure count is not cleared yet.
func (s *Service) CheckPassword(ctx context.Context, at Attempt) (User, error) {
	u, reason, err := s.checkPassword(ctx, at)
	if errors.Is(err, ErrInvalidCredentials) {
		s.recordFailure(ctx, u, reason)
		return User{}, err
	}
	return u, err
}

// checkPassword returns, with a refusal, the account it was for (when it exists) and the reason,
// for the audit trail only.
func (s *Service) checkPassword(ctx context.Context, at Attempt) (User, string, error) {
	now := s.now()
	if !s.addresses.reserve(at.Address, now) {
		return User{}, "address throttled", ErrInvalidCredentials
	}
	var hash string
	var g guard
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, u.password_hash, u.failed_logins, u.next_attempt_at
		FROM users u WHERE u.email = $1`, strings.TrimSpace(at.Email)), &hash, &g.failures, &g.next)
	if errors.Is(err, sql.ErrNoRows) {
		s.verify(s.dummyHash(), at.Password)
		return User{}, "unknown account", ErrInvalidCredentials
	}
	if err != nil {
		s.addresses.refund(at.Address)
		return User{}, "", fmt.Errorf("auth: check password: %w", err)
	}
	if !u.LockedUntil.IsZero() {
		g.locked = sql.NullTime{Time: u.LockedUntil, Valid: true}
	}
	ok, err := s.reserve(ctx, u.ID, g, now)
	if err != nil {
		s.addresses.refund(at.Address)
		return User{}, "", err
	}
	if !ok {
		s.verify(s.dummyHash(), at.Password)
		return u, "account locked or throttled", ErrInvalidCredentials
	}
	if !s.verify(hash, at.Password) {
		return u, "wrong password", ErrInvalidCredentials
	}
	if u.Disabled {
		return u, "account disabled", ErrInvalidCredentials
	}
	if err := s.refund(ctx, u.ID, g); err != nil {
		return User{}, "", err
	}
	s.addresses.refund(at.Address)
	if s.outdated(hash) {
		// Redo the hash at today's cost while the password is at hand.
		if _, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`,
			s.hash(at.Password), u.ID, hash); err != nil {
			return User{}, "", fmt.Errorf("auth: rehash password: %w", err)
		}
	}
	return u, "", nil
}

// Login is the whole sign-in in one request, for the API: password, then the second factor. The
// errors say, once the password is known to be right, what is missing: ErrEnrolmentRequired (the
// second factor is enrolled through the web sign-in), ErrPasswordChangeRequired (checked before
// the code, so that the change can use a fresh one), ErrSecondFactorRequired, ErrInvalidCode.
func (s *Service) Login(ctx context.Context, at Attempt) (User, error) {
	u, err := s.CheckPassword(ctx, at)
	if err != nil {
		return User{}, err
	}
	if !u.TOTPEnrolled {
		return User{}, ErrEnrolmentRequired
	}
	change, err := s.ChangeRequired(ctx, u)
	if err != nil {
		return User{}, err
	}
	if change {
		return User{}, ErrPasswordChangeRequired
	}
	if strings.TrimSpace(at.Code) == "" {
		return User{}, ErrSecondFactorRequired
	}
	if err := s.VerifySecondFactor(ctx, u, at.Code); err != nil {
		return User{}, err
	}
	return u, nil
}

// LoginWithNewPassword signs in and sets a new password in one request, for the API: the way out
// of ErrPasswordChangeRequired, and a voluntary change. The new password is checked before the
// code is spent, so a refused one does not cost a code.
func (s *Service) LoginWithNewPassword(ctx context.Context, at Attempt, newPassword string) (User, error) {
	u, err := s.CheckPassword(ctx, at)
	if err != nil {
		return User{}, err
	}
	if !u.TOTPEnrolled {
		return User{}, ErrEnrolmentRequired
	}
	if err := s.checkNewPassword(ctx, u, newPassword); err != nil {
		return User{}, err
	}
	if strings.TrimSpace(at.Code) == "" {
		return User{}, ErrSecondFactorRequired
	}
	if err := s.VerifySecondFactor(ctx, u, at.Code); err != nil {
		return User{}, err
	}
	if err := s.storePassword(ctx, u, newPassword); err != nil {
		return User{}, err
	}
	u.MustChangePassword, u.PasswordChangedAt = false, s.now().UTC()
	return u, nil
}
