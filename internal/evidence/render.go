package evidence

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/phpdave11/gofpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Title is the report's title.
const Title = "Rapport de conformité RGPD — preuves"

//go:embed report.html.tmpl
var reportHTML string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"when":     func(t time.Time) string { return parisTime(t) },
	"duration": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(reportHTML))

// WriteHTML writes the report as a standalone page (no script, no outside resource).
func WriteHTML(w io.Writer, r *Report) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("evidence: write the HTML report: %w", err)
	}
	return nil
}

func parisTime(t time.Time) string {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		t = t.In(loc)
	}
	return t.Format("02/01/2006 15:04:05 MST")
}

const (
	pdfFont   = "go"
	pdfMargin = 15.0 // mm
	pdfLine   = 4.6  // mm
)

// WritePDF writes the report as an A4 PDF in the Go fonts (BSD licence), embedded so that every
// French character prints as written.
func WritePDF(w io.Writer, r *Report) error {
	pdf := gofpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", gobold.TTF)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfMargin+4)
	pdf.SetCompression(true)
	pdf.SetTitle(Title, true)
	pdf.SetAuthor(r.Controller, true)
	pdf.SetCreator("Vigie", true)
	pdf.SetCreationDate(r.At)
	pdf.SetModificationDate(r.At)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont(pdfFont, "", 7.5)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s — %s — page %d/{nb}", Title, parisTime(r.At), pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont(pdfFont, "B", 15)
	pdf.MultiCell(0, 7, Title, "", "L", false)
	pdf.SetFont(pdfFont, "", 9.5)
	pdf.MultiCell(0, pdfLine, fmt.Sprintf("Responsable du traitement : %s. Délégué à la protection des données : %s.", r.Controller, r.DPOEmail), "", "L", false)
	pdf.MultiCell(0, pdfLine, fmt.Sprintf("Produit le %s. Chaque constat ci-dessous vient d'un contrôle exécuté sur les données à cette date ; "+
		"%d contrôle(s) sur %d sont non conformes.", parisTime(r.At), r.Failed(), len(r.Results)), "", "L", false)
	pdf.Ln(3)
	for _, res := range r.Results {
		pdf.SetFont(pdfFont, "B", 10.5)
		if res.Passed() {
			pdf.SetTextColor(20, 100, 40)
		} else {
			pdf.SetTextColor(170, 20, 20)
		}
		pdf.MultiCell(0, 5.5, fmt.Sprintf("[%s] %s — %s", strings.ToUpper(res.Outcome), res.Title, res.Rule), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
		pdf.SetFont(pdfFont, "", 9)
		pdf.MultiCell(0, pdfLine, "Contrôle « "+res.ID+" » : "+res.Method, "", "L", false)
		for _, d := range res.Details {
			pdf.MultiCell(0, pdfLine, "• "+d, "", "L", false)
		}
		pdf.MultiCell(0, pdfLine, fmt.Sprintf("Exécuté le %s en %s.", parisTime(res.RanAt), res.Elapsed.Round(time.Millisecond)), "", "L", false)
		pdf.Ln(2.5)
	}
	pdf.SetFont(pdfFont, "B", 10.5)
	pdf.MultiCell(0, 5.5, "Demandes des personnes ouvertes, par délai restant", "", "L", false)
	pdf.SetFont(pdfFont, "", 9)
	for _, b := range r.Deadlines {
		pdf.MultiCell(0, pdfLine, fmt.Sprintf("• %s : %d", b.Label, b.N), "", "L", false)
	}
	pdf.Ln(2.5)
	pdf.SetFont(pdfFont, "B", 10.5)
	pdf.MultiCell(0, 5.5, "Consentements en vigueur, par finalité", "", "L", false)
	pdf.SetFont(pdfFont, "", 9)
	if len(r.Consents) == 0 {
		pdf.MultiCell(0, pdfLine, "Aucun consentement enregistré.", "", "L", false)
	}
	for _, c := range r.Consents {
		pdf.MultiCell(0, pdfLine, fmt.Sprintf("• %s : %d personne(s) consentent, %d ont refusé ou retiré leur consentement", c.Purpose, c.Granted, c.Withdrawn), "", "L", false)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("evidence: write the PDF report: %w", err)
	}
	return nil
}
