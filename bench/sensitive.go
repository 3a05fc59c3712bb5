package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"vigie/internal/sensitive"
	"vigie/internal/sensitive/sensitivetest"
)

// sensitiveBench measures the sensitive-data detectors as the store runs them before every write
// of free text, over generated French notes, beside a baseline that makes the same pass over the
// same lines doing only what any word-level reading must: fold each line and split it into words.
// Each pass runs three times and the fastest counts, the machine being shared.
func sensitiveBench(lines int) []string {
	corpus := sensitivetest.Notes(lines, 1)
	size := 0
	for _, l := range corpus {
		size += len(l)
	}
	var findings, words int
	scan := fastest(3, func() {
		findings = 0
		for _, l := range corpus {
			findings += len(sensitive.Scan(l, true))
		}
	})
	baseline := fastest(3, func() {
		words = 0
		for _, l := range corpus {
			words += len(strings.FieldsFunc(sensitive.Fold(l), func(r rune) bool { return !unicode.IsLetter(r) }))
		}
	})
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	lps := func(d time.Duration) float64 { return float64(lines) / d.Seconds() }
	return []string{
		fmt.Sprintf("\nsensitive-data detectors over %d French free-text lines (%.1f MB, %d findings, %d words):", lines, float64(size)/1e6, findings, words),
		fmt.Sprintf("  Scan(free text):            %7.1f MB/s  %10.0f lines/s  (%.0f× Presidio's ~1,500 lines/s; target 150,000)", mbps(scan), lps(scan), lps(scan)/1500),
		fmt.Sprintf("  baseline, fold and split:   %7.1f MB/s  %10.0f lines/s", mbps(baseline), lps(baseline)),
		fmt.Sprintf("  Scan/baseline throughput:   %.2f", baseline.Seconds()/scan.Seconds()),
	}
}

// fastest runs fn n times and returns its shortest duration.
func fastest(n int, fn func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range n {
		start := time.Now()
		fn()
		best = min(best, time.Since(start))
	}
	return best
}
