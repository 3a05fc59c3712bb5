// Package record is the governed store: every read and write of a CRM record (person, quote,
// contract, document, interaction, ticket) goes through it, and it obeys the data dictionary —
// department × field access (R08), validation of type, size and format, encryption of personal
// fields under the person's key (R10), provenance of every value, and blind indexes for search.
// Because it reads the dictionary, a field declared there is covered everywhere without more code.
package record

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Actor is who reads or writes: a staff user and the department whose purposes they act for.
type Actor struct {
	UserID     int64
	Department string
	Purposes   []string
	// AllFields reads and writes every field of the person's rows, whatever the department may
	// see: only the rights service sets it, to answer the person themselves (access,
	// portability, erasure, rectification).
	AllFields bool
}

// Record is one row as a department may see it: only the fields it may read are present.
type Record struct {
	Table      *dictionary.Table
	ID         int64
	PersonID   int64
	Values     map[string]any
	Provenance map[string]keys.Provenance
}

// Auditor records what the store does in the audit trail (R16). Read is called once the records
// are fetched and before they are returned: a read whose event cannot be written fails. Wrote is
// called inside the transaction of the write it records.
type Auditor interface {
	Read(ctx context.Context, a Actor, t *dictionary.Table, recs []*Record) error
	Wrote(ctx context.Context, tx *sql.Tx, a Actor, action string, t *dictionary.Table, id, personID int64, fields []string) error
}

// Get returns a field's value, nil when absent or not readable.
func (r *Record) Get(field string) any { return r.Values[field] }

// Text returns a field's value as text for display ("" when absent).
func (r *Record) Text(field string) string {
	c := r.Table.Column(field)
	if c == nil {
		return ""
	}
	return string(c.Text(r.Values[field]))
}

// MarshalJSON writes the fields in dictionary order, blobs left out (they have their own endpoint).
func (r *Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, c := range r.Table.Columns {
		v, ok := r.Values[c.Name]
		if !ok || c.Kind == dictionary.KindBlob {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(c.Name)
		val, err := json.Marshal(c.JSON(v))
		if err != nil {
			return nil, fmt.Errorf("record: %s: %w", c.Name, err)
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	if len(r.Provenance) > 0 {
		if !first {
			b.WriteByte(',')
		}
		p, err := json.Marshal(r.Provenance)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"_provenance":`)
		b.Write(p)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Input is what a client asks to write: raw JSON values by field, and how and for which purpose
// they were collected.
type Input struct {
	// Fields are JSON values (the API); Text are typed-in strings (web forms, CSV files), where an
	// empty string means "no value". A request uses one or the other.
	Fields  map[string]json.RawMessage
	Text    map[string]string
	Channel string
	Purpose string
	// Parent is the id of the parent row for child tables (a ticket's messages).
	Parent int64
	// PrefillFromQuote names an earlier quote of the same person whose values fill what a new
	// quote does not give; PersonConfirmed says the person confirmed, in this quote flow, the
	// values the quote reuses (R22, R23).
	PrefillFromQuote int64
	PersonConfirmed  bool
}

// given reports whether the request sets a field.
func (in Input) given(name string) (any, bool) {
	if in.Text != nil {
		v, ok := in.Text[name]
		return v, ok
	}
	v, ok := in.Fields[name]
	return v, ok
}

// Channels a value can be collected through.
var Channels = []string{"web_form", "portal", "phone", "email", "letter", "agency", "partner", "api", "import", "demo"}

// ErrScannerUnavailable means the antivirus could not scan an upload, which is then refused.
var ErrScannerUnavailable = errors.New("record: the antivirus is unavailable")

// ErrNotFound is an unknown id (or a row hidden by a row rule the caller may not even see).
var ErrNotFound = errors.New("record: not found")

// ForbiddenError is a department touching a table, a field or a row its purposes do not allow.
type ForbiddenError struct {
	Table, Field, Reason string
}

func (e *ForbiddenError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("record: %s.%s: %s", e.Table, e.Field, e.Reason)
	}
	return fmt.Sprintf("record: %s: %s", e.Table, e.Reason)
}

// ValidationError lists every refused field of a request; nothing was written.
type ValidationError struct {
	Fields []*dictionary.FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "record: invalid input: " + strings.Join(parts, "; ")
}

func invalid(field, rule, msg string) *ValidationError {
	return &ValidationError{Fields: []*dictionary.FieldError{{Field: field, Rule: rule, Message: msg}}}
}

func forbidTable(t *dictionary.Table, reason string) error {
	return &ForbiddenError{Table: t.Name, Reason: reason}
}

func (a Actor) hasPurpose(p string) bool { return slices.Contains(a.Purposes, p) }
