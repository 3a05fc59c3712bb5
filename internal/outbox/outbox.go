// Package outbox is Vigie's outgoing mail: a queue in the database that a configured SMTP server
// delivers. It carries the one-time sign-in codes of the privacy portal, letters to data subjects
// and, later, prospection messages.
//
// A message is written inside the transaction of the action that sends it, so it exists if and
// only if that action commits. Its recipient, subject and body are sealed under the person's data
// key: erasing the person (destroying the key) makes a queued message unreadable too. They are set
// to NULL as soon as the message is sent, abandoned or cancelled, so that a one-time code does not
// stay in the database; what remains is the trace of the sending (kind, dates, attempts, a
// non-personal error summary), deleted after 30 days by Purge.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vigie/internal/db"
	"vigie/internal/keys"
)

// Kinds of message. Each is sent for one purpose of the register of processing, which the sealed
// values carry as their provenance.
const (
	KindPortalCode   = "portal_code"   // the one-time sign-in code of the privacy portal
	KindRightsLetter = "rights_letter" // a letter answering a rights request
	KindProspection  = "prospection"   // a commercial message; needs WithProspection
	KindRenewal      = "renewal"       // asks a prospect near the end of retention whether to keep in touch
)

// kindPurposes are the known kinds, in the order the dictionary lists them, and their purposes.
var kindPurposes = []struct{ kind, purpose string }{
	{KindPortalCode, "compliance"},
	{KindRightsLetter, "compliance"},
	{KindProspection, "prospection"},
	{KindRenewal, "compliance"},
}

// Kinds returns the known kinds (the values the dictionary allows for outbox.kind).
func Kinds() []string {
	out := make([]string, len(kindPurposes))
	for i, k := range kindPurposes {
		out[i] = k.kind
	}
	return out
}

func purposeOf(kind string) string {
	for _, k := range kindPurposes {
		if k.kind == kind {
			return k.purpose
		}
	}
	return ""
}

// Statuses of a message.
const (
	StatusPending   = "pending"   // waiting for its send_after
	StatusSent      = "sent"      // accepted by the mail server
	StatusFailed    = "failed"    // abandoned: too many failures, or refused for good by the server
	StatusCancelled = "cancelled" // the person was erased, or no longer accepts prospection
)

// Limits of a message, as the dictionary declares the columns.
const (
	MaxRecipient = 254
	MaxSubject   = 200
	MaxBody      = 50000
)

// Retention is how long the trace of a finished message is kept (retention rule "outbox").
const Retention = 30 * 24 * time.Hour

// Message is one e-mail to a person.
type Message struct {
	PersonID int64
	Kind     string
	// To is a bare address ("prenom.nom@exemple.fr"), usually the person's e-mail.
	To      string
	Subject string
	// Body is plain text, UTF-8; lines end with \n.
	Body string
}

// Prospection is what the outbox needs from the consent service to send prospection. The outbox
// does not import the consent package: the application wires one to the other, and a test can
// pass its own.
type Prospection interface {
	// WithdrawalLink returns the signed (HMAC) link by which the person withdraws their consent.
	WithdrawalLink(personID int64) (string, error)
	// Allowed reports whether the person still accepts prospection by e-mail right now: latest
	// choice a grant, no objection, processing not restricted.
	Allowed(ctx context.Context, personID int64) (bool, error)
}

// Outbox queues and delivers messages.
type Outbox struct {
	db          *db.DB
	keys        *keys.Keyring
	now         func() time.Time
	prospection Prospection
	maxAttempts int
	lease       time.Duration
	wake        chan struct{}
}

// Option tunes an Outbox.
type Option func(*Outbox)

// WithProspection allows Kind "prospection". Every prospection message must carry the signed
// withdrawal link (R19: "a signed link in every message"). Rather than trusting each caller to
// write it, or checking the body for a sentence, the outbox adds it itself when it sends, as the
// last lines of the body and as the List-Unsubscribe header (RFC 2369), and it asks, at that
// moment, whether the person still accepts prospection: a withdrawal made after the message was
// queued cancels it. Without this option a prospection message is refused when queued, so none
// can leave without its link.
func WithProspection(p Prospection) Option { return func(o *Outbox) { o.prospection = p } }

// Prospects reports whether prospection messages may be queued (WithProspection was given).
func (o *Outbox) Prospects() bool { return o.prospection != nil }

// WithMaxAttempts sets after how many failed attempts a message is abandoned (default 8: with
// the backoff, about two hours of retries).
func WithMaxAttempts(n int) Option { return func(o *Outbox) { o.maxAttempts = max(1, n) } }

// WithLease sets how long a message being sent stays reserved for the process sending it
// (default 5 minutes); a send is cut off after half of it.
func WithLease(d time.Duration) Option { return func(o *Outbox) { o.lease = d } }

// Defaults of an Outbox.
const (
	DefaultMaxAttempts = 8
	DefaultLease       = 5 * time.Minute
)

// New builds the outbox; now is the clock used for every date.
func New(d *db.DB, kr *keys.Keyring, now func() time.Time, opts ...Option) *Outbox {
	o := &Outbox{db: d, keys: kr, now: now, maxAttempts: DefaultMaxAttempts, lease: DefaultLease, wake: make(chan struct{}, 1)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// ErrUnknownPerson is a message for a person Vigie does not hold, or no longer holds (erased).
var ErrUnknownPerson = errors.New("outbox: unknown person")

// InputError is a refused message; Field and Rule name what to fix. It never quotes the value.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "outbox: " + e.Field + ": " + e.Message }

// check validates a message. Its errors name the field and the rule, never the value.
func (o *Outbox) check(m Message) error {
	if !slices.Contains(Kinds(), m.Kind) {
		return &InputError{"kind", "enum", "nature de message inconnue ; valeurs admises : " + strings.Join(Kinds(), ", ")}
	}
	if m.Kind == KindProspection && o.prospection == nil {
		return &InputError{"kind", "withdrawal_link", "la prospection n'est pas configurée : aucun message ne peut partir sans son lien de retrait"}
	}
	if m.PersonID <= 0 {
		return &InputError{"person_id", "required", "le message doit être rattaché à une personne"}
	}
	if err := checkAddress(m.To); err != nil {
		return err
	}
	return CheckText(m.Subject, m.Body)
}

// CheckText validates a message's subject and body, as Enqueue does: for a caller that writes one
// text to many people and wants it refused once, before anything is queued.
func CheckText(subject, body string) error {
	switch {
	case strings.ContainsAny(subject, "\r\n"):
		return &InputError{"subject", "single_line", "l'objet ne doit pas contenir de saut de ligne"}
	case strings.TrimSpace(subject) == "":
		return &InputError{"subject", "required", "l'objet est vide"}
	case !utf8.ValidString(subject) || strings.IndexFunc(subject, unicode.IsControl) >= 0:
		return &InputError{"subject", "text", "l'objet contient des caractères de contrôle ou n'est pas en UTF-8"}
	case utf8.RuneCountInString(subject) > MaxSubject:
		return &InputError{"subject", "max_length", fmt.Sprintf("l'objet dépasse %d caractères", MaxSubject)}
	}
	switch {
	case strings.TrimSpace(body) == "":
		return &InputError{"body", "required", "le texte du message est vide"}
	case !utf8.ValidString(body) || strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		return &InputError{"body", "text", "le texte contient des caractères de contrôle ou n'est pas en UTF-8"}
	case utf8.RuneCountInString(body) > MaxBody:
		return &InputError{"body", "max_length", fmt.Sprintf("le texte dépasse %d caractères", MaxBody)}
	}
	return nil
}

// checkAddress accepts a bare address as net/mail reads it, in ASCII (the sender does not speak
// SMTPUTF8): no display name, no group, nothing around it.
func checkAddress(to string) error {
	bad := &InputError{"to", "format.email", "adresse e-mail du destinataire invalide (exemple : prenom.nom@exemple.fr)"}
	if to == "" {
		return &InputError{"to", "required", "adresse e-mail du destinataire manquante"}
	}
	if len(to) > MaxRecipient {
		return &InputError{"to", "max_length", fmt.Sprintf("l'adresse dépasse %d caractères", MaxRecipient)}
	}
	for i := 0; i < len(to); i++ {
		if to[i] < 0x21 || to[i] > 0x7e {
			return bad
		}
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != to || strings.ContainsAny(to, "<>") {
		return bad
	}
	return nil
}

// Enqueue queues a message in a transaction of its own and wakes Run.
func (o *Outbox) Enqueue(ctx context.Context, m Message) (int64, error) {
	var id int64
	err := o.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = o.EnqueueTx(ctx, tx, m)
		return err
	})
	if err != nil {
		return 0, err
	}
	o.Wake()
	return id, nil
}

// EnqueueTx queues a message inside the caller's transaction: the message exists if and only if
// the action that sends it commits. The caller may call Wake once it has committed, for the
// message to leave at once rather than at Run's next round.
func (o *Outbox) EnqueueTx(ctx context.Context, tx *sql.Tx, m Message) (int64, error) {
	if err := o.check(m); err != nil {
		return 0, err
	}
	sk, err := subjectKey(ctx, tx, o.keys, m.PersonID)
	if err != nil {
		return 0, err
	}
	now := o.now().UTC()
	prov := keys.Provenance{CollectedAt: now, Channel: "system", Purpose: purposeOf(m.Kind)}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO outbox (person_id, kind, status, recipient, subject, body, created_at, send_after, attempts)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0) RETURNING id`,
		m.PersonID, m.Kind, StatusPending,
		sk.Seal(placeRecipient, prov, []byte(m.To)), sk.Seal(placeSubject, prov, []byte(m.Subject)), sk.Seal(placeBody, prov, []byte(m.Body)),
		now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("outbox: enqueue: %w", err)
	}
	return id, nil
}

// The places the sealed values are bound to: a ciphertext moved to another column does not open.
const (
	placeRecipient = "outbox.recipient"
	placeSubject   = "outbox.subject"
	placeBody      = "outbox.body"
)

// querier is a transaction or the database.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// subjectKey loads a person's data key; a person without one does not exist or was erased.
func subjectKey(ctx context.Context, q querier, kr *keys.Keyring, personID int64) (*keys.SubjectKey, error) {
	var wrapped []byte
	err := q.QueryRowContext(ctx, `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, personID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownPerson
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: read subject key: %w", err)
	}
	sk, err := kr.Unwrap(personID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return sk, nil
}

// CancelPersonTx cancels a person's pending messages and deletes their content, inside the
// caller's transaction: erasure calls it (destroying the key already makes them unreadable; this
// also says so in the queue), and so may a restriction. It returns how many it cancelled.
func (o *Outbox) CancelPersonTx(ctx context.Context, tx *sql.Tx, personID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = $2, recipient = NULL, subject = NULL, body = NULL, last_error = $3
		WHERE person_id = $1 AND status = $4`, personID, StatusCancelled, "cancelled: person", StatusPending)
	if err != nil {
		return 0, fmt.Errorf("outbox: cancel: %w", err)
	}
	return res.RowsAffected()
}

// Purge is the outbox's retention sweep (rule "outbox"): it deletes the traces of messages sent,
// abandoned or cancelled that were created more than 30 days ago. Their content is already gone
// (deleted when they finished); a pending message is never purged. It returns and logs the count.
func (o *Outbox) Purge(ctx context.Context, log *slog.Logger) (int64, error) {
	cutoff := o.now().UTC().Add(-Retention)
	res, err := o.db.ExecContext(ctx, `DELETE FROM outbox WHERE created_at < $1 AND status <> $2`, cutoff, StatusPending)
	if err != nil {
		return 0, fmt.Errorf("outbox: purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("outbox: purge: %w", err)
	}
	if log != nil && n > 0 {
		log.Info("outbox: retention sweep", "deleted", n, "older_than_days", int(Retention/(24*time.Hour)))
	}
	return n, nil
}

// Wake asks Run to deliver now rather than at its next round. It never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
