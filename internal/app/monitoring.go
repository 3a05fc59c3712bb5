package app

import (
	"errors"
	"fmt"
	"strings"
)

// MinMetricsTokenLength is the shortest VIGIE_METRICS_TOKEN accepted: 32 characters, what
// `openssl rand -hex 16` gives.
const MinMetricsTokenLength = 32

// checkMetricsToken refuses, at start, a metrics token too short to resist guessing or that could
// not travel in an Authorization header.
func checkMetricsToken(token string) error {
	if token == "" {
		return nil
	}
	if err := metricsTokenRule(token); err != nil {
		return fmt.Errorf("app: VIGIE_METRICS_TOKEN: %w", err)
	}
	return nil
}

// metricsTokenRule is the rule of VIGIE_METRICS_TOKEN (SettingTable).
func metricsTokenRule(token string) error {
	if len(token) < MinMetricsTokenLength || strings.ContainsAny(token, " \t\r\n") {
		return errors.New("want at least 32 characters without spaces, e.g. from `openssl rand -hex 32`")
	}
	return nil
}
