package dictionary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is a refused value: it names the field and the rule, never the value itself, so that
// personal data cannot leak into an error message or a log.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message + " (" + e.Rule + ")" }

func fieldErr(c *Column, rule, format string, args ...any) *FieldError {
	return &FieldError{Field: c.Name, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// DateLayout is how dates travel in the API and in encrypted values.
const DateLayout = "2006-01-02"

// Decode turns a JSON value sent by a client into the column's canonical Go value: int64,
// json.Number (numeric), string (char, varchar, date), time.Time (timestamp), bool or []byte (blob,
// sent as base64). A JSON null yields nil. The value is checked against the type, size, allowed
// values, range and format the dictionary declares.
func (c *Column) Decode(raw json.RawMessage, now time.Time) (any, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if !c.Nullable() {
			return nil, fieldErr(c, "required", "ce champ est obligatoire")
		}
		return nil, nil
	}
	switch c.Kind {
	case KindBigint, KindInteger, KindNumeric:
		// A JSON number, not a string holding one; then the same checks as typed-in text.
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil || raw[0] == '"' {
			if c.Kind == KindNumeric {
				return nil, fieldErr(c, "type.numeric", "un nombre est attendu")
			}
			return nil, fieldErr(c, "type.integer", "un nombre entier est attendu")
		}
		return c.DecodeString(n.String(), now)
	case KindBoolean:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fieldErr(c, "type.boolean", "vrai ou faux (true/false) est attendu")
		}
		return b, nil
	case KindBlob:
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fieldErr(c, "type.base64", "un contenu encodé en base64 est attendu")
		}
		if len(b) > c.Size {
			return nil, fieldErr(c, "max_size", "le contenu dépasse %d octets", c.Size)
		}
		if len(b) == 0 && !c.Nullable() {
			return nil, fieldErr(c, "required", "ce champ est obligatoire")
		}
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fieldErr(c, "type.string", "une chaîne de caractères est attendue")
	}
	return c.DecodeString(s, now)
}

// DecodeString checks a value typed as text (a web form, a CSV cell) and returns its canonical
// Go value. An empty string is "no value".
func (c *Column) DecodeString(s string, now time.Time) (any, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		if !c.Nullable() {
			return nil, fieldErr(c, "required", "ce champ est obligatoire")
		}
		return nil, nil
	}
	if !utf8.ValidString(s) {
		return nil, fieldErr(c, "encoding", "le texte n'est pas en UTF-8 valide")
	}
	switch c.Kind {
	case KindChar, KindVarchar:
		// A formatted value is measured once normalised ("+33 6 12 34 56 78" is stored as
		// +33612345678), within a bound on what is typed.
		limit := c.Size
		if c.Format != "" {
			limit = max(c.Size, 255)
		}
		if n := utf8.RuneCountInString(s); n > limit {
			return nil, fieldErr(c, "max_length", "%d caractères au plus (reçu %d)", c.Size, n)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' }) {
			return nil, fieldErr(c, "control_characters", "caractères de contrôle interdits")
		}
		if len(c.Values) > 0 && !contains(c.Values, s) {
			return nil, fieldErr(c, "enum", "valeur non prévue ; valeurs admises : %s", strings.Join(c.Values, ", "))
		}
		v, fe := c.checkFormat(s, now)
		if fe == nil && utf8.RuneCountInString(v.(string)) > c.Size {
			return nil, fieldErr(c, "max_length", "%d caractères au plus", c.Size)
		}
		return v, fe
	case KindDate:
		d, err := time.Parse(DateLayout, s)
		if err != nil {
			return nil, fieldErr(c, "type.date", "une date au format AAAA-MM-JJ est attendue")
		}
		return c.checkFormat(d.Format(DateLayout), now)
	case KindTimestamp:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fieldErr(c, "type.timestamp", "une date et heure RFC 3339 est attendue (2026-01-31T14:00:00Z)")
		}
		return c.checkFormat(t.UTC(), now)
	case KindBigint, KindInteger:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || (c.Kind == KindInteger && (v > math.MaxInt32 || v < math.MinInt32)) {
			return nil, fieldErr(c, "type.integer", "un nombre entier est attendu")
		}
		if fe := c.checkRange(float64(v)); fe != nil {
			return nil, fe
		}
		return c.checkFormat(v, now)
	case KindNumeric:
		return c.parseNumeric(strings.Replace(s, ",", ".", 1))
	case KindBoolean:
		switch strings.ToLower(s) {
		case "true", "1", "oui", "on":
			return true, nil
		case "false", "0", "non", "off":
			return false, nil
		}
		return nil, fieldErr(c, "type.boolean", "oui ou non est attendu")
	}
	return nil, fieldErr(c, "type", "ce champ ne peut pas être saisi sous forme de texte")
}

func (c *Column) parseNumeric(s string) (any, *FieldError) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fieldErr(c, "type.numeric", "un nombre est attendu")
	}
	intPart, frac, _ := strings.Cut(strings.TrimLeft(s, "-+"), ".")
	if strings.ContainsAny(s, "eE") || len(frac) > c.Scale || len(strings.TrimLeft(intPart, "0")) > c.Size-c.Scale {
		return nil, fieldErr(c, "type.numeric", "%d chiffres au plus dont %d après la virgule", c.Size, c.Scale)
	}
	if fe := c.checkRange(f); fe != nil {
		return nil, fe
	}
	return json.Number(strconv.FormatFloat(f, 'f', c.Scale, 64)), nil
}

func (c *Column) checkRange(f float64) *FieldError {
	if c.Min != nil && f < *c.Min || c.Max != nil && f > *c.Max {
		return fieldErr(c, "range", "valeur hors de l'intervalle [%s, %s]", fmtBound(c.Min), fmtBound(c.Max))
	}
	return nil
}

func fmtBound(b *float64) string {
	if b == nil {
		return "∞"
	}
	return strconv.FormatFloat(*b, 'f', -1, 64)
}

func (c *Column) checkFormat(v any, now time.Time) (any, *FieldError) {
	if c.Format == "" {
		return v, nil
	}
	return formats[c.Format](c, v, now)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// DefaultValue returns the declared default as a canonical value, or nil.
func (c *Column) DefaultValue() any {
	if len(c.Default) == 0 {
		return nil
	}
	v, fe := c.Decode(c.Default, time.Time{})
	if fe != nil {
		return nil
	}
	return v
}

// Text is the canonical text of a value: what is encrypted for an encrypted column, and what a
// web page shows. Numbers keep their scale, dates are AAAA-MM-JJ, timestamps RFC 3339.
func (c *Column) Text(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	case json.Number:
		return []byte(x)
	case int64:
		return strconv.AppendInt(nil, x, 10)
	case bool:
		return strconv.AppendBool(nil, x)
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano))
	}
	return []byte(fmt.Sprint(v))
}

// FromText is the inverse of Text, used when decrypting a stored value.
func (c *Column) FromText(b []byte) (any, error) {
	switch c.Kind {
	case KindBlob:
		return b, nil
	case KindChar, KindVarchar, KindDate:
		return string(b), nil
	case KindNumeric:
		return json.Number(b), nil
	case KindBigint, KindInteger:
		return strconv.ParseInt(string(b), 10, 64)
	case KindBoolean:
		return strconv.ParseBool(string(b))
	case KindTimestamp:
		return time.Parse(time.RFC3339Nano, string(b))
	}
	return nil, fmt.Errorf("dictionary: %s: no text form", c.Name)
}

// FromDB normalises what a database driver returned for a clear column into the canonical value:
// SQLite and PostgreSQL disagree on booleans, dates and time zones.
func (c *Column) FromDB(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Kind {
	case KindBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case KindBigint, KindInteger:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case KindDate:
		switch x := v.(type) {
		case time.Time:
			return x.Format(DateLayout), nil
		case string:
			return x[:min(len(x), 10)], nil
		}
	case KindTimestamp:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			return parseDBTime(x)
		}
	case KindChar, KindVarchar:
		switch x := v.(type) {
		case string:
			return strings.TrimRight(x, " "), nil
		case []byte:
			return string(x), nil
		}
	case KindNumeric:
		switch x := v.(type) {
		case string:
			return json.Number(x), nil
		case []byte:
			return json.Number(x), nil
		case float64:
			return json.Number(strconv.FormatFloat(x, 'f', c.Scale, 64)), nil
		}
	case KindBlob:
		if x, ok := v.([]byte); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("dictionary: %s: unexpected %T from database", c.Name, v)
}

func parseDBTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("dictionary: unreadable time in database")
}

// JSON is the value as it appears in an API answer.
func (c *Column) JSON(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return v
}
