package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vigie/internal/api"
	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
	"vigie/internal/rights"
)

// world is a small population and one user (with a token) per department.
type world struct {
	t      *testing.T
	a      *app.App
	srv    *httptest.Server
	tokens map[string]string
	ids    map[string]int64
}

const testPassword = "Correct-Horse-Battery-9"

func newWorld(t *testing.T, a *app.App) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, a: a, tokens: map[string]string{}, ids: map[string]int64{}}
	users := map[string]auth.User{}
	for _, d := range a.Dict.Departments {
		u, err := a.Auth.CreateUser(ctx, d.Code+"@test.vigie.local", "Agent "+d.Code, d.Code, testPassword)
		if err != nil {
			t.Fatalf("create user %s: %v", d.Code, err)
		}
		users[d.Code] = u
		if w.tokens[d.Code], err = a.Auth.IssueToken(ctx, u, auth.KindScript); err != nil {
			t.Fatal(err)
		}
	}
	as := func(dep string) record.Actor { return a.Auth.Actor(users[dep]) }
	create := func(name, dep, table string, fields string) {
		t.Helper()
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(fields), &raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec, err := a.Records.Create(ctx, as(dep), table, record.Input{Fields: raw})
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		w.ids[name] = rec.ID
	}
	create("person", "devis", "persons", `{"first_name":"Camille","last_name":"Le Goff","email":"camille.legoff@exemple.fr",
		"phone":"0612345678","birth_date":"1985-03-14","address_line":"3 rue des Lilas","postal_code":"29200","city":"Brest","departement":"29"}`)
	pid := w.ids["person"]
	create("quote", "devis", "quotes", fmt.Sprintf(`{"person_id":%d,"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2020,
		"vehicle_energy":"essence","vehicle_usage":"prive","plate":"GH-456-JK","licence_date":"2004-06-01","bonus_malus":0.68,
		"coverage":"tous_risques","premium_quoted":612.40}`, pid))
	create("contract", "contrats", "contracts", fmt.Sprintf(`{"person_id":%d,"quote_id":%d,"insurer":"MAIF","policy_number":"POL-778899",
		"start_date":"2025-01-01","annual_premium":612.40,"broker_commission":61.24}`, pid, w.ids["quote"]))
	create("ticket", "support", "tickets", fmt.Sprintf(`{"person_id":%d,"subject":"Attestation introuvable"}`, pid))
	create("note_prospection", "prospection", "interactions", fmt.Sprintf(`{"person_id":%d,"channel":"phone","purpose":"prospection",
		"occurred_at":"2026-01-05T10:00:00Z","note":"Rappeler en mars"}`, pid))
	create("note_support", "support", "interactions", fmt.Sprintf(`{"person_id":%d,"channel":"email","purpose":"support",
		"occurred_at":"2026-02-05T10:00:00Z","note":"Attestation renvoyée"}`, pid))
	create("document", "contrats", "documents", fmt.Sprintf(`{"person_id":%d,"contract_id":%d,"kind":"certificate","filename":"attestation.txt",
		"content_type":"text/plain","content":"%s"}`, pid, w.ids["contract"], "QXR0ZXN0YXRpb24gZCdhc3N1cmFuY2U="))
	create("archived_document", "contrats", "documents", fmt.Sprintf(`{"person_id":%d,"kind":"invoice","filename":"facture.txt",
		"content_type":"text/plain","content":"RmFjdHVyZQ=="}`, pid))
	if _, err := a.DB.ExecContext(ctx, `UPDATE documents SET archived = TRUE WHERE id = $1`, w.ids["archived_document"]); err != nil {
		t.Fatal(err)
	}
	// Two rights requests: an access request, the DPO's, and a human review of the quote's price,
	// the quotes department's.
	for name, in := range map[string]rights.NewRequest{
		"access_request": {PersonID: pid, Type: "access", Channel: "letter", Details: "Copie de mes données"},
		"review_request": {PersonID: pid, Type: "human_review", Channel: "web_form", QuoteID: w.ids["quote"], Details: "Tarif à revoir"},
	} {
		id, err := a.Rights.Submit(ctx, rights.Staff{Department: "dpo"}, in)
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		w.ids[name] = id
	}
	w.srv = httptest.NewServer(api.New(a))
	t.Cleanup(w.srv.Close)
	return w
}

// do sends a request as a department ("" for none) and returns the status and decoded body.
func (w *world) do(dep, method, path, body string) (int, map[string]any) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, w.srv.URL+w.expand(path), rd)
	if dep != "" {
		req.Header.Set("Authorization", "Bearer "+w.tokens[dep])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// expand replaces {person}, {quote}… with the seeded ids.
func (w *world) expand(s string) string {
	for name, id := range w.ids {
		s = strings.ReplaceAll(s, "{"+name+"}", fmt.Sprint(id))
	}
	return s
}

func (w *world) count(table string) int {
	var n int
	if err := w.a.DB.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestR08_APIShowsEachDepartmentOnlyItsFields is DESIGN §1's table, through the API: a field the
// department may not read is absent, a resource it may not touch is 403.
func TestR08_APIShowsEachDepartmentOnlyItsFields(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		cases := []struct {
			dep, path string
			status    int
			present   []string
			absent    []string
		}{
			{"prospection", "/api/v1/persons/{person}", 200, []string{"first_name", "last_name", "email", "phone", "city", "kind"}, []string{"birth_date"}},
			{"devis", "/api/v1/persons/{person}", 200, []string{"first_name", "email", "birth_date"}, nil},
			{"contrats", "/api/v1/persons/{person}", 200, []string{"first_name", "birth_date"}, nil},
			{"support", "/api/v1/persons/{person}", 200, []string{"first_name", "email", "phone"}, []string{"birth_date"}},
			{"dpo", "/api/v1/persons/{person}", 200, []string{"id", "kind", "created_at"}, []string{"first_name", "last_name", "email", "phone", "birth_date", "address_line", "postal_code", "city", "departement"}},
			{"performance", "/api/v1/persons/{person}", 403, nil, nil},
			{"admin", "/api/v1/persons/{person}", 403, nil, nil},

			{"devis", "/api/v1/quotes/{quote}", 200, []string{"plate", "bonus_malus", "premium_quoted", "licence_suspension_5y"}, nil},
			{"prospection", "/api/v1/quotes/{quote}", 403, nil, nil},
			{"contrats", "/api/v1/quotes/{quote}", 403, nil, nil},
			{"support", "/api/v1/quotes/{quote}", 403, nil, nil},
			{"performance", "/api/v1/quotes/{quote}", 403, nil, nil},
			{"dpo", "/api/v1/quotes/{quote}", 403, nil, nil},

			{"contrats", "/api/v1/contracts/{contract}", 200, []string{"insurer", "policy_number", "annual_premium", "broker_commission"}, nil},
			{"support", "/api/v1/contracts/{contract}", 200, []string{"insurer", "policy_number", "start_date", "status"}, []string{"annual_premium", "broker_commission"}},
			{"prospection", "/api/v1/contracts/{contract}", 403, nil, nil},
			{"devis", "/api/v1/contracts/{contract}", 403, nil, nil},

			{"support", "/api/v1/tickets/{ticket}", 200, []string{"subject", "status"}, nil},
			{"contrats", "/api/v1/tickets/{ticket}", 403, nil, nil},
			{"prospection", "/api/v1/tickets/{ticket}", 403, nil, nil},
			{"devis", "/api/v1/tickets/{ticket}", 403, nil, nil},

			{"prospection", "/api/v1/interactions/{note_prospection}", 200, []string{"note", "purpose"}, nil},
			{"prospection", "/api/v1/interactions/{note_support}", 403, nil, nil},
			{"devis", "/api/v1/interactions/{note_prospection}", 403, nil, nil},
			{"support", "/api/v1/interactions/{note_support}", 200, []string{"note"}, nil},

			{"contrats", "/api/v1/documents/{document}", 200, []string{"filename", "kind", "size_bytes"}, []string{"content"}},
			{"contrats", "/api/v1/documents/{archived_document}", 403, nil, nil},
			{"support", "/api/v1/documents/{document}", 403, nil, nil},
		}
		for _, c := range cases {
			status, body := w.do(c.dep, "GET", c.path, "")
			if status != c.status {
				t.Errorf("%s GET %s: status %d, want %d", c.dep, c.path, status, c.status)
				continue
			}
			for _, f := range c.present {
				if _, ok := body[f]; !ok {
					t.Errorf("%s GET %s: field %s absent, want present", c.dep, c.path, f)
				}
			}
			for _, f := range c.absent {
				if _, ok := body[f]; ok {
					t.Errorf("%s GET %s: field %s present, want absent", c.dep, c.path, f)
				}
			}
		}
	})
}

// TestR08_ListsFollowRowAndFieldRules: a list shows the same fields as a read, and rows of another
// purpose (another department's notes) or archived documents are not listed at all.
func TestR08_ListsFollowRowAndFieldRules(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		cases := []struct {
			dep, path string
			wantIDs   []string
		}{
			{"prospection", "/api/v1/interactions?person_id={person}", []string{"note_prospection"}},
			{"support", "/api/v1/interactions?person_id={person}", []string{"note_support"}},
			{"devis", "/api/v1/interactions?person_id={person}", nil},
			{"contrats", "/api/v1/documents?person_id={person}", []string{"document"}},
		}
		for _, c := range cases {
			status, body := w.do(c.dep, "GET", c.path, "")
			if status != 200 {
				t.Fatalf("%s %s: status %d", c.dep, c.path, status)
			}
			items, _ := body["items"].([]any)
			var got []string
			for _, it := range items {
				id := int64(it.(map[string]any)["id"].(float64))
				for name, seeded := range w.ids {
					if seeded == id && strings.HasPrefix(c.path, "/api/v1/"+tableOf(name)) {
						got = append(got, name)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.wantIDs) {
				t.Errorf("%s %s: listed %v, want %v", c.dep, c.path, got, c.wantIDs)
			}
		}
		_, body := w.do("support", "GET", "/api/v1/contracts?person_id={person}", "")
		item := body["items"].([]any)[0].(map[string]any)
		if _, ok := item["annual_premium"]; ok {
			t.Error("support's contract list shows annual_premium")
		}
	})
}

func tableOf(seedName string) string {
	switch {
	case strings.HasPrefix(seedName, "note"):
		return "interactions"
	case strings.HasSuffix(seedName, "document"):
		return "documents"
	}
	return seedName + "s"
}

// TestBadInputIsRefusedAndChangesNothing: each malformed request gets a 400 that names the field
// and the rule, and nothing is written.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		valid := `"first_name":"Jean","last_name":"Martin"`
		cases := []struct {
			name, dep, method, path, body string
			status                        int
			field, rule                   string
		}{
			{"malformed JSON", "devis", "POST", "/api/v1/persons", `{"first_name":"Jean",`, 400, "body", "json.syntax"},
			{"not an object", "devis", "POST", "/api/v1/persons", `["Jean"]`, 400, "body", "json.object"},
			{"trailing data", "devis", "POST", "/api/v1/persons", `{` + valid + `} {}`, 400, "body", "json.trailing"},
			{"duplicate key", "devis", "POST", "/api/v1/persons", `{` + valid + `,"first_name":"Paul"}`, 400, "first_name", "json.duplicate"},
			{"unknown field", "devis", "POST", "/api/v1/persons", `{` + valid + `,"blood_group":"O+"}`, 400, "blood_group", "unknown_field"},
			{"wrong type", "devis", "POST", "/api/v1/persons", `{"first_name":42,"last_name":"Martin"}`, 400, "first_name", "type.string"},
			{"too long", "devis", "POST", "/api/v1/persons", `{"first_name":"` + strings.Repeat("a", 101) + `","last_name":"Martin"}`, 400, "first_name", "max_length"},
			{"missing required", "devis", "POST", "/api/v1/persons", `{"first_name":"Jean"}`, 400, "last_name", "required"},
			{"invalid email", "devis", "POST", "/api/v1/persons", `{` + valid + `,"email":"jean.martin@"}`, 400, "email", "format.email"},
			{"invalid French phone", "devis", "POST", "/api/v1/persons", `{` + valid + `,"phone":"06 12 34"}`, 400, "phone", "format.phone_fr"},
			{"foreign phone", "devis", "POST", "/api/v1/persons", `{` + valid + `,"phone":"+1 202 555 0143"}`, 400, "phone", "format.phone_fr"},
			{"birth date in the future", "devis", "POST", "/api/v1/persons", `{` + valid + `,"birth_date":"2999-01-01"}`, 400, "birth_date", "format.birth_date_future"},
			{"driver under 18", "devis", "POST", "/api/v1/persons", `{` + valid + `,"birth_date":"` + fmt.Sprint(a.Now().Year()-10) + `-01-01"}`, 400, "birth_date", "format.birth_date_adult"},
			{"not a date", "devis", "POST", "/api/v1/persons", `{` + valid + `,"birth_date":"14/03/1985"}`, 400, "birth_date", "type.date"},
			{"unknown département", "devis", "POST", "/api/v1/persons", `{` + valid + `,"departement":"20"}`, 400, "departement", "format.departement"},
			{"postal code of another département", "devis", "POST", "/api/v1/persons", `{` + valid + `,"postal_code":"75011","departement":"29"}`, 400, "postal_code", "postal_code_departement"},
			{"value not allowed", "devis", "POST", "/api/v1/persons", `{` + valid + `,"kind":"vip"}`, 400, "kind", "enum"},
			{"system field", "devis", "POST", "/api/v1/persons", `{` + valid + `,"created_at":"2020-01-01T00:00:00Z"}`, 400, "created_at", "read_only"},
			{"unknown channel", "devis", "POST", "/api/v1/persons", `{` + valid + `,"_channel":"pigeon"}`, 400, "_channel", "enum"},
			{"another department's purpose", "devis", "POST", "/api/v1/persons", `{` + valid + `,"_purpose":"prospection"}`, 400, "_purpose", "purpose"},
			{"bonus-malus out of range", "devis", "POST", "/api/v1/quotes", `{"person_id":{person},"vehicle_make":"Fiat","vehicle_model":"500","vehicle_year":2018,"vehicle_energy":"essence","vehicle_usage":"prive","licence_date":"2000-01-01","bonus_malus":4.2,"coverage":"tiers"}`, 400, "bonus_malus", "range"},
			{"invalid plate", "devis", "POST", "/api/v1/quotes", `{"person_id":{person},"vehicle_make":"Fiat","vehicle_model":"500","vehicle_year":2018,"vehicle_energy":"essence","vehicle_usage":"prive","licence_date":"2000-01-01","bonus_malus":1,"coverage":"tiers","plate":"AI-123-OU"}`, 400, "plate", "format.plate"},
			{"unknown person", "devis", "POST", "/api/v1/quotes", `{"person_id":999999,"vehicle_make":"Fiat","vehicle_model":"500","vehicle_year":2018,"vehicle_energy":"essence","vehicle_usage":"prive","licence_date":"2000-01-01","bonus_malus":1,"coverage":"tiers"}`, 400, "person_id", "foreign_key"},
			{"contract ends before it starts", "contrats", "POST", "/api/v1/contracts", `{"person_id":{person},"insurer":"MAIF","policy_number":"X1","start_date":"2025-01-01","end_date":"2024-01-01","annual_premium":500}`, 400, "end_date", "date_order"},
			{"interaction for another purpose", "prospection", "POST", "/api/v1/interactions", `{"person_id":{person},"channel":"phone","purpose":"support","occurred_at":"2026-01-01T10:00:00Z"}`, 403, "", ""},
			{"field the department may not write", "prospection", "POST", "/api/v1/persons", `{` + valid + `,"birth_date":"1980-01-01"}`, 403, "birth_date", "department_access"},
			{"table the department may not write", "support", "POST", "/api/v1/quotes", `{}`, 403, "", ""},
			{"immutable field", "devis", "PATCH", "/api/v1/quotes/{quote}", `{"person_id":1}`, 400, "person_id", "immutable"},
			{"empty update", "devis", "PATCH", "/api/v1/persons/{person}", `{}`, 400, "body", "empty"},
			{"bad id", "devis", "GET", "/api/v1/persons/abc", "", 400, "id", "type.integer"},
			{"unknown id", "devis", "GET", "/api/v1/persons/987654", "", 404, "", ""},
			{"unknown parameter", "devis", "GET", "/api/v1/persons?sort=name", "", 400, "sort", "unknown_parameter"},
			{"limit out of range", "devis", "GET", "/api/v1/persons?limit=5000", "", 400, "limit", "range"},
			{"no token", "", "GET", "/api/v1/persons", "", 401, "", ""},
		}
		before := map[string]int{}
		for _, table := range []string{"persons", "quotes", "contracts", "interactions", "subject_keys", "search_index"} {
			before[table] = w.count(table)
		}
		for _, c := range cases {
			status, body := w.do(c.dep, c.method, c.path, w.expand(c.body))
			if status != c.status {
				t.Errorf("%s: status %d, want %d (%v)", c.name, status, c.status, body["error"])
				continue
			}
			if c.field == "" {
				continue
			}
			if !hasIssue(body, c.field, c.rule) {
				t.Errorf("%s: answer does not name field %s and rule %s: %v", c.name, c.field, c.rule, body["fields"])
			}
		}
		for table, n := range before {
			if got := w.count(table); got != n {
				t.Errorf("%s: %d rows after refused requests, want %d", table, got, n)
			}
		}
	})
}

func hasIssue(body map[string]any, field, rule string) bool {
	issues, _ := body["fields"].([]any)
	for _, it := range issues {
		m := it.(map[string]any)
		if m["field"] == field && m["rule"] == rule {
			return true
		}
	}
	return false
}

// TestSearchThroughBlindIndex: exact search by email, phone, last-name word and plate finds the
// record whatever the input's formatting, and a department cannot search a field it cannot read.
func TestSearchThroughBlindIndex(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		cases := []struct {
			dep, path string
			status    int
			found     int
		}{
			{"prospection", "/api/v1/persons?email=camille.legoff@EXEMPLE.fr", 200, 1},
			{"support", "/api/v1/persons?phone=%2B33%206%2012%2034%2056%2078", 200, 1},
			{"devis", "/api/v1/persons?phone=06.12.34.56.78", 200, 1},
			{"contrats", "/api/v1/persons?last_name=goff", 200, 1},
			{"contrats", "/api/v1/persons?last_name=le%20GOFF", 200, 1},
			{"contrats", "/api/v1/persons?last_name=martin", 200, 0},
			{"devis", "/api/v1/quotes?plate=gh456jk", 200, 1},
			{"devis", "/api/v1/persons?email=nobody@exemple.fr", 200, 0},
			{"devis", "/api/v1/persons?email=not-an-email", 400, 0},
			{"dpo", "/api/v1/persons?email=camille.legoff@exemple.fr", 403, 0},
			{"prospection", "/api/v1/quotes?plate=GH-456-JK", 403, 0},
			{"devis", "/api/v1/persons?email=a@exemple.fr&phone=0612345678", 400, 0},
		}
		for _, c := range cases {
			status, body := w.do(c.dep, "GET", c.path, "")
			if status != c.status {
				t.Errorf("%s %s: status %d, want %d", c.dep, c.path, status, c.status)
				continue
			}
			if status == 200 {
				if items := body["items"].([]any); len(items) != c.found {
					t.Errorf("%s %s: %d found, want %d", c.dep, c.path, len(items), c.found)
				}
			}
		}
	})
}

// TestCreateUpdateAndPaginate: the write path end to end — create, change, page through.
func TestCreateUpdateAndPaginate(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		for i := range 4 {
			status, body := w.do("prospection", "POST", "/api/v1/persons", fmt.Sprintf(`{"first_name":"Prénom","last_name":"Nom%c","email":"p%d@exemple.fr","_channel":"phone"}`, 'a'+i, i))
			if status != 201 {
				t.Fatalf("create: %d %v", status, body)
			}
		}
		var seen int
		after := int64(0)
		for pages := 0; ; pages++ {
			status, body := w.do("prospection", "GET", fmt.Sprintf("/api/v1/persons?limit=2&after=%d", after), "")
			if status != 200 || pages > 5 {
				t.Fatalf("page: %d", status)
			}
			seen += len(body["items"].([]any))
			next, ok := body["next"].(float64)
			if !ok {
				break
			}
			after = int64(next)
		}
		if seen != 5 {
			t.Errorf("paginated through %d persons, want 5", seen)
		}
		status, body := w.do("devis", "PATCH", "/api/v1/persons/{person}", `{"email":"camille.nouvelle@exemple.fr"}`)
		if status != 200 || body["email"] != "camille.nouvelle@exemple.fr" || body["first_name"] != "Camille" {
			t.Fatalf("update: %d", status)
		}
		if _, body := w.do("devis", "GET", "/api/v1/persons?email=camille.legoff@exemple.fr", ""); len(body["items"].([]any)) != 0 {
			t.Error("the old email is still found after a change")
		}
		if _, body := w.do("devis", "GET", "/api/v1/persons?email=camille.nouvelle@exemple.fr", ""); len(body["items"].([]any)) != 1 {
			t.Error("the new email is not found")
		}
		status, body = w.do("devis", "GET", "/api/v1/persons/{person}?include=provenance", "")
		prov, _ := body["_provenance"].(map[string]any)
		if status != 200 || prov["email"] == nil || prov["email"].(map[string]any)["purpose"] != "quotes" {
			t.Errorf("provenance of the changed email: %v", prov["email"])
		}
		status, _ = w.do("support", "POST", "/api/v1/tickets/{ticket}/messages", `{"author":"staff","body":"Nous vous renvoyons l'attestation."}`)
		if status != 201 {
			t.Fatalf("message: %d", status)
		}
		status, body = w.do("support", "GET", "/api/v1/tickets/{ticket}/messages", "")
		if status != 200 || len(body["items"].([]any)) != 1 {
			t.Errorf("messages: %d", status)
		}
	})
}

// TestSessionLoginAndLogout: a person logs in for a token and logs out; a wrong password and an
// unknown account get the same answer.
func TestSessionLoginAndLogout(t *testing.T) {
	w := newWorld(t, apptest.New(t, "sqlite"))
	devis, _ := w.a.Auth.UserByEmail(context.Background(), "devis@test.vigie.local")
	app, _ := apptest.Enrol(t, w.a, devis)
	status, body := w.do("", "POST", "/api/v1/session", `{"email":"devis@test.vigie.local","password":"`+testPassword+`","totp":"`+app.Code(t, time.Now())+`"}`)
	if status != 201 || body["department"] != "devis" {
		t.Fatalf("login: %d", status)
	}
	w.tokens["session"] = body["token"].(string)
	if status, _ := w.do("session", "GET", "/api/v1/me", ""); status != 200 {
		t.Fatalf("me: %d", status)
	}
	if status, _ := w.do("session", "DELETE", "/api/v1/session", ""); status != 204 {
		t.Fatalf("logout: %d", status)
	}
	if status, _ := w.do("session", "GET", "/api/v1/me", ""); status != 401 {
		t.Errorf("token still valid after logout: %d", status)
	}
	_, wrong := w.do("", "POST", "/api/v1/session", `{"email":"devis@test.vigie.local","password":"wrong-password-123"}`)
	_, unknown := w.do("", "POST", "/api/v1/session", `{"email":"nobody@test.vigie.local","password":"wrong-password-123"}`)
	if fmt.Sprint(wrong) != fmt.Sprint(unknown) {
		t.Error("a wrong password and an unknown account are told apart")
	}
}

// TestOpenAPIDescribesEveryRoute: every route of the table is served and described, and every
// resource schema lists exactly the dictionary's columns.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	a := apptest.New(t, "sqlite")
	w := newWorld(t, a)
	h := api.New(a)
	resp, err := http.Get(w.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	for _, rt := range h.Routes() {
		op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is not described", rt.Method, rt.Pattern)
			continue
		}
		if op["operationId"] != rt.OperationID {
			t.Errorf("%s %s: operationId %v", rt.Method, rt.Pattern, op["operationId"])
		}
		req, _ := http.NewRequest(rt.Method, w.srv.URL+strings.ReplaceAll(rt.Pattern, "{id}", "1"), nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body api.ErrorBody
		json.NewDecoder(r.Body).Decode(&body)
		r.Body.Close()
		if r.StatusCode == 404 && body.Message != "introuvable" || r.StatusCode == 405 {
			t.Errorf("%s %s is described but not served (%d)", rt.Method, rt.Pattern, r.StatusCode)
		}
	}
	described := 0
	for path, ops := range doc.Paths {
		described += len(ops)
		_ = path
	}
	if described != len(h.Routes()) {
		t.Errorf("%d operations described, %d routes", described, len(h.Routes()))
	}
	for _, res := range api.Resources {
		table := a.Dict.Table(res.Table)
		name := ""
		for _, part := range strings.Split(table.Entity, "_") {
			name += strings.ToUpper(part[:1]) + part[1:]
		}
		props := doc.Components.Schemas[name].Properties
		for _, c := range table.Columns {
			if _, ok := props[c.Name]; !ok && c.Name != "content" {
				t.Errorf("schema of %s lacks %s", res.Table, c.Name)
			}
		}
		if len(props) == 0 {
			t.Errorf("no schema for %s", res.Table)
		}
	}
}
