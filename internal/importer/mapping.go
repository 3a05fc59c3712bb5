package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"vigie/internal/dictionary"
)

// Mapping says how the columns of one legacy extract become dictionary fields. It is a JSON file
// written once per kind of extract (see DEVELOPERS.md, "Legacy import"):
//
//	{
//	  "purpose": "quotes",
//	  "delimiter": ";",
//	  "date_formats": ["02/01/2006", "02/01/2006 15:04"],
//	  "columns": {
//	    "nom": "persons.last_name",
//	    "date_creation": "persons.created_at",
//	    "dernier_contact": "persons.last_contact_at",
//	    "marque": "quotes.vehicle_make",
//	    "loisirs": "drop"
//	  },
//	  "defaults": {"persons.kind": "prospect", "quotes.coverage": "tiers"}
//	}
type Mapping struct {
	// Purpose is what the old CRM collected the data for: it becomes the purpose of every imported
	// value's provenance, and a mapped field the dictionary does not allow for it is dropped (R02,
	// R22: prospection data does not become a quote).
	Purpose string `json:"purpose"`
	// Delimiter is ",", ";" or "tab"; empty: detected from the header line.
	Delimiter string `json:"delimiter"`
	// DateFormats are Go layouts ("02/01/2006" for JJ/MM/AAAA) tried in order on date and
	// timestamp cells; ISO 8601 (AAAA-MM-JJ, RFC 3339) is always accepted after them.
	DateFormats []string `json:"date_formats"`
	// Columns maps a CSV header (as written in the file) to "table.column" or to "drop". A header
	// the mapping does not name is dropped as unknown (R07). persons.created_at names the original
	// collection date, mandatory: it becomes each value's provenance date and retention counts
	// from it. persons.last_contact_at and quotes.created_at (the quote's date) are optional.
	Columns map[string]string `json:"columns"`
	// Defaults are constant values for fields no column gives ("persons.kind": "customer").
	Defaults map[string]string `json:"defaults"`
}

// drop is the mapping value that drops a column on purpose.
const drop = "drop"

// importTables are the tables a row of an extract can fill: a person, their quote, a note of an
// interaction with them. Contracts and tickets come with documents and histories a flat extract
// does not hold.
var importTables = []string{"persons", "quotes", "interactions"}

// derivedColumns are the system columns a mapping may still name, because in a legacy file they
// are the original dates retention counts from (not the day of the import).
var derivedColumns = []string{"persons.created_at", "quotes.created_at"}

// ParseMapping reads a mapping file and checks it against the dictionary. The header of the
// file is checked later, by Import.
func ParseMapping(r io.Reader, d *dictionary.Dictionary) (*Mapping, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("importer: read mapping: %w", err)
	}
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("importer: mapping: %w", err)
	}
	if err := m.check(d); err != nil {
		return nil, fmt.Errorf("importer: mapping: %w", err)
	}
	return &m, nil
}

func (m *Mapping) check(d *dictionary.Dictionary) error {
	var errs []error
	persons := d.Table("persons")
	if !slices.Contains(persons.Purposes, m.Purpose) {
		errs = append(errs, fmt.Errorf("purpose %q: want one of %s (the purpose the old CRM collected the data for)",
			m.Purpose, strings.Join(persons.Purposes, ", ")))
	}
	if _, err := m.delimiter(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range m.DateFormats {
		if !strings.Contains(f, "2006") || !strings.Contains(f, "01") && !strings.Contains(f, "Jan") {
			errs = append(errs, fmt.Errorf("date_formats: %q is not a Go layout (write 02/01/2006 for JJ/MM/AAAA)", f))
		}
	}
	if len(m.Columns) == 0 {
		errs = append(errs, errors.New("columns: no column mapped"))
	}
	targets := map[string]string{}
	for header, ref := range m.Columns {
		if ref == drop {
			continue
		}
		if _, err := mappableColumn(d, ref, true); err != nil {
			errs = append(errs, fmt.Errorf("columns: %q: %w", header, err))
			continue
		}
		if other, ok := targets[ref]; ok {
			errs = append(errs, fmt.Errorf("columns: %q and %q both map to %s", min(header, other), max(header, other), ref))
		}
		targets[ref] = header
	}
	if _, ok := targets["persons.created_at"]; !ok {
		errs = append(errs, errors.New("columns: no column maps to persons.created_at, the original collection date: without it imported data would look freshly collected"))
	}
	for ref, v := range m.Defaults {
		c, err := mappableColumn(d, ref, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("defaults: %w", err))
			continue
		}
		if _, fe := c.DecodeString(v, time.Now()); fe != nil {
			errs = append(errs, fmt.Errorf("defaults: %s: %s (%s)", ref, fe.Message, fe.Rule))
		}
		if !slices.Contains(c.Purposes, m.Purpose) {
			errs = append(errs, fmt.Errorf("defaults: %s is not collected for the purpose %s (R02)", ref, m.Purpose))
		}
	}
	return errors.Join(errs...)
}

// mappableColumn resolves "table.column" to a column an import may fill.
func mappableColumn(d *dictionary.Dictionary, ref string, derivedOK bool) (*dictionary.Column, error) {
	table, name, _ := strings.Cut(ref, ".")
	if !slices.Contains(importTables, table) {
		return nil, fmt.Errorf("%q: want \"drop\" or a field of %s", ref, strings.Join(importTables, ", "))
	}
	t := d.Table(table)
	c := t.Column(name)
	switch {
	case c == nil:
		return nil, fmt.Errorf("%s is not in the data dictionary", ref)
	case derivedOK && slices.Contains(derivedColumns, ref):
	case c.System || c.Name == t.PersonColumn || c.PrimaryKey():
		return nil, fmt.Errorf("%s is computed by Vigie", ref)
	}
	return c, nil
}

// delimiter returns the configured delimiter, 0 for "detect".
func (m *Mapping) delimiter() (rune, error) {
	switch m.Delimiter {
	case "":
		return 0, nil
	case ",", ";":
		return rune(m.Delimiter[0]), nil
	case "tab", "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("delimiter %q: want \",\", \";\" or \"tab\"", m.Delimiter)
}
