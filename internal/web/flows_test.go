package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/server"
)

// TestLoginFailureIsGenericAnd401: a wrong password and an unknown account get the same French
// answer, so the form does not reveal which accounts exist; no session is opened.
func TestLoginFailureIsGenericAnd401(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for _, sc := range []struct{ name, email string }{
			{"wrong password", "devis@vigie.test"},
			{"unknown account", "personne@vigie.test"},
		} {
			res, body := w.request("POST", "/connexion", "", url.Values{"email": {sc.email}, "password": {"Mauvais-mot-de-passe-1"}}, nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", sc.name, res.StatusCode)
			}
			if !strings.Contains(body, "Adresse e-mail ou mot de passe incorrect") {
				t.Errorf("%s: the generic message is missing", sc.name)
			}
			if len(res.Cookies()) != 0 {
				t.Errorf("%s: a cookie was set", sc.name)
			}
		}
	})
}

// TestPagesNeedASession: without a valid session every page sends the browser to the sign-in
// page; signing out revokes the session.
func TestPagesNeedASession(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for _, path := range []string{"/", "/personnes", w.path("/personnes/{person}"), "/utilisateurs", "/inconnu"} {
			res, _ := w.request("GET", path, "", nil, nil)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/connexion") {
				t.Errorf("GET %s without session: %d to %q, want 303 to /connexion", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
		req := httptest.NewRequest("GET", "/personnes", nil)
		req.AddCookie(&http.Cookie{Name: "vigie_session", Value: "vg_forged"})
		if res, _ := w.serve(req); res.StatusCode != http.StatusSeeOther {
			t.Errorf("forged cookie: status %d, want 303", res.StatusCode)
		}

		// The cookie is HttpOnly, Secure, SameSite=Strict, for the whole site, for a session.
		c := w.signIn("support")
		if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 {
			t.Fatalf("session cookie attributes wrong: %+v", c != nil && c.HttpOnly && c.Secure)
		}
		w.cookies["support"] = c.Value
		if res, _ := w.request("GET", "/tickets", "support", nil, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("signed in: status %d", res.StatusCode)
		}
		if res, _ := w.request("POST", "/deconnexion", "support", url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: status %d", res.StatusCode)
		}
		if res, _ := w.request("GET", "/tickets", "support", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after logout: status %d, want 303", res.StatusCode)
		}
	})
}

// TestSecurityHeaders: every page forbids framing, sniffing, referrers, third-party resources and
// caching; the style sheet is served from the binary.
func TestSecurityHeaders(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	for _, path := range []string{"/connexion", "/personnes"} {
		res, _ := w.request("GET", path, "devis", nil, nil)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	res, body := w.request("GET", "/dictionnaire", "performance", nil, nil)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || strings.Contains(csp, "unsafe") || strings.Contains(body, "<style>") != strings.Contains(csp, "'sha256-") {
		t.Errorf("dictionary page: status %d, policy %q: an inline style sheet must be allowed by its hash only", res.StatusCode, csp)
	}
	res, body = w.request("GET", "/static/vigie.css", "", nil, nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "focus") {
		t.Errorf("style sheet: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "@import") {
		t.Error("the style sheet must not load anything from elsewhere")
	}
}

// TestFormRefusesInvalidEmail: the store's French message comes back next to the field, with the
// typed values kept, status 400, and nothing is written.
func TestFormRefusesInvalidEmail(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		before := w.count("persons")
		form := url.Values{"first_name": {"Alix"}, "last_name": {"Martin"}, "email": {"pas-une-adresse"}, "_canal": {"phone"}}
		res, body := w.request("POST", "/personnes/nouveau", "prospection", form, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d (%s), want 400", res.StatusCode, heading(body))
		}
		for _, want := range []string{"adresse e-mail invalide", `id="f-email-erreur"`, `href="#f-email">E-mail</a>`, `value="Martin"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the re-rendered form lacks %q", want)
			}
		}
		if after := w.count("persons"); after != before {
			t.Errorf("persons: %d rows after a refused form, want %d", after, before)
		}
		// A required field left empty is named too.
		res, body = w.request("POST", "/personnes/nouveau", "prospection", url.Values{"last_name": {"Martin"}}, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ce champ est obligatoire") {
			t.Errorf("missing first name: status %d", res.StatusCode)
		}
	})
}

// TestCrossOriginPostIsRefused: a form posted from another site is refused before any handler
// runs (CSRF); the same form from Vigie itself is accepted.
func TestCrossOriginPostIsRefused(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		before := w.count("persons")
		form := url.Values{"first_name": {"Alix"}, "last_name": {"Martin"}, "_canal": {"phone"}}
		for name, h := range map[string]http.Header{
			"Sec-Fetch-Site: cross-site": {"Sec-Fetch-Site": {"cross-site"}},
			"Origin of another host":     {"Origin": {"https://malveillant.example"}},
		} {
			res, body := w.request("POST", "/personnes/nouveau", "prospection", form, h)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "falsification") {
				t.Errorf("%s: status %d, want 403 with the French explanation", name, res.StatusCode)
			}
		}
		if after := w.count("persons"); after != before {
			t.Fatalf("a cross-origin post wrote %d person(s)", after-before)
		}
		res, _ := w.request("POST", "/personnes/nouveau", "prospection", form, http.Header{"Sec-Fetch-Site": {"same-origin"}})
		if res.StatusCode != http.StatusSeeOther || w.count("persons") != before+1 {
			t.Errorf("same-origin post: status %d, want 303 and one more person", res.StatusCode)
		}
	})
}

// TestSearchPersons: a department searches only the fields it may read, and a malformed term
// gets the French message.
func TestSearchPersons(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		res, body := w.request("POST", "/personnes/recherche", "devis", url.Values{"champ": {"email"}, "q": {email}}, nil)
		if res.StatusCode != 200 || !strings.Contains(body, lastName) || !strings.Contains(body, "1 résultat(s)") {
			t.Errorf("search by email: status %d or the person is missing", res.StatusCode)
		}
		res, body = w.request("POST", "/personnes/recherche", "support", url.Values{"champ": {"last_name"}, "q": {"durand"}}, nil)
		if res.StatusCode != 200 || !strings.Contains(body, lastName) {
			t.Errorf("search by a word of the name: status %d or the person is missing", res.StatusCode)
		}
		res, body = w.request("POST", "/personnes/recherche", "devis", url.Values{"champ": {"email"}, "q": {"pas-une-adresse"}}, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "E-mail : adresse e-mail invalide") {
			t.Errorf("malformed term: status %d, want 400 with the French message", res.StatusCode)
		}
		// The DPO reads no searchable field: no search form, and the store refuses a forged one.
		if _, body := w.request("GET", "/personnes", "dpo", nil, nil); strings.Contains(body, `name="champ"`) {
			t.Error("the DPO is offered a search on fields it may not read")
		}
		if res, _ := w.request("POST", "/personnes/recherche", "dpo", url.Values{"champ": {"email"}, "q": {email}}, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("DPO search by email: status %d, want 403", res.StatusCode)
		}
	})
}

// TestEditSendsOnlyWhatChanged: editing a quote's status keeps the other values and the
// provenance they were collected with.
func TestEditSendsOnlyWhatChanged(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		devis := a.Auth.Actor(w.users["devis"])
		before, err := a.Records.Get(ctx, devis, "quotes", w.ids["quote"])
		if err != nil {
			t.Fatal(err)
		}
		_, body := w.request("GET", w.path("/devis/{quote}/modifier"), "devis", nil, nil)
		form := formValues(body)
		if form.Get("vehicle_make") != vehicleMake || form.Get("person_id") != "" {
			t.Fatalf("edit form: the current value is not filled in, or the immutable person is editable")
		}
		form.Set("status", "sent")
		form.Set("_canal", "email")
		res, _ := w.request("POST", w.path("/devis/{quote}/modifier"), "devis", form, nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: status %d, want 303", res.StatusCode)
		}
		after, err := a.Records.Get(ctx, devis, "quotes", w.ids["quote"])
		if err != nil {
			t.Fatal(err)
		}
		if after.Values["status"] != "sent" {
			t.Errorf("status not changed")
		}
		if after.Provenance["vehicle_make"] != before.Provenance["vehicle_make"] {
			t.Errorf("an unchanged field was written again: its provenance changed")
		}
		if _, body := w.request("GET", w.path("/devis/{quote}"), "devis", nil, nil); !strings.Contains(body, "Envoyé") {
			t.Errorf("the detail page does not show the new status in French")
		}
	})
}

var inputPattern = regexp.MustCompile(`<(?:input|textarea|select)[^>]*\bname="([^"]+)"[^>]*>`)
var valuePattern = regexp.MustCompile(`\bvalue="([^"]*)"`)
var selectedPattern = regexp.MustCompile(`(?s)<select[^>]*\bname="([^"]+)".*?</select>`)
var selectedOption = regexp.MustCompile(`<option value="([^"]*)" selected>`)

// formValues reads the values a browser would submit from a rendered form (inputs and selects;
// text areas and checkboxes are left out, which an edit treats as unchanged or false).
func formValues(body string) url.Values {
	v := url.Values{}
	for _, m := range inputPattern.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[0], "<input") && !strings.Contains(m[0], `type="checkbox"`) && !strings.Contains(m[0], `type="file"`) {
			if vm := valuePattern.FindStringSubmatch(m[0]); vm != nil {
				v.Set(m[1], vm[1])
			}
		}
	}
	for _, m := range selectedPattern.FindAllStringSubmatch(body, -1) {
		if om := selectedOption.FindStringSubmatch(m[0]); om != nil {
			v.Set(m[1], om[1])
		}
	}
	return v
}

// TestNewRecordsThroughForms: a quote prefilled from the person page, an interaction whose
// datetime-local is Paris time, and a ticket message.
func TestNewRecordsThroughForms(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		pid := strconv.FormatInt(w.ids["person"], 10)

		_, body := w.request("GET", "/devis/nouveau?personne="+pid, "devis", nil, nil)
		form := formValues(body)
		if form.Get("person_id") != pid {
			t.Fatalf("the quote form is not prefilled with the person")
		}
		for k, v := range map[string]string{"vehicle_make": "Renault", "vehicle_model": "Clio", "vehicle_year": "2021",
			"vehicle_energy": "diesel", "vehicle_usage": "prive", "licence_date": "2010-09-01", "bonus_malus": "0,9", "coverage": "tiers"} {
			form.Set(k, v)
		}
		res, body := w.request("POST", "/devis/nouveau", "devis", form, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/devis/") {
			t.Fatalf("new quote: status %d (%s), want 303", res.StatusCode, heading(body))
		}

		paris, _ := time.LoadLocation("Europe/Paris")
		when := time.Now().In(paris).Add(-24 * time.Hour).Truncate(time.Minute)
		form = url.Values{"person_id": {pid}, "channel": {"phone"}, "purpose": {"prospection"},
			"occurred_at": {when.Format("2006-01-02T15:04")}, "note": {"Intéressé"}, "_canal": {"phone"}}
		res, _ = w.request("POST", "/interactions/nouveau", "prospection", form, nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("new interaction: status %d", res.StatusCode)
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/interactions/"), 10, 64)
		rec, err := a.Records.Get(ctx, a.Auth.Actor(w.users["prospection"]), "interactions", id)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := rec.Values["occurred_at"].(time.Time); !got.Equal(when) {
			t.Errorf("occurred_at: the Paris time typed in was not stored as the same instant")
		}

		path := w.path("/tickets/{ticket}/messages")
		res, body = w.request("POST", path, "support", url.Values{"author": {"staff"}, "body": {""}, "_canal": {"email"}}, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ce champ est obligatoire") {
			t.Errorf("empty message: status %d, want 400 with the French message", res.StatusCode)
		}
		res, _ = w.request("POST", path, "support", url.Values{"author": {"staff"}, "body": {"Nous vous renvoyons l'attestation."}, "_canal": {"email"}}, nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("new message: status %d", res.StatusCode)
		}
		if _, body := w.request("GET", w.path("/tickets/{ticket}"), "support", nil, nil); !strings.Contains(body, "Nous vous renvoyons l'attestation.") {
			t.Errorf("the ticket page does not list the new message")
		}
		if res, _ := w.request("POST", path, "devis", url.Values{"author": {"staff"}, "body": {"x"}}, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("quotes department adding a ticket message: status %d, want 403", res.StatusCode)
		}
	})
}

// TestDocumentUploadAndDownload: the contracts department uploads a PDF, whose format is detected
// from its content, and downloads it under a neutral name; another format is refused.
func TestDocumentUploadAndDownload(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		pdf := []byte("%PDF-1.4\n% test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
		upload := func(content []byte, name string) *http.Response {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("person_id", strconv.FormatInt(w.ids["person"], 10))
			mw.WriteField("contract_id", strconv.FormatInt(w.ids["contract"], 10))
			mw.WriteField("kind", "certificate")
			mw.WriteField("filename", "")
			mw.WriteField("_canal", "email")
			fw, _ := mw.CreateFormFile("content", name)
			fw.Write(content)
			mw.Close()
			req := httptest.NewRequest("POST", "/documents/nouveau", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.AddCookie(&http.Cookie{Name: "vigie_session", Value: w.login("contrats")})
			res, _ := w.serve(req)
			return res
		}
		before := w.count("documents")
		if res := upload([]byte("PK\x03\x04 not a pdf"), "archive.zip"); res.StatusCode != http.StatusBadRequest || w.count("documents") != before {
			t.Errorf("zip upload: status %d, want 400 and nothing stored", res.StatusCode)
		}
		res := upload(pdf, "attestation.pdf")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload: status %d, want 303", res.StatusCode)
		}
		id := strings.TrimPrefix(res.Header.Get("Location"), "/documents/")
		_, body := w.request("GET", "/documents/"+id, "contrats", nil, nil)
		if !strings.Contains(body, "attestation.pdf") || !strings.Contains(body, "/documents/"+id+"/contenu") {
			t.Errorf("document page: the file name or the download link is missing")
		}
		res, body = w.request("GET", "/documents/"+id+"/contenu", "contrats", nil, nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="document-`+id+`.pdf"` || body != string(pdf) {
			t.Errorf("download: status %d, type %q, disposition %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		if res, _ := w.request("GET", "/documents/"+id+"/contenu", "support", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("support downloading a document: status %d, want 403", res.StatusCode)
		}
	})
}

// TestAdminManagesUsers: only IT administration lists and creates staff accounts.
func TestAdminManagesUsers(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		form := url.Values{"email": {"nouvel.agent@vigie.test"}, "display_name": {"Nouvel Agent"}, "department": {"support"}, "password": {"court"}}
		res, body := w.request("POST", "/utilisateurs", "admin", form, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "au moins 12 caractères") || strings.Contains(body, `value="court"`) {
			t.Errorf("short password: status %d, want 400 with the rule and without echoing the password", res.StatusCode)
		}
		form.Set("password", "Un-mot-de-passe-solide-7")
		if res, _ := w.request("POST", "/utilisateurs", "dpo", form, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("DPO creating a user: status %d, want 403", res.StatusCode)
		}
		if res, _ := w.request("POST", "/utilisateurs", "admin", form, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create user: status %d, want 303", res.StatusCode)
		}
		if _, err := a.Auth.CheckPassword(context.Background(), auth.Attempt{Email: "nouvel.agent@vigie.test", Password: "Un-mot-de-passe-solide-7"}); err != nil {
			t.Errorf("the new account cannot sign in: %v", err)
		}
		if res, body := w.request("POST", "/utilisateurs", "admin", form, nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "un compte existe déjà") {
			t.Errorf("duplicate account: status %d, want 400", res.StatusCode)
		}
	})
}

// TestNotFound: an unknown page or record gets the French 404 page.
func TestNotFound(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	for _, path := range []string{"/inconnu", "/personnes/999999", "/personnes/abc"} {
		if res, body := w.request("GET", path, "devis", nil, nil); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page introuvable") {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
}

// TestLogsCarryNoPersonalData: mounted behind the server's request log, a session that signs in,
// searches by email, reads a person and posts a refused form leaves route patterns, statuses and
// departments in the log, and no value: no email, name, search term or password.
func TestLogsCarryNoPersonalData(t *testing.T) {
	a := apptest.New(t, "sqlite")
	var logs bytes.Buffer
	a.Log = slog.New(slog.NewTextHandler(&logs, nil))
	w := newWorld(t, a)
	w.h = server.New(a, w.h)
	w.request("POST", "/personnes/recherche", "devis", url.Values{"champ": {"email"}, "q": {email}}, nil)
	w.request("GET", w.path("/personnes/{person}"), "devis", nil, nil)
	w.request("POST", "/personnes/nouveau", "devis", url.Values{"first_name": {firstName}, "last_name": {lastName}, "email": {"pas-une-adresse"}}, nil)
	w.request("POST", "/connexion", "", url.Values{"email": {"devis@vigie.test"}, "password": {"Mauvais-mot-de-passe-1"}}, nil)
	got := logs.String()
	for _, want := range []string{`route="POST /personnes/recherche"`, `route="GET /personnes/{id}"`, "department=devis", "status=400", "status=401"} {
		if !strings.Contains(got, want) {
			t.Errorf("the request log lacks %s", want)
		}
	}
	for _, s := range []shown{valueEmail, valueFirstName, valueLastName, {"the refused email", "pas-une-adresse"},
		{"a password", testPassword}, {"a wrong password", "Mauvais-mot-de-passe-1"}, {"a staff email", "devis@vigie.test"},
		{"a person id in a path", w.path("/personnes/{person}")}} {
		if strings.Contains(got, s.text) {
			t.Errorf("the log contains %s", s.what)
		}
	}
}

// TestListPagination: lists show 50 rows a page and link to the next one by id (keyset).
func TestListPagination(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	actor := a.Auth.Actor(w.users["prospection"])
	for i := range 55 {
		if _, err := a.Records.Create(context.Background(), actor, "persons", record.Input{
			Text: map[string]string{"first_name": "Prénom", "last_name": "Nom" + strings.Repeat("a", i%5+1)}, Channel: "phone"}); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	rows := regexp.MustCompile(`<tr><td>`)
	res, body := w.request("GET", "/personnes", "prospection", nil, nil)
	next := regexp.MustCompile(`href="(/personnes\?apres=[0-9]+)" rel="next">Page suivante<`).FindStringSubmatch(body)
	if res.StatusCode != 200 || len(rows.FindAllString(body, -1)) != 50 || next == nil {
		t.Fatalf("first page: status %d, %d rows, next link %v", res.StatusCode, len(rows.FindAllString(body, -1)), next != nil)
	}
	res, body = w.request("GET", next[1], "prospection", nil, nil)
	if res.StatusCode != 200 || len(rows.FindAllString(body, -1)) != 6 || strings.Contains(body, "Page suivante") {
		t.Errorf("second page: status %d, %d rows, want the 6 last and no next link", res.StatusCode, len(rows.FindAllString(body, -1)))
	}
}
