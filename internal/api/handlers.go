package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"vigie/internal/record"
)

// maxBody bounds a request body: a 10 MiB document, base64-encoded, with room for its metadata.
const maxBody = 15 << 20

// decodeObject reads a JSON object strictly: malformed JSON, a value that is not an object,
// trailing data and duplicate keys are refused with a message that says which.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "le corps doit être du JSON (Content-Type: application/json)", nil)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("corps de requête trop grand (%d octets au plus)", maxBody), nil)
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		badRequest(w, "body", "json.object", "un objet JSON est attendu")
		return nil, false
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			badRequest(w, "body", "json.syntax", "JSON mal formé")
			return nil, false
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			badRequest(w, "body", "json.syntax", "JSON mal formé")
			return nil, false
		}
		if _, dup := out[key]; dup {
			badRequest(w, key, "json.duplicate", "champ présent deux fois")
			return nil, false
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		badRequest(w, "body", "json.syntax", "JSON mal formé")
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		badRequest(w, "body", "json.trailing", "données après l'objet JSON")
		return nil, false
	}
	return out, true
}

// input splits a request object into the record's fields and the collection metadata: `_channel`
// (how the values were collected), `_purpose` (for which purpose), and for a new quote
// `_prefill_from_quote` and `_person_confirmed` (the purpose and freshness guard, R22–R23).
func input(w http.ResponseWriter, body map[string]json.RawMessage) (record.Input, bool) {
	in := record.Input{Fields: map[string]json.RawMessage{}}
	for k, v := range body {
		switch k {
		case "_channel", "_purpose":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				badRequest(w, k, "type.string", "une chaîne de caractères est attendue")
				return in, false
			}
			if k == "_channel" {
				in.Channel = s
			} else {
				in.Purpose = s
			}
		case "_prefill_from_quote":
			if err := json.Unmarshal(v, &in.PrefillFromQuote); err != nil || in.PrefillFromQuote <= 0 {
				badRequest(w, k, "type.integer", "identifiant entier positif d'un devis attendu")
				return in, false
			}
		case "_person_confirmed":
			if err := json.Unmarshal(v, &in.PersonConfirmed); err != nil {
				badRequest(w, k, "type.boolean", "true ou false attendu")
				return in, false
			}
		default:
			in.Fields[k] = v
		}
	}
	return in, true
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		badRequest(w, "id", "type.integer", "identifiant entier positif attendu")
		return 0, false
	}
	return id, true
}

// wantProvenance reports whether the caller asked, with ?include=provenance, for when, how and for
// which purpose each value was collected.
func wantProvenance(w http.ResponseWriter, r *http.Request, allowed ...string) (bool, bool) {
	q := r.URL.Query()
	for k := range q {
		if k != "include" && !slices.Contains(allowed, k) {
			badRequest(w, k, "unknown_parameter", "paramètre inconnu")
			return false, false
		}
	}
	switch q.Get("include") {
	case "":
		return false, true
	case "provenance":
		return true, true
	}
	badRequest(w, "include", "enum", "seule la valeur provenance est admise")
	return false, false
}

func present(rec *record.Record, provenance bool) *record.Record {
	if !provenance {
		rec.Provenance = nil
	}
	return rec
}

// ListBody is a page of records.
type ListBody struct {
	Items []*record.Record `json:"items"`
	// Next is the cursor of the next page (?after=Next), absent on the last page.
	Next int64 `json:"next,omitempty"`
}

func writeList(w http.ResponseWriter, items []*record.Record, next int64, provenance bool) {
	for _, it := range items {
		present(it, provenance)
	}
	if items == nil {
		items = []*record.Record{}
	}
	writeJSON(w, http.StatusOK, ListBody{Items: items, Next: next})
}

func (h *Handler) list(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r)
		q := r.URL.Query()
		allowed := append([]string{"after", "limit", "person_id"}, res.Search...)
		prov, ok := wantProvenance(w, r, allowed...)
		if !ok {
			return
		}
		lq := record.ListQuery{Filter: map[string]int64{}}
		for name, dst := range map[string]*int64{"after": &lq.After, "person_id": nil} {
			s := q.Get(name)
			if s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				badRequest(w, name, "type.integer", "entier positif attendu")
				return
			}
			if dst != nil {
				*dst = n
			} else {
				lq.Filter[name] = n
			}
		}
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > record.MaxPage {
				badRequest(w, "limit", "range", fmt.Sprintf("entier entre 1 et %d attendu", record.MaxPage))
				return
			}
			lq.Limit = n
		}
		var searches []string
		for _, f := range res.Search {
			if q.Has(f) {
				searches = append(searches, f)
			}
		}
		var items []*record.Record
		var next int64
		var err error
		switch {
		case len(searches) > 1:
			badRequest(w, searches[1], "search", "une seule recherche à la fois")
			return
		case len(searches) == 1:
			if lq.After != 0 || len(lq.Filter) > 0 {
				badRequest(w, searches[0], "search", "la recherche ne se combine pas avec after ni person_id")
				return
			}
			items, err = h.app.Records.Search(r.Context(), c.actor, res.Table, searches[0], q.Get(searches[0]), lq.Limit)
		default:
			items, next, err = h.app.Records.List(r.Context(), c.actor, res.Table, lq)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeList(w, items, next, prov)
	}
}

func (h *Handler) get(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		prov, ok := wantProvenance(w, r)
		if !ok {
			return
		}
		rec, err := h.app.Records.Get(r.Context(), callerOf(r).actor, res.Table, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, present(rec, prov))
	}
}

func (h *Handler) create(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		in, ok := input(w, body)
		if !ok {
			return
		}
		rec, err := h.app.Records.Create(r.Context(), callerOf(r).actor, res.Table, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/"+res.Path+"/"+strconv.FormatInt(rec.ID, 10))
		writeJSON(w, http.StatusCreated, present(rec, false))
	}
}

func (h *Handler) update(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		in, ok := input(w, body)
		if !ok {
			return
		}
		if len(in.Fields) == 0 {
			badRequest(w, "body", "empty", "aucun champ à modifier")
			return
		}
		rec, err := h.app.Records.Update(r.Context(), callerOf(r).actor, res.Table, id, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, present(rec, false))
	}
}

func (h *Handler) content(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		a := callerOf(r).actor
		rec, err := h.app.Records.Get(r.Context(), a, res.Table, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		b, err := h.app.Records.Blob(r.Context(), a, res.Table, id, "content")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ct, _ := rec.Get("content_type").(string)
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="document-%d"`, id))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	}
}

func (h *Handler) listMessages(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		prov, ok := wantProvenance(w, r)
		if !ok {
			return
		}
		a := callerOf(r).actor
		if _, err := h.app.Records.Get(r.Context(), a, "tickets", id); err != nil {
			h.fail(w, r, err)
			return
		}
		items, next, err := h.app.Records.List(r.Context(), a, res.Table, record.ListQuery{Limit: record.MaxPage, Filter: map[string]int64{"ticket_id": id}})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeList(w, items, next, prov)
	}
}

func (h *Handler) createMessage(res *Resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		body, ok := decodeObject(w, r)
		if !ok {
			return
		}
		in, ok := input(w, body)
		if !ok {
			return
		}
		in.Parent = id
		rec, err := h.app.Records.Create(r.Context(), callerOf(r).actor, res.Table, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, present(rec, false))
	}
}

func (h *Handler) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := h.app.Auth.LogoutEverywhere(r.Context(), callerOf(r).user); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.app.Auth.RevokeToken(r.Context(), callerOf(r).token); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MeBody describes the caller and, from the dictionary, the fields their department may read
// and write in each table it can reach.
type MeBody struct {
	Email      string                 `json:"email"`
	Name       string                 `json:"display_name"`
	Department string                 `json:"department"`
	Purposes   []string               `json:"purposes"`
	Access     map[string]TableAccess `json:"access"`
}

// TableAccess lists a department's readable and writable fields of one table.
type TableAccess struct {
	Read  []string `json:"read"`
	Write []string `json:"write"`
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	body := MeBody{Email: c.user.Email, Name: c.user.DisplayName, Department: c.user.Department, Purposes: c.actor.Purposes, Access: map[string]TableAccess{}}
	for _, t := range h.app.Dict.Tables {
		if !t.CanRead(c.user.Department) {
			continue
		}
		ta := TableAccess{Read: []string{}, Write: []string{}}
		for _, col := range t.Columns {
			if col.CanRead(c.user.Department) {
				ta.Read = append(ta.Read, col.Name)
			}
			if col.CanWrite(c.user.Department) {
				ta.Write = append(ta.Write, col.Name)
			}
		}
		body.Access[t.Name] = ta
	}
	writeJSON(w, http.StatusOK, body)
}

// UserBody is a staff user as the API shows it.
type UserBody struct {
	ID          int64  `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Department  string `json:"department"`
	Disabled    bool   `json:"disabled"`
	// Locked, MustChangePassword and TOTPEnrolled are the state of the account's credentials.
	Locked             bool `json:"locked"`
	MustChangePassword bool `json:"must_change_password"`
	TOTPEnrolled       bool `json:"totp_enrolled"`
}

func (h *Handler) requireUsersTable(w http.ResponseWriter, r *http.Request, write bool) bool {
	t := h.app.Dict.Table("users")
	dep := callerOf(r).user.Department
	if write && !t.CanWrite(dep) || !write && !t.CanRead(dep) {
		writeError(w, http.StatusForbidden, "forbidden", "seule l'administration informatique gère les comptes", nil)
		return false
	}
	return true
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	if !h.requireUsersTable(w, r, false) {
		return
	}
	if _, ok := wantProvenance(w, r); !ok {
		return
	}
	users, err := h.app.Auth.Users(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []UserBody{}
	for _, u := range users {
		out = append(out, UserBody{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Department: u.Department, Disabled: u.Disabled,
			Locked: u.Locked(h.app.Now()), MustChangePassword: u.MustChangePassword, TOTPEnrolled: u.TOTPEnrolled})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	if !h.requireUsersTable(w, r, true) {
		return
	}
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	vals := map[string]string{}
	for k, v := range body {
		if !slices.Contains([]string{"email", "display_name", "department", "password"}, k) {
			badRequest(w, k, "unknown_field", "champ inconnu ; attendus : email, display_name, department, password")
			return
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			badRequest(w, k, "type.string", "une chaîne de caractères est attendue")
			return
		}
		vals[k] = s
	}
	u, err := h.app.Auth.ProvisionUser(r.Context(), vals["email"], vals["display_name"], vals["department"], vals["password"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, UserBody{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Department: u.Department})
}
