package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"vigie/internal/consent"
	"vigie/internal/record"
	"vigie/internal/reqlog"
	"vigie/internal/rights"
)

// The privacy portal (DESIGN §7): a person signs in with their e-mail and a one-time code sent to
// it, then sees everything Vigie holds on them and exercises each right. No JavaScript; every
// action is a form. The session cookie is scoped to /portail and lives 30 minutes.

const portalCookie = "vigie_portail"

type portalStartView struct {
	Email    string
	CodeSent bool
	Error    string
	Lifetime int
}

type portalView struct {
	Archive    *rights.Archive
	Quotes     []portalQuote
	Consents   []portalConsent
	Objected   bool
	Restricted bool
	Requests   []portalRequest
	Directive  *rights.Directive
	Contact    []*formField
	Done       string
	Errors     []string
	Labels     map[string]string
	Controller consent.Controller
	// Dossiers are the records held under the same address, when there are several (a quote
	// request opens one each): the page shows one at a time and offers the others.
	Dossiers []portalDossier
}

type portalDossier struct {
	PersonID int64
	Since    string
	Current  bool
}

// portalQuote is a quote the person may ask a human to review (art. 22).
type portalQuote struct {
	ID                    int64
	Vehicle, Premium, Day string
}

type portalConsent struct {
	Code, Label string
	Granted     bool
	Since       string
}

type portalRequest struct {
	ID                   int64
	Type, Status, Due    string
	Received, ClosedOn   string
	Late, Open, Extended bool
}

func (s *server) portalStart(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.portalPerson(r); ok {
		http.Redirect(w, r, "/portail/mes-donnees", http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "portal_start", "Portail de confidentialité", portalStartView{Lifetime: int(rights.CodeLifetime.Minutes())})
}

// portalSendCode sends a code; the answer is the same whether the address is known or not.
func (s *server) portalSendCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	v := portalStartView{Email: r.PostFormValue("email"), Lifetime: int(rights.CodeLifetime.Minutes())}
	if !s.portalLimit.Allow("code:" + reqlog.ClientAddress(r)) {
		v.Error = "Trop de demandes depuis votre connexion. Réessayez dans une heure."
		s.render(w, r, nil, http.StatusTooManyRequests, "portal_start", "Portail de confidentialité", v)
		return
	}
	err := s.app.Rights.SendCode(r.Context(), v.Email)
	var inputErr *rights.InputError
	switch {
	case errors.As(err, &inputErr):
		v.Error = inputErr.Message
		s.render(w, r, nil, http.StatusBadRequest, "portal_start", "Portail de confidentialité", v)
		return
	case err != nil:
		s.fail(w, r, nil, err)
		return
	}
	s.app.Outbox.Wake()
	v.CodeSent = true
	s.render(w, r, nil, http.StatusOK, "portal_start", "Portail de confidentialité", v)
}

func (s *server) portalSignIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	v := portalStartView{Email: r.PostFormValue("email"), CodeSent: true, Lifetime: int(rights.CodeLifetime.Minutes())}
	if !s.portalLimit.Allow("signin:" + reqlog.ClientAddress(r)) {
		v.Error = "Trop de tentatives depuis votre connexion. Réessayez dans une heure."
		s.render(w, r, nil, http.StatusTooManyRequests, "portal_start", "Portail de confidentialité", v)
		return
	}
	token, err := s.app.Rights.SignIn(r.Context(), v.Email, r.PostFormValue("code"))
	var inputErr *rights.InputError
	switch {
	case errors.As(err, &inputErr):
		v.Error = inputErr.Message
	case errors.Is(err, rights.ErrBadCode):
		v.Error = "Code incorrect ou expiré. Vérifiez le dernier message reçu, ou demandez un nouveau code."
	case err != nil:
		s.fail(w, r, nil, err)
		return
	}
	if v.Error != "" {
		s.render(w, r, nil, http.StatusBadRequest, "portal_start", "Portail de confidentialité", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: token, Path: "/portail", MaxAge: int(rights.SessionLifetime / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/portail/mes-donnees", http.StatusSeeOther)
}

func (s *server) portalSignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(portalCookie); err == nil {
		s.app.Rights.SignOut(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: "", Path: "/portail", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/portail", http.StatusSeeOther)
}

func (s *server) portalPerson(r *http.Request) (int64, bool) {
	c, err := r.Cookie(portalCookie)
	if err != nil {
		return 0, false
	}
	id, err := s.app.Rights.SessionPerson(r.Context(), c.Value)
	return id, err == nil
}

// portal wraps a page of the signed-in person; without a session it goes back to the code form.
func (s *server) portal(h func(http.ResponseWriter, *http.Request, int64)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.portalPerson(r)
		if !ok {
			http.Redirect(w, r, "/portail", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				s.unreadableForm(w, r)
				return
			}
		}
		reqlog.SetDepartment(r.Context(), "portail")
		h(w, r, id)
	})
}

// portalDone is where an action sends the browser back, with what was done.
func portalDone(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/portail/mes-donnees?fait="+what+"#resultat", http.StatusSeeOther)
}

// portalMessages are the confirmations an action leaves, by key.
var portalMessages = map[string]string{
	"consentement":   "Votre consentement est retiré, avec effet immédiat.",
	"opposition":     "C'est noté : vous ne recevrez plus aucune prospection, et vos coordonnées restent sur notre liste d'opposition.",
	"limitation":     "Votre demande de limitation est enregistrée ; le délégué à la protection des données y répond dans le mois.",
	"effacement":     "Votre demande d'effacement est enregistrée ; le délégué à la protection des données y répond dans le mois.",
	"rectification":  "Vos corrections sont enregistrées.",
	"verification":   "Vos corrections d'identité seront vérifiées avant de modifier votre contrat ; nous vous répondrons dans le mois.",
	"directive":      "Vos directives pour après votre décès sont enregistrées.",
	"reexamen":       "Votre demande de réexamen est enregistrée : une personne du service devis réexamine le tarif et vous répond dans le mois.",
	"opposition-dpo": "Votre opposition est enregistrée ; le délégué à la protection des données l'examine et vous répond dans le mois.",
}

func (s *server) portalHome(w http.ResponseWriter, r *http.Request, personID int64) {
	s.renderPortal(w, r, personID, http.StatusOK, nil, nil)
}

func (s *server) renderPortal(w http.ResponseWriter, r *http.Request, personID int64, status int, errs []string, values map[string]string) {
	ctx := r.Context()
	ar, err := s.app.Rights.Access(ctx, rights.Subject, personID)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	v := portalView{Archive: ar, Done: portalMessages[r.URL.Query().Get("fait")], Errors: errs,
		Labels: rights.InstructionLabels, Controller: s.app.Config.Controller}
	history, err := s.app.Consent.History(ctx, personID, 0, "dpo")
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	current := consent.Current(history)
	for _, p := range consent.Purposes {
		e, ok := current[p.Code]
		pc := portalConsent{Code: p.Code, Label: p.Label, Granted: ok && e.Granted}
		if ok {
			pc.Since = s.frenchDate(e.GivenAt)
		}
		v.Consents = append(v.Consents, pc)
	}
	shown := map[string]string{}
	for _, cat := range ar.Categories {
		if cat.Table != "persons" {
			continue
		}
		for _, f := range cat.Rows[0].Fields {
			shown[f.Field] = fmt.Sprint(f.Value)
		}
	}
	v.Objected, v.Restricted = shown["objected_prospection"] == "true", shown["restricted"] == "true"
	for _, cat := range ar.Categories {
		if cat.Table != "quotes" {
			continue
		}
		for _, row := range cat.Rows {
			q := portalQuote{ID: row.ID}
			for _, f := range row.Fields {
				switch f.Field {
				case "vehicle_make", "vehicle_model":
					q.Vehicle = strings.TrimSpace(q.Vehicle + " " + fmt.Sprint(f.Value))
				case "premium_quoted":
					q.Premium = fmt.Sprint(f.Value)
				case "created_at":
					if at, err := time.Parse(time.RFC3339, fmt.Sprint(f.Value)); err == nil {
						q.Day = s.frenchDate(at)
					}
				}
			}
			v.Quotes = append(v.Quotes, q)
		}
	}
	reqs, err := s.app.Rights.PersonRequests(ctx, personID)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	now := s.app.Now()
	for _, q := range reqs {
		pr := portalRequest{ID: q.ID, Type: rights.TypeLabels[q.Type], Status: requestStatus(q.Status), Received: s.frenchDate(q.ReceivedAt),
			Due: s.frenchDate(q.DueAt), Open: q.Open(), Late: q.Open() && q.TimeLeft(now) < 0, Extended: q.ExtendedAt.Valid}
		if q.ClosedAt.Valid {
			pr.ClosedOn = s.frenchDate(q.ClosedAt.Time)
		}
		v.Requests = append(v.Requests, pr)
	}
	if v.Directive, err = s.app.Rights.GetDirective(ctx, rights.Subject, personID); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	dossiers, err := s.app.Rights.Dossiers(ctx, personID)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if len(dossiers) > 1 {
		for _, d := range dossiers {
			v.Dossiers = append(v.Dossiers, portalDossier{PersonID: d.PersonID, Since: s.frenchTime(d.Since), Current: d.Current})
		}
	}
	persons := s.dict.Table("persons")
	for k, val := range values {
		shown[k] = val
	}
	for _, name := range rights.Rectifiable {
		f := s.field(persons, persons.Column(name), shown, map[string]string{})
		v.Contact = append(v.Contact, f)
	}
	s.render(w, r, nil, status, "portal", "Mes données personnelles", v)
}

// portalDossier shows another record held under the session's address (rights.SwitchDossier).
func (s *server) portalDossier(w http.ResponseWriter, r *http.Request, personID int64) {
	unknown := []string{"Dossier inconnu : choisissez l'un des dossiers listés sous « Vos dossiers »."}
	target, err := strconv.ParseInt(r.PostFormValue("dossier"), 10, 64)
	c, cerr := r.Cookie(portalCookie)
	if err != nil || cerr != nil {
		s.renderPortal(w, r, personID, http.StatusBadRequest, unknown, nil)
		return
	}
	switch err := s.app.Rights.SwitchDossier(r.Context(), c.Value, target); {
	case errors.Is(err, rights.ErrNotYourDossier):
		s.renderPortal(w, r, personID, http.StatusBadRequest, unknown, nil)
	case err != nil:
		s.portalFail(w, r, personID, err)
	default:
		http.Redirect(w, r, "/portail/mes-donnees", http.StatusSeeOther)
	}
}

func requestStatus(status string) string {
	switch status {
	case "open":
		return "reçue"
	case "in_progress":
		return "en cours"
	case "closed":
		return "traitée"
	case "refused":
		return "refusée"
	}
	return status
}

// portalArchive downloads everything held, as one ZIP; the access is recorded as a request
// answered at once, with the archive's SHA-256 as its evidence.
func (s *server) portalArchive(w http.ResponseWriter, r *http.Request, personID int64) {
	s.portalDownload(w, r, personID, "access")
}

func (s *server) portalPortability(w http.ResponseWriter, r *http.Request, personID int64) {
	s.portalDownload(w, r, personID, "portability")
}

func (s *server) portalDownload(w http.ResponseWriter, r *http.Request, personID int64, kind string) {
	ctx := r.Context()
	var body []byte
	var name, contentType, evidence string
	switch kind {
	case "access":
		ar, err := s.app.Rights.Access(ctx, rights.Subject, personID)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		var buf bytes.Buffer
		if evidence, err = ar.WriteZIP(&buf); err != nil {
			s.fail(w, r, nil, err)
			return
		}
		body, name, contentType = buf.Bytes(), "mes-donnees.zip", "application/zip"
	default:
		p, err := s.app.Rights.Portability(ctx, rights.Subject, personID)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		var buf bytes.Buffer
		if err := p.WriteJSON(&buf); err != nil {
			s.fail(w, r, nil, err)
			return
		}
		body, name, contentType = buf.Bytes(), "mes-donnees-portabilite.json", "application/json"
		evidence = sha256Evidence(body)
	}
	id, err := s.app.Rights.Submit(ctx, rights.Subject, rights.NewRequest{PersonID: personID, Type: kind, Channel: "portal"})
	if err == nil {
		err = s.app.Rights.Close(ctx, rights.Subject, id, "closed", "Téléchargé depuis le portail de confidentialité.", evidence)
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (s *server) portalWithdraw(w http.ResponseWriter, r *http.Request, personID int64) {
	purpose := r.PostFormValue("purpose")
	if consent.PurposeByCode(purpose) == nil {
		s.renderPortal(w, r, personID, http.StatusBadRequest, []string{"Finalité inconnue."}, nil)
		return
	}
	if err := s.app.Consent.Record(r.Context(), personID, []consent.Choice{{Purpose: purpose}},
		consent.Proof{Channel: "portal", Method: consent.MethodPortal, Department: "portail"}); err != nil {
		s.portalFail(w, r, personID, err)
		return
	}
	portalDone(w, r, "consentement")
}

func (s *server) portalObject(w http.ResponseWriter, r *http.Request, personID int64) {
	purpose := r.PostFormValue("purpose")
	if purpose == "" {
		purpose = "prospection"
	}
	if err := s.app.Consent.Object(r.Context(), personID, purpose, consent.Proof{Channel: "portal", Method: consent.MethodObjection, Department: "portail"}); err != nil {
		s.portalFail(w, r, personID, err)
		return
	}
	if purpose != "prospection" {
		// Art. 21(1): an objection to another purpose is weighed by the DPO, within the month.
		if _, err := s.app.Rights.Submit(r.Context(), rights.Subject, rights.NewRequest{PersonID: personID, Type: "objection", Channel: "portal",
			Details: "Opposition à la finalité " + purpose + " : " + r.PostFormValue("details")}); err != nil {
			s.portalFail(w, r, personID, err)
			return
		}
		portalDone(w, r, "opposition-dpo")
		return
	}
	portalDone(w, r, "opposition")
}

// portalRequest records a request for the DPO: restriction or erasure.
func (s *server) portalRequest(w http.ResponseWriter, r *http.Request, personID int64) {
	kind := r.PostFormValue("type")
	done := map[string]string{"restriction": "limitation", "erasure": "effacement"}[kind]
	if done == "" {
		s.renderPortal(w, r, personID, http.StatusBadRequest, []string{"Type de demande inconnu."}, nil)
		return
	}
	if _, err := s.app.Rights.Submit(r.Context(), rights.Subject, rights.NewRequest{PersonID: personID, Type: kind, Channel: "portal",
		Details: r.PostFormValue("details")}); err != nil {
		s.portalFail(w, r, personID, err)
		return
	}
	portalDone(w, r, done)
}

// portalReview asks a human to review an automated price (art. 22); a review already open for
// the quote is not asked twice.
func (s *server) portalReview(w http.ResponseWriter, r *http.Request, personID int64) {
	quoteID, err := strconv.ParseInt(r.PostFormValue("quote_id"), 10, 64)
	if err != nil || quoteID <= 0 {
		s.renderPortal(w, r, personID, http.StatusBadRequest, []string{"Devis inconnu."}, nil)
		return
	}
	reqs, err := s.app.Rights.PersonRequests(r.Context(), personID)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	for _, q := range reqs {
		if q.Type == "human_review" && q.Open() && q.QuoteID == quoteID {
			portalDone(w, r, "reexamen")
			return
		}
	}
	if _, err := s.app.Rights.Submit(r.Context(), rights.Subject, rights.NewRequest{PersonID: personID, Type: "human_review", Channel: "portal",
		QuoteID: quoteID, Details: r.PostFormValue("details")}); err != nil {
		var invalid *record.ValidationError
		if errors.As(err, &invalid) {
			s.renderPortal(w, r, personID, http.StatusBadRequest, []string{"Ce devis n'est pas le vôtre."}, nil)
			return
		}
		s.portalFail(w, r, personID, err)
		return
	}
	portalDone(w, r, "reexamen")
}

func (s *server) portalRectify(w http.ResponseWriter, r *http.Request, personID int64) {
	changes := map[string]string{}
	for _, name := range rights.Rectifiable {
		if v, ok := r.PostForm[name]; ok {
			changes[name] = v[0]
		}
	}
	out, err := s.app.Rights.Rectify(r.Context(), rights.Subject, personID, changes)
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		var msgs []string
		persons := s.dict.Table("persons")
		for _, fe := range invalid.Fields {
			label := fe.Field
			if c := persons.Column(fe.Field); c != nil {
				label = c.Label
			}
			msgs = append(msgs, label+" : "+fe.Message)
		}
		s.renderPortal(w, r, personID, http.StatusBadRequest, msgs, changes)
		return
	}
	if err != nil {
		s.portalFail(w, r, personID, err)
		return
	}
	if len(out.Review) > 0 {
		portalDone(w, r, "verification")
		return
	}
	portalDone(w, r, "rectification")
}

func (s *server) portalDirective(w http.ResponseWriter, r *http.Request, personID int64) {
	d := rights.Directive{Instruction: r.PostFormValue("instruction"), TrustedContact: r.PostFormValue("trusted_contact"), Wishes: r.PostFormValue("wishes")}
	if err := s.app.Rights.SetDirective(r.Context(), rights.Subject, personID, d); err != nil {
		s.portalFail(w, r, personID, err)
		return
	}
	portalDone(w, r, "directive")
}

// portalFail shows a refused action on the person's page, with the rule that refused it.
func (s *server) portalFail(w http.ResponseWriter, r *http.Request, personID int64, err error) {
	var inputErr *rights.InputError
	var consentErr *consent.InputError
	switch {
	case errors.As(err, &inputErr):
		s.renderPortal(w, r, personID, http.StatusBadRequest, []string{inputErr.Message}, nil)
	case errors.As(err, &consentErr):
		s.renderPortal(w, r, personID, http.StatusBadRequest, []string{consentErr.Message}, nil)
	default:
		s.fail(w, r, nil, err)
	}
}

func sha256Evidence(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
