package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"vigie/internal/api"
	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/dictionary"
)

// TestR08_AuthorizationMatrix calls every route of the API's route table as every department, on
// the department's own rows and on rows of another purpose, and expects exactly what the
// dictionary allows (DESIGN §1). It is generated from the route table: a new route without an
// expectation fails the test, so no route can escape it.
func TestR08_AuthorizationMatrix(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		w := newWorld(t, a)
		routes := api.New(a).Routes()
		for _, rt := range routes {
			for _, d := range a.Dict.Departments {
				for _, c := range matrixCases(t, w, rt, d) {
					if c.freshToken {
						w.tokens[d.Code] = freshToken(t, a, d.Code)
					}
					status, _ := w.do(d.Code, rt.Method, c.path, c.body)
					if status != c.want {
						t.Errorf("%s %s as %s (%s): %d, want %d", rt.Method, c.path, d.Code, c.what, status, c.want)
					}
				}
			}
		}
	})
}

type matrixCase struct {
	what, path, body string
	want             int
	freshToken       bool
}

// matrixCases derives, from the dictionary, what a department may do with a route.
func matrixCases(t *testing.T, w *world, rt api.Route, d dictionary.Department) []matrixCase {
	dict := w.a.Dict
	allowed := func(ok bool, yes int) int {
		if ok {
			return yes
		}
		return 403
	}
	id := func(seed string) string { return strings.ReplaceAll(rt.Pattern, "{id}", "{"+seed+"}") }
	switch rt.Kind {
	case "health", "openapi", "me":
		return []matrixCase{{what: "anyone signed in", path: rt.Pattern, want: 200}}
	case "login", "password-change":
		return []matrixCase{{what: "an empty body", path: rt.Pattern, body: `{}`, want: 400}}
	case "logout":
		return []matrixCase{{what: "own session", path: rt.Pattern, want: 204, freshToken: true}}
	case "users":
		return []matrixCase{{what: "staff list", path: rt.Pattern, want: allowed(dict.Table("users").CanRead(d.Code), 200)}}
	case "user-create":
		return []matrixCase{{what: "an empty body", path: rt.Pattern, body: `{}`, want: allowed(dict.Table("users").CanWrite(d.Code), 400)}}
	case "consents":
		// The consent history follows the person: readable by the departments that read both.
		ok := slices.Contains(dict.Table("consents").Read, d.Code) && dict.Table("persons").CanRead(d.Code)
		return []matrixCase{{what: "a person's consents", path: id("person"), want: allowed(ok, 200)}}
	case "consent-create", "objection-create":
		table := map[string]string{"consent-create": "consents", "objection-create": "objections"}[rt.Kind]
		ok := slices.Contains(dict.Table(table).Write, d.Code) && dict.Table("persons").CanRead(d.Code)
		return []matrixCase{{what: "an empty body", path: id("person"), body: `{}`, want: allowed(ok, 400)}}
	case "targets":
		return []matrixCase{{what: "e-mail prospection targets", path: rt.Pattern + "?purpose=prospection_email", want: allowed(slices.Contains(d.Purposes, "prospection"), 200)}}
	case "campaign-send":
		// Only the prospection department sends; an empty body is refused by name before anything
		// is queued (campaign_test.go sends one).
		return []matrixCase{{what: "an empty body", path: rt.Pattern, body: `{}`, want: allowed(d.Code == "prospection", 400)}}
	case "rights-queue":
		return []matrixCase{{what: "the department's rights requests", path: rt.Pattern, want: allowed(dict.Table("rights_requests").CanRead(d.Code), 200)}}
	case "rights-identity", "rights-extend", "rights-close":
		// A request is answered by the departments that may write rights_requests, each for the
		// requests of its own purposes; an empty body is then refused by name.
		var cases []matrixCase
		for _, row := range rowsOf("rights_requests") {
			ok := dict.Table("rights_requests").CanWrite(d.Code) && slices.Contains(d.Purposes, row.purpose)
			cases = append(cases, matrixCase{what: "an empty body on " + row.seed, path: id(row.seed), body: `{}`, want: allowed(ok, 400)})
		}
		return cases
	case "rights-erase":
		// Only the DPO erases, and only for an erasure request: the access request is refused by
		// name, the human review is not the DPO's.
		dpo := slices.Contains(d.Purposes, "compliance")
		return []matrixCase{
			{what: "an access request", path: id("access_request"), want: allowed(dpo, 400)},
			{what: "a human review", path: id("review_request"), want: 403},
		}
	case "rights-access", "rights-portability":
		return []matrixCase{{what: "the person's data", path: id("person"), want: allowed(slices.Contains(d.Purposes, "compliance"), 200)}}
	case "rights-restrict", "rights-lift", "rights-directive":
		return []matrixCase{{what: "an empty body", path: id("person"), body: `{}`, want: allowed(slices.Contains(d.Purposes, "compliance"), 400)}}
	case "breach-list", "breach-create", "breach-get", "breach-update", "breach-notify", "breach-draft-cnil", "breach-draft-letters":
		// Only the departments the dictionary lets read the register (the DPO): the list, an empty
		// body refused by name, an unknown breach.
		ok := slices.Contains(dict.Table("breaches").Read, d.Code)
		switch rt.Kind {
		case "breach-list":
			return []matrixCase{{what: "the breach register", path: rt.Pattern, want: allowed(ok, 200)}}
		case "breach-create":
			return []matrixCase{{what: "an empty body", path: rt.Pattern, body: `{}`, want: allowed(ok, 400)}}
		}
		body := ""
		if rt.Method != "GET" {
			body = `{}`
		}
		return []matrixCase{{what: "an unknown breach", path: strings.ReplaceAll(rt.Pattern, "{id}", "987654"), body: body, want: allowed(ok, 404)}}
	case "register-get", "register-versions":
		// Only the departments the dictionary lets read the register's versions (the DPO): the
		// list, an unknown version (register_test.go reads the register itself).
		ok := slices.Contains(dict.Table("register_versions").Read, d.Code)
		if rt.Kind == "register-versions" {
			return []matrixCase{{what: "the register's versions", path: rt.Pattern, want: allowed(ok, 200)}}
		}
		return []matrixCase{{what: "an unknown version of the register", path: rt.Pattern + "?version=987654", want: allowed(ok, 404)}}
	case "archive-list":
		return []matrixCase{{what: "a person's archive", path: id("person"), want: allowed(d.Code == "dpo", 200)}}
	case "archive-read":
		// Only the DPO opens the archive; without a justification it is refused by name.
		path := strings.NewReplacer("{table}", "documents", "{id}", "{archived_document}").Replace(rt.Pattern)
		return []matrixCase{{what: "an archived document without a justification", path: path, body: `{}`, want: allowed(d.Code == "dpo", 400)}}
	case "rights-death":
		// Never on the seeded person: the DPO would record a death the other routes then see.
		return []matrixCase{{what: "an unknown person", path: strings.ReplaceAll(rt.Pattern, "{id}", "987654"), want: allowed(slices.Contains(d.Purposes, "compliance"), 404)}}
	}
	table := dict.Table(rt.Resource.Table)
	switch rt.Kind {
	case "list":
		return []matrixCase{{what: "list", path: rt.Pattern, want: allowed(table.CanRead(d.Code), 200)}}
	case "create":
		return []matrixCase{{what: "an empty body", path: rt.Pattern, body: `{}`, want: allowed(table.CanWrite(d.Code), 400)}}
	case "get", "update", "content":
		var cases []matrixCase
		for _, row := range rowsOf(table.Name) {
			ok := table.CanRead(d.Code) && rowVisible(table, row, d)
			want, body := allowed(ok, 200), ""
			if rt.Kind == "update" {
				// "id" is never writable: a department that may write gets a 400 naming it, one that
				// may not gets 403 before its fields are looked at.
				want, body = allowed(table.CanWrite(d.Code) && rowVisible(table, row, d), 400), `{"id":1}`
			}
			cases = append(cases, matrixCase{what: row.seed, path: id(row.seed), body: body, want: want})
		}
		return cases
	case "messages":
		return []matrixCase{{what: "a ticket's messages", path: id("ticket"), want: allowed(dict.Table("tickets").CanRead(d.Code), 200)}}
	case "message-create":
		return []matrixCase{{what: "an empty body", path: id("ticket"), body: `{}`, want: allowed(table.CanWrite(d.Code), 400)}}
	}
	t.Fatalf("no expectation for route %s %s (kind %q): add one to the authorization matrix", rt.Method, rt.Pattern, rt.Kind)
	return nil
}

type seededRow struct {
	seed     string
	purpose  string
	archived bool
}

// rowsOf lists the seeded rows of newWorld per table, with what the row rules look at.
func rowsOf(table string) []seededRow {
	switch table {
	case "persons":
		return []seededRow{{seed: "person"}}
	case "quotes":
		return []seededRow{{seed: "quote"}}
	case "contracts":
		return []seededRow{{seed: "contract"}}
	case "tickets":
		return []seededRow{{seed: "ticket"}}
	case "interactions":
		return []seededRow{{seed: "note_prospection", purpose: "prospection"}, {seed: "note_support", purpose: "support"}}
	case "documents":
		return []seededRow{{seed: "document"}, {seed: "archived_document", archived: true}}
	case "rights_requests":
		return []seededRow{{seed: "access_request", purpose: "compliance"}, {seed: "review_request", purpose: "quotes"}}
	}
	return nil
}

// rowVisible applies the table's row rules: rows of the department's own purposes only, and no
// archived documents.
func rowVisible(t *dictionary.Table, row seededRow, d dictionary.Department) bool {
	if t.HasRowRule("purpose") && !contains(d.Purposes, row.purpose) {
		return false
	}
	return !(t.HasRowRule("not_archived") && row.archived)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func freshToken(t *testing.T, a *app.App, dep string) string {
	t.Helper()
	u, err := a.Auth.UserByEmail(context.Background(), dep+"@test.vigie.local")
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.Auth.IssueToken(context.Background(), u, auth.KindScript)
	if err != nil {
		t.Fatal(err)
	}
	return token
}
