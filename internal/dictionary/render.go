package dictionary

// The printed "Dictionnaire de données — Base client" (DESIGN §4, seed 002 §4): the same document
// in Markdown (for the repository and the evidence pack) and in standalone HTML (for the DPO, on
// screen or on paper). Both are rendered from one French view of the dictionary, so that they
// always say the same thing, and both are deterministic: the same dictionary gives the same bytes.

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

// The two internal tables that hold no business data of their own but make encryption and search
// work; the printed dictionary says what they are.
const (
	searchIndexTable = "search_index"
	subjectKeysTable = "subject_keys"
)

var actionNames = map[string]string{
	"delete":    "suppression",
	"anonymise": "anonymisation",
	"archive":   "archivage",
	"renew":     "demande de renouvellement",
	"keep":      "conservation",
}

var categoryNames = map[string]string{
	"identity":     "identité",
	"contact":      "contact",
	"vehicle":      "véhicule",
	"driver":       "conducteur",
	"pricing":      "tarification",
	"contract":     "contrat",
	"relationship": "relation commerciale",
	"free_text":    "texte libre",
	"statistical":  "statistique",
	"staff":        "personnel",
	"technical":    "technique",
}

var formatNames = map[string]string{
	"email":            "adresse e-mail",
	"phone_fr":         "numéro de téléphone français (métropole et outre-mer)",
	"postal_code":      "code postal français",
	"departement":      "code de département (2A, 2B et outre-mer compris)",
	"plate":            "immatriculation SIV (AB-123-CD) ou FNI",
	"name":             "lettres, espaces, traits d'union et apostrophes",
	"birth_date_adult": "date de naissance, 18 ans révolus",
	"past_date":        "date passée",
	"past_time":        "date et heure passées",
	"not_future_year":  "année au plus égale à l'an prochain",
}

var rowRuleNames = map[string]string{
	"purpose":      "chaque service ne voit que les lignes de ses propres finalités",
	"not_archived": "les lignes archivées ne sont visibles que du DPO, sur justification écrite",
}

func frenchOr(m map[string]string, code string) string {
	if s, ok := m[code]; ok {
		return s
	}
	return code
}

// docView is the dictionary as the printed document says it, in French.
type docView struct {
	Title, Version, Supersedes string
	Departments                []deptView
	Purposes                   []purposeView
	Retention                  []retentionView
	Tables                     []tableView
}

type deptView struct{ Code, Name, Purposes string }

type purposeView struct{ Code, Name, LegalBasis, Departments string }

type retentionView struct{ Code, Keep, From, Then, Source string }

type tableView struct {
	Name, Label, Description, Anchor string
	Internal                         bool
	Nature                           string
	PersonColumn                     string
	Purposes, Read, Write            string
	Retention, EndOfLife, RowRules   string
	Columns                          []columnView
}

type columnView struct {
	Name, Label, Type, Key, Required, Personal, Encrypted, Searchable string
	Category, Purposes, Read, Write, Retention, EndOfLife             string
	Notes                                                             []string
}

func list(codes []string, empty string) string {
	if len(codes) == 0 {
		return empty
	}
	return strings.Join(codes, ", ")
}

func yesNo(b bool) string {
	if b {
		return "oui"
	}
	return "non"
}

func (d *Dictionary) view() docView {
	v := docView{Title: d.Title, Version: d.Version, Supersedes: d.Supersedes}
	purposeName := map[string]string{}
	for _, p := range d.Purposes {
		purposeName[p.Code] = p.Name
	}
	for _, dep := range d.Departments {
		names := make([]string, len(dep.Purposes))
		for i, p := range dep.Purposes {
			names[i] = frenchOr(purposeName, p)
		}
		v.Departments = append(v.Departments, deptView{dep.Code, dep.Name, strings.Join(names, ", ")})
	}
	for _, p := range d.Purposes {
		var depts []string
		for _, dep := range d.Departments {
			for _, dp := range dep.Purposes {
				if dp == p.Code {
					depts = append(depts, dep.Code)
				}
			}
		}
		v.Purposes = append(v.Purposes, purposeView{p.Code, p.Name, p.LegalBasis, list(depts, "aucun")})
	}
	retention := map[string]Retention{}
	for _, r := range d.Retention {
		retention[r.Code] = r
		v.Retention = append(v.Retention, retentionView{r.Code, r.Keep, r.From, frenchOr(actionNames, r.Then), r.Source})
	}
	keepOf := func(code string) string {
		if r, ok := retention[code]; ok {
			return code + " : " + r.Keep
		}
		return code
	}
	for _, t := range d.Tables {
		tv := tableView{
			Name: t.Name, Label: t.Label, Description: t.Description, Anchor: "table-" + t.Name,
			Internal: t.Internal, Nature: d.nature(t), PersonColumn: t.PersonColumn,
			Purposes: list(t.Purposes, "aucune"), Read: list(t.Read, "aucun service"), Write: list(t.Write, "aucun service"),
			EndOfLife: frenchOr(actionNames, t.EndOfLife),
		}
		if r, ok := retention[t.Retention]; ok {
			tv.Retention = fmt.Sprintf("%s — %s, à compter de : %s ; source : %s", r.Code, r.Keep, r.From, r.Source)
		} else {
			tv.Retention = t.Retention
		}
		var rules []string
		for _, rr := range t.RowRules {
			rules = append(rules, frenchOr(rowRuleNames, rr))
		}
		tv.RowRules = strings.Join(rules, " ; ")
		for _, c := range t.Columns {
			tv.Columns = append(tv.Columns, columnOf(t, c, keepOf))
		}
		v.Tables = append(v.Tables, tv)
	}
	return v
}

// nature says in a few words what a table is; for the two internal tables that make encryption
// and search work it lists what they serve, read from the dictionary itself.
func (d *Dictionary) nature(t *Table) string {
	switch {
	case t.Name == searchIndexTable:
		var cols []string
		for _, other := range d.Tables {
			for _, c := range other.Columns {
				switch c.Searchable {
				case "exact":
					cols = append(cols, c.Ref+" (valeur exacte)")
				case "tokens":
					cols = append(cols, c.Ref+" (mots)")
				}
			}
		}
		return "interne — index aveugle : empreintes HMAC à clé de " + list(cols, "aucune colonne") +
			" ; aucune valeur n'y est stockée en clair"
	case t.Name == subjectKeysTable:
		n := 0
		for _, other := range d.Tables {
			for _, c := range other.Columns {
				if c.Encrypted {
					n++
				}
			}
		}
		return fmt.Sprintf("interne — clé de données de chaque personne, chiffrée par la clé maîtresse ; elle protège les %d colonnes chiffrées ; la détruire rend la personne illisible dans toutes les copies, sauvegardes comprises", n)
	case t.Internal:
		return "interne — jamais exposée par l'API ni par l'interface"
	}
	for _, c := range t.Columns {
		if c.Personal {
			return "données personnelles"
		}
	}
	return "données sans caractère personnel"
}

func columnOf(t *Table, c *Column, keepOf func(string) string) columnView {
	cv := columnView{
		Name: c.Name, Label: c.Label, Type: c.Type, Key: "—",
		Required:  yesNo(!c.Nullable() || c.PrimaryKey()),
		Personal:  yesNo(c.Personal),
		Encrypted: yesNo(c.Encrypted),
		Category:  frenchOr(categoryNames, c.Category),
		Purposes:  list(c.Purposes, "aucune"),
		Read:      list(c.Read, "aucun service"),
		Write:     list(c.Write, "aucun service"),
		Retention: keepOf(c.RetentionRule),
		EndOfLife: frenchOr(actionNames, c.EndOfLife),
	}
	switch {
	case c.PrimaryKey():
		cv.Key = "primaire"
	case c.Key == "unique":
		cv.Key = "unique"
	default:
		if table, col, ok := c.ForeignKey(); ok {
			cv.Key = "étrangère → " + table + "." + col
		}
	}
	switch c.Searchable {
	case "exact":
		cv.Searchable = "index aveugle HMAC (valeur exacte)"
	case "tokens":
		cv.Searchable = "index aveugle HMAC (mots)"
	default:
		cv.Searchable = "non"
	}
	if c.Encrypted {
		cv.Encrypted = "oui (AES-256-GCM)"
	}
	if t.Internal {
		cv.Read, cv.Write = "aucun service (interne)", "aucun service (interne)"
	} else if c.System {
		cv.Write = "aucun service (calculé par Vigie)"
	}
	if c.Description != "" {
		cv.Notes = append(cv.Notes, c.Description)
	}
	if c.Personal && !c.Encrypted && c.ClearReason != "" {
		cv.Notes = append(cv.Notes, "En clair : "+c.ClearReason+".")
	}
	if len(c.Values) > 0 {
		cv.Notes = append(cv.Notes, "Valeurs admises : "+strings.Join(c.Values, ", ")+".")
	}
	if c.Format != "" {
		cv.Notes = append(cv.Notes, "Format : "+frenchOr(formatNames, c.Format)+".")
	}
	if c.Min != nil || c.Max != nil {
		cv.Notes = append(cv.Notes, "Intervalle : de "+frenchBound(c.Min)+" à "+frenchBound(c.Max)+".")
	}
	if len(c.Default) > 0 {
		cv.Notes = append(cv.Notes, "Par défaut : "+strings.Trim(string(c.Default), `"`)+".")
	}
	if c.Immutable && !c.System {
		cv.Notes = append(cv.Notes, "Non modifiable après la création.")
	}
	return cv
}

func frenchBound(b *float64) string {
	if b == nil {
		return "∞"
	}
	return strings.Replace(strconv.FormatFloat(*b, 'f', -1, 64), ".", ",", 1)
}

var columnHeaders = []string{
	"Colonne", "Libellé", "Type SQL et taille", "Clé", "Obligatoire", "Personnelle", "Chiffrée",
	"Recherchable", "Catégorie", "Finalités", "Lecture (services)", "Écriture (services)",
	"Conservation", "Fin de vie", "Notes",
}

const intro = "Ce document est produit par Vigie à partir du dictionnaire exécutable embarqué dans le logiciel : " +
	"le contrôle d'accès, la validation des saisies, le chiffrement, les exports, les réponses aux demandes de droits " +
	"et le cycle de vie lisent ce même dictionnaire, et un test compare le schéma de la base à ce dictionnaire, " +
	"dans les deux sens (règle R01). Les codes des services et des finalités sont expliqués dans les deux premières sections. " +
	"Une colonne chiffrée l'est en AES-256-GCM sous la clé propre à la personne (table subject_keys) ; une colonne recherchable " +
	"ne l'est que par son empreinte HMAC à clé (table search_index), jamais par sa valeur."

// Markdown writes the dictionary as GitHub-flavoured Markdown.
func (d *Dictionary) Markdown(w io.Writer) error {
	v := d.view()
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	row := func(cells ...string) { p("| %s |\n", strings.Join(cells, " | ")) }
	head := func(cells ...string) {
		row(cells...)
		p("|%s\n", strings.Repeat("---|", len(cells)))
	}

	p("# %s\n\n", mdText(v.Title))
	p("**Version %s** — remplace : %s.\n\n", mdText(v.Version), mdText(v.Supersedes))
	p("%s\n\n", mdText(intro))

	p("## Services\n\n")
	head("Code", "Service", "Finalités")
	for _, dep := range v.Departments {
		row(mdCode(dep.Code), mdText(dep.Name), mdText(dep.Purposes))
	}
	p("\n## Finalités et bases légales\n\n")
	head("Code", "Finalité", "Base légale", "Services")
	for _, pu := range v.Purposes {
		row(mdCode(pu.Code), mdText(pu.Name), mdText(pu.LegalBasis), mdText(pu.Departments))
	}
	p("\n## Règles de conservation\n\n")
	head("Code", "Durée", "À compter de", "Puis", "Source")
	for _, r := range v.Retention {
		row(mdCode(r.Code), mdText(r.Keep), mdText(r.From), mdText(r.Then), mdText(r.Source))
	}
	p("\n## Tables\n\n")
	head("Table", "Libellé", "Nature", "Colonne de la personne", "Fin de vie")
	for _, t := range v.Tables {
		row("["+mdCode(t.Name)+"](#"+t.Anchor+")", mdText(t.Label), mdText(t.Nature), mdCodeOr(t.PersonColumn, "—"), mdText(t.EndOfLife))
	}
	for _, t := range v.Tables {
		internal := ""
		if t.Internal {
			internal = " (interne)"
		}
		p("\n<a id=\"%s\"></a>\n\n### %s — %s%s\n\n", t.Anchor, mdText(t.Label), mdCode(t.Name), internal)
		p("%s\n\n", mdText(t.Description))
		p("- **Table** : %s ; **colonne de la personne** : %s\n", mdCode(t.Name), mdCodeOr(t.PersonColumn, "aucune"))
		p("- **Nature** : %s\n", mdText(t.Nature))
		p("- **Finalités** : %s\n", mdText(t.Purposes))
		p("- **Lecture** : %s ; **écriture** : %s\n", mdText(t.Read), mdText(t.Write))
		if t.RowRules != "" {
			p("- **Filtrage des lignes** : %s\n", mdText(t.RowRules))
		}
		p("- **Conservation** : %s ; **fin de vie** : %s\n\n", mdText(t.Retention), mdText(t.EndOfLife))
		head(columnHeaders...)
		for _, c := range t.Columns {
			notes := make([]string, len(c.Notes))
			for i, n := range c.Notes {
				notes[i] = mdText(n)
			}
			row(mdCode(c.Name), mdText(c.Label), mdCode(c.Type), mdText(c.Key), c.Required, c.Personal, mdText(c.Encrypted),
				mdText(c.Searchable), mdText(c.Category), mdText(c.Purposes), mdText(c.Read), mdText(c.Write),
				mdText(c.Retention), mdText(c.EndOfLife), strings.Join(notes, "<br>"))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dictionary: write markdown: %w", err)
	}
	return nil
}

// mdText escapes text for a Markdown paragraph or table cell: the characters that would start
// emphasis, code, links or HTML, and the pipe that would split a cell. A line break would end
// the table row, so it becomes a space. Underscores are left alone: inside a word (every code of
// the dictionary: quote_no_contract) GitHub-flavoured Markdown never reads them as emphasis, and
// the source stays readable.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '|', '#':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes an identifier as a code span. Inside a GFM table a pipe still has to be escaped,
// even in code; a backtick in the text needs a longer fence.
func mdCode(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func mdCodeOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return mdCode(s)
}

//go:embed render.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("dictionary").Parse(htmlTemplateText))

// HTML writes the dictionary as one standalone, accessible, printable HTML page: no script, no
// external style, font or image.
func (d *Dictionary) HTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	data := struct {
		docView
		Intro   string
		Headers []string
	}{d.view(), intro, columnHeaders}
	if err := htmlTemplate.Execute(bw, data); err != nil {
		return fmt.Errorf("dictionary: write html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dictionary: write html: %w", err)
	}
	return nil
}
