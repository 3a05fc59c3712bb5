package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/rights"
)

// The rights desk through the API. Failures print statuses, codes and field names, never a body:
// the answers hold the seeded person's data.

// fetch sends a request as a department and returns the status, the headers and the raw body.
func (w *world) fetch(dep, method, path, body string) (int, http.Header, []byte) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(w.expand(body))
	}
	req, _ := http.NewRequest(method, w.srv.URL+w.expand(path), rd)
	req.Header.Set("Authorization", "Bearer "+w.tokens[dep])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// scalar reads one value of the database, for "nothing changed" checks.
func (w *world) scalar(query string, args ...any) string {
	w.t.Helper()
	var v any
	if err := w.a.DB.QueryRowContext(context.Background(), w.expand(query), args...).Scan(&v); err != nil {
		w.t.Fatal(err)
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// snapshot is what a refused rights call must leave as it was: the person's state, their
// requests, restrictions, directives and the letters queued to them.
func (w *world) snapshot() string {
	w.t.Helper()
	return strings.Join([]string{
		w.scalar(`SELECT count(*) FROM persons WHERE erased_at IS NOT NULL`),
		w.scalar(`SELECT count(*) FROM persons WHERE restricted`),
		w.scalar(`SELECT count(*) FROM persons WHERE deceased`),
		w.scalar(`SELECT count(*) FROM persons`),
		w.scalar(`SELECT count(*) FROM quotes`),
		w.scalar(`SELECT count(*) FROM documents`),
		w.scalar(`SELECT count(*) FROM subject_keys`),
		w.scalar(`SELECT count(*) FROM rights_requests`),
		w.scalar(`SELECT count(*) FROM rights_requests WHERE status IN ('closed', 'refused') OR extended_at IS NOT NULL OR identity_check <> 'pending' OR evidence IS NOT NULL`),
		w.scalar(`SELECT count(*) FROM restrictions`),
		w.scalar(`SELECT count(*) FROM restrictions WHERE lifted_at IS NOT NULL`),
		w.scalar(`SELECT count(*) FROM post_mortem_directives`),
		w.scalar(`SELECT count(*) FROM outbox`),
	}, "|")
}

// refusal is a call that must be refused with a status, naming a field and a rule (when given),
// and change nothing.
type refusal struct {
	name, dep, method, path, body string
	status                        int
	field, rule                   string
}

func (w *world) expectRefusals(cases []refusal) {
	w.t.Helper()
	for _, c := range cases {
		before := w.snapshot()
		status, body := w.do(c.dep, c.method, c.path, w.expand(c.body))
		if status != c.status {
			w.t.Errorf("%s: status %d, want %d (%v)", c.name, status, c.status, body["error"])
		} else if c.field != "" && !hasIssue(body, c.field, c.rule) {
			w.t.Errorf("%s: the answer does not name field %s and rule %s: %v", c.name, c.field, c.rule, body["fields"])
		}
		if msg, _ := body["message"].(string); msg == "" {
			w.t.Errorf("%s: no message", c.name)
		}
		if after := w.snapshot(); after != before {
			w.t.Errorf("%s: a refused call changed something (%s → %s)", c.name, before, after)
		}
	}
}

// otherDepartments are the departments that answer no rights request.
var otherDepartments = []string{"prospection", "contrats", "support", "performance", "admin"}

// TestR32_APIQueueShowsEachDepartmentItsRequestsByTimeLeft: the DPO's queue holds every right but
// the human reviews, which are the quotes department's; open requests come first by time left,
// with the days left (negative when late); answered ones only with ?closed=true; no texts.
func TestR32_APIQueueShowsEachDepartmentItsRequestsByTimeLeft(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		ctx := context.Background()
		dpo := rights.Staff{Department: "dpo"}
		late, err := a.Rights.Submit(ctx, dpo, rights.NewRequest{PersonID: w.ids["person"], Type: "erasure", Channel: "email", Details: "Effacez tout"})
		if err != nil {
			t.Fatal(err)
		}
		// Received forty days ago, due five days ago (less an hour, so that the day count does not
		// depend on how long the test takes).
		now := a.Now().UTC()
		if _, err := a.DB.ExecContext(ctx, `UPDATE rights_requests SET received_at = $1, due_at = $2 WHERE id = $3`,
			now.AddDate(0, 0, -40), now.Add(-5*24*time.Hour+time.Hour), late); err != nil {
			t.Fatal(err)
		}
		closed, err := a.Rights.Submit(ctx, dpo, rights.NewRequest{PersonID: w.ids["person"], Type: "portability", Channel: "letter"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Rights.Close(ctx, dpo, closed, "closed", "Export remis", "sha256:abc"); err != nil {
			t.Fatal(err)
		}
		w.ids["late_request"], w.ids["closed_request"] = late, closed

		cases := []struct {
			name, dep, path string
			want            []string
		}{
			{"the DPO's open requests, the late one first", "dpo", "/api/v1/rights_requests/queue", []string{"late_request", "access_request"}},
			{"then the answered ones", "dpo", "/api/v1/rights_requests/queue?closed=true", []string{"late_request", "access_request", "closed_request"}},
			{"explicitly without them", "dpo", "/api/v1/rights_requests/queue?closed=false", []string{"late_request", "access_request"}},
			{"the quotes department's human reviews", "devis", "/api/v1/rights_requests/queue?closed=true", []string{"review_request"}},
		}
		for _, c := range cases {
			status, body := w.do(c.dep, "GET", c.path, "")
			if status != 200 {
				t.Fatalf("%s: status %d", c.name, status)
			}
			var got []string
			for _, it := range body["items"].([]any) {
				item := it.(map[string]any)
				for _, f := range []string{"id", "person_id", "type", "channel", "status", "identity_check", "received_at", "due_at", "extended_at", "closed_at", "evidence", "days_left"} {
					if _, ok := item[f]; !ok {
						t.Errorf("%s: an item lacks %s", c.name, f)
					}
				}
				for _, f := range []string{"details", "outcome", "extension_reason"} {
					if _, ok := item[f]; ok {
						t.Errorf("%s: an item shows the text %s", c.name, f)
					}
				}
				got = append(got, w.seedName(int64(item["id"].(float64))))
				switch w.seedName(int64(item["id"].(float64))) {
				case "late_request":
					if d := item["days_left"].(float64); d != -5 {
						t.Errorf("the late request has %v days left, want -5", d)
					}
				case "access_request":
					if d, ok := item["days_left"].(float64); !ok || d < 27 || d > 31 {
						t.Errorf("a new request has %v days left", item["days_left"])
					}
				case "closed_request":
					if item["days_left"] != nil || item["closed_at"] == nil || item["evidence"] != "sha256:abc" {
						t.Errorf("the answered request reads days_left=%v closed_at=%v evidence=%v", item["days_left"], item["closed_at"], item["evidence"])
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		refusals := []refusal{
			{"a bad closed", "dpo", "GET", "/api/v1/rights_requests/queue?closed=yes", "", 400, "closed", "type.boolean"},
			{"an unknown parameter", "dpo", "GET", "/api/v1/rights_requests/queue?sort=due", "", 400, "sort", "unknown_parameter"},
		}
		for _, dep := range otherDepartments {
			refusals = append(refusals, refusal{dep + " reads the queue", dep, "GET", "/api/v1/rights_requests/queue", "", 403, "", ""})
		}
		w.expectRefusals(refusals)
	})
}

// seedName names a seeded id.
func (w *world) seedName(id int64) string {
	for name, seeded := range w.ids {
		if seeded == id && strings.HasSuffix(name, "_request") {
			return name
		}
	}
	return fmt.Sprint(id)
}

// TestR32_APIAnswersARequestStepByStep: the identity check, the one extension inside the first
// month with its reason sent to the person, and the closure with its outcome, each answered with
// the request as it now stands; each refusal names the field and the rule and changes nothing.
func TestR32_APIAnswersARequestStepByStep(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		req := "/api/v1/rights_requests/{access_request}"
		refusals := []refusal{
			{"malformed JSON", "dpo", "POST", req + "/extend", `{"reason":`, 400, "body", "json.syntax"},
			{"not an object", "dpo", "POST", req + "/extend", `"Archives"`, 400, "body", "json.object"},
			{"an unknown field", "dpo", "POST", req + "/extend", `{"reason":"Archives","days":60}`, 400, "days", "unknown_field"},
			{"a reason of the wrong type", "dpo", "POST", req + "/extend", `{"reason":42}`, 400, "reason", "type"},
			{"an extension without a reason", "dpo", "POST", req + "/extend", `{"reason":"  "}`, 400, "reason", "required"},
			{"a closure without an outcome", "dpo", "POST", req + "/close", `{"status":"closed"}`, 400, "outcome", "required"},
			{"a closure of an unknown status", "dpo", "POST", req + "/close", `{"status":"done","outcome":"Fait"}`, 400, "status", "enum"},
			{"an evidence too long", "dpo", "POST", req + "/close", `{"status":"closed","outcome":"Fait","evidence":"` + strings.Repeat("a", 81) + `"}`, 400, "evidence", "max_length"},
			{"an unknown identity check", "dpo", "POST", req + "/identity", `{"identity_check":"selfie"}`, 400, "identity_check", "enum"},
			{"an unknown request", "dpo", "POST", "/api/v1/rights_requests/987654/extend", `{"reason":"Archives"}`, 404, "", ""},
			{"a bad id", "dpo", "POST", "/api/v1/rights_requests/abc/extend", `{"reason":"Archives"}`, 400, "id", "type.integer"},
			{"the quotes department on the DPO's request", "devis", "POST", req + "/extend", `{"reason":"Archives"}`, 403, "", ""},
			{"the DPO on a human review", "dpo", "POST", "/api/v1/rights_requests/{review_request}/close", `{"status":"closed","outcome":"Tarif confirmé"}`, 403, "", ""},
		}
		for _, dep := range otherDepartments {
			refusals = append(refusals, refusal{dep + " extends", dep, "POST", req + "/extend", `{"reason":"Archives"}`, 403, "", ""})
		}
		w.expectRefusals(refusals)

		steps := []struct {
			name, dep, path, body string
			check                 func(item map[string]any) bool
		}{
			{"identity checked", "dpo", req + "/identity", `{"identity_check":"id_document"}`, func(m map[string]any) bool { return m["identity_check"] == "id_document" }},
			{"extended once", "dpo", req + "/extend", `{"reason":"Archives papier à consulter"}`, func(m map[string]any) bool {
				return m["extended_at"] != nil && m["days_left"].(float64) > 80
			}},
			{"closed with its outcome", "dpo", req + "/close", `{"status":"closed","outcome":"Archive remise","evidence":"sha256:0123"}`, func(m map[string]any) bool {
				return m["status"] == "closed" && m["closed_at"] != nil && m["evidence"] == "sha256:0123" && m["days_left"] == nil
			}},
			{"a human review answered by the quotes department", "devis", "/api/v1/rights_requests/{review_request}/close", `{"status":"refused","outcome":"Le tarif est confirmé après réexamen"}`,
				func(m map[string]any) bool { return m["status"] == "refused" && m["type"] == "human_review" }},
		}
		for _, s := range steps {
			letters := w.count("outbox")
			status, body := w.do(s.dep, "POST", s.path, w.expand(s.body))
			if status != 200 || !s.check(body) {
				t.Fatalf("%s: status %d, status=%v extended_at=%v days_left=%v", s.name, status, body["status"], body["extended_at"], body["days_left"])
			}
			if _, ok := body["outcome"]; ok {
				t.Errorf("%s: the answer shows the outcome's text", s.name)
			}
			if strings.HasPrefix(s.name, "extended") && w.count("outbox") != letters+1 {
				t.Errorf("%s: the person was not told", s.name)
			}
		}
		w.expectRefusals([]refusal{
			{"a second extension", "dpo", "POST", req + "/extend", `{"reason":"Encore"}`, 400, "status", "open"},
			{"closing twice", "dpo", "POST", req + "/close", `{"status":"refused","outcome":"Non"}`, 400, "status", "open"},
			{"an identity check once closed", "dpo", "POST", req + "/identity", `{"identity_check":"known_contact"}`, 400, "identity_check", "open"},
		})
	})
}

// TestR32_APIExtensionIsAllowedOnce: a second extension of a still open request is refused by
// its rule.
func TestR32_APIExtensionIsAllowedOnce(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		if status, _ := w.do("dpo", "POST", "/api/v1/rights_requests/{access_request}/extend", `{"reason":"Archives"}`); status != 200 {
			t.Fatalf("extend: %d", status)
		}
		w.expectRefusals([]refusal{
			{"a second extension", "dpo", "POST", "/api/v1/rights_requests/{access_request}/extend", `{"reason":"Encore"}`, 400, "extension", "once"},
		})
	})
}

// TestR24_APIAccessExportsEveryFormat: the DPO downloads the access archive as JSON (the
// default), CSV, HTML or ZIP, each with its type and as an attachment; the ZIP's SHA-256 comes
// back as the evidence; every export is recorded in the audit trail; portability answers the
// provided data as JSON. Anyone else, a bad format or an unknown person is refused.
func TestR24_APIAccessExportsEveryFormat(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		cases := []struct {
			query, contentType, filename string
			check                        func(t *testing.T, body []byte, h http.Header)
		}{
			{"", "application/json; charset=utf-8", "acces-personne-{person}.json", func(t *testing.T, body []byte, _ http.Header) {
				var ar struct {
					Format     string `json:"format"`
					PersonID   int64  `json:"person_id"`
					Categories []struct {
						Table string `json:"table"`
					} `json:"categories"`
				}
				if err := json.Unmarshal(body, &ar); err != nil || ar.Format != rights.AccessFormat || ar.PersonID != w.ids["person"] || len(ar.Categories) < 5 {
					t.Errorf("json: format %q, person %d, %d categories (%v)", ar.Format, ar.PersonID, len(ar.Categories), err)
				}
			}},
			{"?format=json", "application/json; charset=utf-8", "acces-personne-{person}.json", nil},
			{"?format=csv", "text/csv; charset=utf-8", "acces-personne-{person}.csv", func(t *testing.T, body []byte, _ http.Header) {
				if !bytes.HasPrefix(body, []byte("categorie,table,ligne,champ")) || bytes.Count(body, []byte("\n")) < 10 {
					t.Error("csv: not the archive's layout")
				}
			}},
			{"?format=html", "text/html; charset=utf-8", "acces-personne-{person}.html", func(t *testing.T, body []byte, h http.Header) {
				if !bytes.Contains(body, []byte("<html")) || h.Get("Content-Security-Policy") == "" {
					t.Error("html: not a page, or served without a content security policy")
				}
			}},
			{"?format=zip", "application/zip", "acces-personne-{person}.zip", func(t *testing.T, body []byte, h http.Header) {
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				if err != nil {
					t.Fatalf("zip: %v", err)
				}
				names := map[string]bool{}
				for _, f := range zr.File {
					names[f.Name] = true
				}
				if !names["mes-donnees.json"] || !names["mes-donnees.csv"] || !names["mes-donnees.html"] {
					t.Errorf("zip: holds %d files, not the three layouts", len(names))
				}
				if !strings.HasPrefix(h.Get("X-Vigie-Evidence"), "sha256:") {
					t.Error("zip: no evidence header")
				}
			}},
		}
		for _, c := range cases {
			exports := w.scalar(`SELECT count(*) FROM audit_events WHERE action = 'export'`)
			status, h, body := w.fetch("dpo", "GET", "/api/v1/persons/{person}/access"+c.query, "")
			if status != 200 {
				t.Errorf("access%s: status %d", c.query, status)
				continue
			}
			if got := h.Get("Content-Type"); got != c.contentType {
				t.Errorf("access%s: Content-Type %q, want %q", c.query, got, c.contentType)
			}
			if got, want := h.Get("Content-Disposition"), `attachment; filename="`+w.expand(c.filename)+`"`; got != want {
				t.Errorf("access%s: Content-Disposition %q, want %q", c.query, got, want)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("access%s: without nosniff", c.query)
			}
			if c.check != nil {
				c.check(t, body, h)
			}
			if after := w.scalar(`SELECT count(*) FROM audit_events WHERE action = 'export'`); after == exports {
				t.Errorf("access%s: the export is not in the audit trail", c.query)
			}
		}

		status, h, body := w.fetch("dpo", "GET", "/api/v1/persons/{person}/portability", "")
		var p rights.Portable
		if err := json.Unmarshal(body, &p); status != 200 || err != nil || p.Format != rights.PortabilityFormat || len(p.Tables["persons"]) != 1 || len(p.Tables["quotes"]) != 1 {
			t.Errorf("portability: status %d, format %q, %d tables (%v)", status, p.Format, len(p.Tables), err)
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("portability: served as %q, %q", h.Get("Content-Type"), h.Get("Content-Disposition"))
		}

		refusals := []refusal{
			{"a bad format", "dpo", "GET", "/api/v1/persons/{person}/access?format=pdf", "", 400, "format", "enum"},
			{"an unknown parameter", "dpo", "GET", "/api/v1/persons/{person}/access?fields=all", "", 400, "fields", "unknown_parameter"},
			{"an unknown person's archive", "dpo", "GET", "/api/v1/persons/987654/access", "", 404, "", ""},
			{"an unknown person's portability", "dpo", "GET", "/api/v1/persons/987654/portability", "", 404, "", ""},
			{"a bad id", "dpo", "GET", "/api/v1/persons/abc/access", "", 400, "id", "type.integer"},
		}
		for _, dep := range append([]string{"devis"}, otherDepartments...) {
			refusals = append(refusals,
				refusal{dep + " downloads the archive", dep, "GET", "/api/v1/persons/{person}/access?format=zip", "", 403, "", ""},
				refusal{dep + " downloads the portability export", dep, "GET", "/api/v1/persons/{person}/portability", "", 403, "", ""})
		}
		exports := w.scalar(`SELECT count(*) FROM audit_events WHERE action = 'export'`)
		w.expectRefusals(refusals)
		if after := w.scalar(`SELECT count(*) FROM audit_events WHERE action = 'export'`); after != exports {
			t.Error("a refused export was recorded as an export")
		}
	})
}

// TestR26_APIErasureAnswersWithACertificate: the DPO answers an erasure request with the erasure
// itself: the person's data is deleted, their key destroyed, the running contract kept, the
// request closed with the certificate's SHA-256; a second erasure, a legal hold, a request of
// another type, another department are refused and change nothing.
func TestR26_APIErasureAnswersWithACertificate(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		id, err := a.Rights.Submit(context.Background(), rights.Staff{Department: "dpo"}, rights.NewRequest{PersonID: w.ids["person"], Type: "erasure", Channel: "letter", Details: "Effacez mes données"})
		if err != nil {
			t.Fatal(err)
		}
		w.ids["erasure_request"] = id
		erase := "/api/v1/rights_requests/{erasure_request}/erase"
		hold := func(on bool) {
			if _, err := a.DB.ExecContext(context.Background(), `UPDATE persons SET legal_hold = $1 WHERE id = $2`, on, w.ids["person"]); err != nil {
				t.Fatal(err)
			}
		}
		refusals := []refusal{
			{"a request of another type", "dpo", "POST", "/api/v1/rights_requests/{access_request}/erase", "", 400, "type", "erasure"},
			{"a human review", "dpo", "POST", "/api/v1/rights_requests/{review_request}/erase", "", 403, "", ""},
			{"an unknown request", "dpo", "POST", "/api/v1/rights_requests/987654/erase", "", 404, "", ""},
		}
		for _, dep := range append([]string{"devis"}, otherDepartments...) {
			refusals = append(refusals, refusal{dep + " erases", dep, "POST", erase, "", 403, "", ""})
		}
		w.expectRefusals(refusals)

		hold(true)
		w.expectRefusals([]refusal{{"under a legal hold", "dpo", "POST", erase, "", 409, "person_id", "legal_hold"}})
		hold(false)

		status, body := w.do("dpo", "POST", erase, "")
		if status != 200 {
			t.Fatalf("erase: status %d (%v)", status, body["error"])
		}
		deleted, _ := body["deleted"].(map[string]any)
		kept, _ := body["kept"].([]any)
		evidence, _ := body["evidence"].(string)
		if body["key_destroyed"] != true || !strings.HasPrefix(evidence, "sha256:") || deleted["quotes"] != float64(1) || len(kept) == 0 ||
			body["person_id"] != float64(w.ids["person"]) {
			t.Errorf("certificate: key_destroyed=%v evidence=%q deleted=%v kept=%d", body["key_destroyed"], evidence, deleted, len(kept))
		}
		if got := w.scalar(`SELECT status || ' ' || evidence FROM rights_requests WHERE id = {erasure_request}`); got != "closed "+evidence {
			t.Errorf("the request after erasure: %q", got)
		}
		if w.scalar(`SELECT count(*) FROM persons WHERE id = {person} AND erased_at IS NOT NULL`) != "1" || w.count("quotes") != 0 {
			t.Error("the person is not erased")
		}

		status, body = w.do("dpo", "POST", erase, "")
		if msg, _ := body["message"].(string); status != 409 || body["error"] != "erased" || !strings.Contains(msg, "déjà été effacée") || !hasIssue(body, "person_id", "not_erased") {
			t.Errorf("a second erasure: status %d, %v", status, body["error"])
		}
		w.expectRefusals([]refusal{
			{"a second erasure", "dpo", "POST", erase, "", 409, "person_id", "not_erased"},
			{"the portability of an erased person", "dpo", "GET", "/api/v1/persons/{person}/portability", "", 409, "person_id", "not_erased"},
			{"restricting an erased person", "dpo", "POST", "/api/v1/persons/{person}/restriction", `{"reason":"Contestation"}`, 409, "person_id", "not_erased"},
		})
	})
}

// TestR29_APIRestrictionFreezesProcessingUntilLifted: a restriction hides the person from every
// department but the DPO, with its reason kept; lifting it restores them and tells the person.
// Each refusal names its field and rule and changes nothing.
func TestR29_APIRestrictionFreezesProcessingUntilLifted(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		id, err := a.Rights.Submit(context.Background(), rights.Staff{Department: "dpo"}, rights.NewRequest{PersonID: w.ids["person"], Type: "restriction", Channel: "letter", Details: "Exactitude contestée"})
		if err != nil {
			t.Fatal(err)
		}
		w.ids["restriction_request"] = id
		restrict, lift := "/api/v1/persons/{person}/restriction", "/api/v1/persons/{person}/restriction/lift"
		refusals := []refusal{
			{"a restriction without a reason", "dpo", "POST", restrict, `{"request_id":{restriction_request}}`, 400, "reason", "required"},
			{"a blank reason", "dpo", "POST", restrict, `{"reason":"   "}`, 400, "reason", "required"},
			{"malformed JSON", "dpo", "POST", restrict, `{"reason":"Contestation"`, 400, "body", "json.syntax"},
			{"an unknown field", "dpo", "POST", restrict, `{"reason":"Contestation","until":"2027-01-01"}`, 400, "until", "unknown_field"},
			{"a request id of the wrong type", "dpo", "POST", restrict, `{"reason":"Contestation","request_id":"12"}`, 400, "request_id", "type"},
			{"a request of another type", "dpo", "POST", restrict, `{"reason":"Contestation","request_id":{access_request}}`, 400, "request_id", "type"},
			{"an unknown person", "dpo", "POST", "/api/v1/persons/987654/restriction", `{"reason":"Contestation"}`, 404, "", ""},
			{"lifting what is not restricted", "dpo", "POST", lift, `{"reason":"Vérifié"}`, 400, "person_id", "restricted"},
			{"lifting for an unknown person", "dpo", "POST", "/api/v1/persons/987654/restriction/lift", `{"reason":"Vérifié"}`, 404, "", ""},
		}
		for _, dep := range append([]string{"devis"}, otherDepartments...) {
			refusals = append(refusals, refusal{dep + " restricts", dep, "POST", restrict, `{"reason":"Contestation"}`, 403, "", ""})
		}
		w.expectRefusals(refusals)

		status, body := w.do("dpo", "POST", restrict, w.expand(`{"reason":"Exactitude contestée","request_id":{restriction_request}}`))
		if status != 201 || body["restricted"] != true {
			t.Fatalf("restrict: status %d (%v)", status, body["error"])
		}
		if status, _ := w.do("devis", "GET", "/api/v1/persons/{person}", ""); status != 403 {
			t.Errorf("the quotes department still reads a restricted person: %d", status)
		}
		if status, _ := w.do("devis", "GET", "/api/v1/quotes/{quote}", ""); status != 403 {
			t.Errorf("the quotes department still reads a restricted person's quote: %d", status)
		}
		w.expectRefusals([]refusal{
			{"restricting twice", "dpo", "POST", restrict, `{"reason":"Encore"}`, 400, "person_id", "restricted"},
			{"lifting without a reason", "dpo", "POST", lift, `{}`, 400, "reason", "required"},
			{"lifting with an unknown field", "dpo", "POST", lift, `{"lift_reason":"Vérifié"}`, 400, "lift_reason", "unknown_field"},
			{"the quotes department lifts", "devis", "POST", lift, `{"reason":"Vérifié"}`, 403, "", ""},
		})

		letters := w.count("outbox")
		status, body = w.do("dpo", "POST", lift, `{"reason":"Exactitude vérifiée"}`)
		if status != 200 || body["restricted"] != false {
			t.Fatalf("lift: status %d (%v)", status, body["error"])
		}
		if status, _ := w.do("devis", "GET", "/api/v1/quotes/{quote}", ""); status != 200 {
			t.Errorf("after lifting, the quote is still hidden: %d", status)
		}
		if w.count("outbox") != letters+1 {
			t.Error("the person was not told of the lifting")
		}
		if got := w.scalar(`SELECT count(*) FROM restrictions WHERE person_id = {person} AND request_id = {restriction_request} AND lifted_at IS NOT NULL AND reason IS NOT NULL AND lift_reason IS NOT NULL`); got != "1" {
			t.Error("the restriction's history is not kept with both reasons")
		}
	})
}

// TestR30_APIPostMortemDirectiveIsRecordedAndApplied: the DPO records the directive a person sent
// by letter, then the death: "transmit" opens a task and freezes processing, "erase" erases and
// answers the certificate, a legal hold suspends that erasure. Refusals change nothing.
func TestR30_APIPostMortemDirectiveIsRecordedAndApplied(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		directive, death := "/api/v1/persons/{person}/post-mortem-directive", "/api/v1/persons/{person}/death"
		refusals := []refusal{
			{"an unknown instruction", "dpo", "PUT", directive, `{"instruction":"sell"}`, 400, "instruction", "enum"},
			{"no instruction", "dpo", "PUT", directive, `{"wishes":"Rien"}`, 400, "instruction", "enum"},
			{"transmit to no one", "dpo", "PUT", directive, `{"instruction":"transmit"}`, 400, "trusted_contact", "required"},
			{"wishes too long", "dpo", "PUT", directive, `{"instruction":"keep","wishes":"` + strings.Repeat("a", 2001) + `"}`, 400, "wishes", "max_length"},
			{"an unknown field", "dpo", "PUT", directive, `{"instruction":"keep","heir":"Paul"}`, 400, "heir", "unknown_field"},
			{"malformed JSON", "dpo", "PUT", directive, `{"instruction":`, 400, "body", "json.syntax"},
			{"trailing data", "dpo", "PUT", directive, `{"instruction":"keep"} {}`, 400, "body", "json.trailing"},
			{"an unknown person's directive", "dpo", "PUT", "/api/v1/persons/987654/post-mortem-directive", `{"instruction":"keep"}`, 404, "", ""},
			{"an unknown person's death", "dpo", "POST", "/api/v1/persons/987654/death", "", 404, "", ""},
		}
		for _, dep := range append([]string{"devis"}, otherDepartments...) {
			refusals = append(refusals,
				refusal{dep + " records a directive", dep, "PUT", directive, `{"instruction":"keep"}`, 403, "", ""},
				refusal{dep + " records a death", dep, "POST", death, "", 403, "", ""})
		}
		w.expectRefusals(refusals)

		status, body := w.do("dpo", "PUT", directive, `{"instruction":"transmit","trusted_contact":"Mon frère, par courrier","wishes":"Prévenir mon assureur"}`)
		if status != 200 || body["instruction"] != "transmit" || body["recorded_at"] == nil {
			t.Fatalf("directive: status %d (%v)", status, body["error"])
		}
		for _, f := range []string{"trusted_contact", "wishes"} {
			if _, ok := body[f]; ok {
				t.Errorf("the answer repeats the directive's %s", f)
			}
		}
		if w.count("post_mortem_directives") != 1 {
			t.Fatal("the directive is not recorded")
		}
		status, body = w.do("dpo", "POST", death, "")
		if status != 200 || body["directive"] != "transmit" || body["request_id"] == nil || body["applied"] == "" || body["certificate"] != nil {
			t.Fatalf("death: status %d, directive %v, request %v", status, body["directive"], body["request_id"])
		}
		if got := w.scalar(`SELECT type || ' ' || status FROM rights_requests WHERE id = $1`, int64(body["request_id"].(float64))); got != "post_mortem open" {
			t.Errorf("the DPO's task: %q", got)
		}
		if w.scalar(`SELECT count(*) FROM persons WHERE id = {person} AND deceased AND restricted`) != "1" {
			t.Error("the deceased person's processing is not restricted")
		}
		w.expectRefusals([]refusal{{"a death recorded twice", "dpo", "POST", death, "", 400, "person_id", "deceased"}})

		// Another person asked to be erased at their death.
		other := func(name string) {
			status, body := w.do("devis", "POST", "/api/v1/persons", `{"first_name":"Louise","last_name":"Kervella","email":"louise.kervella@exemple.fr"}`)
			if status != 201 {
				t.Fatalf("create a person: %d", status)
			}
			w.ids[name] = int64(body["id"].(float64))
			if status, _ := w.do("dpo", "PUT", "/api/v1/persons/{"+name+"}/post-mortem-directive", `{"instruction":"erase"}`); status != 200 {
				t.Fatalf("directive erase: %d", status)
			}
		}
		other("held")
		if _, err := a.DB.ExecContext(context.Background(), `UPDATE persons SET legal_hold = TRUE WHERE id = $1`, w.ids["held"]); err != nil {
			t.Fatal(err)
		}
		status, body = w.do("dpo", "POST", "/api/v1/persons/{held}/death", "")
		// The hold suspends the erasure: the death is recorded, processing frozen, the DPO given the task.
		if status != 200 || body["directive"] != "erase_on_hold" || body["request_id"] == nil ||
			w.scalar(`SELECT count(*) FROM persons WHERE id = {held} AND erased_at IS NULL AND deceased AND restricted`) != "1" {
			t.Errorf("an erase directive under a legal hold: status %d (%v)", status, body["error"])
		}
		other("erase_me")
		status, body = w.do("dpo", "POST", "/api/v1/persons/{erase_me}/death", "")
		cert, _ := body["certificate"].(map[string]any)
		if status != 200 || body["directive"] != "erase" || cert == nil || cert["key_destroyed"] != true {
			t.Fatalf("an erase directive: status %d (%v)", status, body["error"])
		}
		if w.scalar(`SELECT count(*) FROM persons WHERE id = {erase_me} AND erased_at IS NOT NULL`) != "1" {
			t.Error("the person who asked to be erased is not")
		}
	})
}

// TestOpenAPIReferencesResolve: every schema the document refers to, the rights desk's included,
// is in it.
func TestOpenAPIReferencesResolve(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	resp, err := http.Get(w.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, found := schemas[strings.TrimPrefix(ref, "#/components/schemas/")]; !found {
					t.Errorf("%s is referred to but not described", ref)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	for _, name := range []string{"RightsDeskRequest", "ErasureCertificate", "Closure", "Extension", "IdentityCheck", "NewRestriction", "RestrictionLift", "PostMortemDirective", "Death"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("no schema %s", name)
		}
	}
}
