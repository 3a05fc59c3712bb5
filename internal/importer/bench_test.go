package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"vigie/internal/app/apptest"
	"vigie/internal/importer"
)

// BenchmarkImport imports b.N rows of a legacy extract on SQLite: scanning, validation,
// encryption and blind indexes included (bench/run.sh measures a million rows against a raw
// insert). The dry run is the work of the workers alone: reading, validating and scanning.
func BenchmarkImport(b *testing.B) {
	b.Run("write", func(b *testing.B) { benchmarkImport(b, false) })
	b.Run("dry-run", func(b *testing.B) { benchmarkImport(b, true) })
}

func benchmarkImport(b *testing.B, dryRun bool) {
	a := apptest.New(b, "sqlite")
	var csv bytes.Buffer
	csv.WriteString("nom;prenom;date_naissance;num_secu;email;tel;cp;ville;marque;modele;annee;energie;usage;date_permis;coef_bonus_malus;garantie;commentaire;date_creation;dernier_contact\n")
	for i := range b.N {
		comment := "Souhaite un devis tous risques, rappeler après 18h"
		if i%20 == 0 {
			comment = "A donné son n° de sécu 1 85 05 78 006 084 91 au téléphone"
		}
		fmt.Fprintf(&csv, "Martin;Manon;07/05/1987;2 87 05 29 019 741 25;manon.martin.%d@exemple.fr;06 %02d %02d %02d %02d;29200;Brest;Dacia;Sandero;2019;Essence;Privé;23/09/2009;0,85;Tous risques;%s;15/03/2025;10/01/2026\n",
			i, i/1000000%100, i/10000%100, i/100%100, i%100, comment) // every e-mail and phone unique: no doublon
	}
	m, err := importer.ParseMapping(bytes.NewReader([]byte(`{"purpose": "quotes", "date_formats": ["02/01/2006"], "columns": {
		"nom": "persons.last_name", "prenom": "persons.first_name", "date_naissance": "persons.birth_date", "email": "persons.email",
		"tel": "persons.phone", "cp": "persons.postal_code", "ville": "persons.city", "marque": "quotes.vehicle_make",
		"modele": "quotes.vehicle_model", "annee": "quotes.vehicle_year", "energie": "quotes.vehicle_energy", "usage": "quotes.vehicle_usage",
		"date_permis": "quotes.licence_date", "coef_bonus_malus": "quotes.bonus_malus", "garantie": "quotes.coverage",
		"commentaire": "quotes.comment", "date_creation": "persons.created_at", "dernier_contact": "persons.last_contact_at"}}`)), a.Dict)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	rep, err := importer.Import(context.Background(), bytes.NewReader(csv.Bytes()), a.Records, suppressed, importer.Options{Mapping: m, Now: now, DryRun: dryRun})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Persons != int64(b.N) {
		b.Fatalf("%d persons imported of %d rows: %+v", rep.Persons, b.N, rep.RejectedRows)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
