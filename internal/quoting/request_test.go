package quoting_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/quoting"
	"vigie/internal/record"
)

func form() quoting.Request {
	return quoting.Request{
		Person: map[string]string{"first_name": "Camille", "last_name": "Formulaire", "birth_date": "1990-05-17",
			"email": "camille.formulaire@exemple.fr", "phone": "06 11 22 33 44", "postal_code": "69003", "city": "Lyon"},
		Quote: map[string]string{"vehicle_make": "Renault", "vehicle_model": "Zoé", "vehicle_year": "2021", "vehicle_energy": "electrique",
			"vehicle_usage": "trajet_travail", "registration_date": "2021-03-10", "licence_date": "2010-09-01", "bonus_malus": "0,72",
			"claims_3y": "0", "coverage": "tous_risques", "comment": "Je souhaite être rappelée en fin de journée."},
		Ticked: map[string]bool{},
	}
}

func publish(t *testing.T, a *app.App) consent.Notice {
	t.Helper()
	person, quote := quoting.FormColumns(a.Dict)
	var labels []string
	for _, c := range append(person, quote...) {
		labels = append(labels, c.Label)
	}
	n, err := a.Consent.Publish(context.Background(), consent.QuoteNotice(a.Dict, app.ConfigFromEnv(app.Config{}).Controller, labels, 6))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func count(t *testing.T, a *app.App, table string) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestR02_PublicFormAsksOnlyWhatTheQuoteNeeds: the form's fields are the dictionary's public_form
// columns, all collected for the quotes purpose; no NIR, no plate, no address line is asked.
func TestR02_PublicFormAsksOnlyWhatTheQuoteNeeds(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		person, quote := quoting.FormColumns(a.Dict)
		for _, c := range append(person, quote...) {
			if !slices.Contains(c.Purposes, "quotes") {
				t.Errorf("%s is asked but not collected for quotes", c.Name)
			}
		}
		names := []string{}
		for _, c := range append(person, quote...) {
			names = append(names, c.Name)
		}
		for _, never := range []string{"address_line", "plate", "insurer", "premium_quoted", "status", "kind", "source"} {
			if slices.Contains(names, never) {
				t.Errorf("the public form asks %s", never)
			}
		}
	})
}

// TestR18_R21_R31_FormWritesPersonQuoteAndChoices: a submission creates the person, the quote
// priced by the automated tariff (marked as such) and one consent line per optional purpose with
// the notice shown; a field that is not on the form is ignored.
func TestR18_R21_R31_FormWritesPersonQuoteAndChoices(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		notice := publish(t, a)
		req := form()
		req.Notice = notice
		req.Ticked["performance"] = true
		req.Person["nir"] = "should be ignored"
		res, err := a.Quoting.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Price.Premium <= 0 || res.Price.Insurer == "" || len(res.Price.Factors) == 0 {
			t.Errorf("price %+v", res.Price)
		}
		q, err := a.Quoting.Get(ctx, res.QuoteID, res.Token)
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("automated_decision") != true || q.Text("premium_quoted") == "" || q.Text("status") != "sent" {
			t.Errorf("quote %v", q.Values)
		}
		devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
		p, err := a.Records.Get(ctx, devis, "persons", res.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Text("departement") != "69" || p.Text("source") != "web_form" || p.Provenance["email"].Purpose != "quotes" {
			t.Errorf("person: departement %q source %q provenance %+v", p.Text("departement"), p.Text("source"), p.Provenance["email"])
		}
		h, err := a.Consent.History(ctx, res.PersonID, 0, "dpo")
		if err != nil {
			t.Fatal(err)
		}
		cur := consent.Current(h)
		if len(h) != len(consent.Purposes) || !cur["performance"].Granted || cur["prospection_email"].Granted || cur["prospection_phone"].Granted {
			t.Errorf("consents %+v", h)
		}
		for _, e := range h {
			if e.NoticeHash != notice.Hash || e.Method != "checkbox" || e.Channel != "web_form" {
				t.Errorf("consent line %+v: want the notice hash, checkbox, web_form", e)
			}
		}
		if _, err := a.Quoting.Get(ctx, res.QuoteID, strings.Repeat("A", len(res.Token))); !errors.Is(err, quoting.ErrBadToken) {
			t.Errorf("a forged result link: %v", err)
		}
	})
}

// TestR21_NoticeStatesWhatTheLawAsks: purposes, legal bases, recipients, retention, rights, the
// automated decision and how to reach the DPO are all in the notice shown.
func TestR21_NoticeStatesWhatTheLawAsks(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		body := publish(t, a).Body
		for _, want := range []string{"Responsable du traitement", "Finalités et bases légales", "mesures précontractuelles",
			"consentement", "Destinataires", "Durées de conservation", "2 ans", "3 ans", "Décision automatisée", "réexamine",
			"accès", "rectification", "effacement", "limitation", "portabilité", "opposition", "décès", "retrait", "CNIL", "dpo@"} {
			if !strings.Contains(body, want) {
				t.Errorf("the notice does not mention %q", want)
			}
		}
	})
}

// TestR18_GPCRefusesMarketing: with Sec-GPC: 1 the marketing purposes are recorded as refused by
// the signal, even if a box was ticked; the analytics choice is left to the box.
func TestR18_GPCRefusesMarketing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		req := form()
		req.Notice = publish(t, a)
		req.GPC = true
		req.Ticked["prospection_email"] = true
		req.Ticked["performance"] = true
		res, err := a.Quoting.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := a.Consent.History(ctx, res.PersonID, 0, "dpo")
		cur := consent.Current(h)
		for _, p := range consent.Purposes {
			e := cur[p.Code]
			switch {
			case p.Marketing && (e.Granted || e.Method != consent.MethodGPC):
				t.Errorf("%s under GPC: %+v", p.Code, e)
			case !p.Marketing && !e.Granted:
				t.Errorf("%s ticked under GPC was not honoured: %+v", p.Code, e)
			}
		}
	})
}

// TestR28_FormDoesNotBringBackAnObjector: someone on the suppression list who fills the form
// again is recorded as objecting to prospection, unless they tick a prospection box themselves.
func TestR28_FormDoesNotBringBackAnObjector(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		notice := publish(t, a)
		first := form()
		first.Notice = notice
		res, err := a.Quoting.Submit(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Consent.Object(ctx, res.PersonID, "prospection", consent.Proof{Channel: "email"}); err != nil {
			t.Fatal(err)
		}
		again := form()
		again.Notice = notice
		res2, err := a.Quoting.Submit(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		prospection := record.Actor{Department: "prospection", Purposes: []string{"prospection"}}
		if _, err := a.Records.Get(ctx, prospection, "persons", res2.PersonID); !errors.Is(err, record.ErrNotFound) {
			t.Errorf("the objector came back into prospection through the form: %v", err)
		}
		third := form()
		third.Notice = notice
		third.Ticked["prospection_email"] = true
		res3, err := a.Quoting.Submit(ctx, third)
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := a.Consent.Granted(ctx, res3.PersonID, "prospection_email"); !g {
			t.Error("an explicit new consent on the form was not honoured")
		}
	})
}

// TestFormRefusalWritesNothing: a form with errors in the person and in the quote reports them
// all, by field and rule, and writes nothing.
func TestFormRefusalWritesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		req := form()
		req.Notice = publish(t, a)
		req.Person["postal_code"] = "6900"
		delete(req.Person, "last_name")
		req.Person["birth_date"] = ""
		req.Quote["vehicle_energy"] = "vapeur"
		before := []int{count(t, a, "persons"), count(t, a, "quotes"), count(t, a, "consents")}
		_, err := a.Quoting.Submit(ctx, req)
		var ve *record.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("got %v", err)
		}
		got := map[string]string{}
		for _, fe := range ve.Fields {
			got[fe.Field] = fe.Rule
		}
		for field, rule := range map[string]string{"postal_code": "format", "last_name": "required", "birth_date": "required", "vehicle_energy": "enum"} {
			if !strings.HasPrefix(got[field], rule) {
				t.Errorf("%s: rule %q, want %q (all: %v)", field, got[field], rule, got)
			}
		}
		after := []int{count(t, a, "persons"), count(t, a, "quotes"), count(t, a, "consents")}
		if !slices.Equal(before, after) {
			t.Errorf("rows before %v, after %v", before, after)
		}
	})
}

// TestR31_HumanReviewReachesTheQuotesDepartment: the person asks for a review through their
// result link; the quotes department sees the request with its due date, the DPO's other requests
// stay out of its sight, and closing it records who and when.
func TestR31_HumanReviewReachesTheQuotesDepartment(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		req := form()
		req.Notice = publish(t, a)
		res, err := a.Quoting.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Quoting.RequestReview(ctx, res.QuoteID, "forged", ""); !errors.Is(err, quoting.ErrBadToken) {
			t.Errorf("a forged link opened a review: %v", err)
		}
		id, err := a.Quoting.RequestReview(ctx, res.QuoteID, res.Token, "Mon bonus est meilleur que cela.")
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.Quoting.RequestReview(ctx, res.QuoteID, res.Token, "")
		if err != nil || again != id {
			t.Errorf("a second request while one is open: %d, %v (want %d)", again, err, id)
		}
		devis := record.Actor{UserID: 0, Department: "devis", Purposes: []string{"quotes"}}
		list, _, err := a.Records.List(ctx, devis, "rights_requests", record.ListQuery{Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("the quotes department sees %d requests (%v)", len(list), err)
		}
		r := list[0]
		if r.Text("type") != "human_review" || r.Get("due_at") == nil || r.Text("status") != "open" {
			t.Errorf("request %v", r.Values)
		}
		closed, err := a.Records.Update(ctx, devis, "rights_requests", id, record.Input{Text: map[string]string{"status": "closed",
			"outcome": "Tarif réexaminé : prime confirmée."}, Channel: "phone"})
		if err != nil {
			t.Fatal(err)
		}
		if closed.Get("closed_at") == nil {
			t.Error("closing does not record when")
		}
	})
}
