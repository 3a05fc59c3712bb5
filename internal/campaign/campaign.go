// Package campaign sends the prospection department's e-mail campaigns (R19, R20, R28). A campaign
// reaches the persons whose latest choice for e-mail prospection is a grant, with no objection and
// no restriction — checked when it is queued, and again by the outbox as each message leaves, so
// that a withdrawal in between cancels the message — and every message carries the signed
// withdrawal link, which the outbox itself adds.
package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/outbox"
	"vigie/internal/record"
	"vigie/internal/sensitive"
)

// Purpose is the consent a campaign needs.
const Purpose = "prospection_email"

// Department is the only department that sends campaigns.
const Department = "prospection"

// Targets lists, in id order after the cursor, the persons the purpose may reach right now.
type Targets interface {
	Targets(ctx context.Context, purpose string, after int64, limit int) ([]int64, error)
}

// Mailer queues messages; Prospects says whether prospection messages may leave at all.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m outbox.Message) (int64, error)
	Prospects() bool
}

// Auditor records the campaign in the audit trail.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
}

// Service sends campaigns.
type Service struct {
	db      *db.DB
	records *record.Store
	targets Targets
	mail    Mailer
	audit   Auditor
	now     func() time.Time
}

// New builds the service.
func New(d *db.DB, records *record.Store, targets Targets, mail Mailer, a Auditor, now func() time.Time) *Service {
	return &Service{db: d, records: records, targets: targets, mail: mail, audit: a, now: now}
}

// Campaign is what the prospection department writes: one subject and one text for everyone.
type Campaign struct {
	Subject, Body string
}

// Result is what a campaign queued.
type Result struct {
	// Queued messages leave through the outbox; Skipped persons had no e-mail address the outbox
	// could send to.
	Queued, Skipped int
}

// InputError is a refused campaign; Field and Rule name what to fix, never the text.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "campaign: " + e.Field + ": " + e.Message }

// actionCampaign is the audit action of a campaign's sending.
const actionCampaign = "campaign_send"

// page is how many targets are read, and queued in one transaction, at a time.
const page = 500

// Send checks the campaign and queues one message per person who may be reached now. The text is
// refused as a whole, before anything is queued, when the outbox would refuse it or when it
// carries data Vigie must never hold (R03–R06); a campaign without the public address of the
// withdrawal page is refused too. Each page of messages is queued in one transaction with an audit
// event, and each address is read through the governed store, so each read is audited.
func (s *Service) Send(ctx context.Context, by record.Actor, c Campaign) (Result, error) {
	var res Result
	if by.Department != Department {
		return res, &record.ForbiddenError{Table: "outbox", Reason: "les campagnes sont envoyées par le service prospection"}
	}
	if !s.mail.Prospects() {
		return res, &InputError{"public_url", "required", "aucun message de prospection ne peut partir sans son lien de retrait : configurez VIGIE_PUBLIC_URL, l'adresse publique de Vigie"}
	}
	if err := outbox.CheckText(c.Subject, c.Body); err != nil {
		var bad *outbox.InputError
		if errors.As(err, &bad) {
			return res, &InputError{bad.Field, bad.Rule, bad.Message}
		}
		return res, err
	}
	for _, f := range []struct{ name, text string }{{"subject", c.Subject}, {"body", c.Body}} {
		if found := sensitive.Scan(f.text, true); len(found) > 0 {
			return res, &InputError{f.name, "sensitive_" + string(found[0].Kind), found[0].Message()}
		}
	}
	var after int64
	for {
		ids, err := s.targets.Targets(ctx, Purpose, after, page)
		if err != nil {
			return res, fmt.Errorf("campaign: %w", err)
		}
		if len(ids) == 0 {
			return res, nil
		}
		after = ids[len(ids)-1]
		var messages []outbox.Message
		for _, id := range ids {
			p, err := s.records.Get(ctx, by, "persons", id)
			if errors.Is(err, record.ErrNotFound) {
				continue // objected, restricted or erased since the list was read
			}
			if err != nil {
				return res, fmt.Errorf("campaign: %w", err)
			}
			to := p.Text("email")
			if to == "" {
				res.Skipped++
				continue
			}
			messages = append(messages, outbox.Message{PersonID: id, Kind: outbox.KindProspection, To: to, Subject: c.Subject, Body: c.Body})
		}
		queued, skipped, err := s.queue(ctx, by, messages)
		if err != nil {
			return res, err
		}
		res.Queued += queued
		res.Skipped += skipped
	}
}

// queue queues a page of messages and its audit event in one transaction.
func (s *Service) queue(ctx context.Context, by record.Actor, messages []outbox.Message) (queued, skipped int, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		queued, skipped = 0, 0
		for _, m := range messages {
			_, err := s.mail.EnqueueTx(ctx, tx, m)
			var bad *outbox.InputError
			switch {
			case errors.As(err, &bad):
				skipped++ // an address the outbox cannot send to
				continue
			case err != nil:
				return fmt.Errorf("campaign: %w", err)
			}
			queued++
		}
		if queued == 0 {
			return nil
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: actionCampaign,
			Table: "outbox", Purpose: "prospection", Detail: "queued:" + strconv.Itoa(queued)})
	})
	return queued, skipped, err
}

// Consents is what the withdrawal link needs of the consent service.
type Consents interface {
	WithdrawalToken(personID int64, purpose string) string
	Granted(ctx context.Context, personID int64, purpose string) (bool, error)
}

// Withdrawal is the outbox's view of prospection (outbox.Prospection): the signed link to the
// public withdrawal page, and the consent asked again at the moment a message leaves.
type Withdrawal struct {
	consents  Consents
	publicURL string
}

// NewWithdrawal builds the links of the public site at publicURL (VIGIE_PUBLIC_URL).
func NewWithdrawal(c Consents, publicURL string) *Withdrawal {
	return &Withdrawal{consents: c, publicURL: strings.TrimRight(publicURL, "/")}
}

// WithdrawalLink is the person's signed link to withdraw their consent to e-mail prospection.
func (w *Withdrawal) WithdrawalLink(personID int64) (string, error) {
	q := url.Values{"p": {strconv.FormatInt(personID, 10)}, "f": {Purpose}, "t": {w.consents.WithdrawalToken(personID, Purpose)}}
	return w.publicURL + "/consentement/retrait?" + q.Encode(), nil
}

// Allowed reports whether the person still accepts e-mail prospection now.
func (w *Withdrawal) Allowed(ctx context.Context, personID int64) (bool, error) {
	return w.consents.Granted(ctx, personID, Purpose)
}
