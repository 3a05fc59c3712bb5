package api

import (
	"net/http"
	"sort"
	"strings"

	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/rights"
)

// openAPI builds the OpenAPI 3.1 document from the route table and the data dictionary: every
// route is described because the mux and the document read the same table, and every schema lists
// exactly the dictionary's columns, with their types, sizes, formats and allowed values.
func (h *Handler) openAPI() map[string]any {
	schemas := map[string]any{
		"Error": obj(map[string]any{
			"error":   str("Stable error code: validation_failed, forbidden, not_found, unauthenticated…"),
			"message": str("Message in French"),
			"fields": map[string]any{"type": "array", "items": obj(map[string]any{
				"field": str("Refused field"), "rule": str("Rule it broke, e.g. max_length, format.email, department_access"), "message": str("Message in French"),
			}, "field", "rule", "message")},
		}, "error", "message"),
		"Session": obj(map[string]any{"token": str("Bearer token"), "expires_at": map[string]any{"type": "string", "format": "date-time"}, "department": str("")}, "token"),
		"Login": obj(map[string]any{"email": map[string]any{"type": "string", "format": "email"}, "password": map[string]any{"type": "string", "format": "password"},
			"totp":          map[string]any{"type": "string", "pattern": "^[0-9]{6}$", "description": "Code of the authenticator application (RFC 6238), usable once"},
			"recovery_code": str("One of the recovery codes shown at enrolment, instead of totp; usable once")}, "email", "password"),
		"PasswordChange": obj(map[string]any{"email": map[string]any{"type": "string", "format": "email"}, "password": map[string]any{"type": "string", "format": "password", "description": "Current password"},
			"new_password":  map[string]any{"type": "string", "format": "password", "minLength": 12, "maxLength": 128, "description": "CNIL 2022-100: 12 characters of four kinds, 14 of three, 16 of two, or a 20-character passphrase; not common, not one of the last 5"},
			"totp":          map[string]any{"type": "string", "pattern": "^[0-9]{6}$"},
			"recovery_code": str("Instead of totp")}, "email", "password", "new_password"),
		"User": obj(map[string]any{"id": map[string]any{"type": "integer"}, "email": str(""), "display_name": str(""),
			"department": enumOf(h.departmentCodes()), "disabled": map[string]any{"type": "boolean"},
			"locked": map[string]any{"type": "boolean", "description": "Locked after repeated failed sign-ins"}, "must_change_password": map[string]any{"type": "boolean"},
			"totp_enrolled": map[string]any{"type": "boolean", "description": "Second factor enrolled"}}, "id", "email", "department"),
		"NewUser": obj(map[string]any{"email": map[string]any{"type": "string", "format": "email"}, "display_name": str(""),
			"department": enumOf(h.departmentCodes()), "password": map[string]any{"type": "string", "minLength": 12, "maxLength": 128, "description": "CNIL 2022-100 policy, see PasswordChange"}}, "email", "display_name", "department", "password"),
		"Me": obj(map[string]any{"email": str(""), "display_name": str(""), "department": enumOf(h.departmentCodes()),
			"purposes": map[string]any{"type": "array", "items": str(""), "description": "The department's purposes"},
			"access": map[string]any{"type": "object", "description": "Per table the department may read: the fields it may read and write",
				"additionalProperties": obj(map[string]any{"read": map[string]any{"type": "array", "items": str("")}, "write": map[string]any{"type": "array", "items": str("")}}, "read", "write")}},
			"email", "display_name", "department", "purposes", "access"),
		"ConsentEntry": obj(map[string]any{"id": map[string]any{"type": "integer"}, "purpose": enumOf(consentCodes()), "granted": map[string]any{"type": "boolean"},
			"given_at": dateTime, "channel": str(""), "method": str("checkbox, gpc, staff_recorded, withdrawal_link, portal, objection, suppression_list"),
			"notice_hash": str("SHA-256 of the exact notice text shown (GET /confidentialite/{hash} shows it)"), "recorded_by": map[string]any{"type": "integer"},
			"recorded_at": dateTime}, "id", "purpose", "granted", "given_at", "channel", "method", "recorded_at"),
		"Consents": obj(map[string]any{"current": map[string]any{"type": "object", "additionalProperties": ref("ConsentEntry"), "description": "Latest choice per purpose"},
			"history": map[string]any{"type": "array", "items": ref("ConsentEntry")}}, "current", "history"),
		"NewConsent": obj(map[string]any{"purpose": enumOf(consentCodes()), "granted": map[string]any{"type": "boolean"},
			"channel": enumOf([]string{"phone", "email", "letter", "agency", "api"}), "given_at": map[string]any{"type": "string", "format": "date-time", "description": "When the person decided (default: now); never in the future"}},
			"purpose", "granted", "channel"),
		"NewObjection": obj(map[string]any{"purpose": enumOf([]string{"prospection", "quotes", "contracts", "support", "performance"}),
			"channel": enumOf([]string{"phone", "email", "letter", "agency", "api"})}, "purpose", "channel"),
		"Objection":  obj(map[string]any{"person_id": map[string]any{"type": "integer"}, "purpose": str(""), "effect": str("What the objection does")}),
		"Provenance": obj(map[string]any{"collected_at": map[string]any{"type": "string", "format": "date-time"}, "channel": str(""), "purpose": str("")}),
	}
	for name, schema := range rightsSchemas() {
		schemas[name] = schema
	}
	h.archiveSchemas(schemas)
	breachSchemas(schemas)
	registerSchemas(schemas)
	campaignSchemas(schemas)
	paths := map[string]any{}
	for _, rt := range h.routes {
		op := map[string]any{"summary": rt.Summary, "operationId": rt.OperationID, "responses": h.responses(rt)}
		if rt.Public {
			op["security"] = []any{}
		}
		if strings.HasPrefix(rt.Kind, "rights-") {
			op["tags"] = []string{"rights"}
		}
		if strings.HasPrefix(rt.Kind, "archive-") {
			op["tags"] = []string{"archive"}
		}
		if strings.HasPrefix(rt.Kind, "breach-") {
			op["tags"] = []string{"breaches"}
		}
		if strings.HasPrefix(rt.Kind, "register-") {
			op["tags"] = []string{"register"}
		}
		if strings.HasPrefix(rt.Kind, "campaign-") {
			op["tags"] = []string{"campaigns"}
		}
		if rt.Resource != nil {
			op["tags"] = []string{rt.Resource.Path}
			t := h.app.Dict.Table(rt.Resource.Table)
			schemas[schemaName(t)] = tableSchema(t, false)
			schemas[schemaName(t)+"Write"] = tableSchema(t, true)
			if rt.Kind == "update" {
				schemas[schemaName(t)+"Update"] = updateSchema(t)
			}
		}
		if params := h.parameters(rt); len(params) > 0 {
			op["parameters"] = params
		}
		if body := h.requestBody(rt); body != nil {
			op["requestBody"] = body
		}
		p, _ := paths[rt.Pattern].(map[string]any)
		if p == nil {
			p = map[string]any{}
			paths[rt.Pattern] = p
		}
		p[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Vigie API",
			"version":     "1.0.0",
			"description": "CRM with GDPR enforced by the software. Every field a department may not read is absent from answers (not null: absent); a resource it may not touch is 403. Errors name the field and the rule; a refused request changes nothing. Dictionary version " + h.app.Dict.Version + ".",
		},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

func (h *Handler) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.openAPI())
}

func (h *Handler) departmentCodes() []string {
	var out []string
	for _, d := range h.app.Dict.Departments {
		out = append(out, d.Code)
	}
	return out
}

func schemaName(t *dictionary.Table) string {
	parts := strings.Split(t.Entity, "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "")
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func str(desc string) map[string]any {
	s := map[string]any{"type": "string"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

var dateTime = map[string]any{"type": "string", "format": "date-time"}

func consentCodes() []string {
	var out []string
	for _, p := range consent.Purposes {
		out = append(out, p.Code)
	}
	return out
}

func enumOf(values []string) map[string]any { return map[string]any{"type": "string", "enum": values} }

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// columnSchema describes one dictionary column as JSON Schema.
func columnSchema(c *dictionary.Column) map[string]any {
	s := map[string]any{}
	switch c.Kind {
	case dictionary.KindBigint, dictionary.KindInteger:
		s["type"] = "integer"
	case dictionary.KindNumeric:
		s["type"] = "number"
	case dictionary.KindBoolean:
		s["type"] = "boolean"
	case dictionary.KindDate:
		s["type"], s["format"] = "string", "date"
	case dictionary.KindTimestamp:
		s["type"], s["format"] = "string", "date-time"
	case dictionary.KindBlob:
		s["type"], s["contentEncoding"] = "string", "base64"
	default:
		s["type"] = "string"
		s["maxLength"] = c.Size
	}
	if c.Min != nil {
		s["minimum"] = *c.Min
	}
	if c.Max != nil {
		s["maximum"] = *c.Max
	}
	if len(c.Values) > 0 {
		s["enum"] = c.Values
	}
	if c.Format == "email" {
		s["format"] = "email"
	}
	desc := c.Label
	if c.Description != "" {
		desc += ". " + c.Description
	}
	if c.Personal {
		desc += " [donnée personnelle"
		if c.Encrypted {
			desc += ", chiffrée"
		}
		desc += "]"
	}
	if c.Format != "" {
		desc += " (format " + c.Format + ")"
	}
	s["description"] = desc
	if c.Nullable() && !c.PrimaryKey() { // a primary key is never null, whatever the dictionary says
		s["type"] = []any{s["type"], "null"}
	}
	return s
}

// tableSchema is a resource as read (every column, each present only when readable) or as written
// (the columns some department may write; required ones marked).
func tableSchema(t *dictionary.Table, write bool) map[string]any {
	props := map[string]any{}
	var required []string
	for _, c := range t.Columns {
		if write && (len(c.Write) == 0 || c.Name == t.Parent) || !write && c.Kind == dictionary.KindBlob {
			continue
		}
		s := columnSchema(c)
		if write {
			s["description"] = s["description"].(string) + " — écriture : " + strings.Join(c.Write, ", ")
			if !c.Nullable() && len(c.Default) == 0 {
				required = append(required, c.Name)
			}
		} else {
			s["description"] = s["description"].(string) + " — lecture : " + strings.Join(c.Read, ", ")
		}
		props[c.Name] = s
	}
	if write {
		props["_channel"] = map[string]any{"type": "string", "description": "How the values were collected (default api)"}
		props["_purpose"] = map[string]any{"type": "string", "description": "For which of the department's purposes (default its first)"}
		if t.Name == "quotes" {
			props["_prefill_from_quote"] = map[string]any{"type": "integer", "minimum": 1, "description": "Creation only: an earlier quote of the same person whose values fill what this one does not give (R22)"}
			props["_person_confirmed"] = map[string]any{"type": "boolean", "description": "Creation only: the person confirmed, in this quote flow, the values the quote reuses (R23)"}
		}
	} else {
		props["_provenance"] = map[string]any{"type": "object", "additionalProperties": ref("Provenance"), "description": "With ?include=provenance: when, how and for which purpose each encrypted value was collected"}
	}
	sort.Strings(required)
	o := obj(props, required...)
	o["additionalProperties"] = false
	o["description"] = t.Label + ". " + t.Description
	return o
}

// updateSchema is a PATCH body: the writable fields, none required, at least one given; the quote
// prefill members are for creation only.
func updateSchema(t *dictionary.Table) map[string]any {
	o := tableSchema(t, true)
	delete(o, "required")
	props := o["properties"].(map[string]any)
	delete(props, "_prefill_from_quote")
	delete(props, "_person_confirmed")
	o["minProperties"] = 1
	return o
}

func jsonContent(schema map[string]any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func (h *Handler) responses(rt Route) map[string]any {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("Error"))}
	}
	out := map[string]any{}
	if !rt.Public {
		out["401"] = errResp("Missing or invalid bearer token")
		out["403"] = errResp("The department may not touch this resource or field")
	}
	var ok map[string]any
	switch rt.Kind {
	case "openapi":
		ok = map[string]any{"description": "This document", "content": jsonContent(map[string]any{"type": "object"})}
	case "login", "password-change":
		out["201"] = map[string]any{"description": "Logged in", "content": jsonContent(ref("Session"))}
		out["400"] = errResp("Invalid input; for a password change, the new password refused (rules password.length, password.guessable, password.personal, password.reused)")
		out["401"] = errResp("invalid_credentials: wrong email or password, or account unknown, locked or throttled (never says which); totp_required; invalid_totp")
		out["403"] = errResp("totp_enrolment_required: enrol the second factor through the web sign-in first; password_change_required: use POST /api/v1/session/password; charter_acknowledgement_required: accept the data-governance charter in force on the web (/charte) first")
	case "logout":
		out["204"] = map[string]any{"description": "Token revoked"}
	case "me":
		ok = map[string]any{"description": "The caller", "content": jsonContent(ref("Me"))}
	case "users":
		ok = map[string]any{"description": "Staff", "content": jsonContent(obj(map[string]any{"items": map[string]any{"type": "array", "items": ref("User")}}))}
	case "user-create":
		out["201"] = map[string]any{"description": "Created", "content": jsonContent(ref("User"))}
		out["400"] = errResp("Invalid input")
		out["409"] = errResp("Email already used")
	case "list", "messages":
		item := ref(schemaName(h.app.Dict.Table(rt.Resource.Table)))
		ok = map[string]any{"description": "A page of records", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": item},
			"next":  map[string]any{"type": "integer", "description": "Cursor of the next page (?after=)"},
		}, "items"))}
		out["400"] = errResp("Invalid parameter")
		if rt.Kind == "messages" {
			out["404"] = errResp("Unknown ticket")
		}
	case "get", "update":
		ok = map[string]any{"description": "The record, with only the fields the department may read", "content": jsonContent(ref(schemaName(h.app.Dict.Table(rt.Resource.Table))))}
		out["400"] = errResp("Invalid input")
		out["404"] = errResp("Unknown id")
	case "create", "message-create":
		out["201"] = map[string]any{"description": "Created", "content": jsonContent(ref(schemaName(h.app.Dict.Table(rt.Resource.Table))))}
		out["400"] = errResp("Invalid input; nothing was written")
		if rt.Kind == "message-create" {
			out["404"] = errResp("Unknown ticket")
		}
	case "consents":
		ok = map[string]any{"description": "The person's consents", "content": jsonContent(ref("Consents"))}
		out["404"] = errResp("Unknown person (or hidden from the department)")
	case "consent-create":
		ok = map[string]any{"description": "Recorded; the person's consents", "content": jsonContent(ref("Consents"))}
		out["400"] = errResp("Invalid input (purpose, granted, channel, given_at); nothing was recorded")
		out["404"] = errResp("Unknown person")
	case "objection-create":
		out["201"] = map[string]any{"description": "Recorded", "content": jsonContent(ref("Objection"))}
		out["400"] = errResp("Invalid input; nothing was recorded")
		out["404"] = errResp("Unknown person")
	case "targets":
		ok = map[string]any{"description": "A page of persons (prospection's fields only)", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": ref("Person")},
			"next":  map[string]any{"type": "integer", "description": "Cursor of the next page (?after=)"},
		}, "items"))}
		out["400"] = errResp("Invalid parameter")
	case "content":
		ok = map[string]any{"description": "The decrypted file", "content": map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		out["404"] = errResp("Unknown id")
	case "rights-queue":
		out["403"] = errResp("Only the DPO and the quotes department answer rights requests")
		ok = map[string]any{"description": "The department's requests: open ones by time left, then with ?closed=true the latest 200 answered", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": ref("RightsDeskRequest")}}, "items"))}
		out["400"] = errResp("Invalid parameter (closed, or an unknown one)")
	case "rights-identity", "rights-extend", "rights-close":
		out["403"] = errResp("The department does not answer this request (the quotes department answers the human reviews only)")
		ok = map[string]any{"description": "Done; the request as it now stands", "content": jsonContent(ref("RightsDeskRequest"))}
		out["400"] = errResp(map[string]string{
			"rights-identity": "identity_check not allowed (enum), or the request is closed (open); nothing was changed",
			"rights-extend":   "reason missing (required), request closed (status/open), already extended (extension/once) or past the first month (extension/first_month); nothing was changed",
			"rights-close":    "status not closed|refused (enum), outcome missing (required), evidence too long (max_length), or the request already closed (status/open); nothing was changed",
		}[rt.Kind])
		out["404"] = errResp("Unknown request")
	case "rights-erase":
		out["403"] = errResp("Only the DPO erases a person")
		ok = map[string]any{"description": "Erased; the erasure certificate (its SHA-256 closes the request and is in the audit trail)", "content": jsonContent(ref("ErasureCertificate"))}
		out["400"] = errResp("The request is not an erasure request (type/erasure) or not open (request_id/status); nothing was changed")
		out["404"] = errResp("Unknown request")
		out["409"] = errResp("erased: the person was already erased; legal_hold: a legal hold suspends the erasure (art. 17(3)(e)); nothing was changed")
	case "rights-access":
		out["403"] = errResp("Only the DPO produces the access archive")
		file := func(desc string) map[string]any {
			return map[string]any{"schema": map[string]any{"type": "string", "format": "binary", "description": desc}}
		}
		ok = map[string]any{"description": "The archive, as a download (Content-Disposition: attachment); the export is recorded in the audit trail",
			"headers": map[string]any{
				"Content-Disposition": map[string]any{"schema": str(`attachment; filename="acces-personne-{id}.{format}"`)},
				"X-Vigie-Evidence":    map[string]any{"schema": str("zip only: the archive's SHA-256 (sha256:…), to close the request with as its evidence")},
			},
			"content": map[string]any{
				"application/json": map[string]any{"schema": ref("AccessArchive")},
				"text/csv":         file("One line per value: categorie, table, ligne, champ, libelle, valeur, collecte_le, canal, finalite"),
				"text/html":        file("A page the person can read, in French"),
				"application/zip":  file("mes-donnees.html, mes-donnees.json, mes-donnees.csv and documents/…"),
			}}
		out["400"] = errResp("format not json, csv, html or zip (enum), or an unknown parameter")
		out["404"] = errResp("Unknown person")
	case "rights-portability":
		out["403"] = errResp("Only the DPO produces the portability export")
		ok = map[string]any{"description": "The data the person provided, as a download; the export is recorded in the audit trail", "content": jsonContent(ref("Portability"))}
		out["400"] = errResp("Unknown parameter")
		out["404"] = errResp("Unknown person")
		out["409"] = errResp("The person was erased")
	case "rights-restrict":
		out["403"] = errResp("Only the DPO restricts processing")
		out["201"] = map[string]any{"description": "Restricted", "content": jsonContent(ref("RestrictionState"))}
		out["400"] = errResp("reason missing (required), already restricted (person_id/restricted), or request_id not an open restriction request of this person (request_id/owner, type, status); nothing was changed")
		out["404"] = errResp("Unknown person")
		out["409"] = errResp("The person was erased")
	case "rights-lift":
		out["403"] = errResp("Only the DPO lifts a restriction")
		ok = map[string]any{"description": "Lifted; the person is told", "content": jsonContent(ref("RestrictionState"))}
		out["400"] = errResp("reason missing (required), or the person is not restricted (person_id/restricted); nothing was changed")
		out["404"] = errResp("Unknown person")
	case "rights-death":
		out["403"] = errResp("Only the DPO records a death")
		ok = map[string]any{"description": "Recorded; what the directive applied", "content": jsonContent(ref("Death"))}
		out["400"] = errResp("The death is already recorded (person_id/deceased); nothing was changed")
		out["404"] = errResp("Unknown person")
		out["409"] = errResp("erased: the person was erased; legal_hold: the death is recorded but the erasure the directive asks for waits for the legal hold to end")
	case "rights-directive":
		out["403"] = errResp("Only the DPO records a directive")
		ok = map[string]any{"description": "Recorded (replacing any previous one)", "content": jsonContent(ref("DirectiveRecorded"))}
		out["400"] = errResp("instruction not erase|transmit|keep (enum), trusted_contact missing for transmit (required) or too long (max_length), wishes too long (max_length); nothing was changed")
		out["404"] = errResp("Unknown person")
		out["409"] = errResp("The person was erased")
	case "archive-list":
		out["403"] = errResp("Only the DPO sees the archive")
		ok = map[string]any{"description": "The person's archived rows, oldest table first; nothing decrypted, nothing audited", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": ref("ArchivedRow")}}, "items"))}
		out["400"] = errResp("Unknown parameter")
		out["404"] = errResp("Unknown person")
	case "archive-read":
		out["403"] = errResp("Only the DPO opens the archive")
		ok = map[string]any{"description": "The archived row, every field decrypted; the reading is recorded in archive_accesses (with the justification, sealed) and in the audit trail (purpose compliance, detail archive)", "content": jsonContent(ref("ArchivedRecord"))}
		out["400"] = errResp("justification missing (required), shorter than 20 characters (min_length), longer than 2,000 (max_length) or carrying data Vigie must never hold (sensitive_…); a table without archive (table/not_archived); an unknown field (unknown_field); nothing was recorded")
		out["404"] = errResp("Unknown table or row")
		out["409"] = errResp("not_archived: the row is not archived, read it the normal way; nothing was recorded")
	}
	if strings.HasPrefix(rt.Kind, "breach-") {
		ok = breachResponses(rt.Kind, out)
	}
	if strings.HasPrefix(rt.Kind, "register-") {
		ok = registerResponses(rt.Kind, out)
	}
	if rt.Kind == "campaign-send" {
		campaignResponses(out)
	}
	if ok != nil {
		out["200"] = ok
	}
	return out
}

func (h *Handler) parameters(rt Route) []any {
	var params []any
	if strings.Contains(rt.Pattern, "{id}") {
		params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "integer", "minimum": 1}})
	}
	include := map[string]any{"name": "include", "in": "query", "schema": enumOf([]string{"provenance"}), "description": "provenance: add when, how and for which purpose each value was collected"}
	switch rt.Kind {
	case "list":
		params = append(params,
			map[string]any{"name": "after", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}, "description": "Cursor: the next field of the previous page"},
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
			map[string]any{"name": "person_id", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1}, "description": "Only this person's records"},
			include)
		t := h.app.Dict.Table(rt.Resource.Table)
		for _, f := range rt.Resource.Search {
			params = append(params, map[string]any{"name": f, "in": "query", "schema": map[string]any{"type": "string"},
				"description": "Exact search on " + t.Column(f).Label + " through the keyed blind index (not combinable with after/person_id)"})
		}
	case "get", "messages":
		params = append(params, include)
	case "archive-read":
		params = append(params,
			map[string]any{"name": "table", "in": "path", "required": true, "schema": enumOf(h.archivedTableNames()), "description": "A table with an archive"},
			include)
	case "breach-draft-letters":
		params = append(params,
			map[string]any{"name": "after", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}, "description": "Cursor: the next field of the previous page (a person number)"},
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 100}})
	case "register-get":
		params = append(params, registerParameters(rt.Kind)...)
	case "rights-queue":
		params = append(params, map[string]any{"name": "closed", "in": "query", "schema": map[string]any{"type": "boolean", "default": false}, "description": "Also list the latest 200 answered requests, after the open ones"})
	case "rights-access":
		params = append(params, map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": []string{"json", "csv", "html", "zip"}, "default": "json"}, "description": "zip holds the HTML page, the JSON, the CSV and the documents' contents"})
	case "targets":
		params = append(params,
			map[string]any{"name": "purpose", "in": "query", "required": true, "schema": enumOf([]string{"prospection_email", "prospection_phone"})},
			map[string]any{"name": "after", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}},
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}})
	}
	return params
}

func (h *Handler) requestBody(rt Route) map[string]any {
	var schema map[string]any
	switch rt.Kind {
	case "login":
		schema = ref("Login")
	case "password-change":
		schema = ref("PasswordChange")
	case "user-create":
		schema = ref("NewUser")
	case "consent-create":
		schema = ref("NewConsent")
	case "objection-create":
		schema = ref("NewObjection")
	case "breach-create", "breach-update", "breach-notify":
		schema = ref(map[string]string{"breach-create": "NewBreach", "breach-update": "BreachChange", "breach-notify": "NewBreachNotification"}[rt.Kind])
	case "archive-read":
		schema = ref("ArchiveJustification")
	case "campaign-send":
		schema = ref("NewCampaign")
	case "create", "message-create":
		schema = ref(schemaName(h.app.Dict.Table(rt.Resource.Table)) + "Write")
	case "update":
		schema = ref(schemaName(h.app.Dict.Table(rt.Resource.Table)) + "Update")
	case "rights-identity", "rights-extend", "rights-close", "rights-restrict", "rights-lift", "rights-directive":
		schema = ref(map[string]string{"rights-identity": "IdentityCheck", "rights-extend": "Extension", "rights-close": "Closure",
			"rights-restrict": "NewRestriction", "rights-lift": "RestrictionLift", "rights-directive": "PostMortemDirective"}[rt.Kind])
	default:
		return nil
	}
	return map[string]any{"required": true, "content": jsonContent(schema)}
}

// rightsSchemas describes the rights desk's bodies. Strict objects: any other member is refused
// (unknown_field).
func rightsSchemas() map[string]any {
	strict := func(o map[string]any) map[string]any {
		o["additionalProperties"] = false
		return o
	}
	integer := map[string]any{"type": "integer"}
	nullable := func(s map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{s["type"], "null"}
		return out
	}
	reason := map[string]any{"type": "string", "minLength": 1, "maxLength": 2000}
	return map[string]any{
		"RightsDeskRequest": obj(map[string]any{
			"id": integer, "person_id": integer, "type": enumOf(rights.Types),
			"channel": str("How the request arrived"), "status": enumOf([]string{"open", "in_progress", "closed", "refused"}),
			"identity_check": enumOf(rights.IdentityChecks), "received_at": dateTime,
			"due_at":      map[string]any{"type": "string", "format": "date-time", "description": "One month after receipt, three once extended (art. 12(3))"},
			"extended_at": nullable(dateTime), "closed_at": nullable(dateTime),
			"evidence":  map[string]any{"type": []any{"string", "null"}, "description": "SHA-256 of the answer given (access archive, erasure certificate)"},
			"days_left": map[string]any{"type": []any{"integer", "null"}, "description": "Whole days before the deadline, rounded down: 0 on the last day, negative when late; null once answered"},
		}, "id", "person_id", "type", "channel", "status", "identity_check", "received_at", "due_at", "extended_at", "closed_at", "evidence", "days_left"),
		"IdentityCheck": strict(obj(map[string]any{"identity_check": enumOf(rights.IdentityChecks)}, "identity_check")),
		"Extension": strict(obj(map[string]any{"reason": map[string]any{"type": "string", "minLength": 1, "maxLength": 2000,
			"description": "Why more time is needed; sent to the person"}}, "reason")),
		"Closure": strict(obj(map[string]any{
			"status":   enumOf([]string{"closed", "refused"}),
			"outcome":  map[string]any{"type": "string", "minLength": 1, "maxLength": 2000, "description": "The answer given, or the reason of the refusal (art. 12(4)); sent to the person"},
			"evidence": map[string]any{"type": "string", "maxLength": 80, "description": "SHA-256 of the answer handed over, e.g. the X-Vigie-Evidence of the access archive"},
		}, "status", "outcome")),
		"NewRestriction": strict(obj(map[string]any{"reason": reason,
			"request_id": map[string]any{"type": "integer", "minimum": 0, "description": "The person's open restriction request this answers (0 or absent: none)"}}, "reason")),
		"RestrictionLift":  strict(obj(map[string]any{"reason": map[string]any{"type": "string", "minLength": 1, "maxLength": 2000, "description": "Sent to the person"}}, "reason")),
		"RestrictionState": obj(map[string]any{"person_id": integer, "restricted": map[string]any{"type": "boolean"}}, "person_id", "restricted"),
		"PostMortemDirective": strict(obj(map[string]any{
			"instruction":     enumOf(rights.Instructions),
			"trusted_contact": map[string]any{"type": "string", "maxLength": 300, "description": "Who receives the data, and how to reach them; required for transmit"},
			"wishes":          map[string]any{"type": "string", "maxLength": 2000},
		}, "instruction")),
		"DirectiveRecorded": obj(map[string]any{"person_id": integer, "instruction": enumOf(rights.Instructions), "recorded_at": dateTime}, "person_id", "instruction", "recorded_at"),
		"ErasureCertificate": obj(map[string]any{
			"person_id": integer, "erased_at": dateTime,
			"deleted": map[string]any{"type": "object", "additionalProperties": integer, "description": "Rows deleted per table"},
			"kept": map[string]any{"type": []any{"array", "null"}, "description": "What a legal obligation keeps in the archive (art. 17(3)(b)), re-sealed under a new key; null when nothing is kept", "items": obj(map[string]any{
				"table": str(""), "id": integer, "label": str(""), "reason": str("The legal source"), "until": dateTime}, "table", "id", "reason", "until")},
			"key_destroyed": map[string]any{"type": "boolean", "description": "The person's key is destroyed: every copy sealed under it, backups included, is unreadable"},
			"evidence":      str("SHA-256 of the certificate, kept on the request and in the audit trail"),
		}, "person_id", "erased_at", "deleted", "kept", "key_destroyed", "evidence"),
		"Death": obj(map[string]any{
			"person_id":   integer,
			"directive":   map[string]any{"type": "string", "enum": append([]string{""}, rights.Instructions...), "description": "The instruction the person left, empty without one"},
			"applied":     str("What was done, in French"),
			"certificate": ref("ErasureCertificate"),
			"request_id":  map[string]any{"type": "integer", "description": "The task opened for the DPO (transmit to the trusted contact, answer the heirs)"},
		}, "person_id", "directive", "applied"),
		"AccessArchive": map[string]any{"type": "object", "description": "Layout " + rights.AccessFormat + " (docs/rights-exports.md): every category held on the person with its purposes, legal bases, recipients and retention, every value with its source, and who accessed the data",
			"properties": map[string]any{"format": str(""), "generated_at": dateTime, "controller": map[string]any{"type": "object"}, "person_id": integer,
				"categories": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "accessed_by": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}},
		"Portability": obj(map[string]any{"format": str(rights.PortabilityFormat), "generated_at": dateTime, "controller": str(""),
			"tables": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "description": "Per portable table, the fields the person provided"}},
			"format", "generated_at", "tables"),
	}
}
