package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/consent"
	"vigie/internal/record"
)

// ConsentEntry is one line of a person's consent history.
type ConsentEntry struct {
	ID         int64     `json:"id"`
	Purpose    string    `json:"purpose"`
	Granted    bool      `json:"granted"`
	GivenAt    time.Time `json:"given_at"`
	Channel    string    `json:"channel"`
	Method     string    `json:"method"`
	NoticeHash string    `json:"notice_hash,omitempty"`
	RecordedBy int64     `json:"recorded_by,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

// ConsentsBody is a person's consents: the latest choice per purpose and the whole history.
type ConsentsBody struct {
	Current map[string]ConsentEntry `json:"current"`
	History []ConsentEntry          `json:"history"`
}

// NewConsent is a choice told to a staff member (by phone, at the agency) and recorded by them.
type NewConsent struct {
	Purpose string     `json:"purpose"`
	Granted *bool      `json:"granted"`
	Channel string     `json:"channel"`
	GivenAt *time.Time `json:"given_at"`
}

// NewObjection is an objection (art. 21) told to a staff member.
type NewObjection struct {
	Purpose string `json:"purpose"`
	Channel string `json:"channel"`
}

// decodeFields reads a JSON object whose members may only be the given fields, each decoded into
// its destination; an unknown member or a wrong type is refused by name.
func decodeFields(w http.ResponseWriter, r *http.Request, dst map[string]any) bool {
	body, ok := decodeObject(w, r)
	if !ok {
		return false
	}
	for k, v := range body {
		d, known := dst[k]
		if !known {
			badRequest(w, k, "unknown_field", "champ inconnu ; attendus : "+strings.Join(slices.Sorted(maps.Keys(dst)), ", "))
			return false
		}
		if err := json.Unmarshal(v, d); err != nil {
			badRequest(w, k, "type", "valeur du mauvais type")
			return false
		}
	}
	return true
}

// personFor checks that the caller's department may see the person (R08, and an objection to
// prospection hides the person from prospection) and may use the consent tables.
func (h *Handler) personFor(w http.ResponseWriter, r *http.Request, table string, write bool) (int64, *caller, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return 0, nil, false
	}
	c := callerOf(r)
	// These tables are internal (no generic route reaches them); their departments lists still say
	// who may use them through these routes.
	t := h.app.Dict.Table(table)
	if write && !slices.Contains(t.Write, c.user.Department) || !write && !slices.Contains(t.Read, c.user.Department) {
		writeError(w, http.StatusForbidden, "forbidden", t.Label+" : ce service n'y a pas accès", nil)
		return 0, nil, false
	}
	if _, err := h.app.Records.Get(r.Context(), c.actor, "persons", id); err != nil {
		h.fail(w, r, err)
		return 0, nil, false
	}
	return id, c, true
}

func (h *Handler) listConsents(w http.ResponseWriter, r *http.Request) {
	id, c, ok := h.personFor(w, r, "consents", false)
	if !ok {
		return
	}
	history, err := h.app.Consent.History(r.Context(), id, c.user.ID, c.user.Department)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body := ConsentsBody{Current: map[string]ConsentEntry{}, History: []ConsentEntry{}}
	for _, e := range history {
		entry := ConsentEntry(e)
		body.History = append(body.History, entry)
		body.Current[e.Purpose] = entry
	}
	writeJSON(w, http.StatusOK, body)
}

func (h *Handler) createConsent(w http.ResponseWriter, r *http.Request) {
	id, c, ok := h.personFor(w, r, "consents", true)
	if !ok {
		return
	}
	var in NewConsent
	if !decodeFields(w, r, map[string]any{"purpose": &in.Purpose, "granted": &in.Granted, "channel": &in.Channel, "given_at": &in.GivenAt}) {
		return
	}
	if in.Granted == nil {
		badRequest(w, "granted", "required", "true (accordé) ou false (refusé) est obligatoire")
		return
	}
	p := consent.Proof{Channel: in.Channel, Method: consent.MethodStaff, RecordedBy: c.user.ID, Department: c.user.Department}
	if in.GivenAt != nil {
		p.GivenAt = *in.GivenAt
	}
	if err := h.app.Consent.Record(r.Context(), id, []consent.Choice{{Purpose: in.Purpose, Granted: *in.Granted}}, p); err != nil {
		h.failConsent(w, r, err)
		return
	}
	h.listConsents(w, r)
}

func (h *Handler) createObjection(w http.ResponseWriter, r *http.Request) {
	id, c, ok := h.personFor(w, r, "objections", true)
	if !ok {
		return
	}
	var in NewObjection
	if !decodeFields(w, r, map[string]any{"purpose": &in.Purpose, "channel": &in.Channel}) {
		return
	}
	p := consent.Proof{Channel: in.Channel, RecordedBy: c.user.ID, Department: c.user.Department}
	if err := h.app.Consent.Object(r.Context(), id, in.Purpose, p); err != nil {
		h.failConsent(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"person_id": id, "purpose": in.Purpose,
		"effect": objectionEffect(in.Purpose)})
}

func objectionEffect(purpose string) string {
	if purpose == "prospection" {
		return "absolue et immédiate : la personne disparaît des listes et exports de prospection ; son e-mail et son téléphone rejoignent la liste d'opposition"
	}
	return "enregistrée pour le DPO, qui l'examine (art. 21(1))"
}

func (h *Handler) failConsent(w http.ResponseWriter, r *http.Request, err error) {
	var ie *consent.InputError
	switch {
	case errors.As(err, &ie):
		badRequest(w, ie.Field, ie.Rule, ie.Message)
	case errors.Is(err, consent.ErrUnknownPerson):
		writeError(w, http.StatusNotFound, "not_found", "introuvable", nil)
	default:
		h.fail(w, r, err)
	}
}

// prospectionTargets lists the persons a prospection campaign may reach right now through a
// channel: consent checked at the moment of use (R20), objections and restrictions excluded
// (R28, R29). Each person is read through the store, so the read is audited and only the fields
// prospection may see are returned.
func (h *Handler) prospectionTargets(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !slices.Contains(c.actor.Purposes, "prospection") {
		writeError(w, http.StatusForbidden, "forbidden", "réservé au service prospection", nil)
		return
	}
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains([]string{"purpose", "after", "limit"}, name) {
			badRequest(w, name, "unknown_parameter", "paramètre inconnu ; admis : purpose, after, limit")
			return
		}
	}
	purpose := q.Get("purpose")
	if p := consent.PurposeByCode(purpose); p == nil || p.Register != "prospection" {
		badRequest(w, "purpose", "enum", "valeurs admises : prospection_email, prospection_phone")
		return
	}
	after, limit := int64(0), 50
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			badRequest(w, "after", "type.integer", "entier positif ou nul attendu")
			return
		}
		after = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > record.MaxPage {
			badRequest(w, "limit", "range", "entier de 1 à "+strconv.Itoa(record.MaxPage)+" attendu")
			return
		}
		limit = n
	}
	ids, err := h.app.Consent.Targets(r.Context(), purpose, after, limit+1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var next int64
	if len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	items := []*record.Record{}
	for _, id := range ids {
		rec, err := h.app.Records.Get(r.Context(), c.actor, "persons", id)
		if errors.Is(err, record.ErrNotFound) {
			continue // objected or erased between the two reads
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		items = append(items, rec)
	}
	body := map[string]any{"items": items}
	if next != 0 {
		body["next"] = next
	}
	writeJSON(w, http.StatusOK, body)
}
