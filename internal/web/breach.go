package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/breach"
)

// The breach register for the DPO (DESIGN §11, R39–R40): the list of breaches with their 72-hour
// clocks, a form to record one, and the breach's page — its record, its clock, the people found
// through the data, the notifications (recorded once sent, phase by phase, with the reason of a
// late one), an update form for what was learned since, the draft of the notification to the
// CNIL, and the model of the letter to the people with a link to the letters themselves. The
// register decides and records; these handlers decode the forms and show its refusals beside the
// fields they name. Only the letters page shows people's names and addresses; their reading is
// recorded by the register.

const breachForbidden = "Le registre des violations de données est tenu par le DPO."

// breachTemplates are the register's pages, parsed with the layout like the others.
var breachTemplates = []string{"breaches", "breach_form", "breach", "breach_letters"}

func (s *server) parseBreachTemplates() error {
	for _, name := range breachTemplates {
		t, err := template.New(name).Funcs(breachFuncs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// checksArgs are what the "checks" template draws: a group of checkboxes of the form.
type checksArgs struct {
	Name, Label, Help string
	Form              *breachFormView
}

var breachFuncs = template.FuncMap{
	"args": func(name, label string, form *breachFormView, help string) checksArgs {
		return checksArgs{Name: name, Label: label, Help: help, Form: form}
	},
}

// breachRoutes adds the register's pages to the route table.
func (s *server) breachRoutes(mux *http.ServeMux) {
	mux.Handle("GET /violations", s.staff(s.breachList))
	mux.Handle("GET /violations/nouvelle", s.staff(s.breachNew))
	mux.Handle("POST /violations/nouvelle", s.staff(s.breachRecord))
	mux.Handle("GET /violations/{id}", s.staff(s.breachPage))
	mux.Handle("POST /violations/{id}/modifier", s.staff(s.breachUpdate))
	mux.Handle("POST /violations/{id}/notifications", s.staff(s.breachNotify))
	mux.Handle("GET /violations/{id}/notification-cnil.txt", s.staff(s.breachCNILText))
	mux.Handle("GET /violations/{id}/courriers", s.staff(s.breachLetters))
}

func (st *session) breachStaff() breach.Staff {
	return breach.Staff{UserID: st.User.ID, Department: st.User.Department}
}

// breachAllowed lets the DPO through (the dictionary says who reads the register).
func (s *server) breachAllowed(w http.ResponseWriter, r *http.Request, st *session) bool {
	if !s.app.Breaches.CanRead(st.User.Department) {
		s.forbidden(w, r, st, breachForbidden)
		return false
	}
	return true
}

// breachTarget is the breach a page or a form is about: the department may read the register, the
// path names a breach and, for a form, the form is readable. ok is false when an error page has
// been answered.
func (s *server) breachTarget(w http.ResponseWriter, r *http.Request, st *session) (id int64, ok bool) {
	if !s.breachAllowed(w, r, st) {
		return 0, false
	}
	if id, ok = pathID(r); !ok {
		s.notFound(w, r, st)
		return 0, false
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.unreadableForm(w, r)
			return 0, false
		}
	}
	return id, true
}

// failBreach maps the register's errors to pages.
func (s *server) failBreach(w http.ResponseWriter, r *http.Request, st *session, err error) {
	switch {
	case errors.Is(err, breach.ErrForbidden):
		s.forbidden(w, r, st, breachForbidden)
	case errors.Is(err, breach.ErrNotFound):
		s.notFound(w, r, st)
	default:
		s.fail(w, r, st, err)
	}
}

// --- The list and the dashboard ---------------------------------------------------------------

type breachListView struct {
	Lines            []breachLine
	Overdue, Running int
	Done             string
}

type breachLine struct {
	ID                      int64
	Title, Aware, Risk      string
	People, Clock, PeopleTx string
	State                   string
	Late, Soon, Pending     bool
}

func (s *server) breachLine(b *breach.Breach, now time.Time) breachLine {
	c := b.Clock(now)
	l := breachLine{ID: b.ID, Title: b.Title, Aware: s.frenchTime(b.AwareAt), Risk: breach.RiskShort[b.Risk],
		People: "inconnu", Clock: c.Short(), PeopleTx: c.PeopleShort(), State: c.State,
		Late: c.State == breach.ClockOverdue, Soon: c.State == breach.ClockRunning && c.Left < 24*time.Hour, Pending: c.People == breach.PeoplePending}
	if b.PeopleCount != nil {
		l.People = strconv.FormatInt(*b.PeopleCount, 10)
	}
	return l
}

var breachMessages = map[string]string{
	"inscrite":     "Violation inscrite au registre : son délai de notification court depuis la prise de connaissance.",
	"notification": "Notification inscrite.",
	"modifiee":     "Violation mise à jour.",
}

func (s *server) breachList(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.breachAllowed(w, r, st) {
		return
	}
	list, err := s.app.Breaches.List(r.Context(), st.breachStaff())
	if err != nil {
		s.failBreach(w, r, st, err)
		return
	}
	v := breachListView{Done: breachMessages[r.URL.Query().Get("fait")]}
	now := s.app.Now()
	for i := range list {
		l := s.breachLine(&list[i], now)
		switch l.State {
		case breach.ClockOverdue:
			v.Overdue++
		case breach.ClockRunning:
			v.Running++
		}
		v.Lines = append(v.Lines, l)
	}
	s.render(w, r, st, http.StatusOK, "breaches", "Violations de données", v)
}

// breachClocks are, for the DPO's home page, the breaches whose notification is still owed: to
// the CNIL (running or overdue) or to the people.
func (s *server) breachClocks(ctx context.Context, st *session) []breachLine {
	if !s.app.Breaches.CanRead(st.User.Department) {
		return nil
	}
	list, err := s.app.Breaches.List(ctx, st.breachStaff())
	if err != nil {
		s.app.Log.Error("web: read the breach register for the home page", "error", err)
		return nil
	}
	var out []breachLine
	now := s.app.Now()
	for i := range list {
		if l := s.breachLine(&list[i], now); l.State == breach.ClockRunning || l.State == breach.ClockOverdue || l.Pending {
			out = append(out, l)
		}
	}
	return out
}

// --- The form ---------------------------------------------------------------------------------

type breachFormView struct {
	Action, Submit string
	Fields         map[string]*formField
	Checks         map[string][]checkOption
	Errors         []summaryError
	// Update: the form changes a recorded breach (what was learned since), not a new one.
	Update bool
}

type checkOption struct {
	Name, Value, Label, ID string
	Checked                bool
}

// breachFieldLabels name the form's fields in the summary of errors.
var breachFieldLabels = map[string]string{
	"title": "Intitulé", "occurred_at": "Début de la violation", "detected_at": "Détection", "aware_at": "Prise de connaissance",
	"ended_at": "Fin de la violation", "nature": "Nature", "origin": "Origine", "cause": "Cause", "description": "Circonstances",
	"data_categories": "Catégories de données", "people_categories": "Catégories de personnes", "people_count": "Nombre de personnes",
	"records_count": "Nombre d'enregistrements", "consequences": "Conséquences probables", "measures_taken": "Mesures prises",
	"measures_proposed": "Mesures envisagées", "advice": "Conseils aux personnes", "contact": "Point de contact", "risk": "Niveau de risque",
	"risk_reason": "Justification du niveau de risque", "people_exemption": "Exception à l'information des personnes",
	"scope_department": "Périmètre : service", "scope_table": "Périmètre : table", "scope_from": "Périmètre : créés à partir du",
	"scope_to": "Périmètre : créés avant le", "scope_persons": "Périmètre : personnes nommées",
	"recipient": "Destinataire", "phase": "Phase", "sent_at": "Envoyée le", "channel": "Moyen", "reference": "Référence",
	"people_notified": "Personnes informées", "late_reason": "Motif du retard", "note": "Contenu ou complément",
}

// breachFieldOrder is the order of the fields in the form, for the summary of errors.
var breachFieldOrder = []string{"title", "nature", "origin", "cause", "description", "occurred_at", "detected_at", "aware_at", "ended_at",
	"data_categories", "people_categories", "people_count", "records_count", "scope_department", "scope_table", "scope_from", "scope_to",
	"scope_persons", "consequences", "measures_taken", "measures_proposed", "advice", "risk", "risk_reason", "people_exemption", "contact"}

var breachListFields = map[string][]breach.Label{"nature": breach.Natures, "data_categories": breach.DataCategories, "people_categories": breach.PeopleCategories}

func labelOptions(list []breach.Label, selected string, blank string) []option {
	var out []option
	if blank != "" {
		out = append(out, option{Value: "", Label: blank, Selected: selected == ""})
	}
	for _, l := range list {
		out = append(out, option{Value: l.Code, Label: l.Text, Selected: l.Code == selected})
	}
	return out
}

// breachForm builds the form's fields from what was sent (values, lists) and the refusals.
func (s *server) breachForm(values map[string]string, lists map[string][]string, errs map[string]string, update bool) *breachFormView {
	v := &breachFormView{Fields: map[string]*formField{}, Checks: map[string][]checkOption{}, Update: update,
		Action: "/violations/nouvelle", Submit: "Inscrire la violation au registre"}
	field := func(name, widget, typ, help string, required bool, max int) *formField {
		f := &formField{ID: "f-" + name, Name: name, Label: breachFieldLabels[name], Widget: widget, Type: typ, Value: values[name],
			Error: errs[name], Required: required, Help: help, MaxLength: max}
		f.describe()
		v.Fields[name] = f
		return f
	}
	field("title", "input", "text", "Quelques mots, sans nom de personne.", true, 200)
	field("description", "textarea", "", "Ce qui s'est passé et comment la violation a été découverte.", true, 8000)
	field("occurred_at", "input", "datetime-local", "Si elle est connue.", false, 0)
	field("detected_at", "input", "datetime-local", "Par quiconque, un sous-traitant compris ; par défaut, la prise de connaissance.", false, 0)
	field("aware_at", "input", "datetime-local", "Le moment où l'entreprise a eu une certitude raisonnable de la violation : le délai de 72 heures en part, il ne changera plus.", true, 0)
	field("ended_at", "input", "datetime-local", "Vide tant qu'elle est en cours.", false, 0)
	field("people_count", "input", "number", "Approximatif ; vide s'il n'est pas encore connu (avec un périmètre : le nombre trouvé dans les données).", false, 0).Min = "0"
	field("records_count", "input", "number", "Approximatif ; comme le nombre de personnes.", false, 0).Min = "0"
	field("scope_from", "input", "datetime-local", "Les enregistrements créés à partir de cette date.", false, 0)
	field("scope_to", "input", "datetime-local", "Les enregistrements créés avant cette date.", false, 0)
	field("scope_persons", "input", "text", "Des numéros de personne séparés par des virgules (un courrier mal adressé, par exemple).", false, 0)
	field("consequences", "textarea", "", "Pour les personnes : hameçonnage, usurpation d'identité, perte financière…", true, 8000)
	field("measures_taken", "textarea", "", "Pour remédier à la violation et en atténuer les conséquences.", true, 8000)
	field("measures_proposed", "textarea", "", "", false, 8000)
	field("advice", "textarea", "", "Repris dans les courriers aux personnes (art. 34).", false, 8000)
	field("risk_reason", "textarea", "", "Pourquoi la CNIL et les personnes doivent, ou non, être informées.", true, 4000)
	field("contact", "input", "text", "Par défaut : le DPO ("+s.app.Breaches.DefaultContact()+").", false, 300)
	sel := func(name string, opts []option, help string, required bool) {
		f := field(name, "select", "", help, required, 0)
		f.Options = opts
	}
	sel("origin", labelOptions(breach.Origins, values["origin"], "— choisir —"), "", true)
	sel("cause", labelOptions(breach.Causes, values["cause"], "— choisir —"), "", true)
	sel("risk", labelOptions(breach.Risks, values["risk"], "— choisir —"), "", true)
	sel("people_exemption", labelOptions(breach.Exemptions, values["people_exemption"], "Aucune"), "Pour un risque élevé seulement (art. 34(3)).", false)
	var depts []breach.Label
	for _, d := range s.dict.Departments {
		depts = append(depts, breach.Label{Code: d.Code, Text: d.Name})
	}
	sel("scope_department", labelOptions(depts, values["scope_department"], "Aucun"), "Les données auxquelles ce service a accès (un compte compromis, par exemple).", false)
	var tables []breach.Label
	for _, t := range s.app.Breaches.ScopeTables() {
		tables = append(tables, breach.Label{Code: t.Name, Text: t.Label})
	}
	sel("scope_table", labelOptions(tables, values["scope_table"], "Aucune"), "", false)
	for name, list := range breachListFields {
		for _, l := range list {
			v.Checks[name] = append(v.Checks[name], checkOption{Name: name, Value: l.Code, Label: l.Text, ID: "f-" + name + "-" + l.Code,
				Checked: slices.Contains(lists[name], l.Code)})
		}
		if e := errs[name]; e != "" {
			v.Fields[name] = &formField{ID: "f-" + name, Name: name, Label: breachFieldLabels[name], Error: e}
		}
	}
	for _, name := range append(append([]string{}, breachFieldOrder...), "recipient", "phase", "sent_at", "channel", "reference", "people_notified", "late_reason", "note") {
		if e, ok := errs[name]; ok {
			v.Errors = append(v.Errors, summaryError{Label: breachFieldLabels[name], Message: e, Anchor: "#f-" + name})
		}
	}
	return v
}

// parseFormTime reads a datetime-local input, in Paris time; empty is none.
func (s *server) parseFormTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{formTimeLayout, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, s.paris); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// readBreachForm reads the form into details; what cannot be read is an error beside its field.
func (s *server) readBreachForm(r *http.Request, d *breach.Details, only map[string]bool) (map[string]string, map[string][]string, map[string]string) {
	values, lists, errs := map[string]string{}, map[string][]string{}, map[string]string{}
	take := func(name string) bool { return only == nil || only[name] }
	for _, name := range breachFieldOrder {
		if take(name) {
			values[name] = r.PostFormValue(name)
		}
	}
	for name := range breachListFields {
		if take(name) {
			lists[name] = r.PostForm[name]
		}
	}
	texts := map[string]*string{"title": &d.Title, "description": &d.Description, "origin": &d.Origin, "cause": &d.Cause,
		"consequences": &d.Consequences, "measures_taken": &d.MeasuresTaken, "measures_proposed": &d.MeasuresProposed, "advice": &d.Advice,
		"risk": &d.Risk, "risk_reason": &d.RiskReason, "people_exemption": &d.PeopleExemption, "contact": &d.Contact,
		"scope_department": &d.Scope.Department, "scope_table": &d.Scope.Table}
	for name, dst := range texts {
		if take(name) {
			*dst = values[name]
		}
	}
	if take("nature") {
		d.Nature = lists["nature"]
	}
	if take("data_categories") {
		d.DataCategories = lists["data_categories"]
	}
	if take("people_categories") {
		d.PeopleCategories = lists["people_categories"]
	}
	times := map[string]*time.Time{"occurred_at": &d.OccurredAt, "detected_at": &d.DetectedAt, "aware_at": &d.AwareAt,
		"ended_at": &d.EndedAt, "scope_from": &d.Scope.From, "scope_to": &d.Scope.To}
	for name, dst := range times {
		if !take(name) {
			continue
		}
		t, ok := s.parseFormTime(values[name])
		if !ok {
			errs[name] = "indiquez une date et une heure (JJ/MM/AAAA HH:MM)"
		}
		*dst = t
	}
	for name, dst := range map[string]**int64{"people_count": &d.PeopleCount, "records_count": &d.RecordsCount} {
		if !take(name) {
			continue
		}
		*dst = nil
		if v := strings.TrimSpace(values[name]); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				errs[name] = "un nombre entier positif ou nul est attendu (ou laissez vide)"
				continue
			}
			*dst = &n
		}
	}
	if take("scope_persons") {
		d.Scope.PersonIDs = nil
		for _, part := range strings.FieldsFunc(values["scope_persons"], func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			n, err := strconv.ParseInt(part, 10, 64)
			if err != nil || n <= 0 {
				errs["scope_persons"] = "des numéros de personne (entiers positifs) séparés par des virgules sont attendus"
				break
			}
			d.Scope.PersonIDs = append(d.Scope.PersonIDs, n)
		}
	}
	return values, lists, errs
}

func issuesTo(errs map[string]string, err error) bool {
	ve, ok := breach.IsInput(err)
	if !ok {
		return false
	}
	for _, is := range ve.Issues {
		if _, seen := errs[is.Field]; !seen {
			errs[is.Field] = is.Message
		}
	}
	return true
}

func (s *server) breachNew(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.breachAllowed(w, r, st) {
		return
	}
	values := map[string]string{"aware_at": s.app.Now().In(s.paris).Format(formTimeLayout)}
	s.render(w, r, st, http.StatusOK, "breach_form", "Inscrire une violation", s.breachForm(values, nil, nil, false))
}

// breachRecord records a breach; a refusal shows the form again, each error beside its field,
// and writes nothing.
func (s *server) breachRecord(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.breachAllowed(w, r, st) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	var d breach.Details
	values, lists, errs := s.readBreachForm(r, &d, nil)
	if len(errs) == 0 {
		id, err := s.app.Breaches.Record(r.Context(), st.breachStaff(), d)
		switch {
		case err == nil:
			http.Redirect(w, r, fmt.Sprintf("/violations/%d?fait=inscrite", id), http.StatusSeeOther)
			return
		case !issuesTo(errs, err):
			s.failBreach(w, r, st, err)
			return
		}
	}
	s.render(w, r, st, http.StatusBadRequest, "breach_form", "Inscrire une violation", s.breachForm(values, lists, errs, false))
}

// --- The breach's page ------------------------------------------------------------------------

type breachView struct {
	breach.Breach
	Clock                                                        breach.Clock
	ClockText, PeopleText, Risk, Origin, Cause, Exemption, Scope string
	Nature, DataCategories, PeopleCategories                     string
	Occurred, Detected, Aware, Ended, Deadline                   string
	PeopleCount, RecordsCount                                    string
	Late, Overdue, Running                                       bool
	Notifications                                                []notificationLine
	NotifyForm                                                   *breachFormView
	UpdateForm                                                   *breachFormView
	CNIL, Letter                                                 breach.Draft
	Done                                                         string
	Error                                                        string
}

type notificationLine struct {
	breach.Notification
	Recipient, Phase, Channel, Sent, People string
}

// notifyFields are the notification form's fields.
var notifyFields = []string{"recipient", "phase", "sent_at", "channel", "reference", "people_notified", "late_reason", "note"}

// updateFields are what the page's update form changes: what is learned after recording.
var updateFields = map[string]bool{"ended_at": true, "people_count": true, "records_count": true, "consequences": true,
	"measures_taken": true, "measures_proposed": true, "advice": true, "risk": true, "risk_reason": true, "people_exemption": true}

func (s *server) notifyForm(values, errs map[string]string) *breachFormView {
	v := &breachFormView{Fields: map[string]*formField{}}
	field := func(name, widget, typ, help string, required bool) *formField {
		f := &formField{ID: "f-" + name, Name: name, Label: breachFieldLabels[name], Widget: widget, Type: typ, Value: values[name],
			Error: errs[name], Required: required, Help: help}
		f.describe()
		v.Fields[name] = f
		return f
	}
	field("recipient", "select", "", "", true).Options = labelOptions(breach.Recipients, values["recipient"], "")
	field("phase", "select", "", "Initiale, puis complémentaires quand les informations arrivent par étapes (art. 33(4)).", true).Options = labelOptions(breach.Phases, values["phase"], "")
	field("sent_at", "input", "datetime-local", "Jamais avant la prise de connaissance ; inscrivez la notification une fois envoyée.", true)
	field("channel", "select", "", "CNIL : téléservice, courriel ou courrier ; personnes : courriel, courrier, téléphone ou communication publique.", true).Options = labelOptions(breach.Channels, values["channel"], "")
	field("reference", "input", "text", "Le numéro donné par la CNIL.", false).MaxLength = 64
	field("people_notified", "input", "number", "Par défaut : toutes les personnes concernées pas encore informées, qui sont marquées informées.", false).Min = "0"
	field("late_reason", "textarea", "", "Obligatoire pour une notification initiale à la CNIL plus de 72 heures après la prise de connaissance (art. 33(1)).", false).MaxLength = 4000
	field("note", "textarea", "", "Ce qui a été envoyé, ou ce qu'apporte la notification complémentaire.", false).MaxLength = 8000
	for _, name := range notifyFields {
		if e, ok := errs[name]; ok {
			v.Errors = append(v.Errors, summaryError{Label: breachFieldLabels[name], Message: e, Anchor: "#f-" + name})
		}
	}
	return v
}

// updateValues are the update form's fields filled from the record.
func (s *server) updateValues(b *breach.Breach) (map[string]string, map[string][]string) {
	values := map[string]string{"consequences": b.Consequences, "measures_taken": b.MeasuresTaken, "measures_proposed": b.MeasuresProposed,
		"advice": b.Advice, "risk": b.Risk, "risk_reason": b.RiskReason, "people_exemption": b.PeopleExemption}
	if !b.EndedAt.IsZero() {
		values["ended_at"] = b.EndedAt.In(s.paris).Format(formTimeLayout)
	}
	if b.PeopleCount != nil {
		values["people_count"] = strconv.FormatInt(*b.PeopleCount, 10)
	}
	if b.RecordsCount != nil {
		values["records_count"] = strconv.FormatInt(*b.RecordsCount, 10)
	}
	return values, nil
}

func (s *server) breachPage(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := s.breachTarget(w, r, st)
	if !ok {
		return
	}
	s.renderBreach(w, r, st, http.StatusOK, id, nil, nil, nil, "")
}

// renderBreach draws the breach's page; a refused notification or update keeps what was sent
// in its form, with its errors.
func (s *server) renderBreach(w http.ResponseWriter, r *http.Request, st *session, status int, id int64,
	notify, update map[string]string, errs map[string]string, message string) {
	b, err := s.app.Breaches.Get(r.Context(), st.breachStaff(), id)
	if err != nil {
		s.failBreach(w, r, st, err)
		return
	}
	now := s.app.Now()
	c := b.Clock(now)
	count := func(p *int64) string {
		if p == nil {
			return "inconnu à ce stade"
		}
		return strconv.FormatInt(*p, 10)
	}
	when := func(t time.Time, none string) string {
		if t.IsZero() {
			return none
		}
		return s.frenchTime(t)
	}
	names := func(list []breach.Label, codes []string) string {
		out := make([]string, len(codes))
		for i, code := range codes {
			out[i] = breach.LabelOf(list, code)
		}
		return strings.Join(out, ", ")
	}
	v := &breachView{Breach: *b, Clock: c, ClockText: c.Text(), PeopleText: c.PeopleText(), Risk: breach.LabelOf(breach.Risks, b.Risk),
		Origin: breach.LabelOf(breach.Origins, b.Origin), Cause: breach.LabelOf(breach.Causes, b.Cause), Scope: s.app.Breaches.ScopeText(b.Scope),
		Nature: names(breach.Natures, b.Nature), DataCategories: names(breach.DataCategories, b.DataCategories),
		PeopleCategories: names(breach.PeopleCategories, b.PeopleCategories),
		Occurred:         when(b.OccurredAt, "inconnu"), Detected: when(b.DetectedAt, "—"), Aware: s.frenchTime(b.AwareAt),
		Ended: when(b.EndedAt, "en cours ou inconnue"), Deadline: s.frenchTime(c.Deadline),
		PeopleCount: count(b.PeopleCount), RecordsCount: count(b.RecordsCount),
		Late: c.Late, Overdue: c.State == breach.ClockOverdue, Running: c.State == breach.ClockRunning,
		CNIL: s.app.Breaches.CNILDraftOf(b), Letter: s.app.Breaches.LetterModel(b),
		Done: breachMessages[r.URL.Query().Get("fait")], Error: message}
	if b.PeopleExemption != "" {
		v.Exemption = breach.LabelOf(breach.Exemptions, b.PeopleExemption)
	}
	for _, n := range b.Notifications {
		l := notificationLine{Notification: n, Recipient: breach.LabelOf(breach.Recipients, n.Recipient), Phase: breach.LabelOf(breach.Phases, n.Phase),
			Channel: breach.LabelOf(breach.Channels, n.Channel), Sent: s.frenchTime(n.SentAt), People: "—"}
		if n.PeopleNotified != nil {
			l.People = strconv.FormatInt(*n.PeopleNotified, 10)
		}
		v.Notifications = append(v.Notifications, l)
	}
	if notify == nil {
		notify = map[string]string{"recipient": "cnil", "phase": "initial", "channel": "teleservice", "sent_at": now.In(s.paris).Format(formTimeLayout)}
		if _, done := b.Initial(); done {
			notify["phase"] = "complementary"
		}
	}
	if errs == nil {
		errs = map[string]string{}
	}
	notifyErrs, updateErrs := map[string]string{}, map[string]string{}
	for k, e := range errs {
		if slices.Contains(notifyFields, k) {
			notifyErrs[k] = e
		} else {
			updateErrs[k] = e
		}
	}
	v.NotifyForm = s.notifyForm(notify, notifyErrs)
	v.NotifyForm.Action = fmt.Sprintf("/violations/%d/notifications", id)
	if update == nil {
		update, _ = s.updateValues(b)
	}
	v.UpdateForm = s.breachForm(update, nil, updateErrs, true)
	v.UpdateForm.Action, v.UpdateForm.Submit = fmt.Sprintf("/violations/%d/modifier", id), "Mettre à jour"
	var summary []summaryError
	for _, e := range v.UpdateForm.Errors {
		if updateFields[strings.TrimPrefix(e.Anchor, "#f-")] {
			summary = append(summary, e)
		}
	}
	v.UpdateForm.Errors = summary
	s.render(w, r, st, status, "breach", fmt.Sprintf("Violation n° %d", id), v)
}

// breachNotify records a notification; a refusal shows it again beside its fields.
func (s *server) breachNotify(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := s.breachTarget(w, r, st)
	if !ok {
		return
	}
	values, errs := map[string]string{}, map[string]string{}
	for _, name := range notifyFields {
		values[name] = r.PostFormValue(name)
	}
	n := breach.NotificationInput{Recipient: values["recipient"], Phase: values["phase"], Channel: values["channel"],
		Reference: values["reference"], LateReason: values["late_reason"], Note: values["note"]}
	if t, ok := s.parseFormTime(values["sent_at"]); ok {
		n.SentAt = t
	} else {
		errs["sent_at"] = "indiquez une date et une heure (JJ/MM/AAAA HH:MM)"
	}
	if v := strings.TrimSpace(values["people_notified"]); v != "" {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil || p < 0 {
			errs["people_notified"] = "un nombre entier positif ou nul est attendu (ou laissez vide)"
		}
		n.PeopleNotified = &p
	}
	if len(errs) == 0 {
		_, err := s.app.Breaches.Notify(r.Context(), st.breachStaff(), id, n)
		switch {
		case err == nil:
			http.Redirect(w, r, fmt.Sprintf("/violations/%d?fait=notification#notifications", id), http.StatusSeeOther)
			return
		case !issuesTo(errs, err):
			s.failBreach(w, r, st, err)
			return
		}
	}
	s.renderBreach(w, r, st, http.StatusBadRequest, id, values, nil, errs, "La notification n'a pas été inscrite : rien n'a été enregistré.")
}

// breachUpdate records what was learned since: a refusal shows the form again, nothing changed.
func (s *server) breachUpdate(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := s.breachTarget(w, r, st)
	if !ok {
		return
	}
	b, err := s.app.Breaches.Get(r.Context(), st.breachStaff(), id)
	if err != nil {
		s.failBreach(w, r, st, err)
		return
	}
	d := b.Details
	values, _, errs := s.readBreachForm(r, &d, updateFields)
	if len(errs) == 0 {
		err := s.app.Breaches.Update(r.Context(), st.breachStaff(), id, d)
		switch {
		case err == nil:
			http.Redirect(w, r, fmt.Sprintf("/violations/%d?fait=modifiee", id), http.StatusSeeOther)
			return
		case !issuesTo(errs, err):
			s.failBreach(w, r, st, err)
			return
		}
	}
	s.renderBreach(w, r, st, http.StatusBadRequest, id, nil, values, errs, "La violation n'a pas été mise à jour : rien n'a été modifié.")
}

// breachCNILText downloads the CNIL draft as text; producing it is recorded.
func (s *server) breachCNILText(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := s.breachTarget(w, r, st)
	if !ok {
		return
	}
	d, err := s.app.Breaches.CNILDraft(r.Context(), st.breachStaff(), id)
	if err != nil {
		s.failBreach(w, r, st, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="notification-cnil-violation-%d.txt"`, id))
	fmt.Fprintf(w, "Objet : %s\n\n%s", d.Subject, d.Text)
}

type lettersView struct {
	ID      int64
	Letters []breach.Letter
	Next    string
	Total   int64
}

// lettersPerPage is how many letters a page of the letters holds.
const lettersPerPage = 200

// breachLetters shows the letters to the people, ready to print, a page at a time: the only page
// of the register with people's names and addresses; their reading is recorded.
func (s *server) breachLetters(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := s.breachTarget(w, r, st)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("apres"), 10, 64)
	letters, next, err := s.app.Breaches.Letters(r.Context(), st.breachStaff(), id, max(after, 0), lettersPerPage)
	if err != nil {
		s.failBreach(w, r, st, err)
		return
	}
	v := lettersView{ID: id, Letters: letters}
	if next != 0 {
		v.Next = fmt.Sprintf("/violations/%d/courriers?apres=%d", id, next)
	}
	s.render(w, r, st, http.StatusOK, "breach_letters", fmt.Sprintf("Courriers aux personnes — violation n° %d", id), v)
}
