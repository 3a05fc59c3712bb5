package ops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/breach"
	"vigie/internal/rights"
	"vigie/internal/server"
	"vigie/internal/web"
)

// series is one sample of a scrape: its name, labels and value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads /metrics in the text exposition format.
func scrape(t *testing.T, base string) []series {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	var out []series
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable sample line %q", line)
		}
		s := series{name: m[1], labels: map[string]string{}}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		if s.value, err = strconv.ParseFloat(m[3], 64); err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// find returns the value of the series with that name and at least those labels.
func find(all []series, name string, labels map[string]string) (float64, bool) {
	for _, s := range all {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range labels {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// TestMetricsCountRoutesAndBacklogsWithoutPersonalData drives the API and the web pages as a
// department would — creating a person, reading them by id, searching by e-mail, failing a
// sign-in — records two rights requests (one late), then scrapes /metrics: requests are counted
// by route pattern and status, the rights, lifecycle, audit and account gauges are there, and no
// label holds an id, a query or any of the personal values used.
func TestMetricsCountRoutesAndBacklogsWithoutPersonalData(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := t.Context()
		staff, err := web.New(a)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(server.New(a, staff))
		defer srv.Close()
		u, err := a.Auth.CreateUser(ctx, "agent.metriques@courtier.example", "Agent Métriques", "devis", "Vigie-Quartz-Tournesol-9187")
		if err != nil {
			t.Fatal(err)
		}
		token, err := a.Auth.IssueToken(ctx, u, auth.KindScript)
		if err != nil {
			t.Fatal(err)
		}
		call := func(method, path, body string) (int, []byte) {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, raw
		}
		personal := []string{"Maëlys", "Le Goff-Quéméner", "maelys.legoff@exemple.fr", "0611223344", "4 impasse des Goélands", "1984-02-29"}
		status, raw := call("POST", "/api/v1/persons", `{"first_name":"Maëlys","last_name":"Le Goff-Quéméner","email":"maelys.legoff@exemple.fr",
			"phone":"0611223344","address_line":"4 impasse des Goélands","postal_code":"56000","departement":"56","birth_date":"1984-02-29"}`)
		var created struct{ ID int64 }
		if json.Unmarshal(raw, &created); status != http.StatusCreated || created.ID == 0 {
			t.Fatalf("create person: %d", status)
		}
		if status, _ := call("GET", fmt.Sprintf("/api/v1/persons/%d", created.ID), ""); status != http.StatusOK {
			t.Fatalf("read person: %d", status)
		}
		call("GET", "/api/v1/persons?email="+url.QueryEscape("maelys.legoff@exemple.fr"), "")
		call("GET", "/api/v1/persons/999999", "")
		call("POST", "/api/v1/session", `{"email":"personne@exemple.fr","password":"Mauvais-Mot-De-Passe-2026"}`)
		http.Get(srv.URL + "/connexion?suivant=/personnes/" + strconv.FormatInt(created.ID, 10))
		http.Get(srv.URL + "/healthz")

		dpo := rights.Staff{Department: "dpo"}
		var late int64
		for range 2 {
			if late, err = a.Rights.Submit(ctx, dpo, rights.NewRequest{PersonID: created.ID, Type: "access", Channel: "letter"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.DB.ExecContext(ctx, `UPDATE rights_requests SET due_at = $1 WHERE id = $2`, time.Now().UTC().AddDate(0, 0, -3), late); err != nil {
			t.Fatal(err)
		}
		aware := time.Now().Add(-10 * time.Hour)
		if _, err := a.Breaches.Record(ctx, breach.Staff{Department: "dpo"}, breach.Details{
			Title: "Ordinateur portable volé", AwareAt: aware, DetectedAt: aware.Add(-time.Hour), OccurredAt: aware.Add(-20 * time.Hour),
			Nature: []string{"confidentiality"}, Origin: "lost_device", Cause: "external_malicious", Description: "Vol dans un véhicule.",
			DataCategories: []string{"identity", "contact"}, PeopleCategories: []string{"customer"},
			Consequences: "Hameçonnage ciblé.", MeasuresTaken: "Effacement à distance demandé.",
			Risk: breach.RiskHigh, RiskReason: "Disque non chiffré.",
		}); err != nil {
			t.Fatalf("record a breach: %v", err)
		}
		if _, err := a.Audit.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		all := scrape(t, srv.URL)
		for _, c := range []struct {
			what   string
			name   string
			labels map[string]string
			want   float64 // -1: present, any value
		}{
			{"a creation, by its route pattern", "vigie_http_requests_total", map[string]string{"route": "POST /api/v1/persons", "status": "201"}, 1},
			{"a read by id, under the pattern not the id", "vigie_http_requests_total", map[string]string{"route": "GET /api/v1/persons/{id}", "status": "200"}, 1},
			{"a missing id, under the same pattern", "vigie_http_requests_total", map[string]string{"route": "GET /api/v1/persons/{id}", "status": "404"}, 1},
			{"a search, without its query", "vigie_http_requests_total", map[string]string{"route": "GET /api/v1/persons", "status": "200"}, 1},
			{"a refused sign-in", "vigie_http_requests_total", map[string]string{"route": "POST /api/v1/session", "status": "401"}, 1},
			{"a web page", "vigie_http_requests_total", map[string]string{"route": "GET /connexion", "status": "200"}, 1},
			{"the liveness probe", "vigie_http_requests_total", map[string]string{"route": "GET /healthz", "status": "200"}, 1},
			{"latency of reads by id", "vigie_http_request_duration_seconds_count", map[string]string{"route": "GET /api/v1/persons/{id}"}, 2},
			{"sign-in failures by reason", "vigie_login_failures_total", map[string]string{"reason": "unknown_account"}, 1},
			{"no account locked", "vigie_staff_accounts_locked", nil, 0},
			{"open access requests", "vigie_rights_requests_open", map[string]string{"type": "access"}, 2},
			{"late access requests", "vigie_rights_requests_overdue", map[string]string{"type": "access"}, 1},
			{"no open erasure request, still a series", "vigie_rights_requests_open", map[string]string{"type": "erasure"}, 0},
			{"lifecycle overdue by rule", "vigie_lifecycle_overdue", map[string]string{"rule": "prospect"}, -1},
			{"lifecycle due within 30 days", "vigie_lifecycle_due", map[string]string{"within": "30d"}, -1},
			{"the record chain's checkpoint holds", "vigie_audit_checkpoint_holds", map[string]string{"chain": "record"}, 1},
			{"nothing after the checkpoint just signed", "vigie_audit_events_since_checkpoint", map[string]string{"chain": "record"}, 0},
			{"checkpoint age", "vigie_audit_checkpoint_age_seconds", map[string]string{"chain": "record"}, -1},
			{"a breach whose 72-hour clock runs", "vigie_breaches", map[string]string{"cnil_clock": "running"}, 1},
			{"no breach late", "vigie_breaches", map[string]string{"cnil_clock": "overdue"}, 0},
			{"the people of a high-risk breach still to tell", "vigie_breaches_people_pending", nil, 1},
			{"time left to notify the CNIL", "vigie_breach_cnil_seconds_left", nil, -1},
			{"every database source read", "vigie_metrics_source_up", map[string]string{"source": "lifecycle"}, 1},
			{"the Go runtime", "go_goroutines", nil, -1},
		} {
			got, ok := find(all, c.name, c.labels)
			switch {
			case !ok:
				t.Errorf("%s: no series %s%v", c.what, c.name, c.labels)
			case c.want >= 0 && got != c.want:
				t.Errorf("%s: %s%v = %v, want %v", c.what, c.name, c.labels, got, c.want)
			}
		}

		if left, _ := find(all, "vigie_breach_cnil_seconds_left", nil); left < 61*3600 || left > 62*3600 {
			t.Errorf("CNIL deadline in %.0f s, want about 62 hours (72 after awareness, 10 hours ago)", left)
		}

		id := regexp.MustCompile(`/[0-9]+(/|$)`)
		for _, s := range all {
			for k, v := range s.labels {
				if id.MatchString(v) || strings.ContainsAny(v, "?@") {
					t.Errorf("%s: label %s holds a path with an id, a query or an address", s.name, k)
				}
				for i, p := range personal {
					if strings.Contains(v, p) {
						t.Errorf("%s: label %s holds personal value #%d", s.name, k, i)
					}
				}
			}
		}
	})
}

// TestMetricsNeedTheTokenOrTheLoopback: without VIGIE_METRICS_TOKEN only a direct client on the
// loopback reads the metrics; with it, the bearer token is what counts, from any address.
func TestMetricsNeedTheTokenOrTheLoopback(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		name          string
		token         string
		remote        string
		header, value string
		want          int
	}{
		{"no token: loopback reads", "", "127.0.0.1:50000", "", "", http.StatusOK},
		{"no token: IPv6 loopback reads", "", "[::1]:50000", "", "", http.StatusOK},
		{"no token: another address is refused", "", "192.0.2.10:50000", "", "", http.StatusForbidden},
		{"no token: through a proxy on the loopback is refused", "", "127.0.0.1:50000", "X-Forwarded-For", "198.51.100.7", http.StatusForbidden},
		{"no token: through a proxy saying Forwarded is refused", "", "127.0.0.1:50000", "Forwarded", "for=198.51.100.7", http.StatusForbidden},
		{"token: missing is refused, even on the loopback", token, "127.0.0.1:50000", "", "", http.StatusUnauthorized},
		{"token: wrong is refused", token, "192.0.2.10:50000", "Authorization", "Bearer " + strings.Repeat("x", 32), http.StatusUnauthorized},
		{"token: right reads from anywhere", token, "192.0.2.10:50000", "Authorization", "Bearer " + token, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := apptest.New(t, "sqlite")
			a.Config.MetricsToken = c.token
			h := server.New(a, http.NotFoundHandler())
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = c.remote
			if c.header != "" {
				req.Header.Set(c.header, c.value)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d", rec.Code, c.want)
			}
			if c.want == http.StatusOK && !strings.Contains(rec.Body.String(), "vigie_metrics_source_up") {
				t.Fatal("the answer is not the metrics")
			}
		})
	}
}

// openAt opens a locked app on a fresh database of the dialect, migrated up to version (0: none).
func openAt(t *testing.T, dialect string, version int) *app.App {
	t.Helper()
	dir := t.TempDir()
	cfg := app.Config{MasterKeyFile: filepath.Join(dir, "vigie.key"), AuditKeyFile: filepath.Join(dir, "vigie-audit.key"),
		DatabaseURL: filepath.Join(dir, "vigie.db")}
	if dialect == "postgres" {
		cfg.DatabaseURL = apptest.PostgresSchemaURL(t)
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if version > 0 {
		if _, err := a.DB.MigrateTo(context.Background(), version); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// TestReadinessNeedsTheDatabaseAndEveryMigration: /readyz answers 200 only when the database
// answers and its schema is the code's, 503 with the reason otherwise; /healthz answers 200 as
// long as the process serves, whatever the database.
func TestReadinessNeedsTheDatabaseAndEveryMigration(t *testing.T) {
	for _, dialect := range apptest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			probe := openAt(t, dialect, 0)
			all, err := probe.DB.Migrations()
			if err != nil {
				t.Fatal(err)
			}
			latest := all[len(all)-1]
			for _, c := range []struct {
				name       string
				version    int  // migrated up to
				closeDB    bool // the database is gone
				ready      int
				reason     string
				wantInBody string
			}{
				{"every migration applied: ready", latest.Version, false, http.StatusOK, "", `"ready"`},
				{"the latest migration pending: not ready", all[len(all)-2].Version, false, http.StatusServiceUnavailable, "migrations_pending",
					fmt.Sprintf("%04d_%s", latest.Version, latest.Name)},
				{"never migrated: not ready", 0, false, http.StatusServiceUnavailable, "migrations_pending", "0001_core"},
				{"database unreachable: not ready", latest.Version, true, http.StatusServiceUnavailable, "database_unreachable", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					a := openAt(t, dialect, c.version)
					h := server.New(a, http.NotFoundHandler())
					if c.closeDB {
						a.DB.Close()
					}
					get := func(path string) (int, map[string]any) {
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
						var body map[string]any
						if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
							t.Fatalf("%s: not JSON: %v", path, err)
						}
						if c.wantInBody != "" && path == "/readyz" && !strings.Contains(rec.Body.String(), c.wantInBody) {
							t.Errorf("%s: body does not name %s", path, c.wantInBody)
						}
						return rec.Code, body
					}
					if code, _ := get("/healthz"); code != http.StatusOK {
						t.Errorf("/healthz: %d, want 200", code)
					}
					code, body := get("/readyz")
					if code != c.ready {
						t.Errorf("/readyz: %d, want %d", code, c.ready)
					}
					if reason, _ := body["reason"].(string); reason != c.reason {
						t.Errorf("/readyz reason %q, want %q", reason, c.reason)
					}
				})
			}
		})
	}
}
