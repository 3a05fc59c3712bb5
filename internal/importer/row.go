package importer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/record"
	"vigie/internal/sensitive"
)

// verdict is what became of a row.
type verdict int

const (
	imported verdict = iota
	rejected
	expired    // past the prospect retention (R33): not imported
	suppressed // the person objected or was erased (R28): not imported
	duplicate  // the e-mail or phone of a person already in Vigie: not imported
)

// outcome is one row once a worker is done with it: its verdict, and for an imported row its
// records, sealed and ready for the loader. It holds no cell value outside the sealed records.
type outcome struct {
	line    int64
	verdict verdict
	problem Rejection
	drops   []cellDrop
	// quoteExpired: the row's quote is past R34 and was left out; the person may still be in.
	quoteExpired      bool
	hasQuote, hasNote bool
	// email and phone are the blind-index entries of the row's e-mail and phone (nil when
	// absent), by which duplicates are found; dupField names the field of a duplicate.
	email, phone []byte
	dupField     string
	sk           *keys.SubjectKey
	prov         keys.Provenance
	person       *record.Prepared
	quote        *record.Prepared
	note         *record.Prepared
}

// cellDrop is a cell left out of an imported row: a sensitive finding, or an invalid value of an
// optional field.
type cellDrop struct {
	col        int
	kind, rule string
}

// kindLabels are the French names of the sensitive package's kinds.
var kindLabels = map[sensitive.Kind]string{
	sensitive.KindNIR: "NIR", sensitive.KindBloodGroup: "groupe sanguin", sensitive.KindHealth: "santé",
	sensitive.KindOpinion: "opinions, religion, syndicat, vie sexuelle", sensitive.KindCardNumber: "carte bancaire",
	sensitive.KindIBAN: "IBAN", sensitive.KindOffence: "infractions",
}

func kindLabel(k sensitive.Kind) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return string(k)
}

// worker turns rows into outcomes. Several run at once; they share only read-only state.
type worker struct {
	plan  *plan
	store *record.Store
	supp  Suppressions
	// existing are the e-mails and phones of the persons already in Vigie.
	existing contacts
	purpose  string
	now      time.Time
	layouts  []string
	dryRun   bool
	// Rows older than these are past their retention rule: prospects (R33), quotes without
	// contract (R34).
	prospectCut, quoteCut time.Time
}

// process fills out for one record of the file. Only a failed suppression lookup is an error:
// everything wrong with the row itself is its verdict.
func (w *worker) process(ctx context.Context, line int64, rec []string, out *outcome, vals rowValues) error {
	*out = outcome{line: line, drops: out.drops[:0]}
	reject := func(field, rule, msg string) error {
		out.verdict, out.problem, out.drops = rejected, Rejection{Line: line, Field: field, Rule: rule, Reason: msg}, out.drops[:0]
		return nil
	}
	if len(rec) != len(w.plan.columns) {
		return reject("", "csv.fields", fmt.Sprintf("%d champs au lieu des %d de l'en-tête", len(rec), len(w.plan.columns)))
	}
	vals.clear()
	present := vals.present
	present["persons"] = true
	for _, col := range w.plan.columns {
		if !col.kept {
			continue
		}
		cell := strings.TrimSpace(rec[col.index])
		if cell == "" {
			continue
		}
		if col.ref != "quotes.created_at" {
			present[col.table.Name] = true
		}
		if findings := sensitive.Scan(cell, col.freeText); len(findings) > 0 {
			f := findings[0]
			if col.required {
				return reject(col.ref, f.Rule, "donnée interdite ("+kindLabel(f.Kind)+") dans un champ obligatoire")
			}
			out.drops = append(out.drops, cellDrop{col.index, kindLabel(f.Kind), f.Rule})
			continue
		}
		v, fe := col.field.DecodeString(w.legacy(col, cell), w.now)
		if fe != nil {
			if col.required {
				return reject(col.ref, fe.Rule, fe.Message)
			}
			out.drops = append(out.drops, cellDrop{col.index, "invalide", fe.Rule})
			continue
		}
		vals.tables[col.table.Name][col.field.Name] = v
	}
	for _, name := range importTables {
		if !present[name] {
			continue
		}
		for _, col := range w.plan.required[name] {
			if _, ok := vals.tables[name][col.field.Name]; !ok {
				return reject(col.ref, "required", "ce champ est obligatoire")
			}
		}
	}

	person := vals.tables["persons"]
	collected := person["created_at"].(time.Time)
	contact, _ := person["last_contact_at"].(time.Time)
	quoteDate, ok := vals.tables["quotes"]["created_at"].(time.Time)
	if !ok {
		quoteDate = collected
	}
	for _, d := range []struct {
		ref string
		at  time.Time
	}{{"persons.created_at", collected}, {"persons.last_contact_at", contact}, {"quotes.created_at", quoteDate}} {
		if d.at.After(w.now) {
			return reject(d.ref, "format.past_time", "la date ne peut pas être dans le futur")
		}
	}
	fill(person, w.plan.defaults["persons"])
	person["source"] = "legacy_import"
	person["updated_at"] = w.now
	if errs := record.CheckRow(w.plan.table("persons"), person); len(errs) > 0 {
		return reject("persons."+errs[0].Field, errs[0].Rule, errs[0].Message)
	}
	quote := vals.tables["quotes"]
	if present["quotes"] {
		fill(quote, w.plan.defaults["quotes"])
		quote["created_at"], quote["updated_at"] = quoteDate, w.now
		if errs := record.CheckRow(w.plan.table("quotes"), quote); len(errs) > 0 {
			return reject("quotes."+errs[0].Field, errs[0].Rule, errs[0].Message)
		}
	}

	// The blind-index entries of the e-mail and phone: the suppression list keeps them, duplicates
	// are found by them, and the search index receives them.
	email, _ := person["email"].(string)
	phone, _ := person["phone"].(string)
	emailHash, err := w.store.IndexHash("persons", "email", email)
	if err != nil {
		return err
	}
	phoneHash, err := w.store.IndexHash("persons", "phone", phone)
	if err != nil {
		return err
	}
	// R28 before R33: a person who objected is counted as such, whatever the age of the row.
	if email != "" || phone != "" {
		var objected bool
		if is, ok := w.supp.(IndexedSuppressions); ok {
			objected = is.SuppressedIndex(emailHash.Hash, phoneHash.Hash)
		} else if objected, err = w.supp.Suppressed(ctx, email, phone); err != nil {
			return fmt.Errorf("importer: line %d: suppression list: %w", line, err)
		}
		if objected {
			out.verdict, out.drops = suppressed, out.drops[:0]
			return nil
		}
	}
	// R33: retention counts from the last contact, or from the collection when there was none.
	if person["kind"] == "prospect" && later(collected, contact).Before(w.prospectCut) {
		out.verdict, out.drops = expired, out.drops[:0]
		return nil
	}
	// A person already in Vigie is not imported a second time (an earlier row of the file is
	// recognised by the writer, which sees the rows in order).
	for _, h := range []record.IndexHash{emailHash, phoneHash} {
		if w.existing.has(h.Hash) {
			out.verdict, out.dupField, out.drops = duplicate, "persons."+h.Column, out.drops[:0]
			return nil
		}
	}
	out.email, out.phone = emailHash.Hash, phoneHash.Hash
	if present["quotes"] && quoteDate.Before(w.quoteCut) {
		out.quoteExpired = true // R34: every imported quote is without contract
		present["quotes"] = false
	}
	out.hasQuote, out.hasNote = present["quotes"], present["interactions"]
	out.prov = keys.Provenance{CollectedAt: collected, Channel: "import", Purpose: w.purpose}
	if w.dryRun {
		return nil
	}
	if out.sk, err = w.store.NewSubjectKey(); err != nil {
		return err
	}
	if out.person, err = w.store.Prepare("persons", person, out.sk, out.prov, emailHash, phoneHash); err != nil {
		return err
	}
	if out.hasQuote {
		// The quote's values were given on the day of the quote.
		qprov := out.prov
		qprov.CollectedAt = quoteDate
		if out.quote, err = w.store.Prepare("quotes", quote, out.sk, qprov); err != nil {
			return err
		}
	}
	if out.hasNote {
		note := vals.tables["interactions"]
		fill(note, w.plan.defaults["interactions"])
		at, ok := note["occurred_at"].(time.Time)
		if !ok {
			at = later(collected, contact)
		}
		note["occurred_at"], note["created_at"], note["purpose"] = at, at, w.purpose
		nprov := out.prov
		nprov.CollectedAt = at
		if out.note, err = w.store.Prepare("interactions", note, out.sk, nprov); err != nil {
			return err
		}
	}
	return nil
}

// rowValues are the values of one row by table, and the tables the row has values for: a
// worker's own, cleared and filled again for each row (made anew for each row, they were a sixth
// of the workers' allocation time in the import's CPU profile).
type rowValues struct {
	tables  map[string]map[string]any
	present map[string]bool
}

// newRowValues makes a worker's maps, sized for every column of the tables, defaults included:
// no map grows while a row is read.
func (w *worker) newRowValues() rowValues {
	v := rowValues{tables: make(map[string]map[string]any, len(importTables)), present: make(map[string]bool, len(importTables))}
	for _, name := range importTables {
		v.tables[name] = make(map[string]any, len(w.plan.table(name).Columns))
	}
	return v
}

func (v rowValues) clear() {
	for _, m := range v.tables {
		clear(m)
	}
	clear(v.present)
}

// fill sets the defaults a row does not give.
func fill(vals, defaults map[string]any) {
	for k, v := range defaults {
		if _, ok := vals[k]; !ok {
			vals[k] = v
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// legacy rewrites the usual spellings of an old export into what the dictionary reads: dates in
// the mapping's layouts, numbers with spaces or a euro sign, yes/no words, allowed values in
// another case or with accents. Anything else is passed as it is, for DecodeString to judge. (The
// dictionary audit has its own, fixed list of date layouts; the import must follow the mapping's,
// since 03/04/2020 is not the same day in every export.)
func (w *worker) legacy(col *column, s string) string {
	c := col.field
	switch c.Kind {
	case dictionary.KindDate, dictionary.KindTimestamp:
		for _, layout := range w.layouts {
			t, err := time.Parse(layout, s)
			if err != nil {
				continue
			}
			if c.Kind == dictionary.KindDate {
				return t.Format(dictionary.DateLayout)
			}
			return t.UTC().Format(time.RFC3339)
		}
	case dictionary.KindBigint, dictionary.KindInteger, dictionary.KindNumeric:
		if strings.ContainsAny(s, " \u00a0\u202f€") {
			return strings.Map(func(r rune) rune {
				if r == ' ' || r == '\u00a0' || r == '\u202f' || r == '€' {
					return -1
				}
				return r
			}, s)
		}
	case dictionary.KindBoolean:
		switch strings.ToLower(s) {
		case "o", "oui", "y", "yes", "vrai", "x":
			return "true"
		case "n", "non", "no", "faux":
			return "false"
		}
	case dictionary.KindChar, dictionary.KindVarchar:
		if col.enum != nil {
			if v, ok := col.enum[dictionary.NormaliseHeader(s)]; ok {
				return v
			}
		}
	}
	return s
}
