// Package api is Vigie's JSON API under /api/v1/. Handlers decode, validate, call the governed
// store and answer; the store decides what a department may read or write, and this package only
// maps its errors to statuses and to messages that name the field and the rule.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/reqlog"
)

// Resource is a collection of the API and the table behind it.
type Resource struct {
	Path  string // URL segment, e.g. "persons"
	Table string
	// Search lists the query parameters that search a field through the blind index.
	Search []string
}

// Resources are the CRM collections, each served with the same five operations.
var Resources = []Resource{
	{Path: "persons", Table: "persons", Search: []string{"email", "phone", "last_name"}},
	{Path: "quotes", Table: "quotes", Search: []string{"plate"}},
	{Path: "contracts", Table: "contracts"},
	{Path: "documents", Table: "documents"},
	{Path: "interactions", Table: "interactions"},
	{Path: "tickets", Table: "tickets"},
	{Path: "rights_requests", Table: "rights_requests"},
}

// Route is one operation of the API: the route table below serves both the mux and the OpenAPI
// document, so a route cannot exist without its description.
type Route struct {
	Method, Pattern, Summary, OperationID string
	Kind                                  string // list, create, get, update, content, messages, message-create, or a fixed operation
	Resource                              *Resource
	Public                                bool
	handler                               http.HandlerFunc
}

// Handler serves the API.
type Handler struct {
	app    *app.App
	routes []Route
	mux    *http.ServeMux
}

// New builds the API handler and its route table.
func New(a *app.App) *Handler {
	h := &Handler{app: a, mux: http.NewServeMux()}
	h.routes = []Route{
		{Method: "GET", Pattern: "/api/v1/openapi.json", Summary: "This OpenAPI document", OperationID: "openapi", Kind: "openapi", Public: true, handler: h.openapi},
		{Method: "POST", Pattern: "/api/v1/session", Summary: "Log in: exchange an email, a password and a TOTP code (or a recovery code) for a bearer token", OperationID: "createSession", Kind: "login", Public: true, handler: h.login},
		{Method: "POST", Pattern: "/api/v1/session/password", Summary: "Change the password (expired, forced or voluntary) and log in", OperationID: "changePassword", Kind: "password-change", Public: true, handler: h.changePassword},
		{Method: "DELETE", Pattern: "/api/v1/session", Summary: "Log out: revoke the bearer token", OperationID: "deleteSession", Kind: "logout", handler: h.logout},
		{Method: "DELETE", Pattern: "/api/v1/sessions", Summary: "Log out everywhere: end every session of the caller, on every device", OperationID: "deleteSessions", Kind: "logout", handler: h.logoutEverywhere},
		{Method: "GET", Pattern: "/api/v1/me", Summary: "The current user and what their department may read and write", OperationID: "me", Kind: "me", handler: h.me},
		{Method: "GET", Pattern: "/api/v1/users", Summary: "List staff users (admin)", OperationID: "listUsers", Kind: "users", handler: h.listUsers},
		{Method: "POST", Pattern: "/api/v1/users", Summary: "Create a staff user (admin)", OperationID: "createUser", Kind: "user-create", handler: h.createUser},
	}
	for i := range Resources {
		r := &Resources[i]
		base := "/api/v1/" + r.Path
		h.routes = append(h.routes,
			Route{Method: "GET", Pattern: base, Summary: "List or search " + r.Path, OperationID: "list_" + r.Path, Kind: "list", Resource: r, handler: h.list(r)},
			Route{Method: "POST", Pattern: base, Summary: "Create one of " + r.Path, OperationID: "create_" + r.Path, Kind: "create", Resource: r, handler: h.create(r)},
			Route{Method: "GET", Pattern: base + "/{id}", Summary: "Read one of " + r.Path, OperationID: "get_" + r.Path, Kind: "get", Resource: r, handler: h.get(r)},
			Route{Method: "PATCH", Pattern: base + "/{id}", Summary: "Change fields of one of " + r.Path, OperationID: "update_" + r.Path, Kind: "update", Resource: r, handler: h.update(r)},
		)
	}
	docs := &Resources[3]
	messages := &Resource{Path: "ticket_messages", Table: "ticket_messages"}
	h.routes = append(h.routes,
		Route{Method: "GET", Pattern: "/api/v1/documents/{id}/content", Summary: "Download a document's decrypted content", OperationID: "get_document_content", Kind: "content", Resource: docs, handler: h.content(docs)},
		Route{Method: "GET", Pattern: "/api/v1/tickets/{id}/messages", Summary: "List a ticket's messages", OperationID: "list_ticket_messages", Kind: "messages", Resource: messages, handler: h.listMessages(messages)},
		Route{Method: "POST", Pattern: "/api/v1/tickets/{id}/messages", Summary: "Add a message to a ticket", OperationID: "create_ticket_message", Kind: "message-create", Resource: messages, handler: h.createMessage(messages)},
		Route{Method: "GET", Pattern: "/api/v1/persons/{id}/consents", Summary: "A person's consents: the latest choice per purpose and the whole history, with the notice each was given under", OperationID: "list_consents", Kind: "consents", handler: h.listConsents},
		Route{Method: "POST", Pattern: "/api/v1/persons/{id}/consents", Summary: "Record a consent or a refusal the person told a staff member (by phone, at the agency); who and when are kept", OperationID: "create_consent", Kind: "consent-create", handler: h.createConsent},
		Route{Method: "POST", Pattern: "/api/v1/persons/{id}/objections", Summary: "Record an objection (art. 21): absolute and immediate for prospection, recorded for the DPO otherwise", OperationID: "create_objection", Kind: "objection-create", handler: h.createObjection},
		Route{Method: "GET", Pattern: "/api/v1/prospection/targets", Summary: "Persons a prospection campaign may reach now through a channel: consent checked at the moment of use, objections and restrictions excluded", OperationID: "list_prospection_targets", Kind: "targets", handler: h.prospectionTargets},
		Route{Method: "POST", Pattern: "/api/v1/prospection/campaigns", Summary: "Send an e-mail campaign (R19, R20): one subject and one text, queued for each person who accepts e-mail prospection now, each message with its signed withdrawal link; refused as a whole, nothing queued, when the text carries data Vigie must never hold or VIGIE_PUBLIC_URL is not set (prospection)", OperationID: "send_prospection_campaign", Kind: "campaign-send", handler: h.sendCampaign},
	)
	// The rights desk (R24–R32): the requests of the caller's department, then what the DPO does
	// for a person as a whole.
	h.routes = append(h.routes,
		Route{Method: "GET", Pattern: "/api/v1/rights_requests/queue", Summary: "The rights requests of the caller's department (DPO: every right; quotes: the human reviews), open ones first by time left, with their one-month clock (R32); ?closed=true adds the latest answered ones", OperationID: "list_rights_queue", Kind: "rights-queue", handler: h.rightsQueue},
		Route{Method: "POST", Pattern: "/api/v1/rights_requests/{id}/identity", Summary: "Record how the requester's identity was checked (art. 12(6): a document only in case of reasonable doubt)", OperationID: "set_rights_identity_check", Kind: "rights-identity", handler: h.setIdentityCheck},
		Route{Method: "POST", Pattern: "/api/v1/rights_requests/{id}/extend", Summary: "Extend the deadline to three months after receipt (art. 12(3)): once, inside the first month, with a reason sent to the person", OperationID: "extend_rights_request", Kind: "rights-extend", handler: h.extendRequest},
		Route{Method: "POST", Pattern: "/api/v1/rights_requests/{id}/close", Summary: "Answer a request: closed with its outcome, or refused with the reason (art. 12(4)); the outcome is sent to the person", OperationID: "close_rights_request", Kind: "rights-close", handler: h.closeRequest},
		Route{Method: "POST", Pattern: "/api/v1/rights_requests/{id}/erase", Summary: "Answer an erasure request (art. 17, R26): erase the person in one transaction, destroy their key, keep what the law requires, close the request; answers the certificate. Irreversible (DPO)", OperationID: "erase_for_rights_request", Kind: "rights-erase", handler: h.eraseForRequest},
		Route{Method: "GET", Pattern: "/api/v1/persons/{id}/access", Summary: "The right of access (art. 15, R24): everything held on the person, with purposes, legal bases, recipients, retention and sources, as JSON, CSV, HTML or a ZIP of all three and the documents (DPO)", OperationID: "get_person_access", Kind: "rights-access", handler: h.rightsAccess},
		Route{Method: "GET", Pattern: "/api/v1/persons/{id}/portability", Summary: "The right to portability (art. 20, R27): the data the person provided, as JSON (DPO)", OperationID: "get_person_portability", Kind: "rights-portability", handler: h.rightsPortability},
		Route{Method: "POST", Pattern: "/api/v1/persons/{id}/restriction", Summary: "Restrict processing (art. 18, R29): the data is stored, no longer processed, listed or exported, until lifted; the reason is kept (DPO)", OperationID: "create_person_restriction", Kind: "rights-restrict", handler: h.restrictPerson},
		Route{Method: "POST", Pattern: "/api/v1/persons/{id}/restriction/lift", Summary: "Lift a restriction (art. 18(3)), with the reason sent to the person (DPO)", OperationID: "lift_person_restriction", Kind: "rights-lift", handler: h.liftRestriction},
		Route{Method: "POST", Pattern: "/api/v1/persons/{id}/death", Summary: "Record the person's death and apply their post-mortem directive (LIL art. 85, R30): erase, or open a task for the DPO and restrict processing (DPO)", OperationID: "record_person_death", Kind: "rights-death", handler: h.recordDeath},
		Route{Method: "PUT", Pattern: "/api/v1/persons/{id}/post-mortem-directive", Summary: "Record or replace the post-mortem directive the person gave by letter (LIL art. 85, R30) (DPO)", OperationID: "set_person_post_mortem_directive", Kind: "rights-directive", handler: h.setDirective},
	)
	// The archive (R35): what lies in a person's archive, and the DPO's justified, logged reading
	// of one archived row (archive.go).
	h.routes = append(h.routes,
		Route{Method: "GET", Pattern: "/api/v1/persons/{id}/archive", Summary: "The person's archive (R35): the archived contracts, documents, tickets and messages, with their clear columns only; nothing is decrypted (DPO)", OperationID: "list_person_archive", Kind: "archive-list", handler: h.listArchive},
		Route{Method: "POST", Pattern: "/api/v1/archive/{table}/{id}", Summary: "Read an archived row (R35) on a written justification: the reading is logged with the justification (sealed) and in the audit trail, in one transaction; answers the row decrypted (DPO)", OperationID: "read_archived_record", Kind: "archive-read", handler: h.readArchive},
	)
	// The breach register (R39–R40), for the DPO (breach.go).
	h.routes = append(h.routes, h.breachRoutes()...)
	// The register of processing activities (R38), for the DPO (register.go).
	h.routes = append(h.routes, h.registerRoutes()...)
	for _, rt := range h.routes {
		handler := rt.handler
		if !rt.Public {
			handler = h.authenticated(handler)
		}
		h.mux.HandleFunc(rt.Method+" "+rt.Pattern, handler)
	}
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "route inconnue ; voir /api/v1/openapi.json", nil)
	})
	return h
}

// Routes returns the route table.
func (h *Handler) Routes() []Route { return h.routes }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

type caller struct {
	user  auth.User
	actor record.Actor
	token string
}

// authenticated requires a bearer token and puts the caller in the context.
func (h *Handler) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "jeton d'accès manquant (en-tête Authorization: Bearer …)", nil)
			return
		}
		u, err := h.app.Auth.UserForToken(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				h.fail(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "jeton d'accès invalide ou expiré", nil)
			return
		}
		c := &caller{user: u, actor: h.app.Auth.Actor(u), token: token}
		reqlog.SetDepartment(r.Context(), u.Department)
		ctx := audit.WithActor(context.WithValue(r.Context(), ctxKey{}, c), u.ID, u.Department)
		next(w, r.WithContext(ctx))
	}
}

func callerOf(r *http.Request) *caller { return r.Context().Value(ctxKey{}).(*caller) }

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// ErrorBody is every error answer: a stable code, a French message, and the refused fields.
type ErrorBody struct {
	Error   string        `json:"error"`
	Message string        `json:"message"`
	Fields  []*FieldIssue `json:"fields,omitempty"`
}

// FieldIssue names a refused field and the rule it broke.
type FieldIssue struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string, fields []*FieldIssue) {
	writeJSON(w, status, ErrorBody{Error: code, Message: message, Fields: fields})
}

func badRequest(w http.ResponseWriter, field, rule, message string) {
	writeError(w, http.StatusBadRequest, "validation_failed", field+" : "+message,
		[]*FieldIssue{{Field: field, Rule: rule, Message: message}})
}

// fail maps an error from the store to its answer. Unexpected errors are logged without any
// request content and answered with a bare 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *record.ValidationError
	var fe *record.ForbiddenError
	switch {
	case errors.As(err, &ve):
		issues := make([]*FieldIssue, len(ve.Fields))
		names := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			issues[i] = &FieldIssue{Field: f.Field, Rule: f.Rule, Message: f.Message}
			names[i] = f.Field
		}
		writeError(w, http.StatusBadRequest, "validation_failed", "données refusées, rien n'a été enregistré : "+strings.Join(names, ", "), issues)
	case errors.As(err, &fe):
		var fields []*FieldIssue
		if fe.Field != "" {
			fields = []*FieldIssue{{Field: fe.Field, Rule: "department_access", Message: fe.Reason}}
		}
		writeError(w, http.StatusForbidden, "forbidden", fe.Reason, fields)
	case errors.Is(err, record.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "introuvable", nil)
	case errors.Is(err, auth.ErrUserExists):
		writeError(w, http.StatusConflict, "conflict", "un utilisateur avec cette adresse existe déjà", []*FieldIssue{{Field: "email", Rule: "unique", Message: "adresse déjà utilisée"}})
	case errors.Is(err, record.ErrScannerUnavailable):
		h.app.Log.Error("api: antivirus unavailable", "route", r.Pattern, "err", err)
		writeError(w, http.StatusServiceUnavailable, "antivirus_unavailable", "l'antivirus ne répond pas : le fichier n'a pas été enregistré, réessayez plus tard", nil)
	case errors.Is(err, context.Canceled):
		writeError(w, 499, "canceled", "requête annulée", nil)
	default:
		h.app.Log.Error("api: request failed", "method", r.Method, "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "erreur interne", nil)
	}
}
