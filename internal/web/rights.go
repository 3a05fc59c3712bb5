package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"vigie/internal/rights"
)

// The rights desk: the DPO's queue of requests by time left, each with its clock, and a page per
// request with what answering it takes — check the identity, extend once with a reason, produce
// the access archive, erase, restrict or lift, record a death, and close with the outcome. The
// quotes department sees the human reviews of automated prices, which are its own to answer.

// rightsDepartments may open the desk; each sees the requests of its own purpose.
var rightsDepartments = map[string]bool{"dpo": true, "devis": true}

type rightsQueueView struct {
	Open, Closed []queueLine
	Late, Soon   int
}

type queueLine struct {
	rights.Request
	Label, Clock, Received, Due string
	Late, Soon                  bool
}

func (s *server) rightsQueue(w http.ResponseWriter, r *http.Request, st *session) {
	if !rightsDepartments[st.User.Department] {
		s.forbidden(w, r, st, "Les demandes d'exercice de droits sont traitées par le DPO (et les réexamens de tarif par le service devis).")
		return
	}
	reqs, err := s.app.Rights.Queue(r.Context(), st.User.Department, true)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := rightsQueueView{}
	for _, q := range reqs {
		l := s.queueLine(q)
		if q.Open() {
			v.Open = append(v.Open, l)
			if l.Late {
				v.Late++
			} else if l.Soon {
				v.Soon++
			}
		} else {
			v.Closed = append(v.Closed, l)
		}
	}
	s.render(w, r, st, http.StatusOK, "rights_queue", "Demandes d'exercice de droits", v)
}

// queueLine is a request with its clock in words: days left, or days late.
func (s *server) queueLine(q rights.Request) queueLine {
	now := s.app.Now()
	l := queueLine{Request: q, Label: rights.TypeLabels[q.Type], Received: s.frenchDate(q.ReceivedAt), Due: s.frenchDate(q.DueAt)}
	if !q.Open() {
		if q.ClosedAt.Valid {
			l.Clock = "close le " + s.frenchDate(q.ClosedAt.Time)
		}
		return l
	}
	left := q.TimeLeft(now)
	days := int(left.Hours() / 24)
	switch {
	case left < 0:
		l.Late = true
		l.Clock = fmt.Sprintf("en retard de %d j", int(-left.Hours()/24)+1)
	case days == 0:
		l.Soon, l.Clock = true, "échéance aujourd'hui"
	default:
		l.Soon = days <= 7
		l.Clock = fmt.Sprintf("%d j restants", days)
	}
	return l
}

type rightsRequestView struct {
	Line       queueLine
	Details    string
	Outcome    string
	Extension  string
	PersonID   int64
	Restricted bool
	Erased     bool
	Deceased   bool
	CanExtend  bool
	Checks     []option
	Done       string
	Error      string
	Cert       *rights.Certificate
}

func (s *server) rightsRequestPage(w http.ResponseWriter, r *http.Request, st *session) {
	s.renderRightsRequest(w, r, st, http.StatusOK, "", nil)
}

func (s *server) renderRightsRequest(w http.ResponseWriter, r *http.Request, st *session, status int, problem string, cert *rights.Certificate) {
	q, ok := s.deskRequest(w, r, st)
	if !ok {
		return
	}
	rec, err := s.app.Records.Get(r.Context(), st.Actor, "rights_requests", q.ID)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := rightsRequestView{Line: s.queueLine(q), Details: rec.Text("details"), Outcome: rec.Text("outcome"), Extension: rec.Text("extension_reason"),
		PersonID: q.PersonID, Done: rightsMessages[r.URL.Query().Get("fait")], Error: problem, Cert: cert}
	v.CanExtend = q.Open() && !q.ExtendedAt.Valid && s.app.Now().Before(q.ReceivedAt.AddDate(0, 1, 0))
	for _, c := range rights.IdentityChecks {
		v.Checks = append(v.Checks, option{Value: c, Label: identityLabels[c], Selected: c == q.IdentityCheck})
	}
	if err := s.app.DB.QueryRowContext(r.Context(), `SELECT restricted, erased_at IS NOT NULL, deceased FROM persons WHERE id = $1`, q.PersonID).
		Scan(&v.Restricted, &v.Erased, &v.Deceased); err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.render(w, r, st, status, "rights_request", fmt.Sprintf("Demande n° %d", q.ID), v)
}

var identityLabels = map[string]string{
	"pending": "à vérifier", "portal_code": "code à usage unique du portail", "known_contact": "coordonnées déjà connues",
	"id_document": "pièce d'identité (doute raisonnable)", "not_needed": "sans objet",
}

var rightsMessages = map[string]string{
	"identite": "Vérification d'identité enregistrée.", "prolongee": "Délai prolongé ; la personne en est informée.",
	"close": "Demande close ; la réponse est envoyée à la personne.", "limitee": "Traitement limité.", "levee": "Limitation levée ; la personne en est informée.",
	"deces": "Décès enregistré ; la directive de la personne est appliquée.",
}

// deskRequest loads the request of the path, if the department handles it.
func (s *server) deskRequest(w http.ResponseWriter, r *http.Request, st *session) (rights.Request, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r, st)
		return rights.Request{}, false
	}
	q, err := s.app.Rights.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, st, err)
		return q, false
	}
	if !rightsDepartments[st.User.Department] || st.User.Department == "devis" && q.Type != "human_review" ||
		st.User.Department == "dpo" && q.Type == "human_review" && q.Purpose != "compliance" {
		s.forbidden(w, r, st, "Cette demande est traitée par un autre service.")
		return q, false
	}
	return q, true
}

// rightsAction wraps the POST actions of a request page: the form is read, the request loaded,
// and a refusal of the rights service shown on the page with its rule.
func (s *server) rightsAction(act func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error)) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		if err := r.ParseForm(); err != nil {
			s.unreadableForm(w, r)
			return
		}
		q, ok := s.deskRequest(w, r, st)
		if !ok {
			return
		}
		done, cert, err := act(r, st, q)
		var inputErr *rights.InputError
		switch {
		case errors.As(err, &inputErr):
			s.renderRightsRequest(w, r, st, http.StatusBadRequest, inputErr.Message, nil)
		case errors.Is(err, rights.ErrErased), errors.Is(err, rights.ErrLegalHold), errors.Is(err, rights.ErrUnknownPerson):
			s.renderRightsRequest(w, r, st, http.StatusConflict, strings.TrimPrefix(err.Error(), "rights: "), nil)
		case err != nil:
			s.fail(w, r, st, err)
		case cert != nil:
			s.renderRightsRequest(w, r, st, http.StatusOK, "", cert)
		default:
			http.Redirect(w, r, fmt.Sprintf("/droits/%d?fait=%s", q.ID, done), http.StatusSeeOther)
		}
	}
}

func (st *session) staff() rights.Staff {
	return rights.Staff{UserID: st.User.ID, Department: st.User.Department}
}

func setIdentity(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		return "identite", nil, s.app.Rights.SetIdentityCheck(r.Context(), st.staff(), q.ID, r.PostFormValue("identity_check"))
	})
}

func extendRequest(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		return "prolongee", nil, s.app.Rights.Extend(r.Context(), st.staff(), q.ID, r.PostFormValue("reason"))
	})
}

func closeRequest(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		return "close", nil, s.app.Rights.Close(r.Context(), st.staff(), q.ID, r.PostFormValue("status"), r.PostFormValue("outcome"), "")
	})
}

func eraseForRequest(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		if q.Type != "erasure" {
			return "", nil, &rights.InputError{Field: "type", Rule: "erasure", Message: "seule une demande d'effacement efface la personne"}
		}
		if r.PostFormValue("confirm") != "oui" {
			return "", nil, &rights.InputError{Field: "confirm", Rule: "required", Message: "cochez la confirmation : l'effacement est définitif"}
		}
		cert, err := s.app.Rights.Erase(r.Context(), st.staff(), q.PersonID, q.ID)
		return "", cert, err
	})
}

func restrictForRequest(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		var requestID int64
		if q.Type == "restriction" {
			requestID = q.ID
		}
		return "limitee", nil, s.app.Rights.Restrict(r.Context(), st.staff(), q.PersonID, requestID, r.PostFormValue("reason"))
	})
}

func liftForRequest(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		return "levee", nil, s.app.Rights.Lift(r.Context(), st.staff(), q.PersonID, r.PostFormValue("reason"))
	})
}

func recordDeath(s *server) staffHandler {
	return s.rightsAction(func(r *http.Request, st *session, q rights.Request) (string, *rights.Certificate, error) {
		if r.PostFormValue("confirm") != "oui" {
			return "", nil, &rights.InputError{Field: "confirm", Rule: "required", Message: "cochez la confirmation du décès"}
		}
		out, err := s.app.Rights.RecordDeath(r.Context(), st.staff(), q.PersonID)
		if err != nil {
			return "", nil, err
		}
		return "deces", out.Certificate, nil
	})
}

// rightsArchive downloads the access archive of the request's person; its SHA-256 becomes the
// request's evidence.
func (s *server) rightsArchive(w http.ResponseWriter, r *http.Request, st *session) {
	q, ok := s.deskRequest(w, r, st)
	if !ok {
		return
	}
	if st.User.Department != "dpo" {
		s.forbidden(w, r, st, "Seul le DPO produit l'archive d'accès.")
		return
	}
	ar, err := s.app.Rights.Access(r.Context(), st.staff(), q.PersonID)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	var buf bytes.Buffer
	evidence, err := ar.WriteZIP(&buf)
	if err == nil {
		err = s.app.Rights.SetEvidence(r.Context(), st.staff(), q.ID, evidence)
	}
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="acces-demande-%d-%s.zip"`, q.ID, time.Now().Format("20060102")))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	buf.WriteTo(w)
}

// reportDeath tells the DPO of a person's death: a post-mortem request opens on the desk, where
// the DPO records the death and the person's directive is applied.
func (s *server) reportDeath(w http.ResponseWriter, r *http.Request, st *session) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	if _, err := s.app.Records.Get(r.Context(), st.Actor, "persons", id); err != nil {
		s.fail(w, r, st, err)
		return
	}
	details := strings.TrimSpace(r.PostFormValue("details"))
	if details == "" || len(details) > 500 {
		s.render(w, r, st, http.StatusBadRequest, "error", "Requête invalide", errorView{Heading: "Requête invalide",
			Message: "Dites comment vous avez appris le décès (500 caractères au plus) ; rien n'a été enregistré."})
		return
	}
	_, err := s.app.Rights.Submit(r.Context(), st.staff(), rights.NewRequest{PersonID: id, Type: "post_mortem", Channel: "agency",
		Details: "Décès signalé par le service " + st.Department.Name + " : " + details, IdentityCheck: "not_needed"})
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.render(w, r, st, http.StatusOK, "error", "Décès signalé", errorView{Heading: "Décès signalé au DPO",
		Message: "Le DPO enregistre le décès et applique les directives de la personne ; d'ici là, rien ne change."})
}
