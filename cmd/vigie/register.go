package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/register"
)

// `vigie register`: the register of processing activities (art. 30, R38) as the DPO's department
// with no user (user 0), which the audit trail records so. The register names no person.

var cliRegister = register.Staff{Department: "dpo"}

const registerUsage = "vigie register --out FILE [--format csv|html|pdf|json] [--version N]\n" +
	"       (the current register, recorded as a new version if it changed since the last; --version N: a kept version;\n" +
	"        the format defaults to the file's extension; --out - writes to standard output)\n" +
	"       vigie register versions   (every kept version: number, date, SHA-256, what changed)"

func registerCmd(ctx context.Context, e env) error {
	ctx = audit.WithActor(ctx, cliRegister.UserID, cliRegister.Department)
	if len(e.args) > 0 && e.args[0] == "versions" {
		return registerVersions(ctx, e)
	}
	return registerExport(ctx, e)
}

// registerExport writes the register, current or kept, in one format. The file appears complete
// or not at all, and only once the export is in the audit trail.
func registerExport(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("register", e, &cfg)
	out := fs.String("out", "", "file to write the register to (required; - for standard output)")
	format := fs.String("format", "", "csv (French spreadsheet), html (printable page), pdf or json; default: the file's extension")
	version := fs.Int("version", 0, "a kept version's number; 0: the current register")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out est obligatoire : le fichier où écrire le registre (- pour la sortie standard)")
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
	}
	if !slices.Contains(register.Formats, *format) {
		return fmt.Errorf("--format %q : valeurs admises %s (ou une extension de fichier parmi elles)", *format, strings.Join(register.Formats, ", "))
	}
	if *version < 0 {
		return fmt.Errorf("--version %d : un numéro de version (1, 2…) ou 0 pour le registre en vigueur", *version)
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, b, err := a.Register.Export(ctx, cliRegister, *version, *format)
	if errors.Is(err, register.ErrNotFound) {
		return fmt.Errorf("--version %d : version inconnue (vigie register versions les liste)", *version)
	}
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := e.stdout.Write(b)
		return err
	}
	if err := writeFileAtomically(*out, func(w io.Writer) error { _, err := w.Write(b); return err }, func() error { return nil }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registre des traitements, version %d générée le %s : %d activités écrites dans %s (%s, %d octets)\nSHA-256 du contenu : %s\n",
		v.Number, v.When(), len(v.Register.Activities), *out, *format, len(b), v.SHA256)
	return nil
}

// registerVersions lists the kept versions, latest first.
func registerVersions(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "register")
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Register.Versions(ctx, cliRegister)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "aucune version du registre n'est encore inscrite : vigie register --out FICHIER en inscrit une")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tgénérée le\tservice\tSHA-256\tchangements")
	for _, v := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\n", v.Number, v.When(), v.Department, v.SHA256[:16], v.Changes)
	}
	return tw.Flush()
}
