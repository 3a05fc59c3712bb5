package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"vigie/internal/register"
)

// The register of processing activities through the API (R38, art. 30), for the DPO only: the
// register in force (recorded as a new version when its content changed) or a kept version, as
// JSON or in the CNIL's layout as CSV, HTML or PDF, and the list of versions. The register's
// service generates, records and audits; these handlers check the parameters and map its errors.

const registerForbidden = "réservé au DPO : le registre des traitements est tenu par le délégué à la protection des données"

// registerRoutes are the register's operations, appended to the route table.
func (h *Handler) registerRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/register", Summary: "The register of processing activities (art. 30(1), R38): every activity with its controller and DPO, purpose and legal basis, subjects and data, recipients, transfers, retention in force and security measures; the current one is recorded as a new version when its content changed; as JSON, or CSV, HTML or PDF in the CNIL's layout (DPO)", OperationID: "get_register", Kind: "register-get", handler: h.getRegister},
		{Method: "GET", Pattern: "/api/v1/register/versions", Summary: "The kept versions of the register, latest first, with their SHA-256 and what changed, without their content (DPO)", OperationID: "list_register_versions", Kind: "register-versions", handler: h.listRegisterVersions},
	}
}

// registerStaff lets the DPO through.
func (h *Handler) registerStaff(w http.ResponseWriter, r *http.Request) (register.Staff, bool) {
	c := callerOf(r)
	if !h.app.Register.CanRead(c.user.Department) {
		writeError(w, http.StatusForbidden, "forbidden", registerForbidden, nil)
		return register.Staff{}, false
	}
	return register.Staff{UserID: c.user.ID, Department: c.user.Department}, true
}

func (h *Handler) getRegister(w http.ResponseWriter, r *http.Request) {
	st, ok := h.registerStaff(w, r)
	if !ok || !onlyParams(w, r, "format", "version") {
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if _, known := register.ContentTypes[format]; !known {
		badRequest(w, "format", "enum", "valeurs admises : "+strings.Join(register.Formats, ", "))
		return
	}
	number := 0
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, "version", "min", "un numéro de version (1, 2…) ; sans version, le registre en vigueur")
			return
		}
		number = n
	}
	v, b, err := h.app.Register.Export(r.Context(), st, number, format)
	if err != nil {
		h.failRegister(w, r, err)
		return
	}
	w.Header().Set("X-Vigie-Register-Version", strconv.Itoa(v.Number))
	w.Header().Set("X-Vigie-Register-SHA256", v.SHA256)
	if format == "json" {
		w.Header().Set("Content-Type", register.ContentTypes[format])
		w.Write(b)
		return
	}
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	sendFile(w, register.ContentTypes[format], register.FileName(v, format), b)
}

func (h *Handler) listRegisterVersions(w http.ResponseWriter, r *http.Request) {
	st, ok := h.registerStaff(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	list, err := h.app.Register.Versions(r.Context(), st)
	if err != nil {
		h.failRegister(w, r, err)
		return
	}
	if list == nil {
		list = []register.Version{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

// failRegister maps the register's errors: an unknown version is 404, a register its sources
// leave incomplete is 409 with every missing field and the point of art. 30(1) it breaks.
func (h *Handler) failRegister(w http.ResponseWriter, r *http.Request, err error) {
	var issue *register.Issue
	switch {
	case errors.Is(err, register.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", registerForbidden, nil)
	case errors.Is(err, register.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "version du registre inconnue", nil)
	case errors.As(err, &issue):
		var fields []*FieldIssue
		for _, is := range register.Issues(err) {
			field := is.Field
			if is.Activity != "" {
				field = is.Activity + "." + is.Field
			}
			fields = append(fields, &FieldIssue{Field: field, Rule: is.Rule, Message: is.Message})
		}
		writeError(w, http.StatusConflict, "register_incomplete", "le registre ne peut pas être produit : il manque des champs de l'article 30(1) ; rien n'a été inscrit", fields)
	default:
		h.fail(w, r, err)
	}
}

// registerSchemas describes the register's bodies.
func registerSchemas(schemas map[string]any) {
	list := func(desc string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
	}
	integer := map[string]any{"type": "integer"}
	schemas["RegisterVersion"] = obj(map[string]any{
		"version":      map[string]any{"type": "integer", "minimum": 1},
		"generated_at": dateTime,
		"sha256":       str("SHA-256 of the register's JSON content as kept"),
		"changes":      str("What changed since the version before, in French"),
		"generated_by": map[string]any{"type": "integer", "description": "The staff member whose reading recorded the version; absent for a command"},
		"department":   str(""),
		"register":     ref("Register"),
	}, "version", "generated_at", "sha256", "changes", "department")
	schemas["Register"] = obj(map[string]any{
		"format":             str(register.Format),
		"title":              str(""),
		"dictionary_version": str(""),
		"actors": obj(map[string]any{"controller": str("Art. 30(1)(a)"), "address": str(""), "dpo": str("The DPO's contact"),
			"representative": str(""), "joint_controllers": str("")}, "controller", "address", "dpo"),
		"activities": map[string]any{"type": "array", "items": obj(map[string]any{
			"ref": str("RT-01…"), "code": str("The purpose's code in the dictionary"), "name": str("Art. 30(1)(b)"),
			"legal_basis": str("Art. 6"), "departments": list("Departments that carry it out: those whose staff act for the purpose"),
			"subjects": list("Art. 30(1)(c)"),
			"data_categories": map[string]any{"type": "array", "items": obj(map[string]any{"code": str(""), "label": str(""),
				"fields": list("Labels of the personal columns"), "encrypted": integer, "retention": list("Retention rule codes")})},
			"sensitive_data": str(""), "recipients": str("Art. 30(1)(d)"),
			"transfers": map[string]any{"type": "array", "description": "Art. 30(1)(e); empty: none outside the EU", "items": obj(map[string]any{
				"recipient": str(""), "country": str(""), "safeguards": str("")})},
			"retention": map[string]any{"type": "array", "description": "Art. 30(1)(f), as in force", "items": obj(map[string]any{
				"rule": str(""), "label": str(""), "duration": str(""), "months": integer, "from": str(""), "then": str(""), "source": str(""),
				"applies_to": list(""), "version": map[string]any{"type": "integer", "description": "The DPO's version of the rule; absent: the dictionary's"},
				"changed_on": str("")})},
		}, "ref", "code", "name", "legal_basis", "subjects", "data_categories", "recipients", "transfers", "retention")},
		"security_measures": map[string]any{"type": "array", "description": "Art. 30(1)(g)", "items": obj(map[string]any{"heading": str(""), "text": str("")})},
	}, "format", "actors", "activities", "security_measures")
}

// registerResponses describes the register's answers.
func registerResponses(kind string, out map[string]any) map[string]any {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("Error"))}
	}
	out["403"] = errResp("Only the DPO keeps the register of processing")
	switch kind {
	case "register-get":
		file := func(desc string) map[string]any {
			return map[string]any{"schema": map[string]any{"type": "string", "format": "binary", "description": desc}}
		}
		out["400"] = errResp("format not json, csv, html or pdf (enum), version not a positive number (min), or an unknown parameter")
		out["404"] = errResp("Unknown version")
		out["409"] = errResp("register_incomplete: a field of art. 30(1) is missing (the controller's details, a purpose's legal basis or retention…), named in fields; nothing was recorded")
		return map[string]any{"description": "The register; every answer is recorded in the audit trail as an export",
			"headers": map[string]any{
				"X-Vigie-Register-Version": map[string]any{"schema": map[string]any{"type": "integer"}},
				"X-Vigie-Register-SHA256":  map[string]any{"schema": str("SHA-256 of the version's JSON content")},
				"Content-Disposition":      map[string]any{"schema": str(`csv, html, pdf: attachment; filename="registre-traitements-v{version}.{format}"`)},
			},
			"content": map[string]any{
				"application/json": map[string]any{"schema": ref("RegisterVersion")},
				"text/csv":         file("CNIL layout, for a French spreadsheet: UTF-8 with BOM, semicolons; one line per field: Fiche;Traitement;Rubrique;Champ;Valeur;Art. 30(1)"),
				"text/html":        file("A standalone printable page, a sheet per activity"),
				"application/pdf":  file("A4, a sheet per activity, fonts embedded"),
			}}
	case "register-versions":
		out["400"] = errResp("Unknown parameter")
		return map[string]any{"description": "The kept versions, latest first, without their content", "content": jsonContent(obj(map[string]any{
			"items": map[string]any{"type": "array", "items": ref("RegisterVersion")}}, "items"))}
	}
	return nil
}

// registerParameters are the query parameters of the register's operations.
func registerParameters(kind string) []any {
	if kind != "register-get" {
		return nil
	}
	return []any{
		map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": register.Formats, "default": "json"}},
		map[string]any{"name": "version", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1}, "description": "A kept version; absent: the register in force"},
	}
}
