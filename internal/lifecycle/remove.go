package lifecycle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/outbox"
)

// removeQuotes removes the quotes matched by where, first feeding the statistics when the rule
// anonymises: what is left of a quote names no one.
func (e *Engine) removeQuotes(ctx context.Context, tx *sql.Tx, where string, feed bool) (int64, error) {
	ids, err := selectIDs(ctx, tx, "SELECT id FROM quotes WHERE "+where+" ORDER BY id")
	if err != nil {
		return 0, err
	}
	return e.removeQuoteIDs(ctx, tx, ids, feed)
}

// removeQuoteIDs is removeQuotes for quotes chosen by id, in order.
func (e *Engine) removeQuoteIDs(ctx context.Context, tx *sql.Tx, ids []int64, feed bool) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if feed {
		if err := e.feedStatistics(ctx, tx, ids); err != nil {
			return 0, err
		}
	}
	return e.removeRows(ctx, tx, "quotes", ids)
}

// removeRows deletes rows of a table by id with their blind-index entries and correction history,
// after unlinking the rows of other tables that may point at them (a kept contract no longer names
// its quote).
func (e *Engine) removeRows(ctx context.Context, tx *sql.Tx, table string, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list := e.idList(ids)
	for _, t := range e.dict.Tables {
		for _, c := range t.Columns {
			if ref, _, ok := c.ForeignKey(); ok && ref == table && c.Nullable() && !c.PrimaryKey() {
				if _, err := tx.ExecContext(ctx, "UPDATE "+t.Name+" SET "+c.Name+" = NULL WHERE "+c.Name+" IN "+list); err != nil {
					return 0, fmt.Errorf("unlink %s.%s: %w", t.Name, c.Name, err)
				}
			}
		}
	}
	// The blind-index entries and the correction history (R25) of a row go with it: the history
	// holds its earlier values, sealed under a key that may outlive the row. Blind-index entries
	// are found through their persons (search_index has no index by row); a table without a
	// person column has none.
	if t := e.dict.Table(table); t != nil && t.PersonColumn != "" {
		if _, err := tx.ExecContext(ctx, "DELETE FROM search_index WHERE person_id IN (SELECT "+t.PersonColumn+" FROM "+table+
			" WHERE id IN "+list+") AND table_name = $1 AND row_id IN "+list, table); err != nil {
			return 0, fmt.Errorf("delete %s search_index: %w", table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM rectifications WHERE table_name = $1 AND row_id IN "+list, table); err != nil {
		return 0, fmt.Errorf("delete %s rectifications: %w", table, err)
	}
	n, err := exec(ctx, tx, "DELETE FROM "+table+" WHERE id IN "+list)
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", table, err)
	}
	return n, nil
}

// removeRowsWhere is removeRows for the rows a condition matches.
func (e *Engine) removeRowsWhere(ctx context.Context, tx *sql.Tx, table, where string) (int64, error) {
	ids, err := selectIDs(ctx, tx, "SELECT id FROM "+table+" WHERE "+where)
	if err != nil {
		return 0, err
	}
	return e.removeRows(ctx, tx, table, ids)
}

// removeContracts deletes contracts at the end of the limitation period with their documents,
// but for the invoices, which the accounting rule keeps longer on their own.
func (e *Engine) removeContracts(ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
	invoice := ruleByCode(b.rules, "invoice")
	a := &args{}
	where := "contract_id IN " + e.idList(b.ids) + " AND (kind <> 'invoice' OR created_at < " + a.add(cut(invoice, b.asOf)) + ")"
	docs, err := selectIDs(ctx, tx, "SELECT id FROM documents WHERE "+where, a.list...)
	if err != nil {
		return 0, err
	}
	if _, err := e.removeRows(ctx, tx, "documents", docs); err != nil {
		return 0, err
	}
	return e.removeRows(ctx, tx, "contracts", b.ids)
}

// removeProfiles anonymises former customers' marketing profile: their quotes go to the
// statistics and their exchanges are deleted; their contracts stay in the archive until the
// contract rule ends them.
func (e *Engine) removeProfiles(ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
	feed := b.rule.Action == Anonymise
	if _, err := e.removeQuotes(ctx, tx, "person_id IN "+e.idList(b.ids), feed); err != nil {
		return 0, err
	}
	if _, err := e.removeRowsWhere(ctx, tx, "interactions", "person_id IN "+e.idList(b.ids)); err != nil {
		return 0, err
	}
	return int64(len(b.ids)), nil
}

// removePersons ends persons: their quotes feed the statistics, every row linked to them is
// deleted with their key, and the person's row goes too — unless rights requests they made
// are still kept as evidence (art. 5(2)), in which case it stays as an empty tombstone, as after
// an erasure, until those requests go.
func (e *Engine) removePersons(ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
	list := e.idList(b.ids)
	feed := ruleByCode(b.rules, "quote_no_contract").Action == Anonymise
	if _, err := e.removeQuotes(ctx, tx, "person_id IN "+list, feed); err != nil {
		return 0, err
	}
	for i := len(e.dict.Tables) - 1; i >= 0; i-- {
		t := e.dict.Tables[i]
		if t.PersonColumn == "" || t.Name == "persons" || t.Name == requestsTable {
			continue
		}
		if t.Column("id") == nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.Name+" WHERE "+t.PersonColumn+" IN "+list); err != nil {
				return 0, fmt.Errorf("delete %s: %w", t.Name, err)
			}
			continue
		}
		ids, err := selectIDs(ctx, tx, "SELECT id FROM "+t.Name+" WHERE "+t.PersonColumn+" IN "+list)
		if err != nil {
			return 0, err
		}
		if _, err := e.removeRows(ctx, tx, t.Name, ids); err != nil {
			return 0, err
		}
	}
	kept := "EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.person_id = persons.id)"
	if err := emptyPersonal(ctx, tx, e.dict.Table(requestsTable), "person_id IN "+list); err != nil {
		return 0, err
	}
	if err := emptyPersonal(ctx, tx, e.dict.Table("persons"), "id IN "+list+" AND "+kept); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE persons SET erased_at = $1 WHERE id IN "+list+" AND erased_at IS NULL AND "+kept, b.asOf); err != nil {
		return 0, fmt.Errorf("tombstone persons: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM persons WHERE id IN "+list+" AND NOT "+kept); err != nil {
		return 0, fmt.Errorf("delete persons: %w", err)
	}
	return int64(len(b.ids)), nil
}

// requestsTable holds the rights requests, which outlive their author as evidence.
const requestsTable = "rights_requests"

// emptyPersonal removes the personal values of the rows matched by where: NULL where the column
// allows it, an empty value where an encrypted one is required (its key is gone anyway).
func emptyPersonal(ctx context.Context, tx *sql.Tx, t *dictionary.Table, where string) error {
	var sets []string
	for _, c := range t.Columns {
		switch {
		case !c.Personal:
		case c.Nullable():
			sets = append(sets, c.Name+" = NULL")
		case c.Encrypted:
			sets = append(sets, c.Name+" = $1")
		}
	}
	if len(sets) == 0 {
		return nil
	}
	var args []any
	if strings.Contains(strings.Join(sets, ""), "$1") {
		args = append(args, []byte{})
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+t.Name+" SET "+strings.Join(sets, ", ")+" WHERE "+where, args...); err != nil {
		return fmt.Errorf("empty %s: %w", t.Name, err)
	}
	return nil
}

// askRenewal writes to each prospect a month before their term, asking whether they want to keep
// in touch: a reply is a contact, which starts their three years again. The message and the mark
// that it was sent are in the same transaction, so a resumed run never sends it twice.
func (e *Engine) askRenewal(ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.email, k.wrapped_key, COALESCE(t.last_contact_at, t.created_at)
		FROM persons t JOIN subject_keys k ON k.person_id = t.id WHERE t.id IN `+e.idList(b.ids)+` ORDER BY t.id`)
	if err != nil {
		return 0, fmt.Errorf("read prospects: %w", err)
	}
	type prospect struct {
		id          int64
		to          string
		lastContact time.Time
	}
	var ps []prospect
	for rows.Next() {
		var id int64
		var sealed, wrapped []byte
		var last any
		if err := rows.Scan(&id, &sealed, &wrapped, &last); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read prospects: %w", err)
		}
		to, err := open(e.keys, id, wrapped, "persons.email", sealed)
		if err != nil {
			rows.Close()
			return 0, err
		}
		at, err := e.timestamp(last)
		if err != nil {
			rows.Close()
			return 0, err
		}
		ps = append(ps, prospect{id, to, at})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read prospects: %w", err)
	}
	var asked []int64
	for _, p := range ps {
		term := p.lastContact.AddDate(0, b.rule.Months, 0)
		_, err := e.mail.EnqueueTx(ctx, tx, outbox.Message{PersonID: p.id, Kind: outbox.KindRenewal, To: p.to,
			Subject: "Souhaitez-vous rester en contact avec " + e.controller.Name + " ?",
			Body:    renewalBody(e.controller.Name, e.controller.DPOEmail, e.renewalLink(p.id), p.lastContact, term)})
		var bad *outbox.InputError
		switch {
		case errors.As(err, &bad):
			continue // an address the outbox cannot send to: the prospect will simply go at the term
		case err != nil:
			return 0, err
		}
		asked = append(asked, p.id)
	}
	if len(asked) == 0 {
		return 0, nil
	}
	return exec(ctx, tx, "UPDATE persons SET renewal_asked_at = $1 WHERE id IN "+e.idList(asked), b.asOf)
}

func renewalBody(controller, dpo, link string, lastContact, term time.Time) string {
	answer := "Si vous souhaitez que nous restions en contact, il vous suffit de répondre à ce message avant le " + frenchDate(term) + ".\n\n"
	if link != "" {
		answer = "Si vous souhaitez que nous restions en contact, un clic suffit, avant le " + frenchDate(term) + " :\n" + link +
			"\n\nVous pouvez aussi simplement répondre à ce message.\n\n"
	}
	return "Bonjour,\n\n" +
		"Notre dernier échange date du " + frenchDate(lastContact) + ". " + controller + " ne garde les coordonnées d'un prospect que trois ans " +
		"après le dernier contact, comme le recommande la CNIL.\n\n" + answer +
		"Sans réponse de votre part, vos données seront supprimées à cette date, sans autre démarche de votre part.\n\n" +
		"Pour toute question sur vos données personnelles : " + dpo + ".\n\n" + controller + "\n"
}

func frenchDate(t time.Time) string { return t.UTC().Format("02/01/2006") }

// open decrypts one sealed value of a person.
func open(kr *keys.Keyring, personID int64, wrapped []byte, place string, sealed []byte) (string, error) {
	sk, err := kr.Unwrap(personID, wrapped)
	if err != nil {
		return "", fmt.Errorf("lifecycle: %w", err)
	}
	plain, _, err := sk.Open(place, sealed)
	if err != nil {
		return "", fmt.Errorf("lifecycle: open %s: %w", place, err)
	}
	return string(plain), nil
}

func selectIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("select: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
