package importer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vigie/internal/dictionary"
)

// column is what the import does with one column of the extract.
type column struct {
	index int
	// header is the name in the file, matched against the mapping; display is the name the
	// report prints (the audit's: a header that looks like personal data is "colonne N").
	header, display string
	ref             string // "table.column" the mapping gives, "drop", or "" when unmapped
	table           *dictionary.Table
	field           *dictionary.Column
	kept            bool
	reason, rule    string // why the column is dropped
	detail          string
	freeText        bool
	required        bool              // a row without a valid value is rejected
	enum            map[string]string // allowed values, by normalised spelling
}

// Reasons a column is dropped, as the report prints them.
const (
	reasonUnknown     = "inconnue"
	reasonUnnecessary = "non nécessaire"
	reasonPurpose     = "non autorisée pour la finalité "
	reasonSensitive   = "sensible : "
)

// plan is how every column of the file is handled, decided once from the header, the mapping,
// and the dictionary audit's verdicts.
type plan struct {
	dict    *dictionary.Dictionary
	columns []*column
	// byRef finds the kept column of a field.
	byRef map[string]*column
	// has says, for quotes and interactions, whether any of their fields is kept: a row makes
	// such a record only when one of its cells is not empty.
	has map[string]bool
	// required are the kept columns a record of the table cannot do without, by table.
	required map[string][]*column
	// defaults per table: the mapping's constants, then the dictionary's defaults, decoded once.
	defaults map[string]map[string]any
}

// newPlan decides the fate of each column. headerAudit judged the header alone (what the names
// say), sampleAudit the first rows too (what the values are).
func newPlan(d *dictionary.Dictionary, m *Mapping, header []string, headerAudit, sampleAudit *dictionary.AuditReport, now time.Time) (*plan, error) {
	var errs []error
	p := &plan{dict: d, byRef: map[string]*column{}, has: map[string]bool{}, required: map[string][]*column{},
		defaults: map[string]map[string]any{}}
	seen := map[string]int{}
	for i, h := range header {
		seen[h]++
		col := &column{index: i, header: h, display: sampleAudit.Columns[i].Header, ref: m.Columns[h]}
		p.columns = append(p.columns, col)
		if col.ref != "" && col.ref != drop {
			table, name, _ := strings.Cut(col.ref, ".")
			col.table = d.Table(table)
			col.field = col.table.Column(name)
			col.freeText = col.field.Category == "free_text"
		}
		col.decide(m.Purpose, headerAudit.Columns[i], sampleAudit.Columns[i])
		if col.kept {
			p.byRef[col.ref] = col
			p.has[col.table.Name] = p.has[col.table.Name] || !slices.Contains(derivedColumns, col.ref)
			col.enum = enumOf(col.field)
		}
	}
	for h := range m.Columns {
		switch {
		case seen[h] == 0:
			errs = append(errs, fmt.Errorf("la colonne %q du fichier de correspondance n'est pas dans l'en-tête", h))
		case seen[h] > 1:
			errs = append(errs, fmt.Errorf("l'en-tête contient %d colonnes %q : la correspondance serait ambiguë", seen[h], h))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, name := range importTables {
		t := d.Table(name)
		defs := map[string]any{}
		for _, c := range t.Columns {
			if v, ok := m.Defaults[c.Ref]; ok {
				defs[c.Name], _ = c.DecodeString(v, now) // checked by ParseMapping
			} else if v := c.DefaultValue(); v != nil {
				defs[c.Name] = v
			}
		}
		p.defaults[name] = defs
	}
	if c := p.byRef["persons.created_at"]; c != nil {
		c.required = true
		p.required["persons"] = append(p.required["persons"], c)
	} else {
		errs = append(errs, fmt.Errorf("la date de collecte (persons.created_at) est écartée : %s", droppedReason(p, "persons.created_at")))
	}
	for _, name := range importTables {
		if name != "persons" && !p.has[name] {
			continue
		}
		for _, c := range d.Table(name).Columns {
			if c.Nullable() || c.System || c.PrimaryKey() || c.Name == d.Table(name).PersonColumn || derived[c.Ref] || p.defaults[name][c.Name] != nil {
				continue
			}
			if col := p.byRef[c.Ref]; col != nil {
				col.required = true
				p.required[name] = append(p.required[name], col)
				continue
			}
			errs = append(errs, fmt.Errorf("%s est obligatoire et aucune colonne conservée ne le donne (%s)", c.Ref, droppedReason(p, c.Ref)))
		}
	}
	return p, errors.Join(errs...)
}

func (p *plan) table(name string) *dictionary.Table { return p.dict.Table(name) }

// derived are the fields the import fills itself when no column gives them: the purpose of a
// note is the mapping's, its date the last contact (else the collection date).
var derived = map[string]bool{"interactions.purpose": true, "interactions.occurred_at": true}

// droppedReason explains why no kept column gives a field, for the errors of newPlan.
func droppedReason(p *plan, ref string) string {
	for _, c := range p.columns {
		if c.ref == ref && !c.kept {
			return "colonne " + c.display + " écartée : " + c.reason
		}
	}
	return "non mappé"
}

// decide keeps or drops the column, strongest reason first: sensitive data (whatever the
// mapping says, R03–R06), unknown (R07), dropped by the mapping or not needed by the purpose (R02).
func (c *column) decide(purpose string, byHeader, byValues dictionary.ColumnAudit) {
	set := func(reason, rule, detail string) { c.reason, c.rule, c.detail = reason, rule, detail }
	// The values' verdict drops a mapped column only on what sensitive.Scan itself finds in such a
	// field: checksum-verified numbers and blood groups in a structured column. Vocabulary is left
	// to the scan of each cell, so that one note about an illness, or one "rue des Protestants",
	// does not take the column of every other row with it.
	label := sensitiveLabel(byValues)
	byNumbers := label == "NIR" || label == "groupe sanguin" || label == "carte bancaire" || label == "IBAN"
	unmapped := c.ref == "" || c.ref == drop
	switch {
	case byHeader.Class == dictionary.ClassSensitive:
		set(reasonSensitive+sensitiveLabel(byHeader), byHeader.Rule, byHeader.Reason)
	case byValues.Class == dictionary.ClassSensitive && (unmapped || !c.freeText && byNumbers):
		set(reasonSensitive+label, byValues.Rule, byValues.Reason)
	case c.ref == "":
		set(reasonUnknown, "R07", "colonne absente du fichier de correspondance ; l'audit du dictionnaire la classe : "+byValues.Class.Label())
	case c.ref == drop:
		set(reasonUnnecessary, "R02", "écartée par le fichier de correspondance")
	case !slices.Contains(c.field.Purposes, purpose):
		set(reasonPurpose+purpose, "R02", fmt.Sprintf("%s n'est collecté que pour : %s", c.ref, strings.Join(c.field.Purposes, ", ")))
	default:
		c.kept = true
	}
}

// sensitiveLabel names what the audit found. The audit gives a rule, and R04–R06 each cover more
// than one kind, so its reason tells them apart.
func sensitiveLabel(ca dictionary.ColumnAudit) string {
	has := func(s string) bool { return strings.Contains(ca.Reason, s) }
	switch {
	case ca.Rule == "R03":
		return "NIR"
	case ca.Rule == "R04" && has("sanguin"):
		return "groupe sanguin"
	case ca.Rule == "R04":
		return "santé"
	case ca.Rule == "R05" && has("infraction"):
		return "infractions"
	case ca.Rule == "R05":
		return "opinions, religion, syndicat, vie sexuelle"
	case ca.Rule == "R06" && has("IBAN"):
		return "IBAN"
	case ca.Rule == "R06":
		return "carte bancaire"
	}
	return ca.Rule
}

// enumOf indexes a column's allowed values by their spelling without case or accents, so that a
// legacy "Essence" or "Tous risques" finds "essence" and "tous_risques".
func enumOf(c *dictionary.Column) map[string]string {
	if len(c.Values) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, v := range c.Values {
		m[dictionary.NormaliseHeader(v)] = v
	}
	return m
}

// headerLine is the header written back as one CSV line, for the audit of the header alone.
func headerLine(header []string, delim rune) []byte {
	var b bytes.Buffer
	for i, h := range header {
		if i > 0 {
			b.WriteRune(delim)
		}
		b.WriteString(`"` + strings.ReplaceAll(h, `"`, `""`) + `"`)
	}
	b.WriteByte('\n')
	return b.Bytes()
}
