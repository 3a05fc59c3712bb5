package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/importer"
)

// importBench generates a legacy extract of o.importRows rows — with a NIR column and a free-text
// column, as the old CRM had — imports it with `vigie import legacy`'s code (mapping, audit,
// validation, scanning of every cell, suppression list, encryption, blind indexes, provenance),
// then inserts the same rows raw: the CSV read and written as they are into a table of as many
// text columns, with multi-row INSERTs in one transaction, no validation, no encryption.
func importBench(ctx context.Context, o options, dbName string) (string, error) {
	path := filepath.Join(o.dir, fmt.Sprintf("legacy-%d.csv", o.importRows))
	if _, err := os.Stat(path); err != nil || !o.reuse {
		fmt.Fprintf(os.Stderr, "import: writing a legacy extract of %d rows…\n", o.importRows)
		if err := writeLegacyCSV(path, o.importRows); err != nil {
			return "", err
		}
	}
	cfg := app.Config{MasterKeyFile: filepath.Join(o.dir, dbName+"-import.key"), AuditKeyFile: filepath.Join(o.dir, dbName+"-import-audit.key")}
	schema := "vigie_bench_import"
	switch dbName {
	case "sqlite":
		cfg.DatabaseURL = filepath.Join(o.dir, "bench-import.db")
	case "postgres":
		cfg.DatabaseURL = withSearchPath(o.pgURL, schema)
	default:
		return "", fmt.Errorf("unknown database %q", dbName)
	}
	// Always from an empty database: the import is measured, not the size of what is there.
	if err := resetSchema(ctx, o, dbName, cfg, schema); err != nil {
		return "", err
	}
	a, err := openMigrated(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer a.Close()
	mapping, err := importer.ParseMapping(strings.NewReader(legacyMapping), a.Dict)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, _ := f.Stat()
	fmt.Fprintf(os.Stderr, "%s: importing %d rows…\n", dbName, o.importRows)
	start, cpuStart := time.Now(), processCPU()
	// As vigie import legacy does: the suppression list read once, the audit event in the
	// import's transaction.
	supp, err := a.Consent.Suppressions(ctx)
	if err != nil {
		return "", err
	}
	rep, err := importer.Import(ctx, f, a.Records, supp, importer.Options{Mapping: mapping, Progress: os.Stderr, Size: info.Size(),
		BeforeCommit: func(ctx context.Context, tx *sql.Tx, r *importer.Report) error {
			return a.Audit.AppendTx(ctx, tx, audit.Event{Department: "admin", Action: "legacy_import", Table: "persons", Purpose: r.Purpose,
				Detail: fmt.Sprintf("legacy import: %d rows, %d persons", r.Rows, r.Persons)})
		}})
	if err != nil {
		return "", err
	}
	vigie, cpu := time.Since(start), processCPU()-cpuStart
	if rep.Persons == 0 {
		return "", errors.New("the import imported nobody")
	}
	fmt.Fprintf(os.Stderr, "%s: raw insert of the same rows…\n", dbName)
	raw, err := rawInsert(ctx, a, path)
	if err != nil {
		return "", err
	}
	vRate, rRate := float64(rep.Rows)/vigie.Seconds(), float64(rep.Rows)/raw.Seconds()
	return fmt.Sprintf("%s: legacy import of %d rows (%d persons, %d quotes, %d doublons, %d NIR cells dropped): vigie %s, %.0f rows/s (CPU %s, %.0f rows per CPU-second); raw multi-row INSERT %s, %.0f rows/s; vigie/raw %.2f",
		dbName, rep.Rows, rep.Persons, rep.Quotes, rep.Duplicates, droppedNIR(rep), vigie.Round(time.Millisecond), vRate,
		cpu.Round(time.Millisecond), float64(rep.Rows)/cpu.Seconds(), raw.Round(time.Millisecond), rRate, vRate/rRate), nil
}

// processCPU is the CPU time the process has used, user and system, all threads: on a machine
// shared with other work, rows per CPU-second compare two runs better than rows per second.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func droppedNIR(r *importer.Report) int64 {
	var n int64
	for _, c := range r.DroppedCells {
		if c.Kind == "NIR" {
			n += c.Count
		}
	}
	return n
}

// rawInsert reads the extract and inserts its cells as they are, 500 rows per statement, into a
// table of as many text columns, in one transaction.
func rawInsert(ctx context.Context, a *app.App, path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.Comma = ';'
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return 0, err
	}
	cols := make([]string, len(header))
	for i := range header {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	if _, err := a.DB.ExecContext(ctx, "DROP TABLE IF EXISTS bench_raw_import"); err != nil {
		return 0, err
	}
	if _, err := a.DB.ExecContext(ctx, "CREATE TABLE bench_raw_import ("+strings.Join(cols, " TEXT, ")+" TEXT)"); err != nil {
		return 0, err
	}
	const per = 500
	tx, err := a.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	args := make([]any, 0, per*len(cols))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString("INSERT INTO bench_raw_import VALUES ")
		for i := 0; i < len(args); i++ {
			switch {
			case i == 0:
				b.WriteByte('(')
			case i%len(cols) == 0:
				b.WriteString("),(")
			default:
				b.WriteByte(',')
			}
			// "?" on SQLite, where "$N" is resolved by a scan of all the names (see record.Loader).
			if a.DB.Dialect == db.SQLite {
				b.WriteByte('?')
				continue
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i + 1))
		}
		b.WriteByte(')')
		_, err := tx.ExecContext(ctx, b.String(), args...)
		args = args[:0]
		return err
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		for _, cell := range rec {
			args = append(args, strings.Clone(cell))
		}
		if len(args) == per*len(cols) {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// resetSchema removes an earlier run's import database.
func resetSchema(ctx context.Context, o options, dbName string, cfg app.Config, schema string) error {
	os.Remove(cfg.MasterKeyFile)
	os.Remove(cfg.AuditKeyFile)
	if dbName == "sqlite" {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(cfg.DatabaseURL + suffix)
		}
		return nil
	}
	admin, err := sql.Open("pgx", o.pgURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		return err
	}
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	return err
}

// legacyMapping maps the generated extract: everything a quote needs, the NIR left unmapped (the
// import drops it as sensitive), the comment scanned cell by cell.
const legacyMapping = `{
  "purpose": "quotes",
  "delimiter": ";",
  "date_formats": ["02/01/2006"],
  "columns": {
    "id_client": "drop", "nom": "persons.last_name", "prenom": "persons.first_name", "date_naissance": "persons.birth_date",
    "email": "persons.email", "tel": "persons.phone", "adresse": "persons.address_line", "cp": "persons.postal_code",
    "ville": "persons.city", "marque": "quotes.vehicle_make", "modele": "quotes.vehicle_model", "annee": "quotes.vehicle_year",
    "energie": "quotes.vehicle_energy", "usage": "quotes.vehicle_usage", "immat": "quotes.plate", "date_permis": "quotes.licence_date",
    "coef_bonus_malus": "quotes.bonus_malus", "garantie": "quotes.coverage", "commentaire": "quotes.comment",
    "date_creation": "persons.created_at", "dernier_contact": "persons.last_contact_at", "date_devis": "quotes.created_at"
  }
}`

// Small lists of fictitious values for the generated extract.
var (
	benchLastNames  = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"}
	benchFirstNames = []string{"Manon", "Paul", "Hélène", "Léa", "Jean", "Chloé", "Hugo", "Louis", "Marc", "Luc", "Anne", "Camille", "Julien", "Sophie", "Karim", "Inès", "Théo", "Zoé", "Nathan", "Emma"}
	benchCommunes   = [][2]string{{"29200", "Brest"}, {"67000", "Strasbourg"}, {"06000", "Nice"}, {"75011", "Paris"}, {"69003", "Lyon"}, {"13001", "Marseille"}, {"33000", "Bordeaux"}, {"44000", "Nantes"}, {"35000", "Rennes"}, {"31000", "Toulouse"}}
	benchVehicles   = [][2]string{{"Renault", "Clio"}, {"Peugeot", "208"}, {"Dacia", "Sandero"}, {"Citroën", "C3"}, {"Toyota", "Yaris"}, {"Volkswagen", "Golf"}, {"Fiat", "500"}, {"Ford", "Fiesta"}}
	benchEnergies   = []string{"Essence", "Diesel", "Hybride", "Électrique"}
	benchUsages     = []string{"Privé", "Trajet travail"}
	benchCoverages  = []string{"Tiers", "Tiers plus", "Tous risques"}
	benchComments   = []string{"Souhaite un devis tous risques", "Rappeler après 18h", "Client satisfait de son assureur actuel, compare les prix", "", "Demande une attestation", ""}
)

// writeLegacyCSV writes n rows like an old CRM's export: semicolons, French dates, a NIR column
// with valid keys, and a comment that now and then holds a NIR too.
func writeLegacyCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(2026, 1))
	now := time.Now().UTC()
	date := func(from, to time.Time) string {
		return from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Format("02/01/2006")
	}
	fmt.Fprintln(w, "id_client;nom;prenom;date_naissance;num_secu;email;tel;adresse;cp;ville;marque;modele;annee;energie;usage;immat;date_permis;coef_bonus_malus;garantie;commentaire;date_creation;dernier_contact;date_devis")
	const letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
	for i := range n {
		last, first := benchLastNames[r.IntN(len(benchLastNames))], benchFirstNames[r.IntN(len(benchFirstNames))]
		c := benchCommunes[r.IntN(len(benchCommunes))]
		v := benchVehicles[r.IntN(len(benchVehicles))]
		nir := benchNIR(r)
		comment := benchComments[r.IntN(len(benchComments))]
		if r.IntN(20) == 0 {
			comment = "A donné son n° de sécu " + nir + " au téléphone"
		}
		created := now.AddDate(-2, 0, 0)
		collected := date(created, now.AddDate(0, -1, 0))
		plate := fmt.Sprintf("%c%c-%03d-%c%c", letters[r.IntN(23)], letters[r.IntN(23)], r.IntN(999)+1, letters[r.IntN(23)], letters[r.IntN(23)])
		fmt.Fprintf(w, "%d;%s;%s;%s;%s;%s.%s.%d@exemple.fr;06 %02d %02d %02d %02d;%d rue de la République;%s;%s;%s;%s;%d;%s;%s;%s;%s;%d,%02d;%s;%s;%s;%s;%s\n",
			100000+i, last, first, date(now.AddDate(-80, 0, 0), now.AddDate(-19, 0, 0)), nir,
			strings.ToLower(asciiName(first)), strings.ToLower(asciiName(last)), i,
			r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100), 1+r.IntN(150), c[0], c[1], v[0], v[1], 2005+r.IntN(20),
			benchEnergies[r.IntN(len(benchEnergies))], benchUsages[r.IntN(len(benchUsages))], plate,
			date(now.AddDate(-40, 0, 0), now.AddDate(-1, 0, 0)), r.IntN(2), 50+r.IntN(50),
			benchCoverages[r.IntN(len(benchCoverages))], comment, collected, date(now.AddDate(0, -1, 0), now), collected)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchNIR draws a fictitious NIR with a valid key, spaced as people write it.
func benchNIR(r *rand.Rand) string {
	body := fmt.Sprintf("%d%02d%02d%02d%03d%03d", 1+r.IntN(2), r.IntN(100), 1+r.IntN(12), 1+r.IntN(95), 1+r.IntN(999), 1+r.IntN(999))
	n, _ := strconv.ParseInt(body, 10, 64)
	key := 97 - n%97
	return fmt.Sprintf("%s %s %s %s %s %s %02d", body[0:1], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13], key)
}

func asciiName(s string) string {
	return strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ï", "i", "ç", "c", "É", "E", "ô", "o").Replace(s)
}
