package app

import (
	"strings"
	"testing"
)

// TestMetricsTokenMustBeLongAndPlain: VIGIE_METRICS_TOKEN is optional, and when set it must be at
// least 32 characters without spaces, or the server does not start.
func TestMetricsTokenMustBeLongAndPlain(t *testing.T) {
	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"unset: metrics on the loopback only", "", true},
		{"32 hex characters", strings.Repeat("a1", 16), true},
		{"too short", "secret", false},
		{"31 characters", strings.Repeat("a", 31), false},
		{"with a space", strings.Repeat("a", 20) + " " + strings.Repeat("b", 20), false},
		{"with a newline", strings.Repeat("a", 40) + "\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkMetricsToken(c.token)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok %v", err, c.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), "VIGIE_METRICS_TOKEN") || strings.Contains(err.Error(), c.token)) {
				t.Errorf("the message must name the setting and not repeat the token: %v", err)
			}
		})
	}
}
