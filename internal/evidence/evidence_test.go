package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/breach"
	"vigie/internal/consent"
	"vigie/internal/evidence"
	"vigie/internal/record"
	"vigie/internal/register"
)

// withController names a controller and a DPO, as a real configuration does (the register needs
// them).
func withController(a *app.App, c consent.Controller) {
	a.Config.Controller = c
	a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, c, false, a.Log, a.Now)
}

var controller = consent.Controller{Name: "Courtier d'essai", Address: "1 rue de l'Essai, 69002 Lyon", DPOEmail: "dpo@essai.example"}

func exec(t *testing.T, a *app.App, query string, args ...any) {
	t.Helper()
	if _, err := a.DB.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// scanned records a clean sensitive-data scan made at, as vigie scan does.
func scanned(t *testing.T, a *app.App, at time.Time, findings int) {
	t.Helper()
	value, _ := json.Marshal(map[string]any{"at": at, "rows": 100, "findings": findings})
	exec(t, a, `DELETE FROM settings WHERE name = 'sensitive_scan.last'`)
	exec(t, a, `INSERT INTO settings (name, value, updated_at) VALUES ('sensitive_scan.last', $1, $2)`, string(value), at)
}

// person creates a person with a quote through the records store, and returns their ids.
func person(t *testing.T, a *app.App) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	actor := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	fields := func(body string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	p, err := a.Records.Create(ctx, actor, "persons", record.Input{Channel: "phone",
		Fields: fields(`{"first_name":"Camille","last_name":"Le Goff","email":"camille@exemple.fr","birth_date":"1985-03-14","departement":"29"}`)})
	if err != nil {
		t.Fatal(err)
	}
	q, err := a.Records.Create(ctx, actor, "quotes", record.Input{Channel: "phone", Fields: fields(fmt.Sprintf(`{"person_id":%d,
		"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2015,"vehicle_energy":"essence","vehicle_usage":"prive",
		"licence_date":"2004-06-01","bonus_malus":0.68,"coverage":"tous_risques","premium_quoted":612.40}`, p.ID))})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID, q.ID
}

// user adds an active staff account, enrolled or not, its password changed at changed.
func user(t *testing.T, a *app.App, email, department string, enrolled bool, changed time.Time) {
	t.Helper()
	var enrolledAt any
	if enrolled {
		enrolledAt = changed
	}
	exec(t, a, `INSERT INTO users (email, display_name, department, password_hash, created_at, password_changed_at, totp_enrolled_at)
		VALUES ($1, 'Agent', $2, 'x', $3, $3, $4)`, email, department, changed, enrolledAt)
}

// TestR44_EachCheckFailsWhenItsRuleIsBroken: on data that keeps every rule, every check of the
// evidence report passes; breaking one rule makes its check — and that check at least — fail,
// with the report saying so.
func TestR44_EachCheckFailsWhenItsRuleIsBroken(t *testing.T) {
	cases := []struct {
		check string
		brk   func(t *testing.T, a *app.App, now time.Time)
	}{
		{"schema", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_from_the_future', $1)`, now)
		}},
		{"audit", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `UPDATE audit_events SET detail = 'réécrit' WHERE seq = (SELECT MIN(seq) FROM audit_events WHERE chain = 'record') AND chain = 'record'`)
		}},
		{"encryption", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `UPDATE persons SET email = $1`, []byte("en clair"))
		}},
		{"rights", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `INSERT INTO rights_requests (person_id, type, purpose, channel, status, received_at, due_at, created_at, updated_at)
				VALUES ((SELECT MIN(id) FROM persons), 'access', 'dpo', 'email', 'open', $1, $2, $1, $1)`, now.AddDate(0, -2, 0), now.AddDate(0, -1, 0))
		}},
		{"retention", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `UPDATE quotes SET created_at = $1`, now.AddDate(-3, 0, 0))
		}},
		{"sensitive", func(t *testing.T, a *app.App, now time.Time) { scanned(t, a, now, 3) }},
		{"breaches", func(t *testing.T, a *app.App, now time.Time) {
			d := breach.Details{Title: "Ordinateur portable volé", AwareAt: now.Add(-100 * time.Hour), DetectedAt: now.Add(-101 * time.Hour),
				Nature: []string{"confidentiality"}, Origin: "lost_device", Cause: "external_malicious",
				Description:    "Un ordinateur portable d'un commercial a été volé dans un train, sans chiffrement du disque.",
				DataCategories: []string{"identity", "contact"}, PeopleCategories: []string{"customer"},
				Consequences:  "Hameçonnage ciblé possible à partir des coordonnées.",
				MeasuresTaken: "Comptes de l'employé révoqués, effacement à distance demandé.",
				Risk:          breach.RiskRisk, RiskReason: "Coordonnées de clients exposées, sans données bancaires."}
			if _, err := a.Breaches.Record(context.Background(), breach.Staff{Department: "dpo"}, d); err != nil {
				t.Fatal(err)
			}
		}},
		{"mfa", func(t *testing.T, a *app.App, now time.Time) { user(t, a, "sans-totp@vigie.test", "devis", false, now) }},
		{"passwords", func(t *testing.T, a *app.App, now time.Time) {
			user(t, a, "admin@vigie.test", "admin", true, now.AddDate(-1, 0, 0))
		}},
		{"charter", func(t *testing.T, a *app.App, now time.Time) { user(t, a, "nouveau@vigie.test", "support", true, now) }},
		{"statistics", func(t *testing.T, a *app.App, now time.Time) {
			exec(t, a, `INSERT INTO statistics (month, price_band, converted, origin) VALUES ('2025-01', 612, FALSE, 'archive')`)
		}},
		{"register", func(t *testing.T, a *app.App, now time.Time) {
			withController(a, consent.Controller{Name: controller.Name, Address: controller.Address})
		}},
	}
	if len(cases) != len(evidence.Checks()) {
		t.Fatalf("%d checks but %d ways to break them: each check needs its case", len(evidence.Checks()), len(cases))
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			apptest.Each(t, func(t *testing.T, a *app.App) {
				ctx := context.Background()
				now := a.Now().UTC()
				withController(a, controller)
				person(t, a)
				scanned(t, a, now, 0)
				rep, err := evidence.Run(ctx, a, now)
				if err != nil {
					t.Fatal(err)
				}
				for _, res := range rep.Results {
					if !res.Passed() {
						t.Fatalf("on clean data, check %s fails: %v", res.ID, res.Details)
					}
				}
				c.brk(t, a, now)
				rep, err = evidence.Run(ctx, a, now)
				if err != nil {
					t.Fatal(err)
				}
				var found bool
				for _, res := range rep.Results {
					if res.ID == c.check {
						found = true
						if res.Passed() {
							t.Errorf("check %s still passes with its rule broken: %v", c.check, res.Details)
						}
					}
				}
				if !found {
					t.Fatalf("no check %s in the report", c.check)
				}
				var html, pdf bytes.Buffer
				if err := evidence.WriteHTML(&html, rep); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(html.String(), `<section id="controle-`+c.check+`">`+"\n"+`<h2 class="non-conforme">`) {
					t.Errorf("the HTML report does not show check %s as failed", c.check)
				}
				if err := evidence.WritePDF(&pdf, rep); err != nil || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
					t.Errorf("the PDF report: %v", err)
				}
			})
		})
	}
}
