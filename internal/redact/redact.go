// Package redact keeps personal data out of the logs (DESIGN §8): a slog handler that blanks the
// attributes named like a personal field of the dictionary (or a secret), and masks, in every
// message and value, what looks like an e-mail address, a phone number, a social-security,
// card or bank account number. The rest of Vigie already avoids logging such data; this is the
// net under it.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Handler wraps another slog handler and redacts every record before it.
type Handler struct {
	next slog.Handler
	keys map[string]bool
}

// secretKeys are attribute names that never carry a loggable value, whatever the dictionary says.
var secretKeys = []string{"password", "new_password", "token", "code", "totp", "recovery_code", "secret", "email", "phone"}

// New returns a handler that redacts, before next, attributes named in personalKeys (the
// dictionary's personal fields) or in secretKeys, and personal-looking text anywhere.
func New(next slog.Handler, personalKeys []string) *Handler {
	keys := map[string]bool{}
	for _, k := range append(personalKeys, secretKeys...) {
		keys[strings.ToLower(k)] = true
	}
	return &Handler{next: next, keys: keys}
}

// Enabled reports what the wrapped handler reports.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle redacts the record's message and attributes, then passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts the attributes once, when they are attached.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), keys: h.keys}
}

// WithGroup passes the group on.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), keys: h.keys}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	if h.keys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[masqué]")
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = h.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		return slog.String(a.Key, Text(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var patterns = []struct {
	re   *regexp.Regexp
	mask string
}{
	{regexp.MustCompile(`[\p{L}\p{N}._%+'-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}`), "[e-mail masqué]"},
	{regexp.MustCompile(`\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b`), "[IBAN masqué]"},
	// Card numbers, social-security numbers (13 to 19 digits, spaced or not; 2A/2B for Corsica).
	{regexp.MustCompile(`\b[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}\b|\b\d(?:[ -]?\d){12,18}\b`), "[numéro masqué]"},
	{regexp.MustCompile(`(?:\+\d{2,3}|\b0)\s?[1-9](?:[ .-]?\d{2}){4}\b`), "[téléphone masqué]"},
}

// Text masks what looks like personal data in free text.
func Text(s string) string {
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.mask)
	}
	return s
}
