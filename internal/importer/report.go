package importer

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Report says what an import kept, dropped and why, with counts. It names columns, fields, rules
// and line numbers, never a cell's value.
type Report struct {
	DryRun    bool   `json:"dry_run"`
	Purpose   string `json:"purpose"`
	Delimiter string `json:"delimiter"`
	// BOM is set when a UTF-8 byte-order mark was found and skipped.
	BOM bool `json:"bom"`
	// Now is the day the retention periods were counted back from (AAAA-MM-JJ).
	Now string `json:"now"`
	// Rows counts the records read after the header, unreadable ones included.
	Rows         int64 `json:"rows"`
	Persons      int64 `json:"persons"`
	Quotes       int64 `json:"quotes"`
	Interactions int64 `json:"interactions"`
	// Rejected counts the rows left out because they are broken or invalid; RejectedRows lists
	// the first of them.
	Rejected     int64       `json:"rejected"`
	RejectedRows []Rejection `json:"rejected_rows"`
	// Expired counts the prospects past their retention (R33), ExpiredQuotes the quotes without
	// contract past theirs (R34); none of them is imported.
	Expired       int64 `json:"expired"`
	ExpiredQuotes int64 `json:"expired_quotes"`
	// Suppressed counts the persons on the suppression list (R28), not imported.
	Suppressed int64 `json:"suppressed"`
	// Duplicates counts the rows whose e-mail or phone is that of a person already in Vigie or of
	// an earlier row of the file: not imported, so that no one is in Vigie twice. DuplicateRows
	// lists the first of them.
	Duplicates    int64          `json:"duplicates"`
	DuplicateRows []Duplicate    `json:"duplicate_rows"`
	Retention     []RetentionCut `json:"retention"`
	Columns       []ColumnReport `json:"columns"`
	// DroppedCells counts the cells left out of rows that were imported without them.
	DroppedCells []CellCount `json:"dropped_cells"`
	Seconds      float64     `json:"seconds"`
}

// Rejection is a row left out: its line, and the field and rule it failed (never its value).
type Rejection struct {
	Line   int64  `json:"line"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Duplicate is a row left out as a doublon: its line, the field it shares (persons.email or
// persons.phone), and the line of the row of the file it repeats, or 0 when it repeats a person
// already in Vigie.
type Duplicate struct {
	Line      int64  `json:"line"`
	Field     string `json:"field"`
	FirstLine int64  `json:"first_line,omitempty"`
}

// RetentionCut is a retention rule as the import applied it.
type RetentionCut struct {
	Rule   string `json:"rule"`
	Code   string `json:"code"`
	Months int    `json:"months"`
	Before string `json:"before"`
	Then   string `json:"then"`
}

// ColumnReport is the fate of one column of the file.
type ColumnReport struct {
	Index  int    `json:"index"`
	Header string `json:"header"`
	Field  string `json:"field,omitempty"`
	Kept   bool   `json:"kept"`
	Reason string `json:"reason,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// CellCount counts the cells of one column dropped for one reason.
type CellCount struct {
	Header string `json:"header"`
	Field  string `json:"field"`
	Kind   string `json:"kind"`
	Rule   string `json:"rule"`
	Count  int64  `json:"count"`
}

// rejectedListLimit bounds the rejected rows a report lists; the count stays exact.
const rejectedListLimit = 100

func (r *Report) reject(p Rejection) {
	r.Rejected++
	if len(r.RejectedRows) < rejectedListLimit {
		r.RejectedRows = append(r.RejectedRows, p)
	}
}

func (r *Report) duplicate(d Duplicate) {
	r.Duplicates++
	if len(r.DuplicateRows) < rejectedListLimit {
		r.DuplicateRows = append(r.DuplicateRows, d)
	}
}

// sortCells orders the dropped cells by column, then by count.
func (r *Report) sortCells() {
	slices.SortFunc(r.DroppedCells, func(a, b CellCount) int {
		return cmp.Or(cmp.Compare(a.Header, b.Header), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind))
	})
}

// WriteText prints the report in French.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	title := "Import de l'ancien CRM — rapport"
	if r.DryRun {
		title += " (simulation : rien n'a été écrit)"
	}
	fmt.Fprintln(tw, title)
	bom := ""
	if r.BOM {
		bom = " ; marque d'ordre d'octets UTF-8 (BOM) retirée"
	}
	fmt.Fprintf(tw, "Finalité de la collecte : %s ; canal : import ; délimiteur %s%s\n", r.Purpose, delimLabel(r.Delimiter), bom)
	fmt.Fprintf(tw, "Durées de conservation comptées au %s\n\n", r.Now)
	done := map[bool][2]string{false: {"importées", "importés"}, true: {"à importer", "à importer"}}[r.DryRun]
	fmt.Fprintf(tw, "Lignes lues\t%d\t\n", r.Rows)
	fmt.Fprintf(tw, "Personnes %s\t%d\t\n", done[0], r.Persons)
	fmt.Fprintf(tw, "Devis %s\t%d\t\n", done[1], r.Quotes)
	fmt.Fprintf(tw, "Notes d'interaction %s\t%d\t\n", done[0], r.Interactions)
	fmt.Fprintf(tw, "Lignes rejetées\t%d\t%s\n", r.Rejected, lines(r.RejectedRows, r.Rejected))
	for _, c := range r.Retention {
		n, what := r.Expired, "Prospects expirés"
		if c.Rule == "R34" {
			n, what = r.ExpiredQuotes, "Devis sans contrat expirés"
		}
		fmt.Fprintf(tw, "%s (%s : %s, %d mois)\t%d\tnon importés : antérieurs au %s (fin de vie : %s)\n", what, c.Rule, c.Code, c.Months, n, c.Before, c.Then)
	}
	fmt.Fprintf(tw, "Personnes opposées ou effacées (R28)\t%d\tnon importées (liste d'opposition)\n", r.Suppressed)
	fmt.Fprintf(tw, "Doublons\t%d\tnon importés : même e-mail ou même numéro qu'une personne déjà dans Vigie ou qu'une ligne précédente\n", r.Duplicates)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "Colonnes conservées")
	for _, c := range r.Columns {
		if c.Kept {
			fmt.Fprintf(tw, "  %s\t→ %s\n", c.Header, c.Field)
		}
	}
	fmt.Fprintln(tw, "Colonnes écartées (R07)")
	for _, c := range r.Columns {
		if !c.Kept {
			fmt.Fprintf(tw, "  %s\t%s (%s)\t%s\n", c.Header, c.Reason, c.Rule, oneLine(c.Detail))
		}
	}
	if len(r.DroppedCells) > 0 {
		fmt.Fprintln(tw, "\nCellules écartées (la ligne est importée sans elles)")
		for _, c := range r.DroppedCells {
			fmt.Fprintf(tw, "  %s\t%s (%s)\t%d\n", c.Header, c.Kind, c.Rule, c.Count)
		}
	}
	if len(r.RejectedRows) > 0 {
		fmt.Fprintf(tw, "\nLignes rejetées (%d premières)\n", len(r.RejectedRows))
		for _, p := range r.RejectedRows {
			field := ""
			if p.Field != "" {
				field = p.Field + " : "
			}
			fmt.Fprintf(tw, "  ligne %d\t%s%s (%s)\n", p.Line, field, p.Reason, p.Rule)
		}
	}
	if len(r.DuplicateRows) > 0 {
		fmt.Fprintf(tw, "\nDoublons (%d premiers)\n", len(r.DuplicateRows))
		for _, d := range r.DuplicateRows {
			of := "personne déjà dans Vigie"
			if d.FirstLine > 0 {
				of = fmt.Sprintf("doublon de la ligne %d", d.FirstLine)
			}
			fmt.Fprintf(tw, "  ligne %d\t%s : %s\n", d.Line, d.Field, of)
		}
	}
	if r.Seconds > 0 {
		fmt.Fprintf(tw, "\nDurée : %.1f s (%.0f lignes/s)\n", r.Seconds, float64(r.Rows)/r.Seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The padding of the last column would end lines with spaces.
	for line := range bytes.Lines(b.Bytes()) {
		if _, err := w.Write(append(bytes.TrimRight(line, " \n"), '\n')); err != nil {
			return err
		}
	}
	return nil
}

func delimLabel(d string) string {
	if d == "\t" {
		return "« tabulation »"
	}
	return "« " + d + " »"
}

// lines lists the first line numbers of rejected rows.
func lines(rows []Rejection, total int64) string {
	if len(rows) == 0 {
		return ""
	}
	const shown = 10
	parts := make([]string, 0, shown)
	for _, p := range rows[:min(len(rows), shown)] {
		parts = append(parts, strconv.FormatInt(p.Line, 10))
	}
	more := ""
	if total > int64(len(parts)) {
		more = fmt.Sprintf(" et %d autre(s)", total-int64(len(parts)))
	}
	return "ligne(s) " + strings.Join(parts, ", ") + more
}

// oneLine keeps a reason on its line of the table.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
