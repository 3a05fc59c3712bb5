package lifecycle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"vigie/internal/audit"
)

// The answers a prospect's "keep in touch" link can get besides success.
var (
	// ErrGone: the person is no longer held (deleted at the term, or erased).
	ErrGone = errors.New("lifecycle: the person is no longer held")
	// ErrObjected: the person objected to prospection; a click does not undo an objection (R28).
	ErrObjected = errors.New("lifecycle: the person objected to prospection")
)

// RenewalToken signs the "keep in touch" link of a prospect's renewal message: an HMAC under a key
// derived for this use only, so that the link proves it came from the message and names no one.
func (e *Engine) RenewalToken(personID int64) string {
	return e.keys.LinkToken(renewalPlace, []byte(strconv.FormatInt(personID, 10)))
}

// renewalLink is the prospect's "stay in touch" link on the public site, "" when its address is not
// configured.
func (e *Engine) renewalLink(personID int64) string {
	if e.publicURL == "" {
		return ""
	}
	q := url.Values{"p": {strconv.FormatInt(personID, 10)}, "t": {e.RenewalToken(personID)}}
	return e.publicURL + "/contact/renouvellement?" + q.Encode()
}

// CheckRenewalToken verifies a "keep in touch" link in constant time.
func (e *Engine) CheckRenewalToken(personID int64, token string) bool {
	return personID > 0 && e.keys.CheckLinkToken(renewalPlace, []byte(strconv.FormatInt(personID, 10)), token)
}

const renewalPlace = "renewal-keep-in-touch"

// KeepInTouch records that a prospect answered the renewal message by asking to stay in touch
// (R33: a click counts as a contact, an opened e-mail does not). The last contact becomes now, so
// the prospect's three years start again, and the answer is in the audit trail. It returns the
// new term. A person no longer held gets ErrGone; one who objected to prospection ErrObjected.
func (e *Engine) KeepInTouch(ctx context.Context, personID int64) (time.Time, error) {
	now := e.now().UTC().Truncate(time.Microsecond)
	rules, err := e.Rules(ctx)
	if err != nil {
		return time.Time{}, err
	}
	err = e.db.InTx(ctx, func(tx *sql.Tx) error {
		var objected bool
		var erased sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT objected_prospection, erased_at FROM persons WHERE id = $1`, personID).Scan(&objected, &erased)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && erased.Valid:
			return ErrGone
		case err != nil:
			return fmt.Errorf("lifecycle: keep in touch: %w", err)
		case objected:
			return ErrObjected
		}
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET last_contact_at = $1 WHERE id = $2`, now, personID); err != nil {
			return fmt.Errorf("lifecycle: keep in touch: %w", err)
		}
		return e.audit.AppendTx(ctx, tx, audit.Event{Action: audit.ActionUpdate, Table: "persons", RowID: personID,
			Subject: e.audit.Subject(personID), Fields: "last_contact_at", Purpose: "prospection", Detail: "renewal:keep_in_touch"})
	})
	if err != nil {
		return time.Time{}, err
	}
	return now.AddDate(0, ruleByCode(rules, "prospect").Months, 0), nil
}
