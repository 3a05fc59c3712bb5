package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"vigie/internal/auth"
)

// loginFailed is the only answer to a wrong email or password: it never says which was wrong,
// so the form cannot tell whether an account exists.
const loginFailed = "Adresse e-mail ou mot de passe incorrect."

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

// login checks the password and opens a session: a token in an HttpOnly, Secure, SameSite=Strict
// cookie that lasts as long as the session does.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, nil, http.StatusBadRequest, "login", "Connexion", loginView{Error: "Formulaire illisible."})
		return
	}
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("suivant"))
	u, err := s.app.Auth.Authenticate(r.Context(), email, r.PostFormValue("password"))
	if errors.Is(err, auth.ErrInvalidCredentials) {
		s.render(w, r, nil, http.StatusUnauthorized, "login", "Connexion", loginView{Email: email, Next: next, Error: loginFailed})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	token, err := s.app.Auth.IssueToken(r.Context(), u, auth.KindSession)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	// A session opened in this browser before is ended: one session per sign-in.
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
	http.Redirect(w, r, next, http.StatusSeeOther)
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
