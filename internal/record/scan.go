package record

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/sensitive"
)

// Sensitive data (DESIGN §6, R03–R06): every text value written through the store passes the
// detectors, and `vigie scan` walks what is already stored with the same rule, so that data
// written before a detector improved is found too.

// Scanned reports whether the detectors look at a column's values: text columns, except those
// whose values are confined to a list the dictionary declares (a status, a channel).
func Scanned(c *dictionary.Column) bool {
	return (c.Kind == dictionary.KindChar || c.Kind == dictionary.KindVarchar) && len(c.Values) == 0
}

// Sensitive returns what the detectors find in a value of column c. Free-text columns (notes,
// messages, comments) get the vocabulary detectors too; a structured field (a name, a street, a
// plate) only the checksum and blood-group ones, since a surname or a street name can
// legitimately be a health or religious word.
func Sensitive(c *dictionary.Column, text string) []sensitive.Finding {
	if !Scanned(c) {
		return nil
	}
	return sensitive.Scan(text, c.Category == "free_text")
}

// sensitiveErrors refuses a value that carries data Vigie must never hold, one error per kind
// found, naming the field and the rule and never the value.
func sensitiveErrors(c *dictionary.Column, text string) []*dictionary.FieldError {
	var errs []*dictionary.FieldError
	for _, f := range Sensitive(c, text) {
		errs = append(errs, &dictionary.FieldError{Field: c.Name, Rule: "sensitive_" + string(f.Kind), Message: f.Message()})
	}
	return errs
}

// ScannedColumns lists the columns of a table whose stored values the scan reads.
func ScannedColumns(t *dictionary.Table) []*dictionary.Column {
	var cols []*dictionary.Column
	for _, c := range t.Columns {
		if Scanned(c) {
			cols = append(cols, c)
		}
	}
	return cols
}

// TextValue is one stored text value, decrypted, as the scan reads it.
type TextValue struct {
	Table    *dictionary.Table
	Column   *dictionary.Column
	RowID    int64
	PersonID int64
	Text     string
}

// scanBatch is how many rows WalkText reads per query: enough to amortise a round trip, few
// enough that memory stays flat on a table of any size.
const scanBatch = 500

// WalkText reads the scanned columns of every row of a person's table, in id order and in
// batches, decrypts them with each person's key as reads do, and calls fn with each non-empty
// value. It is for the periodic sensitive-data scan, a system job: it does not go through the
// per-read audit (its caller records the run once). A person whose key was destroyed has nothing
// left to read. fn must not use the database. It returns how many rows were read.
func (s *Store) WalkText(ctx context.Context, t *dictionary.Table, fn func(TextValue) error) (int64, error) {
	if t.PersonColumn == "" {
		return 0, fmt.Errorf("record: scan %s: not a table of persons' data", t.Name)
	}
	cols := ScannedColumns(t)
	encrypted := false
	sel := []string{"t.id", "t." + t.PersonColumn}
	for _, c := range cols {
		sel = append(sel, "t."+c.Name)
		encrypted = encrypted || c.Encrypted
	}
	join := ""
	if encrypted {
		sel = append(sel, "k.wrapped_key")
		join = " LEFT JOIN subject_keys k ON k.person_id = t." + t.PersonColumn
	}
	query := fmt.Sprintf("SELECT %s FROM %s t%s WHERE t.id > $1 ORDER BY t.id LIMIT %d", strings.Join(sel, ", "), t.Name, join, scanBatch)
	w := walker{s: s, t: t, cols: cols, encrypted: encrypted, raw: make([]any, len(cols))}
	var total int64
	for after := int64(0); ; {
		n, last, err := w.batch(ctx, query, after, fn)
		total += n
		if err != nil {
			return total, fmt.Errorf("record: scan %s: %w", t.Name, err)
		}
		if n < scanBatch {
			return total, nil
		}
		after = last
	}
}

// walker holds what WalkText reuses from one batch to the next.
type walker struct {
	s         *Store
	t         *dictionary.Table
	cols      []*dictionary.Column
	encrypted bool
	raw       []any
	// The last person's key: a person's records are mostly written together, so consecutive
	// rows often share it.
	person int64
	key    *keys.SubjectKey
}

// batch reads the rows after the id after; it returns how many, and the last id.
func (w *walker) batch(ctx context.Context, query string, after int64, fn func(TextValue) error) (n, last int64, err error) {
	rows, err := w.s.db.QueryContext(ctx, query, after)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var id int64
	var personID sql.NullInt64
	var wrapped []byte
	dest := []any{&id, &personID}
	for i := range w.raw {
		dest = append(dest, &w.raw[i])
	}
	if w.encrypted {
		dest = append(dest, &wrapped)
	}
	for rows.Next() {
		wrapped = nil
		if err := rows.Scan(dest...); err != nil {
			return n, last, err
		}
		n, last = n+1, id
		sk, err := w.subjectKey(personID.Int64, wrapped)
		if err != nil {
			return n, last, fmt.Errorf("row %d: %w", id, err)
		}
		for i, c := range w.cols {
			text, err := w.text(c, w.raw[i], sk)
			if err != nil {
				return n, last, fmt.Errorf("%s row %d: %w", c.Name, id, err)
			}
			if text == "" {
				continue
			}
			if err := fn(TextValue{Table: w.t, Column: c, RowID: id, PersonID: personID.Int64, Text: text}); err != nil {
				return n, last, err
			}
		}
	}
	return n, last, rows.Err()
}

func (w *walker) subjectKey(personID int64, wrapped []byte) (*keys.SubjectKey, error) {
	if wrapped == nil {
		return nil, nil // no key (erased): encrypted values are gone
	}
	if w.key == nil || w.person != personID {
		sk, err := w.s.keys.Unwrap(personID, wrapped)
		if err != nil {
			return nil, err
		}
		w.person, w.key = personID, sk
	}
	return w.key, nil
}

// text is a stored value as text, decrypted when the column is encrypted; "" when there is none.
func (w *walker) text(c *dictionary.Column, raw any, sk *keys.SubjectKey) (string, error) {
	switch {
	case raw == nil:
		return "", nil
	case c.Encrypted:
		if sk == nil {
			return "", nil
		}
		blob, _ := raw.([]byte)
		plain, _, err := sk.Open(c.Ref, blob)
		return string(plain), err
	}
	v, err := c.FromDB(raw)
	s, _ := v.(string)
	return s, err
}
