package main

import (
	"fmt"
	"io"
	"log/slog"

	"vigie/internal/redact"
)

// newLogger is the process's one logger: text (the default, for a terminal or the journal) or
// JSON (one object per line, for a log shipper), as VIGIE_LOG_FORMAT says, always behind the
// handler that redacts personal data. An unknown format is refused rather than guessed, so that a
// typo does not send unparsable lines to the shipper.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("VIGIE_LOG_FORMAT=%q: want text or json", format)
	}
	return slog.New(redact.New(h, personalFields())), nil
}
