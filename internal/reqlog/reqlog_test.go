package reqlog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vigie/internal/reqlog"
)

// TestOneLinePerRequestNamesTheRouteNeverThePath: each request leaves one line — method, route
// pattern, status, duration, department — and the same facts to the observers; the path's id, the
// query and a non-standard method never appear.
func TestOneLinePerRequestNamesTheRouteNeverThePath(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		reqlog.SetDepartment(r.Context(), "devis")
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	for _, c := range []struct {
		name                string
		method, target      string
		route, method2, dep string
		status              int
		mustNotContain      []string
	}{
		{"a read by id, with a search in the query", "GET", "/persons/4242?email=anne.martin@exemple.fr", "GET /persons/{id}", "GET", "devis", 404,
			[]string{"4242", "anne.martin", "email="}},
		{"an unknown path, without a department", "POST", "/personnes/7310/secret", "/", "POST", "", 200, []string{"7310", "secret"}},
		{"a made-up method", "BREW", "/", "/", "OTHER", "", 200, []string{"BREW"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			var seen []reqlog.Line
			h := reqlog.Middleware(slog.New(slog.NewJSONHandler(&buf, nil)), mux, func(l reqlog.Line) { seen = append(seen, l) })
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.target, nil))
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1", len(lines))
			}
			var got struct {
				Msg, Method, Route, Department string
				Status                         int
				Duration                       *int64
			}
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatalf("not one JSON object: %v", err)
			}
			if got.Msg != "request" || got.Method != c.method2 || got.Route != c.route || got.Status != c.status || got.Department != c.dep || got.Duration == nil {
				t.Errorf("line %+v, want method %s route %q status %d department %q and a duration", got, c.method2, c.route, c.status, c.dep)
			}
			for _, s := range c.mustNotContain {
				if strings.Contains(lines[0], s) {
					t.Errorf("the line holds %q", s)
				}
			}
			if len(seen) != 1 || seen[0].Route != c.route || seen[0].Status != c.status || seen[0].Method != c.method2 || seen[0].Department != c.dep {
				t.Errorf("observers saw %+v", seen)
			}
		})
	}
}
