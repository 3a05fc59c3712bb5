package api

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/rights"
)

// The rights desk through the API (DESIGN §7, R24–R32): the queue of requests with their clock,
// the steps that answer a request (identity, extension, closure, erasure), and what the DPO does
// for a person as a whole (access and portability exports, restriction, death, post-mortem
// directive). The rights service does the work and checks the rules; these handlers decide who
// may call it:
//   - a request belongs to the departments that may write rights_requests, each for the requests
//     of its own purposes (the dictionary's row rule): the DPO answers every right, the quotes
//     department the human reviews of automated prices;
//   - everything done to a person as a whole is the DPO's, the department working for the
//     compliance purpose.

// compliancePurpose is the purpose of the DPO's work on people's rights.
const compliancePurpose = "compliance"

// RightsRequestBody is a rights request as the queue shows it: its clock and its state, never its
// texts (the details, the outcome and the reasons stay sealed).
type RightsRequestBody struct {
	ID            int64      `json:"id"`
	PersonID      int64      `json:"person_id"`
	Type          string     `json:"type"`
	Channel       string     `json:"channel"`
	Status        string     `json:"status"`
	IdentityCheck string     `json:"identity_check"`
	ReceivedAt    time.Time  `json:"received_at"`
	DueAt         time.Time  `json:"due_at"`
	ExtendedAt    *time.Time `json:"extended_at"`
	ClosedAt      *time.Time `json:"closed_at"`
	Evidence      *string    `json:"evidence"`
	// DaysLeft is the whole days before the deadline, rounded down: 0 on the last day, -2 two days
	// late; null once the request is answered.
	DaysLeft *int `json:"days_left"`
}

func requestBody(q rights.Request, now time.Time) RightsRequestBody {
	b := RightsRequestBody{ID: q.ID, PersonID: q.PersonID, Type: q.Type, Channel: q.Channel, Status: q.Status,
		IdentityCheck: q.IdentityCheck, ReceivedAt: q.ReceivedAt, DueAt: q.DueAt}
	if q.ExtendedAt.Valid {
		t := q.ExtendedAt.Time.UTC()
		b.ExtendedAt = &t
	}
	if q.ClosedAt.Valid {
		t := q.ClosedAt.Time.UTC()
		b.ClosedAt = &t
	}
	if q.Evidence != "" {
		b.Evidence = &q.Evidence
	}
	if q.Open() {
		days := int(math.Floor(q.TimeLeft(now).Hours() / 24))
		b.DaysLeft = &days
	}
	return b
}

// DeathBody says what recording a death applied (LIL art. 85).
type DeathBody struct {
	PersonID int64 `json:"person_id"`
	// Directive is the instruction the person left: erase, transmit, keep, or "" without one.
	Directive string `json:"directive"`
	Applied   string `json:"applied"`
	// Certificate is the erasure's, when the directive was to erase.
	Certificate *rights.Certificate `json:"certificate,omitempty"`
	// RequestID is the task opened for the DPO: transmit to the trusted contact, or answer heirs.
	RequestID int64 `json:"request_id,omitempty"`
}

// DirectiveBody is a recorded post-mortem directive, without its texts.
type DirectiveBody struct {
	PersonID    int64     `json:"person_id"`
	Instruction string    `json:"instruction"`
	RecordedAt  time.Time `json:"recorded_at"`
}

// RestrictionBody is the person's restriction state after a restriction or its lifting.
type RestrictionBody struct {
	PersonID   int64 `json:"person_id"`
	Restricted bool  `json:"restricted"`
}

func staffOf(c *caller) rights.Staff {
	return rights.Staff{UserID: c.user.ID, Department: c.user.Department}
}

// onlyParams refuses a query parameter the route does not know.
func onlyParams(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for name := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			msg := "paramètre inconnu"
			if len(allowed) > 0 {
				msg += " ; admis : " + strings.Join(allowed, ", ")
			}
			badRequest(w, name, "unknown_parameter", msg)
			return false
		}
	}
	return true
}

// dpoPerson lets the DPO through and reads the person's id from the path.
func (h *Handler) dpoPerson(w http.ResponseWriter, r *http.Request) (int64, rights.Staff, bool) {
	c := callerOf(r)
	if !slices.Contains(c.actor.Purposes, compliancePurpose) {
		writeError(w, http.StatusForbidden, "forbidden", "réservé au DPO : les droits d'une personne sont traités par le délégué à la protection des données", nil)
		return 0, rights.Staff{}, false
	}
	id, ok := pathID(w, r)
	return id, staffOf(c), ok
}

// deskRequest loads the request of the path if the caller's department answers it.
func (h *Handler) deskRequest(w http.ResponseWriter, r *http.Request) (rights.Request, rights.Staff, bool) {
	c := callerOf(r)
	if !h.app.Dict.Table("rights_requests").CanWrite(c.user.Department) {
		writeError(w, http.StatusForbidden, "forbidden", "les demandes d'exercice de droits sont traitées par le DPO (et les réexamens de tarif par le service devis)", nil)
		return rights.Request{}, rights.Staff{}, false
	}
	id, ok := pathID(w, r)
	if !ok {
		return rights.Request{}, rights.Staff{}, false
	}
	q, err := h.app.Rights.Get(r.Context(), id)
	if err != nil {
		h.failRights(w, r, err)
		return q, rights.Staff{}, false
	}
	if !slices.Contains(c.actor.Purposes, q.Purpose) {
		writeError(w, http.StatusForbidden, "forbidden", "cette demande est traitée par un autre service", nil)
		return q, rights.Staff{}, false
	}
	return q, staffOf(c), true
}

// answerRequest answers with the request as it now stands.
func (h *Handler) answerRequest(w http.ResponseWriter, r *http.Request, id int64) {
	q, err := h.app.Rights.Get(r.Context(), id)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, requestBody(q, h.app.Now()))
}

// rightsQueue lists the requests of the caller's department, the open ones first by time left
// (R32), then with ?closed=true the latest answered ones.
func (h *Handler) rightsQueue(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !h.app.Dict.Table("rights_requests").CanRead(c.user.Department) {
		writeError(w, http.StatusForbidden, "forbidden", "les demandes d'exercice de droits sont traitées par le DPO (et les réexamens de tarif par le service devis)", nil)
		return
	}
	if !onlyParams(w, r, "closed") {
		return
	}
	closed := false
	if s := r.URL.Query().Get("closed"); s != "" {
		if s != "true" && s != "false" {
			badRequest(w, "closed", "type.boolean", "true ou false attendu")
			return
		}
		closed = s == "true"
	}
	reqs, err := h.app.Rights.Queue(r.Context(), c.user.Department, closed)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	now := h.app.Now()
	items := []RightsRequestBody{}
	for _, q := range reqs {
		items = append(items, requestBody(q, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// accessFormats are the layouts of the access archive (art. 15); zip holds the three others and
// the documents' contents.
var accessFormats = map[string]struct{ contentType, ext string }{
	"json": {"application/json; charset=utf-8", "json"},
	"csv":  {"text/csv; charset=utf-8", "csv"},
	"html": {"text/html; charset=utf-8", "html"},
	"zip":  {"application/zip", "zip"},
}

// rightsAccess answers the right of access (art. 15, R24): everything Vigie holds on the person,
// with purposes, legal bases, recipients, retention and sources. The archive is built whole
// before anything is sent, and the export is recorded in the audit trail (with the ZIP's SHA-256,
// also given in the X-Vigie-Evidence header to close the request with).
func (h *Handler) rightsAccess(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok || !onlyParams(w, r, "format") {
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	f, known := accessFormats[format]
	if !known {
		badRequest(w, "format", "enum", "valeurs admises : json, csv, html, zip")
		return
	}
	ar, err := h.app.Rights.Access(r.Context(), st, id)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	var buf bytes.Buffer
	var evidence string
	switch format {
	case "json":
		err = ar.WriteJSON(&buf)
	case "csv":
		err = ar.WriteCSV(&buf)
	case "html":
		err = ar.WriteHTML(&buf)
	case "zip":
		evidence, err = ar.WriteZIP(&buf)
	}
	if err == nil {
		err = h.recordExport(r, st, id, "access "+format, evidence)
	}
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	if evidence != "" {
		w.Header().Set("X-Vigie-Evidence", evidence)
	}
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	sendFile(w, f.contentType, fmt.Sprintf("acces-personne-%d.%s", id, f.ext), buf.Bytes())
}

// rightsPortability answers the right to portability (art. 20, R27): the data the person
// provided, as JSON.
func (h *Handler) rightsPortability(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	p, err := h.app.Rights.Portability(r.Context(), st, id)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	var buf bytes.Buffer
	err = p.WriteJSON(&buf)
	if err == nil {
		err = h.recordExport(r, st, id, "portability json", "")
	}
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	sendFile(w, "application/json; charset=utf-8", fmt.Sprintf("portabilite-personne-%d.json", id), buf.Bytes())
}

// recordExport records that a person's data left Vigie: which export, and its evidence.
func (h *Handler) recordExport(r *http.Request, st rights.Staff, personID int64, detail, evidence string) error {
	if evidence != "" {
		detail += " " + evidence
	}
	return h.app.Audit.Record(r.Context(), audit.Event{UserID: st.UserID, Department: st.Department, Action: audit.ActionExport,
		Table: "persons", RowID: personID, Subject: h.app.Audit.Subject(personID), Purpose: compliancePurpose, Detail: detail})
}

func sendFile(w http.ResponseWriter, contentType, filename string, content []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(content)
}

// extendRequest pushes the deadline to three months after receipt (art. 12(3)), once, inside the
// first month; the reason is sent to the person.
func (h *Handler) extendRequest(w http.ResponseWriter, r *http.Request) {
	q, st, ok := h.deskRequest(w, r)
	if !ok {
		return
	}
	var reason string
	if !decodeFields(w, r, map[string]any{"reason": &reason}) {
		return
	}
	if err := h.app.Rights.Extend(r.Context(), st, q.ID, reason); err != nil {
		h.failRights(w, r, err)
		return
	}
	h.answerRequest(w, r, q.ID)
}

// closeRequest answers a request: closed with its outcome, or refused with the reason
// (art. 12(4)); the outcome is sent to the person.
func (h *Handler) closeRequest(w http.ResponseWriter, r *http.Request) {
	q, st, ok := h.deskRequest(w, r)
	if !ok {
		return
	}
	var status, outcome, evidence string
	if !decodeFields(w, r, map[string]any{"status": &status, "outcome": &outcome, "evidence": &evidence}) {
		return
	}
	if len(evidence) > 80 {
		badRequest(w, "evidence", "max_length", "80 caractères au plus (l'empreinte sha256:… de la réponse remise)")
		return
	}
	if err := h.app.Rights.Close(r.Context(), st, q.ID, status, outcome, evidence); err != nil {
		h.failRights(w, r, err)
		return
	}
	h.answerRequest(w, r, q.ID)
}

// setIdentityCheck records how the requester's identity was checked (art. 12(6)).
func (h *Handler) setIdentityCheck(w http.ResponseWriter, r *http.Request) {
	q, st, ok := h.deskRequest(w, r)
	if !ok {
		return
	}
	var check string
	if !decodeFields(w, r, map[string]any{"identity_check": &check}) {
		return
	}
	if err := h.app.Rights.SetIdentityCheck(r.Context(), st, q.ID, check); err != nil {
		h.failRights(w, r, err)
		return
	}
	h.answerRequest(w, r, q.ID)
}

// eraseForRequest answers an erasure request (art. 17, R26): the person is erased in one
// transaction and the request closed with the certificate's SHA-256. The POST is the DPO's
// confirmation; nothing can undo it.
func (h *Handler) eraseForRequest(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !slices.Contains(c.actor.Purposes, compliancePurpose) {
		writeError(w, http.StatusForbidden, "forbidden", "réservé au DPO : seul le délégué à la protection des données efface une personne", nil)
		return
	}
	q, st, ok := h.deskRequest(w, r)
	if !ok {
		return
	}
	if q.Type != "erasure" {
		badRequest(w, "type", "erasure", "seule une demande d'effacement efface la personne ; cette demande est de type "+q.Type)
		return
	}
	cert, err := h.app.Rights.Erase(r.Context(), st, q.PersonID, q.ID)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cert)
}

// restrictPerson freezes the processing of a person's data (art. 18, R29), for a restriction
// request of theirs when request_id names one.
func (h *Handler) restrictPerson(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok {
		return
	}
	var reason string
	var requestID int64
	if !decodeFields(w, r, map[string]any{"reason": &reason, "request_id": &requestID}) {
		return
	}
	if err := h.app.Rights.Restrict(r.Context(), st, id, requestID, reason); err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, RestrictionBody{PersonID: id, Restricted: true})
}

// liftRestriction ends a restriction, with the reason sent to the person (art. 18(3)).
func (h *Handler) liftRestriction(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok {
		return
	}
	var reason string
	if !decodeFields(w, r, map[string]any{"reason": &reason}) {
		return
	}
	if err := h.app.Rights.Lift(r.Context(), st, id, reason); err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, RestrictionBody{PersonID: id, Restricted: false})
}

// deathApplied says in French what each directive does at the death (LIL art. 85).
var deathApplied = map[string]string{
	"erase":         "directive « effacer » : la personne est effacée (certificat joint)",
	"transmit":      "directive « transmettre » : traitement limité ; une tâche est ouverte pour le DPO, qui transmet les données à la personne désignée",
	"keep":          "directive « conserver » : données conservées pour la durée prévue, sans autre traitement ; une tâche est ouverte pour le DPO",
	"":              "sans directive : traitement limité ; une tâche est ouverte pour le DPO, qui répond aux demandes des héritiers (LIL art. 85 II)",
	"erase_on_hold": "directive « effacer » suspendue par un gel juridique (art. 17(3)(e)) : traitement limité ; une tâche est ouverte pour le DPO, qui efface à la levée du gel",
}

// recordDeath records that the person died and applies their post-mortem directive (R30).
func (h *Handler) recordDeath(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok {
		return
	}
	out, err := h.app.Rights.RecordDeath(r.Context(), st, id)
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DeathBody{PersonID: id, Directive: out.Directive, Applied: deathApplied[out.Directive],
		Certificate: out.Certificate, RequestID: out.RequestID})
}

// setDirective records, or replaces, the post-mortem directive the person gave by letter
// (LIL art. 85).
func (h *Handler) setDirective(w http.ResponseWriter, r *http.Request) {
	id, st, ok := h.dpoPerson(w, r)
	if !ok {
		return
	}
	var d rights.Directive
	if !decodeFields(w, r, map[string]any{"instruction": &d.Instruction, "trusted_contact": &d.TrustedContact, "wishes": &d.Wishes}) {
		return
	}
	if err := h.app.Rights.SetDirective(r.Context(), st, id, d); err != nil {
		h.failRights(w, r, err)
		return
	}
	got, err := h.app.Rights.GetDirective(r.Context(), st, id)
	if err == nil && got == nil {
		err = errors.New("api: directive not found after recording it")
	}
	if err != nil {
		h.failRights(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DirectiveBody{PersonID: id, Instruction: got.Instruction, RecordedAt: got.RecordedAt.UTC()})
}

// failRights maps a refusal of the rights service to its answer; the messages are the service's
// own, which hold no personal data.
func (h *Handler) failRights(w http.ResponseWriter, r *http.Request, err error) {
	var ie *rights.InputError
	conflict := func(code string, sentinel error, rule string) {
		msg := strings.TrimPrefix(sentinel.Error(), "rights: ") + " ; rien n'a été modifié"
		writeError(w, http.StatusConflict, code, msg, []*FieldIssue{{Field: "person_id", Rule: rule, Message: msg}})
	}
	switch {
	case errors.As(err, &ie):
		badRequest(w, ie.Field, ie.Rule, ie.Message+" ; rien n'a été modifié")
	case errors.Is(err, rights.ErrErased):
		conflict("erased", rights.ErrErased, "not_erased")
	case errors.Is(err, rights.ErrLegalHold):
		conflict("legal_hold", rights.ErrLegalHold, "legal_hold")
	case errors.Is(err, rights.ErrUnknownPerson):
		writeError(w, http.StatusNotFound, "not_found", "personne inconnue", nil)
	default:
		h.fail(w, r, err)
	}
}
