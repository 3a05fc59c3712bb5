package dictionary_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"vigie/internal/dictionary"
)

func render(t *testing.T, d *dictionary.Dictionary) (md, html string) {
	t.Helper()
	var m, h bytes.Buffer
	if err := d.Markdown(&m); err != nil {
		t.Fatal(err)
	}
	if err := d.HTML(&h); err != nil {
		t.Fatal(err)
	}
	return m.String(), h.String()
}

// section returns the part of a document from the heading of a table to the next table.
func section(doc, start string, next string) string {
	i := strings.Index(doc, start)
	if i < 0 {
		return ""
	}
	rest := doc[i:]
	if next != "" {
		if j := strings.Index(rest, next); j > 0 {
			return rest[:j]
		}
	}
	return rest
}

// R01: the printed dictionary shows every table and every column, in both formats, each column
// in its own table's section, with the facts seed 002 §4 asks for.
func TestR01_RenderedDictionaryShowsEveryColumn(t *testing.T) {
	d := loadDict(t)
	md, html := render(t, d)
	for _, want := range []string{d.Title, "Version " + d.Version, d.Supersedes} {
		if !strings.Contains(md, want) || !strings.Contains(html, template(want)) {
			t.Errorf("header lacks %q", want)
		}
	}
	for i, tb := range d.Tables {
		next := ""
		nextHTML := ""
		if i+1 < len(d.Tables) {
			next = `<a id="table-` + d.Tables[i+1].Name + `">`
			nextHTML = `<section class="table" id="table-` + d.Tables[i+1].Name + `"`
		}
		mdSec := section(md, `<a id="table-`+tb.Name+`">`, next)
		htmlSec := section(html, `<section class="table" id="table-`+tb.Name+`"`, nextHTML)
		if mdSec == "" || htmlSec == "" {
			t.Errorf("%s: no section (markdown %t, html %t)", tb.Name, mdSec != "", htmlSec != "")
			continue
		}
		for _, want := range []string{tb.Label, "**Conservation** : " + tb.Retention} {
			if !strings.Contains(mdSec, want) {
				t.Errorf("%s: markdown section lacks %q", tb.Name, want)
			}
		}
		if tb.Internal && (!strings.Contains(mdSec, "(interne)") || !strings.Contains(htmlSec, `<span class="badge">interne</span>`)) {
			t.Errorf("%s: internal table not marked as such", tb.Name)
		}
		for _, c := range tb.Columns {
			if !strings.Contains(mdSec, "| `"+c.Name+"` | ") {
				t.Errorf("markdown: %s.%s missing from its table", tb.Name, c.Name)
			}
			if !strings.Contains(htmlSec, `<tr><th scope="row"><code>`+c.Name+`</code></th><td>`+template(c.Label)+`</td><td><code>`+template(c.Type)+`</code>`) {
				t.Errorf("html: %s.%s missing from its table", tb.Name, c.Name)
			}
		}
	}
	for _, want := range []string{
		"index aveugle HMAC (valeur exacte)", "index aveugle HMAC (mots)",
		"interne — index aveugle : empreintes HMAC à clé de persons.last_name (mots), persons.email (valeur exacte)",
		"interne — clé de données de chaque personne",
		"étrangère → persons.id", "En clair : ", "Valeurs admises : prospect, customer, former_customer.",
		"Format : adresse e-mail.", "Intervalle : de 0,5 à 3,5.", "anonymisation", "Code civil 2224",
	} {
		if !strings.Contains(md, want) || !strings.Contains(html, template(want)) {
			t.Errorf("rendering lacks %q (markdown %t, html %t)", want, strings.Contains(md, want), strings.Contains(html, template(want)))
		}
	}
}

// template escapes like html/template does for text, so that expectations can be written plainly.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// The HTML page stands alone and parses: every element closed in order, French, titled, with no
// script and no external resource.
func TestR01_RenderedHTMLIsStandaloneAndWellFormed(t *testing.T) {
	_, html := render(t, loadDict(t))
	if !strings.HasPrefix(html, "<!DOCTYPE html>\n<html lang=\"fr\">") {
		t.Errorf("not a French HTML5 document: %.60q", html)
	}
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the page depends on something outside it: %q", bad)
		}
	}
	dec := xml.NewDecoder(strings.NewReader(html))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var stack []string
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("HTML does not parse: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tk.Name.Local)
			counts[tk.Name.Local]++
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != tk.Name.Local {
				t.Fatalf("</%s> closes %v", tk.Name.Local, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements: %v", stack)
	}
	d := loadDict(t)
	// One table per dictionary table, plus services, purposes, retention and the overview.
	if counts["h1"] != 1 || counts["title"] != 1 || counts["main"] != 1 || counts["table"] != len(d.Tables)+4 || counts["caption"] != counts["table"] {
		t.Errorf("structure: %v", counts)
	}
}

// A pipe in a cell would split the Markdown table: it is escaped, and every row of every table
// keeps the same number of cells.
func TestR01_MarkdownEscapesPipes(t *testing.T) {
	doc := strings.Replace(string(dictionary.Raw()), `"label": "Nom"}`, `"label": "Nom | nom d'usage", "description": "Nom de famille | d'usage, *tel quel*"}`, 1)
	d, err := dictionary.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	md, html := render(t, d)
	if !strings.Contains(md, `Nom \| nom d'usage`) || !strings.Contains(md, `Nom de famille \| d'usage, \*tel quel\*`) {
		t.Fatalf("pipe not escaped:\n%s", section(md, "`last_name`", "\n"))
	}
	if !strings.Contains(html, "Nom | nom d&#39;usage") {
		t.Errorf("html changed the label")
	}
	unescaped := regexp.MustCompile(`(^|[^\\])\|`)
	cells := -1
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		n := len(unescaped.FindAllString(line, -1))
		if cells >= 0 && n != cells {
			t.Errorf("line %d has %d cell borders, the row above %d: %s", i+1, n, cells, line)
		}
		cells = n
	}
}

// The same dictionary always prints the same bytes.
func TestR01_RenderingIsDeterministic(t *testing.T) {
	d := loadDict(t)
	md1, html1 := render(t, d)
	for range 3 {
		md2, html2 := render(t, d)
		if md1 != md2 || html1 != html2 {
			t.Fatal("two renderings differ")
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestR01_RenderingReportsWriteErrors(t *testing.T) {
	d := loadDict(t)
	if err := d.Markdown(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("markdown: %v", err)
	}
	if err := d.HTML(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("html: %v", err)
	}
}
