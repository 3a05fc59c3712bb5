// Package dictionary is the executable data dictionary (DESIGN §4, rule R01): one embedded file
// declares every column of every table, and access control, validation, encryption, search and the
// printed "Dictionnaire de données — Base client" all read it.
package dictionary

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

//go:embed dictionary.json
var embedded []byte

// Dictionary is the parsed data dictionary.
type Dictionary struct {
	Title       string       `json:"title"`
	Version     string       `json:"version"`
	Supersedes  string       `json:"supersedes"`
	Departments []Department `json:"departments"`
	Purposes    []Purpose    `json:"purposes"`
	Retention   []Retention  `json:"retention"`
	Tables      []*Table     `json:"tables"`

	byName map[string]*Table
}

// Department is a staff department (DESIGN §1); each user belongs to exactly one.
type Department struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Purposes []string `json:"purposes"`
}

// Purpose is a processing purpose with its legal basis (DESIGN §2).
type Purpose struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	LegalBasis string `json:"legal_basis"`
	// Recipients are who receives the data of this purpose besides the departments (Art. 13(1)(e)).
	Recipients string `json:"recipients"`
	// Subjects are the categories of data subjects of the purpose (art. 30(1)(c)).
	Subjects []string `json:"subjects"`
	// Retention lists the codes of the retention rules that govern the purpose's data
	// (art. 30(1)(f)); it must name every rule of the personal columns serving the purpose (R38).
	Retention []string `json:"retention"`
	// Transfers are the purpose's transfers outside the European Union (art. 30(1)(e)); none by
	// default. Each one needs its safeguards (art. 46) or the derogation it rests on (art. 49).
	Transfers []Transfer `json:"transfers,omitempty"`
}

// Transfer is a transfer of personal data to a third country or an international organisation.
type Transfer struct {
	Recipient  string `json:"recipient"`
	Country    string `json:"country"`
	Safeguards string `json:"safeguards"`
}

// PurposeError refuses a purpose that lacks what the register of processing needs (R38): Field is
// the purpose's missing or wrong field, Rule the requirement it breaks.
type PurposeError struct {
	Purpose, Field, Rule, Message string
}

func (e *PurposeError) Error() string {
	return fmt.Sprintf("purpose %s: %s: %s (%s)", e.Purpose, e.Field, e.Message, e.Rule)
}

// Retention is a retention rule a table or column refers to (DESIGN §5).
type Retention struct {
	Code string `json:"code"`
	Keep string `json:"keep"`
	// Months is Keep as a number of months, for the rules a program applies by itself (the legacy
	// import refuses what is already past it); 0 where the duration is not a fixed one.
	Months int    `json:"months,omitempty"`
	From   string `json:"from"`
	Then   string `json:"then"`
	Source string `json:"source"`
	// KeptOnErasure marks a legal obligation to keep the data: an erasure request leaves it in the
	// archive until Months after From have passed, and the answer says so (Art. 17(3)(b)).
	KeptOnErasure bool `json:"kept_on_erasure,omitempty"`
}

// Table declares one database table.
type Table struct {
	Name        string `json:"name"`
	Entity      string `json:"entity"`
	Label       string `json:"label"`
	Description string `json:"description"`
	// PersonColumn names the column holding the data subject's id; empty for tables without one.
	PersonColumn string `json:"person_column"`
	// Parent names the column linking a child row (a ticket message) to its parent resource.
	Parent string `json:"parent"`
	// Internal tables are never reachable through the API or the web interface.
	Internal bool `json:"internal"`
	// Portable tables hold data the person provided: portability (art. 20) returns their
	// non-system fields.
	Portable  bool      `json:"portable"`
	Read      []string  `json:"read"`
	Write     []string  `json:"write"`
	Purposes  []string  `json:"purposes"`
	RowRules  []string  `json:"row_rules"`
	Retention string    `json:"retention"`
	EndOfLife string    `json:"end_of_life"`
	Columns   []*Column `json:"columns"`
	byName    map[string]*Column
}

// Column declares one column: its SQL type and size, keys, whether it is personal, encrypted or
// searchable, its category, purposes, departments, retention and end-of-life action.
type Column struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Key         string          `json:"key"`
	Null        *bool           `json:"null"`
	Personal    bool            `json:"personal"`
	Encrypted   bool            `json:"encrypted"`
	Searchable  string          `json:"searchable"`
	Category    string          `json:"category"`
	Format      string          `json:"format"`
	Values      []string        `json:"values"`
	Min         *float64        `json:"min"`
	Max         *float64        `json:"max"`
	Default     json.RawMessage `json:"default"`
	System      bool            `json:"system"`
	Immutable   bool            `json:"immutable"`
	ClearReason string          `json:"clear_reason"`
	Label       string          `json:"label"`
	Description string          `json:"description"`
	ReadBy      []string        `json:"read"`
	WriteBy     []string        `json:"write"`
	PurposesOf  []string        `json:"purposes"`
	RetentionOf string          `json:"retention"`
	EndOfLifeOf string          `json:"end_of_life"`
	// PublicForm is "required" or "optional" for the columns the public online quote form asks:
	// only what a quote needs (R02). A nullable column may be required there (a quote is priced
	// from the birth date) while staff may record a person without it.
	PublicForm string `json:"public_form"`

	// Filled by Load from the type and the table's defaults.
	Ref           string // "table.column": the place a sealed value and a blind index are bound to
	Kind          Kind
	Size          int
	Scale         int
	Read          []string
	Write         []string
	Purposes      []string
	RetentionRule string
	EndOfLife     string
}

// Kind is the family of a column's SQL type.
type Kind int

// The SQL type families the dictionary accepts; a bare "string" is not one of them.
const (
	KindBigint Kind = iota + 1
	KindInteger
	KindNumeric
	KindChar
	KindVarchar
	KindDate
	KindTimestamp
	KindBoolean
	KindBlob
)

// Categories a column may belong to.
var Categories = []string{"identity", "contact", "vehicle", "driver", "pricing", "contract", "relationship", "free_text", "consent", "statistical", "staff", "technical"}

// EndOfLifeActions are the actions the lifecycle engine knows.
var EndOfLifeActions = []string{"delete", "anonymise", "archive", "renew", "keep"}

// Load parses the embedded dictionary and checks that it is complete and consistent.
func Load() (*Dictionary, error) { return Parse(embedded) }

// Parse parses a dictionary document and checks it.
func Parse(data []byte) (*Dictionary, error) {
	var d Dictionary
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("dictionary: parse: %w", err)
	}
	if err := d.resolve(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Raw returns the embedded dictionary document.
func Raw() []byte { return embedded }

var typePattern = regexp.MustCompile(`^(bigint|integer|date|timestamp|boolean)$|^(char|varchar|blob)\((\d+)\)$|^numeric\((\d+),(\d+)\)$`)

func (d *Dictionary) resolve() error {
	var errs []error
	depts := map[string]bool{}
	for _, dep := range d.Departments {
		depts[dep.Code] = true
	}
	purposes := map[string]bool{}
	for _, p := range d.Purposes {
		purposes[p.Code] = true
	}
	retention := map[string]bool{}
	for _, r := range d.Retention {
		retention[r.Code] = true
		if !slices.Contains(EndOfLifeActions, r.Then) {
			errs = append(errs, fmt.Errorf("retention %s: unknown action %q", r.Code, r.Then))
		}
	}
	checkDepts := func(where string, list []string) {
		for _, code := range list {
			if !depts[code] {
				errs = append(errs, fmt.Errorf("%s: unknown department %q", where, code))
			}
		}
	}
	checkPurposes := func(where string, list []string) {
		for _, code := range list {
			if !purposes[code] {
				errs = append(errs, fmt.Errorf("%s: unknown purpose %q", where, code))
			}
		}
	}
	d.byName = map[string]*Table{}
	for _, t := range d.Tables {
		if d.byName[t.Name] != nil {
			errs = append(errs, fmt.Errorf("table %s declared twice", t.Name))
		}
		d.byName[t.Name] = t
		checkDepts("table "+t.Name, t.Read)
		checkDepts("table "+t.Name, t.Write)
		checkPurposes("table "+t.Name, t.Purposes)
		if !retention[t.Retention] {
			errs = append(errs, fmt.Errorf("table %s: unknown retention rule %q", t.Name, t.Retention))
		}
		if !slices.Contains(EndOfLifeActions, t.EndOfLife) {
			errs = append(errs, fmt.Errorf("table %s: unknown end-of-life action %q", t.Name, t.EndOfLife))
		}
		t.byName = map[string]*Column{}
		for _, c := range t.Columns {
			c.Ref = t.Name + "." + c.Name
			where := c.Ref
			if t.byName[c.Name] != nil {
				errs = append(errs, fmt.Errorf("%s declared twice", where))
			}
			t.byName[c.Name] = c
			if err := c.parseType(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			if !slices.Contains(Categories, c.Category) {
				errs = append(errs, fmt.Errorf("%s: unknown category %q", where, c.Category))
			}
			if c.Personal && !c.Encrypted && c.ClearReason == "" {
				errs = append(errs, fmt.Errorf("%s: personal but not encrypted needs a clear_reason (R10)", where))
			}
			if c.Encrypted && !c.Personal {
				errs = append(errs, fmt.Errorf("%s: encrypted fields must be personal", where))
			}
			if c.Encrypted && t.PersonColumn == "" {
				errs = append(errs, fmt.Errorf("%s: encrypted but table has no person column for its key", where))
			}
			if c.Searchable != "" && (c.Searchable != "exact" && c.Searchable != "tokens" || !c.Encrypted) {
				errs = append(errs, fmt.Errorf("%s: searchable must be exact or tokens, on an encrypted field", where))
			}
			if c.Format != "" && !knownFormat(c.Format) {
				errs = append(errs, fmt.Errorf("%s: unknown format %q", where, c.Format))
			}
			c.Read = or(c.ReadBy, t.Read)
			c.Write = or(c.WriteBy, t.Write)
			if c.System {
				c.Write = nil
			}
			c.Purposes = or(c.PurposesOf, t.Purposes)
			if c.PublicForm != "" && c.PublicForm != "required" && c.PublicForm != "optional" {
				errs = append(errs, fmt.Errorf("%s: public_form must be required or optional", where))
			}
			if c.PublicForm != "" && (c.System || !slices.Contains(c.Purposes, "quotes")) {
				errs = append(errs, fmt.Errorf("%s: asked on the public quote form but not collected for the quotes purpose (R02)", where))
			}
			c.RetentionRule = orString(c.RetentionOf, t.Retention)
			c.EndOfLife = orString(c.EndOfLifeOf, t.EndOfLife)
			checkDepts(where, c.Read)
			checkDepts(where, c.Write)
			checkPurposes(where, c.Purposes)
			if c.Label == "" {
				errs = append(errs, fmt.Errorf("%s: no label", where))
			}
		}
		if t.PersonColumn != "" && t.byName[t.PersonColumn] == nil {
			errs = append(errs, fmt.Errorf("table %s: person column %q not declared", t.Name, t.PersonColumn))
		}
	}
	for _, t := range d.Tables {
		for _, c := range t.Columns {
			if ref, ok := strings.CutPrefix(c.Key, "foreign:"); ok {
				table, col, _ := strings.Cut(ref, ".")
				if rt := d.byName[table]; rt == nil || rt.byName[col] == nil {
					errs = append(errs, fmt.Errorf("%s.%s: foreign key to undeclared %s", t.Name, c.Name, ref))
				}
			}
		}
	}
	for _, p := range d.Purposes {
		for _, pe := range d.checkPurpose(p, retention) {
			errs = append(errs, pe)
		}
	}
	return errors.Join(errs...)
}

// checkPurpose refuses a purpose the register of processing could not describe (R38, art. 30(1)):
// without a name, a legal basis (art. 6), categories of data subjects, or retention rules — and
// retention rules that leave out the rule of one of the personal columns serving the purpose, so
// that the register's retention and the lifecycle's never disagree. A transfer outside the EU
// needs its recipient, country and safeguards (art. 30(1)(e), 46).
func (d *Dictionary) checkPurpose(p Purpose, known map[string]bool) []*PurposeError {
	var errs []*PurposeError
	refuse := func(field, rule, message string) {
		errs = append(errs, &PurposeError{Purpose: p.Code, Field: field, Rule: rule, Message: message})
	}
	if strings.TrimSpace(p.Name) == "" {
		refuse("name", "required", "a purpose needs its name (art. 30(1)(b))")
	}
	if strings.TrimSpace(p.LegalBasis) == "" {
		refuse("legal_basis", "required", "a purpose needs its legal basis (art. 6; register of processing, R38)")
	}
	if len(p.Subjects) == 0 || slices.ContainsFunc(p.Subjects, func(s string) bool { return strings.TrimSpace(s) == "" }) {
		refuse("subjects", "required", "a purpose names the categories of data subjects it concerns (art. 30(1)(c), R38)")
	}
	if len(p.Retention) == 0 {
		refuse("retention", "required", "a purpose names the retention rules of its data (art. 30(1)(f), R38)")
	}
	for _, code := range p.Retention {
		if !known[code] {
			refuse("retention", "unknown_rule", fmt.Sprintf("unknown retention rule %q", code))
		}
	}
	if len(p.Retention) > 0 {
		missing := map[string]bool{}
		for _, t := range d.Tables {
			for _, c := range t.Columns {
				if c.Personal && slices.Contains(c.Purposes, p.Code) && !slices.Contains(p.Retention, c.RetentionRule) && !missing[c.RetentionRule] {
					missing[c.RetentionRule] = true
					refuse("retention", "covers_columns", fmt.Sprintf("does not list %q, the retention rule of %s.%s", c.RetentionRule, t.Name, c.Name))
				}
			}
		}
	}
	for i, tr := range p.Transfers {
		if strings.TrimSpace(tr.Recipient) == "" || strings.TrimSpace(tr.Country) == "" || strings.TrimSpace(tr.Safeguards) == "" {
			refuse(fmt.Sprintf("transfers[%d]", i), "required", "a transfer outside the EU names its recipient, its country and its safeguards (art. 30(1)(e), 46)")
		}
	}
	return errs
}

// Purpose returns the purpose with that code.
func (d *Dictionary) Purpose(code string) (Purpose, bool) {
	for _, p := range d.Purposes {
		if p.Code == code {
			return p, true
		}
	}
	return Purpose{}, false
}

func (c *Column) parseType() error {
	m := typePattern.FindStringSubmatch(c.Type)
	if m == nil {
		return fmt.Errorf("type %q: want bigint, integer, numeric(p,s), char(n), varchar(n), date, timestamp, boolean or blob(n)", c.Type)
	}
	switch {
	case m[1] != "":
		c.Kind = map[string]Kind{"bigint": KindBigint, "integer": KindInteger, "date": KindDate, "timestamp": KindTimestamp, "boolean": KindBoolean}[m[1]]
	case m[2] != "":
		c.Kind = map[string]Kind{"char": KindChar, "varchar": KindVarchar, "blob": KindBlob}[m[2]]
		c.Size, _ = strconv.Atoi(m[3])
	default:
		c.Kind = KindNumeric
		c.Size, _ = strconv.Atoi(m[4])
		c.Scale, _ = strconv.Atoi(m[5])
	}
	return nil
}

func or(a, b []string) []string {
	if a != nil {
		return a
	}
	return b
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Table returns the declared table, or nil.
func (d *Dictionary) Table(name string) *Table { return d.byName[name] }

// RetentionRule returns the retention rule with that code.
func (d *Dictionary) RetentionRule(code string) (Retention, bool) {
	for _, r := range d.Retention {
		if r.Code == code {
			return r, true
		}
	}
	return Retention{}, false
}

// Department returns the department with that code.
func (d *Dictionary) Department(code string) (Department, bool) {
	for _, dep := range d.Departments {
		if dep.Code == code {
			return dep, true
		}
	}
	return Department{}, false
}

// Column returns the declared column, or nil.
func (t *Table) Column(name string) *Column { return t.byName[name] }

// Nullable reports whether the column accepts NULL; columns are nullable unless declared not.
func (c *Column) Nullable() bool { return c.Null == nil || *c.Null }

// PrimaryKey reports whether the column is (part of) the primary key.
func (c *Column) PrimaryKey() bool { return c.Key == "primary" }

// ForeignKey returns the referenced table and column, if the column is a foreign key.
func (c *Column) ForeignKey() (table, column string, ok bool) {
	ref, ok := strings.CutPrefix(c.Key, "foreign:")
	if !ok {
		return "", "", false
	}
	table, column, _ = strings.Cut(ref, ".")
	return table, column, true
}

// CanRead reports whether the department may read the column (R08).
func (c *Column) CanRead(department string) bool { return slices.Contains(c.Read, department) }

// CanWrite reports whether the department may write the column (R08).
func (c *Column) CanWrite(department string) bool { return slices.Contains(c.Write, department) }

// CanRead reports whether the department may read any row of the table at all.
func (t *Table) CanRead(department string) bool {
	return !t.Internal && slices.Contains(t.Read, department)
}

// CanWrite reports whether the department may create or change rows of the table.
func (t *Table) CanWrite(department string) bool {
	return !t.Internal && slices.Contains(t.Write, department)
}

// HasRowRule reports whether rows of the table are filtered by the named rule.
func (t *Table) HasRowRule(rule string) bool { return slices.Contains(t.RowRules, rule) }
