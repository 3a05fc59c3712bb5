package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"vigie/internal/charter"
)

// The data-governance charter and the staff's training (R43).
//
//   - The gate: once signed in (password and second factor), a staff member who has not accepted
//     the version of the charter in force is sent from every staff page to « Charte de gouvernance
//     des données » (/charte), which shows the text, its version and SHA-256, and the button « J'ai
//     lu et j'accepte la charte ». The form is a POST like every other, under the same cross-origin
//     protection (CSRF), and carries the hash of the text shown: a version published in between is
//     not accepted in its place. The acceptance is recorded and audited by the charter service; the
//     browser then goes on to the page it asked for. Only the charter page itself and "log out
//     everywhere" stay open before the acceptance; signing out (POST /deconnexion) needs no session.
//   - « Charte et formation » (/charte-et-formation), for the DPO and IT administration: who accepted
//     the version in force and who holds each mandatory module, those to follow up first; the form
//     recording a completed training; the form publishing a new version; the versions with their
//     hash and number of acceptances. It names staff by name and e-mail, as the users page does.

// charterOpen are the staff routes a staff member reaches before accepting the charter.
var charterOpen = map[string]bool{
	"GET /charte":               true,
	"POST /charte":              true,
	"POST /deconnexion/partout": true,
}

// charterRoutes adds the charter's pages to the route table.
func (s *server) charterRoutes(mux *http.ServeMux) {
	mux.Handle("GET /charte", s.staff(s.charterPage))
	mux.Handle("POST /charte", s.staff(s.acknowledgeCharter))
	mux.Handle("GET /charte/versions/{hash}", s.staff(s.charterVersionPage))
	mux.Handle("GET /charte-et-formation", s.staff(s.charterStatusPage))
	mux.Handle("POST /charte-et-formation/formations", s.staff(s.recordTraining))
	mux.Handle("POST /charte-et-formation/versions", s.staff(s.publishCharter))
}

// charterTemplates are the pages of this file, parsed with the layout.
var charterTemplates = []string{"charter", "charter_status"}

// charterGate lets the request through when its user accepted the charter in force, or the route
// is one of charterOpen; otherwise it sends the browser to the charter and returns false.
func (s *server) charterGate(w http.ResponseWriter, r *http.Request, st *session) bool {
	if charterOpen[r.Pattern] {
		return true
	}
	must, err := s.app.Charter.MustAcknowledge(r.Context(), st.User.ID)
	if err != nil {
		s.fail(w, r, st, err)
		return false
	}
	if !must {
		return true
	}
	target := "/charte"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?suivant=" + url.QueryEscape(r.URL.Path)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return false
}

// renderBare draws a staff page without the menu: before the charter is accepted, every entry of
// the menu would only lead back to it.
func (s *server) renderBare(w http.ResponseWriter, r *http.Request, st *session, status int, name, title string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", page{Title: title, Session: st, Data: data}); err != nil {
		s.app.Log.Error("web: render page", "template", name, "route", r.Pattern, "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "Erreur interne.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// --- The charter page ---------------------------------------------------------------------------

type charterView struct {
	Version   charter.Version
	Published string
	// Acknowledged: the user accepted this version, on AcknowledgedAt. Previous names the version
	// they accepted before, when the charter changed since.
	Acknowledged   bool
	AcknowledgedAt string
	Previous       string
	// Archived is an earlier version shown for reference: no button.
	Archived bool
	Next     string
	Error    string
}

const charterTitle = "Charte de gouvernance des données"

func (s *server) charterPage(w http.ResponseWriter, r *http.Request, st *session) {
	s.showCharter(w, r, st, http.StatusOK, safeNext(r.URL.Query().Get("suivant")), "")
}

func (s *server) showCharter(w http.ResponseWriter, r *http.Request, st *session, status int, next, errMsg string) {
	ack, done, err := s.app.Charter.AcknowledgedAt(r.Context(), st.User.ID)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := charterView{Version: ack.Version, Published: s.frenchDate(ack.Version.PublishedAt), Acknowledged: done,
		Previous: ack.Previous, Next: next, Error: errMsg}
	if done {
		v.AcknowledgedAt = s.frenchTime(ack.At)
		s.render(w, r, st, status, "charter", charterTitle, v)
		return
	}
	s.renderBare(w, r, st, status, "charter", charterTitle, v)
}

// acknowledgeCharter records the acceptance of the version shown, then goes on.
func (s *server) acknowledgeCharter(w http.ResponseWriter, r *http.Request, st *session) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	next := safeNext(r.PostFormValue("suivant"))
	_, err := s.app.Charter.Acknowledge(r.Context(), charter.Staff{UserID: st.User.ID, Department: st.User.Department}, r.PostFormValue("version"))
	if ve, ok := charter.IsInput(err); ok {
		s.showCharter(w, r, st, http.StatusConflict, next, ve.Issues[0].Message+".")
		return
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// charterVersionPage shows an earlier (or the current) version's text, by its hash.
func (s *server) charterVersionPage(w http.ResponseWriter, r *http.Request, st *session) {
	v, err := s.app.Charter.VersionByHash(r.Context(), r.PathValue("hash"))
	if errors.Is(err, charter.ErrNotFound) {
		s.notFound(w, r, st)
		return
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.render(w, r, st, http.StatusOK, "charter", charterTitle+" — version "+v.Label,
		charterView{Version: v, Published: s.frenchDate(v.PublishedAt), Archived: true, Next: "/charte"})
}

// --- « Charte et formation », for the DPO and IT administration --------------------------------

const charterStatusTitle = "Charte et formation"

const charterStatusForbidden = "Le suivi de la charte et des formations du personnel est tenu par le DPO et l'administration informatique."

var charterMessages = map[string]string{
	"formation": "Formation inscrite.",
	"version":   "Nouvelle version publiée : chaque membre du personnel devra l'accepter à sa prochaine page, vous compris.",
}

type charterStatusView struct {
	Version                      charter.Version
	Published                    string
	AsOf                         string
	Total, Acknowledged, Trained int
	Modules                      []charter.Module
	// Rows are every active staff member; Missing those who miss something, followed up first.
	Rows     []charterRow
	Missing  []charterRow
	Versions []charterVersionLine
	Training trainingForm
	Publish  publishForm
	Done     string
	Error    string
}

type charterRow struct {
	Name, Email, Department string
	Acknowledged            bool
	Charter                 string
	SecondFactor            bool
	Cells                   []moduleCell
	MissingTitles           []string
	Complete                bool
}

type moduleCell struct {
	Text    string
	Missing bool
}

type charterVersionLine struct {
	charter.Version
	Published string
	Current   bool
}

type trainingForm struct {
	Email, Module, Date string
	Errors              map[string]string
	Staff, Modules      []option
	Max                 string
}

type publishForm struct {
	Version, Body string
	Errors        map[string]string
}

func (s *server) charterStatusPage(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.app.Charter.CanSeeStatus(st.User.Department) {
		s.forbidden(w, r, st, charterStatusForbidden)
		return
	}
	s.renderCharterStatus(w, r, st, http.StatusOK, &charterStatusView{Done: charterMessages[r.URL.Query().Get("fait")]})
}

// renderCharterStatus fills the view from the service and draws the page; a refused form left in
// v stays as it was sent.
func (s *server) renderCharterStatus(w http.ResponseWriter, r *http.Request, st *session, status int, v *charterStatusView) {
	ctx := r.Context()
	rep, err := s.app.Charter.Status(ctx)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	versions, err := s.app.Charter.Versions(ctx)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v.Version, v.Published, v.AsOf = rep.Version, s.frenchDate(rep.Version.PublishedAt), rep.AsOf.Format("02/01/2006")
	v.Total, v.Acknowledged, v.Trained, v.Modules = len(rep.Staff), rep.Acknowledged(), rep.Trained(), rep.Modules
	v.Rows, v.Missing = nil, nil
	for _, sm := range rep.Staff {
		row := charterRow{Name: sm.Name, Email: sm.Email, Department: sm.Department, Acknowledged: sm.Acknowledged,
			SecondFactor: sm.SecondFactor, Complete: sm.Complete()}
		if dep, ok := s.dict.Department(sm.Department); ok {
			row.Department = dep.Name
		}
		switch {
		case sm.Acknowledged:
			row.Charter = "acceptée le " + s.frenchDate(sm.AcknowledgedAt)
		case sm.LastVersion != "":
			row.Charter = "à accepter (dernière acceptée : " + sm.LastVersion + ")"
		default:
			row.Charter = "à accepter"
		}
		if !sm.Acknowledged {
			row.MissingTitles = append(row.MissingTitles, "la charte "+rep.Version.Label)
		}
		for _, m := range rep.Modules {
			row.Cells = append(row.Cells, moduleCellFor(sm, m))
		}
		for _, ms := range sm.Modules {
			if !ms.Done {
				row.MissingTitles = append(row.MissingTitles, ms.Module.Title)
			}
		}
		v.Rows = append(v.Rows, row)
		if !row.Complete {
			v.Missing = append(v.Missing, row)
		}
	}
	v.Versions = nil
	for i, ver := range versions {
		v.Versions = append(v.Versions, charterVersionLine{Version: ver, Published: s.frenchDate(ver.PublishedAt), Current: i == 0})
	}
	if v.Training.Errors == nil {
		v.Training = trainingForm{Date: rep.AsOf.Format(charter.DateLayout), Errors: map[string]string{}}
	}
	v.Training.Max = rep.AsOf.Format(charter.DateLayout)
	v.Training.Staff = []option{{Value: "", Label: "— Choisir —"}}
	for _, sm := range rep.Staff {
		v.Training.Staff = append(v.Training.Staff, option{Value: sm.Email, Label: sm.Name + " <" + sm.Email + ">", Selected: sm.Email == v.Training.Email})
	}
	v.Training.Modules = []option{{Value: "", Label: "— Choisir —"}}
	for _, m := range rep.Modules {
		v.Training.Modules = append(v.Training.Modules, option{Value: m.Code, Label: m.Title, Selected: m.Code == v.Training.Module})
	}
	if v.Publish.Errors == nil {
		v.Publish.Errors = map[string]string{}
	}
	s.render(w, r, st, status, "charter_status", charterStatusTitle, v)
}

// moduleCellFor says where a staff member stands on a module of the catalogue.
func moduleCellFor(sm charter.StaffStatus, m charter.Module) moduleCell {
	for _, ms := range sm.Modules {
		if ms.Module.Code != m.Code {
			continue
		}
		switch {
		case ms.Done:
			return moduleCell{Text: ms.CompletedAt.Format("02/01/2006")}
		case !ms.CompletedAt.IsZero():
			return moduleCell{Text: "à renouveler (suivi le " + ms.CompletedAt.Format("02/01/2006") + ")", Missing: true}
		}
		return moduleCell{Text: "manquant", Missing: true}
	}
	return moduleCell{Text: "non obligatoire"}
}

// charterForm reads a POST of the status page, for the departments that manage the charter.
func (s *server) charterForm(w http.ResponseWriter, r *http.Request, st *session) bool {
	if !s.app.Charter.CanManage(st.User.Department) {
		s.forbidden(w, r, st, charterStatusForbidden)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return false
	}
	return true
}

var trainingFieldLabels = map[string]string{"email": "Membre du personnel", "module": "Module", "date": "Suivi le"}

// recordTraining records a completed training; a refusal is shown beside its field and nothing is
// written.
func (s *server) recordTraining(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.charterForm(w, r, st) {
		return
	}
	f := trainingForm{Email: strings.TrimSpace(r.PostFormValue("email")), Module: strings.TrimSpace(r.PostFormValue("module")),
		Date: strings.TrimSpace(r.PostFormValue("date")), Errors: map[string]string{}}
	_, err := s.app.Charter.RecordTraining(r.Context(), charter.Staff{UserID: st.User.ID, Department: st.User.Department},
		charter.TrainingInput{Email: f.Email, Module: f.Module, Date: f.Date})
	ve, invalid := charter.IsInput(err)
	switch {
	case err == nil:
		http.Redirect(w, r, "/charte-et-formation?fait=formation#suivi", http.StatusSeeOther)
		return
	case !invalid:
		s.fail(w, r, st, err)
		return
	}
	v := &charterStatusView{Training: f, Error: "La formation n'a pas été inscrite :"}
	for _, is := range ve.Issues {
		f.Errors[is.Field] = is.Message
		v.Error += " " + trainingFieldLabels[is.Field] + " : " + is.Message + "."
	}
	s.renderCharterStatus(w, r, st, http.StatusBadRequest, v)
}

var publishFieldLabels = map[string]string{"version": "Version", "body": "Texte"}

// publishCharter publishes a new version; a refusal is shown beside its field and nothing changes.
func (s *server) publishCharter(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.charterForm(w, r, st) {
		return
	}
	f := publishForm{Version: strings.TrimSpace(r.PostFormValue("version")), Body: r.PostFormValue("body"), Errors: map[string]string{}}
	_, err := s.app.Charter.Publish(r.Context(), charter.Staff{UserID: st.User.ID, Department: st.User.Department}, f.Version, f.Body)
	ve, invalid := charter.IsInput(err)
	switch {
	case err == nil:
		http.Redirect(w, r, "/charte-et-formation?fait=version#versions", http.StatusSeeOther)
		return
	case !invalid:
		s.fail(w, r, st, err)
		return
	}
	v := &charterStatusView{Publish: f, Error: "La nouvelle version n'a pas été publiée :"}
	for _, is := range ve.Issues {
		f.Errors[is.Field] = is.Message
		v.Error += " " + publishFieldLabels[is.Field] + " : " + is.Message + "."
	}
	s.renderCharterStatus(w, r, st, http.StatusBadRequest, v)
}
