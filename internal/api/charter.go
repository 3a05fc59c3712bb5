package api

import (
	"net/http"

	"vigie/internal/auth"
)

// The data-governance charter (R43) and the API. A person signing in through the API (password
// and second factor) must have accepted the charter in force, as on the web: until they do, the
// sign-in answers 403 charter_acknowledgement_required, and they accept it on the web interface
// (/charte), as they enrol their second factor there. A session opened before a new version was
// published lasts until it ends (12 hours at most); the web asks again at the next page. Script
// tokens are not held back: an operator issues them on the server for a program, not a person
// reading data, and the staff member they belong to is listed by `vigie charter status` and the
// « Charte et formation » page until they accept it.

const msgCharter = "charte de gouvernance des données à accepter : connectez-vous à l'interface web (/charte), lisez la version en vigueur et acceptez-la, puis revenez"

// charterAccepted answers 403 and returns false when the user has yet to accept the charter.
func (h *Handler) charterAccepted(w http.ResponseWriter, r *http.Request, u auth.User) bool {
	must, err := h.app.Charter.MustAcknowledge(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if must {
		writeError(w, http.StatusForbidden, "charter_acknowledgement_required", msgCharter, nil)
		return false
	}
	return true
}
