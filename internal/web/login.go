package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/reqlog"
)

// Signing in takes steps (R12–R15): the password (POST /connexion), then the second factor — a
// code of the authenticator application (/connexion/code), or, the first time, its enrolment
// (/connexion/activation), which ends by showing the recovery codes once — and, when the password
// has expired or an administrator asked for it, a new password (/connexion/mot-de-passe). Between
// steps the browser holds a pending sign-in token (10 minutes, HttpOnly cookie limited to
// /connexion) that opens no page of data.

// loginFailed is the only answer to a refused password: it never says whether the account exists,
// is locked or throttled, or the password was wrong (R15).
const loginFailed = "Adresse e-mail ou mot de passe incorrect. Après plusieurs échecs, les tentatives sont ralenties, puis le compte est verrouillé 30 minutes : patientez avant de réessayer."

// codeFailed answers a wrong, expired or replayed code.
const codeFailed = "Code incorrect, expiré ou déjà utilisé. Saisissez le code suivant de votre application ; après plusieurs erreurs, patientez avant de réessayer."

// pendingCookie carries the pending sign-in token between the steps.
const pendingCookie = "vigie_connexion"

type loginView struct {
	Email, Next, Error string
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("suivant"))
	if s.session(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "login", "Connexion", loginView{Next: next})
}

// login checks the password, then sends the browser to the second factor.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, nil, http.StatusBadRequest, "login", "Connexion", loginView{Error: "Formulaire illisible."})
		return
	}
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("suivant"))
	u, err := s.app.Auth.CheckPassword(r.Context(), auth.Attempt{Email: email, Password: r.PostFormValue("password"), Address: reqlog.ClientAddress(r)})
	if errors.Is(err, auth.ErrInvalidCredentials) {
		s.render(w, r, nil, http.StatusUnauthorized, "login", "Connexion", loginView{Email: email, Next: next, Error: loginFailed})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if !s.startPending(w, r, u, auth.KindPendingMFA) {
		return
	}
	step := "/connexion/code"
	if !u.TOTPEnrolled {
		step = "/connexion/activation"
	}
	http.Redirect(w, r, step+"?suivant="+url.QueryEscape(next), http.StatusSeeOther)
}

// startPending replaces any pending sign-in of this browser by a new one of the given kind.
func (s *server) startPending(w http.ResponseWriter, r *http.Request, u auth.User, kind string) bool {
	if old, err := r.Cookie(pendingCookie); err == nil && old.Value != "" {
		s.app.Auth.RevokeToken(r.Context(), old.Value)
	}
	token, err := s.app.Auth.IssueToken(r.Context(), u, kind)
	if err != nil {
		s.fail(w, r, nil, err)
		return false
	}
	http.SetCookie(w, &http.Cookie{
		Name: pendingCookie, Value: token, Path: "/connexion", MaxAge: int(auth.PendingTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
	return true
}

func (s *server) endPending(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(pendingCookie); err == nil && c.Value != "" {
		s.app.Auth.RevokeToken(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/connexion", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// pending returns the user of this browser's pending sign-in of the given kind, or sends the
// browser back to the first step.
func (s *server) pending(w http.ResponseWriter, r *http.Request, kind string) (auth.User, string, bool) {
	if c, err := r.Cookie(pendingCookie); err == nil && c.Value != "" {
		u, err := s.app.Auth.PendingUser(r.Context(), c.Value, kind)
		if err == nil {
			return u, c.Value, true
		}
		if !errors.Is(err, auth.ErrInvalidToken) {
			s.fail(w, r, nil, err)
			return auth.User{}, "", false
		}
	}
	http.Redirect(w, r, "/connexion?suivant="+url.QueryEscape(s.next(r)), http.StatusSeeOther)
	return auth.User{}, "", false
}

// next is the page to show once signed in, carried from step to step.
func (s *server) next(r *http.Request) string {
	if v := r.PostFormValue("suivant"); v != "" {
		return safeNext(v)
	}
	return safeNext(r.URL.Query().Get("suivant"))
}

// --- Second factor ------------------------------------------------------------------------------

type codeView struct {
	Next, Error string
}

func (s *server) codePage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.pending(w, r, auth.KindPendingMFA); ok {
		s.render(w, r, nil, http.StatusOK, "code", "Code de vérification", codeView{Next: s.next(r)})
	}
}

// checkCode checks the TOTP code (or a recovery code) and completes the sign-in.
func (s *server) checkCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	u, _, ok := s.pending(w, r, auth.KindPendingMFA)
	if !ok {
		return
	}
	err := s.app.Auth.VerifySecondFactor(r.Context(), u, r.PostFormValue("code"))
	if errors.Is(err, auth.ErrInvalidCode) {
		s.render(w, r, nil, http.StatusUnauthorized, "code", "Code de vérification", codeView{Next: s.next(r), Error: codeFailed})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.secondFactorDone(w, r, u, "")
}

// secondFactorDone follows a right code: to the new password if one is required, else into the
// session. With recovery codes to show (enrolment), the page that shows them links onwards.
func (s *server) secondFactorDone(w http.ResponseWriter, r *http.Request, u auth.User, codesPage string, codes ...string) {
	next := s.next(r)
	change, err := s.app.Auth.ChangeRequired(r.Context(), u)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	onwards := next
	if change {
		if !s.startPending(w, r, u, auth.KindPendingChange) {
			return
		}
		onwards = "/connexion/mot-de-passe?suivant=" + url.QueryEscape(next)
	} else {
		s.endPending(w, r)
		if !s.openSession(w, r, u) {
			return
		}
	}
	if codes != nil {
		s.render(w, r, nil, http.StatusOK, codesPage, "Codes de secours", recoveryView{Codes: codes, Next: onwards, Change: change})
		return
	}
	http.Redirect(w, r, onwards, http.StatusSeeOther)
}

// openSession sets the session cookie: a token in an HttpOnly, Secure, SameSite=Strict cookie that
// lasts as long as the session does. A session opened in this browser before is ended.
func (s *server) openSession(w http.ResponseWriter, r *http.Request, u auth.User) bool {
	token, err := s.app.Auth.IssueToken(r.Context(), u, auth.KindSession)
	if err != nil {
		s.fail(w, r, nil, err)
		return false
	}
	if old, err := r.Cookie(sessionCookie); err == nil && old.Value != "" {
		s.app.Auth.RevokeToken(r.Context(), old.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  s.app.Now().Add(auth.SessionTTL),
		MaxAge:   int(auth.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	return true
}

// --- Enrolment ----------------------------------------------------------------------------------

type enrolView struct {
	Next, Error string
	Secret      string
	QRCode      template.URL
	Sealed      string
}

type recoveryView struct {
	Codes  []string
	Next   string
	Change bool
}

func (s *server) enrolView(e auth.Enrolment, next, errMsg string) enrolView {
	return enrolView{Next: next, Error: errMsg, Secret: e.Secret, Sealed: e.Sealed,
		QRCode: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRCode))}
}

// enrolPage shows a new TOTP secret as a QR code and as text, and asks for a first code.
func (s *server) enrolPage(w http.ResponseWriter, r *http.Request) {
	u, binding, ok := s.pending(w, r, auth.KindPendingMFA)
	if !ok {
		return
	}
	if u.TOTPEnrolled {
		http.Redirect(w, r, "/connexion/code?suivant="+url.QueryEscape(s.next(r)), http.StatusSeeOther)
		return
	}
	e, err := s.app.Auth.BeginEnrolment(u, binding)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.render(w, r, nil, http.StatusOK, "enrol", "Activer le second facteur", s.enrolView(e, s.next(r), ""))
}

// confirmEnrolment stores the secret once a first code is right, and shows the recovery codes.
func (s *server) confirmEnrolment(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	u, binding, ok := s.pending(w, r, auth.KindPendingMFA)
	if !ok {
		return
	}
	sealed := r.PostFormValue("secret")
	codes, err := s.app.Auth.ConfirmEnrolment(r.Context(), u, binding, sealed, r.PostFormValue("code"))
	if errors.Is(err, auth.ErrInvalidCode) {
		e, err := s.app.Auth.ResumeEnrolment(u, binding, sealed)
		if err != nil {
			e, err = s.app.Auth.BeginEnrolment(u, binding)
		}
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.render(w, r, nil, http.StatusUnauthorized, "enrol", "Activer le second facteur", s.enrolView(e, s.next(r), codeFailed))
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.secondFactorDone(w, r, u, "recovery", codes...)
}

// --- New password -------------------------------------------------------------------------------

type passwordView struct {
	Next, Error string
	// Current asks for the current password (a signed-in user's own change).
	Current bool
	Done    bool
	Action  string
	Reason  string
}

const passwordHelp = "Au moins 12 caractères avec majuscules, minuscules, chiffres et caractères spéciaux, ou 14 avec trois de ces types, " +
	"ou 16 avec deux, ou une phrase de passe d'au moins 20 caractères ; ni courant, ni prévisible, ni l'un de vos 5 derniers."

func (s *server) changePage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := s.pending(w, r, auth.KindPendingChange)
	if !ok {
		return
	}
	s.render(w, r, nil, http.StatusOK, "password", "Nouveau mot de passe", passwordView{Next: s.next(r), Action: "/connexion/mot-de-passe", Reason: changeReason(u)})
}

func changeReason(u auth.User) string {
	if u.MustChangePassword {
		return "L'administration informatique vous demande de choisir un nouveau mot de passe."
	}
	return "Votre mot de passe a expiré : choisissez-en un nouveau."
}

// newPassword reads the new password and its confirmation.
func newPassword(r *http.Request) (string, string) {
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("confirmation") {
		return "", "Les deux saisies du nouveau mot de passe diffèrent."
	}
	return pw, ""
}

// refusal is the text of a refused new password: the policy's reasons, in French.
func refusal(err error) (string, bool) {
	var invalid *record.ValidationError
	if !errors.As(err, &invalid) {
		return "", false
	}
	var msgs []string
	for _, fe := range invalid.Fields {
		msgs = append(msgs, fe.Message)
	}
	return "Mot de passe refusé : " + strings.Join(msgs, " ; ") + ".", true
}

// changePassword sets the required new password and opens the session.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	u, _, ok := s.pending(w, r, auth.KindPendingChange)
	if !ok {
		return
	}
	view := passwordView{Next: s.next(r), Action: "/connexion/mot-de-passe", Reason: changeReason(u)}
	pw, msg := newPassword(r)
	if msg == "" {
		err := s.app.Auth.ChangePassword(r.Context(), u, pw)
		if text, ok := refusal(err); ok {
			msg = text
		} else if err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	if msg != "" {
		view.Error = msg
		s.render(w, r, nil, http.StatusBadRequest, "password", "Nouveau mot de passe", view)
		return
	}
	s.endPending(w, r)
	if s.openSession(w, r, u) {
		http.Redirect(w, r, view.Next, http.StatusSeeOther)
	}
}

// ownPasswordPage lets a signed-in user change their password.
func (s *server) ownPasswordPage(w http.ResponseWriter, r *http.Request, st *session) {
	s.render(w, r, st, http.StatusOK, "password", "Changer de mot de passe", passwordView{Current: true, Action: "/mot-de-passe", Done: r.URL.Query().Get("fait") == "1"})
}

func (s *server) changeOwnPassword(w http.ResponseWriter, r *http.Request, st *session) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	view := passwordView{Current: true, Action: "/mot-de-passe"}
	_, err := s.app.Auth.CheckPassword(r.Context(), auth.Attempt{Email: st.User.Email, Password: r.PostFormValue("password"), Address: reqlog.ClientAddress(r)})
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		view.Error = "Mot de passe actuel incorrect."
	case err != nil:
		s.fail(w, r, st, err)
		return
	}
	if view.Error == "" {
		pw, msg := newPassword(r)
		if msg == "" {
			err := s.app.Auth.ChangePassword(r.Context(), st.User, pw)
			if text, ok := refusal(err); ok {
				msg = text
			} else if err != nil {
				s.fail(w, r, st, err)
				return
			}
		}
		view.Error = msg
	}
	if view.Error != "" {
		s.render(w, r, st, http.StatusBadRequest, "password", "Changer de mot de passe", view)
		return
	}
	// The change ended every session of the user, this one too: open a new one.
	if s.openSession(w, r, st.User) {
		http.Redirect(w, r, "/mot-de-passe?fait=1", http.StatusSeeOther)
	}
}

// logout revokes the session token and clears the cookie.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.app.Auth.RevokeToken(r.Context(), c.Value); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

// logoutEverywhere ends the user's sessions on every device (a lost laptop, a shared computer).
func (s *server) logoutEverywhere(w http.ResponseWriter, r *http.Request, st *session) {
	if err := s.app.Auth.LogoutEverywhere(r.Context(), st.User); err != nil {
		s.fail(w, r, st, err)
		return
	}
	s.logout(w, r)
}

// safeNext keeps a post-login destination only when it is a path of this site, so the sign-in
// page cannot be used to send someone elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// --- Administration of accounts -----------------------------------------------------------------

// userAction is an administrator's action on an account (R13–R15): unlock it, require a new
// password, or reset its second factor.
func (s *server) userAction(do func(*server, *http.Request, int64) error) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		if !s.dict.Table("users").CanWrite(st.User.Department) {
			s.forbidden(w, r, st, "seule l'administration informatique gère les comptes du personnel")
			return
		}
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r, st)
			return
		}
		if _, err := s.app.Auth.UserByID(r.Context(), id); err != nil {
			s.fail(w, r, st, err)
			return
		}
		if err := do(s, r, id); err != nil {
			s.fail(w, r, st, err)
			return
		}
		http.Redirect(w, r, "/utilisateurs?fait=1", http.StatusSeeOther)
	}
}

func unlockUser(s *server, r *http.Request, id int64) error {
	return s.app.Auth.Unlock(r.Context(), id)
}
func forceChange(s *server, r *http.Request, id int64) error {
	return s.app.Auth.ForceChange(r.Context(), id)
}
func resetSecondFactor(s *server, r *http.Request, id int64) error {
	return s.app.Auth.ResetSecondFactor(r.Context(), id)
}
