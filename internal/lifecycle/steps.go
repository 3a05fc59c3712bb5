package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// step is one thing the engine does under one rule: which rows it takes (table t, and the person
// p they belong to), and what it does to a batch of them.
type step struct {
	rule, action, table string
	// when says whether the rule's chosen action includes this step (a ticket rule set to delete
	// has no archive step).
	when func(r Rule) bool
	// where is the candidate condition at a date, without the gate of the person's state.
	where func(e *Engine, r Rule, at time.Time, a *args) string
	// keepsErased lets the step reach an erased person's kept archive and tombstone.
	keepsErased bool
	apply       func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error)
}

// batch is the work of one transaction.
type batch struct {
	ids   []int64
	rule  Rule
	rules []Rule
	asOf  time.Time
	run   int64
}

func (st step) applies(r Rule) bool { return st.when == nil || st.when(r) }

// from joins the person the rows belong to, as p.
func (st step) from() string {
	if st.table == "persons" {
		return "persons t JOIN persons p ON p.id = t.id"
	}
	return st.table + " t JOIN persons p ON p.id = t.person_id"
}

// condition is the step's condition with, when gated, the person's state: a legal hold in force
// or a restriction (art. 18) suspends every action; an erased person is out of reach but for the
// steps that end what their erasure kept.
func (st step) condition(e *Engine, r Rule, at time.Time, a *args, gated bool) string {
	cond := "(" + st.where(e, r, at, a) + ")"
	if !st.keepsErased {
		cond += " AND p.erased_at IS NULL"
	}
	if gated {
		cond += " AND " + processable("p", at, a)
	}
	return cond
}

// processable is the gate: not restricted, no legal hold in force at the date.
func processable(p string, at time.Time, a *args) string {
	return "NOT " + p + ".restricted AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.person_id = " + p +
		".id AND h.lifted_at IS NULL AND h.ends_at > " + a.add(at) + ")"
}

// cut is the date before which the rule's time has run out.
func cut(r Rule, at time.Time) time.Time { return at.AddDate(0, -r.Months, 0) }

// anchor is when a prospect's three years start: the last contact, else the collection.
const anchor = "COALESCE(t.last_contact_at, t.created_at)"

// renewalNotice is how long before the term a prospect is asked whether to keep in touch.
const renewalNotice = 30 * 24 * time.Hour

// steps are the engine's work, in order: quotes are anonymised before the persons they belong to
// may go, contracts are archived before they are deleted, and a person goes last, once nothing
// of theirs is kept any more.
func (e *Engine) steps() []step {
	return []step{
		{rule: "quote_no_contract", action: "anonymise", table: "quotes",
			when: func(r Rule) bool { return r.Action == Anonymise },
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.created_at < " + a.add(cut(r, at)) + " AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = t.id)"
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removeQuoteIDs(ctx, tx, b.ids, true)
			}},
		{rule: "quote_no_contract", action: "delete", table: "quotes",
			when: func(r Rule) bool { return r.Action == Delete },
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.created_at < " + a.add(cut(r, at)) + " AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = t.id)"
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removeQuoteIDs(ctx, tx, b.ids, false)
			}},
		{rule: "prospect", action: "renew", table: "persons",
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				term := cut(r, at)
				return "t.kind = 'prospect' AND " + anchor + " < " + a.add(term.Add(renewalNotice)) + " AND " + anchor + " >= " + a.add(term) +
					" AND (t.renewal_asked_at IS NULL OR t.renewal_asked_at < " + anchor + ") AND NOT t.objected_prospection AND t.email IS NOT NULL"
			},
			apply: (*Engine).askRenewal},
		{rule: "prospect", action: "delete", table: "persons",
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.kind = 'prospect' AND " + anchor + " < " + a.add(cut(r, at))
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removePersons(ctx, tx, b)
			}},
		{rule: "customer", action: "anonymise", table: "persons",
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.kind <> 'prospect' AND " + relationshipEnded("t", cut(r, at), a) +
					" AND (EXISTS (SELECT 1 FROM quotes q WHERE q.person_id = t.id) OR EXISTS (SELECT 1 FROM interactions i WHERE i.person_id = t.id))"
			},
			apply: (*Engine).removeProfiles},
		{rule: "contract", action: "archive", table: "contracts", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "NOT t.archived AND t.end_date < " + a.add(day(at))
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				if _, err := tx.ExecContext(ctx, "UPDATE documents SET archived = TRUE WHERE contract_id IN "+e.idList(b.ids)); err != nil {
					return 0, fmt.Errorf("archive documents: %w", err)
				}
				return exec(ctx, tx, "UPDATE contracts SET archived = TRUE WHERE id IN "+e.idList(b.ids))
			}},
		{rule: "contract", action: "delete", table: "contracts", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.end_date < " + a.add(day(cut(r, at)))
			},
			apply: (*Engine).removeContracts},
		{rule: "invoice", action: "delete", table: "documents", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.contract_id IS NULL AND t.kind = 'invoice' AND t.created_at < " + a.add(cut(r, at))
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removeRows(ctx, tx, "documents", b.ids)
			}},
		{rule: "ticket", action: "archive", table: "tickets", keepsErased: true,
			when: func(r Rule) bool { return r.Action == Archive },
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "NOT t.archived AND t.closed_at < " + a.add(at)
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				if _, err := tx.ExecContext(ctx, "UPDATE ticket_messages SET archived = TRUE WHERE ticket_id IN "+e.idList(b.ids)); err != nil {
					return 0, fmt.Errorf("archive ticket messages: %w", err)
				}
				return exec(ctx, tx, "UPDATE tickets SET archived = TRUE WHERE id IN "+e.idList(b.ids))
			}},
		{rule: "ticket", action: "delete", table: "tickets", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.closed_at < " + a.add(cut(r, at))
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				if _, err := e.removeRowsWhere(ctx, tx, "ticket_messages", "ticket_id IN "+e.idList(b.ids)); err != nil {
					return 0, err
				}
				return e.removeRows(ctx, tx, "tickets", b.ids)
			}},
		{rule: "consent_proof", action: "delete", table: "consents",
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				// A proof goes five years after a later choice replaced it; the latest choice stays
				// as long as the person does (a refusal is what stops a new prospection).
				return "EXISTS (SELECT 1 FROM consents n WHERE n.person_id = t.person_id AND n.purpose = t.purpose AND n.id > t.id AND n.given_at < " +
					a.add(cut(r, at)) + ")"
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removeRows(ctx, tx, "consents", b.ids)
			}},
		{rule: "rights_request", action: "delete", table: "rights_requests", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				return "t.closed_at < " + a.add(cut(r, at))
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removeRows(ctx, tx, "rights_requests", b.ids)
			}},
		{rule: "customer", action: "delete", table: "persons", keepsErased: true,
			where: func(e *Engine, r Rule, at time.Time, a *args) string {
				// Nothing of the person is kept any more: a former customer whose archive has gone,
				// or the tombstone an erasure left once the requests it answered have gone too.
				return "(t.erased_at IS NOT NULL OR t.kind <> 'prospect' AND " + anchor + " < " + a.add(cut(r, at)) + ")" +
					" AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = t.id)" +
					" AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.person_id = t.id)" +
					" AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.person_id = t.id)" +
					" AND NOT EXISTS (SELECT 1 FROM quotes q WHERE q.person_id = t.id)" +
					" AND NOT EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.person_id = t.id)"
			},
			apply: func(e *Engine, ctx context.Context, tx *sql.Tx, b batch) (int64, error) {
				return e.removePersons(ctx, tx, b)
			}},
	}
}

// relationshipEnded: the person had contracts, none runs any more, and the last ended before end.
func relationshipEnded(p string, end time.Time, a *args) string {
	return "EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = " + p + ".id)" +
		" AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = " + p + ".id AND (c.end_date IS NULL OR c.end_date >= " + a.add(day(end)) + "))"
}

func exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
