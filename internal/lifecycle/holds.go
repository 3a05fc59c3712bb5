package lifecycle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"vigie/internal/audit"
	"vigie/internal/keys"
)

// Hold is a legal hold as the DPO's page lists it: its reason stays sealed under the person's key.
type Hold struct {
	ID, PersonID, ContractID int64
	StartedAt, EndsAt        time.Time
	LiftedAt                 time.Time
}

// Active reports whether the hold suspends the person's end of life at a date.
func (h Hold) Active(at time.Time) bool { return h.LiftedAt.IsZero() && h.EndsAt.After(at) }

// HoldRequest places a hold: on a person, optionally naming the contract at stake.
type HoldRequest struct {
	PersonID, ContractID int64
	Reason               string
	EndsAt               time.Time
}

// ErrUnknownPerson is a hold on a person (or contract) Vigie does not hold.
var ErrUnknownPerson = errors.New("lifecycle: unknown person")

// MaxHoldYears bounds a hold: it is renewed, not set forever.
const MaxHoldYears = 10

// PlaceHold suspends every end-of-life action on the person until EndsAt or until lifted
// (art. 17(3)(e), R36): the engine skips them, and so does erasure. The reason is sealed under the
// person's key; the audit event says that a hold was placed, and until when.
func (e *Engine) PlaceHold(ctx context.Context, by Staff, h HoldRequest) (int64, error) {
	h.Reason = strings.TrimSpace(h.Reason)
	now := e.now().UTC()
	switch {
	case h.PersonID <= 0:
		return 0, &InputError{"person_id", "required", "la personne concernée est obligatoire"}
	case utf8.RuneCountInString(h.Reason) < 10 || utf8.RuneCountInString(h.Reason) > 2000:
		return 0, &InputError{"reason", "length", "le motif du gel est obligatoire (10 à 2000 caractères : contentieux, enquête, réquisition…)"}
	case !h.EndsAt.After(now):
		return 0, &InputError{"ends_at", "future", "la date de fin du gel doit être à venir"}
	case h.EndsAt.After(now.AddDate(MaxHoldYears, 0, 0)):
		return 0, &InputError{"ends_at", "range", fmt.Sprintf("un gel dure au plus %d ans ; il se renouvelle", MaxHoldYears)}
	}
	var id int64
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		var wrapped []byte
		err := tx.QueryRowContext(ctx, `SELECT k.wrapped_key FROM persons p JOIN subject_keys k ON k.person_id = p.id WHERE p.id = $1`, h.PersonID).Scan(&wrapped)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrUnknownPerson
		}
		if err != nil {
			return fmt.Errorf("lifecycle: read person: %w", err)
		}
		if h.ContractID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contracts WHERE id = $1 AND person_id = $2`, h.ContractID, h.PersonID).Scan(&n); err != nil {
				return fmt.Errorf("lifecycle: read contract: %w", err)
			}
			if n == 0 {
				return &InputError{"contract_id", "belongs_to_person", "ce contrat n'est pas celui de cette personne"}
			}
		}
		sk, err := e.keys.Unwrap(h.PersonID, wrapped)
		if err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
		reason := sk.Seal("legal_holds.reason", keys.Provenance{CollectedAt: now, Channel: "api", Purpose: "compliance"}, []byte(h.Reason))
		if err := tx.QueryRowContext(ctx, `INSERT INTO legal_holds (person_id, contract_id, reason, started_at, ends_at, started_by)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, h.PersonID, nullID(h.ContractID), reason, now, h.EndsAt.UTC(), nullID(by.UserID)).Scan(&id); err != nil {
			return fmt.Errorf("lifecycle: place hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET legal_hold = TRUE WHERE id = $1`, h.PersonID); err != nil {
			return fmt.Errorf("lifecycle: place hold: %w", err)
		}
		return e.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: "legal_hold",
			Table: "legal_holds", RowID: id, Subject: e.audit.Subject(h.PersonID), Purpose: "compliance",
			Detail: "until=" + day(h.EndsAt)})
	})
	return id, err
}

// LiftHold ends a hold before its date; the person's flag follows the holds still in force.
func (e *Engine) LiftHold(ctx context.Context, by Staff, holdID int64) error {
	now := e.now().UTC()
	return e.db.InTx(ctx, func(tx *sql.Tx) error {
		var personID int64
		err := tx.QueryRowContext(ctx, `UPDATE legal_holds SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL RETURNING person_id`,
			now, nullID(by.UserID), holdID).Scan(&personID)
		if errors.Is(err, sql.ErrNoRows) {
			return &InputError{"hold_id", "active", "aucun gel en cours ne porte ce numéro"}
		}
		if err != nil {
			return fmt.Errorf("lifecycle: lift hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET legal_hold = EXISTS (SELECT 1 FROM legal_holds h WHERE h.person_id = persons.id
			AND h.lifted_at IS NULL AND h.ends_at > $1) WHERE id = $2`, now, personID); err != nil {
			return fmt.Errorf("lifecycle: lift hold: %w", err)
		}
		return e.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: "legal_hold_lift",
			Table: "legal_holds", RowID: holdID, Subject: e.audit.Subject(personID), Purpose: "compliance"})
	})
}

// Holds lists the holds, those in force first; personID 0 lists everyone's.
func (e *Engine) Holds(ctx context.Context, personID int64) ([]Hold, error) {
	query := `SELECT id, person_id, COALESCE(contract_id, 0), started_at, ends_at, lifted_at FROM legal_holds`
	var args []any
	if personID != 0 {
		query += ` WHERE person_id = $1`
		args = append(args, personID)
	}
	rows, err := e.db.QueryContext(ctx, query+` ORDER BY lifted_at IS NOT NULL, ends_at DESC, id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: read holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var h Hold
		var started, ends, lifted any
		if err := rows.Scan(&h.ID, &h.PersonID, &h.ContractID, &started, &ends, &lifted); err != nil {
			return nil, fmt.Errorf("lifecycle: read holds: %w", err)
		}
		if h.StartedAt, err = e.timestamp(started); err != nil {
			return nil, err
		}
		if h.EndsAt, err = e.timestamp(ends); err != nil {
			return nil, err
		}
		if lifted != nil {
			if h.LiftedAt, err = e.timestamp(lifted); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
