package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/quoting"
	"vigie/internal/record"
)

// The public pages: the online quote form with its privacy notice and consent choices, the
// result of a quote with the request for a human review, the withdrawal link of every message,
// and the Global Privacy Control declaration. No account is needed; what a page may show is
// decided by a signed token in its link.

type consentBox struct {
	ID, Name, Label, Detail string
	Checked, Disabled       bool
}

type publicQuoteView struct {
	Person, Quote []*formField
	Consents      []consentBox
	GPC           bool
	Errors        []summaryError
	Notice        consent.Notice
}

// notice is the current privacy notice of the quote form, published (kept, hashed) on first use.
func (s *server) notice(r *http.Request) (consent.Notice, error) {
	person, quote := quoting.FormColumns(s.dict)
	var labels []string
	for _, c := range append(person, quote...) {
		first, size := utf8.DecodeRuneInString(c.Label)
		labels = append(labels, string(unicode.ToLower(first))+c.Label[size:])
	}
	return s.app.Consent.Publish(r.Context(), consent.QuoteNotice(s.dict, s.app.Config.Controller, labels, s.maxDataAge()))
}

func (s *server) maxDataAge() int {
	if n := s.app.Config.QuoteDataMaxAgeMonths; n > 0 {
		return n
	}
	return 6
}

// gpc reports the browser's Global Privacy Control signal.
func gpc(r *http.Request) bool { return r.Header.Get("Sec-GPC") == "1" }

func (s *server) quoteFormPage(w http.ResponseWriter, r *http.Request) {
	s.renderQuoteForm(w, r, http.StatusOK, map[string]string{}, map[string]string{}, map[string]bool{})
}

func (s *server) renderQuoteForm(w http.ResponseWriter, r *http.Request, status int, values, errs map[string]string, ticked map[string]bool) {
	n, err := s.notice(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	v := publicQuoteView{GPC: gpc(r), Notice: n}
	person, quote := quoting.FormColumns(s.dict)
	persons, quotes := s.dict.Table("persons"), s.dict.Table("quotes")
	for _, c := range person {
		v.Person = append(v.Person, s.publicField(persons, c, values, errs))
	}
	for _, c := range quote {
		v.Quote = append(v.Quote, s.publicField(quotes, c, values, errs))
	}
	for _, p := range consent.Purposes {
		b := consentBox{ID: "c-" + p.Code, Name: "consent_" + p.Code, Label: p.Label, Detail: p.Detail, Checked: ticked[p.Code]}
		if v.GPC && p.Marketing {
			b.Disabled, b.Checked = true, false
			b.Detail = "Votre navigateur exprime un refus (Global Privacy Control) : nous l'appliquons, cette case reste décochée."
		}
		v.Consents = append(v.Consents, b)
	}
	v.Errors = s.summary(persons, append(v.Person, v.Quote...), errs)
	s.render(w, r, nil, status, "public_quote", "Demande de devis auto", v)
}

// publicField is the dictionary's input for a column, with the wording a member of the public
// needs rather than staff help.
func (s *server) publicField(t *dictionary.Table, c *dictionary.Column, values, errs map[string]string) *formField {
	f := s.field(t, c, values, errs)
	if c.PublicForm == "required" && c.Kind != dictionary.KindBoolean {
		f.Required = true
	}
	if _, ok := errs[c.Name]; !ok && c.Name == "postal_code" {
		if e, ok := errs["departement"]; ok {
			f.Error = e
			f.describe()
		}
	}
	switch c.Name {
	case "email":
		f.Autocomplete = "email"
	case "phone":
		f.Autocomplete = "tel"
	case "first_name":
		f.Autocomplete = "given-name"
	case "last_name":
		f.Autocomplete = "family-name"
	case "birth_date":
		f.Autocomplete = "bday"
	case "postal_code":
		f.Autocomplete = "postal-code"
	case "city":
		f.Autocomplete = "address-level2"
	}
	return f
}

func (s *server) submitQuote(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	n, err := s.notice(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	person, quote := quoting.FormColumns(s.dict)
	req := quoting.Request{Person: readForm(r, person), Quote: readForm(r, quote), Ticked: map[string]bool{}, GPC: gpc(r), Notice: n}
	for _, p := range consent.Purposes {
		req.Ticked[p.Code] = r.PostFormValue("consent_"+p.Code) == "true"
	}
	res, err := s.app.Quoting.Submit(r.Context(), req)
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		values := map[string]string{}
		for k, v := range req.Person {
			values[k] = v
		}
		for k, v := range req.Quote {
			values[k] = v
		}
		s.renderQuoteForm(w, r, http.StatusUnprocessableEntity, values, fieldErrors(invalid), req.Ticked)
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/demande-de-devis/resultat?d="+strconv.FormatInt(res.QuoteID, 10)+"&t="+res.Token, http.StatusSeeOther)
}

type choiceView struct {
	Label, State, When, Method, NoticeVersion, NoticeHref string
}

type quoteResultView struct {
	QuoteID           int64
	Token             string
	Premium, Insurer  string
	Base              string
	Factors           []quoting.Factor
	Choices           []choiceView
	ReviewRequested   bool
	ReviewDue         string
	WithdrawalLinks   []withdrawLink
	AutomatedDecision bool
}

type withdrawLink struct{ Label, Href string }

func (s *server) quoteResult(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.URL.Query().Get("d"), 10, 64)
	s.renderQuoteResult(w, r, id, r.URL.Query().Get("t"), "")
}

func (s *server) renderQuoteResult(w http.ResponseWriter, r *http.Request, id int64, token, reviewDue string) {
	q, err := s.app.Quoting.Get(r.Context(), id, token)
	if errors.Is(err, quoting.ErrBadToken) || errors.Is(err, record.ErrNotFound) {
		s.render(w, r, nil, http.StatusNotFound, "error", "Lien invalide", errorView{Heading: "Lien invalide",
			Message: "Ce lien de devis n'est pas valide. Utilisez le lien exact reçu après votre demande."})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	v := quoteResultView{QuoteID: id, Token: token, Premium: q.Text("premium_quoted"), Insurer: q.Text("insurer"),
		AutomatedDecision: q.Get("automated_decision") == true, ReviewDue: reviewDue, ReviewRequested: reviewDue != ""}
	if v.AutomatedDecision {
		price, err := s.app.Quoting.Explain(r.Context(), q)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		v.Base, v.Factors = strconv.FormatFloat(price.Base, 'f', 2, 64), price.Factors
	}
	history, err := s.app.Consent.History(r.Context(), q.PersonID, 0, quoting.Public.Department)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	for _, p := range consent.Purposes {
		e, ok := consent.Current(history)[p.Code]
		if !ok {
			continue
		}
		c := choiceView{Label: p.Label, State: "refusé", When: s.frenchTime(e.GivenAt), Method: methodLabel[e.Method]}
		if e.Granted {
			c.State = "accordé"
			v.WithdrawalLinks = append(v.WithdrawalLinks, withdrawLink{Label: p.Label, Href: s.withdrawalHref(q.PersonID, p.Code)})
		}
		if e.NoticeHash != "" {
			c.NoticeVersion, c.NoticeHref = e.NoticeHash[:12], "/confidentialite/"+e.NoticeHash
		}
		v.Choices = append(v.Choices, c)
	}
	s.render(w, r, nil, http.StatusOK, "public_result", "Votre devis", v)
}

var methodLabel = map[string]string{
	consent.MethodCheckbox:       "case à cocher du formulaire",
	consent.MethodGPC:            "signal Global Privacy Control de votre navigateur",
	consent.MethodStaff:          "enregistré par un conseiller",
	consent.MethodWithdrawalLink: "lien de retrait",
	consent.MethodPortal:         "espace « Mes données »",
	consent.MethodObjection:      "opposition",
	consent.MethodSuppression:    "liste d'opposition",
}

func (s *server) withdrawalHref(personID int64, purpose string) string {
	return "/consentement/retrait?p=" + strconv.FormatInt(personID, 10) + "&f=" + purpose + "&t=" + s.app.Consent.WithdrawalToken(personID, purpose)
}

func (s *server) requestReview(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("d"), 10, 64)
	token := r.PostFormValue("t")
	reqID, err := s.app.Quoting.RequestReview(r.Context(), id, token, r.PostFormValue("details"))
	var invalid *record.ValidationError
	switch {
	case errors.Is(err, quoting.ErrBadToken) || errors.Is(err, record.ErrNotFound):
		s.render(w, r, nil, http.StatusNotFound, "error", "Lien invalide", errorView{Heading: "Lien invalide",
			Message: "Ce lien de devis n'est pas valide. Utilisez le lien exact reçu après votre demande."})
		return
	case errors.As(err, &invalid):
		var msgs []string
		for _, fe := range invalid.Fields {
			msgs = append(msgs, fe.Message)
		}
		s.render(w, r, nil, http.StatusUnprocessableEntity, "error", "Demande non enregistrée", errorView{Heading: "Demande non enregistrée",
			Message: "Votre message n'a pas été enregistré : " + strings.Join(msgs, " ; ") + ". Revenez en arrière pour le corriger."})
		return
	case err != nil:
		s.fail(w, r, nil, err)
		return
	}
	due := s.app.Now().AddDate(0, 1, 0)
	s.app.Log.Info("human review requested", "request", reqID)
	s.renderQuoteResult(w, r, id, token, s.frenchDate(due))
}

func (s *server) unreadableForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusBadRequest, "error", "Requête invalide", errorView{Heading: "Requête invalide",
		Message: "Le formulaire envoyé est illisible ; rechargez la page et recommencez."})
}

func (s *server) frenchDate(t time.Time) string { return t.In(s.paris).Format("02/01/2006") }

type noticeView struct {
	Notice  consent.Notice
	Current bool
}

func (s *server) noticePage(w http.ResponseWriter, r *http.Request) {
	n, err := s.notice(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.render(w, r, nil, http.StatusOK, "notice", "Vos données personnelles", noticeView{Notice: n, Current: true})
}

// noticeVersion shows a past version of the notice: what a person saw when they chose.
func (s *server) noticeVersion(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	n, err := s.app.Consent.NoticeByHash(r.Context(), hash)
	if err != nil || len(hash) != 64 {
		s.render(w, r, nil, http.StatusNotFound, "error", "Version introuvable", errorView{Heading: "Version introuvable",
			Message: "Aucune version de la notice ne porte cette empreinte."})
		return
	}
	current, _ := s.notice(r)
	s.render(w, r, nil, http.StatusOK, "notice", "Vos données personnelles", noticeView{Notice: n, Current: current.Hash == n.Hash})
}

type withdrawView struct {
	PersonID          int64
	Purpose, Token    string
	Label             string
	Done, Objected    bool
	ProspectionOffers bool
}

// withdrawal reads and checks the link; ok is false when the page has been answered already.
func (s *server) withdrawal(w http.ResponseWriter, r *http.Request, values func(string) string) (withdrawView, bool) {
	id, _ := strconv.ParseInt(values("p"), 10, 64)
	v := withdrawView{PersonID: id, Purpose: values("f"), Token: values("t")}
	p := consent.PurposeByCode(v.Purpose)
	if p == nil || id <= 0 || !s.app.Consent.CheckWithdrawalToken(id, v.Purpose, v.Token) {
		s.render(w, r, nil, http.StatusNotFound, "error", "Lien invalide", errorView{Heading: "Lien de retrait invalide",
			Message: "Ce lien n'est pas valide. Utilisez le lien exact reçu dans notre message, ou écrivez à " + s.app.Config.Controller.DPOEmail + "."})
		return v, false
	}
	v.Label, v.ProspectionOffers = p.Label, p.Register == "prospection"
	return v, true
}

func (s *server) withdrawPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.withdrawal(w, r, r.URL.Query().Get); ok {
		s.render(w, r, nil, http.StatusOK, "withdraw", "Retirer mon consentement", v)
	}
}

// withdraw records the withdrawal — one click on the page the link opens, as easy as the tick
// that gave it (R19) — and, when asked, an objection to all prospection (R28).
func (s *server) withdraw(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	v, ok := s.withdrawal(w, r, r.PostFormValue)
	if !ok {
		return
	}
	ctx := r.Context()
	err := s.app.Consent.Record(ctx, v.PersonID, []consent.Choice{{Purpose: v.Purpose}},
		consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink})
	if err == nil && r.PostFormValue("objection") == "true" && v.ProspectionOffers {
		err = s.app.Consent.Object(ctx, v.PersonID, "prospection", consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink})
		v.Objected = err == nil
	}
	if errors.Is(err, consent.ErrUnknownPerson) {
		s.render(w, r, nil, http.StatusGone, "error", "Données effacées", errorView{Heading: "Nous ne détenons plus vos données",
			Message: "Vos données ont été effacées : aucun message ne vous sera plus envoyé."})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	v.Done = true
	s.render(w, r, nil, http.StatusOK, "withdraw", "Consentement retiré", v)
}

// gpcDeclaration is the Global Privacy Control well-known resource: this site honours the signal.
func (s *server) gpcDeclaration(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"gpc": true, "lastUpdate": "2026-11-22"}` + "\n"))
}
