// Package rights answers the data subject's rights (DESIGN §7, rules R24–R32): access and
// portability exports built from the data dictionary, erasure by deletion and destruction of the
// person's key, restriction, post-mortem directives, and the one-month clock of every request.
// It reads the dictionary rather than a list of tables, so a field or a table declared there is
// answered for without more code.
package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/record"
)

// Auditor is the part of the audit trail this package uses.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Subject(personID int64) []byte
	WhoAccessed(ctx context.Context, personID int64) ([]audit.Access, error)
}

// Service answers rights requests.
type Service struct {
	db         *db.DB
	dict       *dictionary.Dictionary
	keys       *keys.Keyring
	records    *record.Store
	consent    *consent.Service
	audit      Auditor
	mail       Mailer
	controller consent.Controller
	now        func() time.Time
}

// New builds the service; mail queues the letters to the person (nil: none are sent).
func New(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, records *record.Store, c *consent.Service, a Auditor,
	mail Mailer, controller consent.Controller, now func() time.Time) *Service {
	return &Service{db: d, dict: dict, keys: kr, records: records, consent: c, audit: a, mail: mail, controller: controller, now: now}
}

// Staff is who handles a request: a DPO (or a quotes agent for a human review) identified for the
// audit trail.
type Staff struct {
	UserID     int64
	Department string
	// Portal marks the person themselves, signed in to the privacy portal.
	Portal bool
}

// actor reads every field of the person for their own request, under the compliance purpose.
func (st Staff) actor() record.Actor {
	return record.Actor{UserID: st.UserID, Department: st.Department, Purposes: []string{"compliance"}, AllFields: true}
}

// Subject is the person acting for themselves through the privacy portal.
var Subject = Staff{Department: "dpo", Portal: true}

// InputError is a refused request; Field and Rule name what to fix. Its message holds no
// personal data.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "rights: " + e.Field + ": " + e.Message }

// ErrUnknownPerson is a request about a person Vigie does not hold.
var ErrUnknownPerson = errors.New("rights: personne inconnue")

// ErrErased refuses a second erasure, or any processing, of an erased person.
var ErrErased = errors.New("rights: cette personne a déjà été effacée")

// ErrLegalHold refuses an erasure while a legal hold suspends every end-of-life action (art. 17(3)(e)).
var ErrLegalHold = errors.New("rights: un gel juridique suspend l'effacement de cette personne (art. 17(3)(e))")

// personState is what a right needs to know of the person before it acts.
type personState struct {
	restricted, legalHold, deceased bool
	erasedAt                        sql.NullTime
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Service) state(ctx context.Context, q queryRower, personID int64) (personState, error) {
	var st personState
	err := q.QueryRowContext(ctx, `SELECT restricted, legal_hold, deceased, erased_at FROM persons WHERE id = $1`, personID).
		Scan(&st.restricted, &st.legalHold, &st.deceased, &st.erasedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrUnknownPerson
	}
	if err != nil {
		return st, fmt.Errorf("rights: read person: %w", err)
	}
	return st, nil
}

// event appends one step of a right to the record chain, in the caller's transaction.
func (s *Service) event(ctx context.Context, tx *sql.Tx, st Staff, action, table string, rowID, personID int64, detail string) error {
	return s.audit.AppendTx(ctx, tx, audit.Event{UserID: st.UserID, Department: st.Department, Action: action,
		Table: table, RowID: rowID, Subject: s.audit.Subject(personID), Purpose: "compliance", Detail: detail})
}

// seal encrypts a text under the person's key, collected now for compliance.
func (s *Service) seal(ctx context.Context, tx *sql.Tx, personID int64, place, text string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	sk, err := s.subjectKey(ctx, tx, personID)
	if err != nil {
		return nil, err
	}
	return sk.Seal(place, keys.Provenance{CollectedAt: s.now().UTC(), Channel: "api", Purpose: "compliance"}, []byte(text)), nil
}

// subjectKey opens the person's key for sealing a text of their request.
func (s *Service) subjectKey(ctx context.Context, tx *sql.Tx, personID int64) (*keys.SubjectKey, error) {
	var wrapped []byte
	err := tx.QueryRowContext(ctx, `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, personID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrErased
	}
	if err != nil {
		return nil, fmt.Errorf("rights: read key: %w", err)
	}
	return s.keys.Unwrap(personID, wrapped)
}
