package register

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
)

//go:embed register.html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("register").Funcs(template.FuncMap{
	"join": func(list []string) string { return strings.Join(list, " ; ") },
}).Parse(htmlTemplate))

// Section is a titled group of a sheet's rows, as the HTML and PDF exports draw them.
type Section struct {
	Name string
	Rows []Row
}

// Sections groups a sheet's rows by section, in order.
func (s Sheet) Sections() []Section {
	var out []Section
	for _, r := range s.Rows {
		if len(out) == 0 || out[len(out)-1].Name != r.Section {
			out = append(out, Section{Name: r.Section})
		}
		out[len(out)-1].Rows = append(out[len(out)-1].Rows, r)
	}
	return out
}

type htmlView struct {
	*Register
	Version   *Version
	Generated string
	Sheets    []Sheet
	Legend    string
}

// WriteHTML writes the register as a standalone page: no script, no outside resource, printable
// (each sheet starts a page), in French.
func WriteHTML(w io.Writer, v *Version) error {
	return htmlPage.Execute(w, htmlView{Register: v.Register, Version: v, Generated: frenchTime(v.GeneratedAt), Sheets: v.Sheets(), Legend: legend()})
}

// legend explains the sheets' last column: the points of art. 30(1).
func legend() string {
	var points []string
	for _, p := range Art30 {
		points = append(points, "("+p.Letter+") "+p.Label)
	}
	return "La colonne « Art. 30 » de chaque fiche renvoie au point de l'article 30(1) du RGPD auquel le champ répond : " +
		strings.Join(points, " ; ") + "."
}
