package auth

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"vigie/internal/audit"
)

// Recorder writes security events to the audit trail (R16): sign-ins and their failures,
// sign-outs, accounts created, tokens issued, administrators' actions on accounts.
type Recorder interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Record(ctx context.Context, events ...audit.Event) error
}

// WithRecorder makes the service record its security events.
func WithRecorder(r Recorder) Option { return func(s *Service) { s.recorder = r } }

// accountEvent is an event about a staff account, done by the actor of the request (an
// administrator on the web or the API, the operator on the command line).
func accountEvent(ctx context.Context, action string, userID int64, detail string) audit.Event {
	by, dep := audit.ActorFrom(ctx)
	return audit.Event{UserID: by, Department: dep, Action: action, Table: "users", RowID: userID, Detail: detail}
}

// selfEvent is an event a user causes on their own account: a sign-in, a failure, a sign-out.
func selfEvent(u User, action, detail string) audit.Event {
	return audit.Event{UserID: u.ID, Department: u.Department, Action: action, Table: "users", RowID: u.ID, Detail: detail}
}

// recordTx records events in the transaction of the action.
func (s *Service) recordTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error {
	if s.recorder == nil {
		return nil
	}
	return s.recorder.AppendTx(ctx, tx, events...)
}

// recordFailure counts a refused sign-in (FailedSignIns) and records it. It does not change the
// answer: a failure to record is logged, and the attempt stays refused.
func (s *Service) recordFailure(ctx context.Context, u User, reason string) {
	s.failures.add(reason)
	if s.recorder == nil {
		return
	}
	e := selfEvent(u, audit.ActionLoginFailed, reason)
	if u.ID == 0 {
		e.Department, e.Table = "-", "users"
	}
	if err := s.recorder.Record(ctx, e); err != nil {
		s.log.Error("auth: cannot record a failed sign-in", "err", err)
	}
}

func (s *Service) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	if err := s.db.InTx(ctx, fn); err != nil {
		return fmt.Errorf("auth: %s: %w", what, err)
	}
	return nil
}

// WithLogger gives the service the logger for what it cannot record in the trail.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }
