package auth_test

import (
	"testing"

	"vigie/internal/auth"
)

// BenchmarkArgon2id measures one password hash at the default cost (R12), and at OWASP's minimum
// for comparison. OWASP suggests 50–250 ms a hash for an interactive sign-in: run with
// `go test -run '^$' -bench Argon2id ./internal/auth/`.
func BenchmarkArgon2id(b *testing.B) {
	for _, c := range []struct {
		name string
		p    auth.Argon2Params
	}{
		{"default_m64MiB_t3_p2", auth.DefaultArgon2()},
		{"owasp_minimum_m19MiB_t2_p1", auth.Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.p.Hash("Un-mot-de-passe-long-2026")
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms/hash")
		})
	}
}
