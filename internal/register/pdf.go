package register

import (
	"fmt"
	"io"
	"strings"

	"github.com/phpdave11/gofpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// The PDF export draws the same sheets as the CSV and HTML ones with gofpdf, in the Go fonts
// (golang.org/x/image/font/gofont, BSD licence) embedded as UTF-8 TrueType fonts: they cover the
// whole of French (accents, œ, «», ’, —, €), so the file needs no font of the reader's and
// carries every character as written. Only the glyphs used are embedded.

const (
	pdfFont   = "go"
	pdfMargin = 15.0 // mm
	pdfLine   = 4.4  // mm, at 9 pt
	pdfPad    = 1.2  // mm inside a cell
	pdfLabelW = 50.0
	pdfArtW   = 16.0
)

// pdfWriter draws rows of cells that wrap their text and break pages between rows.
type pdfWriter struct {
	pdf           *gofpdf.Fpdf
	width, bottom float64
	// section is the section being drawn, repeated at the top of a page a row spills onto.
	section string
}

// WritePDF writes the register as an A4 PDF: a first page with the controller, the DPO, the
// version and the list of activities, then one sheet per activity, each starting a page.
func WritePDF(w io.Writer, v *Version) error {
	pdf := gofpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", gobold.TTF)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(false, pdfMargin)
	pdf.SetCompression(true)
	pdf.SetTitle(fmt.Sprintf("%s — version %d", Title, v.Number), true)
	pdf.SetAuthor(v.Register.Actors.Controller, true)
	pdf.SetCreator("Vigie", true)
	pdf.SetSubject("Article 30 du RGPD", true)
	pdf.SetCreationDate(v.GeneratedAt)
	pdf.SetModificationDate(v.GeneratedAt)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont(pdfFont, "", 7.5)
		pdf.SetTextColor(80, 80, 80)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s — version %d du %s — page %d/{nb}", Title, v.Number, frenchDate(v.GeneratedAt), pdf.PageNo()), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pageW, pageH := pdf.GetPageSize()
	pw := &pdfWriter{pdf: pdf, width: pageW - 2*pdfMargin, bottom: pageH - pdfMargin - 6}
	r := v.Register

	pdf.AddPage()
	pdf.SetFont(pdfFont, "B", 17)
	pdf.CellFormat(0, 9, Title, "", 1, "L", false, 0, "")
	pdf.SetFont(pdfFont, "", 9.5)
	pdf.CellFormat(0, 6, "Article 30 du règlement général sur la protection des données (RGPD) — modèle de la CNIL", "", 1, "L", false, 0, "")
	pdf.Ln(3)
	for _, f := range [][2]string{
		{"Organisme (responsable du traitement)", r.Actors.Controller},
		{"Coordonnées", r.Actors.Address},
		{"Délégué à la protection des données", r.Actors.DPO},
		{"Version", fmt.Sprintf("%d, générée le %s", v.Number, frenchTime(v.GeneratedAt))},
		{"Empreinte SHA-256", v.SHA256},
		{"Changements", v.Changes},
		{"Dictionnaire de données", "version " + r.Dictionary},
	} {
		pw.row([]string{f[0], f[1]}, []float64{pdfLabelW + 10, pw.width - pdfLabelW - 10}, false, "")
	}
	pdf.Ln(4)
	pw.heading("Activités de traitement")
	cols := []float64{20, 62, pw.width - 20 - 62 - 52, 52}
	pw.row([]string{"N° / réf.", "Activité", "Base légale", "Services"}, cols, true, "B")
	for _, a := range r.Activities {
		pw.row([]string{a.Ref, a.Name, a.LegalBasis, strings.Join(a.Departments, " ; ")}, cols, true, "")
	}
	pdf.Ln(3)
	pw.row([]string{legend()}, []float64{pw.width}, false, "")

	for _, s := range v.Sheets() {
		pdf.AddPage()
		pw.section = ""
		pdf.SetFont(pdfFont, "B", 13)
		pdf.MultiCell(0, 6.5, "Fiche "+s.Ref+" — "+s.Name, "", "L", false)
		pdf.Ln(2)
		valueW := pw.width - pdfLabelW - pdfArtW
		for _, sec := range s.Sections() {
			pw.heading(sec.Name)
			for _, row := range sec.Rows {
				art := ""
				if row.Art30 != "" {
					art = "art. 30 (" + row.Art30 + ")"
				}
				pw.row([]string{row.Field, row.Value, art}, []float64{pdfLabelW, valueW, pdfArtW}, true, "label")
			}
			pdf.Ln(2)
		}
	}
	return pdf.Output(w)
}

// heading draws a section's title bar, on a new page when too little room is left for a row.
func (pw *pdfWriter) heading(name string) {
	pdf := pw.pdf
	if pdf.GetY()+7+3*pdfLine > pw.bottom {
		pdf.AddPage()
	}
	pw.section = name
	pdf.SetFont(pdfFont, "B", 10)
	pdf.SetFillColor(31, 58, 95)
	pdf.SetTextColor(255, 255, 255)
	pdf.CellFormat(pw.width, 6.5, name, "", 1, "L", true, 0, "")
	pdf.SetTextColor(0, 0, 0)
}

// row draws one row of cells, each wrapping its text; bold is "B" for all cells, "label" for the
// first only. A row that does not fit starts a new page, under its section's title again.
func (pw *pdfWriter) row(cells []string, widths []float64, border bool, bold string) {
	pdf := pw.pdf
	lines := make([][]string, len(cells))
	height := 0.0
	for i, text := range cells {
		pw.font(bold, i)
		lines[i] = pw.wrap(text, widths[i]-2*pdfPad)
		height = max(height, float64(len(lines[i]))*pdfLine+2*pdfPad)
	}
	if pdf.GetY()+height > pw.bottom {
		pdf.AddPage()
		if sec := pw.section; sec != "" {
			pw.heading(sec + " (suite)")
			pw.section = sec
		}
	}
	x, y := pdf.GetX(), pdf.GetY()
	for i := range cells {
		if border {
			if i == 0 && bold == "label" {
				pdf.SetFillColor(240, 240, 240)
				pdf.Rect(x, y, widths[i], height, "FD")
			} else {
				pdf.Rect(x, y, widths[i], height, "D")
			}
		}
		pw.font(bold, i)
		for j, line := range lines[i] {
			pdf.SetXY(x+pdfPad, y+pdfPad+float64(j)*pdfLine)
			pdf.CellFormat(widths[i]-2*pdfPad, pdfLine, line, "", 0, "L", false, 0, "")
		}
		x += widths[i]
	}
	pdf.SetXY(pdfMargin, y+height)
}

func (pw *pdfWriter) font(bold string, cell int) {
	style := ""
	if bold == "B" || bold == "label" && cell == 0 {
		style = "B"
	}
	size := 9.0
	if bold == "label" && cell == 2 {
		size = 7.5
	}
	pw.pdf.SetFont(pdfFont, style, size)
}

// wrap cuts text into lines no wider than width in the current font, at spaces, and inside a word
// only when the word alone is wider.
func (pw *pdfWriter) wrap(text string, width float64) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			candidate := word
			if line != "" {
				candidate = line + " " + word
			}
			if pw.pdf.GetStringWidth(candidate) <= width {
				line = candidate
				continue
			}
			if line != "" {
				lines = append(lines, line)
			}
			line = word
			for pw.pdf.GetStringWidth(line) > width {
				cut := []rune(line)
				n := len(cut) - 1
				for n > 1 && pw.pdf.GetStringWidth(string(cut[:n])) > width {
					n--
				}
				lines = append(lines, string(cut[:n]))
				line = string(cut[n:])
			}
		}
		lines = append(lines, line)
	}
	return lines
}
