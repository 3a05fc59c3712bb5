package consent_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/record"
)

var prospection = record.Actor{UserID: 0, Department: "prospection", Purposes: []string{"prospection"}}

func newPerson(t *testing.T, a *app.App, email, phone string) int64 {
	t.Helper()
	f := map[string]json.RawMessage{"first_name": raw("Aline"), "last_name": raw("Testeur"), "email": raw(email)}
	if phone != "" {
		f["phone"] = raw(phone)
	}
	p, err := a.Records.Create(context.Background(), prospection, "persons", record.Input{Fields: f, Channel: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func raw(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

func TestPurposesMatchTheDictionary(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		if err := consent.CheckDictionary(a.Dict); err != nil {
			t.Fatal(err)
		}
	})
}

// TestR18_ConsentIsAHistoryWithTheNoticeShown: every choice is a new line with its time, channel,
// method and the hash of the exact notice text; a later choice never overwrites an earlier one.
func TestR18_ConsentIsAHistoryWithTheNoticeShown(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		id := newPerson(t, a, "r18@exemple.fr", "")
		notice, err := a.Consent.Publish(ctx, consent.QuoteNotice(a.Dict, app.ConfigFromEnv(app.Config{}).Controller, []string{"Nom"}, 6))
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.Consent.Publish(ctx, notice.Body)
		if err != nil || again.ID != notice.ID {
			t.Fatalf("publishing the same text twice gave a second version (%v)", err)
		}
		steps := []struct {
			choices []consent.Choice
			proof   consent.Proof
		}{
			{[]consent.Choice{{Purpose: "prospection_email", Granted: true}, {Purpose: "performance"}},
				consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox, NoticeID: notice.ID}},
			{[]consent.Choice{{Purpose: "prospection_email"}},
				consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink}},
		}
		for _, s := range steps {
			if err := a.Consent.Record(ctx, id, s.choices, s.proof); err != nil {
				t.Fatal(err)
			}
		}
		h, err := a.Consent.History(ctx, id, 0, "dpo")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 3 {
			t.Fatalf("history has %d lines, want 3", len(h))
		}
		if !h[0].Granted || h[0].NoticeHash != notice.Hash || h[0].Method != "checkbox" || h[0].Channel != "web_form" {
			t.Errorf("first choice recorded as %+v", h[0])
		}
		if cur := consent.Current(h); cur["prospection_email"].Granted || cur["performance"].Granted {
			t.Errorf("current state after withdrawal: %+v", cur)
		}
		body, err := a.Consent.NoticeByHash(ctx, notice.Hash)
		if err != nil || body.Body != notice.Body {
			t.Errorf("the notice text shown is not kept (%v)", err)
		}
	})
}

// TestR18_RefusedInput: a bad purpose, channel or method, a future date or an unknown person is
// refused by name and records nothing.
func TestR18_RefusedInput(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		id := newPerson(t, a, "refus@exemple.fr", "")
		ok := consent.Proof{Channel: "phone", Method: consent.MethodStaff}
		cases := []struct {
			name     string
			person   int64
			choices  []consent.Choice
			proof    consent.Proof
			field    string
			notFound bool
		}{
			{"unknown purpose", id, []consent.Choice{{Purpose: "sms_marketing", Granted: true}}, ok, "purpose", false},
			{"unknown channel", id, []consent.Choice{{Purpose: "performance", Granted: true}}, consent.Proof{Channel: "pigeon", Method: consent.MethodStaff}, "channel", false},
			{"unknown method", id, []consent.Choice{{Purpose: "performance", Granted: true}}, consent.Proof{Channel: "phone", Method: "guess"}, "method", false},
			{"unknown person", id + 1000, []consent.Choice{{Purpose: "performance", Granted: true}}, ok, "", true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := a.Consent.Record(ctx, c.person, c.choices, c.proof)
				var ie *consent.InputError
				switch {
				case c.notFound && !errors.Is(err, consent.ErrUnknownPerson):
					t.Errorf("got %v, want unknown person", err)
				case !c.notFound && (!errors.As(err, &ie) || ie.Field != c.field):
					t.Errorf("got %v, want a refusal naming %s", err, c.field)
				}
			})
		}
		if h, _ := a.Consent.History(ctx, id, 0, "dpo"); len(h) != 0 {
			t.Errorf("refused requests recorded %d lines", len(h))
		}
	})
}

// TestR19_R20_WithdrawalTakesEffectAtOnce: a processing that needs consent checks it when it runs;
// after a withdrawal through the signed link the person is out of the next list.
func TestR19_R20_WithdrawalTakesEffectAtOnce(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		yes := newPerson(t, a, "oui@exemple.fr", "")
		no := newPerson(t, a, "non@exemple.fr", "")
		newPerson(t, a, "jamais@exemple.fr", "") // no choice at all: not a target
		form := consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox}
		a.Consent.Record(ctx, yes, []consent.Choice{{Purpose: "prospection_email", Granted: true}}, form)
		a.Consent.Record(ctx, no, []consent.Choice{{Purpose: "prospection_email"}}, form)
		targets, err := a.Consent.Targets(ctx, "prospection_email", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(targets, []int64{yes}) {
			t.Fatalf("targets %v, want only %d", targets, yes)
		}
		if g, _ := a.Consent.Granted(ctx, yes, "prospection_phone"); g {
			t.Error("a consent to e-mails counts for phone calls")
		}
		token := a.Consent.WithdrawalToken(yes, "prospection_email")
		for _, forged := range []struct {
			person  int64
			purpose string
			token   string
		}{{no, "prospection_email", token}, {yes, "performance", token}, {yes, "prospection_email", token[:len(token)-2] + "AA"}, {yes, "prospection_email", "%%%"}} {
			if a.Consent.CheckWithdrawalToken(forged.person, forged.purpose, forged.token) {
				t.Errorf("a forged or reused link is accepted: %+v", forged)
			}
		}
		if !a.Consent.CheckWithdrawalToken(yes, "prospection_email", token) {
			t.Fatal("the genuine link is refused")
		}
		if err := a.Consent.Record(ctx, yes, []consent.Choice{{Purpose: "prospection_email"}}, consent.Proof{Channel: "email", Method: consent.MethodWithdrawalLink}); err != nil {
			t.Fatal(err)
		}
		if targets, _ := a.Consent.Targets(ctx, "prospection_email", 0, 100); len(targets) != 0 {
			t.Errorf("after withdrawal the list still holds %v", targets)
		}
		if g, _ := a.Consent.Granted(ctx, yes, "prospection_email"); g {
			t.Error("Granted after withdrawal")
		}
	})
}

// TestR28_ObjectionIsAbsoluteAndSuppressesReentry: after an objection to prospection the person
// is out of every prospection list (consent lists and the prospection department's view of the
// CRM), their prospection consents are refused, and their e-mail and phone are on the suppression
// list, which a later import or form checks.
func TestR28_ObjectionIsAbsoluteAndSuppressesReentry(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		id := newPerson(t, a, "Opposant@Exemple.fr", "0612345678")
		other := newPerson(t, a, "autre@exemple.fr", "")
		a.Consent.Record(ctx, id, []consent.Choice{{Purpose: "prospection_email", Granted: true}, {Purpose: "performance", Granted: true}},
			consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox})
		if err := a.Consent.Object(ctx, id, "prospection", consent.Proof{Channel: "phone", RecordedBy: 0, Department: "support"}); err != nil {
			t.Fatal(err)
		}
		if targets, _ := a.Consent.Targets(ctx, "prospection_email", 0, 100); slices.Contains(targets, id) {
			t.Error("an objecting person is still a prospection target")
		}
		if g, _ := a.Consent.Granted(ctx, id, "performance"); !g {
			t.Error("an objection to prospection withdrew an unrelated consent")
		}
		list, _, err := a.Records.List(ctx, prospection, "persons", record.ListQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if slices.Contains(ids, id) || !slices.Contains(ids, other) {
			t.Errorf("prospection sees %v: the objecting person must be hidden, the other shown", ids)
		}
		if _, err := a.Records.Get(ctx, prospection, "persons", id); !errors.Is(err, record.ErrNotFound) {
			t.Errorf("prospection can still open the objecting person: %v", err)
		}
		devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
		if _, err := a.Records.Get(ctx, devis, "persons", id); err != nil {
			t.Errorf("the quotes department lost the person (objection is to prospection only): %v", err)
		}
		suppressions, err := a.Consent.Suppressions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			email, phone string
			want         bool
		}{
			{"opposant@exemple.fr", "", true},
			{"", "+33612345678", true},
			{"autre@exemple.fr", "", false},
			{"nouveau@exemple.fr", "+33700000000", false},
		} {
			got, err := a.Consent.Suppressed(ctx, c.email, c.phone)
			if err != nil || got != c.want {
				t.Errorf("Suppressed(%q, %q) = %v, %v; want %v", strings.Repeat("*", len(c.email)), strings.Repeat("*", len(c.phone)), got, err, c.want)
			}
			// The list read once for a bulk job (a legacy import) answers the same.
			if got, err := suppressions.Suppressed(ctx, c.email, c.phone); err != nil || got != c.want {
				t.Errorf("SuppressionList.Suppressed(%q, %q) = %v, %v; want %v", strings.Repeat("*", len(c.email)), strings.Repeat("*", len(c.phone)), got, err, c.want)
			}
			// And so does it from the blind-index entries the import computes (R28).
			email, err := a.Records.IndexHash("persons", "email", c.email)
			if err != nil {
				t.Fatal(err)
			}
			phone, err := a.Records.IndexHash("persons", "phone", c.phone)
			if err != nil {
				t.Fatal(err)
			}
			if got := suppressions.SuppressedIndex(email.Hash, phone.Hash); got != c.want {
				t.Errorf("SuppressionList.SuppressedIndex(%q, %q) = %v; want %v", strings.Repeat("*", len(c.email)), strings.Repeat("*", len(c.phone)), got, c.want)
			}
		}
	})
}
