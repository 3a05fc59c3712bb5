package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"vigie/internal/auth"
	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// pageSize is the number of rows of a list page.
const pageSize = 50

type cell struct{ Text, Href string }

type tableView struct {
	Columns []string
	Rows    [][]cell
}

type option struct {
	Value, Label string
	Selected     bool
}

// --- Home -------------------------------------------------------------------------------------

type homeEntry struct {
	Label, Description, Href, NewHref, NewLabel string
}

type homeView struct {
	Department string
	Entries    []homeEntry
	// Statistics: the department works on anonymised statistics only (performance).
	Statistics bool
	Users      bool
	Audit      bool
	// Breaches are, for the DPO, the breaches whose notification is still owed, with their clocks.
	Breaches []breachLine
}

// home lists what the department may do, read from the dictionary.
func (s *server) home(w http.ResponseWriter, r *http.Request, st *session) {
	dept := st.User.Department
	v := homeView{Department: st.Department.Name}
	for _, res := range s.resources {
		if !res.t.CanRead(dept) {
			continue
		}
		e := homeEntry{Label: plural(res.t.Label), Description: res.t.Description, Href: "/" + res.Path}
		if res.t.CanWrite(dept) {
			e.NewHref, e.NewLabel = "/"+res.Path+"/nouveau", res.NewLabel
		}
		v.Entries = append(v.Entries, e)
	}
	if users := s.dict.Table("users"); users != nil && users.CanRead(dept) {
		v.Users = true
	}
	v.Statistics = slices.Contains(st.Actor.Purposes, "performance")
	v.Audit = dept == auditDepartment
	v.Breaches = s.breachClocks(r.Context(), st)
	s.render(w, r, st, http.StatusOK, "home", "Accueil", v)
}

// --- Lists ------------------------------------------------------------------------------------

type searchView struct {
	Fields []option
	Term   string
	Errors []string
	Active bool
	Count  int
}

type listView struct {
	Heading           string
	NewHref, NewLabel string
	Table             tableView
	Next              string
	Search            *searchView
	// Note explains the list (what a campaign list is made of); Tabs switch between its variants.
	Note string
	Tabs []navItem
	// Mailing is the form that sends an e-mail campaign, on the e-mail campaign list (consents.go).
	Mailing *mailingForm
}

// list shows a page of a table, keyset-paginated by id (?apres=ID).
func (s *server) list(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		after, _ := strconv.ParseInt(r.URL.Query().Get("apres"), 10, 64)
		recs, next, err := s.app.Records.List(r.Context(), st.Actor, res.Table, record.ListQuery{After: after, Limit: pageSize})
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		v := s.listView(res, st, recs)
		if next != 0 {
			v.Next = "/" + res.Path + "?apres=" + strconv.FormatInt(next, 10)
		}
		if res.Table == "persons" {
			v.Search = s.searchForm(st, "", "")
		}
		s.render(w, r, st, http.StatusOK, "list", v.Heading, v)
	}
}

func (s *server) listView(res *resource, st *session, recs []*record.Record) listView {
	v := listView{Heading: plural(res.t.Label), Table: s.table(res, st, recs, "")}
	if res.t.CanWrite(st.User.Department) {
		v.NewHref, v.NewLabel = "/"+res.Path+"/nouveau", res.NewLabel
	}
	return v
}

// searchForm offers the searchable fields of a person the department may read: searching a field
// it may not see would make the search an oracle (the store refuses it too).
func (s *server) searchForm(st *session, field, term string) *searchView {
	t := s.res["persons"].t
	v := &searchView{Term: term}
	for _, c := range t.Columns {
		if c.Searchable != "" && c.CanRead(st.User.Department) {
			v.Fields = append(v.Fields, option{Value: c.Name, Label: c.Label, Selected: c.Name == field})
		}
	}
	if len(v.Fields) == 0 {
		return nil
	}
	return v
}

// searchPersons finds persons by the exact email or phone, or by the words of the last name,
// through the blind index. It is a POST so that the term never appears in a URL, a browser
// history or a proxy log.
func (s *server) searchPersons(w http.ResponseWriter, r *http.Request, st *session) {
	res := s.res["persons"]
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, st, &record.ValidationError{Fields: []*dictionary.FieldError{{Field: "q", Rule: "form", Message: "formulaire illisible"}}})
		return
	}
	field, term := r.PostFormValue("champ"), r.PostFormValue("q")
	recs, err := s.app.Records.Search(r.Context(), st.Actor, res.Table, field, term, pageSize)
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		v := s.listView(res, st, nil)
		v.Search = s.searchForm(st, field, term)
		if v.Search == nil {
			s.forbidden(w, r, st, "aucun champ recherchable n'est lisible par votre service")
			return
		}
		v.Search.Active = true
		for _, fe := range invalid.Fields {
			v.Search.Errors = append(v.Search.Errors, s.fieldLabel(res.t, fe.Field)+" : "+fe.Message)
		}
		s.render(w, r, st, http.StatusBadRequest, "list", v.Heading, v)
		return
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := s.listView(res, st, recs)
	v.Search = s.searchForm(st, field, term)
	v.Search.Active, v.Search.Count = true, len(recs)
	s.render(w, r, st, http.StatusOK, "list", v.Heading, v)
}

// listColumns are the columns a list shows: the resource's preferred ones the department may
// read, or else the first readable ones of the dictionary. Never a column it may not read.
func (s *server) listColumns(res *resource, dept, skip string) []*dictionary.Column {
	var cols []*dictionary.Column
	usable := func(c *dictionary.Column) bool {
		return c != nil && c.CanRead(dept) && c.Kind != dictionary.KindBlob && c.Name != skip && !slices.Contains(cols, c)
	}
	for _, name := range res.Columns {
		if c := res.t.Column(name); usable(c) && len(cols) < 7 {
			cols = append(cols, c)
		}
	}
	for _, c := range res.t.Columns {
		if len(cols) >= 4 {
			break
		}
		if usable(c) {
			cols = append(cols, c)
		}
	}
	return cols
}

func (s *server) table(res *resource, st *session, recs []*record.Record, skip string) tableView {
	cols := s.listColumns(res, st.User.Department, skip)
	var v tableView
	for _, c := range cols {
		v.Columns = append(v.Columns, c.Label)
	}
	for _, rec := range recs {
		row := make([]cell, len(cols))
		for i, c := range cols {
			row[i] = s.cell(res, st, rec, c, true)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// cell is one value of a record, linked when it is the record's id or a reference to a record
// the department may open.
func (s *server) cell(res *resource, st *session, rec *record.Record, c *dictionary.Column, short bool) cell {
	v, ok := rec.Values[c.Name]
	if !ok {
		return cell{}
	}
	out := cell{Text: s.display(c, v)}
	if short && (c.Kind == dictionary.KindVarchar || c.Kind == dictionary.KindChar) && c.Size > 100 {
		out.Text = truncate(out.Text, 80)
	}
	switch ref, _, isRef := c.ForeignKey(); {
	case c.Name == "id":
		out.Text = "n° " + out.Text
		if short {
			out.Href = "/" + res.Path + "/" + strconv.FormatInt(rec.ID, 10)
		}
	case isRef && v != nil:
		id := string(c.Text(v))
		out.Text = "n° " + id
		if target := s.res[ref]; target != nil && target.t.CanRead(st.User.Department) {
			out.Href = "/" + target.Path + "/" + id
		}
	}
	return out
}

// --- Detail -----------------------------------------------------------------------------------

type detailField struct {
	Label      string
	Value      cell
	Provenance string
}

type relatedView struct {
	Heading           string
	Table             tableView
	NewHref, NewLabel string
}

type messageView struct {
	Heading, Body string
}

type detailView struct {
	Heading           string
	ListHref, ListTxt string
	EditHref          string
	Fields            []detailField
	Related           []relatedView
	Download          string
	// Ticket messages, and the form to add one (nil when the department may not write them).
	Messages    []messageView
	HasMessages bool
	MessageForm *formView
	// Accesses is "who accessed these data", on a person's page for the DPO only (audit.go).
	Accesses *accessView
	// Corrections is the person's rectification history, for the DPO only (audit.go).
	Corrections *correctionsView
	// Consents are a person's choices, for the departments that may read them (consents.go).
	Consents *consentSection
	// ReportDeath is the person's id on their page: any department that sees the person can tell
	// the DPO of a death (rights.go).
	ReportDeath int64
	// Archive is the person's archive, for the DPO only, each row opened on a written
	// justification (archive.go).
	Archive *archiveSection
}

func (s *server) detail(res *resource) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r, st)
			return
		}
		rec, err := s.app.Records.Get(r.Context(), st.Actor, res.Table, id)
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		var form *formView
		if res.Table == "tickets" {
			form = s.messageForm(st, id, nil, nil, "")
		}
		s.renderDetail(w, r, st, res, rec, http.StatusOK, form)
	}
}

// renderDetail shows every field the store returned — the ones the department may read — with
// its dictionary label, in dictionary order; a field it may not read is not even named.
func (s *server) renderDetail(w http.ResponseWriter, r *http.Request, st *session, res *resource, rec *record.Record, status int, messageForm *formView) {
	s.renderDetailWith(w, r, st, res, rec, status, messageForm, nil)
}

// renderDetailWith renders a record's page; adjust, when given, changes the view last (a message
// to show beside a section).
func (s *server) renderDetailWith(w http.ResponseWriter, r *http.Request, st *session, res *resource, rec *record.Record, status int, messageForm *formView, adjust func(*detailView)) {
	dept := st.User.Department
	v := detailView{
		Heading:  res.t.Label + " n° " + strconv.FormatInt(rec.ID, 10),
		ListHref: "/" + res.Path, ListTxt: plural(res.t.Label),
	}
	for _, c := range res.t.Columns {
		val, ok := rec.Values[c.Name]
		if !ok || c.Kind == dictionary.KindBlob {
			continue
		}
		f := detailField{Label: c.Label, Value: s.cell(res, st, rec, c, false)}
		if p, ok := rec.Provenance[c.Name]; ok && val != nil {
			f.Provenance = "Collecté le " + s.frenchTime(p.CollectedAt) + " — " + s.channelLabel(p.Channel) + " — finalité : " + s.purposeName(p.Purpose)
		}
		v.Fields = append(v.Fields, f)
	}
	if res.Editable && res.t.CanWrite(dept) {
		v.EditHref = "/" + res.Path + "/" + strconv.FormatInt(rec.ID, 10) + "/modifier"
	}
	ctx := r.Context()
	switch res.Table {
	case "persons":
		for _, other := range s.resources {
			if other == res || !other.t.CanRead(dept) || other.t.PersonColumn == "" {
				continue
			}
			recs, _, err := s.app.Records.List(ctx, st.Actor, other.Table, record.ListQuery{Limit: pageSize, Filter: map[string]int64{other.t.PersonColumn: rec.ID}})
			var forbidden *record.ForbiddenError
			if errors.As(err, &forbidden) {
				continue
			}
			if err != nil {
				s.fail(w, r, st, err)
				return
			}
			rel := relatedView{Heading: plural(other.t.Label), Table: s.table(other, st, recs, other.t.PersonColumn)}
			if other.t.CanWrite(dept) {
				rel.NewHref = "/" + other.Path + "/nouveau?personne=" + strconv.FormatInt(rec.ID, 10)
				rel.NewLabel = other.NewLabel + " pour cette personne"
			}
			v.Related = append(v.Related, rel)
		}
		accesses, err := s.whoAccessed(ctx, st, rec.ID)
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		v.Accesses = accesses
		if v.Corrections, err = s.corrections(ctx, st, rec.ID); err != nil {
			s.fail(w, r, st, err)
			return
		}
		objected, _ := rec.Get("objected_prospection").(bool)
		if v.Consents, err = s.consentSection(ctx, st, rec.ID, objected); err != nil {
			s.fail(w, r, st, err)
			return
		}
		v.ReportDeath = rec.ID
		if v.Archive, err = s.archiveSection(ctx, st, rec.ID); err != nil {
			s.fail(w, r, st, err)
			return
		}
	case "documents":
		if c := res.t.Column("content"); c != nil && c.CanRead(dept) {
			v.Download = "/documents/" + strconv.FormatInt(rec.ID, 10) + "/contenu"
		}
	case "tickets":
		msgs := s.dict.Table("ticket_messages")
		if msgs != nil && msgs.CanRead(dept) {
			v.HasMessages = true
			recs, _, err := s.app.Records.List(ctx, st.Actor, msgs.Name, record.ListQuery{Limit: record.MaxPage, Filter: map[string]int64{msgs.Parent: rec.ID}})
			if err != nil {
				s.fail(w, r, st, err)
				return
			}
			for _, m := range recs {
				v.Messages = append(v.Messages, s.messageView(msgs, m))
			}
			v.MessageForm = messageForm
		}
	}
	if adjust != nil {
		adjust(&v)
	}
	s.render(w, r, st, status, "detail", v.Heading, v)
}

// messageView words a ticket message from the fields the department may read.
func (s *server) messageView(t *dictionary.Table, m *record.Record) messageView {
	var head []string
	var body string
	for _, c := range t.Columns {
		val, ok := m.Values[c.Name]
		switch {
		case !ok || val == nil || c.Kind == dictionary.KindBlob || c.Category == "technical" && c.Name != "author" && c.Name != "created_at":
		case c.Category == "free_text":
			body += s.display(c, val)
		default:
			head = append(head, s.display(c, val))
		}
	}
	return messageView{Heading: strings.Join(head, " — "), Body: body}
}

func (s *server) channelLabel(code string) string {
	if l, ok := channelLabels[code]; ok {
		return l
	}
	return code
}

func (s *server) purposeName(code string) string {
	for _, p := range s.dict.Purposes {
		if p.Code == code {
			return p.Name
		}
	}
	return code
}

// fieldLabel names a field for an error message: its dictionary label when it has one.
func (s *server) fieldLabel(t *dictionary.Table, name string) string {
	if c := t.Column(name); c != nil {
		return c.Label
	}
	// A field of another record, as the quote guard names them: "persons.birth_date".
	if table, col, ok := strings.Cut(name, "."); ok {
		if ot := s.dict.Table(table); ot != nil && ot.Column(col) != nil {
			return ot.Label + " — " + ot.Column(col).Label
		}
	}
	switch name {
	case "_channel":
		return "Canal de collecte"
	case "_purpose":
		return "Finalité"
	case "password":
		return "Mot de passe"
	}
	return name
}

// --- Data dictionary --------------------------------------------------------------------------

// dictionaryPage prints the "Dictionnaire de données — Base client": the dictionary renders itself
// as a standalone, printable page (Dictionary.HTML), served as it is.
func (s *server) dictionaryPage(w http.ResponseWriter, r *http.Request, st *session) {
	var buf bytes.Buffer
	if err := s.dict.HTML(&buf); err != nil {
		s.fail(w, r, st, err)
		return
	}
	standalone(w, buf.String())
}

var styleElement = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// standalone serves a whole HTML document of our own (the printable dictionary). Its inline style
// sheet is allowed by its hash, so the page keeps the strict policy: no other inline style, no
// script. A link back to Vigie opens its header when it has one.
func standalone(w http.ResponseWriter, doc string) {
	policy := contentSecurityPolicy
	var hashes []string
	for _, m := range styleElement.FindAllStringSubmatch(doc, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	if len(hashes) > 0 {
		policy = strings.Replace(policy, "style-src 'self'", "style-src 'self' "+strings.Join(hashes, " "), 1)
	}
	doc = strings.Replace(doc, "<header>", `<header>`+"\n"+`<p><a href="/">← Retour à Vigie</a></p>`, 1)
	w.Header().Set("Content-Security-Policy", policy)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, doc)
}

// --- Staff users (administration) -------------------------------------------------------------

type userRow struct {
	ID                                     int64
	Email, DisplayName, Department, Status string
	// Security is the state of the credentials: locked, change required, second factor (R13–R15).
	Security                         []string
	Locked, MustChange, TOTPEnrolled bool
}

type usersView struct {
	Users   []userRow
	Form    *formView
	Created bool
	// Done confirms an action on an account; Manage shows the actions (admin).
	Done, Manage bool
}

// users lists the staff for the departments the dictionary lets read the users table (admin).
func (s *server) users(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.dict.Table("users").CanRead(st.User.Department) {
		s.forbidden(w, r, st, "seule l'administration informatique gère les comptes du personnel")
		return
	}
	s.renderUsers(w, r, st, http.StatusOK, s.userForm(nil, nil), r.URL.Query().Get("cree") == "1")
}

func (s *server) renderUsers(w http.ResponseWriter, r *http.Request, st *session, status int, form *formView, created bool) {
	list, err := s.app.Auth.Users(r.Context())
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := usersView{Form: form, Created: created, Done: r.URL.Query().Get("fait") == "1"}
	now := s.app.Now()
	for _, u := range list {
		row := userRow{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Department: u.Department, Status: "Actif",
			Locked: u.Locked(now), MustChange: u.MustChangePassword, TOTPEnrolled: u.TOTPEnrolled}
		if dep, ok := s.dict.Department(u.Department); ok {
			row.Department = dep.Name
		}
		if u.Disabled {
			row.Status = "Désactivé"
		}
		if row.Locked {
			row.Security = append(row.Security, "Verrouillé (échecs de connexion répétés) jusqu'au "+u.LockedUntil.In(s.paris).Format("02/01/2006 à 15:04"))
		}
		if row.MustChange {
			row.Security = append(row.Security, "Changement de mot de passe exigé")
		}
		if !row.TOTPEnrolled {
			row.Security = append(row.Security, "Second facteur à activer à la prochaine connexion")
		}
		v.Users = append(v.Users, row)
	}
	if !s.dict.Table("users").CanWrite(st.User.Department) {
		v.Form = nil
	} else {
		v.Manage = true
	}
	s.render(w, r, st, status, "users", "Utilisateurs", v)
}

// userForm is the account creation form; the password is never sent back to the browser.
func (s *server) userForm(values map[string]string, errs map[string]string) *formView {
	t := s.dict.Table("users")
	f := &formView{Action: "/utilisateurs", Submit: "Créer le compte"}
	email := s.field(t, t.Column("email"), values, errs)
	name := s.field(t, t.Column("display_name"), values, errs)
	dept := s.field(t, t.Column("department"), values, errs)
	for i := range dept.Options {
		if dep, ok := s.dict.Department(dept.Options[i].Value); ok {
			dept.Options[i].Label = dep.Name
		}
	}
	password := &formField{ID: "f-password", Name: "password", Label: "Mot de passe", Widget: "input", Type: "password",
		Required: true, MinLength: 12, MaxLength: 128, Autocomplete: "new-password", Error: errs["password"],
		Help: passwordHelp + " Transmettez-le à la personne par un autre canal ; elle activera son second facteur à sa première connexion."}
	password.describe()
	f.Fields = []*formField{email, name, dept, password}
	f.Errors = s.summary(t, f.Fields, errs)
	return f
}

// createUser adds a staff member (admin only, as the dictionary says).
func (s *server) createUser(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.dict.Table("users").CanWrite(st.User.Department) {
		s.forbidden(w, r, st, "seule l'administration informatique gère les comptes du personnel")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, st, &record.ValidationError{Fields: []*dictionary.FieldError{{Field: "form", Rule: "form", Message: "formulaire illisible"}}})
		return
	}
	values := map[string]string{}
	for _, name := range []string{"email", "display_name", "department"} {
		values[name] = r.PostFormValue(name)
	}
	_, err := s.app.Auth.ProvisionUser(r.Context(), values["email"], values["display_name"], values["department"], r.PostFormValue("password"))
	var invalid *record.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/utilisateurs?cree=1", http.StatusSeeOther)
	case errors.As(err, &invalid):
		s.renderUsers(w, r, st, http.StatusBadRequest, s.userForm(values, fieldErrors(invalid)), false)
	case errors.Is(err, auth.ErrUserExists):
		s.renderUsers(w, r, st, http.StatusBadRequest, s.userForm(values, map[string]string{"email": "un compte existe déjà avec cette adresse"}), false)
	default:
		s.fail(w, r, st, err)
	}
}
