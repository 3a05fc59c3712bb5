package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"vigie/internal/consent"
	"vigie/internal/lifecycle"
)

// renewalView is the page a prospect's renewal message links to (R33): one button to stay in
// touch, one to be contacted no more.
type renewalView struct {
	PersonID        int64
	Token           string
	Kept, Objected  bool
	Until, DPOEmail string
}

// renewalLink reads and checks the link; ok is false when an error page has been answered.
func (s *server) renewalLink(w http.ResponseWriter, r *http.Request, values func(string) string) (renewalView, bool) {
	id, _ := strconv.ParseInt(values("p"), 10, 64)
	v := renewalView{PersonID: id, Token: values("t"), DPOEmail: s.app.Config.Controller.DPOEmail}
	if !s.app.Lifecycle.CheckRenewalToken(id, v.Token) {
		s.render(w, r, nil, http.StatusNotFound, "error", "Lien invalide", errorView{Heading: "Lien invalide",
			Message: "Ce lien n'est pas valide. Utilisez le lien exact reçu dans notre message, ou écrivez à " + v.DPOEmail + "."})
		return v, false
	}
	return v, true
}

func (s *server) renewalPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.renewalLink(w, r, r.URL.Query().Get); ok {
		s.render(w, r, nil, http.StatusOK, "renewal", "Rester en contact", v)
	}
}

// renewalAnswer records the prospect's answer: staying in touch restarts their three years (a
// click counts as a contact); declining is an objection to prospection (R28).
func (s *server) renewalAnswer(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return
	}
	v, ok := s.renewalLink(w, r, r.PostFormValue)
	if !ok {
		return
	}
	ctx := r.Context()
	var err error
	switch r.PostFormValue("reponse") {
	case "rester":
		var until time.Time
		until, err = s.app.Lifecycle.KeepInTouch(ctx, v.PersonID)
		v.Kept, v.Until = err == nil, s.frenchDate(until)
	case "arreter":
		err = s.app.Consent.Object(ctx, v.PersonID, "prospection", consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink})
		v.Objected = err == nil
	default:
		s.render(w, r, nil, http.StatusBadRequest, "renewal", "Rester en contact", v)
		return
	}
	switch {
	case errors.Is(err, lifecycle.ErrGone) || errors.Is(err, consent.ErrUnknownPerson):
		s.render(w, r, nil, http.StatusGone, "error", "Données effacées", errorView{Heading: "Nous ne détenons plus vos données",
			Message: "Vos données ont déjà été supprimées : aucun message ne vous sera plus envoyé."})
	case errors.Is(err, lifecycle.ErrObjected):
		s.render(w, r, nil, http.StatusConflict, "error", "Opposition enregistrée", errorView{Heading: "Vous vous êtes opposé(e) à la prospection",
			Message: "Nous ne vous contacterons plus : votre opposition l'emporte. Pour la lever, écrivez à " + v.DPOEmail + "."})
	case err != nil:
		s.fail(w, r, nil, err)
	default:
		s.render(w, r, nil, http.StatusOK, "renewal", "Rester en contact", v)
	}
}
