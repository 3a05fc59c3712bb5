package sensitive

import (
	"testing"

	"vigie/internal/sensitive/sensitivetest"
)

// BenchmarkScanFreeText scans French notes as the store does before every write. The target is
// 100 times Presidio's 1.5k lines/s: 150k lines/s. One operation is one pass over the corpus.
func BenchmarkScanFreeText(b *testing.B) {
	lines := sensitivetest.Notes(10_000, 1)
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			Scan(l, true)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(lines))/b.Elapsed().Seconds(), "lines/s")
}
