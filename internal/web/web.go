// Package web is the staff web interface: French, server-rendered pages that work without
// JavaScript. Every page is generated from the data dictionary and reads and writes only through
// the governed record store, so a department sees in the browser exactly what the dictionary lets
// it see (R08) — the web layer never decides access on its own, it only renders what the store
// returned and maps the store's errors to pages.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris even on a system without zoneinfo

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/dictionary"
	"vigie/internal/record"
	"vigie/internal/reqlog"
	"vigie/internal/rights"
)

//go:embed templates/*.html static/vigie.css
var assets embed.FS

// sessionCookie carries the session token; only its SHA-256 is stored (auth.IssueToken).
const sessionCookie = "vigie_session"

// contentSecurityPolicy allows nothing but Vigie's own style sheet: no script, no third party.
const contentSecurityPolicy = "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// resource is a CRM table as the staff pages show it, under a French path.
type resource struct {
	Path     string // "personnes": /personnes, /personnes/{id}…
	Table    string
	NewLabel string // wording of the creation link, with the right gender
	// Columns are the columns a list shows, in order, when the department may read them.
	Columns  []string
	Editable bool

	t *dictionary.Table
}

// resources maps the French paths of the staff pages to the dictionary's tables, in menu order.
var resources = []resource{
	{Path: "personnes", Table: "persons", NewLabel: "Nouvelle personne", Editable: true,
		Columns: []string{"id", "last_name", "first_name", "kind", "email", "phone", "city", "source", "created_at"}},
	{Path: "devis", Table: "quotes", NewLabel: "Nouvelle demande de devis", Editable: true,
		Columns: []string{"id", "person_id", "status", "vehicle_make", "vehicle_model", "coverage", "premium_quoted", "created_at"}},
	{Path: "contrats", Table: "contracts", NewLabel: "Nouveau contrat", Editable: true,
		Columns: []string{"id", "person_id", "insurer", "policy_number", "start_date", "end_date", "status"}},
	{Path: "documents", Table: "documents", NewLabel: "Nouveau document",
		Columns: []string{"id", "person_id", "contract_id", "kind", "filename", "content_type", "created_at"}},
	{Path: "interactions", Table: "interactions", NewLabel: "Nouvelle interaction", Editable: true,
		Columns: []string{"id", "person_id", "occurred_at", "channel", "purpose", "note"}},
	{Path: "tickets", Table: "tickets", NewLabel: "Nouveau ticket", Editable: true,
		Columns: []string{"id", "person_id", "subject", "status", "created_at", "updated_at"}},
	{Path: "demandes", Table: "rights_requests", NewLabel: "Nouvelle demande", Editable: true,
		Columns: []string{"id", "person_id", "type", "status", "channel", "received_at", "due_at"}},
}

// ResourcePaths maps each CRM table the staff pages serve to its French path ("persons" →
// "personnes"), so that a test can derive what each department may open from the dictionary.
func ResourcePaths() map[string]string {
	out := make(map[string]string, len(resources))
	for _, r := range resources {
		out[r.Table] = r.Path
	}
	return out
}

type server struct {
	app   *app.App
	dict  *dictionary.Dictionary
	paris *time.Location
	pages map[string]*template.Template
	// resources are the CRM tables in menu order, and res the same by table name.
	resources []*resource
	res       map[string]*resource
	// portalLimit counts each client's code requests and sign-in attempts on the privacy portal.
	portalLimit *rights.Limiter
	// guides are the help pages, rendered from docs/guides at start (guides.go), by slug.
	guides map[string]*guideDoc
}

// New returns the staff web interface: every path that is not the API's.
func New(a *app.App) (http.Handler, error) {
	if a.Records == nil || a.Auth == nil {
		return nil, errors.New("web: the app must be started (keys unlocked) first")
	}
	s := &server{app: a, dict: a.Dict, res: map[string]*resource{}, portalLimit: rights.NewLimiter(portalAttemptsPerHour, a.Now)}
	var err error
	if s.paris, err = time.LoadLocation("Europe/Paris"); err != nil {
		s.paris = time.UTC
	}
	for i := range resources {
		r := resources[i]
		if r.t = a.Dict.Table(r.Table); r.t == nil {
			return nil, fmt.Errorf("web: table %s missing from the dictionary", r.Table)
		}
		s.resources = append(s.resources, &r)
		s.res[r.Table] = &r
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	return securityHeaders(csrf.Handler(s.routes())), nil
}

// portalAttemptsPerHour bounds what one client address may try on the portal: code requests and
// sign-ins are counted apart.
const portalAttemptsPerHour = 20

// routes is the route table of the staff interface.
func (s *server) routes() *http.ServeMux {
	persons, quotes, contracts := s.res["persons"], s.res["quotes"], s.res["contracts"]
	documents, interactions, tickets := s.res["documents"], s.res["interactions"], s.res["tickets"]
	mux := http.NewServeMux()

	// Public: the style sheet and signing in and out.
	mux.HandleFunc("GET /static/vigie.css", s.stylesheet)
	mux.HandleFunc("GET /connexion", s.loginPage)
	mux.HandleFunc("POST /connexion", s.login)
	mux.HandleFunc("GET /connexion/code", s.codePage)
	mux.HandleFunc("POST /connexion/code", s.checkCode)
	mux.HandleFunc("GET /connexion/activation", s.enrolPage)
	mux.HandleFunc("POST /connexion/activation", s.confirmEnrolment)
	mux.HandleFunc("GET /connexion/mot-de-passe", s.changePage)
	mux.HandleFunc("POST /connexion/mot-de-passe", s.changePassword)
	mux.HandleFunc("POST /deconnexion", s.logout)
	mux.Handle("POST /deconnexion/partout", s.staff(s.logoutEverywhere))

	// Public: the online quote form, its result, the privacy notice, withdrawal links (public.go).
	mux.HandleFunc("GET /demande-de-devis", s.quoteFormPage)
	mux.HandleFunc("POST /demande-de-devis", s.submitQuote)
	mux.HandleFunc("GET /demande-de-devis/resultat", s.quoteResult)
	mux.HandleFunc("POST /demande-de-devis/reexamen", s.requestReview)
	mux.HandleFunc("GET /confidentialite", s.noticePage)
	mux.HandleFunc("GET /confidentialite/{hash}", s.noticeVersion)
	mux.HandleFunc("GET /consentement/retrait", s.withdrawPage)
	mux.HandleFunc("POST /consentement/retrait", s.withdraw)
	mux.HandleFunc("GET /contact/renouvellement", s.renewalPage)
	mux.HandleFunc("POST /contact/renouvellement", s.renewalAnswer)
	mux.HandleFunc("GET /.well-known/gpc.json", s.gpcDeclaration)
	mux.HandleFunc("GET /portail", s.portalStart)
	mux.HandleFunc("POST /portail/code", s.portalSendCode)
	mux.HandleFunc("POST /portail/connexion", s.portalSignIn)
	mux.HandleFunc("POST /portail/deconnexion", s.portalSignOut)
	mux.Handle("GET /portail/mes-donnees", s.portal(s.portalHome))
	mux.Handle("GET /portail/mes-donnees.zip", s.portal(s.portalArchive))
	mux.Handle("GET /portail/portabilite.json", s.portal(s.portalPortability))
	mux.Handle("POST /portail/consentements", s.portal(s.portalWithdraw))
	mux.Handle("POST /portail/opposition", s.portal(s.portalObject))
	mux.Handle("POST /portail/demande", s.portal(s.portalRequest))
	mux.Handle("POST /portail/rectification", s.portal(s.portalRectify))
	mux.Handle("POST /portail/directives", s.portal(s.portalDirective))
	mux.Handle("POST /portail/reexamen", s.portal(s.portalReview))
	mux.Handle("POST /portail/dossier", s.portal(s.portalDossier))

	// Everything below needs a session.
	mux.Handle("GET /{$}", s.staff(s.home))
	mux.Handle("GET /dictionnaire", s.staff(s.dictionaryPage))
	mux.Handle("GET /utilisateurs", s.staff(s.users))
	mux.Handle("POST /utilisateurs", s.staff(s.createUser))
	mux.Handle("POST /utilisateurs/{id}/deverrouiller", s.staff(s.userAction(unlockUser)))
	mux.Handle("POST /utilisateurs/{id}/changement-mot-de-passe", s.staff(s.userAction(forceChange)))
	mux.Handle("POST /utilisateurs/{id}/second-facteur", s.staff(s.userAction(resetSecondFactor)))
	mux.Handle("GET /mot-de-passe", s.staff(s.ownPasswordPage))
	mux.Handle("POST /mot-de-passe", s.staff(s.changeOwnPassword))

	// The audit trail, for the DPO (audit.go).
	mux.Handle("GET /audit", s.staff(s.auditPage))
	mux.Handle("GET /audit.csv", s.staff(s.auditCSV))

	mux.Handle("GET /personnes", s.staff(s.list(persons)))
	mux.Handle("POST /personnes/recherche", s.staff(s.searchPersons))
	mux.Handle("GET /personnes/nouveau", s.staff(s.newForm(persons)))
	mux.Handle("POST /personnes/nouveau", s.staff(s.create(persons)))
	mux.Handle("GET /personnes/{id}", s.staff(s.detail(persons)))
	mux.Handle("GET /personnes/{id}/modifier", s.staff(s.editForm(persons)))
	mux.Handle("POST /personnes/{id}/modifier", s.staff(s.update(persons)))
	mux.Handle("POST /personnes/{id}/consentements", s.staff(s.recordConsent))
	mux.Handle("POST /personnes/{id}/opposition", s.staff(s.recordObjection))
	mux.Handle("POST /personnes/{id}/deces", s.staff(s.reportDeath))
	mux.Handle("GET /campagnes", s.staff(s.campaign))
	mux.Handle("POST /campagnes/envoi", s.staff(s.sendCampaign))

	mux.Handle("GET /devis", s.staff(s.list(quotes)))
	mux.Handle("GET /devis/nouveau", s.staff(s.newForm(quotes)))
	mux.Handle("POST /devis/nouveau", s.staff(s.create(quotes)))
	mux.Handle("GET /devis/{id}", s.staff(s.detail(quotes)))
	mux.Handle("GET /devis/{id}/modifier", s.staff(s.editForm(quotes)))
	mux.Handle("POST /devis/{id}/modifier", s.staff(s.update(quotes)))

	mux.Handle("GET /contrats", s.staff(s.list(contracts)))
	mux.Handle("GET /contrats/nouveau", s.staff(s.newForm(contracts)))
	mux.Handle("POST /contrats/nouveau", s.staff(s.create(contracts)))
	mux.Handle("GET /contrats/{id}", s.staff(s.detail(contracts)))
	mux.Handle("GET /contrats/{id}/modifier", s.staff(s.editForm(contracts)))
	mux.Handle("POST /contrats/{id}/modifier", s.staff(s.update(contracts)))

	mux.Handle("GET /documents", s.staff(s.list(documents)))
	mux.Handle("GET /documents/nouveau", s.staff(s.newForm(documents)))
	mux.Handle("POST /documents/nouveau", s.staff(s.upload))
	mux.Handle("GET /documents/{id}", s.staff(s.detail(documents)))
	mux.Handle("GET /documents/{id}/contenu", s.staff(s.download))

	mux.Handle("GET /interactions", s.staff(s.list(interactions)))
	mux.Handle("GET /interactions/nouveau", s.staff(s.newForm(interactions)))
	mux.Handle("POST /interactions/nouveau", s.staff(s.create(interactions)))
	mux.Handle("GET /interactions/{id}", s.staff(s.detail(interactions)))
	mux.Handle("GET /interactions/{id}/modifier", s.staff(s.editForm(interactions)))
	mux.Handle("POST /interactions/{id}/modifier", s.staff(s.update(interactions)))

	mux.Handle("GET /tickets", s.staff(s.list(tickets)))
	mux.Handle("GET /tickets/nouveau", s.staff(s.newForm(tickets)))
	mux.Handle("POST /tickets/nouveau", s.staff(s.create(tickets)))
	mux.Handle("GET /tickets/{id}", s.staff(s.detail(tickets)))
	mux.Handle("GET /tickets/{id}/modifier", s.staff(s.editForm(tickets)))
	mux.Handle("POST /tickets/{id}/modifier", s.staff(s.update(tickets)))
	mux.Handle("POST /tickets/{id}/messages", s.staff(s.addMessage))

	requests := s.res["rights_requests"]
	mux.Handle("GET /demandes", s.staff(s.list(requests)))
	mux.Handle("GET /demandes/nouveau", s.staff(s.newForm(requests)))
	mux.Handle("POST /demandes/nouveau", s.staff(s.create(requests)))
	mux.Handle("GET /demandes/{id}", s.staff(s.detail(requests)))
	mux.Handle("GET /demandes/{id}/modifier", s.staff(s.editForm(requests)))
	mux.Handle("POST /demandes/{id}/modifier", s.staff(s.update(requests)))

	mux.Handle("GET /droits", s.staff(s.rightsQueue))
	mux.Handle("GET /droits/{id}", s.staff(s.rightsRequestPage))
	mux.Handle("GET /droits/{id}/archive.zip", s.staff(s.rightsArchive))
	mux.Handle("POST /droits/{id}/identite", s.staff(setIdentity(s)))
	mux.Handle("POST /droits/{id}/prolonger", s.staff(extendRequest(s)))
	mux.Handle("POST /droits/{id}/cloturer", s.staff(closeRequest(s)))
	mux.Handle("POST /droits/{id}/effacer", s.staff(eraseForRequest(s)))
	mux.Handle("POST /droits/{id}/limiter", s.staff(restrictForRequest(s)))
	mux.Handle("POST /droits/{id}/lever", s.staff(liftForRequest(s)))
	mux.Handle("POST /droits/{id}/deces", s.staff(recordDeath(s)))

	// The end of life of the data, for the DPO (lifecycle.go).
	mux.Handle("GET /preuves", s.staff(s.evidencePage))
	mux.Handle("GET /preuves/rapport.pdf", s.staff(s.evidenceReport("pdf")))
	mux.Handle("GET /preuves/rapport.html", s.staff(s.evidenceReport("html")))
	mux.Handle("GET /statistiques", s.staff(s.statisticsPage))
	mux.Handle("GET /statistiques/extrait.csv", s.staff(s.statisticsCSV))
	mux.Handle("GET /cycle-de-vie", s.staff(s.lifecyclePage))
	mux.Handle("POST /cycle-de-vie/regles", s.staff(s.changeRule))
	mux.Handle("POST /cycle-de-vie/passage", s.staff(s.launchRun))
	mux.Handle("POST /cycle-de-vie/gels", s.staff(s.placeHold))
	mux.Handle("POST /cycle-de-vie/gels/{id}/lever", s.staff(s.liftHold))

	// The archive, for the DPO, on a written justification (archive.go).
	mux.Handle("POST /archives/{table}/{id}", s.staff(s.readArchive))
	mux.Handle("POST /archives/{table}/{id}/fichier", s.staff(s.readArchiveFile))

	// The breach register, for the DPO (breach.go).
	s.breachRoutes(mux)

	// The register of processing activities, for the DPO (register.go).
	s.registerRoutes(mux)

	// The data-governance charter and the staff's training (charter.go).
	s.charterRoutes(mux)

	// The guides of each role, with their screenshots (guides.go).
	s.guideRoutes(mux)

	mux.Handle("/", s.staff(s.notFoundPage))
	return mux
}

// securityHeaders are set on every answer. Pages carry personal data, so none may be cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.URL.Path == "/static/vigie.css" {
			h.Set("Cache-Control", "public, max-age=3600")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) stylesheet(w http.ResponseWriter, r *http.Request) {
	css, err := fs.ReadFile(assets, "static/vigie.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(css)
}

// session is the signed-in staff member of a request.
type session struct {
	User       auth.User
	Actor      record.Actor
	Department dictionary.Department
	token      string
}

type staffHandler func(w http.ResponseWriter, r *http.Request, st *session)

// staff requires a valid session; without one the browser is sent to the sign-in page.
func (s *server) staff(h staffHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := s.session(r)
		if st == nil {
			target := "/connexion"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?suivant=" + url.QueryEscape(r.URL.Path)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		reqlog.SetDepartment(r.Context(), st.User.Department)
		// Until the charter in force is accepted, every page leads to it (R43, charter.go).
		if !s.charterGate(w, r, st) {
			return
		}
		h(w, r.WithContext(audit.WithActor(r.Context(), st.User.ID, st.User.Department)), st)
	})
}

func (s *server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	u, err := s.app.Auth.UserForToken(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	dep, _ := s.dict.Department(u.Department)
	return &session{User: u, Actor: s.app.Auth.Actor(u), Department: dep, token: c.Value}
}

// page is what the layout template receives.
type page struct {
	Title   string
	Session *session
	Nav     []navItem
	Data    any
}

type navItem struct {
	Label, Href string
	Current     bool
}

// nav is built from the dictionary: a CRM table appears only if the department may read it.
func (s *server) nav(st *session, path string) []navItem {
	var items []navItem
	add := func(label, href string) {
		items = append(items, navItem{Label: label, Href: href, Current: path == href || strings.HasPrefix(path, href+"/")})
	}
	for _, res := range s.resources {
		if res.t.CanRead(st.User.Department) {
			add(plural(res.t.Label), "/"+res.Path)
		}
	}
	if slices.Contains(st.Actor.Purposes, "prospection") {
		add("Campagnes", "/campagnes")
	}
	if users := s.dict.Table("users"); users != nil && users.CanRead(st.User.Department) {
		add(plural(users.Label), "/utilisateurs")
	}
	if rightsDepartments[st.User.Department] {
		add("Droits des personnes", "/droits")
	}
	if statisticsDepartments[st.User.Department] {
		add("Statistiques anonymes", "/statistiques")
	}
	if st.User.Department == lifecycleDepartment {
		add("Tableau de bord", "/preuves")
		add("Cycle de vie", "/cycle-de-vie")
	}
	if s.app.Breaches.CanRead(st.User.Department) {
		add("Violations de données", "/violations")
	}
	if s.app.Register.CanRead(st.User.Department) {
		add("Registre des traitements", "/registre")
	}
	if s.app.Charter.CanSeeStatus(st.User.Department) {
		add("Charte et formation", "/charte-et-formation")
	}
	if st.User.Department == auditDepartment {
		add("Journal d'audit", "/audit")
	}
	add("Dictionnaire de données", "/dictionnaire")
	add("Aide", "/aide")
	return items
}

// plural puts a French label's head noun in the plural: "Demande de devis" → "Demandes de devis".
func plural(label string) string {
	head, rest, _ := strings.Cut(label, " ")
	if !strings.HasSuffix(head, "s") && !strings.HasSuffix(head, "x") && !strings.HasSuffix(head, "z") {
		head += "s"
	}
	if rest == "" {
		return head
	}
	return head + " " + rest
}

func (s *server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	for _, name := range []string{"login", "home", "list", "detail", "form", "error", "users", "audit", "code", "enrol", "recovery", "password",
		"public_quote", "public_result", "notice", "withdraw", "renewal", "portal_start", "portal", "rights_queue", "rights_request", "archive", "lifecycle", "statistics", "evidence"} {
		t, err := template.New(name).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	// The breach register's pages, with their own helpers (breach.go).
	if err := s.parseBreachTemplates(); err != nil {
		return err
	}
	// The register of processing's page (register.go).
	if err := s.parseRegisterTemplates(); err != nil {
		return err
	}
	// The guides' pages (guides.go).
	if err := s.parseGuideTemplates(); err != nil {
		return err
	}
	// The charter's pages (charter.go).
	for _, name := range charterTemplates {
		t, err := template.New(name).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// render writes a whole page. It renders into a buffer first, so a template error never leaves
// half a page behind.
func (s *server) render(w http.ResponseWriter, r *http.Request, st *session, status int, name, title string, data any) {
	p := page{Title: title, Session: st, Data: data}
	if st != nil {
		p.Nav = s.nav(st, r.URL.Path)
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.app.Log.Error("web: render page", "template", name, "route", r.Pattern, "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "Erreur interne.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// errorView is the content of the 400, 403, 404 and 500 pages.
type errorView struct {
	Heading, Message, Reason string
	Details                  []string
}

// fail maps an error of the store to a page; only the HTTP layer chooses a status.
func (s *server) fail(w http.ResponseWriter, r *http.Request, st *session, err error) {
	var forbidden *record.ForbiddenError
	var invalid *record.ValidationError
	switch {
	case errors.As(err, &forbidden):
		s.forbidden(w, r, st, s.forbiddenReason(forbidden))
	case errors.Is(err, record.ErrNotFound):
		s.notFound(w, r, st)
	case errors.As(err, &invalid):
		v := errorView{Heading: "Requête invalide", Message: "La demande n'a pas pu être traitée :"}
		for _, fe := range invalid.Fields {
			v.Details = append(v.Details, fe.Message)
		}
		s.render(w, r, st, http.StatusBadRequest, "error", "Requête invalide", v)
	case errors.Is(err, record.ErrScannerUnavailable):
		s.app.Log.Error("web: antivirus unavailable", "route", r.Pattern, "error", err)
		s.render(w, r, st, http.StatusServiceUnavailable, "error", "Antivirus indisponible", errorView{
			Heading: "Antivirus indisponible",
			Message: "L'antivirus ne répond pas : le fichier n'a pas été enregistré. Réessayez plus tard ; si cela persiste, prévenez l'administration informatique.",
		})
	default:
		dept := ""
		if st != nil {
			dept = st.User.Department
		}
		// The error of the store names tables and rules, never values.
		s.app.Log.Error("web: internal error", "route", r.Pattern, "department", dept, "error", err)
		s.render(w, r, st, http.StatusInternalServerError, "error", "Erreur interne", errorView{
			Heading: "Erreur interne",
			Message: "Une erreur inattendue s'est produite. Réessayez plus tard ; si elle persiste, prévenez l'administration informatique.",
		})
	}
}

func (s *server) forbiddenReason(e *record.ForbiddenError) string {
	reason := e.Reason
	if t := s.dict.Table(e.Table); t != nil {
		reason = t.Label + " : " + reason
		if e.Field != "" {
			var labels []string
			for _, f := range strings.Split(e.Field, ", ") {
				if c := t.Column(f); c != nil {
					labels = append(labels, c.Label)
				}
			}
			if len(labels) > 0 {
				reason += " (" + strings.Join(labels, ", ") + ")"
			}
		}
	}
	return reason
}

func (s *server) forbidden(w http.ResponseWriter, r *http.Request, st *session, reason string) {
	s.render(w, r, st, http.StatusForbidden, "error", "Accès refusé", errorView{
		Heading: "Accès refusé",
		Message: "Votre service n'a pas accès à ces données.",
		Reason:  reason,
	})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request, st *session) {
	s.render(w, r, st, http.StatusNotFound, "error", "Page introuvable", errorView{
		Heading: "Page introuvable",
		Message: "Cette page n'existe pas, ou la fiche demandée n'existe plus.",
	})
}

func (s *server) notFoundPage(w http.ResponseWriter, r *http.Request, st *session) {
	s.notFound(w, r, st)
}

// crossOriginDenied answers a state-changing request sent from another site (CSRF).
func (s *server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusForbidden, "error", "Requête refusée", errorView{
		Heading: "Requête refusée",
		Message: "Cette requête ne provient pas d'une page de Vigie : elle a été refusée par la protection contre la falsification de requêtes (CSRF).",
	})
}

// pathID reads the {id} of a route.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}
