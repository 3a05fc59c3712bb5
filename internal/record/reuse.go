package record

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// The purpose and freshness guard — the rule whose breach caused the CNIL sanction (R22, R23): a
// quote is built from the person's data and, when asked, from an earlier quote's. Every such
// value must have been collected for a quote (not for prospection, nor any other purpose) and not
// more than maxAge months ago. Otherwise the quote is refused, unless the person confirms the
// values in the quote flow: their provenance is then renewed (collected now, for quotes, through
// the quote's channel) in the same transaction as the quote, so the confirmation is on record.

// WithMaxDataAge sets how many months old data may be before a quote needs the person to confirm
// it (R23).
func WithMaxDataAge(months int) StoreOption { return func(s *Store) { s.maxDataAge = months } }

// defaultMaxDataAge is the setting's default: 6 months.
const defaultMaxDataAge = 6

// quotePurpose is the purpose a value must have been collected for to feed a quote.
const quotePurpose = "quotes"

// reuseRefusal explains, per field, why a value may not feed the quote; never the value itself.
func reuseRefusal(field string, p keys.Provenance, now time.Time, maxAge int) *dictionary.FieldError {
	collected := p.CollectedAt.Format("02/01/2006")
	switch {
	case p.Purpose != quotePurpose:
		return &dictionary.FieldError{Field: field, Rule: "R22_purpose",
			Message: "collecté le " + collected + " pour la finalité « " + p.Purpose + " » : ne peut servir à un devis que si la personne le confirme (_person_confirmed)"}
	case p.CollectedAt.Before(now.AddDate(0, -maxAge, 0)):
		return &dictionary.FieldError{Field: field, Rule: "R23_stale",
			Message: "collecté le " + collected + ", il y a plus de " + strconv.Itoa(maxAge) + " mois : à faire confirmer par la personne (_person_confirmed)"}
	}
	return nil
}

// guardQuote applies the guard inside the quote's transaction: it copies what an earlier quote
// supplies, checks every value the quote relies on, and renews the provenance of confirmed ones.
func (s *Store) guardQuote(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, in Input, vals map[string]any, prov keys.Provenance) error {
	personID, _ := vals[t.PersonColumn].(int64)
	var errs []*dictionary.FieldError
	if in.PrefillFromQuote != 0 {
		src, err := s.fetch(ctx, tx, a, t, "t.id = $1", []any{in.PrefillFromQuote}, 1, false)
		if err != nil {
			return err
		}
		if len(src) == 0 || src[0].PersonID != personID {
			return invalid("_prefill_from_quote", "foreign_key", "devis inconnu pour cette personne")
		}
		for name, v := range src[0].Values {
			p, personal := src[0].Provenance[name]
			if _, given := in.given(name); given || !personal {
				continue
			}
			vals[name] = v
			if fe := reuseRefusal("quotes."+name, p, prov.CollectedAt, s.maxDataAge); fe != nil && !in.PersonConfirmed {
				errs = append(errs, fe)
			}
		}
	}
	if in.PrefillFromQuote != 0 {
		errs = append(errs, completeAndCheck(t, vals, errs)...)
	}
	persons := s.dict.Table("persons")
	people, err := s.fetch(ctx, tx, a, persons, "t.id = $1", []any{personID}, 1, false)
	if err != nil {
		return err
	}
	if len(people) == 0 {
		return invalid(t.PersonColumn, "foreign_key", "personne inconnue")
	}
	person := people[0]
	var stale []*dictionary.Column
	for _, c := range persons.Columns {
		p, ok := person.Provenance[c.Name]
		if !ok || !slices.Contains(c.Purposes, quotePurpose) {
			continue
		}
		if fe := reuseRefusal("persons."+c.Name, p, prov.CollectedAt, s.maxDataAge); fe != nil {
			errs = append(errs, fe)
			stale = append(stale, c)
		}
	}
	if !in.PersonConfirmed && len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	if len(stale) == 0 {
		return nil
	}
	return s.renewProvenance(ctx, tx, a, persons, person, stale, prov)
}

// renewProvenance re-seals confirmed values with the provenance of the confirmation.
func (s *Store) renewProvenance(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, rec *Record, cols []*dictionary.Column, prov keys.Provenance) error {
	sk, err := s.subjectKey(ctx, tx, t, rec.PersonID)
	if err != nil {
		return err
	}
	sets := make([]string, len(cols))
	args := make([]any, 0, len(cols)+1)
	names := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c.Name + " = $" + strconv.Itoa(i+1)
		args = append(args, sqlArg(c, rec.Values[c.Name], sk, prov))
		names[i] = c.Name
	}
	args = append(args, rec.ID)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE persons SET %s WHERE id = $%d", strings.Join(sets, ", "), len(args)), args...); err != nil {
		return fmt.Errorf("record: renew provenance: %w", err)
	}
	return s.audit.Wrote(ctx, tx, a, "confirm", t, rec.ID, rec.PersonID, names)
}
