package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/reqlog"
)

// SessionBody is the answer to a login.
type SessionBody struct {
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expires_at"`
	Department string    `json:"department"`
}

// Answers of a sign-in, each with a stable code. A wrong password, an unknown, disabled, locked or
// throttled account get the same one (R15); the others come only after a right password.
const (
	msgInvalidCredentials = "adresse e-mail ou mot de passe incorrect (après plusieurs échecs, les tentatives sont ralenties puis le compte est verrouillé : patientez avant de réessayer)"
	msgEnrolment          = "second facteur à activer : connectez-vous une première fois à l'interface web (/connexion) pour enregistrer votre application d'authentification, puis revenez"
	msgChangeRequired     = "mot de passe expiré ou à changer : envoyez POST /api/v1/session/password avec email, password, new_password et totp"
	msgCodeRequired       = "code à usage unique requis : champ totp (6 chiffres de votre application d'authentification) ou recovery_code (code de secours)"
	msgInvalidCode        = "code incorrect, expiré ou déjà utilisé : attendez le code suivant de votre application"
)

// credentials reads a sign-in body: the required fields must be non-empty strings, the optional
// ones strings, and nothing else is accepted.
func credentials(w http.ResponseWriter, r *http.Request, required, optional []string) (map[string]string, bool) {
	body, ok := decodeObject(w, r)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range body {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			badRequest(w, k, "unknown_field", "champ inconnu ; attendus : "+strings.Join(append(append([]string{}, required...), optional...), ", "))
			return nil, false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			badRequest(w, k, "type.string", "une chaîne de caractères est attendue")
			return nil, false
		}
		out[k] = s
	}
	for _, k := range required {
		if out[k] == "" {
			badRequest(w, k, "required", "ce champ est obligatoire")
			return nil, false
		}
	}
	return out, true
}

func attempt(r *http.Request, creds map[string]string) auth.Attempt {
	code := creds["totp"]
	if code == "" {
		code = creds["recovery_code"]
	}
	return auth.Attempt{Email: creds["email"], Password: creds["password"], Code: code, Address: reqlog.ClientAddress(r)}
}

// login exchanges an email, a password and a TOTP code (or a recovery code) for a session token.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	creds, ok := credentials(w, r, []string{"email", "password"}, []string{"totp", "recovery_code"})
	if !ok {
		return
	}
	u, err := h.app.Auth.Login(r.Context(), attempt(r, creds))
	if err != nil {
		h.signInFailed(w, r, err)
		return
	}
	if !h.charterAccepted(w, r, u) { // R43 (charter.go)
		return
	}
	h.openSession(w, r, u)
}

// changePassword signs in with the current password and a code, and sets a new password: the way
// out of an expired or administrator-forced password, and a voluntary change.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	creds, ok := credentials(w, r, []string{"email", "password", "new_password"}, []string{"totp", "recovery_code"})
	if !ok {
		return
	}
	u, err := h.app.Auth.LoginWithNewPassword(r.Context(), attempt(r, creds), creds["new_password"])
	var invalid *record.ValidationError
	if errors.As(err, &invalid) {
		for _, f := range invalid.Fields {
			if f.Field == "password" {
				f.Field = "new_password"
			}
		}
	}
	if err != nil {
		h.signInFailed(w, r, err)
		return
	}
	if !h.charterAccepted(w, r, u) { // R43 (charter.go)
		return
	}
	h.openSession(w, r, u)
}

func (h *Handler) openSession(w http.ResponseWriter, r *http.Request, u auth.User) {
	token, err := h.app.Auth.IssueToken(r.Context(), u, auth.KindSession)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, SessionBody{Token: token, ExpiresAt: h.app.Now().UTC().Add(auth.SessionTTL).Truncate(time.Second), Department: u.Department})
}

func (h *Handler) signInFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", msgInvalidCredentials, nil)
	case errors.Is(err, auth.ErrEnrolmentRequired):
		writeError(w, http.StatusForbidden, "totp_enrolment_required", msgEnrolment, nil)
	case errors.Is(err, auth.ErrPasswordChangeRequired):
		writeError(w, http.StatusForbidden, "password_change_required", msgChangeRequired, nil)
	case errors.Is(err, auth.ErrSecondFactorRequired):
		writeError(w, http.StatusUnauthorized, "totp_required", msgCodeRequired, []*FieldIssue{{Field: "totp", Rule: "required", Message: "ce champ est obligatoire"}})
	case errors.Is(err, auth.ErrInvalidCode):
		writeError(w, http.StatusUnauthorized, "invalid_totp", msgInvalidCode, []*FieldIssue{{Field: "totp", Rule: "totp", Message: "code incorrect, expiré ou déjà utilisé"}})
	default:
		h.fail(w, r, err)
	}
}
