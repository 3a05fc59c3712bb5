package api_test

import (
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
)

// TestR18_R20_R28_ConsentThroughTheAPI: a consent told by phone is recorded with who and when;
// the prospection list checks it when it is asked; an objection takes the person out of the list
// and out of prospection's sight at once; bad input is refused by name and records nothing.
func TestR18_R20_R28_ConsentThroughTheAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		targets := func() int {
			t.Helper()
			status, body := w.do("prospection", "GET", "/api/v1/prospection/targets?purpose=prospection_email", "")
			if status != 200 {
				t.Fatalf("targets: %d", status)
			}
			items, _ := body["items"].([]any)
			return len(items)
		}
		if n := targets(); n != 0 {
			t.Fatalf("%d targets before any consent", n)
		}
		bad := []struct{ body, field string }{
			{`{"purpose":"sms","granted":true,"channel":"phone"}`, "purpose"},
			{`{"purpose":"prospection_email","channel":"phone"}`, "granted"},
			{`{"purpose":"prospection_email","granted":true,"channel":"fax"}`, "channel"},
			{`{"purpose":"prospection_email","granted":"yes","channel":"phone"}`, "granted"},
			{`{"purpose":"prospection_email","granted":true,"channel":"phone","given_at":"2999-01-01T00:00:00Z"}`, "given_at"},
			{`{"purpose":"prospection_email","granted":true,"channel":"phone","extra":1}`, "extra"},
		}
		for _, b := range bad {
			status, body := w.do("prospection", "POST", "/api/v1/persons/{person}/consents", b.body)
			if status != 400 || !namesField(body, b.field) {
				t.Errorf("%s: %d %v, want 400 naming %s", b.body, status, body["fields"], b.field)
			}
		}
		if n := w.count("consents"); n != 0 {
			t.Fatalf("refused requests recorded %d consents", n)
		}
		status, body := w.do("prospection", "POST", "/api/v1/persons/{person}/consents", `{"purpose":"prospection_email","granted":true,"channel":"phone"}`)
		if status != 200 {
			t.Fatalf("record consent: %d %v", status, body)
		}
		cur := body["current"].(map[string]any)["prospection_email"].(map[string]any)
		if cur["granted"] != true || cur["method"] != "staff_recorded" || cur["recorded_by"] == nil {
			t.Errorf("recorded as %v", cur)
		}
		if n := targets(); n != 1 {
			t.Fatalf("%d targets after consent, want 1", n)
		}
		if status, _ := w.do("support", "POST", "/api/v1/persons/{person}/objections", `{"purpose":"prospection","channel":"letter"}`); status != 201 {
			t.Fatalf("objection: %d", status)
		}
		if n := targets(); n != 0 {
			t.Errorf("%d targets after objection", n)
		}
		if status, _ := w.do("prospection", "GET", "/api/v1/persons/{person}", ""); status != 404 {
			t.Errorf("prospection still opens the objecting person: %d", status)
		}
		if status, _ := w.do("devis", "GET", "/api/v1/persons/{person}/consents", ""); status != 200 {
			t.Errorf("the quotes department cannot read the consents: %d", status)
		}
	})
}

func namesField(body map[string]any, field string) bool {
	issues, _ := body["fields"].([]any)
	for _, it := range issues {
		if it.(map[string]any)["field"] == field {
			return true
		}
	}
	return false
}
