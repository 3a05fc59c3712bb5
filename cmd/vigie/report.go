package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/evidence"
)

// reportCmd writes the evidence pack for the CNIL: a fresh sensitive-data scan first, then every
// check of internal/evidence on the live data. It exits with status 1 when a check fails, so that
// a failure cannot go unseen in a script; the report is written either way, saying which.
func reportCmd(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("report", e, &cfg)
	out := fs.String("out", "", "the file to write (required); written beside, then renamed")
	format := fs.String("format", "", "html or pdf (default: from the file's extension, else html)")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out : le fichier à écrire est obligatoire")
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
		if *format != "pdf" {
			*format = "html"
		}
	}
	if *format != "html" && *format != "pdf" {
		return fmt.Errorf("--format %q : html ou pdf", *format)
	}
	ctx = audit.WithActor(ctx, 0, "dpo")
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := scanStored(ctx, a); err != nil {
		return fmt.Errorf("recherche de données sensibles : %w", err)
	}
	rep, err := evidence.Run(ctx, a, a.Now())
	if err != nil {
		return err
	}
	err = writeFileAtomically(*out, func(w io.Writer) error {
		if *format == "pdf" {
			return evidence.WritePDF(w, rep)
		}
		return evidence.WriteHTML(w, rep)
	}, func() error {
		return a.Audit.Record(ctx, audit.Event{Department: "dpo", Action: audit.ActionExport, Table: "evidence",
			Purpose: "compliance", Detail: fmt.Sprintf("checks=%d failed=%d format=%s", len(rep.Results), rep.Failed(), *format)})
	})
	if err != nil {
		return err
	}
	for _, res := range rep.Results {
		fmt.Fprintf(e.stdout, "%-13s %-16s %s\n", res.Outcome, res.Rule, res.Title)
	}
	fmt.Fprintf(e.stdout, "%d contrôle(s), %d non conforme(s). Écrit dans %s (%s).\n", len(rep.Results), rep.Failed(), *out, *format)
	if rep.Failed() > 0 {
		return fmt.Errorf("%d contrôle(s) non conforme(s) : voir le rapport", rep.Failed())
	}
	return nil
}
