package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/rights"
)

// cliDPO is who acts on the command line: the DPO's department, with no user (user 0), since
// nobody signs in to a command. The audit trail records the department.
var cliDPO = rights.Staff{Department: "dpo"}

// rightsSubcommands are the actions of `vigie rights`, run by the DPO's engineer on the server.
func rightsSubcommands() []subcommand {
	return []subcommand{{"list", rightsList}, {"export", rightsExport}, {"erase", rightsErase}}
}

func rightsCmd(ctx context.Context, e env) error {
	return dispatch(ctx, e, "rights", cliDPO.Department, rightsSubcommands())
}

// rightsList prints the DPO's queue: the open requests by time left, then with --all the closed
// ones. A request shows its type, channel and dates, never its texts: no personal data.
func rightsList(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("rights", e, &cfg)
	all := fs.Bool("all", false, "also list the closed and refused requests (the latest 200)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	queue, err := a.Rights.Queue(ctx, cliDPO.Department, *all)
	if err != nil {
		return err
	}
	if len(queue) == 0 {
		fmt.Fprintln(e.stdout, "aucune demande en attente")
		return nil
	}
	now := a.Now().UTC()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "demande\ttype\tcanal\tstatut\treçue le\téchéance\treste")
	late := 0
	for _, r := range queue {
		left := "—"
		if r.Open() {
			left = daysLeft(r.TimeLeft(now))
			if r.TimeLeft(now) < 0 {
				left += "  EN RETARD"
				late++
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, rights.TypeLabels[r.Type], r.Channel, r.Status,
			r.ReceivedAt.Format("02/01/2006"), r.DueAt.Format("02/01/2006"), left)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if late > 0 {
		fmt.Fprintf(e.stdout, "%d demande(s) en retard : le délai d'un mois (art. 12(3)) est dépassé\n", late)
	}
	return nil
}

// daysLeft writes a time left in whole days, rounded down: "3 j", "0 j" on the last day, "-2 j"
// two days late.
func daysLeft(d time.Duration) string {
	return fmt.Sprintf("%d j", int(math.Floor(d.Hours()/24)))
}

// accessFormats are the layouts of `vigie rights export`; zip holds the three others and the
// documents.
var accessFormats = []string{"zip", "json", "csv", "html"}

// rightsExport writes a person's access archive (art. 15) to a file readable by its owner only,
// and records the export, with the archive's SHA-256 for a ZIP, in the audit trail.
func rightsExport(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("rights", e, &cfg)
	person := fs.Int64("person", 0, "the person's number (required)")
	out := fs.String("out", "", "file to write the archive to (required); it holds personal data: hand it to the person only")
	format := fs.String("format", "zip", "zip (HTML, JSON, CSV and documents), json, csv or html")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if err := checkPerson(*person); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out est obligatoire : le fichier où écrire l'archive")
	}
	if !slices.Contains(accessFormats, *format) {
		return fmt.Errorf("--format %q : valeurs admises %s", *format, strings.Join(accessFormats, ", "))
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ar, err := a.Rights.Access(ctx, cliDPO, *person)
	if err != nil {
		return personError(err, *person, 0)
	}
	rows := 0
	for _, c := range ar.Categories {
		rows += len(c.Rows)
	}
	// The export is on record before the file is in place: no archive handed out without its event.
	evidence, err := writeArchive(ar, *out, *format, func(evidence string) error {
		return a.Audit.Record(ctx, audit.Event{UserID: cliDPO.UserID, Department: cliDPO.Department, Action: audit.ActionExport,
			Table: "persons", RowID: *person, Subject: a.Audit.Subject(*person), Purpose: "compliance",
			Detail: strings.TrimSpace("access " + *format + " " + evidence)})
	})
	if err != nil {
		return err
	}
	e.log.Info("rights export", "format", *format, "categories", len(ar.Categories), "rows", rows, "documents", len(ar.Files))
	fmt.Fprintf(e.stdout, "archive d'accès de la personne %d écrite dans %s (%s) : %d catégories, %d lignes, %d documents\n",
		*person, *out, *format, len(ar.Categories), rows, len(ar.Files))
	if evidence != "" {
		fmt.Fprintf(e.stdout, "preuve (SHA-256 de l'archive) : %s\n", evidence)
	}
	return nil
}

// writeArchive writes the archive beside its destination, calls record with the ZIP's SHA-256
// (empty for the other formats), then renames the file into place: a file that is there is
// complete and on record.
func writeArchive(ar *rights.Archive, out, format string, record func(evidence string) error) (string, error) {
	var evidence string
	err := writeFileAtomically(out, func(w io.Writer) error {
		var err error
		switch format {
		case "zip":
			evidence, err = ar.WriteZIP(w)
		case "json":
			err = ar.WriteJSON(w)
		case "csv":
			err = ar.WriteCSV(w)
		case "html":
			err = ar.WriteHTML(w)
		}
		if err != nil {
			return fmt.Errorf("--out : écrire l'archive : %w", err)
		}
		return nil
	}, func() error { return record(evidence) })
	return evidence, err
}

// writeFileAtomically writes a file beside its destination, runs done once it is on disk, then
// renames it into place: a refused or failed write leaves no partial file behind.
func writeFileAtomically(out string, write func(io.Writer) error, done func() error) error {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("--out : %w", err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--out : %w", cerr)
	}
	if err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("--out : %w", err)
	}
	return nil
}

// rightsErase erases a person (art. 17) in one transaction, after a confirmation unless --yes,
// and prints the certificate: what was deleted, what the law keeps and until when, the evidence.
func rightsErase(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("rights", e, &cfg)
	person := fs.Int64("person", 0, "the person's number (required)")
	request := fs.Int64("request", 0, "the person's open erasure request, closed with the certificate's evidence")
	yes := fs.Bool("yes", false, "do not ask for confirmation on standard input")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if err := checkPerson(*person); err != nil {
		return err
	}
	if *request < 0 {
		return errors.New("--request : un numéro de demande positif est attendu")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if !*yes {
		ok, err := confirm(e.stdin, e.stdout, fmt.Sprintf("effacer la personne %d ? (oui/non) ", *person))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("effacement annulé : rien n'a été modifié (répondez « oui » pour confirmer, ou donnez --yes)")
		}
	}
	fmt.Fprintf(e.stdout, "effacement de la personne %d…\n", *person)
	cert, err := a.Rights.Erase(ctx, cliDPO, *person, *request)
	if err != nil {
		return personError(err, *person, *request)
	}
	var rows int64
	for _, n := range cert.Deleted {
		rows += n
	}
	e.log.Info("rights erase", "tables", len(cert.Deleted), "rows_deleted", rows, "records_kept", len(cert.Kept))
	printCertificate(e.stdout, cert, *request)
	return nil
}

func printCertificate(w io.Writer, cert *rights.Certificate, request int64) {
	fmt.Fprintf(w, "personne %d effacée le %s UTC\n", cert.PersonID, cert.ErasedAt.UTC().Format("02/01/2006 15:04:05"))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "supprimé :")
	for _, table := range slices.Sorted(maps.Keys(cert.Deleted)) {
		fmt.Fprintf(tw, "  %s\t%d ligne(s)\n", table, cert.Deleted[table])
	}
	if len(cert.Kept) == 0 {
		fmt.Fprintln(tw, "conservé : rien")
	} else {
		fmt.Fprintln(tw, "conservé par obligation légale (art. 17(3)(b)), dans l'archive, sous une nouvelle clé :")
		for _, k := range cert.Kept {
			fmt.Fprintf(tw, "  %s %d\t%s\tjusqu'au %s\t%s\n", k.Table, k.ID, k.Label, k.Until.UTC().Format("02/01/2006"), k.Reason)
		}
	}
	tw.Flush()
	if cert.KeyDestroyed {
		fmt.Fprintln(w, "clé de chiffrement de la personne détruite : ses données, sauvegardes comprises, sont illisibles")
	}
	fmt.Fprintln(w, "fiche de la personne conservée vidée de ses données ; ses demandes gardent leurs dates et leur type, pas leurs textes")
	fmt.Fprintf(w, "preuve (SHA-256 du certificat, dans le journal d'audit) : %s\n", cert.Evidence)
	if request != 0 {
		fmt.Fprintf(w, "demande %d close avec cette preuve\n", request)
	}
}

// checkPerson refuses a missing or invalid --person.
func checkPerson(id int64) error {
	switch {
	case id == 0:
		return errors.New("--person est obligatoire : le numéro de la personne")
	case id < 0:
		return fmt.Errorf("--person %d : un numéro de personne positif est attendu", id)
	}
	return nil
}

// personError names the flag a refusal of the rights service is about.
func personError(err error, person, request int64) error {
	var ie *rights.InputError
	switch {
	case errors.As(err, &ie) && ie.Field == "request_id":
		return fmt.Errorf("--request %d : %s (règle %s) ; rien n'a été modifié", request, ie.Message, ie.Rule)
	case errors.Is(err, rights.ErrUnknownPerson), errors.Is(err, rights.ErrErased), errors.Is(err, rights.ErrLegalHold):
		return fmt.Errorf("--person %d : %w ; rien n'a été modifié", person, err)
	}
	return err
}

// confirm asks a question on out and reads the answer on in: only "oui" (or "o") confirms.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("lire la confirmation : %w", err)
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "oui" || answer == "o", nil
}
