package web

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"vigie/docs/guides"
)

// The help pages (/aide): the French guides of docs/guides, one per role, rendered from their
// Markdown on the server, with their screenshots served from the embedded copy of
// docs/guides/img. The converter below knows only the subset the guides use — headings,
// paragraphs, numbered and bulleted lists, images, links, bold, code spans and fenced code — and
// escapes every character of text it copies: a guide cannot put markup, a script or an event
// handler into the page, and a link or an image can only lead to a guide, an anchor, an image of
// the guides or an https address.

// guideTemplates are the pages of this file, parsed with the layout.
var guideTemplates = []string{"guides", "guide"}

func (s *server) parseGuideTemplates() error {
	for _, name := range guideTemplates {
		t, err := template.New(name).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	var err error
	s.guides, err = renderGuides()
	return err
}

// guideRoutes adds the help pages to the route table: every staff member may read every guide.
func (s *server) guideRoutes(mux *http.ServeMux) {
	mux.Handle("GET /aide", s.staff(s.helpIndex))
	mux.Handle("GET /aide/img/{name}", s.staff(s.helpImage))
	mux.Handle("GET /aide/{role}", s.staff(s.helpGuide))
}

// guideDoc is a guide rendered to HTML.
type guideDoc struct {
	guides.Guide
	Title string
	// Lead is the guide's first paragraph; Body everything after its title.
	Lead, Body template.HTML
	// Sections are its level-2 headings, the tasks it explains.
	Sections []guideHeading
}

type guideHeading struct{ ID, Text string }

// renderGuides renders every guide, once when the server starts: they are embedded, so they never
// change while Vigie runs.
func renderGuides() (map[string]*guideDoc, error) {
	docs := map[string]*guideDoc{}
	for _, g := range guides.All {
		src, err := fs.ReadFile(guides.FS(), g.Slug+".md")
		if err != nil {
			return nil, fmt.Errorf("web: guide %s: %w", g.Slug, err)
		}
		d := renderGuide(string(src))
		d.Guide = g
		if d.Title == "" {
			return nil, fmt.Errorf("web: guide %s has no title (# …)", g.Slug)
		}
		docs[g.Slug] = d
	}
	return docs, nil
}

type helpEntry struct {
	*guideDoc
	DepartmentName string
	Own            bool
}

// helpEntry is a guide as the reader sees it: whose it is, and whether it is the reader's own.
func (s *server) helpEntry(d *guideDoc, st *session) helpEntry {
	e := helpEntry{guideDoc: d, Own: d.Department == st.User.Department}
	if dep, ok := s.dict.Department(d.Department); ok {
		e.DepartmentName = dep.Name
	}
	return e
}

// helpIndex lists the guides, the reader's own first.
func (s *server) helpIndex(w http.ResponseWriter, r *http.Request, st *session) {
	var entries []helpEntry
	for _, g := range guides.All {
		entries = append(entries, s.helpEntry(s.guides[g.Slug], st))
	}
	slices.SortStableFunc(entries, func(a, b helpEntry) int {
		switch {
		case a.Own == b.Own:
			return 0
		case a.Own:
			return -1
		}
		return 1
	})
	s.render(w, r, st, http.StatusOK, "guides", "Aide", entries)
}

// helpGuide shows one guide.
func (s *server) helpGuide(w http.ResponseWriter, r *http.Request, st *session) {
	d, ok := s.guides[r.PathValue("role")]
	if !ok {
		s.notFound(w, r, st)
		return
	}
	s.render(w, r, st, http.StatusOK, "guide", d.Title, s.helpEntry(d, st))
}

var guideImageName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.png$`)

// helpImage serves a screenshot of the guides. They show demo data only, so a browser may keep
// them a while.
func (s *server) helpImage(w http.ResponseWriter, r *http.Request, st *session) {
	name := r.PathValue("name")
	if !guideImageName.MatchString(name) {
		s.notFound(w, r, st)
		return
	}
	b, err := fs.ReadFile(guides.FS(), "img/"+name)
	if err != nil {
		s.notFound(w, r, st)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// --- The Markdown subset ----------------------------------------------------------------------

var (
	mdHeading   = regexp.MustCompile(`^(#{1,3})\s+(.+)$`)
	mdOrdered   = regexp.MustCompile(`^(\d{1,3})\.\s+(.*)$`)
	mdBullet    = regexp.MustCompile(`^[-*]\s+(.*)$`)
	mdImageLine = regexp.MustCompile(`^!\[([^\]]*)\]\(([^()\s]*)\)$`)
	mdGuideLink = regexp.MustCompile(`^([a-z]+)\.md(#[a-z0-9-]+)?$`)
	mdImageSrc  = regexp.MustCompile(`^img/([a-z0-9][a-z0-9-]*\.png)$`)
)

// renderGuide converts a guide's Markdown: its first level-1 heading is the title, the paragraph
// after it the lead, the rest the body.
func renderGuide(src string) *guideDoc {
	d := &guideDoc{}
	var b bytes.Buffer
	var para []string
	var items []string
	list, start := "", 1
	flushPara := func() {
		if len(para) == 0 {
			return
		}
		text := inlineMarkdown(strings.Join(para, " "))
		para = nil
		if d.Title != "" && d.Lead == "" && b.Len() == 0 {
			d.Lead = template.HTML(text)
			return
		}
		b.WriteString("<p>" + text + "</p>\n")
	}
	flushList := func() {
		if list == "" {
			return
		}
		if list == "ol" && start != 1 {
			fmt.Fprintf(&b, "<ol start=\"%d\">\n", start)
		} else {
			b.WriteString("<" + list + ">\n")
		}
		for _, it := range items {
			b.WriteString("<li>" + inlineMarkdown(it) + "</li>\n")
		}
		b.WriteString("</" + list + ">\n")
		list, items = "", nil
	}
	itemKind := func(line string) string {
		switch {
		case mdOrdered.MatchString(line):
			return "ol"
		case mdBullet.MatchString(line):
			return "ul"
		}
		return ""
	}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flushPara()
			flushList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trimmed == "":
			flushPara()
			if list != "" {
				j := i + 1
				for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
					j++
				}
				if j < len(lines) && itemKind(lines[j]) == list {
					continue
				}
				flushList()
			}
		case mdHeading.MatchString(line):
			flushPara()
			flushList()
			m := mdHeading.FindStringSubmatch(line)
			text := strings.TrimSpace(m[2])
			if len(m[1]) == 1 {
				if d.Title == "" {
					d.Title = plainMarkdown(text)
				}
				continue
			}
			id := headingID(plainMarkdown(text))
			if len(m[1]) == 2 {
				d.Sections = append(d.Sections, guideHeading{ID: id, Text: plainMarkdown(text)})
			}
			fmt.Fprintf(&b, "<h%d id=\"%s\">%s</h%d>\n", len(m[1]), id, inlineMarkdown(text), len(m[1]))
		case mdImageLine.MatchString(trimmed) && list == "":
			flushPara()
			m := mdImageLine.FindStringSubmatch(trimmed)
			b.WriteString("<figure class=\"shot\">" + imageHTML(m[1], m[2]) + "</figure>\n")
		case itemKind(line) != "":
			flushPara()
			kind := itemKind(line)
			if kind != list {
				flushList()
				list = kind
			}
			if kind == "ol" {
				m := mdOrdered.FindStringSubmatch(line)
				if len(items) == 0 {
					start, _ = strconv.Atoi(m[1])
				}
				items = append(items, m[2])
			} else {
				items = append(items, mdBullet.FindStringSubmatch(line)[1])
			}
		case list != "" && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			items[len(items)-1] += " " + trimmed
		default:
			flushList()
			para = append(para, trimmed)
		}
	}
	flushPara()
	flushList()
	d.Body = template.HTML(b.String())
	return d
}

// inlineMarkdown renders code spans, bold, links and images of one block, escaping all the rest.
func inlineMarkdown(s string) string {
	var b strings.Builder
	text := func(t string) { b.WriteString(html.EscapeString(t)) }
	for len(s) > 0 {
		switch {
		case s[0] == '`':
			if end := strings.IndexByte(s[1:], '`'); end >= 0 {
				b.WriteString("<code>" + html.EscapeString(s[1:1+end]) + "</code>")
				s = s[end+2:]
				continue
			}
		case strings.HasPrefix(s, "**"):
			if end := strings.Index(s[2:], "**"); end > 0 {
				b.WriteString("<strong>" + inlineMarkdown(s[2:2+end]) + "</strong>")
				s = s[end+4:]
				continue
			}
		case strings.HasPrefix(s, "!["):
			if label, target, rest, ok := linkParts(s[1:]); ok {
				b.WriteString(imageHTML(label, target))
				s = rest
				continue
			}
		case s[0] == '[':
			if label, target, rest, ok := linkParts(s); ok {
				b.WriteString(linkHTML(label, target))
				s = rest
				continue
			}
		}
		// Plain text up to the next character that may open a span.
		next := strings.IndexAny(s[1:], "`*![")
		if next < 0 {
			text(s)
			break
		}
		text(s[:1+next])
		s = s[1+next:]
	}
	return b.String()
}

// linkParts splits "[label](target)rest"; a target has no space nor parenthesis.
func linkParts(s string) (label, target, rest string, ok bool) {
	close := strings.Index(s, "](")
	if !strings.HasPrefix(s, "[") || close < 0 {
		return "", "", "", false
	}
	end := strings.IndexByte(s[close+2:], ')')
	if end < 0 {
		return "", "", "", false
	}
	label, target = s[1:close], s[close+2:close+2+end]
	if strings.ContainsAny(target, " \t()") || strings.Contains(label, "[") {
		return "", "", "", false
	}
	return label, target, s[close+3+end:], true
}

// linkHTML keeps a link only to another guide (rewritten to its page), an anchor of this one or an
// https address. A link to another file of the repository becomes its label and path, as text.
func linkHTML(label, target string) string {
	inner := inlineMarkdown(label)
	switch {
	case strings.HasPrefix(target, "#") && headingID(target[1:]) == target[1:]:
		return `<a href="` + html.EscapeString(target) + `">` + inner + `</a>`
	case strings.HasPrefix(target, "https://"):
		return `<a href="` + html.EscapeString(target) + `">` + inner + `</a>`
	case mdGuideLink.MatchString(target):
		m := mdGuideLink.FindStringSubmatch(target)
		if _, ok := guides.Find(m[1]); ok {
			return `<a href="/aide/` + m[1] + html.EscapeString(m[2]) + `">` + inner + `</a>`
		}
	}
	if !strings.Contains(target, ":") && strings.HasSuffix(strings.SplitN(target, "#", 2)[0], ".md") {
		file := path.Clean(path.Join("docs/guides", strings.SplitN(target, "#", 2)[0]))
		return inner + ` (fichier <code>` + html.EscapeString(file) + `</code> du dépôt)`
	}
	return inner
}

// imageHTML shows a screenshot of the guides; any other image is replaced by its description.
func imageHTML(alt, src string) string {
	m := mdImageSrc.FindStringSubmatch(src)
	if m == nil {
		return html.EscapeString(alt)
	}
	return `<img src="/aide/img/` + m[1] + `" alt="` + html.EscapeString(alt) + `" loading="lazy">`
}

// plainMarkdown is a heading's text without its markup, for its anchor and the table of contents.
func plainMarkdown(s string) string {
	return strings.NewReplacer("**", "", "`", "").Replace(s)
}

var headingFold = strings.NewReplacer("à", "a", "â", "a", "ä", "a", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "œ", "oe", "æ", "ae")

// headingID is a heading's anchor: "Répondre à une demande d'accès" → "repondre-a-une-demande-d-acces".
func headingID(s string) string {
	s = headingFold.Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}
