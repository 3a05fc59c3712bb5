package rights

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// Rectifiable are the fields a person may correct through the portal: their identity and contact.
var Rectifiable = []string{"first_name", "last_name", "birth_date", "email", "phone", "address_line", "postal_code", "city"}

// Rectification says what a rectification did.
type Rectification struct {
	Applied []string // corrected at once
	Review  []string // sent to staff review, in RequestID
	// RequestID is the rectification request: closed when everything was applied, open for the
	// DPO when a field matters to a contract.
	RequestID int64
}

// Rectify corrects the person's data (art. 16). Contact fields are corrected at once; the
// identity of a person holding a contract (the name and birth date the insurer knows) goes to
// staff review instead, since the contract must be amended with it. Each applied value keeps the
// purpose it was collected for, with a new date and the portal as channel; the request and the
// audit trail keep the history of what changed, when and how (never the values).
func (s *Service) Rectify(ctx context.Context, st Staff, personID int64, changes map[string]string) (*Rectification, error) {
	persons := s.dict.Table("persons")
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		if !slices.Contains(Rectifiable, name) {
			return nil, &InputError{name, "rectifiable", "ce champ ne se corrige pas ici ; écrivez au DPO"}
		}
	}
	state, err := s.state(ctx, s.db, personID)
	if err != nil {
		return nil, err
	}
	if state.erasedAt.Valid {
		return nil, ErrErased
	}
	current, err := s.records.PersonRows(ctx, st.actor(), "persons", personID, false)
	if err != nil || len(current) == 0 {
		return nil, fmt.Errorf("rights: rectify: %w", err)
	}
	var holdsContract bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contracts WHERE person_id = $1)`, personID).Scan(&holdsContract); err != nil {
		return nil, fmt.Errorf("rights: rectify: %w", err)
	}
	out := &Rectification{}
	var review []string
	direct := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		value := strings.TrimSpace(changes[name])
		if value == current[0].Text(name) {
			continue
		}
		if holdsContract && persons.Column(name).Category == "identity" {
			out.Review = append(out.Review, name)
			review = append(review, persons.Column(name).Label+" : « "+value+" »")
			continue
		}
		direct[name] = value
	}
	// Validate every direct change at once, before writing any.
	for name, value := range direct {
		if err := s.records.ValidateChange(s.rectifier(persons, name), "persons", record.Input{Text: map[string]string{name: value}, Channel: "portal", Purpose: s.purposeOf(persons, name, current[0])}); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(direct)) {
		in := record.Input{Text: map[string]string{name: direct[name]}, Channel: "portal", Purpose: s.purposeOf(persons, name, current[0])}
		if _, err := s.records.Update(ctx, s.rectifier(persons, name), "persons", personID, in); err != nil {
			return out, err
		}
		out.Applied = append(out.Applied, name)
	}
	if len(out.Applied) == 0 && len(out.Review) == 0 {
		return out, nil
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		details := "Corrigé depuis le portail : " + labels(persons, out.Applied)
		if len(review) > 0 {
			details = "À vérifier avant de modifier le contrat (demandé depuis le portail) : " + strings.Join(review, " ; ")
		}
		id, err := s.SubmitTx(ctx, tx, st, NewRequest{PersonID: personID, Type: "rectification", Channel: "portal", Details: details})
		if err != nil {
			return err
		}
		out.RequestID = id
		if len(review) == 0 {
			_, err = tx.ExecContext(ctx, `UPDATE rights_requests SET status = 'closed', closed_at = $1, updated_at = $1 WHERE id = $2`, s.now().UTC(), id)
		}
		return err
	})
	return out, err
}

// rectifier writes one field for the person, under the purposes it serves.
func (s *Service) rectifier(persons *dictionary.Table, name string) record.Actor {
	return record.Actor{Department: "dpo", Purposes: persons.Column(name).Purposes, AllFields: true}
}

// purposeOf is the purpose a corrected value keeps: the one it was collected for.
func (s *Service) purposeOf(persons *dictionary.Table, name string, current *record.Record) string {
	c := persons.Column(name)
	if p, ok := current.Provenance[name]; ok && slices.Contains(c.Purposes, p.Purpose) {
		return p.Purpose
	}
	return c.Purposes[0]
}

func labels(t *dictionary.Table, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = t.Column(n).Label
	}
	return strings.Join(out, ", ")
}
