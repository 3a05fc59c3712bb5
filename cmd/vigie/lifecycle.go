package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"vigie/internal/app"
	"vigie/internal/dictionary"
	"vigie/internal/lifecycle"
)

// cliLifecycle is who acts on the command line: the DPO's department, with no user.
var cliLifecycle = lifecycle.Staff{Department: "dpo"}

func lifecycleSubcommands() []subcommand {
	return []subcommand{{"run", lifecycleRun}, {"check", lifecycleCheck}, {"rules", lifecycleRules}, {"set-rule", lifecycleSetRule},
		{"hold", lifecycleHold}, {"lift", lifecycleLift}, {"holds", lifecycleHolds}, {"runs", lifecycleRuns}}
}

func lifecycleCmd(ctx context.Context, e env) error {
	return dispatch(ctx, e, "lifecycle", cliLifecycle.Department, lifecycleSubcommands())
}

// parseDay reads a --now or --until flag: a day (AAAA-MM-JJ) or an RFC 3339 time.
func parseDay(flag, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(dictionary.DateLayout, value); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q : une date AAAA-MM-JJ est attendue", flag, value)
}

// lifecycleRun applies the retention rules now (or as of --now), printing its progress on the
// standard error and its summary on the standard output.
func lifecycleRun(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("lifecycle", e, &cfg)
	dryRun := fs.Bool("dry-run", false, "print exactly what a run would do, and change nothing")
	nowFlag := fs.String("now", "", "day the rules are applied for, AAAA-MM-JJ (default: now); not before the last run's")
	batchSize := fs.Int("batch", lifecycle.DefaultBatch, "rows per transaction (1 to 10000)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *batchSize < 1 || *batchSize > 10000 {
		return fmt.Errorf("--batch %d : un nombre de lignes par transaction entre 1 et 10000 est attendu", *batchSize)
	}
	now, err := parseDay("now", *nowFlag)
	if err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if path := os.Getenv("BENCH_LIFECYCLE_CPUPROFILE"); path != "" {
		// Hidden, for bench/: where a run's time goes.
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	run, err := a.Lifecycle.WithBatch(*batchSize).Run(ctx, lifecycle.Options{Now: now, DryRun: *dryRun, Progress: e.stderr, By: cliLifecycle})
	var inputErr *lifecycle.InputError
	if errors.As(err, &inputErr) {
		return errors.New(inputErr.Message)
	}
	if run != nil {
		printRun(e, run)
	}
	return err
}

// startCPUProfile writes the process's CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func printRun(e env, run *lifecycle.Run) {
	kind := "passage"
	if run.DryRun {
		kind = "simulation (rien n'a été modifié)"
	}
	if run.Resumed {
		kind += ", reprise d'un passage interrompu"
	}
	fmt.Fprintf(e.stdout, "cycle de vie : %s n° %d au %s — %s\n", kind, run.ID, run.AsOf.Format("02/01/2006"), run.Status)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "règle\taction\tnombre")
	for _, c := range run.Counts {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", c.Rule, c.Action, c.N)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "total : %d ; en retard à la fin : %d ; durée : %s\n", run.Total(), run.Overdue,
		run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond))
	if run.Errors != "" {
		fmt.Fprintf(e.stdout, "erreur : %s\n", run.Errors)
	}
}

// lifecycleCheck prints what is due now, in 30 and in 90 days, rule by rule; it exits with status
// 1 when something is overdue, so that it can gate a report or a monitoring probe.
func lifecycleCheck(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("lifecycle", e, &cfg)
	nowFlag := fs.String("now", "", "day to check for, AAAA-MM-JJ (default: now)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	at, err := parseDay("now", *nowFlag)
	if err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if at.IsZero() {
		at = a.Now()
	}
	due, err := a.Lifecycle.Due(ctx, at)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "règle\taction\ten retard\tdans 30 j\tdans 90 j\tsuspendus (gel, limitation)")
	var overdue int64
	for _, d := range due {
		overdue += d.Now
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", d.Rule, d.Action, d.Now, d.In30, d.In90, d.Suspended)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "en retard au %s : %d\n", at.Format("02/01/2006"), overdue)
	if overdue > 0 {
		return fmt.Errorf("%d élément(s) en retard sur leur règle de conservation : lancez vigie lifecycle run", overdue)
	}
	return nil
}

// lifecycleRules prints the rules in force with their source and version.
func lifecycleRules(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "lifecycle")
	if err != nil {
		return err
	}
	defer a.Close()
	rules, err := a.Lifecycle.Rules(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "règle\tdurée (mois)\tà partir de\taction\tactions permises\tversion\tsource")
	for _, r := range rules {
		version := "défaut"
		if r.Version > 0 {
			version = fmt.Sprintf("v%d du %s", r.Version, r.ChangedAt.Format("02/01/2006"))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Code, r.Months, r.From, r.Action, strings.Join(r.Actions, ","), version, r.Source)
	}
	return tw.Flush()
}

// lifecycleSetRule records the DPO's new version of a rule.
func lifecycleSetRule(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("lifecycle", e, &cfg)
	code := fs.String("rule", "", "the rule (see vigie lifecycle rules)")
	months := fs.Int("months", 0, "how long the data is kept, in months")
	action := fs.String("action", "", "what happens at the end (default: the rule's current action)")
	reason := fs.String("reason", "", "why the rule changes (kept with the version)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if *action == "" {
		rules, err := a.Lifecycle.Rules(ctx)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Code == *code {
				*action = r.Action
			}
		}
	}
	r, err := a.Lifecycle.SetRule(ctx, cliLifecycle, lifecycle.RuleChange{Code: *code, Months: *months, Action: *action, Reason: *reason})
	var ruleErr *lifecycle.RuleError
	if errors.As(err, &ruleErr) {
		return fmt.Errorf("--%s : %s", ruleErr.Field, ruleErr.Message)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "règle %s : version %d, %d mois, puis %s\n", r.Code, r.Version, r.Months, r.Action)
	return nil
}

// lifecycleHold places a legal hold on a person.
func lifecycleHold(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("lifecycle", e, &cfg)
	person := fs.Int64("person", 0, "the person's number (required)")
	contract := fs.Int64("contract", 0, "the contract at stake, if any")
	until := fs.String("until", "", "day the hold ends, AAAA-MM-JJ (required)")
	reason := fs.String("reason", "", "why (litigation, inquiry…): kept sealed under the person's key")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	ends, err := parseDay("until", *until)
	if err != nil {
		return err
	}
	if ends.IsZero() {
		return errors.New("--until est obligatoire : le jour où le gel prend fin")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	id, err := a.Lifecycle.PlaceHold(ctx, cliLifecycle, lifecycle.HoldRequest{PersonID: *person, ContractID: *contract, Reason: *reason, EndsAt: ends})
	var inputErr *lifecycle.InputError
	switch {
	case errors.As(err, &inputErr):
		return fmt.Errorf("--%s : %s", strings.ReplaceAll(strings.TrimSuffix(inputErr.Field, "_id"), "ends_at", "until"), inputErr.Message)
	case errors.Is(err, lifecycle.ErrUnknownPerson):
		return fmt.Errorf("--person %d : personne inconnue", *person)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "gel n° %d posé sur la personne %d jusqu'au %s : aucune action de fin de vie ne la touchera d'ici là\n", id, *person, ends.Format("02/01/2006"))
	return nil
}

// lifecycleLift lifts a hold before its end.
func lifecycleLift(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("lifecycle", e, &cfg)
	hold := fs.Int64("hold", 0, "the hold's number (see vigie lifecycle holds)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	err = a.Lifecycle.LiftHold(ctx, cliLifecycle, *hold)
	var inputErr *lifecycle.InputError
	if errors.As(err, &inputErr) {
		return fmt.Errorf("--hold %d : %s", *hold, inputErr.Message)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "gel n° %d levé\n", *hold)
	return nil
}

// lifecycleHolds lists the holds: numbers and dates, never their reasons.
func lifecycleHolds(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "lifecycle")
	if err != nil {
		return err
	}
	defer a.Close()
	holds, err := a.Lifecycle.Holds(ctx, 0)
	if err != nil {
		return err
	}
	if len(holds) == 0 {
		fmt.Fprintln(e.stdout, "aucun gel")
		return nil
	}
	now := a.Now()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "gel\tpersonne\tcontrat\tposé le\tfin\tétat")
	for _, h := range holds {
		state := "en vigueur"
		switch {
		case !h.LiftedAt.IsZero():
			state = "levé le " + h.LiftedAt.Format("02/01/2006")
		case !h.Active(now):
			state = "échu"
		}
		contract := "—"
		if h.ContractID != 0 {
			contract = fmt.Sprint(h.ContractID)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", h.ID, h.PersonID, contract, h.StartedAt.Format("02/01/2006"), h.EndsAt.Format("02/01/2006"), state)
	}
	return tw.Flush()
}

// lifecycleRuns lists the latest runs and what they did.
func lifecycleRuns(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "lifecycle")
	if err != nil {
		return err
	}
	defer a.Close()
	runs, err := a.Lifecycle.Runs(ctx, 20)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "aucun passage")
		return nil
	}
	for i := range runs {
		printRun(e, &runs[i])
	}
	return nil
}

// maintainLifecycle is the scheduled run inside vigie serve: every night at VIGIE_LIFECYCLE_HOUR
// (server time), unless it is off, and at start-up when an earlier run was interrupted.
func maintainLifecycle(ctx context.Context, a *app.App) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	unfinished, err := a.Lifecycle.Unfinished(ctx)
	if err != nil {
		a.Log.Error("lifecycle: read runs", "err", err)
	}
	hour, scheduled := lifecycleHour(a.Config.LifecycleHour)
	var lastDay string
	for {
		now := time.Now()
		if unfinished || scheduled && now.Hour() == hour && now.Format(dictionary.DateLayout) != lastDay {
			run, err := a.Lifecycle.Run(ctx, lifecycle.Options{})
			switch {
			case err != nil && ctx.Err() == nil:
				a.Log.Error("lifecycle run failed", "err", err)
			case err == nil:
				a.Log.Info("lifecycle run", "run", run.ID, "resumed", run.Resumed, "handled", run.Total(), "overdue", run.Overdue)
			}
			unfinished, lastDay = false, now.Format(dictionary.DateLayout)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// lifecycleHour reads VIGIE_LIFECYCLE_HOUR, already checked by the configuration: the hour, and
// whether the server runs the rules at all.
func lifecycleHour(setting string) (int, bool) {
	if setting == "off" {
		return 0, false
	}
	h, err := strconv.Atoi(setting)
	if err != nil {
		return app.DefaultLifecycleHour, true
	}
	return h, true
}
