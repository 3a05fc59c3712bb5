package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

// breachCounts is what a refused request must leave as it was.
func (w *world) breachCounts() string {
	w.t.Helper()
	return fmt.Sprintf("breaches=%d persons=%d notifications=%d record-chain=%d", w.count("breaches"), w.count("breach_persons"),
		w.count("breach_notifications"), w.count("audit_events WHERE chain = 'record'"))
}

// breachJSON is a complete high-risk breach, its awareness time given (or left out when aware is "").
func breachJSON(aware string, extra string) string {
	awareField := ""
	if aware != "" {
		awareField = fmt.Sprintf(`"aware_at":%q,`, aware)
	}
	return `{` + awareField + `"title":"Base de devis exposée sur internet","nature":["confidentiality"],"origin":"hacking",
		"cause":"external_malicious","description":"Une sauvegarde des devis était lisible sans authentification.",
		"consequences":"Hameçonnage ciblé à partir des véhicules et des tarifs.","measures_taken":"Accès fermé, journaux analysés.",
		"risk":"high","risk_reason":"Identité, coordonnées et véhicule en clair : risque élevé pour les personnes.",
		"scope_table":"quotes"` + extra + `}`
}

// TestR39_R40_APIBreachRegister: through the API, the DPO records a breach (its scope finds the
// seeded person), sees its 72-hour clock, records the initial notification to the CNIL and
// receives both drafts; a breach without awareness time, a notification dated before awareness
// and a late one without its reason are refused naming the field and the rule, and change
// nothing; no other department reaches the register.
func TestR39_R40_APIBreachRegister(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		aware := time.Now().Add(-100 * time.Hour).UTC()
		refusals := []struct {
			name, method, path, body string
			field, rule              string
		}{
			{"a breach without awareness time", "POST", "/api/v1/breaches", breachJSON("", ""), "aware_at", "required"},
			{"an awareness time that is not one", "POST", "/api/v1/breaches", breachJSON("hier", ""), "aware_at", "format.date-time"},
			{"an unknown member", "POST", "/api/v1/breaches", breachJSON(aware.Format(time.RFC3339), `,"severity":"high"`), "severity", "unknown_field"},
			{"an unknown scope table", "POST", "/api/v1/breaches", breachJSON(aware.Format(time.RFC3339), `,"scope_department":"prospection"`),
				"scope_table", "department_access"},
		}
		for _, r := range refusals {
			before := w.breachCounts()
			status, body := w.do("dpo", r.method, r.path, r.body)
			if status != 400 || !refusesField(body, r.field, r.rule) {
				t.Errorf("%s: %d, want 400 naming %s (%s): %v", r.name, status, r.field, r.rule, body["message"])
			}
			if after := w.breachCounts(); after != before {
				t.Errorf("%s: refused but changed the database: %s, was %s", r.name, after, before)
			}
		}

		status, body := w.do("dpo", "POST", "/api/v1/breaches", breachJSON(aware.Format(time.RFC3339), ""))
		if status != 201 {
			t.Fatalf("record a breach: %d %v", status, body["message"])
		}
		id := int64(body["id"].(float64))
		clock, _ := body["clock"].(map[string]any)
		if clock["state"] != "overdue" || clock["seconds_left"].(float64) > -27*3600 || body["people_found"].(float64) != 1 ||
			body["cnil_required"] != true || body["people_required"] != true || clock["people"] != "pending" {
			t.Errorf("the recorded breach: clock %v, people found %v", clock["state"], body["people_found"])
		}
		path := fmt.Sprintf("/api/v1/breaches/%d", id)
		notify := func(sent time.Time, extra string) string {
			return fmt.Sprintf(`{"recipient":"cnil","phase":"initial","channel":"teleservice","sent_at":%q%s}`, sent.Format(time.RFC3339), extra)
		}
		for _, r := range []struct{ name, body, field, rule string }{
			{"a notification dated before awareness", notify(aware.Add(-time.Hour), ""), "sent_at", "not_before_awareness"},
			{"a late notification without its reason", notify(aware.Add(90*time.Hour), ""), "late_reason", "required_when_late"},
			{"a notification without its date", `{"recipient":"cnil","phase":"initial","channel":"teleservice"}`, "sent_at", "required"},
		} {
			before := w.breachCounts()
			status, body := w.do("dpo", "POST", path+"/notifications", r.body)
			if status != 400 || !refusesField(body, r.field, r.rule) {
				t.Errorf("%s: %d, want 400 naming %s (%s): %v", r.name, status, r.field, r.rule, body["message"])
			}
			if after := w.breachCounts(); after != before {
				t.Errorf("%s: refused but changed the database: %s, was %s", r.name, after, before)
			}
		}
		status, body = w.do("dpo", "POST", path+"/notifications", notify(aware.Add(90*time.Hour), `,"late_reason":"Ampleur connue au quatrième jour seulement.","reference":"N-42"`))
		if status != 201 {
			t.Fatalf("record the notification: %d %v", status, body["message"])
		}
		if clock := body["clock"].(map[string]any); clock["state"] != "notified" || clock["late"] != true || len(body["notifications"].([]any)) != 1 {
			t.Errorf("after the late notification: clock %v late %v", clock["state"], clock["late"])
		}
		status, body = w.do("dpo", "PATCH", path, `{"measures_proposed":"Chiffrement des sauvegardes."}`)
		if status != 200 || body["measures_proposed"] != "Chiffrement des sauvegardes." || body["title"] != "Base de devis exposée sur internet" {
			t.Errorf("update the measures: %d %v", status, body["message"])
		}
		if status, body := w.do("dpo", "PATCH", path, `{"aware_at":"2026-01-01T00:00:00Z"}`); status != 400 || !refusesField(body, "aware_at", "immutable") {
			t.Errorf("move the awareness time: %d %v", status, body["message"])
		}

		status, body = w.do("dpo", "GET", path+"/drafts/cnil", "")
		if text, _ := body["text"].(string); status != 200 || !strings.Contains(text, "Notification complémentaire") ||
			!strings.Contains(text, "Nombre approximatif de personnes concernées : 1") || strings.Contains(text, "Le Goff") {
			t.Errorf("the CNIL draft: %d", status)
		}
		status, body = w.do("dpo", "GET", path+"/drafts/letters?limit=10", "")
		items, _ := body["items"].([]any)
		if status != 200 || len(items) != 1 {
			t.Fatalf("the letters: %d, %d letters", status, len(items))
		}
		letter := items[0].(map[string]any)
		if letter["person_id"].(float64) != float64(w.ids["person"]) || !strings.Contains(letter["text"].(string), "Bonjour Camille Le Goff") ||
			!strings.Contains(letter["text"].(string), "notifié cette violation à la Commission nationale") {
			t.Error("the letter is not addressed to the person found, or does not say the CNIL was told")
		}
		if status, body := w.do("dpo", "GET", path+"/drafts/letters?limit=9999", ""); status != 400 || !refusesField(body, "limit", "range") {
			t.Errorf("a page of 9999 letters: %d", status)
		}
		if status, body := w.do("dpo", "GET", "/api/v1/breaches", ""); status != 200 || len(body["items"].([]any)) != 1 {
			t.Errorf("the register: %d", status)
		}
		for _, dep := range []string{"prospection", "devis", "contrats", "support", "performance", "admin"} {
			if status, _ := w.do(dep, "GET", path+"/drafts/letters", ""); status != 403 {
				t.Errorf("%s reads the letters: %d, want 403", dep, status)
			}
		}
		if err := a.Audit.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := w.count("audit_events WHERE chain = 'access' AND table_name = 'persons' AND detail LIKE 'breach=%letter'"); n != 1 {
			t.Errorf("%d readings recorded for the letter, want 1", n)
		}
	})
}

// refusesField reports whether an error body names the field with the rule.
func refusesField(body map[string]any, field, rule string) bool {
	fields, _ := body["fields"].([]any)
	for _, f := range fields {
		m, _ := f.(map[string]any)
		if m["field"] == field && m["rule"] == rule && m["message"] != "" {
			return true
		}
	}
	return false
}
