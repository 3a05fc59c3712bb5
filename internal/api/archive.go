package api

import (
	"errors"
	"net/http"
	"strings"

	"vigie/internal/record"
)

// The archive through the API (R35): the DPO lists what lies in a person's archive (clear columns
// only, nothing decrypted), and opens one archived row by giving a written justification. The
// store decides and records; these handlers only say who gets past the door before a body is
// read, and map the refusals.

// archiveForbidden is the answer to every department but the DPO.
const archiveForbidden = "réservé au DPO : l'archive ne se consulte que par le délégué à la protection des données, sur justification écrite"

// ArchiveListBody is the archive of a person: each archived row with its clear columns.
type ArchiveListBody struct {
	Items []record.ArchivedRow `json:"items"`
}

// listArchive lists the archived rows of a person (contracts, documents, tickets, messages), for
// the DPO; nothing personal is read, so nothing is audited.
func (h *Handler) listArchive(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !record.CanReadArchive(c.actor) {
		writeError(w, http.StatusForbidden, "forbidden", archiveForbidden, nil)
		return
	}
	id, ok := pathID(w, r)
	if !ok || !onlyParams(w, r) {
		return
	}
	rows, err := h.app.Records.ArchivedRows(r.Context(), c.actor, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ArchiveListBody{Items: rows})
}

// readArchive opens one archived row for the DPO, with the written justification of the body.
// The reading is logged (archive_accesses and the audit trail) in the same transaction as it is
// made; a refused one logs and returns nothing.
func (h *Handler) readArchive(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !record.CanReadArchive(c.actor) {
		writeError(w, http.StatusForbidden, "forbidden", archiveForbidden, nil)
		return
	}
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	prov, ok := wantProvenance(w, r)
	if !ok {
		return
	}
	var justification string
	if !decodeFields(w, r, map[string]any{"justification": &justification}) {
		return
	}
	rec, err := h.app.Records.ReadArchived(r.Context(), c.actor, r.PathValue("table"), id, justification)
	if errors.Is(err, record.ErrNotArchived) {
		msg := strings.TrimSuffix(record.ErrNotArchived.Error(), ".") + " ; rien n'a été enregistré"
		writeError(w, http.StatusConflict, "not_archived", msg, []*FieldIssue{{Field: "id", Rule: "archived", Message: msg}})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, present(rec, prov))
}

// archiveSchemas describes the archive's bodies; the record read is one of the archived tables'
// schemas, listed in oneOf.
func (h *Handler) archiveSchemas(schemas map[string]any) {
	var records []any
	for _, t := range h.app.Records.ArchivedTables() {
		schemas[schemaName(t)] = tableSchema(t, false)
		records = append(records, ref(schemaName(t)))
	}
	schemas["ArchivedRecord"] = map[string]any{"oneOf": records, "description": "The archived row with every field decrypted, as the table's schema describes it (files excepted)"}
	schemas["ArchivedRow"] = obj(map[string]any{
		"table":  enumOf(h.archivedTableNames()),
		"id":     map[string]any{"type": "integer"},
		"fields": map[string]any{"type": "object", "description": "The row's columns that are neither personal nor encrypted: dates, type, status, links to other rows"},
	}, "table", "id", "fields")
	schemas["ArchiveJustification"] = obj(map[string]any{"justification": map[string]any{"type": "string",
		"minLength": record.MinJustification, "maxLength": record.MaxJustification,
		"description": "Why the archive must be opened, written by the DPO (trimmed; no health, bank or other data Vigie must never hold). Kept five years, sealed under the person's key; never copied to the audit trail"}},
		"justification")
	schemas["ArchiveJustification"].(map[string]any)["additionalProperties"] = false
}

func (h *Handler) archivedTableNames() []string {
	var out []string
	for _, t := range h.app.Records.ArchivedTables() {
		out = append(out, t.Name)
	}
	return out
}
