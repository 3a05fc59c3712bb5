package record_test

import (
	"context"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/keys"
	"vigie/internal/record"
)

// TestR10_LoaderKeepsTheDatabaseChecks: the bulk loader turns SQLite's foreign-key checks off on
// its own connection while it writes (see record.NewLoader), so it checks itself that a record
// is added to a person who exists, and gives the connection back with the checks on. Its rows
// are found through the blind index, as those of Create (R10).
func TestR10_LoaderKeepsTheDatabaseChecks(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		// One connection: the one the loader used is the one asked afterwards.
		a.DB.SetMaxOpenConns(1)
		prov := keys.Provenance{CollectedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Channel: "import", Purpose: "quotes"}
		personID, _ := loadPerson(t, a, prov, true)

		l, err := a.Records.NewLoader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q := decodeAll(t, a, "quotes", map[string]string{"status": "sent", "channel": "web_form", "vehicle_make": "Renault",
			"vehicle_model": "Clio", "vehicle_year": "2015", "vehicle_energy": "essence", "vehicle_usage": "prive",
			"licence_date": "2001-06-01", "bonus_malus": "0.68", "claims_3y": "0", "licence_suspension_5y": "false",
			"cancelled_by_insurer_3y": "false", "coverage": "tiers_plus", "automated_decision": "false"})
		q["created_at"], q["updated_at"] = prov.CollectedAt, prov.CollectedAt
		sk, err := a.Records.NewSubjectKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Add("quotes", personID+1000, q, sk, prov); err == nil {
			t.Error("a quote was added to a person who does not exist")
		}
		if _, err := l.Add("quotes", personID, q, sk, prov); err != nil {
			t.Errorf("a quote of a person already in the database: %v", err)
		}
		if err := l.Rollback(); err != nil {
			t.Fatal(err)
		}

		if a.DB.Dialect == "sqlite" {
			var on int
			if err := a.DB.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || on != 1 {
				t.Errorf("foreign keys after a load: %d (%v), want 1", on, err)
			}
		}
		if _, err := a.DB.ExecContext(ctx, `INSERT INTO search_index (hash, table_name, column_name, row_id, person_id)
			VALUES ($1, 'persons', 'email', 1, $2)`, make([]byte, 16), personID+1000); err == nil {
			t.Error("the database took an index entry of a person who does not exist")
		}
		found, err := a.Records.Search(ctx, record.Actor{Department: "devis", Purposes: []string{"quotes"}}, "persons", "email", "ancien.prospect@exemple.fr", 10)
		if err != nil || len(found) != 1 || found[0].ID != personID {
			t.Errorf("search by e-mail: %d found (%v), want the loaded person", len(found), err)
		}
	})
}
