package auth

import (
	"fmt"
	"testing"
	"time"
)

// TestR15_Delays: nothing before the 3rd failure, then 1 s, 2 s, 4 s… and at most 15 minutes.
func TestR15_Delays(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second},
		{9, 64 * time.Second}, {10, 128 * time.Second}, {12, 512 * time.Second}, {13, 15 * time.Minute}, {1000, 15 * time.Minute},
	}
	for _, c := range cases {
		if got := delayAfter(c.failures); got != c.want {
			t.Errorf("after %d failures: %v, want %v", c.failures, got, c.want)
		}
	}
}

// TestR15_AddressMemoryIsBounded: the per-address state holds at most its bound, forgets quiet
// addresses after an hour, and a success gives its attempt back.
func TestR15_AddressMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	l := newAddressLimiter(3)
	for i := range 10 {
		l.reserve(fmt.Sprintf("192.0.2.%d", i), now.Add(time.Duration(i)*time.Second))
	}
	if n := l.size(); n != 3 {
		t.Errorf("%d addresses remembered, want the bound 3", n)
	}
	for range 3 {
		l.reserve("203.0.113.1", now)
	}
	if l.reserve("203.0.113.1", now) {
		t.Errorf("3 failures from one address: the 4th try at once must be refused")
	}
	if !l.reserve("203.0.113.1", now.Add(2*time.Hour)) {
		t.Errorf("an address quiet for an hour is still held back")
	}
	l.refund("203.0.113.1")
	for range 4 {
		if !l.reserve("", now) {
			t.Errorf("a command on the server (no address) must not be throttled")
		}
	}
}
