package record_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/record"
)

var devis = record.Actor{Department: "devis", Purposes: []string{"quotes"}}

// loadPerson stores a person (and, when quote is set, one quote) as collected at a given date for
// a given purpose, the way the demo generator and the legacy import do: through the bulk loader,
// which keeps the original provenance.
func loadPerson(t *testing.T, a *app.App, prov keys.Provenance, withQuote bool) (personID, quoteID int64) {
	t.Helper()
	ctx := context.Background()
	person := decodeAll(t, a, "persons", map[string]string{"kind": "prospect", "source": "legacy_import", "first_name": "Prénom",
		"last_name": "Nom", "email": "ancien.prospect@exemple.fr", "birth_date": "1980-04-02", "postal_code": "69002", "departement": "69",
		"restricted": "false", "legal_hold": "false", "deceased": "false", "objected_prospection": "false"})
	person["created_at"], person["updated_at"] = prov.CollectedAt, prov.CollectedAt
	l, err := a.Records.NewLoader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	personID, sk, err := l.AddPerson(person, prov)
	if err != nil {
		t.Fatal(err)
	}
	if withQuote {
		q := decodeAll(t, a, "quotes", map[string]string{"status": "sent", "channel": "web_form", "vehicle_make": "Renault",
			"vehicle_model": "Clio", "vehicle_year": "2015", "vehicle_energy": "essence", "vehicle_usage": "prive",
			"licence_date": "2001-06-01", "bonus_malus": "0.68", "claims_3y": "0", "licence_suspension_5y": "false",
			"cancelled_by_insurer_3y": "false", "coverage": "tiers_plus", "automated_decision": "false"})
		q["created_at"], q["updated_at"] = prov.CollectedAt, prov.CollectedAt
		if quoteID, err = l.Add("quotes", personID, q, sk, keys.Provenance{CollectedAt: prov.CollectedAt, Channel: "web_form", Purpose: "quotes"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	return personID, quoteID
}

func decodeAll(t *testing.T, a *app.App, table string, text map[string]string) map[string]any {
	t.Helper()
	tbl := a.Dict.Table(table)
	out := map[string]any{}
	for name, s := range text {
		v, fe := tbl.Column(name).DecodeString(s, time.Now())
		if fe != nil {
			t.Fatalf("%s.%s: %v", table, name, fe)
		}
		out[name] = v
	}
	return out
}

func newQuote(personID int64) map[string]json.RawMessage {
	return map[string]json.RawMessage{"person_id": json.RawMessage(jsonInt(personID)), "vehicle_make": jsonString("Peugeot"),
		"vehicle_model": jsonString("208"), "vehicle_year": json.RawMessage("2019"), "vehicle_energy": jsonString("diesel"),
		"vehicle_usage": jsonString("prive"), "licence_date": jsonString("2005-03-01"), "bonus_malus": json.RawMessage("0.9"),
		"coverage": jsonString("tiers")}
}

func countRows(t *testing.T, a *app.App, table string) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestR22_R23_QuoteNotBuiltFromProspectionOrStaleData is the rule whose breach caused the
// sanction: a quote may not be built from data collected for prospection (R22), nor from data
// collected more than 6 months ago (R23), unless the person confirms it in the quote flow; the
// refusal names each field and the rule, and nothing is written.
func TestR22_R23_QuoteNotBuiltFromProspectionOrStaleData(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		now := time.Now().UTC()
		twoYears := now.AddDate(-2, 0, 0)
		cases := []struct {
			name      string
			prov      keys.Provenance
			confirmed bool
			wantRule  string // "" means accepted
		}{
			{"2-year-old prospection data", keys.Provenance{CollectedAt: twoYears, Channel: "phone", Purpose: "prospection"}, false, "R22_purpose"},
			{"1-month-old prospection data", keys.Provenance{CollectedAt: now.AddDate(0, -1, 0), Channel: "phone", Purpose: "prospection"}, false, "R22_purpose"},
			{"2-year-old quote data", keys.Provenance{CollectedAt: twoYears, Channel: "web_form", Purpose: "quotes"}, false, "R23_stale"},
			{"7-month-old quote data", keys.Provenance{CollectedAt: now.AddDate(0, -7, 0), Channel: "web_form", Purpose: "quotes"}, false, "R23_stale"},
			{"5-month-old quote data", keys.Provenance{CollectedAt: now.AddDate(0, -5, 0), Channel: "web_form", Purpose: "quotes"}, false, ""},
			{"2-year-old prospection data confirmed by the person", keys.Provenance{CollectedAt: twoYears, Channel: "phone", Purpose: "prospection"}, true, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				personID, _ := loadPerson(t, a, c.prov, false)
				before := countRows(t, a, "quotes")
				_, err := a.Records.Create(ctx, devis, "quotes", record.Input{Fields: newQuote(personID), Channel: "phone", PersonConfirmed: c.confirmed})
				if c.wantRule == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				var ve *record.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("got %v, want a refusal for %s", err, c.wantRule)
				}
				var fields []string
				for _, fe := range ve.Fields {
					if fe.Rule != c.wantRule {
						t.Errorf("%s: rule %s, want %s", fe.Field, fe.Rule, c.wantRule)
					}
					fields = append(fields, fe.Field)
				}
				for _, f := range []string{"persons.first_name", "persons.last_name", "persons.email", "persons.birth_date"} {
					if !slices.Contains(fields, f) {
						t.Errorf("the refusal does not name %s (it names %v)", f, fields)
					}
				}
				if after := countRows(t, a, "quotes"); after != before {
					t.Errorf("a refused quote was stored: %d quotes, was %d", after, before)
				}
			})
		}
	})
}

// TestR22_R23_ConfirmationRenewsProvenance: once the person confirms their data in the quote flow,
// the values carry the confirmation's provenance, so the next quote needs no new confirmation and
// the DPO can see when and how the data was confirmed.
func TestR22_R23_ConfirmationRenewsProvenance(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		personID, _ := loadPerson(t, a, keys.Provenance{CollectedAt: time.Now().AddDate(-2, 0, 0), Channel: "phone", Purpose: "prospection"}, false)
		if _, err := a.Records.Create(ctx, devis, "quotes", record.Input{Fields: newQuote(personID), Channel: "phone", PersonConfirmed: true}); err != nil {
			t.Fatal(err)
		}
		p, err := a.Records.Get(ctx, devis, "persons", personID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"first_name", "email", "birth_date"} {
			if prov := p.Provenance[f]; prov.Purpose != "quotes" || prov.Channel != "phone" || time.Since(prov.CollectedAt) > time.Minute {
				t.Errorf("%s: provenance %+v after confirmation", f, prov)
			}
		}
		if _, err := a.Records.Create(ctx, devis, "quotes", record.Input{Fields: newQuote(personID), Channel: "phone"}); err != nil {
			t.Errorf("a second quote after confirmation is refused: %v", err)
		}
	})
}

// TestR23_PrefillFromOldQuote: values copied from a 2-year-old quote are refused until confirmed;
// confirmed, they fill the new quote.
func TestR23_PrefillFromOldQuote(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		personID, oldQuote := loadPerson(t, a, keys.Provenance{CollectedAt: time.Now().AddDate(-2, 0, 0), Channel: "web_form", Purpose: "quotes"}, true)
		// The person's own data is confirmed; the old quote's vehicle is what is being reused.
		in := record.Input{Fields: map[string]json.RawMessage{"person_id": json.RawMessage(jsonInt(personID)), "coverage": jsonString("tous_risques")},
			Channel: "phone", PrefillFromQuote: oldQuote}
		_, err := a.Records.Create(ctx, devis, "quotes", in)
		var ve *record.ValidationError
		if !errors.As(err, &ve) || !slices.ContainsFunc(ve.Fields, func(fe *dictionary.FieldError) bool {
			return fe.Field == "quotes.vehicle_make" && fe.Rule == "R23_stale"
		}) {
			t.Fatalf("prefill from a 2-year-old quote: got %v, want R23_stale on quotes.vehicle_make", err)
		}
		in.PersonConfirmed = true
		q, err := a.Records.Create(ctx, devis, "quotes", in)
		if err != nil {
			t.Fatal(err)
		}
		if q.Text("vehicle_make") != "Renault" || q.Text("coverage") != "tous_risques" {
			t.Errorf("prefilled quote: make %q coverage %q", q.Text("vehicle_make"), q.Text("coverage"))
		}
		if prov := q.Provenance["vehicle_make"]; prov.Purpose != "quotes" || time.Since(prov.CollectedAt) > time.Minute {
			t.Errorf("copied value keeps its old provenance: %+v", prov)
		}
	})
}
