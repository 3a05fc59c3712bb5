package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vigie/internal/outbox"
	"vigie/internal/record"
)

// Mailer queues a message to the person in the caller's transaction (the outbox).
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m outbox.Message) (int64, error)
}

// Request is a rights request as its clock and the DPO's queue show it; it holds no personal
// data (the texts stay sealed in the table).
type Request struct {
	ID            int64
	PersonID      int64
	QuoteID       int64 // the quote a human review is about; 0 for the other rights
	Type          string
	Purpose       string
	Channel       string
	Status        string
	IdentityCheck string
	ReceivedAt    time.Time
	DueAt         time.Time
	ExtendedAt    sql.NullTime
	ClosedAt      sql.NullTime
	Evidence      string
}

// Open reports whether the request still waits for its answer.
func (r Request) Open() bool { return r.Status == "open" || r.Status == "in_progress" }

// TimeLeft is what remains before the deadline (negative when late).
func (r Request) TimeLeft(now time.Time) time.Duration { return r.DueAt.Sub(now) }

// Types are the rights a request may exercise.
var Types = []string{"access", "rectification", "erasure", "restriction", "portability", "objection", "post_mortem", "human_review"}

// TypeLabels name each right in French.
var TypeLabels = map[string]string{
	"access": "Accès (art. 15)", "rectification": "Rectification (art. 16)", "erasure": "Effacement (art. 17)",
	"restriction": "Limitation (art. 18)", "portability": "Portabilité (art. 20)", "objection": "Opposition (art. 21)",
	"post_mortem": "Directives post-mortem (LIL art. 85)", "human_review": "Réexamen humain d'un tarif (art. 22)",
}

// IdentityChecks are how the requester's identity was checked.
var IdentityChecks = []string{"pending", "portal_code", "known_contact", "id_document", "not_needed"}

const requestColumns = `id, person_id, quote_id, type, purpose, channel, status, identity_check, received_at, due_at, extended_at, closed_at, evidence`

func scanRequest(sc interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var evidence sql.NullString
	var quoteID sql.NullInt64
	err := sc.Scan(&r.ID, &r.PersonID, &quoteID, &r.Type, &r.Purpose, &r.Channel, &r.Status, &r.IdentityCheck, &r.ReceivedAt, &r.DueAt,
		&r.ExtendedAt, &r.ClosedAt, &evidence)
	r.Evidence, r.QuoteID = evidence.String, quoteID.Int64
	r.ReceivedAt, r.DueAt = r.ReceivedAt.UTC(), r.DueAt.UTC()
	return r, err
}

func (s *Service) requests(ctx context.Context, where string, args ...any) ([]Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM rights_requests WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("rights: read requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("rights: read requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Queue lists the requests a department handles — the DPO every right, the quotes department the
// human reviews — the open ones first by time left, then the closed ones, latest first.
func (s *Service) Queue(ctx context.Context, department string, closedToo bool) ([]Request, error) {
	purpose := "compliance"
	if department == "devis" {
		purpose = "quotes"
	}
	where := "purpose = $1 AND status IN ('open', 'in_progress') ORDER BY due_at, id"
	open, err := s.requests(ctx, where, purpose)
	if err != nil || !closedToo {
		return open, err
	}
	closed, err := s.requests(ctx, "purpose = $1 AND status IN ('closed', 'refused') ORDER BY closed_at DESC, id DESC LIMIT 200", purpose)
	return append(open, closed...), err
}

// PersonRequests lists a person's requests, latest first, for the portal and the person page.
func (s *Service) PersonRequests(ctx context.Context, personID int64) ([]Request, error) {
	return s.requests(ctx, "person_id = $1 ORDER BY received_at DESC, id DESC", personID)
}

// Get returns one request.
func (s *Service) Get(ctx context.Context, id int64) (Request, error) {
	return s.request(ctx, s.db, id)
}

// request reads one request, in a transaction when q is one.
func (s *Service) request(ctx context.Context, q queryRower, id int64) (Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM rights_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, record.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("rights: read request: %w", err)
	}
	return r, nil
}

// NewRequest is a request as it arrives.
type NewRequest struct {
	PersonID      int64
	Type          string
	Channel       string
	Details       string
	IdentityCheck string
	QuoteID       int64
}

// Submit records a request: the one-month clock starts now (R32). Staff record what arrives by
// post, phone or at the agency; the portal records the person's own, identity checked by the
// one-time code.
func (s *Service) Submit(ctx context.Context, st Staff, in NewRequest) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.SubmitTx(ctx, tx, st, in)
		return err
	})
	return id, err
}

// SubmitTx is Submit inside the caller's transaction.
func (s *Service) SubmitTx(ctx context.Context, tx *sql.Tx, st Staff, in NewRequest) (int64, error) {
	if in.IdentityCheck == "" {
		in.IdentityCheck = "pending"
		if st.Portal {
			in.IdentityCheck = "portal_code"
		}
	}
	if !slices.Contains(IdentityChecks, in.IdentityCheck) {
		return 0, &InputError{"identity_check", "enum", "valeurs admises : " + strings.Join(IdentityChecks, ", ")}
	}
	state, err := s.state(ctx, tx, in.PersonID)
	if err != nil {
		return 0, err
	}
	if state.erasedAt.Valid {
		return 0, ErrErased
	}
	fields := map[string]string{"person_id": fmt.Sprint(in.PersonID), "type": in.Type, "channel": in.Channel, "details": in.Details}
	if in.QuoteID != 0 {
		fields["quote_id"] = fmt.Sprint(in.QuoteID)
	}
	channel := in.Channel
	if !slices.Contains(record.Channels, channel) {
		channel = "web_form"
	}
	id, err := s.records.CreateTx(ctx, tx, st.writer(), requestsTable, record.Input{Text: fields, Channel: channel, Purpose: "compliance"})
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rights_requests SET identity_check = $1 WHERE id = $2`, in.IdentityCheck, id); err != nil {
		return 0, fmt.Errorf("rights: identity check: %w", err)
	}
	return id, nil
}

// writer records requests: the rights service writes for the DPO's and the quotes department's
// purposes alike (a human review belongs to the latter).
func (st Staff) writer() record.Actor {
	return record.Actor{UserID: st.UserID, Department: "dpo", Purposes: []string{"compliance", "quotes"}}
}

// Extend pushes the deadline to three months after receipt (art. 12(3)): allowed once, only
// inside the first month, with a reason that is sent to the person at once.
func (s *Service) Extend(ctx context.Context, st Staff, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return &InputError{"reason", "required", "le motif de la prolongation est obligatoire (2 000 caractères au plus) : il est envoyé à la personne"}
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		switch {
		case !r.Open():
			return &InputError{"status", "open", "la demande est close"}
		case r.ExtendedAt.Valid:
			return &InputError{"extension", "once", "la demande a déjà été prolongée"}
		case !now.Before(r.ReceivedAt.AddDate(0, 1, 0)):
			return &InputError{"extension", "first_month", "une prolongation doit être annoncée dans le mois qui suit la réception (art. 12(3))"}
		}
		sealed, err := s.seal(ctx, tx, r.PersonID, "rights_requests.extension_reason", reason)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rights_requests SET due_at = $1, extended_at = $2, extension_reason = $3, updated_at = $2 WHERE id = $4`,
			r.ReceivedAt.AddDate(0, 3, 0), now, sealed, id); err != nil {
			return fmt.Errorf("rights: extend: %w", err)
		}
		body := fmt.Sprintf("Bonjour,\n\nVotre demande (%s) reçue le %s demande plus de temps que prévu. "+
			"Conformément à l'article 12(3) du RGPD, nous vous répondrons au plus tard le %s.\n\nMotif : %s\n\n"+
			"Vous pouvez suivre votre demande sur le portail de confidentialité, ou introduire une réclamation auprès de la CNIL.\n\n%s\n",
			TypeLabels[r.Type], r.ReceivedAt.Format("02/01/2006"), r.ReceivedAt.AddDate(0, 3, 0).Format("02/01/2006"), reason, s.controller.Name)
		if err := s.letter(ctx, tx, r.PersonID, "Votre demande : délai prolongé", body); err != nil {
			return err
		}
		return s.event(ctx, tx, st, "rights_extend", requestsTable, id, r.PersonID, "type:"+r.Type)
	})
}

// Close answers a request: closed with its outcome, or refused with the reason (art. 12(4)).
// The outcome is sent to the person.
func (s *Service) Close(ctx context.Context, st Staff, id int64, status, outcome, evidence string) error {
	outcome = strings.TrimSpace(outcome)
	switch {
	case status != "closed" && status != "refused":
		return &InputError{"status", "enum", "valeurs admises : closed, refused"}
	case outcome == "" || len(outcome) > 2000:
		return &InputError{"outcome", "required", "la réponse apportée est obligatoire (2 000 caractères au plus) ; un refus doit être motivé (art. 12(4))"}
	case len(evidence) > 80:
		return &InputError{"evidence", "max_length", "80 caractères au plus (sha256:… de la réponse remise)"}
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.Open() {
			return &InputError{"status", "open", "la demande est déjà close"}
		}
		sealed, err := s.seal(ctx, tx, r.PersonID, "rights_requests.outcome", outcome)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE rights_requests SET status = $1, outcome = $2, closed_at = $3, updated_at = $3,
			handled_by = $4, evidence = COALESCE($5, evidence) WHERE id = $6`, status, sealed, now,
			nullUser(st.UserID), nullString(evidence), id); err != nil {
			return fmt.Errorf("rights: close: %w", err)
		}
		verdict := "a été traitée"
		if status == "refused" {
			verdict = "n'a pas pu être satisfaite"
		}
		body := fmt.Sprintf("Bonjour,\n\nVotre demande (%s) reçue le %s %s.\n\n%s\n\n"+
			"Si cette réponse ne vous satisfait pas, vous pouvez écrire à notre délégué à la protection des données (%s) "+
			"ou introduire une réclamation auprès de la CNIL (www.cnil.fr).\n\n%s\n",
			TypeLabels[r.Type], r.ReceivedAt.Format("02/01/2006"), verdict, outcome, s.controller.DPOEmail, s.controller.Name)
		if err := s.letter(ctx, tx, r.PersonID, "Réponse à votre demande", body); err != nil {
			return err
		}
		return s.event(ctx, tx, st, "rights_"+status, requestsTable, id, r.PersonID, "type:"+r.Type)
	})
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// letter queues a message to the person's e-mail address. A person without one is written to by
// post: the request page says so, since the letter is then staff's to send.
func (s *Service) letter(ctx context.Context, tx *sql.Tx, personID int64, subject, body string) error {
	if s.mail == nil {
		return nil
	}
	email, err := s.email(ctx, tx, personID)
	if err != nil || email == "" {
		return err
	}
	_, err = s.mail.EnqueueTx(ctx, tx, outbox.Message{PersonID: personID, Kind: outbox.KindRightsLetter, To: email, Subject: subject, Body: body})
	return err
}

// email is the person's address, read for writing to them.
func (s *Service) email(ctx context.Context, tx *sql.Tx, personID int64) (string, error) {
	recs, err := s.records.PersonRowsTx(ctx, tx, Subject.actor(), "persons", personID, false)
	if err != nil || len(recs) == 0 {
		return "", err
	}
	return recs[0].Text("email"), nil
}

// SetIdentityCheck records how the requester's identity was checked (art. 12(6): a document is
// asked only in case of reasonable doubt).
func (s *Service) SetIdentityCheck(ctx context.Context, st Staff, id int64, check string) error {
	if !slices.Contains(IdentityChecks, check) {
		return &InputError{"identity_check", "enum", "valeurs admises : " + strings.Join(IdentityChecks, ", ")}
	}
	return s.updateOpen(ctx, st, id, "identity_check", "rights_identity", "UPDATE rights_requests SET identity_check = $1, updated_at = $2 WHERE id = $3", check)
}

// SetEvidence keeps the SHA-256 of the answer produced (the access archive handed over).
func (s *Service) SetEvidence(ctx context.Context, st Staff, id int64, evidence string) error {
	return s.updateOpen(ctx, st, id, "evidence", "rights_evidence", "UPDATE rights_requests SET evidence = $1, updated_at = $2 WHERE id = $3", evidence)
}

// updateOpen changes one column of an open request and records the step.
func (s *Service) updateOpen(ctx context.Context, st Staff, id int64, field, action, query string, value any) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.Open() {
			return &InputError{field, "open", "la demande est close"}
		}
		if _, err := tx.ExecContext(ctx, query, value, s.now().UTC(), id); err != nil {
			return fmt.Errorf("rights: %s: %w", field, err)
		}
		return s.event(ctx, tx, st, action, requestsTable, id, r.PersonID, field)
	})
}
