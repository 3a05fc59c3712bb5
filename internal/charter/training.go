package charter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
)

// TrainingInput is a completion as it was typed: the staff member's e-mail, the module's code and
// the day it was completed (AAAA-MM-JJ).
type TrainingInput struct {
	Email, Module, Date string
}

// Completion is a recorded training.
type Completion struct {
	ID     int64
	UserID int64
	Module string
	// CompletedAt is the day, at midnight UTC.
	CompletedAt time.Time
	RecordedAt  time.Time
	RecordedBy  int64
}

// DateLayout is how a day is typed and shown to commands.
const DateLayout = "2006-01-02"

// earliestTraining bounds the days accepted, against a mistyped year.
var earliestTraining = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// RecordTraining records that a staff member completed a module on a day. Every field is checked
// before anything is written: an unknown e-mail, a module outside the catalogue, a day that is not
// one, in the future or before 2000, or the same completion twice are refused, each naming its
// field and rule, and nothing changes. The completion and its audit event are one transaction.
func (s *Service) RecordTraining(ctx context.Context, by Staff, in TrainingInput) (Completion, error) {
	if !s.CanManage(by.Department) {
		return Completion{}, ErrForbidden
	}
	var issues []Issue
	c := Completion{Module: strings.TrimSpace(in.Module), RecordedAt: s.now().UTC().Truncate(time.Microsecond), RecordedBy: by.UserID}
	email := strings.TrimSpace(in.Email)
	if email == "" {
		issues = append(issues, Issue{"email", "required", "l'adresse e-mail du membre du personnel est obligatoire"})
	} else {
		err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, email).Scan(&c.UserID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			issues = append(issues, Issue{"email", "unknown_user", "aucun membre du personnel n'a cette adresse e-mail"})
		case err != nil:
			return Completion{}, fmt.Errorf("charter: find user: %w", err)
		}
	}
	if c.Module == "" {
		issues = append(issues, Issue{"module", "required", "le module de formation est obligatoire"})
	} else if _, ok := s.Module(c.Module); !ok {
		issues = append(issues, Issue{"module", "unknown_module", "module inconnu ; le catalogue : " + strings.Join(s.moduleCodes(), ", ")})
	}
	day, issue := s.parseDay(in.Date)
	if issue != nil {
		issues = append(issues, *issue)
	}
	c.CompletedAt = day
	if len(issues) > 0 {
		return Completion{}, &ValidationError{issues}
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO training_completions (user_id, module, completed_at, recorded_at, recorded_by)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, module, completed_at) DO NOTHING RETURNING id`,
			c.UserID, c.Module, c.CompletedAt, c.RecordedAt, nullID(by.UserID)).Scan(&c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return &ValidationError{[]Issue{{"date", "unique", "cette formation est déjà inscrite à ce jour pour ce membre du personnel"}}}
		}
		if err != nil {
			return fmt.Errorf("charter: record training: %w", err)
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: ActionTraining,
			Table: "training_completions", RowID: c.ID, Purpose: "compliance",
			Detail: "user=" + strconv.FormatInt(c.UserID, 10) + " module=" + c.Module + " date=" + c.CompletedAt.Format(DateLayout)})
	})
	if err != nil {
		return Completion{}, err
	}
	return c, nil
}

// parseDay reads a day typed AAAA-MM-JJ (or JJ/MM/AAAA) and refuses one in the future (Paris) or
// before 2000.
func (s *Service) parseDay(v string) (time.Time, *Issue) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, &Issue{"date", "required", "la date de la formation est obligatoire (AAAA-MM-JJ)"}
	}
	var day time.Time
	var err error
	for _, layout := range []string{DateLayout, "02/01/2006"} {
		if day, err = time.ParseInLocation(layout, v, time.UTC); err == nil {
			break
		}
	}
	switch {
	case err != nil:
		return time.Time{}, &Issue{"date", "format", "date invalide : AAAA-MM-JJ attendu (exemple : 2026-11-02)"}
	case day.After(s.today()):
		return time.Time{}, &Issue{"date", "future", "la date de la formation ne peut pas être dans le futur"}
	case day.Before(earliestTraining):
		return time.Time{}, &Issue{"date", "range", "la date de la formation doit être postérieure au 01/01/2000"}
	}
	return day, nil
}

func (s *Service) moduleCodes() []string {
	codes := make([]string, len(s.modules))
	for i, m := range s.modules {
		codes[i] = m.Code
	}
	return codes
}
