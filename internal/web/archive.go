package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"vigie/internal/dictionary"
	"vigie/internal/record"
)

// The archive (R35), on a person's page as the DPO sees it: the archived contracts, documents,
// tickets and messages, named by their clear columns only, each with a form asking why it must be
// opened. Opening one shows it decrypted on a page « Archive consultée », and the store has
// recorded the reading — the justification sealed in archive_accesses, the access in the audit
// trail — before the page is drawn. Every other department sees no such section.

type archiveSection struct {
	Rows  []archiveRow
	Error string
}

type archiveRow struct {
	PersonID      int64
	Heading       string
	Summary       string
	Action        string
	FieldID       string
	Justification string
	Error         bool
}

// archiveView is the « Archive consultée » page.
type archiveView struct {
	PersonID      int64
	Heading       string
	When          string
	Justification string
	Fields        []detailField
	// FileAction downloads the row's file on the same justification, when it has one.
	FileAction string
}

// archiveSection lists the person's archive for the DPO (nil for every other department).
func (s *server) archiveSection(ctx context.Context, st *session, personID int64) (*archiveSection, error) {
	if !record.CanReadArchive(st.Actor) {
		return nil, nil
	}
	rows, err := s.app.Records.ArchivedRows(ctx, st.Actor, personID)
	if err != nil {
		return nil, fmt.Errorf("web: archive: %w", err)
	}
	sec := &archiveSection{}
	for _, ar := range rows {
		t := ar.Clear.Table
		var parts []string
		for _, c := range t.Columns {
			if v, ok := ar.Clear.Values[c.Name]; ok && c.Name != "id" && v != nil {
				sep := " : "
				if strings.HasSuffix(c.Label, " le") {
					sep = " " // « Créé le 02/01/2026 à 10:00 »
				}
				parts = append(parts, c.Label+sep+s.display(c, v))
			}
		}
		id := strconv.FormatInt(ar.ID, 10)
		sec.Rows = append(sec.Rows, archiveRow{PersonID: personID, Heading: t.Label + " n° " + id, Summary: strings.Join(parts, " — "),
			Action: "/archives/" + t.Name + "/" + id, FieldID: "j-" + t.Name + "-" + id})
	}
	return sec, nil
}

// readArchive opens an archived row on the DPO's written justification. A refused justification
// brings the person's page back with the reason beside the row and the text typed; nothing was
// opened nor recorded.
func (s *server) readArchive(w http.ResponseWriter, r *http.Request, st *session) {
	s.openArchive(w, r, st, false)
}

// readArchiveFile downloads an archived row's file (a document's content): a justified reading
// of its own, recorded like the first.
func (s *server) readArchiveFile(w http.ResponseWriter, r *http.Request, st *session) {
	s.openArchive(w, r, st, true)
}

func (s *server) openArchive(w http.ResponseWriter, r *http.Request, st *session, file bool) {
	if !record.CanReadArchive(st.Actor) {
		s.forbidden(w, r, st, "L'archive ne se consulte que par le DPO, sur justification écrite.")
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	table, justification := r.PathValue("table"), r.PostFormValue("justification")
	read := s.app.Records.ReadArchived
	if file {
		read = s.app.Records.ReadArchivedFiles
	}
	rec, err := read(r.Context(), st.Actor, table, id, justification)
	var invalid *record.ValidationError
	switch {
	case errors.As(err, &invalid):
		personID, _ := strconv.ParseInt(r.PostFormValue("personne"), 10, 64)
		if personID <= 0 {
			s.fail(w, r, st, err)
			return
		}
		var msgs []string
		for _, fe := range invalid.Fields {
			msgs = append(msgs, archiveFieldLabels[fe.Field]+" : "+fe.Message+".")
		}
		s.renderPersonWithArchiveError(w, r, st, personID, "/archives/"+table+"/"+strconv.FormatInt(id, 10), justification, strings.Join(msgs, " "))
		return
	case errors.Is(err, record.ErrNotArchived):
		s.render(w, r, st, http.StatusConflict, "error", "Ligne non archivée", errorView{Heading: "Ligne non archivée",
			Message: "Cette ligne n'est pas archivée : elle se consulte normalement, sans justification, par les services qui y ont accès. Rien n'a été enregistré."})
		return
	case err != nil:
		s.fail(w, r, st, err)
		return
	}
	if file {
		s.sendArchivedFile(w, r, st, rec)
		return
	}
	v := archiveView{PersonID: rec.PersonID, Heading: rec.Table.Label + " n° " + strconv.FormatInt(rec.ID, 10),
		When: s.frenchTime(s.app.Now()), Justification: strings.TrimSpace(justification)}
	for _, c := range rec.Table.Columns {
		val, ok := rec.Values[c.Name]
		if c.Kind == dictionary.KindBlob && rec.Values["size_bytes"] != nil {
			v.FileAction = "/archives/" + rec.Table.Name + "/" + strconv.FormatInt(rec.ID, 10) + "/fichier"
		}
		if !ok || c.Kind == dictionary.KindBlob {
			continue
		}
		f := detailField{Label: c.Label, Value: cell{Text: s.display(c, val)}}
		if p, ok := rec.Provenance[c.Name]; ok && val != nil {
			f.Provenance = "Collecté le " + s.frenchTime(p.CollectedAt) + " — " + s.channelLabel(p.Channel) + " — finalité : " + s.purposeName(p.Purpose)
		}
		v.Fields = append(v.Fields, f)
	}
	s.render(w, r, st, http.StatusOK, "archive", "Archive consultée", v)
}

// sendArchivedFile sends the file of an archived row, named as the download of a live document is.
func (s *server) sendArchivedFile(w http.ResponseWriter, r *http.Request, st *session, rec *record.Record) {
	for _, c := range rec.Table.Columns {
		data, ok := rec.Values[c.Name].([]byte)
		if c.Kind != dictionary.KindBlob || !ok {
			continue
		}
		sendFile(w, "archive-"+rec.Table.Name+"-"+strconv.FormatInt(rec.ID, 10), rec, data)
		return
	}
	s.notFound(w, r, st)
}

// archiveFieldLabels name the refused fields as the form labels them.
var archiveFieldLabels = map[string]string{"justification": "Justification écrite", "table": "Table"}

// renderPersonWithArchiveError shows the person's page again with a refused justification beside
// its row, the text typed kept so that the DPO can complete it.
func (s *server) renderPersonWithArchiveError(w http.ResponseWriter, r *http.Request, st *session, personID int64, action, typed, problem string) {
	rec, err := s.app.Records.Get(r.Context(), st.Actor, "persons", personID)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.renderDetailWith(w, r, st, s.res["persons"], rec, http.StatusUnprocessableEntity, nil, func(v *detailView) {
		if v.Archive == nil {
			return
		}
		v.Archive.Error = problem
		for i := range v.Archive.Rows {
			if v.Archive.Rows[i].Action == action {
				v.Archive.Rows[i].Justification, v.Archive.Rows[i].Error = typed, true
			}
		}
	})
}
