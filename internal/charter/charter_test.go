package charter_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/charter"
)

// Staff in tests are fake but treated as personal: failures name the check, never an e-mail.

const password = "Cheval-Correct-Batterie-42"

// staff creates one user per department (the given ones) and returns them by department.
func staff(t *testing.T, a *app.App, departments ...string) map[string]auth.User {
	t.Helper()
	out := map[string]auth.User{}
	for _, d := range departments {
		u, err := a.Auth.CreateUser(context.Background(), d+"@charte.test", "Agent "+d, d, password)
		if err != nil {
			t.Fatalf("create user %s: %v", d, err)
		}
		out[d] = u
	}
	return out
}

func count(t *testing.T, a *app.App, query string) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+query).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", query, err)
	}
	return n
}

// snapshot is what a refused write must leave as it was.
func snapshot(t *testing.T, a *app.App) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{"charter_versions", "charter_acknowledgements", "training_completions", "audit_events WHERE chain = 'record'"} {
		b.WriteString(q + "=" + strconv.Itoa(count(t, a, q)) + " ")
	}
	return b.String()
}

func issue(err error) string {
	ve, ok := charter.IsInput(err)
	if !ok || len(ve.Issues) == 0 {
		return ""
	}
	var parts []string
	for _, is := range ve.Issues {
		parts = append(parts, is.Field+"/"+is.Rule)
	}
	return strings.Join(parts, ",")
}

var dpo = charter.Staff{Department: "dpo"}

// TestR43_CharterVersionsAndAcknowledgements: the embedded charter is the first version, with the
// SHA-256 of its text; a staff member must accept it, once, and the acceptance is audited; a new
// version brings the obligation back; an old or unknown version cannot be accepted; only the DPO
// and IT administration publish, and a bad publication changes nothing.
func TestR43_CharterVersionsAndAcknowledgements(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		users := staff(t, a, "devis", "admin")
		devis := charter.Staff{UserID: users["devis"].ID, Department: "devis"}
		svc := a.Charter

		cur, err := svc.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Label != charter.FirstVersion || cur.SHA256 != charter.Hash(charter.FirstBody()) || len(cur.SHA256) != 64 ||
			!strings.Contains(cur.Body, "Charte de gouvernance des données") {
			t.Fatalf("first version: %q, hash of its text %t", cur.Label, cur.SHA256 == charter.Hash(cur.Body))
		}
		if must, err := svc.MustAcknowledge(ctx, devis.UserID); err != nil || !must {
			t.Fatalf("a new staff member must accept the charter: %v %v", must, err)
		}
		if count(t, a, "charter_versions") != 1 {
			t.Fatalf("the first version is installed once")
		}
		before := count(t, a, "audit_events WHERE action = 'charter_acknowledge'")
		for range 2 {
			if _, err := svc.Acknowledge(ctx, devis, cur.SHA256); err != nil {
				t.Fatal(err)
			}
		}
		if must, _ := svc.MustAcknowledge(ctx, devis.UserID); must {
			t.Errorf("accepted, still asked")
		}
		if n := count(t, a, "charter_acknowledgements"); n != 1 {
			t.Errorf("accepting twice recorded %d rows, want 1", n)
		}
		if n := count(t, a, "audit_events WHERE action = 'charter_acknowledge'") - before; n != 1 {
			t.Errorf("accepting twice recorded %d audit events, want 1", n)
		}

		body := charter.FirstBody() + "\n10. Télétravail\nLes règles de la charte s'appliquent aussi en télétravail : écran à l'abri des regards, pas d'impression à domicile.\n"
		steps := []struct {
			name        string
			by          charter.Staff
			label, body string
			want        string // the refusal's field/rule, "" for success
			forbidden   bool
		}{
			{name: "a department other than DPO and IT administration", by: devis, label: "1.1", body: body, forbidden: true},
			{name: "no label", by: dpo, label: "", body: body, want: "version/required"},
			{name: "a label with spaces", by: dpo, label: "version 2", body: body, want: "version/format"},
			{name: "a label too long", by: dpo, label: strings.Repeat("1", 33), body: body, want: "version/format"},
			{name: "an empty text", by: dpo, label: "1.1", body: "  \n ", want: "body/required"},
			{name: "a text too short", by: dpo, label: "1.1", body: "Soyez prudents.", want: "body/min_length"},
			{name: "a text that is not UTF-8", by: dpo, label: "1.1", body: "Charte \xff" + body, want: "body/utf8"},
			{name: "a text too long", by: dpo, label: "1.1", body: strings.Repeat("é", charter.MaxBody+1), want: "body/max_length"},
			{name: "the text in force again", by: dpo, label: "1.1", body: strings.ReplaceAll(charter.FirstBody(), "\n", "\r\n"), want: "body/unchanged"},
			{name: "the label in force again", by: dpo, label: charter.FirstVersion, body: body, want: "version/unique"},
			{name: "a new version", by: charter.Staff{UserID: users["admin"].ID, Department: "admin"}, label: "1.1", body: body},
		}
		for _, st := range steps {
			was := snapshot(t, a)
			v, err := svc.Publish(ctx, st.by, st.label, st.body)
			switch {
			case st.forbidden:
				if err != charter.ErrForbidden || snapshot(t, a) != was {
					t.Errorf("%s: %v, want ErrForbidden and nothing changed", st.name, err)
				}
			case st.want != "":
				if got := issue(err); got != st.want || snapshot(t, a) != was {
					t.Errorf("%s: refused as %q (%v), want %q and nothing changed", st.name, got, err, st.want)
				}
			case err != nil:
				t.Fatalf("%s: %v", st.name, err)
			default:
				if v.SHA256 != charter.Hash(charter.Normalise(body)) || v.PublishedBy != users["admin"].ID {
					t.Errorf("%s: hash or author wrong", st.name)
				}
			}
		}
		now, err := svc.Current(ctx)
		if err != nil || now.Label != "1.1" {
			t.Fatalf("after publishing, the version in force is %q (%v)", now.Label, err)
		}
		if must, _ := svc.MustAcknowledge(ctx, devis.UserID); !must {
			t.Errorf("a new version must be accepted again")
		}
		was := snapshot(t, a)
		if got := issue(func() error { _, err := svc.Acknowledge(ctx, devis, cur.SHA256); return err }()); got != "version/superseded" {
			t.Errorf("accepting the old version: %q, want version/superseded", got)
		}
		if got := issue(func() error { _, err := svc.Acknowledge(ctx, devis, strings.Repeat("0", 64)); return err }()); got != "version/unknown" {
			t.Errorf("accepting an unknown version: %q, want version/unknown", got)
		}
		if snapshot(t, a) != was {
			t.Errorf("a refused acceptance changed something")
		}
		versions, err := svc.Versions(ctx)
		if err != nil || len(versions) != 2 || versions[0].Label != "1.1" || versions[1].Acknowledgements != 1 || versions[0].Acknowledgements != 0 {
			t.Errorf("versions: %d listed (%v), want 1.1 then 1.0 accepted once", len(versions), err)
		}
		if n := count(t, a, "audit_events WHERE action = 'charter_publish' AND table_name = 'charter_versions'"); n != 1 {
			t.Errorf("%d publication events, want 1", n)
		}
	})
}

// TestR43_TrainingAndWhoIsMissing: completions are recorded with their day; a completion for an
// unknown user, an unknown module, a future or malformed day, or twice, is refused naming its
// field and rule and changes nothing; Missing lists each active staff member without the charter
// in force or a valid mandatory module, and a disabled account is left out.
func TestR43_TrainingAndWhoIsMissing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		users := staff(t, a, "prospection", "devis", "dpo")
		svc := a.Charter
		today := time.Now().Format(charter.DateLayout)
		tomorrow := time.Now().AddDate(0, 0, 2).Format(charter.DateLayout)
		longAgo := time.Now().AddDate(-3, 0, 0).Format(charter.DateLayout)
		email := func(d string) string { return d + "@charte.test" }
		steps := []struct {
			name string
			by   charter.Staff
			in   charter.TrainingInput
			want string
		}{
			{"by the quotes department", charter.Staff{Department: "devis"}, charter.TrainingInput{email("devis"), "violations", today}, "forbidden"},
			{"an unknown user", dpo, charter.TrainingInput{"personne@charte.test", "violations", today}, "email/unknown_user"},
			{"no user", dpo, charter.TrainingInput{"", "violations", today}, "email/required"},
			{"an unknown module", dpo, charter.TrainingInput{email("devis"), "cybersecurite", today}, "module/unknown_module"},
			{"a future day", dpo, charter.TrainingInput{email("devis"), "violations", tomorrow}, "date/future"},
			{"a day that is not one", dpo, charter.TrainingInput{email("devis"), "violations", "2026-02-30"}, "date/format"},
			{"a year mistyped", dpo, charter.TrainingInput{email("devis"), "violations", "0202-01-01"}, "date/range"},
			{"everything wrong", dpo, charter.TrainingInput{"", "", ""}, "email/required,module/required,date/required"},
		}
		for _, st := range steps {
			was := snapshot(t, a)
			_, err := svc.RecordTraining(ctx, st.by, st.in)
			got := issue(err)
			if err == charter.ErrForbidden {
				got = "forbidden"
			}
			if got != st.want || snapshot(t, a) != was {
				t.Errorf("%s: %q (%v), want %q and nothing changed", st.name, got, err, st.want)
			}
		}
		record := func(dept, module, day string) {
			t.Helper()
			c, err := svc.RecordTraining(ctx, dpo, charter.TrainingInput{Email: strings.ToUpper(email(dept)), Module: module, Date: day})
			if err != nil {
				t.Fatalf("record %s %s: %v", dept, module, err)
			}
			if c.UserID != users[dept].ID || c.CompletedAt.Format(charter.DateLayout) != day {
				t.Fatalf("record %s %s: wrong user or day", dept, module)
			}
		}
		for _, m := range []string{"rgpd-fondamentaux", "securite-poste", "demandes-droits", "violations"} {
			record("devis", m, today)
			record("prospection", m, today)
		}
		record("dpo", "rgpd-fondamentaux", longAgo) // older than its 24 months
		was := snapshot(t, a)
		if _, err := svc.RecordTraining(ctx, dpo, charter.TrainingInput{email("devis"), "violations", today}); issue(err) != "date/unique" || snapshot(t, a) != was {
			t.Errorf("the same completion twice: %v, want date/unique and nothing changed", err)
		}
		cur, _ := svc.Current(ctx)
		if _, err := svc.Acknowledge(ctx, charter.Staff{UserID: users["devis"].ID, Department: "devis"}, cur.SHA256); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Acknowledge(ctx, charter.Staff{UserID: users["prospection"].ID, Department: "prospection"}, cur.SHA256); err != nil {
			t.Fatal(err)
		}

		missing := func() map[string]string {
			t.Helper()
			list, err := svc.Missing(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			for _, st := range list {
				ack := "charte"
				if st.Acknowledged {
					ack = "-"
				}
				out[st.Department] = ack + " " + strings.Join(st.Missing, ",")
			}
			return out
		}
		want := map[string]string{
			// Prospection has one module more than the others.
			"prospection": "- prospection-consentement",
			"dpo":         "charte rgpd-fondamentaux,securite-poste,demandes-droits,violations",
		}
		if got := missing(); !mapsEqual(got, want) {
			t.Errorf("missing: %v, want %v", got, want)
		}
		record("prospection", "prospection-consentement", today)
		if _, err := a.DB.ExecContext(ctx, `UPDATE users SET disabled = TRUE WHERE id = $1`, users["dpo"].ID); err != nil {
			t.Fatal(err)
		}
		if got := missing(); len(got) != 0 {
			t.Errorf("missing once everyone is trained and the DPO account disabled: %v", got)
		}
		r, err := svc.Status(ctx)
		if err != nil || len(r.Staff) != 2 || r.Acknowledged() != 2 || r.Trained() != 2 {
			t.Fatalf("status: %d staff (%v)", len(r.Staff), err)
		}
		for _, st := range r.Staff {
			for _, ms := range st.Modules {
				if !ms.Done || ms.CompletedAt.Format(charter.DateLayout) != today || !ms.DueAgain.Equal(ms.CompletedAt.AddDate(0, 24, 0)) {
					t.Errorf("%s %s: done %t, completed and due again wrong", st.Department, ms.Module.Code, ms.Done)
				}
			}
		}
		if n := count(t, a, "audit_events WHERE action = 'training_record' AND department = 'dpo'"); n != 10 {
			t.Errorf("%d training events, want 10", n)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// The catalogue is data: every module has a code, a title and a validity, and the four modules
// the charter names are mandatory for every department.
func TestR43_ModuleCatalogue(t *testing.T) {
	a := apptest.New(t, "sqlite")
	var everyone []string
	for _, m := range a.Charter.Modules() {
		if m.Title == "" || m.ValidMonths == 0 {
			t.Errorf("%s: no title or validity", m.Code)
		}
		if len(m.Departments) == 0 {
			everyone = append(everyone, m.Code)
		}
	}
	slices.Sort(everyone)
	if want := []string{"demandes-droits", "rgpd-fondamentaux", "securite-poste", "violations"}; !slices.Equal(everyone, want) {
		t.Errorf("modules for every department: %v, want %v", everyone, want)
	}
}
