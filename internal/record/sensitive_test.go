package record_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/dictionary"
	"vigie/internal/record"
	"vigie/internal/sensitive"
)

func jsonFields(kv map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}

func tableRows(t *testing.T, a *app.App, table string) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// R06 (with R03, R04, R05): free text and structured fields carrying data Vigie must never hold
// are refused with a message naming the field and the rule, through the API's JSON and the web
// forms' text alike; the value is never echoed and nothing is stored.
func TestR06_FreeTextWithNIRIsRefusedAndNothingStored(t *testing.T) {
	devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	support := record.Actor{Department: "support", Purposes: []string{"support"}}
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p, err := a.Records.Create(ctx, devis, "persons", record.Input{Fields: jsonFields(map[string]any{"first_name": "Zoé", "last_name": "Martin"})})
		if err != nil {
			t.Fatal(err)
		}
		ticket, err := a.Records.Create(ctx, support, "tickets", record.Input{Fields: jsonFields(map[string]any{"person_id": p.ID, "subject": "Attestation"})})
		if err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		interaction := func(note string) map[string]any {
			return map[string]any{"person_id": p.ID, "channel": "phone", "purpose": "quotes", "occurred_at": when, "note": note}
		}
		quote := map[string]any{"person_id": p.ID, "vehicle_make": "Renault", "vehicle_model": "Clio", "vehicle_year": 2019,
			"vehicle_energy": "essence", "vehicle_usage": "prive", "licence_date": "2005-06-01", "bonus_malus": 0.85,
			"coverage": "tiers", "comment": "payé par carte 4970 1012 3456 7893"}
		for _, tc := range []struct {
			name   string
			actor  record.Actor
			table  string
			in     record.Input
			field  string
			kind   sensitive.Kind
			secret string
		}{
			{"interaction note with a NIR (R03)", devis, "interactions",
				record.Input{Fields: jsonFields(interaction("Le client a donné son NIR 2 55 08 14 168 025 38"))},
				"note", sensitive.KindNIR, "168 025 38"},
			{"ticket message with a blood group (R04)", support, "ticket_messages",
				record.Input{Parent: ticket.ID, Fields: jsonFields(map[string]any{"author": "customer", "body": "Je suis du groupe sanguin O+, au cas où."})},
				"body", sensitive.KindBloodGroup, "sanguin O+"},
			{"quote comment with a card number (R06)", devis, "quotes",
				record.Input{Fields: jsonFields(quote)}, "comment", sensitive.KindCardNumber, "4970"},
			{"person's address with an IBAN (R06)", devis, "persons",
				record.Input{Fields: jsonFields(map[string]any{"first_name": "Paul", "last_name": "Durand", "address_line": "FR76 3000 6000 0112 3456 7890 189"})},
				"address_line", sensitive.KindIBAN, "FR76"},
			{"web form: interaction note with health data (R04)", devis, "interactions",
				record.Input{Channel: "web_form", Text: map[string]string{"person_id": strconv.FormatInt(p.ID, 10), "channel": "phone",
					"purpose": "quotes", "occurred_at": when, "note": "Client diabétique, rappeler le matin"}},
				"note", sensitive.KindHealth, "diabétique"},
			{"web form: ticket subject with union membership (R05)", support, "tickets",
				record.Input{Channel: "web_form", Text: map[string]string{"person_id": strconv.FormatInt(p.ID, 10), "subject": "Syndiqué CGT, réclamation"}},
				"subject", sensitive.KindOpinion, "CGT"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := tableRows(t, a, tc.table)
				_, err := a.Records.Create(ctx, tc.actor, tc.table, tc.in)
				var ve *record.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("want a validation error, got %v", err)
				}
				want := dictionary.FieldError{Field: tc.field, Rule: "sensitive_" + string(tc.kind), Message: sensitive.Finding{Kind: tc.kind}.Message()}
				if len(ve.Fields) != 1 || *ve.Fields[0] != want {
					t.Errorf("errors %v, want only %v", ve.Fields, want)
				}
				if strings.Contains(err.Error(), tc.secret) {
					t.Error("the error echoes the refused value")
				}
				if after := tableRows(t, a, tc.table); after != before {
					t.Errorf("%s: %d rows, %d before: something was stored", tc.table, after, before)
				}
			})
		}

		t.Run("an update that adds a NIR is refused and the note is kept", func(t *testing.T) {
			rec, err := a.Records.Create(ctx, devis, "interactions", record.Input{Fields: jsonFields(interaction("Rappeler lundi au 06 12 34 56 78"))})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Records.Update(ctx, devis, "interactions", rec.ID, record.Input{Fields: jsonFields(map[string]any{"note": "sécu 2 55 08 14 168 025 38"})})
			var ve *record.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Rule != "sensitive_nir" {
				t.Fatalf("want sensitive_nir, got %v", err)
			}
			got, err := a.Records.Get(ctx, devis, "interactions", rec.ID)
			if err != nil || got.Text("note") != "Rappeler lundi au 06 12 34 56 78" {
				t.Errorf("the note changed (err %v)", err)
			}
		})

		t.Run("a surname that is a health word is a structured field and accepted", func(t *testing.T) {
			if _, err := a.Records.Create(ctx, devis, "persons", record.Input{Fields: jsonFields(map[string]any{"first_name": "Jean", "last_name": "Malade", "address_line": "3 rue des Protestants"})}); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	})
}
