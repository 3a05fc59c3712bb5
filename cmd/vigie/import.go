package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/dictionary"
	"vigie/internal/importer"
)

// importCmd is `vigie import legacy FILE.csv --mapping MAP`: a legacy CRM extract brought in under
// the dictionary's rules (R07), with a report of what was kept, dropped and why.
func importCmd(ctx context.Context, e env) error {
	if len(e.args) == 0 || e.args[0] != "legacy" {
		fmt.Fprintf(e.stderr, "Usage: %s\n", commands()["import"].usage)
		return errUsage
	}
	var cfg app.Config
	fs := flags("import", e, &cfg)
	mappingFile := fs.String("mapping", "", "JSON file mapping the CSV headers to dictionary fields (see DEVELOPERS.md, \"Legacy import\")")
	dryRun := fs.Bool("dry-run", false, "read, check and report without writing anything")
	nowFlag := fs.String("now", "", "day retention periods are counted back from, AAAA-MM-JJ (default: today)")
	format := fs.String("format", "text", "report format: text or json")
	files, err := parseAround(fs, e.args[1:])
	if err != nil {
		return err
	}
	if len(files) != 1 || *mappingFile == "" {
		fmt.Fprintln(e.stderr, "vigie import legacy: the CSV file and --mapping are required")
		fs.Usage()
		return errUsage
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	var now time.Time
	if *nowFlag != "" {
		if now, err = time.Parse(dictionary.DateLayout, *nowFlag); err != nil {
			return fmt.Errorf("--now %q: want a date AAAA-MM-JJ", *nowFlag)
		}
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	mf, err := os.Open(*mappingFile)
	if err != nil {
		return fmt.Errorf("open mapping: %w", err)
	}
	mapping, err := importer.ParseMapping(mf, a.Dict)
	mf.Close()
	if err != nil {
		return err
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("open extract: %w", err)
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	rep, err := importer.Import(ctx, f, a.Records, importSuppressions(a), importer.Options{
		Mapping: mapping, Now: now, DryRun: *dryRun, Progress: e.stderr, Size: size,
		BeforeCommit: func(ctx context.Context, tx *sql.Tx, r *importer.Report) error {
			return a.Audit.AppendTx(ctx, tx, importEvent(r))
		},
	})
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(e.stdout)
}

// parseAround parses flags written before or after the file name, as the usage shows them (the
// flag package alone stops at the first argument that is not a flag).
func parseAround(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// importSuppressions is the list of persons who objected to prospection or were erased (R28),
// which the import consults before bringing anyone back. The consent package wires the real one
// (table suppressions); until then nobody is on it.
func importSuppressions(*app.App) importer.Suppressions { return noSuppressions{} }

type noSuppressions struct{}

func (noSuppressions) Suppressed(context.Context, string, string) (bool, error) { return false, nil }

// importEvent records the import in the audit trail (R16), in the import's own transaction: one
// event with the counts, since the rows themselves carry their source and provenance.
func importEvent(r *importer.Report) audit.Event {
	return audit.Event{Department: "admin", Action: "legacy_import", Table: "persons", Purpose: r.Purpose,
		Detail: fmt.Sprintf("legacy import: %d rows, %d persons, %d quotes, %d notes, %d rejected, %d expired, %d expired quotes, %d suppressed",
			r.Rows, r.Persons, r.Quotes, r.Interactions, r.Rejected, r.Expired, r.ExpiredQuotes, r.Suppressed)}
}
