package auth

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
	"vigie/internal/audit"
)

// Throttling and lockout (R15, CNIL deliberation 2022-100): from the 3rd consecutive failure an
// account, and separately a source address, must wait 2^(n-3) seconds before the next try (1 s,
// 2 s, 4 s…, at most 15 minutes); at the 10th failure the account is locked for 30 minutes, and
// every further failure locks it again, until a success or an administrator unlocks it. Refused,
// throttled and locked attempts all get the same answer as a wrong password, so that nothing
// tells whether an account exists.
const (
	throttleAfter = 3
	LockAfter     = 10
	LockDuration  = 30 * time.Minute
	maxDelay      = 15 * time.Minute
	// addressMemory is how long an address's failures are remembered after its last one.
	addressMemory = time.Hour
)

// delayAfter is how long to wait after the n-th consecutive failure.
func delayAfter(n int) time.Duration {
	if n < throttleAfter {
		return 0
	}
	if n-throttleAfter >= 10 {
		return maxDelay
	}
	return min(time.Second<<(n-throttleAfter), maxDelay)
}

// guard is an account's failure state, as read with the account.
type guard struct {
	failures     int
	next, locked sql.NullTime
}

func (g guard) open(now time.Time) bool {
	return !(g.locked.Valid && now.Before(g.locked.Time)) && !(g.next.Valid && now.Before(g.next.Time))
}

func nullTime(t sql.NullTime) any {
	if !t.Valid {
		return nil
	}
	return t.Time.UTC()
}

// reserve counts an attempt as failed before it is checked, and only if the account may be tried
// now. Counting first, in the database, with the seen count as a condition, is what keeps several
// concurrent attempts (or several server processes) from all slipping through the same window.
// A successful check gives the attempt back (refund).
func (s *Service) reserve(ctx context.Context, id int64, g guard, now time.Time) (bool, error) {
	if !g.open(now) {
		return false, nil
	}
	n := g.failures + 1
	var next, locked any
	if d := delayAfter(n); d > 0 {
		next = now.Add(d).UTC()
	}
	if n >= LockAfter {
		locked = now.Add(LockDuration).UTC()
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET failed_logins = $1, next_attempt_at = $2, locked_until = $3
		WHERE id = $4 AND failed_logins = $5`, n, next, locked, id, g.failures)
	if err != nil {
		return false, fmt.Errorf("auth: count attempt: %w", err)
	}
	changed, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("auth: count attempt: %w", err)
	}
	return changed == 1, nil
}

// refund undoes a reservation whose check succeeded, unless another attempt counted since.
func (s *Service) refund(ctx context.Context, id int64, g guard) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET failed_logins = $1, next_attempt_at = $2, locked_until = $3
		WHERE id = $4 AND failed_logins = $5`, g.failures, nullTime(g.next), nullTime(g.locked), id, g.failures+1); err != nil {
		return fmt.Errorf("auth: refund attempt: %w", err)
	}
	return nil
}

// succeeded clears the failures once both factors are right.
func (s *Service) succeeded(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET failed_logins = 0, next_attempt_at = NULL, locked_until = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("auth: clear failures: %w", err)
	}
	return nil
}

// Unlock clears an account's failures and lock (an administrator's action).
func (s *Service) Unlock(ctx context.Context, userID int64) error {
	return s.inTx(ctx, "unlock", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = 0, next_attempt_at = NULL, locked_until = NULL WHERE id = $1`, userID); err != nil {
			return err
		}
		return s.recordTx(ctx, tx, accountEvent(ctx, audit.ActionAccountUnlock, userID, ""))
	})
}

// addressLimiter throttles failures per source address, whatever the account, known or not. It
// lives in memory — losing it at a restart only forgets delays of at most 15 minutes — and holds
// at most max addresses, forgetting the longest quiet ones first.
type addressLimiter struct {
	mu  sync.Mutex
	max int
	m   map[string]*addressState
}

type addressState struct {
	failures   int
	next, last time.Time
}

func newAddressLimiter(max int) *addressLimiter {
	return &addressLimiter{max: max, m: map[string]*addressState{}}
}

// reserve counts a failure for the address if it may try now; an empty address (a command on the
// server) is not limited.
func (l *addressLimiter) reserve(addr string, now time.Time) bool {
	if addr == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[addr]
	if st != nil && now.Sub(st.last) > addressMemory {
		st = nil
	}
	if st != nil && now.Before(st.next) {
		return false
	}
	if st == nil {
		l.makeRoom(now)
		st = &addressState{}
		l.m[addr] = st
	}
	st.failures++
	st.last = now
	st.next = now.Add(delayAfter(st.failures))
	return true
}

// refund gives back a reserved failure whose check succeeded.
func (l *addressLimiter) refund(addr string) {
	if addr == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.m[addr]; st != nil {
		st.failures--
		st.next = time.Time{}
		if st.failures <= 0 {
			delete(l.m, addr)
		}
	}
}

// makeRoom keeps the map within its bound: forgotten addresses go first, then the quietest one.
func (l *addressLimiter) makeRoom(now time.Time) {
	if len(l.m) < l.max {
		return
	}
	var oldest string
	for a, st := range l.m {
		if now.Sub(st.last) > addressMemory {
			delete(l.m, a)
			continue
		}
		if oldest == "" || st.last.Before(l.m[oldest].last) {
			oldest = a
		}
	}
	if len(l.m) >= l.max {
		delete(l.m, oldest)
	}
}

func (l *addressLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
