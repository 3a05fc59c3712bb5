package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"vigie/internal/app"
	"vigie/internal/consent"
	"vigie/internal/record"
	"vigie/internal/rights"
)

// PortalEmail is the address of the demo person who tries the privacy portal: its one-time codes
// land in the demo's mail directory.
const PortalEmail = "portail@" + DemoEmailDomain

// demoRequests are the rights requests the DPO's desk shows in the demo: how long ago each
// arrived gives clocks of every kind, one late, one extended.
var demoRequests = []struct {
	kind, channel string
	age           time.Duration
	extend        bool
	details       string
}{
	{"access", "letter", 33 * 24 * time.Hour, false, "Copie de toutes mes données, s'il vous plaît."},
	{"erasure", "email", 26 * 24 * time.Hour, false, "Je ne souhaite plus être contacté ; effacez mes données."},
	{"rectification", "phone", 20 * 24 * time.Hour, true, "Mon adresse a changé depuis le devis."},
	{"restriction", "letter", 9 * 24 * time.Hour, false, "Je conteste l'exactitude de mon bonus-malus."},
	{"portability", "email", 4 * 24 * time.Hour, false, "Mes données pour un autre courtier."},
	{"objection", "phone", 2 * 24 * time.Hour, false, "Plus d'appels commerciaux."},
}

// Rights adds the portal's demo person and a few rights requests of existing persons.
func Rights(ctx context.Context, a *app.App) error {
	if err := portalPerson(ctx, a); err != nil {
		return err
	}
	for i, r := range demoRequests {
		var personID int64
		if err := a.DB.QueryRowContext(ctx, `SELECT id FROM persons WHERE email IS NOT NULL ORDER BY id LIMIT 1 OFFSET $1`, 1+7*i).Scan(&personID); err != nil {
			return fmt.Errorf("demo: pick a person for a rights request: %w", err)
		}
		id, err := a.Rights.Submit(ctx, rights.Staff{Department: "dpo"}, rights.NewRequest{PersonID: personID, Type: r.kind, Channel: r.channel,
			Details: r.details, IdentityCheck: "known_contact"})
		if err != nil {
			return fmt.Errorf("demo: rights request: %w", err)
		}
		received := a.Now().Add(-r.age).UTC()
		if _, err := a.DB.ExecContext(ctx, `UPDATE rights_requests SET received_at = $1, due_at = $2, created_at = $1 WHERE id = $3`,
			received, received.AddDate(0, 1, 0), id); err != nil {
			return fmt.Errorf("demo: date rights request: %w", err)
		}
		if r.extend {
			if err := a.Rights.Extend(ctx, rights.Staff{Department: "dpo"}, id, "Vérification auprès de l'assureur en cours."); err != nil {
				return fmt.Errorf("demo: extend rights request: %w", err)
			}
		}
	}
	return nil
}

// portalPerson is a customer with a quote and a consent, reachable on the portal at PortalEmail.
func portalPerson(ctx context.Context, a *app.App) error {
	devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	fields := func(kv map[string]any) map[string]json.RawMessage {
		out := map[string]json.RawMessage{}
		for k, v := range kv {
			out[k], _ = json.Marshal(v)
		}
		return out
	}
	p, err := a.Records.Create(ctx, devis, "persons", record.Input{Channel: "web_form", Fields: fields(map[string]any{
		"first_name": "Claire", "last_name": "Démo-Portail", "email": PortalEmail, "birth_date": "1990-05-17",
		"postal_code": "69003", "city": "Lyon", "departement": "69"})})
	if err != nil {
		return fmt.Errorf("demo: portal person: %w", err)
	}
	if _, err := a.Records.Create(ctx, devis, "quotes", record.Input{Channel: "web_form", Fields: fields(map[string]any{
		"person_id": p.ID, "vehicle_make": "Renault", "vehicle_model": "Clio", "vehicle_year": 2021, "vehicle_energy": "essence",
		"vehicle_usage": "prive", "licence_date": "2010-09-01", "bonus_malus": 0.72, "coverage": "tiers_plus", "premium_quoted": 498.00})}); err != nil {
		return fmt.Errorf("demo: portal person's quote: %w", err)
	}
	return a.Consent.Record(ctx, p.ID, []consent.Choice{{Purpose: "prospection_email", Granted: true}, {Purpose: "performance", Granted: true}},
		consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox})
}

// MinPersonsForRights is how many demo persons the rights requests need.
var MinPersonsForRights = 2 + 7*len(demoRequests)
