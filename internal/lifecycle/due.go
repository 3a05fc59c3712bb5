package lifecycle

import (
	"context"
	"time"
)

// Due is what one step of a rule has to do at a date and in the months ahead.
type Due struct {
	Rule, Label, Action string
	// Now is what is due at the date (overdue, when the date is today); In30 and In90 include it.
	Now, In30, In90 int64
	// Suspended is what is due at the date but waits for a legal hold or a restriction to end.
	Suspended int64
}

// Due counts, for each step of each rule in force, what is due at the date, within 30 and within
// 90 days, and what a hold or a restriction suspends. Reading it right after a run at that date
// gives zero due: that is the check the DPO runs (R33–R35).
func (e *Engine) Due(ctx context.Context, at time.Time) ([]Due, error) {
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	at = at.UTC()
	var out []Due
	for _, st := range e.steps() {
		r := ruleByCode(rules, st.rule)
		if !st.applies(r) || st.action == "renew" {
			continue
		}
		d := Due{Rule: st.rule, Label: r.Label, Action: st.action}
		for _, c := range []struct {
			n     *int64
			at    time.Time
			gated bool
		}{{&d.Now, at, true}, {&d.In30, at.AddDate(0, 0, 30), true}, {&d.In90, at.AddDate(0, 0, 90), true}, {&d.Suspended, at, false}} {
			if *c.n, err = e.countCandidates(ctx, e.db, st, r, c.at, c.gated); err != nil {
				return nil, err
			}
		}
		d.Suspended -= d.Now
		out = append(out, d)
	}
	return out, nil
}

// overdueIn counts what is still due at the date, in the run's own view (its transaction for a
// dry run): the renewal requests are not counted, being a courtesy before the term.
func (e *Engine) overdueIn(ctx context.Context, q querier, rules []Rule, at time.Time) (int64, error) {
	var total int64
	for _, st := range e.steps() {
		r := ruleByCode(rules, st.rule)
		if !st.applies(r) || st.action == "renew" {
			continue
		}
		n, err := e.countCandidates(ctx, q, st, r, at, true)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
