package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"vigie/internal/app"
	"vigie/internal/keys"
	"vigie/internal/masterkey"
)

// `vigie keys`: the master key's versions and their rotation (DESIGN §8, issue 3 item 8).

const keysUsage = "vigie keys rotate [--new-key FILE] [--batch N]   (re-wraps every subject key under a new master key;\n" +
	"       run it again to resume one interrupted; the server keeps running)\n" +
	"       vigie keys status   (the master key versions and how many subject keys each wraps)"

func keysCmd(ctx context.Context, e env) error {
	if len(e.args) > 0 {
		switch e.args[0] {
		case "rotate":
			return keysRotate(ctx, e)
		case "status":
			return keysStatus(ctx, e)
		}
	}
	return subcommandUsage(e, "keys")
}

func keysRotate(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("keys", e, &cfg)
	newKey := fs.String("new-key", "", "file holding the new master key (64 hexadecimal digits, mode 0600); default: one is drawn")
	batch := fs.Int("batch", 500, "subject keys re-wrapped per transaction")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *batch <= 0 {
		return fmt.Errorf("--batch %d: a number of keys per transaction, at least 1", *batch)
	}
	opt := masterkey.Options{BatchSize: *batch, Log: e.log}
	if *newKey != "" {
		key, err := keys.ReadKeyFile(*newKey, keys.MasterKeySize, "new master key")
		if err != nil {
			return fmt.Errorf("--new-key: %w", err)
		}
		opt.NewKey = key
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := masterkey.Rotate(ctx, a.DB, a.Config.MasterKeyFile, a.Audit, opt)
	if err != nil {
		return err
	}
	resumed := ""
	if res.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(e.stdout, "master key rotated from version %d to %d%s: %d subject keys re-wrapped, %d in all under version %d\n"+
		"The new key is in %s; the old one, which no key needs any more, in %s.\n"+
		"Keep a copy of the new key apart from the backups; delete the retired file once no key store export made before needs it.\n",
		res.From, res.To, resumed, res.Rewrapped, res.Keys, res.To, a.Config.MasterKeyFile, res.RetiredFile)
	return nil
}

func keysStatus(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "keys")
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := masterkey.Rows(ctx, a.DB)
	if err != nil {
		return err
	}
	counts, err := masterkey.CountByVersion(ctx, a.DB)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		rows = []masterkey.Row{{Version: 1, State: masterkey.StateCurrent}}
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tstate\tsince\tsubject keys")
	for _, r := range rows {
		since := "-"
		if !r.CreatedAt.IsZero() {
			since = r.CreatedAt.Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\n", r.Version, r.State, since, counts[r.Version])
	}
	return tw.Flush()
}
