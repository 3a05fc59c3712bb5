package main

import (
	"context"
	"database/sql"
	"encoding/json"
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
		return subcommandUsage(e, "import")
	}
	var cfg app.Config
	fs := flags("import", e, &cfg)
	mappingFile := fs.String("mapping", "", "JSON file mapping the CSV headers to dictionary fields (see DEVELOPERS.md, \"Legacy import\")")
	dryRun := fs.Bool("dry-run", false, "read, check and report without writing anything")
	nowFlag := fs.String("now", "", "day retention periods are counted back from, AAAA-MM-JJ (default: today)")
	format := fs.String("format", "text", "report format: text or json")
	if err := parse(fs, e.args[1:], 1); err != nil {
		return err
	}
	if fs.NArg() != 1 || *mappingFile == "" {
		fmt.Fprintln(e.stderr, "vigie import legacy: the CSV file and --mapping are required")
		fs.Usage()
		return errUsage
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	var now time.Time
	if *nowFlag != "" {
		var err error
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
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("open extract: %w", err)
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	// The suppression list (R28: keyed hashes of the e-mails and phones of people who objected to
	// prospection) is read once: one lookup in memory per row rather than one query.
	supp, err := a.Consent.Suppressions(ctx)
	if err != nil {
		return err
	}
	rep, err := importer.Import(ctx, f, a.Records, supp, importer.Options{
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

// importEvent records the import in the audit trail (R16), in the import's own transaction: one
// event with the counts, since the rows themselves carry their source and provenance.
func importEvent(r *importer.Report) audit.Event {
	return audit.Event{Department: "admin", Action: "legacy_import", Table: "persons", Purpose: r.Purpose,
		Detail: fmt.Sprintf("legacy import: %d rows, %d persons, %d quotes, %d notes, %d rejected, %d expired, %d expired quotes, %d suppressed, %d duplicates",
			r.Rows, r.Persons, r.Quotes, r.Interactions, r.Rejected, r.Expired, r.ExpiredQuotes, r.Suppressed, r.Duplicates)}
}
