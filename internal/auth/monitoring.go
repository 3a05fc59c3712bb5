package auth

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// failureCounts counts the refused sign-ins of this process by reason, for monitoring (a burst of
// wrong passwords from everywhere is an attack under way). It keeps no account and no address.
type failureCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (f *failureCounts) add(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int64{}
	}
	f.n[strings.ReplaceAll(reason, " ", "_")]++
}

// FailedSignIns returns the sign-ins refused since the process started, by reason: wrong_password,
// wrong_second_factor, unknown_account, account_locked_or_throttled, address_throttled,
// account_disabled. Never who, nor from where.
func (s *Service) FailedSignIns() map[string]int64 {
	s.failures.mu.Lock()
	defer s.failures.mu.Unlock()
	out := make(map[string]int64, len(s.failures.n))
	for k, v := range s.failures.n {
		out[k] = v
	}
	return out
}

// LockedAccounts counts the staff accounts that repeated failures lock now (R15).
func (s *Service) LockedAccounts(ctx context.Context) (int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT locked_until FROM users WHERE locked_until IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("auth: count locked accounts: %w", err)
	}
	defer rows.Close()
	now := s.now()
	var n int64
	for rows.Next() {
		var until sql.NullTime
		if err := rows.Scan(&until); err != nil {
			return 0, fmt.Errorf("auth: count locked accounts: %w", err)
		}
		if until.Valid && now.Before(until.Time) {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("auth: count locked accounts: %w", err)
	}
	return n, nil
}
