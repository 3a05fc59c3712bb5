package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/stats"
)

// cliPerformance is who exports on the command line: the performance department, with no user.
var cliPerformance = stats.Actor{Department: "performance"}

func exportCmd(ctx context.Context, e env) error {
	if len(e.args) == 0 || (e.args[0] != "stats" && e.args[0] != "stats-refresh") {
		return subcommandUsage(e, "export")
	}
	ctx = audit.WithActor(ctx, cliPerformance.UserID, cliPerformance.Department)
	if e.args[0] == "stats-refresh" {
		return statsRefresh(ctx, e)
	}
	var cfg app.Config
	fs := flags("export", e, &cfg)
	out := fs.String("out", "", "the CSV file to write (required); written beside, then renamed: never left half-written")
	k := fs.Int("k", stats.DefaultK, "every combination of quasi-identifiers shown is shared by at least k rows (2 or more)")
	l := fs.Int("l", 0, "2: every group also holds quotes that became contracts and quotes that did not")
	from := fs.String("from", "", "first month, AAAA-MM")
	to := fs.String("to", "", "last month, AAAA-MM")
	format := fs.String("format", stats.FormatRFC4180, "rfc4180 (commas, standard tools) or excel-fr (semicolons, decimal commas, UTF-8 BOM)")
	columns := fs.String("columns", "", "the quasi-identifiers needed, comma-separated (default all: "+strings.Join(stats.Columns(), ",")+")")
	pseudonymise := fs.Bool("pseudonymise", false, "add a pseudonym that follows each person across their live quotes, keyed for this extract only")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out : le fichier à écrire est obligatoire")
	}
	opt := stats.Options{K: *k, L: *l, From: *from, To: *to, Format: *format, Pseudonymise: *pseudonymise, By: cliPerformance,
		Progress: func(stage string, done, total int64) {
			if total > 0 {
				fmt.Fprintf(e.stderr, "\r%s : %d / %d lignes", stage, done, total)
			} else {
				fmt.Fprintf(e.stderr, "\r%s : %d lignes", stage, done)
			}
		}}
	if *columns != "" {
		opt.Columns = strings.Split(*columns, ",")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	var rep stats.Report
	err = writeFileAtomically(*out, func(w io.Writer) error {
		rep, err = a.Stats.Export(ctx, w, opt)
		return err
	}, func() error { return nil })
	fmt.Fprintln(e.stderr)
	var input *stats.InputError
	if errors.As(err, &input) {
		return fmt.Errorf("--%s : %s", input.Field, input.Message)
	}
	if err != nil {
		return err
	}
	e.log.Info("statistics export", "format", opt.Format, "k", rep.K, "k_reached", rep.KReached, "rows", rep.Written, "suppressed", rep.Suppressed)
	fmt.Fprintf(e.stdout, "%s", rep.Summary())
	fmt.Fprintf(e.stdout, "Écrit dans %s (%s).\n", *out, opt.Format)
	return nil
}

// statsRefresh rebuilds the snapshot of the live quotes now (an extract also does it when the
// data changed since).
func statsRefresh(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "export")
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Stats.Refresh(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "instantané des devis en cours reconstruit : %d lignes\n", n)
	return nil
}

// statisticsRefreshEvery is how often serve rebuilds the snapshot of the live quotes when what it
// comes from changed: the performance page's charts read the snapshot as it is, and an extract
// rebuilds it first anyway.
const statisticsRefreshEvery = 15 * time.Minute

func maintainStatistics(ctx context.Context, a *app.App) {
	tick := time.NewTicker(statisticsRefreshEvery)
	defer tick.Stop()
	for {
		snap, err := a.Stats.Snapshot(ctx)
		if err == nil && !snap.Fresh {
			var n int64
			if n, err = a.Stats.Refresh(ctx); err == nil {
				a.Log.Info("statistics snapshot rebuilt", "live_rows", n)
			}
		}
		if err != nil && ctx.Err() == nil {
			a.Log.Error("statistics snapshot failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
