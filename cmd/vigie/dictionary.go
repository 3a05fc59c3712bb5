package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"vigie/internal/dictionary"
)

// dictionaryCmd prints the data dictionary, or audits a legacy extract against it. It needs no
// database: the dictionary is embedded in the binary.
func dictionaryCmd(_ context.Context, e env) error {
	d, err := dictionary.Load()
	if err != nil {
		return err
	}
	if len(e.args) > 0 && e.args[0] == "audit" {
		return dictionaryAudit(e, d)
	}
	fs := flags("dictionary", e, nil)
	format := fs.String("format", "md", "md (Markdown) or html")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	switch *format {
	case "md":
		return d.Markdown(e.stdout)
	case "html":
		return d.HTML(e.stdout)
	}
	return fmt.Errorf("--format %q: want md or html", *format)
}

func dictionaryAudit(e env, d *dictionary.Dictionary) error {
	fs := flags("dictionary", e, nil)
	format := fs.String("format", "text", "text or json")
	delimiter := fs.String("delimiter", "", "column separator: ',', ';' or tab (default: detected)")
	if err := parse(fs, e.args[1:], 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "vigie dictionary audit: the CSV file to audit is required")
		return errUsage
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	var opts dictionary.AuditOptions
	switch *delimiter {
	case "":
	case ",", ";":
		opts.Delimiter = rune((*delimiter)[0])
	case "tab", "\t", `\t`:
		opts.Delimiter = '\t'
	default:
		return fmt.Errorf("--delimiter %q: want ',', ';' or tab", *delimiter)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("open extract: %w", err)
	}
	defer f.Close()
	report, err := d.Audit(f, opts)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	report.WriteText(e.stdout)
	return nil
}
