package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigie/docs/guides"
	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/breach"
	"vigie/internal/demo"
	"vigie/internal/quoting"
	"vigie/internal/record"
	"vigie/internal/server"
	"vigie/internal/web"
)

// The guides of docs/guides (issue 10, item 7) show screenshots of the demo. TestGuideScreenshots
// keeps them true: on every run it builds a demo database, checks that every image a guide shows
// exists and is made by one of the shots below, and that every screen a guide names (its line
// « Écran : « heading » (… `/path`) ») still opens, for the guide's department, on a page whose
// heading is the one quoted. With VIGIE_UPDATE_GUIDES=1 it first signs each role in, in headless
// Chromium, and takes every screenshot again into docs/guides/img:
//
//	VIGIE_UPDATE_GUIDES=1 go test -run TestGuideScreenshots ./internal/web/

// guideDir is docs/guides, from this package's folder.
const guideDir = "../../docs/guides"

// Screenshots are taken at a fixed viewport, then reduced to 256 colours: text stays sharp and
// the whole folder stays small.
const (
	shotWidth  = 1200
	shotHeight = 860
	// guideImagesBudget bounds docs/guides/img, in bytes.
	guideImagesBudget = 3 << 20
)

// guideShot is how a screenshot is made: the page to open (its path, from the demo world) and the
// steps that bring it to what the guide shows (a form filled in, a section scrolled to).
type guideShot struct {
	path  func(g *guideWorld) string
	steps func(g *guideWorld) []chromedp.Action[chromedp.Void]
}

// scrollTo brings a section to the top of the window; a section missing from the page fails the
// shot.
func scrollTo(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); if (!e) return false; e.scrollIntoView({block: "start"}); window.scrollBy(0, -12); return true; })()`, sel)))
		if err == nil && !found {
			err = fmt.Errorf("no %s on the page", sel)
		}
		return err
	})
}

// submit clicks a button that sends a form and waits for the page it leads to show sel.
func submit(button, sel string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
			return err
		}),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	}
}

func fixed(p string) func(*guideWorld) string { return func(*guideWorld) string { return p } }

func withID(format, name string) func(*guideWorld) string {
	return func(g *guideWorld) string { return fmt.Sprintf(format, g.ids[name]) }
}

// fillQuote fills in the new quote form as a quotes agent would, from the driver's answers.
var fillQuote = []chromedp.Action[chromedp.Void]{
	chromedp.WaitVisible(chromedp.CSS("#f-vehicle_make")),
	chromedp.SendKeys(chromedp.CSS("#f-vehicle_make"), "Renault"),
	chromedp.SendKeys(chromedp.CSS("#f-vehicle_model"), "Clio"),
	chromedp.SetValue(chromedp.CSS("#f-vehicle_year"), "2021"),
	chromedp.SetValue(chromedp.CSS("#f-vehicle_energy"), "hybride"),
	chromedp.SetValue(chromedp.CSS("#f-vehicle_usage"), "trajet_travail"),
	chromedp.SetValue(chromedp.CSS("#f-licence_date"), "2010-09-01"),
	chromedp.SetValue(chromedp.CSS("#f-bonus_malus"), "0.9"),
	chromedp.SetValue(chromedp.CSS("#f-coverage"), "tous_risques"),
}

// searchPerson searches the persons by one field, as the list's search form does.
func searchPerson(field, valueName string) func(g *guideWorld) []chromedp.Action[chromedp.Void] {
	return func(g *guideWorld) []chromedp.Action[chromedp.Void] {
		return append([]chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS("#q")),
			chromedp.SetValue(chromedp.CSS("#champ"), field),
			chromedp.SendKeys(chromedp.CSS("#q"), g.values[valueName]),
		}, submit(`form.search button[type="submit"]`, "p.status")...)
	}
}

func steps(s ...chromedp.Action[chromedp.Void]) func(*guideWorld) []chromedp.Action[chromedp.Void] {
	return func(*guideWorld) []chromedp.Action[chromedp.Void] { return s }
}

// guideShots are the screenshots of the guides, by image name (<guide>-<task>): each is shown by
// exactly one task of its guide, and taken as the department of that guide.
var guideShots = map[string]guideShot{
	// DPO.
	"dpo-demande-acces":   {path: withID("/droits/%d", "access")},
	"dpo-effacement":      {path: withID("/droits/%d", "erasure"), steps: steps(scrollTo("main h2"))},
	"dpo-violation":       {path: withID("/violations/%d", "breach")},
	"dpo-rapport-preuves": {path: fixed("/preuves")},
	"dpo-cycle-de-vie":    {path: fixed("/cycle-de-vie"), steps: steps(submit("#simuler", "#passage")...)},
	"dpo-journal-audit":   {path: fixed("/audit")},
	// Prospection.
	"prospection-campagnes":    {path: fixed("/campagnes")},
	"prospection-rechercher":   {path: fixed("/personnes"), steps: searchPerson("last_name", "prospect_last_name")},
	"prospection-consentement": {path: withID("/personnes/%d", "prospect"), steps: steps(scrollTo("#consentements"))},
	"prospection-echange":      {path: withID("/interactions/nouveau?personne=%d", "prospect")},
	// Quotes.
	"devis-nouveau": {path: withID("/devis/nouveau?personne=%d", "quote_person"), steps: steps(append(slices.Clone(fillQuote),
		chromedp.SetValue(chromedp.CSS("#f-premium_quoted"), "612.40"), scrollTo("#f-coverage"))...)},
	"devis-refus-donnees": {path: withID("/devis/nouveau?personne=%d", "quote_person"),
		steps: steps(append(slices.Clone(fillQuote), submit(`form.record button[type="submit"]`, "#erreurs")...)...)},
	"devis-reexamen": {path: withID("/droits/%d", "review")},
	// Contracts.
	"contrats-nouveau": {path: withID("/contrats/nouveau?personne=%d", "customer")},
	"contrats-document": {path: withID("/documents/nouveau?personne=%d", "customer"), steps: func(g *guideWorld) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS("#f-contract_id")),
			chromedp.SendKeys(chromedp.CSS("#f-contract_id"), strconv.FormatInt(g.ids["contract"], 10)),
			chromedp.SetValue(chromedp.CSS("#f-kind"), "certificate"),
		}
	}},
	"contrats-consulter": {path: withID("/contrats/%d", "contract")},
	// Support.
	"support-rechercher": {path: fixed("/personnes"), steps: searchPerson("email", "customer_email")},
	"support-ticket-refuse": {path: withID("/tickets/nouveau?personne=%d", "customer"), steps: steps(append([]chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#f-subject")),
		chromedp.SendKeys(chromedp.CSS("#f-subject"), "Franchise après son hospitalisation pour une dépression"),
	}, submit(`form.record button[type="submit"]`, "#erreurs")...)...)},
	"support-ticket": {path: withID("/tickets/%d", "ticket"), steps: steps(scrollTo("#messages"))},
	// Performance.
	"performance-graphiques": {path: fixed("/statistiques"), steps: steps(scrollTo("#graphiques"))},
	"performance-verifier": {path: fixed("/statistiques"), steps: steps(append([]chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#f-k")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll('input[name="colonne"]').forEach(c => c.checked = ["month", "zone", "price"].includes(c.value)); true`))
			return err
		}),
	}, append(submit(`button[name="verifier"]`, "#verification"), scrollTo("#f-columns"))...)...)},
	"performance-dictionnaire": {path: fixed("/statistiques"), steps: steps(scrollTo("#dictionnaire"))},
	// IT administration.
	"informatique-comptes":        {path: fixed("/utilisateurs"), steps: steps(scrollTo("section.related"))},
	"informatique-second-facteur": {path: fixed("/utilisateurs")},
	"informatique-charte":         {path: fixed("/charte-et-formation")},
}

// guideWorld is the demo as `vigie serve --demo` makes it (persons, rights requests, one user per
// department), a breach recorded 30 hours ago and a human review asked on an automated price.
type guideWorld struct {
	t     *testing.T
	a     *app.App
	h     http.Handler
	users map[string]auth.User
	ids   map[string]int64
	// values are demo values typed into search boxes; fake, but never printed.
	values  map[string]string
	cookies map[string]string
}

func newGuideWorld(t *testing.T) *guideWorld {
	t.Helper()
	ctx := context.Background()
	a := apptest.New(t, "sqlite")
	if _, err := demo.Generate(ctx, a, demo.Options{Persons: 300, Seed: 1}); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	if err := demo.Rights(ctx, a); err != nil {
		t.Fatalf("demo rights requests: %v", err)
	}
	if _, err := demo.CreateUsers(ctx, a); err != nil {
		t.Fatalf("demo users: %v", err)
	}
	g := &guideWorld{t: t, a: a, users: map[string]auth.User{}, ids: map[string]int64{}, values: map[string]string{}, cookies: map[string]string{}}
	for _, d := range a.Dict.Departments {
		u, err := a.Auth.UserByEmail(ctx, d.Code+"@"+demo.DemoEmailDomain)
		if err != nil {
			t.Fatalf("demo user %s: %v", d.Code, err)
		}
		g.users[d.Code] = u
	}
	id := func(name, query string, args ...any) int64 {
		t.Helper()
		var v int64
		if err := a.DB.QueryRowContext(ctx, query, args...).Scan(&v); err != nil {
			// The query names what the guide needs; no value is printed.
			t.Fatalf("demo data has no %s: %v", name, err)
		}
		g.ids[name] = v
		return v
	}
	id("access", `SELECT id FROM rights_requests WHERE type = 'access' ORDER BY id LIMIT 1`)
	id("erasure", `SELECT id FROM rights_requests WHERE type = 'erasure' ORDER BY id LIMIT 1`)
	id("prospect", `SELECT p.id FROM persons p WHERE p.kind = 'prospect' AND NOT p.objected_prospection AND NOT p.restricted
		AND p.email IS NOT NULL AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id) ORDER BY p.id LIMIT 1`)
	id("quote_person", `SELECT p.id FROM persons p WHERE NOT p.restricted AND p.created_at < $1 ORDER BY p.id LIMIT 1`,
		time.Now().AddDate(-1, 0, 0).UTC())
	customer := id("customer", `SELECT p.id FROM persons p WHERE NOT p.restricted AND p.email IS NOT NULL
		AND EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = p.id AND c.status = 'active' AND NOT c.archived)
		AND EXISTS (SELECT 1 FROM tickets t WHERE t.person_id = p.id AND NOT t.archived) ORDER BY p.id LIMIT 1`)
	id("contract", `SELECT id FROM contracts WHERE person_id = $1 AND status = 'active' AND NOT archived ORDER BY id LIMIT 1`, customer)
	id("ticket", `SELECT t.id FROM tickets t WHERE NOT t.archived AND EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id)
		ORDER BY t.id LIMIT 1`)
	var quoteID, quotePerson int64
	if err := a.DB.QueryRowContext(ctx, `SELECT id, person_id FROM quotes WHERE created_at > $1 ORDER BY id DESC LIMIT 1`,
		time.Now().AddDate(0, -3, 0).UTC()).Scan(&quoteID, &quotePerson); err != nil {
		t.Fatalf("demo data has no recent quote: %v", err)
	}
	// A person asks for a person to review the automated price of a quote (R31), as the result page
	// of the public form lets them.
	rec, err := a.Records.Create(ctx, quoting.Public, "rights_requests", record.Input{Text: map[string]string{
		"person_id": strconv.FormatInt(quotePerson, 10), "quote_id": strconv.FormatInt(quoteID, 10), "type": "human_review",
		"channel": "web_form", "details": "Le prix me paraît élevé : je roule peu et n'ai jamais eu de sinistre."},
		Channel: "web_form", Purpose: "quotes"})
	if err != nil {
		t.Fatalf("human review: %v", err)
	}
	g.ids["review"] = rec.ID
	// A breach the DPO became aware of 30 hours ago: 42 hours left on its clock.
	now := time.Now()
	n := int64(180)
	g.ids["breach"], err = a.Breaches.Record(ctx, breach.Staff{UserID: g.users["dpo"].ID, Department: "dpo"}, breach.Details{
		Title: "Ordinateur portable volé dans un train", AwareAt: now.Add(-30 * time.Hour), DetectedAt: now.Add(-31 * time.Hour),
		OccurredAt: now.Add(-40 * time.Hour), Nature: []string{"confidentiality"}, Origin: "lost_device", Cause: "external_malicious",
		Description: "L'ordinateur d'un conseiller du service contrats, non chiffré, a été volé avec un export des contrats en cours.",
		Scope:       breach.Scope{Table: "contracts"}, PeopleCount: &n,
		Consequences:  "Hameçonnage ciblé à partir des numéros de contrat ; usurpation d'identité.",
		MeasuresTaken: "Plainte déposée, comptes du conseiller révoqués, effacement à distance demandé.",
		Risk:          breach.RiskHigh, RiskReason: "Identité et contrats en clair : risque élevé d'usurpation.",
	})
	if err != nil {
		t.Fatalf("breach: %v", err)
	}
	// A new colleague of the contracts department, locked out after repeated failed sign-ins, for
	// the IT administration's page of accounts.
	locked, err := a.Auth.CreateUser(ctx, "benoit.roux@"+demo.DemoEmailDomain, "Benoît Roux", "contrats", demo.DemoPassword)
	if err != nil {
		t.Fatalf("locked user: %v", err)
	}
	if _, err := a.DB.ExecContext(ctx, `UPDATE users SET locked_until = $1 WHERE id = $2`, now.Add(25*time.Minute).UTC(), locked.ID); err != nil {
		t.Fatalf("lock the user: %v", err)
	}
	// Values to type into the search boxes, read as the department that types them.
	value := func(name, dept string, person int64, field string) {
		t.Helper()
		r, err := a.Records.Get(ctx, a.Auth.Actor(g.users[dept]), "persons", person)
		if err != nil {
			t.Fatalf("read the demo person for %s: %v", name, err)
		}
		v, _ := r.Get(field).(string)
		if v == "" {
			t.Fatalf("the demo person for %s has no %s", name, field)
		}
		g.values[name] = v
	}
	value("prospect_last_name", "prospection", g.ids["prospect"], "last_name")
	value("customer_email", "support", customer, "email")
	staff, err := web.New(a)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	g.h = server.New(a, staff)
	return g
}

// get answers a GET of path for the department's demo user, signed in with a session of its own
// (the browser run signs in through the pages instead).
func (g *guideWorld) get(dept, path string) (int, string) {
	g.t.Helper()
	c, ok := g.cookies[dept]
	if !ok {
		u := g.users[dept]
		apptest.AcceptCharter(g.t, g.a, u)
		token, err := g.a.Auth.IssueToken(context.Background(), u, auth.KindSession)
		if err != nil {
			g.t.Fatalf("session for %s: %v", dept, err)
		}
		c, g.cookies[dept] = token, token
	}
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(&http.Cookie{Name: "vigie_session", Value: c})
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// --- The guides as the test reads them ------------------------------------------------------

// guideTask is a level-2 section of a guide: a task, with the screenshots it shows and the
// screens it names.
type guideTask struct {
	guide   guides.Guide
	title   string
	images  []string
	screens []guideScreen
}

// guideScreen is a line « Écran : « heading » (… `/path`). »: the page's heading as the guide
// quotes it and its path, N standing for a number.
type guideScreen struct{ heading, path string }

var (
	guideImageRef  = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]*)\)`)
	guideScreenRef = regexp.MustCompile("^Écran : « (.+?) » \\(.*`(/[^`]*)`\\)\\.?$")
	guideH1        = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
	anyTag         = regexp.MustCompile(`<[^>]*>`)
)

// readGuideTasks reads every guide of docs/guides from the repository (not the embedded copy, so
// that a run after an update checks the files just written).
func readGuideTasks(t *testing.T) []guideTask {
	t.Helper()
	var tasks []guideTask
	for _, g := range guides.All {
		src, err := os.ReadFile(filepath.Join(guideDir, g.Slug+".md"))
		if err != nil {
			t.Fatalf("guide %s: %v", g.Slug, err)
		}
		var cur *guideTask
		fence := false
		for _, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fence = !fence
			}
			if fence {
				continue
			}
			if title, ok := strings.CutPrefix(line, "## "); ok {
				tasks = append(tasks, guideTask{guide: g, title: strings.TrimSpace(title)})
				cur = &tasks[len(tasks)-1]
				continue
			}
			for _, m := range guideImageRef.FindAllStringSubmatch(line, -1) {
				if cur == nil {
					t.Errorf("guide %s: image %s before its first task", g.Slug, m[1])
					continue
				}
				cur.images = append(cur.images, m[1])
			}
			if m := guideScreenRef.FindStringSubmatch(strings.TrimSpace(line)); m != nil && cur != nil {
				cur.screens = append(cur.screens, guideScreen{heading: m[1], path: m[2]})
			} else if strings.HasPrefix(strings.TrimSpace(line), "Écran :") {
				t.Errorf("guide %s, %q: the line « Écran : » does not read « Écran : « titre » (… `/chemin`). »", g.Slug, cur.title)
			}
		}
		n := 0
		for _, task := range tasks {
			if task.guide == g {
				n++
			}
		}
		if n < 3 || n > 6 {
			t.Errorf("guide %s has %d tasks, want 3 to 6", g.Slug, n)
		}
	}
	return tasks
}

// numbered turns a quoted heading or path into a pattern: a word N stands for a number. A
// heading must begin the page's, a path be the whole of the shot's.
func numbered(s string, whole bool) *regexp.Regexp {
	parts := regexp.MustCompile(`\bN\b`).Split(s, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	pattern := "^" + strings.Join(parts, "[0-9]+")
	if whole {
		pattern += "$"
	}
	return regexp.MustCompile(pattern)
}

// pageHeading is the text of a page's <h1>.
func pageHeading(page string) string {
	m := guideH1.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(anyTag.ReplaceAllString(m[1], ""))), " ")
}

// TestGuideScreenshots checks the guides against the demo and, with VIGIE_UPDATE_GUIDES=1, takes
// their screenshots again in headless Chromium.
func TestGuideScreenshots(t *testing.T) {
	update := os.Getenv("VIGIE_UPDATE_GUIDES") == "1"
	tasks := readGuideTasks(t)
	g := newGuideWorld(t)
	if update {
		takeGuideScreenshots(t, g, tasks)
	}

	// Every image a guide shows is a screenshot of the folder, made by a shot, shown once.
	shown := map[string]guideTask{}
	for _, task := range tasks {
		for _, src := range task.images {
			name, ok := strings.CutPrefix(src, "img/")
			name, isPNG := strings.CutSuffix(name, ".png")
			if !ok || !isPNG {
				t.Errorf("guide %s, %q: image %s is not img/<name>.png", task.guide.Slug, task.title, src)
				continue
			}
			if !strings.HasPrefix(name, task.guide.Slug+"-") {
				t.Errorf("guide %s, %q: image %s should be named %s-…", task.guide.Slug, task.title, src, task.guide.Slug)
			}
			if _, ok := guideShots[name]; !ok {
				t.Errorf("guide %s, %q: no shot in guideShots makes %s: it could not be taken again", task.guide.Slug, task.title, src)
			}
			if _, twice := shown[name]; twice {
				t.Errorf("image %s is shown twice", src)
			}
			shown[name] = task
			f, err := os.Open(filepath.Join(guideDir, src))
			if err != nil {
				t.Errorf("guide %s, %q: image %s is missing (VIGIE_UPDATE_GUIDES=1 go test -run TestGuideScreenshots ./internal/web/)", task.guide.Slug, task.title, src)
				continue
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != shotWidth || cfg.Height != shotHeight {
				t.Errorf("image %s is not a %d×%d PNG screenshot (%d×%d, err %v)", src, shotWidth, shotHeight, cfg.Width, cfg.Height, err)
			}
		}
		if len(task.images) > 0 && len(task.screens) != 1 {
			t.Errorf("guide %s, %q: a task with a screenshot names its screen once (« Écran : « titre » (`/chemin`). »), it names %d",
				task.guide.Slug, task.title, len(task.screens))
		}
		if len(task.images) > 1 {
			t.Errorf("guide %s, %q: %d screenshots, want one per task", task.guide.Slug, task.title, len(task.images))
		}
	}
	for name := range guideShots {
		if _, ok := shown[name]; !ok {
			t.Errorf("shot %s is shown by no guide", name)
		}
	}
	entries, err := os.ReadDir(filepath.Join(guideDir, "img"))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		name, _ := strings.CutSuffix(e.Name(), ".png")
		if _, ok := shown[name]; !ok {
			t.Errorf("docs/guides/img/%s is shown by no guide: remove it", e.Name())
		}
		if info, err := e.Info(); err == nil {
			total += info.Size()
		}
	}
	if total > guideImagesBudget {
		t.Errorf("docs/guides/img weighs %d bytes, more than %d", total, guideImagesBudget)
	}

	// Every screen a guide names opens, for its department, on the heading it quotes, at the
	// path the shot opens.
	for _, task := range tasks {
		for _, sc := range task.screens {
			name := ""
			if len(task.images) == 1 {
				name = strings.TrimSuffix(strings.TrimPrefix(task.images[0], "img/"), ".png")
			}
			shot, ok := guideShots[name]
			if !ok {
				continue // reported above
			}
			path := shot.path(g)
			if !numbered(sc.path, true).MatchString(path) {
				t.Errorf("guide %s, %q: names %s, the screenshot shows %s", task.guide.Slug, task.title, sc.path, numberless(path))
			}
			status, page := g.get(task.guide.Department, path)
			if status != http.StatusOK {
				t.Errorf("guide %s, %q: GET %s as %s: status %d, want 200", task.guide.Slug, task.title, sc.path, task.guide.Department, status)
				continue
			}
			if h := pageHeading(page); !numbered(sc.heading, false).MatchString(h) {
				t.Errorf("guide %s, %q: the page %s is headed %q, the guide quotes « %s »", task.guide.Slug, task.title, sc.path, numberless(h), sc.heading)
			}
		}
	}
}

// numberless hides the numbers of a path or heading, for a failure message: they are demo ids.
func numberless(s string) string { return regexp.MustCompile(`[0-9]+`).ReplaceAllString(s, "N") }

// takeGuideScreenshots signs each department's demo user in, in its own browser profile, opens
// the page of each shot, brings it to what its guide shows, checks its heading and writes it to
// docs/guides/img; screenshots no shot makes any more are removed.
func takeGuideScreenshots(t *testing.T, g *guideWorld, tasks []guideTask) {
	root := startBrowser(t)
	// The browser starts with the first action on its first context; the departments' profiles
	// are made from it.
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	srv := httptest.NewServer(g.h)
	defer srv.Close()
	browsers := map[string]context.Context{}
	written := map[string]bool{}
	var total int
	for _, task := range tasks {
		if len(task.images) != 1 || len(task.screens) != 1 {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(task.images[0], "img/"), ".png")
		shot, ok := guideShots[name]
		if !ok {
			continue
		}
		dept := task.guide.Department
		ctx, ok := browsers[dept]
		if !ok {
			var cancel context.CancelFunc
			ctx, cancel = chromedp.NewContext(root, chromedp.WithNewBrowserContext())
			defer cancel()
			demoLogin(t, ctx, srv.URL, dept)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(shotWidth, shotHeight)); err != nil {
				t.Fatalf("%s: viewport: %v", dept, err)
			}
			browsers[dept] = ctx
		}
		actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL + shot.path(g)), chromedp.WaitVisible(chromedp.CSS("main h1"))}
		if shot.steps != nil {
			actions = append(actions, shot.steps(g)...)
		}
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("shot %s: %v", name, err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
		if err != nil {
			t.Fatalf("shot %s: heading: %v", name, err)
		}
		if h := strings.Join(strings.Fields(heading), " "); !numbered(task.screens[0].heading, false).MatchString(h) {
			t.Fatalf("shot %s: the page is headed %q, the guide quotes « %s »", name, numberless(h), task.screens[0].heading)
		}
		// No focus ring nor caret on the picture.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur(); true`)); err != nil {
			t.Fatalf("shot %s: %v", name, err)
		}
		shotPNG, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("shot %s: capture: %v", name, err)
		}
		small, err := compactPNG(shotPNG)
		if err != nil {
			t.Fatalf("shot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(guideDir, "img", name+".png"), small, 0o644); err != nil {
			t.Fatal(err)
		}
		written[name] = true
		total += len(small)
	}
	entries, err := os.ReadDir(filepath.Join(guideDir, "img"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".png"); ok && !written[name] {
			if err := os.Remove(filepath.Join(guideDir, "img", e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d screenshots written to docs/guides/img (%d KiB)", len(written), total>>10)
}

// demoLogin signs a department's demo user in through the pages, as at a first sign-in.
func demoLogin(t *testing.T, ctx context.Context, base, dept string) {
	t.Helper()
	browserSignIn(t, ctx, base, dept+"@"+demo.DemoEmailDomain, demo.DemoPassword)
}

// compactPNG re-encodes a screenshot with a palette of its 256 most used colours (counted on 5
// bits a channel, each the mean of what it stands for), without dithering, at the best
// compression: about a fifth of the size, text and lines as sharp.
func compactPNG(raw []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode the screenshot: %w", err)
	}
	b := img.Bounds()
	type bucket struct {
		n       int
		r, g, b int
	}
	var buckets [1 << 15]bucket
	key := func(r, g, b uint32) int { return int(r>>11)<<10 | int(g>>11)<<5 | int(b>>11) }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			k := &buckets[key(r, g, bl)]
			k.n++
			k.r += int(r >> 8)
			k.g += int(g >> 8)
			k.b += int(bl >> 8)
		}
	}
	var used []int
	for k := range buckets {
		if buckets[k].n > 0 {
			used = append(used, k)
		}
	}
	sort.Slice(used, func(i, j int) bool { return buckets[used[i]].n > buckets[used[j]].n })
	var pal color.Palette
	for _, k := range used[:min(256, len(used))] {
		c := buckets[k]
		pal = append(pal, color.RGBA{uint8(c.r / c.n), uint8(c.g / c.n), uint8(c.b / c.n), 255})
	}
	index := map[int]uint8{}
	out := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			k := key(r, g, bl)
			i, ok := index[k]
			if !ok {
				c := buckets[k]
				i = uint8(pal.Index(color.RGBA{uint8(c.r / c.n), uint8(c.g / c.n), uint8(c.b / c.n), 255}))
				index[k] = i
			}
			out.SetColorIndex(x-b.Min.X, y-b.Min.Y, i)
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestGuidePages: every staff member finds « Aide » in the menu; /aide lists the seven guides,
// the reader's own first; /aide/{role} renders the guide's Markdown with its table of contents
// and screenshots, which load as PNG images; an unknown guide or image is a 404, and nothing is
// served without a session.
func TestGuidePages(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	for _, d := range w.a.Dict.Departments {
		if _, body := w.request("GET", "/", d.Code, nil, nil); !strings.Contains(body, `<a href="/aide">Aide</a>`) {
			t.Errorf("%s: the menu has no « Aide »", d.Code)
		}
	}

	res, body := w.request("GET", "/aide", "devis", nil, nil)
	if res.StatusCode != http.StatusOK || heading(body) != "Aide" {
		t.Fatalf("GET /aide: status %d, heading %q", res.StatusCode, heading(body))
	}
	links := regexp.MustCompile(`<h2><a href="/aide/([a-z]+)">`).FindAllStringSubmatch(body, -1)
	if len(links) != len(guides.All) || links[0][1] != "devis" {
		t.Errorf("GET /aide as devis lists %d guides, first %v; want %d, devis first", len(links), links, len(guides.All))
	}
	if !strings.Contains(body, "votre service") {
		t.Error("GET /aide does not mark the reader's own guide")
	}
	if _, body := w.request("GET", "/aide", "admin", nil, nil); !strings.Contains(body, `<h2><a href="/aide/informatique">`) ||
		strings.Index(body, `href="/aide/informatique"`) > strings.Index(body, `href="/aide/dpo"`) {
		t.Error("GET /aide as admin does not list the IT guide first")
	}

	res, body = w.request("GET", "/aide/devis", "support", nil, nil)
	if res.StatusCode != http.StatusOK || heading(body) != "Guide du service devis" {
		t.Fatalf("GET /aide/devis: status %d, heading %q", res.StatusCode, heading(body))
	}
	for _, want := range []string{`<nav class="toc"`, `<h2 id="etablir-un-devis">Établir un devis</h2>`, "<ol>", `<img src="/aide/img/devis-nouveau.png"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /aide/devis lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "Écran : « ") == false {
		t.Error("GET /aide/devis: a script, or the screens are not named")
	}
	src := regexp.MustCompile(`<img src="(/aide/img/[a-z0-9-]+\.png)"`).FindAllStringSubmatch(body, -1)
	if len(src) != 3 {
		t.Fatalf("GET /aide/devis shows %d screenshots, want 3", len(src))
	}
	get := func(path, dept string) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		if dept != "" {
			req.AddCookie(&http.Cookie{Name: "vigie_session", Value: w.login(dept)})
		}
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		return rec.Result()
	}
	img := get(src[0][1], "support")
	b, _ := io.ReadAll(img.Body)
	if img.StatusCode != http.StatusOK || img.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("GET %s: status %d, type %q, %d bytes", src[0][1], img.StatusCode, img.Header.Get("Content-Type"), len(b))
	}
	if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
		t.Errorf("GET %s: not a PNG: %v", src[0][1], err)
	}
	for _, path := range []string{"/aide/inconnu", "/aide/img/inconnue.png", "/aide/img/devis.md", "/aide/img/..%2Fdevis.md"} {
		if res := get(path, "support"); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
	for _, path := range []string{"/aide", "/aide/dpo", src[0][1]} {
		if res := get(path, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/connexion") {
			t.Errorf("GET %s without a session: status %d, want 303 to the sign-in page", path, res.StatusCode)
		}
	}
}
