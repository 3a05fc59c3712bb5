package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"vigie/internal/breach"
)

// The breach register through the API (R39–R40, DESIGN §11), for the DPO only: the register with
// each breach's 72-hour clock, a breach recorded or updated, its notifications recorded once sent,
// and the drafts — the CNIL notification and the art. 34 letters. The register does the work and
// checks the rules; these handlers let the DPO through before a body is read, decode, and map the
// refusals to the fields and rules they name.

const breachForbidden = "réservé au DPO : le registre des violations est tenu par le délégué à la protection des données"

// breachRoutes are the register's operations, appended to the route table.
func (h *Handler) breachRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/breaches", Summary: "The breach register (art. 33(5), R39): every breach, latest first, with its 72-hour clock and notifications (DPO)", OperationID: "list_breaches", Kind: "breach-list", handler: h.listBreaches},
		{Method: "POST", Pattern: "/api/v1/breaches", Summary: "Record a breach with the content of art. 33(3); a scope finds the people concerned through the data; refused without an awareness time (DPO)", OperationID: "create_breach", Kind: "breach-create", handler: h.createBreach},
		{Method: "GET", Pattern: "/api/v1/breaches/{id}", Summary: "One breach, its clock and its notifications (DPO)", OperationID: "get_breach", Kind: "breach-get", handler: h.getBreach},
		{Method: "PATCH", Pattern: "/api/v1/breaches/{id}", Summary: "Update a breach with what was learned since (art. 33(4)): only the fields sent change; the awareness time and the scope never do (DPO)", OperationID: "update_breach", Kind: "breach-update", handler: h.updateBreach},
		{Method: "POST", Pattern: "/api/v1/breaches/{id}/notifications", Summary: "Record a notification once sent, to the CNIL (initial, then complementary) or to the people (art. 34); never dated before awareness; a late initial one needs its reason (DPO)", OperationID: "create_breach_notification", Kind: "breach-notify", handler: h.notifyBreach},
		{Method: "GET", Pattern: "/api/v1/breaches/{id}/drafts/cnil", Summary: "The draft of the notification to the CNIL, generated from the record, section by section as the CNIL's form asks (DPO)", OperationID: "get_breach_cnil_draft", Kind: "breach-draft-cnil", handler: h.breachCNILDraft},
		{Method: "GET", Pattern: "/api/v1/breaches/{id}/drafts/letters", Summary: "The art. 34 letters, one per person concerned, a page at a time; each reading of a person's name and address is recorded in the audit trail (DPO)", OperationID: "list_breach_letters", Kind: "breach-draft-letters", handler: h.breachLetters},
	}
}

// BreachBody is a breach as the API shows it: the record, what the scope found, and its clock.
type BreachBody struct {
	ID int64 `json:"id"`
	breachFields
	PeopleFound    int64              `json:"people_found"`
	RecordsFound   int64              `json:"records_found"`
	PeopleNotified int64              `json:"people_notified"`
	CNILRequired   bool               `json:"cnil_required"`
	PeopleRequired bool               `json:"people_required"`
	Clock          BreachClock        `json:"clock"`
	Notifications  []NotificationBody `json:"notifications"`
	RecordedAt     time.Time          `json:"recorded_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
}

// breachFields are the fields a breach is written with, as the API names them.
type breachFields struct {
	Title            string   `json:"title"`
	OccurredAt       string   `json:"occurred_at"`
	DetectedAt       string   `json:"detected_at"`
	AwareAt          string   `json:"aware_at"`
	EndedAt          string   `json:"ended_at"`
	Nature           []string `json:"nature"`
	Origin           string   `json:"origin"`
	Cause            string   `json:"cause"`
	Description      string   `json:"description"`
	DataCategories   []string `json:"data_categories"`
	PeopleCategories []string `json:"people_categories"`
	PeopleCount      *int64   `json:"people_count"`
	RecordsCount     *int64   `json:"records_count"`
	Consequences     string   `json:"consequences"`
	MeasuresTaken    string   `json:"measures_taken"`
	MeasuresProposed string   `json:"measures_proposed"`
	Advice           string   `json:"advice"`
	Contact          string   `json:"contact"`
	Risk             string   `json:"risk"`
	RiskReason       string   `json:"risk_reason"`
	PeopleExemption  string   `json:"people_exemption"`
	ScopeDepartment  string   `json:"scope_department"`
	ScopeTable       string   `json:"scope_table"`
	ScopeFrom        string   `json:"scope_from"`
	ScopeTo          string   `json:"scope_to"`
	ScopePersons     []int64  `json:"scope_persons"`
}

// BreachClock is the 72-hour clock at the time of the answer.
type BreachClock struct {
	State       string     `json:"state"`
	Deadline    time.Time  `json:"deadline"`
	SecondsLeft *int64     `json:"seconds_left"`
	NotifiedAt  *time.Time `json:"notified_at"`
	Late        bool       `json:"late"`
	People      string     `json:"people"`
	Text        string     `json:"text"`
}

// NotificationBody is a notification as recorded.
type NotificationBody struct {
	ID             int64     `json:"id"`
	Recipient      string    `json:"recipient"`
	Phase          string    `json:"phase"`
	SentAt         time.Time `json:"sent_at"`
	Channel        string    `json:"channel"`
	Reference      string    `json:"reference"`
	PeopleNotified *int64    `json:"people_notified"`
	LateReason     string    `json:"late_reason"`
	Note           string    `json:"note"`
	RecordedAt     time.Time `json:"recorded_at"`
}

func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fieldsOf(d breach.Details) breachFields {
	return breachFields{Title: d.Title, OccurredAt: apiTime(d.OccurredAt), DetectedAt: apiTime(d.DetectedAt), AwareAt: apiTime(d.AwareAt),
		EndedAt: apiTime(d.EndedAt), Nature: d.Nature, Origin: d.Origin, Cause: d.Cause, Description: d.Description,
		DataCategories: d.DataCategories, PeopleCategories: d.PeopleCategories, PeopleCount: d.PeopleCount, RecordsCount: d.RecordsCount,
		Consequences: d.Consequences, MeasuresTaken: d.MeasuresTaken, MeasuresProposed: d.MeasuresProposed, Advice: d.Advice,
		Contact: d.Contact, Risk: d.Risk, RiskReason: d.RiskReason, PeopleExemption: d.PeopleExemption,
		ScopeDepartment: d.Scope.Department, ScopeTable: d.Scope.Table, ScopeFrom: apiTime(d.Scope.From), ScopeTo: apiTime(d.Scope.To),
		ScopePersons: d.Scope.PersonIDs}
}

func breachBody(b *breach.Breach, now time.Time) BreachBody {
	c := b.Clock(now)
	out := BreachBody{ID: b.ID, breachFields: fieldsOf(b.Details), PeopleFound: b.PeopleFound, RecordsFound: b.RecordsFound,
		PeopleNotified: b.PeopleNotified, CNILRequired: b.CNILRequired(), PeopleRequired: b.PeopleRequired(),
		Clock:      BreachClock{State: c.State, Deadline: c.Deadline.UTC(), Late: c.Late, People: c.People, Text: c.Text()},
		RecordedAt: b.RecordedAt, UpdatedAt: b.UpdatedAt, Notifications: []NotificationBody{}}
	if c.State == breach.ClockRunning || c.State == breach.ClockOverdue {
		left := int64(c.Left / time.Second)
		out.Clock.SecondsLeft = &left
	}
	if !c.NotifiedAt.IsZero() {
		at := c.NotifiedAt.UTC()
		out.Clock.NotifiedAt = &at
	}
	for _, n := range b.Notifications {
		out.Notifications = append(out.Notifications, NotificationBody{ID: n.ID, Recipient: n.Recipient, Phase: n.Phase, SentAt: n.SentAt.UTC(),
			Channel: n.Channel, Reference: n.Reference, PeopleNotified: n.PeopleNotified, LateReason: n.LateReason, Note: n.Note,
			RecordedAt: n.RecordedAt.UTC()})
	}
	if out.Nature == nil {
		out.Nature = []string{}
	}
	return out
}

// targets are where decodeFields puts each member of a body.
func (f *breachFields) targets() map[string]any {
	return map[string]any{"title": &f.Title, "occurred_at": &f.OccurredAt, "detected_at": &f.DetectedAt, "aware_at": &f.AwareAt,
		"ended_at": &f.EndedAt, "nature": &f.Nature, "origin": &f.Origin, "cause": &f.Cause, "description": &f.Description,
		"data_categories": &f.DataCategories, "people_categories": &f.PeopleCategories, "people_count": &f.PeopleCount,
		"records_count": &f.RecordsCount, "consequences": &f.Consequences, "measures_taken": &f.MeasuresTaken,
		"measures_proposed": &f.MeasuresProposed, "advice": &f.Advice, "contact": &f.Contact, "risk": &f.Risk, "risk_reason": &f.RiskReason,
		"people_exemption": &f.PeopleExemption, "scope_department": &f.ScopeDepartment, "scope_table": &f.ScopeTable,
		"scope_from": &f.ScopeFrom, "scope_to": &f.ScopeTo, "scope_persons": &f.ScopePersons}
}

// parseAPITime reads an RFC 3339 time; empty is none.
func parseAPITime(w http.ResponseWriter, field, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		badRequest(w, field, "format.date-time", "date et heure RFC 3339 attendue, par exemple 2026-11-03T09:30:00+01:00")
		return time.Time{}, false
	}
	return t, true
}

// details turns the decoded fields into the register's; a malformed time is answered here.
func (f *breachFields) details(w http.ResponseWriter) (breach.Details, bool) {
	d := breach.Details{Title: f.Title, Nature: f.Nature, Origin: f.Origin, Cause: f.Cause, Description: f.Description,
		DataCategories: f.DataCategories, PeopleCategories: f.PeopleCategories, PeopleCount: f.PeopleCount, RecordsCount: f.RecordsCount,
		Consequences: f.Consequences, MeasuresTaken: f.MeasuresTaken, MeasuresProposed: f.MeasuresProposed, Advice: f.Advice,
		Contact: f.Contact, Risk: f.Risk, RiskReason: f.RiskReason, PeopleExemption: f.PeopleExemption,
		Scope: breach.Scope{Department: f.ScopeDepartment, Table: f.ScopeTable, PersonIDs: f.ScopePersons}}
	for _, t := range []struct {
		field, v string
		dst      *time.Time
	}{{"occurred_at", f.OccurredAt, &d.OccurredAt}, {"detected_at", f.DetectedAt, &d.DetectedAt}, {"aware_at", f.AwareAt, &d.AwareAt},
		{"ended_at", f.EndedAt, &d.EndedAt}, {"scope_from", f.ScopeFrom, &d.Scope.From}, {"scope_to", f.ScopeTo, &d.Scope.To}} {
		v, ok := parseAPITime(w, t.field, t.v)
		if !ok {
			return d, false
		}
		*t.dst = v
	}
	return d, true
}

// dpoOnly lets the DPO through, before any body is read.
func (h *Handler) dpoOnly(w http.ResponseWriter, r *http.Request) (breach.Staff, bool) {
	c := callerOf(r)
	if !h.app.Breaches.CanRead(c.user.Department) {
		writeError(w, http.StatusForbidden, "forbidden", breachForbidden, nil)
		return breach.Staff{}, false
	}
	return breach.Staff{UserID: c.user.ID, Department: c.user.Department}, true
}

// breachTarget is the caller as the register knows them and the breach the path names; ok is
// false when an error has been answered.
func (h *Handler) breachTarget(w http.ResponseWriter, r *http.Request) (breach.Staff, int64, bool) {
	st, ok := h.dpoOnly(w, r)
	if !ok {
		return st, 0, false
	}
	id, ok := pathID(w, r)
	return st, id, ok
}

// failBreach maps the register's refusals; the rest goes to fail.
func (h *Handler) failBreach(w http.ResponseWriter, r *http.Request, err error) {
	if ve, ok := breach.IsInput(err); ok {
		issues := make([]*FieldIssue, len(ve.Issues))
		msg := "refusé, rien n'a été enregistré :"
		for i, is := range ve.Issues {
			issues[i] = &FieldIssue{Field: is.Field, Rule: is.Rule, Message: is.Message}
			msg += " " + is.Field + " (" + is.Rule + ")"
		}
		writeError(w, http.StatusBadRequest, "validation_failed", msg, issues)
		return
	}
	switch {
	case errors.Is(err, breach.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", breachForbidden, nil)
	case errors.Is(err, breach.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "violation inconnue", nil)
	default:
		h.fail(w, r, err)
	}
}

func (h *Handler) listBreaches(w http.ResponseWriter, r *http.Request) {
	st, ok := h.dpoOnly(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	list, err := h.app.Breaches.List(r.Context(), st)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	now := h.app.Now()
	items := make([]BreachBody, 0, len(list))
	for i := range list {
		items = append(items, breachBody(&list[i], now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handler) createBreach(w http.ResponseWriter, r *http.Request) {
	st, ok := h.dpoOnly(w, r)
	if !ok {
		return
	}
	var f breachFields
	if !decodeFields(w, r, f.targets()) {
		return
	}
	d, ok := f.details(w)
	if !ok {
		return
	}
	id, err := h.app.Breaches.Record(r.Context(), st, d)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	h.answerBreach(w, r, st, id, http.StatusCreated)
}

func (h *Handler) answerBreach(w http.ResponseWriter, r *http.Request, st breach.Staff, id int64, status int) {
	b, err := h.app.Breaches.Get(r.Context(), st, id)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/breaches/"+strconv.FormatInt(id, 10))
	}
	writeJSON(w, status, breachBody(b, h.app.Now()))
}

func (h *Handler) getBreach(w http.ResponseWriter, r *http.Request) {
	st, id, ok := h.breachTarget(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	h.answerBreach(w, r, st, id, http.StatusOK)
}

// updateBreach applies the fields sent over the breach as recorded.
func (h *Handler) updateBreach(w http.ResponseWriter, r *http.Request) {
	st, id, ok := h.breachTarget(w, r)
	if !ok {
		return
	}
	b, err := h.app.Breaches.Get(r.Context(), st, id)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	f := fieldsOf(b.Details)
	if !decodeFields(w, r, f.targets()) {
		return
	}
	d, ok := f.details(w)
	if !ok {
		return
	}
	if err := h.app.Breaches.Update(r.Context(), st, id, d); err != nil {
		h.failBreach(w, r, err)
		return
	}
	h.answerBreach(w, r, st, id, http.StatusOK)
}

func (h *Handler) notifyBreach(w http.ResponseWriter, r *http.Request) {
	st, id, ok := h.breachTarget(w, r)
	if !ok {
		return
	}
	if _, err := h.app.Breaches.Get(r.Context(), st, id); err != nil {
		h.failBreach(w, r, err)
		return
	}
	var n breach.NotificationInput
	var sent string
	if !decodeFields(w, r, map[string]any{"recipient": &n.Recipient, "phase": &n.Phase, "sent_at": &sent, "channel": &n.Channel,
		"reference": &n.Reference, "people_notified": &n.PeopleNotified, "late_reason": &n.LateReason, "note": &n.Note}) {
		return
	}
	if n.SentAt, ok = parseAPITime(w, "sent_at", sent); !ok {
		return
	}
	if _, err := h.app.Breaches.Notify(r.Context(), st, id, n); err != nil {
		h.failBreach(w, r, err)
		return
	}
	h.answerBreach(w, r, st, id, http.StatusCreated)
}

func (h *Handler) breachCNILDraft(w http.ResponseWriter, r *http.Request) {
	st, id, ok := h.breachTarget(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	d, err := h.app.Breaches.CNILDraft(r.Context(), st, id)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// LettersBody is a page of letters.
type LettersBody struct {
	Items []breach.Letter `json:"items"`
	Next  int64           `json:"next,omitempty"`
}

func (h *Handler) breachLetters(w http.ResponseWriter, r *http.Request) {
	st, id, ok := h.breachTarget(w, r)
	if !ok || !onlyParams(w, r, "after", "limit") {
		return
	}
	after, limit := int64(0), 100
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badRequest(w, "after", "type.integer", "un numéro de personne (entier positif ou nul) est attendu")
			return
		}
		after = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > breach.MaxLetters {
			badRequest(w, "limit", "range", "un nombre de courriers entre 1 et "+strconv.Itoa(breach.MaxLetters)+" est attendu")
			return
		}
		limit = n
	}
	letters, next, err := h.app.Breaches.Letters(r.Context(), st, id, after, limit)
	if err != nil {
		h.failBreach(w, r, err)
		return
	}
	if letters == nil {
		letters = []breach.Letter{}
	}
	writeJSON(w, http.StatusOK, LettersBody{Items: letters, Next: next})
}

// breachSchemas describes the register's bodies. Write bodies are strict: any other member is
// refused (unknown_field).
func breachSchemas(schemas map[string]any) {
	integer := map[string]any{"type": "integer"}
	nullableInt := map[string]any{"type": []any{"integer", "null"}, "minimum": 0}
	when := func(desc string) map[string]any {
		return map[string]any{"type": "string", "format": "date-time", "description": desc}
	}
	text := func(max int, desc string) map[string]any {
		return map[string]any{"type": "string", "maxLength": max, "description": desc}
	}
	list := func(codes []string, desc string) map[string]any {
		return map[string]any{"type": "array", "items": enumOf(codes), "description": desc}
	}
	fields := func(write bool) map[string]any {
		f := map[string]any{
			"title":             text(200, "Short title, 3 to 200 characters; sealed at rest"),
			"occurred_at":       when("When the breach began; empty when unknown"),
			"detected_at":       when("When anyone (a processor included) detected it; never after aware_at; default aware_at"),
			"aware_at":          when("When the company became aware of it: the 72-hour clock starts there (art. 33(1)); required, never in the future, never changed once recorded"),
			"ended_at":          when("When it ended; empty while ongoing or unknown"),
			"nature":            list(breach.Codes(breach.Natures), "One or more"),
			"origin":            enumOf(breach.Codes(breach.Origins)),
			"cause":             enumOf(breach.Codes(breach.Causes)),
			"description":       text(8000, "What happened and how it was found, 10 characters at least; sealed at rest"),
			"data_categories":   list(breach.Codes(breach.DataCategories), "Default with a scope: the categories its tables hold"),
			"people_categories": list(breach.Codes(breach.PeopleCategories), "Default with a scope: the kinds of people found"),
			"people_count":      nullableInt,
			"records_count":     nullableInt,
			"consequences":      text(8000, "Likely consequences, 10 characters at least; sealed at rest"),
			"measures_taken":    text(8000, "Measures taken, 10 characters at least; sealed at rest"),
			"measures_proposed": text(8000, "Measures proposed; sealed at rest"),
			"advice":            text(8000, "What the people can do to protect themselves (in the letters); sealed at rest"),
			"contact":           text(300, "Contact point; default: the DPO"),
			"risk":              enumOf(breach.Codes(breach.Risks)),
			"risk_reason":       text(4000, "Why this level: why the CNIL and the people must, or need not, be told; 10 characters at least; sealed at rest"),
			"people_exemption":  map[string]any{"type": "string", "enum": append([]string{""}, breach.Codes(breach.Exemptions)...), "description": "Art. 34(3) exception, for a high risk only"},
			"scope_department":  str("Scope: the records this department's access reaches"),
			"scope_table":       str("Scope: one CRM table (persons, quotes, contracts, documents, interactions, tickets, ticket_messages, rights_requests)"),
			"scope_from":        when("Scope: records created from"),
			"scope_to":          when("Scope: records created before"),
			"scope_persons":     map[string]any{"type": "array", "items": map[string]any{"type": "integer", "minimum": 1}, "maxItems": 10000, "description": "Scope: people by number"},
		}
		if write {
			return f
		}
		f["id"] = integer
		f["people_found"] = map[string]any{"type": "integer", "description": "People the scope found in the data when the breach was recorded"}
		f["records_found"] = integer
		f["people_notified"] = map[string]any{"type": "integer", "description": "People concerned marked as informed"}
		f["cnil_required"] = map[string]any{"type": "boolean"}
		f["people_required"] = map[string]any{"type": "boolean"}
		f["clock"] = ref("BreachClock")
		f["notifications"] = map[string]any{"type": "array", "items": ref("BreachNotification")}
		f["recorded_at"] = dateTime
		f["updated_at"] = dateTime
		return f
	}
	strict := func(o map[string]any) map[string]any {
		o["additionalProperties"] = false
		return o
	}
	schemas["Breach"] = obj(fields(false), "id", "title", "aware_at", "nature", "risk", "clock", "notifications")
	schemas["NewBreach"] = strict(obj(fields(true), "title", "aware_at", "nature", "origin", "cause", "description", "consequences",
		"measures_taken", "risk", "risk_reason"))
	change := fields(true)
	delete(change, "scope_department")
	delete(change, "scope_table")
	delete(change, "scope_from")
	delete(change, "scope_to")
	delete(change, "scope_persons")
	schemas["BreachChange"] = strict(obj(change))
	schemas["BreachClock"] = obj(map[string]any{
		"state":        enumOf([]string{breach.ClockRunning, breach.ClockOverdue, breach.ClockNotified, breach.ClockNotRequired}),
		"deadline":     when("aware_at + 72 hours"),
		"seconds_left": map[string]any{"type": []any{"integer", "null"}, "description": "To the deadline, negative once passed; null once notified or when not required"},
		"notified_at":  map[string]any{"type": []any{"string", "null"}, "format": "date-time"},
		"late":         map[string]any{"type": "boolean", "description": "The initial notification came after the deadline"},
		"people":       enumOf([]string{breach.PeopleNotRequired, breach.PeopleExempted, breach.PeoplePending, breach.PeopleNotified}),
		"text":         str("The clock in French"),
	}, "state", "deadline", "people")
	notification := map[string]any{
		"recipient":       enumOf(breach.Codes(breach.Recipients)),
		"phase":           enumOf(breach.Codes(breach.Phases)),
		"sent_at":         when("When it was sent: never before aware_at, never in the future"),
		"channel":         map[string]any{"type": "string", "enum": breach.Codes(breach.Channels), "description": "cnil: teleservice, email, letter; people: email, letter, phone, public"},
		"reference":       text(64, "The number the CNIL gave the notification"),
		"people_notified": map[string]any{"type": []any{"integer", "null"}, "minimum": 0, "description": "To the people: how many were informed (default: every person concerned not yet informed, who are marked so)"},
		"late_reason":     text(4000, "Required for an initial notification to the CNIL more than 72 hours after awareness (art. 33(1)); sealed at rest"),
		"note":            text(8000, "What was sent, or what a complementary notification adds; sealed at rest"),
	}
	schemas["NewBreachNotification"] = strict(obj(notification, "recipient", "phase", "sent_at", "channel"))
	read := map[string]any{"id": integer, "recorded_at": dateTime}
	for k, v := range notification {
		read[k] = v
	}
	schemas["BreachNotification"] = obj(read, "id", "recipient", "phase", "sent_at", "channel")
	schemas["BreachDraft"] = obj(map[string]any{"subject": str(""), "text": str("Plain text, in French")}, "subject", "text")
	schemas["BreachLetter"] = obj(map[string]any{"person_id": integer, "name": str("The person's name [donnée personnelle]"),
		"address": map[string]any{"type": "array", "items": str(""), "description": "Postal address lines [donnée personnelle]"},
		"email":   str("[donnée personnelle]"), "subject": str(""), "text": str("The letter, in plain French")}, "person_id", "subject", "text")
}

// breachResponses describes the register's answers; out already holds 401 and 403.
func breachResponses(kind string, out map[string]any) map[string]any {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("Error"))}
	}
	out["403"] = errResp("Only the DPO keeps the breach register")
	breachOK := map[string]any{"description": "The breach as it now stands, with its clock", "content": jsonContent(ref("Breach"))}
	if kind != "breach-list" && kind != "breach-create" {
		out["404"] = errResp("Unknown breach")
	}
	switch kind {
	case "breach-list":
		out["400"] = errResp("Unknown parameter")
		return map[string]any{"description": "The register, latest first", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": ref("Breach")}}, "items"))}
	case "breach-create":
		out["201"] = map[string]any{"description": "Recorded", "content": jsonContent(ref("Breach"))}
		out["400"] = errResp("A field breaks a rule, named with it: aware_at missing (required) or in the future (not_future), detected_at after it (not_after_awareness), an unknown code (enum), a text too short (min_length), an exception without a high risk (high_risk_only), a scope table the department cannot read (department_access), a person named unknown or erased (exists)…; nothing was written")
		return nil
	case "breach-get":
		return breachOK
	case "breach-update":
		out["400"] = errResp("A field breaks a rule; aware_at may not change (immutable); nothing was changed")
		return breachOK
	case "breach-notify":
		out["201"] = map[string]any{"description": "Recorded; the breach with its notifications and clock", "content": jsonContent(ref("Breach"))}
		out["400"] = errResp("sent_at before awareness (not_before_awareness), in the future (not_future) or missing (required); a second initial notification to the CNIL (once), a complementary one before it (initial_first, not_before_initial); an initial one after 72 hours without late_reason (required_when_late); a channel the recipient does not use (enum); nothing was written")
		return nil
	case "breach-draft-cnil":
		out["400"] = errResp("Unknown parameter")
		return map[string]any{"description": "The draft; producing it is recorded in the audit trail", "content": jsonContent(ref("BreachDraft"))}
	case "breach-draft-letters":
		out["400"] = errResp("after or limit out of range, or an unknown parameter")
		return map[string]any{"description": "A page of letters, by person number; each reading of a name and address is recorded in the audit trail",
			"content": jsonContent(obj(map[string]any{"items": map[string]any{"type": "array", "items": ref("BreachLetter")},
				"next": map[string]any{"type": "integer", "description": "Cursor of the next page (?after=)"}}, "items"))}
	}
	return nil
}
