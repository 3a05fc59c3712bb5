package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Restrict freezes the processing of a person's data (art. 18): the data is stored, not
// processed — absent from every department's lists, searches and exports, and refused to every
// write but the person's own requests — until the restriction is lifted. The reason is kept.
func (s *Service) Restrict(ctx context.Context, st Staff, personID, requestID int64, reason string) error {
	reason, err := checkReason("reason", reason)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		state, err := s.state(ctx, tx, personID)
		switch {
		case err != nil:
			return err
		case state.erasedAt.Valid:
			return ErrErased
		case state.restricted:
			return &InputError{"person_id", "restricted", "le traitement de cette personne est déjà limité"}
		}
		if requestID != 0 {
			if err := s.checkRequest(ctx, tx, requestID, personID, "restriction"); err != nil {
				return err
			}
		}
		sealed, err := s.seal(ctx, tx, personID, "restrictions.reason", reason)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO restrictions (person_id, request_id, reason, started_at, started_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, personID, nullUser(requestID), sealed, s.now().UTC(), nullUser(st.UserID)).Scan(&id); err != nil {
			return fmt.Errorf("rights: restrict: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET restricted = TRUE WHERE id = $1`, personID); err != nil {
			return fmt.Errorf("rights: restrict: %w", err)
		}
		return s.event(ctx, tx, st, "restrict", "restrictions", id, personID, "")
	})
}

// Lift ends a restriction, with the reason (the person is told before, art. 18(3)).
func (s *Service) Lift(ctx context.Context, st Staff, personID int64, reason string) error {
	reason, err := checkReason("reason", reason)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.state(ctx, tx, personID); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM restrictions WHERE person_id = $1 AND lifted_at IS NULL ORDER BY id DESC`, personID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return &InputError{"person_id", "restricted", "le traitement de cette personne n'est pas limité"}
		}
		if err != nil {
			return fmt.Errorf("rights: lift: %w", err)
		}
		sealed, err := s.seal(ctx, tx, personID, "restrictions.lift_reason", reason)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE restrictions SET lifted_at = $1, lifted_by = $2, lift_reason = $3 WHERE id = $4`,
			s.now().UTC(), nullUser(st.UserID), sealed, id); err != nil {
			return fmt.Errorf("rights: lift: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET restricted = FALSE WHERE id = $1`, personID); err != nil {
			return fmt.Errorf("rights: lift: %w", err)
		}
		body := "Bonjour,\n\nLa limitation du traitement de vos données prend fin. Motif : " + reason + "\n\n" + s.controller.Name + "\n"
		if err := s.letter(ctx, tx, personID, "Fin de la limitation du traitement de vos données", body); err != nil {
			return err
		}
		return s.event(ctx, tx, st, "restrict_lift", "restrictions", id, personID, "")
	})
}

func checkReason(field, reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return "", &InputError{field, "required", "le motif est obligatoire (2 000 caractères au plus)"}
	}
	return reason, nil
}

// Instructions a post-mortem directive may give (LIL art. 85).
var Instructions = []string{"erase", "transmit", "keep"}

// InstructionLabels name them in French.
var InstructionLabels = map[string]string{
	"erase":    "Effacer mes données à mon décès",
	"transmit": "Transmettre mes données à la personne que je désigne",
	"keep":     "Les conserver pour la durée prévue, sans autre traitement",
}

// Directive is a person's post-mortem directive.
type Directive struct {
	Instruction    string
	TrustedContact string
	Wishes         string
	RecordedAt     time.Time
	AppliedAt      sql.NullTime
}

// SetDirective records or replaces the person's post-mortem directive (LIL art. 85).
func (s *Service) SetDirective(ctx context.Context, st Staff, personID int64, d Directive) error {
	d.TrustedContact, d.Wishes = strings.TrimSpace(d.TrustedContact), strings.TrimSpace(d.Wishes)
	switch {
	case !slices.Contains(Instructions, d.Instruction):
		return &InputError{"instruction", "enum", "valeurs admises : " + strings.Join(Instructions, ", ")}
	case d.Instruction == "transmit" && d.TrustedContact == "":
		return &InputError{"trusted_contact", "required", "nommez la personne à qui transmettre vos données, et comment la joindre"}
	case len(d.TrustedContact) > 300:
		return &InputError{"trusted_contact", "max_length", "300 caractères au plus"}
	case len(d.Wishes) > 2000:
		return &InputError{"wishes", "max_length", "2 000 caractères au plus"}
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		state, err := s.state(ctx, tx, personID)
		if err != nil {
			return err
		}
		if state.erasedAt.Valid {
			return ErrErased
		}
		contact, err := s.seal(ctx, tx, personID, "post_mortem_directives.trusted_contact", d.TrustedContact)
		if err != nil {
			return err
		}
		wishes, err := s.seal(ctx, tx, personID, "post_mortem_directives.wishes", d.Wishes)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM post_mortem_directives WHERE person_id = $1`, personID); err != nil {
			return fmt.Errorf("rights: directive: %w", err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO post_mortem_directives (person_id, instruction, trusted_contact, wishes, recorded_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, personID, d.Instruction, contact, wishes, s.now().UTC()).Scan(&id); err != nil {
			return fmt.Errorf("rights: directive: %w", err)
		}
		return s.event(ctx, tx, st, "directive", "post_mortem_directives", id, personID, "instruction:"+d.Instruction)
	})
}

// GetDirective returns the person's directive, nil when they left none.
func (s *Service) GetDirective(ctx context.Context, st Staff, personID int64) (*Directive, error) {
	recs, err := s.records.PersonRows(ctx, st.actor(), "post_mortem_directives", personID, false)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	r := recs[0]
	d := &Directive{Instruction: r.Text("instruction"), TrustedContact: r.Text("trusted_contact"), Wishes: r.Text("wishes")}
	d.RecordedAt, _ = r.Values["recorded_at"].(time.Time)
	if at, ok := r.Values["applied_at"].(time.Time); ok {
		d.AppliedAt = sql.NullTime{Time: at, Valid: true}
	}
	return d, nil
}

// DeathOutcome says what recording a death did.
type DeathOutcome struct {
	Directive   string       // the instruction applied, "" without one, "erase_on_hold" when a legal hold defers it
	Certificate *Certificate // when the directive was to erase
	RequestID   int64        // the DPO's task: transmit to the trusted contact, or answer heirs
}

// RecordDeath records that the person died and applies their directive (LIL art. 85): erase
// erases them now; transmit opens a task for the DPO to hand the data to the person they named;
// keep, or no directive, restricts processing to storage and opens a task for the DPO, who
// answers the heirs' requests (art. 85 II).
func (s *Service) RecordDeath(ctx context.Context, st Staff, personID int64) (*DeathOutcome, error) {
	state, err := s.state(ctx, s.db, personID)
	switch {
	case err != nil:
		return nil, err
	case state.erasedAt.Valid:
		return nil, ErrErased
	case state.deceased:
		return nil, &InputError{"person_id", "deceased", "le décès de cette personne est déjà enregistré"}
	}
	d, err := s.GetDirective(ctx, st, personID)
	if err != nil {
		return nil, err
	}
	out := &DeathOutcome{}
	if d != nil {
		out.Directive = d.Instruction
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET deceased = TRUE WHERE id = $1`, personID); err != nil {
			return fmt.Errorf("rights: record death: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE post_mortem_directives SET applied_at = $1 WHERE person_id = $2`, now, personID); err != nil {
			return fmt.Errorf("rights: record death: %w", err)
		}
		if out.Directive == "erase" && state.legalHold {
			// The legal hold suspends the erasure (art. 17(3)(e)): the DPO erases once it is lifted.
			out.Directive = "erase_on_hold"
		}
		if out.Directive != "erase" {
			details := "Décès enregistré sans directive : répondre aux demandes des héritiers (LIL art. 85 II)."
			switch out.Directive {
			case "erase_on_hold":
				details = "Décès enregistré : la directive demande l'effacement, suspendu par un gel juridique (art. 17(3)(e)) ; effacer à sa levée."
			case "transmit":
				details = "Décès enregistré : transmettre les données à la personne désignée dans la directive (LIL art. 85 I)."
			case "keep":
				details = "Décès enregistré : conserver les données pour la durée prévue, sans autre traitement (directive LIL art. 85 I)."
			}
			id, err := s.SubmitTx(ctx, tx, st, NewRequest{PersonID: personID, Type: "post_mortem", Channel: "letter", Details: details, IdentityCheck: "not_needed"})
			if err != nil {
				return err
			}
			out.RequestID = id
			if !state.restricted {
				if _, err := tx.ExecContext(ctx, `UPDATE persons SET restricted = TRUE WHERE id = $1`, personID); err != nil {
					return fmt.Errorf("rights: record death: %w", err)
				}
			}
		}
		return s.event(ctx, tx, st, "death", "persons", personID, personID, "directive:"+out.Directive)
	})
	if err != nil {
		return nil, err
	}
	if out.Directive == "erase" {
		if out.Certificate, err = s.Erase(ctx, st, personID, 0); err != nil {
			return out, err
		}
	}
	return out, nil
}
