package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestTextMasksPersonalData: each kind of personal value in free text is masked, and ordinary log
// content (routes, counts, durations, ids) is kept.
func TestTextMasksPersonalData(t *testing.T) {
	cases := []struct{ in, gone, kept string }{
		{"user camille.legoff+2@exemple.fr failed", "camille.legoff", "failed"},
		{"call 06 12 34 56 78 back", "34 56", "back"},
		{"call +33 6 12 34 56 78 back", "34 56", "back"},
		{"call 0612345678", "0612345678", "call"},
		{"nir 1 85 05 78 006 084 36 in note", "006 084", "note"},
		{"nir 185057800608436", "185057800608436", "nir"},
		{"corsica 2 90 05 2A 004 124 76", "004 124", "corsica"},
		{"card 4970 1012 3456 7890 declined", "3456", "declined"},
		{"iban FR76 3000 6000 0112 3456 7890 189 refused", "3000 6000", "refused"},
		{"GET /api/v1/persons/{id} status=200 duration=1.2ms persons=1000000", "", "persons=1000000"},
	}
	for _, c := range cases {
		got := Text(c.in)
		if c.gone != "" && strings.Contains(got, c.gone) {
			t.Errorf("case %q: personal value still there", c.kept)
		}
		if !strings.Contains(got, c.kept) {
			t.Errorf("case %q: ordinary text lost", c.kept)
		}
	}
}

// TestHandlerRedactsAttributesAndMessages: attributes named like a personal field are blanked,
// and personal text in messages, strings, errors and groups is masked.
func TestHandlerRedactsAttributesAndMessages(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&buf, nil), []string{"last_name", "birth_date"}))
	log.With("last_name", "Kerhervé").Info("login for jeanne@exemple.fr",
		"birth_date", "1980-01-01",
		"err", errors.New("insert failed for 06 11 22 33 44"),
		"password", "Secret-Pass-2026",
		slog.Group("req", "note", "nir 185057800608436"),
		"count", 3, "route", "GET /api/v1/persons/{id}", "detail", "x")
	out := buf.String()
	for i, personal := range []string{"Kerhervé", "jeanne@", "1980-01-01", "22 33 44", "Secret-Pass", "185057800608436"} {
		if strings.Contains(out, personal) {
			t.Errorf("log holds personal value #%d", i) // the value itself is not printed
		}
	}
	for _, kept := range []string{"count=3", "GET /api/v1/persons/{id}"} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %q", kept)
		}
	}
}
