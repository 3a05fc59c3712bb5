package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/register"
)

// TestR38_RegisterThroughTheAPI: the DPO reads the register of processing as JSON, CSV, HTML or
// PDF, current or by version, and the list of versions; parameters are checked by name and rule;
// other departments are refused; a register missing a field of art. 30(1) is refused with the
// field and the point it breaks, and nothing is recorded.
func TestR38_RegisterThroughTheAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		get := func(dept, path string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequest("GET", w.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+w.tokens[dept])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, b
		}

		// The test app names no controller: the register is refused, by field and rule.
		a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, consent.Controller{Name: "Courtier d'essai", Address: "Lyon"}, false, a.Log, a.Now)
		res, b := get("dpo", "/api/v1/register")
		var refused struct {
			Error  string
			Fields []struct{ Field, Rule string }
		}
		json.Unmarshal(b, &refused)
		if res.StatusCode != 409 || refused.Error != "register_incomplete" || len(refused.Fields) != 1 ||
			refused.Fields[0].Field != "dpo" || refused.Fields[0].Rule != "art30_1_a" {
			t.Errorf("a register without DPO: %d %+v", res.StatusCode, refused)
		}
		if n := w.count("register_versions"); n != 0 {
			t.Errorf("%d versions recorded by a refused register", n)
		}

		a.Config.Controller = consent.Controller{Name: "Courtier d'essai", Address: "1 rue de l'Essai, 69002 Lyon", DPOEmail: "dpo@essai.example"}
		a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, a.Config.Controller, false, a.Log, a.Now)
		scenarios := []struct {
			name, dept, query string
			status            int
			contentType       string
			starts            string
			field, rule       string
		}{
			{name: "JSON, the default", dept: "dpo", status: 200, contentType: "application/json", starts: "{"},
			{name: "PDF", dept: "dpo", query: "?format=pdf", status: 200, contentType: "application/pdf", starts: "%PDF-"},
			{name: "CSV", dept: "dpo", query: "?format=csv", status: 200, contentType: "text/csv", starts: "\ufeffFiche;Traitement;"},
			{name: "HTML", dept: "dpo", query: "?format=html", status: 200, contentType: "text/html", starts: "<!DOCTYPE html>"},
			{name: "a kept version", dept: "dpo", query: "?version=1&format=csv", status: 200, contentType: "text/csv", starts: "\ufeff"},
			{name: "an unknown format", dept: "dpo", query: "?format=docx", status: 400, field: "format", rule: "enum"},
			{name: "version 0", dept: "dpo", query: "?version=0", status: 400, field: "version", rule: "min"},
			{name: "an unknown parameter", dept: "dpo", query: "?person_id=1", status: 400, field: "person_id", rule: "unknown_parameter"},
			{name: "an unknown version", dept: "dpo", query: "?version=5", status: 404},
			{name: "quotes are refused", dept: "devis", status: 403},
			{name: "admin is refused", dept: "admin", query: "?format=pdf", status: 403},
		}
		for _, sc := range scenarios {
			res, b := get(sc.dept, "/api/v1/register"+sc.query)
			if res.StatusCode != sc.status {
				t.Errorf("%s: status %d, want %d", sc.name, res.StatusCode, sc.status)
				continue
			}
			if sc.contentType != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), sc.contentType) {
				t.Errorf("%s: content type %q", sc.name, res.Header.Get("Content-Type"))
			}
			if !bytes.HasPrefix(b, []byte(sc.starts)) {
				t.Errorf("%s: the body does not start with %q", sc.name, sc.starts)
			}
			if sc.status == 200 && (res.Header.Get("X-Vigie-Register-Version") != "1" || len(res.Header.Get("X-Vigie-Register-SHA256")) != 64) {
				t.Errorf("%s: version headers %q %q", sc.name, res.Header.Get("X-Vigie-Register-Version"), res.Header.Get("X-Vigie-Register-SHA256"))
			}
			if want := `attachment; filename="registre-traitements-v1.` + formatOf(sc.query) + `"`; sc.status == 200 && sc.contentType != "application/json" &&
				res.Header.Get("Content-Disposition") != want {
				t.Errorf("%s: disposition %q, want %q", sc.name, res.Header.Get("Content-Disposition"), want)
			}
			if sc.field != "" {
				var e struct {
					Fields []struct{ Field, Rule string }
				}
				json.Unmarshal(b, &e)
				if len(e.Fields) != 1 || e.Fields[0].Field != sc.field || e.Fields[0].Rule != sc.rule {
					t.Errorf("%s: refused as %+v, want %s/%s", sc.name, e.Fields, sc.field, sc.rule)
				}
			}
		}
		_, b = get("dpo", "/api/v1/register")
		var v register.Version
		if err := json.Unmarshal(b, &v); err != nil || v.Number != 1 || v.Register == nil || len(v.Register.Activities) != len(a.Dict.Purposes) {
			t.Fatalf("the JSON register: %v", err)
		}
		if err := v.Register.Validate(); err != nil {
			t.Errorf("the JSON register misses a field: %v", err)
		}
		res, b = get("dpo", "/api/v1/register/versions")
		var list struct{ Items []register.Version }
		json.Unmarshal(b, &list)
		if res.StatusCode != 200 || len(list.Items) != 1 || list.Items[0].Number != 1 || list.Items[0].Register != nil {
			t.Errorf("versions: %d, %d items", res.StatusCode, len(list.Items))
		}
	})
}

// formatOf is the format a query asks for.
func formatOf(query string) string {
	_, f, ok := strings.Cut(query, "format=")
	if !ok {
		return "json"
	}
	f, _, _ = strings.Cut(f, "&")
	return f
}
