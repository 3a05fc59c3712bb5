package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
)

// browser is one browser's cookies across the sign-in steps.
type browser struct {
	w   *world
	jar map[string]*http.Cookie
}

func (w *world) browser() *browser { return &browser{w: w, jar: map[string]*http.Cookie{}} }

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.w.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.jar {
		req.AddCookie(c)
	}
	res, body := b.w.serve(req)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	return res, body
}

func (b *browser) password(dept, pw string) *http.Response {
	res, _ := b.do("POST", "/connexion", url.Values{"email": {dept + "@vigie.test"}, "password": {pw}, "suivant": {"/tickets"}})
	return res
}

// TestR14_WebSignInSteps: after the password, the browser holds only a pending sign-in, limited
// to the sign-in pages, that opens no data; the first time it enrols the second factor (QR code
// and secret shown, a first code confirms, recovery codes shown once); later it asks for a code,
// refuses a wrong or replayed one, and accepts a recovery code once.
func TestR14_WebSignInSteps(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		b := w.browser()
		res := b.password("support", testPassword)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/connexion/activation?suivant=%2Ftickets") {
			t.Fatalf("password: %d to %q, want 303 to the enrolment", res.StatusCode, res.Header.Get("Location"))
		}
		pending := b.jar["vigie_connexion"]
		if pending == nil || !pending.HttpOnly || !pending.Secure || pending.SameSite != http.SameSiteStrictMode || pending.Path != "/connexion" || pending.MaxAge != 600 || b.jar["vigie_session"] != nil {
			t.Fatalf("after the password: want only a pending sign-in cookie, HttpOnly, Secure, SameSite=Strict, on /connexion, 10 minutes")
		}
		// The pending token is no session, even sent as one.
		req := httptest.NewRequest("GET", "/tickets", nil)
		req.AddCookie(&http.Cookie{Name: "vigie_session", Value: pending.Value})
		if res, _ := w.serve(req); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a pending sign-in opened a page: %d", res.StatusCode)
		}
		if res, _ := b.do("GET", "/connexion/code", nil); res.StatusCode != http.StatusOK {
			t.Errorf("code page: %d", res.StatusCode)
		}
		res, page := b.do("GET", "/connexion/activation?suivant=%2Ftickets", nil)
		secret, sealed := secretText.FindStringSubmatch(page), sealedSecret.FindStringSubmatch(page)
		if res.StatusCode != 200 || secret == nil || sealed == nil || !strings.Contains(page, `<img src="data:image/png;base64,`) {
			t.Fatalf("enrolment page: %d, secret shown %v, QR code shown %v", res.StatusCode, secret != nil, strings.Contains(page, "data:image/png"))
		}
		phone := apptest.NewAuthenticator(secret[1])
		wrong := apptest.NewAuthenticator(secret[1]).CodeAt(t, time.Now().Unix()/30+7)
		res, page = b.do("POST", "/connexion/activation", url.Values{"secret": {sealed[1]}, "code": {wrong}, "suivant": {"/tickets"}})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Code incorrect") || !strings.Contains(page, secret[1]) {
			t.Errorf("wrong first code: %d, want 401 with the same secret shown again", res.StatusCode)
		}
		res, page = b.do("POST", "/connexion/activation", url.Values{"secret": {sealed[1]}, "code": {phone.Code(t, time.Now())}, "suivant": {"/tickets"}})
		if res.StatusCode != http.StatusOK || strings.Count(page, "<li><code>") != auth.RecoveryCodes || !strings.Contains(page, "ne seront plus jamais affichés") {
			t.Fatalf("enrolment: %d (%s), want the recovery codes", res.StatusCode, heading(page))
		}
		recovery, _, _ := strings.Cut(strings.SplitN(page, "<li><code>", 2)[1], "</code>")
		if b.jar["vigie_session"] == nil || b.jar["vigie_connexion"] != nil {
			t.Fatalf("after enrolment: want a session and no pending sign-in")
		}
		if res, _ := b.do("GET", "/tickets", nil); res.StatusCode != http.StatusOK {
			t.Errorf("signed in: %d", res.StatusCode)
		}

		// Later sign-ins ask for a code.
		later := func(code string) (*http.Response, string) {
			t.Helper()
			b := w.browser()
			if res := b.password("support", testPassword); !strings.HasPrefix(res.Header.Get("Location"), "/connexion/code") {
				t.Fatalf("second sign-in: sent to %q, want the code page", res.Header.Get("Location"))
			}
			return b.do("POST", "/connexion/code", url.Values{"code": {code}, "suivant": {"/tickets"}})
		}
		next := phone.Code(t, time.Now())
		steps := []struct {
			name, code string
			status     int
			location   string
		}{
			{"a wrong code", wrong, http.StatusUnauthorized, ""},
			{"the right code", next, http.StatusSeeOther, "/tickets"},
			{"the same code again", next, http.StatusUnauthorized, ""},
			{"a recovery code", recovery, http.StatusSeeOther, "/tickets"},
			{"the same recovery code", recovery, http.StatusUnauthorized, ""},
		}
		for _, s := range steps {
			res, page := later(s.code)
			if res.StatusCode != s.status || res.Header.Get("Location") != s.location {
				t.Errorf("%s: %d to %q, want %d to %q", s.name, res.StatusCode, res.Header.Get("Location"), s.status, s.location)
			}
			if s.status == http.StatusUnauthorized && !strings.Contains(page, "Code incorrect, expiré ou déjà utilisé") {
				t.Errorf("%s: the refusal does not say why", s.name)
			}
		}
		// Without a pending sign-in, the steps send back to the first one.
		if res, _ := w.browser().do("POST", "/connexion/code", url.Values{"code": {"123456"}}); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/connexion?") {
			t.Errorf("code without a pending sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// TestR13_WebPasswordChange: a forced (or expired) password leads, after the second factor, to
// the new-password page, which refuses a weak or mismatched password with the reason and then
// opens the session; a signed-in user changes their own password with the current one.
func TestR13_WebPasswordChange(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		w.signIn("dpo")
		if err := a.Auth.ForceChange(ctx, w.users["dpo"].ID); err != nil {
			t.Fatal(err)
		}
		b := w.browser()
		b.password("dpo", testPassword)
		res, _ := b.do("POST", "/connexion/code", url.Values{"code": {w.apps["dpo"].Code(t, time.Now())}, "suivant": {"/dictionnaire"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/connexion/mot-de-passe?suivant=%2Fdictionnaire" || b.jar["vigie_session"] != nil {
			t.Fatalf("forced change: %d to %q, want the new-password page and no session", res.StatusCode, res.Header.Get("Location"))
		}
		if _, page := b.do("GET", "/connexion/mot-de-passe?suivant=%2Fdictionnaire", nil); !strings.Contains(page, "L'administration informatique vous demande") {
			t.Errorf("the page does not say why a new password is needed")
		}
		steps := []struct {
			name, pw, confirmation string
			status                 int
			says                   string
		}{
			{"mismatch", "Girafe-Lampadaire-Ozone-7", "Girafe-Lampadaire-Ozone-8", 400, "Les deux saisies"},
			{"too short", "Court-7!", "Court-7!", 400, "au moins 12 caractères"},
			{"common", "Azertyuiop123!", "Azertyuiop123!", 400, "trop courant ou prévisible"},
			{"the same as before", testPassword, testPassword, 400, "vos 5 derniers"},
			{"accepted", "Girafe-Lampadaire-Ozone-7", "Girafe-Lampadaire-Ozone-7", 303, ""},
		}
		for _, s := range steps {
			res, page := b.do("POST", "/connexion/mot-de-passe", url.Values{"new_password": {s.pw}, "confirmation": {s.confirmation}, "suivant": {"/dictionnaire"}})
			if res.StatusCode != s.status || s.says != "" && !strings.Contains(page, s.says) || strings.Contains(page, s.pw) {
				t.Errorf("%s: %d, want %d saying %q, without the password", s.name, res.StatusCode, s.status, s.says)
			}
		}
		if b.jar["vigie_session"] == nil || res.StatusCode != http.StatusSeeOther {
			t.Fatalf("no session after the change")
		}
		if res, _ := b.do("GET", "/dictionnaire", nil); res.StatusCode != 200 {
			t.Errorf("after the change: %d", res.StatusCode)
		}

		// A signed-in user changes their own password.
		own := []struct {
			name, current, pw string
			status            int
			says              string
		}{
			{"wrong current password", "Pas-le-bon-mot-de-passe-1", "Nouveau-mot-de-passe-2027", 400, "Mot de passe actuel incorrect"},
			{"weak new password", "Girafe-Lampadaire-Ozone-7", "Soleil-Soleil-Soleil1", 400, "trop courant ou prévisible"},
			{"accepted", "Girafe-Lampadaire-Ozone-7", "Nouveau-mot-de-passe-2027", 303, ""},
		}
		for _, s := range own {
			res, page := b.do("POST", "/mot-de-passe", url.Values{"password": {s.current}, "new_password": {s.pw}, "confirmation": {s.pw}})
			if res.StatusCode != s.status || s.says != "" && !strings.Contains(page, s.says) {
				t.Errorf("own change, %s: %d, want %d saying %q", s.name, res.StatusCode, s.status, s.says)
			}
		}
		if _, page := b.do("GET", "/mot-de-passe?fait=1", nil); !strings.Contains(page, "Votre mot de passe a été changé") {
			t.Errorf("the change is not confirmed, or the new session does not work")
		}
	})
}

// TestR15_AdminManagesLocksAndCredentials: the users page shows a locked account, and IT
// administration alone unlocks it, requires a new password or resets a second factor.
func TestR15_AdminManagesLocksAndCredentials(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		w.signIn("devis")
		devis := w.users["devis"]
		for range auth.LockAfter {
			a.Auth.CheckPassword(ctx, auth.Attempt{Email: devis.Email, Password: "Mauvais-mot-de-passe-1"})
			a.DB.ExecContext(ctx, `UPDATE users SET next_attempt_at = NULL WHERE id = $1`, devis.ID) // skip the delays
		}
		if res := w.browser().password("devis", testPassword); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("locked account, right password: %d, want 401", res.StatusCode)
		}
		_, page := w.request("GET", "/utilisateurs", "admin", nil, nil)
		if !strings.Contains(page, "Verrouillé") || !strings.Contains(page, "/deverrouiller") {
			t.Errorf("the users page does not show the lock and its action")
		}
		path := func(action string) string { return "/utilisateurs/" + strconv.FormatInt(devis.ID, 10) + "/" + action }
		if res, _ := w.request("POST", path("deverrouiller"), "dpo", url.Values{}, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("DPO unlocking: %d, want 403", res.StatusCode)
		}
		if res, _ := w.request("POST", path("deverrouiller"), "admin", url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin unlocking: %d", res.StatusCode)
		}
		if res := w.browser().password("devis", testPassword); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after unlock: %d, want 303", res.StatusCode)
		}
		if res, _ := w.request("POST", path("changement-mot-de-passe"), "admin", url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin forcing a change: %d", res.StatusCode)
		}
		if u, _ := a.Auth.UserByID(ctx, devis.ID); !u.MustChangePassword {
			t.Errorf("the change is not required")
		}
		if res, _ := w.request("POST", path("second-facteur"), "admin", url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin resetting the second factor: %d", res.StatusCode)
		}
		if res := w.browser().password("devis", testPassword); !strings.HasPrefix(res.Header.Get("Location"), "/connexion/activation") {
			t.Errorf("after a reset, the sign-in goes to %q, want the enrolment", res.Header.Get("Location"))
		}
		if res, _ := w.request("POST", "/utilisateurs/999999/deverrouiller", "admin", url.Values{}, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown account: %d, want 404", res.StatusCode)
		}
	})
}

// TestR13_WebFirstSignInWithAnExpiredPassword: an administrator whose password expired before
// their first sign-in enrols the second factor, then chooses a new password, then gets a session.
func TestR13_WebFirstSignInWithAnExpiredPassword(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		a.DB.ExecContext(context.Background(), `UPDATE users SET password_changed_at = $1 WHERE id = $2`,
			time.Now().Add(-181*24*time.Hour).UTC(), w.users["admin"].ID)
		b := w.browser()
		b.password("admin", testPassword)
		_, page := b.do("GET", "/connexion/activation?suivant=%2Futilisateurs", nil)
		secret, sealed := secretText.FindStringSubmatch(page), sealedSecret.FindStringSubmatch(page)
		if secret == nil || sealed == nil {
			t.Fatalf("no enrolment page")
		}
		res, page := b.do("POST", "/connexion/activation", url.Values{"secret": {sealed[1]}, "code": {apptest.NewAuthenticator(secret[1]).Code(t, time.Now())}, "suivant": {"/utilisateurs"}})
		if res.StatusCode != http.StatusOK || !strings.Contains(page, `href="/connexion/mot-de-passe?suivant=%2Futilisateurs"`) || b.jar["vigie_session"] != nil {
			t.Fatalf("enrolment with an expired password: %d, want the recovery codes leading to the new password, and no session", res.StatusCode)
		}
		if _, page := b.do("GET", "/connexion/mot-de-passe?suivant=%2Futilisateurs", nil); !strings.Contains(page, "Votre mot de passe a expiré") {
			t.Errorf("the new-password page does not say the password expired")
		}
		res, _ = b.do("POST", "/connexion/mot-de-passe", url.Values{"new_password": {"Girafe-Lampadaire-Ozone-7"}, "confirmation": {"Girafe-Lampadaire-Ozone-7"}, "suivant": {"/utilisateurs"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/utilisateurs" || b.jar["vigie_session"] == nil {
			t.Fatalf("new password: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := b.do("GET", "/utilisateurs", nil); res.StatusCode != http.StatusOK {
			t.Errorf("signed in after the change: %d", res.StatusCode)
		}
	})
}
