package ops

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vigie/internal/app"
	"vigie/internal/breach"
)

// The gauges and counters read from the services. Every label is a code of Vigie's own (a right,
// a rule, an action, a chain, a reason), never a value a person or a client typed.
var (
	rightsOpen = prometheus.NewDesc("vigie_rights_requests_open",
		"Data-subject requests waiting for their answer, by right.", []string{"type"}, nil)
	rightsOverdue = prometheus.NewDesc("vigie_rights_requests_overdue",
		"Data-subject requests past their deadline (one month, three when extended; R32), by right.", []string{"type"}, nil)

	lifecycleOverdue = prometheus.NewDesc("vigie_lifecycle_overdue",
		"Retention actions due now and not done (the nightly run brings it to 0), by rule and action.", []string{"rule", "action"}, nil)
	lifecycleDue = prometheus.NewDesc("vigie_lifecycle_due",
		"Retention actions due within 30 or 90 days, the overdue ones included, by rule and action.", []string{"rule", "action", "within"}, nil)
	lifecycleSuspended = prometheus.NewDesc("vigie_lifecycle_suspended",
		"Retention actions due now but suspended by a legal hold or a restriction, by rule and action.", []string{"rule", "action"}, nil)

	auditSinceCheckpoint = prometheus.NewDesc("vigie_audit_events_since_checkpoint",
		"Events of an audit chain after its latest signed checkpoint.", []string{"chain"}, nil)
	auditHead = prometheus.NewDesc("vigie_audit_chain_head",
		"Sequence number of an audit chain's last event.", []string{"chain"}, nil)
	auditCheckpointAge = prometheus.NewDesc("vigie_audit_checkpoint_age_seconds",
		"Age of an audit chain's latest signed checkpoint (absent before the first one).", []string{"chain"}, nil)
	auditCheckpointHolds = prometheus.NewDesc("vigie_audit_checkpoint_holds",
		"1 when an audit chain's latest checkpoint verifies and the event it signs is unchanged; 0 means tampering: run vigie audit verify.", []string{"chain"}, nil)
	auditUnfolded = prometheus.NewDesc("vigie_audit_journal_unfolded_events",
		"Acknowledged reads waiting in the server's journal to join the access chain (grows only when folds fail).", nil, nil)

	breachClocks = prometheus.NewDesc("vigie_breaches",
		"Breaches of the register by the state of their 72-hour clock to notify the CNIL (art. 33): running, overdue, notified, not_required.", []string{"cnil_clock"}, nil)
	breachSecondsLeft = prometheus.NewDesc("vigie_breach_cnil_seconds_left",
		"Time left before the earliest CNIL deadline among breaches not yet notified (negative once passed; absent when none runs).", nil, nil)
	breachPeoplePending = prometheus.NewDesc("vigie_breaches_people_pending",
		"Breaches whose high risk requires telling the people concerned (art. 34), not done yet.", nil, nil)

	accountsLocked = prometheus.NewDesc("vigie_staff_accounts_locked",
		"Staff accounts locked now after repeated failed sign-ins (R15).", nil, nil)
	loginFailures = prometheus.NewDesc("vigie_login_failures_total",
		"Refused staff sign-ins since the process started, by reason.", []string{"reason"}, nil)
)

// sourcesOf lists the gauge groups the app can give: none while it is locked.
func sourcesOf(a *app.App) []*source {
	var out []*source
	if a.Rights != nil {
		out = append(out, &source{name: "rights", ttl: 15 * time.Second, timeout: 5 * time.Second, read: readRights(a)})
	}
	if a.Lifecycle != nil {
		out = append(out, &source{name: "lifecycle", ttl: 5 * time.Minute, timeout: 2 * time.Minute, read: readLifecycle(a)})
	}
	if a.Audit != nil {
		out = append(out, &source{name: "audit", ttl: 15 * time.Second, timeout: 5 * time.Second, read: readAudit(a)})
	}
	if a.Breaches != nil {
		out = append(out, &source{name: "breaches", ttl: time.Minute, timeout: 5 * time.Second, read: readBreaches(a)})
	}
	if a.Auth != nil {
		out = append(out, &source{name: "accounts", ttl: 15 * time.Second, timeout: 5 * time.Second, read: readAccounts(a)})
	}
	return out
}

type reader = func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func readRights(a *app.App) reader {
	return func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error {
		backlogs, err := a.Rights.Backlogs(ctx, now)
		if err != nil {
			return err
		}
		for _, b := range backlogs {
			emit(gauge(rightsOpen, float64(b.Open), b.Type))
			emit(gauge(rightsOverdue, float64(b.Overdue), b.Type))
		}
		return nil
	}
}

func readLifecycle(a *app.App) reader {
	return func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error {
		due, err := a.Lifecycle.Due(ctx, now)
		if err != nil {
			return err
		}
		for _, d := range due {
			emit(gauge(lifecycleOverdue, float64(d.Now), d.Rule, d.Action))
			emit(gauge(lifecycleDue, float64(d.In30), d.Rule, d.Action, "30d"))
			emit(gauge(lifecycleDue, float64(d.In90), d.Rule, d.Action, "90d"))
			emit(gauge(lifecycleSuspended, float64(d.Suspended), d.Rule, d.Action))
		}
		return nil
	}
}

func readAudit(a *app.App) reader {
	return func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error {
		chains, err := a.Audit.Status(ctx)
		if err != nil {
			return err
		}
		for _, c := range chains {
			emit(gauge(auditHead, float64(c.Head), c.Chain))
			emit(gauge(auditSinceCheckpoint, float64(c.Head-c.CheckpointSeq), c.Chain))
			holds := 0.0
			if c.CheckpointHolds {
				holds = 1
			}
			emit(gauge(auditCheckpointHolds, holds, c.Chain))
			if !c.CheckpointAt.IsZero() {
				emit(gauge(auditCheckpointAge, now.Sub(c.CheckpointAt).Seconds(), c.Chain))
			}
		}
		return nil
	}
}

// readBreaches reads the register as the DPO's department (no user: nothing is shown to anyone)
// and keeps only the clocks' states and the earliest deadline.
func readBreaches(a *app.App) reader {
	return func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error {
		list, err := a.Breaches.List(ctx, breach.Staff{Department: "dpo"})
		if err != nil {
			return err
		}
		states := map[string]int{breach.ClockRunning: 0, breach.ClockOverdue: 0, breach.ClockNotified: 0, breach.ClockNotRequired: 0}
		var people int
		var earliest *time.Duration
		for i := range list {
			c := list[i].Clock(now)
			states[c.State]++
			if c.People == breach.PeoplePending {
				people++
			}
			if (c.State == breach.ClockRunning || c.State == breach.ClockOverdue) && (earliest == nil || c.Left < *earliest) {
				earliest = &c.Left
			}
		}
		for state, n := range states {
			emit(gauge(breachClocks, float64(n), state))
		}
		emit(gauge(breachPeoplePending, float64(people)))
		if earliest != nil {
			emit(gauge(breachSecondsLeft, earliest.Seconds()))
		}
		return nil
	}
}

func readAccounts(a *app.App) reader {
	return func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error {
		n, err := a.Auth.LockedAccounts(ctx)
		if err != nil {
			return err
		}
		emit(gauge(accountsLocked, float64(n)))
		return nil
	}
}

// Collect's live part: what the services count in memory, read at every scrape.
func (c *collector) live(ch chan<- prometheus.Metric) {
	if c.app.Auth != nil {
		for reason, n := range c.app.Auth.FailedSignIns() {
			ch <- prometheus.MustNewConstMetric(loginFailures, prometheus.CounterValue, float64(n), reason)
		}
	}
	if c.app.Audit != nil {
		ch <- gauge(auditUnfolded, float64(c.app.Audit.Unfolded()))
	}
}
