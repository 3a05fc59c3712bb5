package record_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/db"
	"vigie/internal/record"
)

// Distinctive values: if any reaches the disk in clear, the test finds it.
var secretValues = map[string]map[string]string{
	"persons": {
		"first_name": "Zéphyrine", "last_name": "Quillebeuf-Daunay", "email": "zephyrine.quillebeuf@exemple.fr",
		"phone": "0698765432", "birth_date": "1977-07-17", "address_line": "42 impasse des Oubliettes",
		"postal_code": "20167", "city": "Ajacciotown", "departement": "2A",
	},
	"quotes": {
		"vehicle_make": "Hispano-Suizaxx", "vehicle_model": "Torpedoxyz", "plate": "XQ-987-ZW", "licence_date": "1996-02-29",
		"bonus_malus": "0.57", "premium_quoted": "1234.56", "insurer": "Mutuelle Quimperloise", "comment": "Prefere un rappel le soir",
	},
}

// TestR10_NoPersonalValueInClearOnDisk writes known personal values through the store and reads
// the database's own files (SQLite) or a pg_dump (PostgreSQL): none of them appears, in clear or
// hex-encoded, and yet the store reads them back.
func TestR10_NoPersonalValueInClearOnDisk(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
		person := secretValues["persons"]
		fields := map[string]json.RawMessage{}
		for k, v := range person {
			fields[k] = jsonString(v)
		}
		p, err := a.Records.Create(ctx, devis, "persons", record.Input{Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		quote := secretValues["quotes"]
		qf := map[string]json.RawMessage{"person_id": json.RawMessage(jsonInt(p.ID)), "vehicle_year": json.RawMessage("1961"),
			"vehicle_energy": jsonString("essence"), "vehicle_usage": jsonString("prive"), "coverage": jsonString("tiers"),
			"bonus_malus": json.RawMessage(quote["bonus_malus"]), "premium_quoted": json.RawMessage(quote["premium_quoted"])}
		for k, v := range quote {
			if _, set := qf[k]; !set {
				qf[k] = jsonString(v)
			}
		}
		q, err := a.Records.Create(ctx, devis, "quotes", record.Input{Fields: qf})
		if err != nil {
			t.Fatal(err)
		}
		if q.Text("plate") != "XQ-987-ZW" || p.Text("last_name") != person["last_name"] {
			t.Fatal("the store does not read back what it wrote")
		}
		disk := databaseBytes(t, a)
		for table, values := range secretValues {
			for field, v := range values {
				if len(v) < 5 {
					continue // too short to be told apart from random bytes
				}
				for _, form := range []string{v, strings.ToLower(v), hex.EncodeToString([]byte(v))} {
					if bytes.Contains(disk, []byte(form)) {
						t.Errorf("%s.%s is on disk in clear", table, field)
					}
				}
			}
		}
	})
}

func jsonString(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
func jsonInt(n int64) []byte              { b, _ := json.Marshal(n); return b }

// databaseBytes returns what the database holds on disk: the SQLite file and its WAL after a
// checkpoint, or a plain-text pg_dump of the test's schema.
func databaseBytes(t *testing.T, a *app.App) []byte {
	t.Helper()
	if a.DB.Dialect == db.SQLite {
		if _, err := a.DB.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(a.Config.DatabaseURL + suffix)
			if err == nil {
				all = append(all, b...)
			}
		}
		return all
	}
	u, err := url.Parse(a.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	out, err := exec.Command("pg_dump", "--no-owner", "--schema="+schema, u.String()).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(out, []byte("COPY "+schema+".persons")) {
		t.Fatal("pg_dump did not dump the persons table")
	}
	return out
}
