package register

import (
	"encoding/csv"
	"io"
	"strings"
)

// CSVHeader is the CSV export's header: one line per field of a sheet, sheet after sheet.
var CSVHeader = []string{"Fiche", "Traitement", "Rubrique", "Champ", "Valeur", "Art. 30(1)"}

// WriteCSV writes the register's sheets for a French spreadsheet: UTF-8 with a byte-order mark,
// semicolons, CRLF line ends, every field quoted as needed (RFC 4180 otherwise). A value that a
// spreadsheet would take for a formula is prefixed with an apostrophe.
func WriteCSV(w io.Writer, v *Version) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, s := range v.Sheets() {
		for _, r := range s.Rows {
			point := ""
			if r.Art30 != "" {
				point = "(" + r.Art30 + ")"
			}
			if err := cw.Write([]string{s.Ref, cell(s.Name), cell(r.Section), cell(r.Field), cell(r.Value), point}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from evaluating a value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
