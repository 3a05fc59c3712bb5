package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestLogFormatIsTextOrJSONAndNothingElse: VIGIE_LOG_FORMAT chooses text (the default) or JSON,
// both still redacting personal data; any other value is refused.
func TestLogFormatIsTextOrJSONAndNothingElse(t *testing.T) {
	for _, c := range []struct {
		format  string
		refused bool
		json    bool
	}{
		{"", false, false},
		{"text", false, false},
		{"json", false, true},
		{"JSON", true, false},
		{"yaml", true, false},
		{"logfmt", true, false},
	} {
		t.Run("format "+c.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, c.format)
			if c.refused {
				if err == nil || !strings.Contains(err.Error(), "VIGIE_LOG_FORMAT") || !strings.Contains(err.Error(), "text or json") {
					t.Fatalf("err = %v, want a refusal naming the setting and its values", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("request", "route", "GET /api/v1/persons", "email", "anne.martin@exemple.fr")
			line := buf.String()
			var obj map[string]any
			isJSON := json.Unmarshal([]byte(line), &obj) == nil
			if isJSON != c.json {
				t.Errorf("JSON = %v, want %v: %s", isJSON, c.json, line)
			}
			if !strings.Contains(line, "GET /api/v1/persons") || strings.Contains(line, "anne.martin") {
				t.Errorf("the route must be logged and the e-mail redacted: %s", line)
			}
		})
	}
}

// TestUnknownLogFormatStopsEveryCommandAtStart: a typo in VIGIE_LOG_FORMAT ends the command
// before it does anything, with a clear message and a non-zero status.
func TestUnknownLogFormatStopsEveryCommandAtStart(t *testing.T) {
	c := newCLI(t)
	t.Setenv("VIGIE_LOG_FORMAT", "xml")
	code, out, errOut := c.run("", "migrate")
	if code != 1 || out != "" || !strings.Contains(errOut, `VIGIE_LOG_FORMAT="xml": want text or json`) {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(c.file("vigie.db")); err == nil {
		t.Error("the command ran: the database was created")
	}
}
