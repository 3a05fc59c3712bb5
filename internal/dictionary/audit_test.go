package dictionary_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vigie/internal/dictionary"
)

// auditNow fixes the date values are checked against, so that the tests do not age.
var auditNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func loadDict(t testing.TB) *dictionary.Dictionary {
	t.Helper()
	d, err := dictionary.Load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func audit(t *testing.T, data string, opts dictionary.AuditOptions) *dictionary.AuditReport {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = auditNow
	}
	rep, err := loadDict(t).Audit(strings.NewReader(data), opts)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return rep
}

func column(t *testing.T, rep *dictionary.AuditReport, header string) dictionary.ColumnAudit {
	t.Helper()
	for _, c := range rep.Columns {
		if c.Header == header {
			return c
		}
	}
	t.Fatalf("no column %q in the report", header)
	return dictionary.ColumnAudit{}
}

// R07: the realistic extract of the old CRM (testdata/legacy_crm.csv: semicolons, UTF-8 BOM,
// French headers, 30 rows of invented people) is inventoried column by column, each with the
// class the seed asks for and, where it has one, the dictionary column it maps to.
func TestR07_AuditClassifiesLegacyColumns(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy_crm.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep := audit(t, string(data), dictionary.AuditOptions{})
	if !rep.BOM || rep.Delimiter != ";" || rep.Rows != 30 || rep.RaggedRows != 0 || rep.MalformedRows != 0 {
		t.Errorf("file: BOM %t, delimiter %q, %d rows, %d ragged, %d malformed; want true, \";\", 30, 0, 0",
			rep.BOM, rep.Delimiter, rep.Rows, rep.RaggedRows, rep.MalformedRows)
	}
	want := []struct {
		header string
		class  dictionary.Class
		column string
		rule   string
	}{
		{"id_client", dictionary.ClassNecessary, "persons.id", "R01"},
		{"civilite", dictionary.ClassUnnecessary, "", "R02"},
		{"nom", dictionary.ClassNecessary, "persons.last_name", "R01"},
		{"prenom", dictionary.ClassNecessary, "persons.first_name", "R01"},
		{"date_naissance", dictionary.ClassNecessary, "persons.birth_date", "R01"},
		{"num_secu", dictionary.ClassSensitive, "", "R03"},
		{"groupe_sanguin", dictionary.ClassSensitive, "", "R04"},
		{"email", dictionary.ClassNecessary, "persons.email", "R01"},
		{"tel", dictionary.ClassNecessary, "persons.phone", "R01"},
		{"adresse", dictionary.ClassNecessary, "persons.address_line", "R01"},
		{"cp", dictionary.ClassNecessary, "persons.postal_code", "R01"},
		{"ville", dictionary.ClassNecessary, "persons.city", "R01"},
		{"situation_familiale", dictionary.ClassUnnecessary, "", "R02"},
		{"nb_enfants", dictionary.ClassUnnecessary, "", "R02"},
		{"profession", dictionary.ClassStatistical, "", "R09"},
		{"marque", dictionary.ClassNecessary, "quotes.vehicle_make", "R01"},
		{"modele", dictionary.ClassNecessary, "quotes.vehicle_model", "R01"},
		{"immat", dictionary.ClassNecessary, "quotes.plate", "R01"},
		{"date_permis", dictionary.ClassNecessary, "quotes.licence_date", "R01"},
		{"coef_bonus_malus", dictionary.ClassNecessary, "quotes.bonus_malus", "R01"},
		{"nb_sinistres", dictionary.ClassNecessary, "quotes.claims_3y", "R01"},
		{"prime", dictionary.ClassNecessary, "quotes.premium_quoted", "R01"},
		{"commentaire", dictionary.ClassSensitive, "", "R03"},
		{"score_appetence", dictionary.ClassStatistical, "", "R09"},
		{"loisirs", dictionary.ClassUnnecessary, "", "R02"},
		{"religion", dictionary.ClassSensitive, "", "R05"},
	}
	if len(rep.Columns) != len(want) {
		t.Fatalf("%d columns, want %d", len(rep.Columns), len(want))
	}
	for i, w := range want {
		c := rep.Columns[i]
		if c.Header != w.header || c.Class != w.class || c.Column != w.column || c.Rule != w.rule {
			t.Errorf("column %d: %s → %s %q %s, want %s → %s %q %s (%s)", i+1, c.Header, c.Class, c.Column, c.Rule, w.header, w.class, w.column, w.rule, c.Reason)
		}
		if c.Reason == "" || !strings.HasPrefix(c.Reason, c.Rule+" : ") {
			t.Errorf("%s: the reason must start with its rule: %q", c.Header, c.Reason)
		}
		if c.Rows != 30 {
			t.Errorf("%s: %d rows, want 30", c.Header, c.Rows)
		}
		// Every dictionary mapping is supported by the values: the extract is clean apart from
		// what must go.
		if c.Class == dictionary.ClassNecessary && c.Matches != c.NonEmpty {
			t.Errorf("%s: %d of %d values fit %s: %s", c.Header, c.Matches, c.NonEmpty, c.Column, c.Reason)
		}
	}
	totals := map[dictionary.Class]int{dictionary.ClassNecessary: 16, dictionary.ClassStatistical: 2, dictionary.ClassSensitive: 4, dictionary.ClassUnnecessary: 4}
	for _, class := range dictionary.Classes {
		if rep.Totals[class] != totals[class] {
			t.Errorf("total %s: %d, want %d", class, rep.Totals[class], totals[class])
		}
	}
}

// R03: a column of social-security numbers is found by its values (key checked), and so is a
// free-text column that only sometimes holds one: the value overrides a harmless header.
func TestR03_AuditFlagsNIRColumn(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy_crm.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep := audit(t, string(data), dictionary.AuditOptions{})
	secu := column(t, rep, "num_secu")
	if secu.NonEmpty != 29 || secu.Matches != 29 || !strings.Contains(secu.Reason, "100 % des valeurs non vides, 29 sur 29 (clé mod 97 valide)") {
		t.Errorf("num_secu: %d matches of %d: %s", secu.Matches, secu.NonEmpty, secu.Reason)
	}
	comment := column(t, rep, "commentaire")
	if comment.Matches != 4 || !strings.Contains(comment.Reason, "ne le laissait pas prévoir") {
		t.Errorf("commentaire: %d matches: %s", comment.Matches, comment.Reason)
	}

	for _, tc := range []struct {
		name   string
		csv    string
		class  dictionary.Class
		rule   string
		column string
	}{
		{"NIR under a harmless header", "ref;divers\n1;185057800608491\n2;2 69 05 75 115 011 37\n3;\n", dictionary.ClassSensitive, "R03", ""},
		{"one NIR in a note is enough", "note\nRAS\nà rappeler\nsécu 1 85 05 78 006 084 91\nok\n", dictionary.ClassSensitive, "R03", ""},
		{"NIR header with empty values", "nir\n\n\n", dictionary.ClassSensitive, "R03", ""},
		{"NIR header, accents and spaces", "N° Sécurité Sociale\nx\n", dictionary.ClassSensitive, "R03", ""},
		{"NIR header by one of its words", "num_secu_conjoint\nx\n", dictionary.ClassSensitive, "R03", ""},
		{"commune INSEE code is no NIR", "code_insee\n75056\n", dictionary.ClassUnnecessary, "R02", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := audit(t, tc.csv, dictionary.AuditOptions{})
			c := rep.Columns[len(rep.Columns)-1]
			if c.Class != tc.class || c.Rule != tc.rule || c.Column != tc.column {
				t.Errorf("%s → %s %s %q, want %s %s %q (%s)", c.Header, c.Class, c.Rule, c.Column, tc.class, tc.rule, tc.column, c.Reason)
			}
		})
	}
}

// R03: the key is what makes a NIR. A column of other 15-digit numbers (policy references) has
// about one valid key in 97 by chance; it must not be taken for NIRs.
func TestR03_AuditIgnoresNumbersWithoutNIRKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("reference_dossier\n")
	for range 500 {
		fmt.Fprintf(&b, "%d%014d\n", 1+rng.IntN(2), rng.Int64N(1e14))
	}
	c := audit(t, b.String(), dictionary.AuditOptions{}).Columns[0]
	if c.Class == dictionary.ClassSensitive {
		t.Errorf("random 15-digit references classed sensitive: %s", c.Reason)
	}
}

// R04, R05, R06: blood groups, art. 9 data, card numbers and IBANs, by header or by value.
func TestR04_R05_R06_AuditFlagsSensitiveColumns(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  string
		rule string
	}{
		{"blood group header", "groupe_sanguin\nA+\n", "R04"},
		{"blood group values under another header", "info\nA+\nO-\nAB positif\ngroupe O négatif\nB+\n", "R04"},
		{"blood group in a comment", "remarques\nRAS\nGroupe sanguin O+ (accident 2019)\n", "R04"},
		{"health header", "etat_sante\nbon\n", "R04"},
		{"health word in a comment", "observations\nclient diabétique, prévoir rdv\nok\n", "R04"},
		{"religion header", "religion\nCatholique\n", "R05"},
		{"religion values under another header", "divers\nCatholique\nMusulman\nProtestant\nBouddhiste\nAthée\n", "R05"},
		{"union membership", "appartenance_syndicale\noui\n", "R05"},
		{"political opinion", "Opinion politique\n\n", "R05"},
		{"offence data", "casier_judiciaire\nvierge\n", "R05"},
		{"licence suspension with details", "retrait_permis\nalcoolémie 2021, 6 mois\nexcès de vitesse\nnon\n", "R05"},
		{"card number values", "paiement\n4970 1012 3456 7893\n5370123456789016\n", "R06"},
		{"card header", "numero_carte\n\n", "R06"},
		{"IBAN values", "banque\nFR76 3000 6000 0112 3456 7890 189\n", "R06"},
		{"IBAN header", "RIB\n\n", "R06"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := audit(t, tc.csv, dictionary.AuditOptions{}).Columns[0]
			if c.Class != dictionary.ClassSensitive || c.Rule != tc.rule {
				t.Errorf("%s → %s %s, want sensible %s (%s)", c.Header, c.Class, c.Rule, tc.rule, c.Reason)
			}
		})
	}
}

// R07: the other classes, by header and by value.
func TestR07_AuditClassifiesByHeaderAndValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		csv    string
		class  dictionary.Class
		column string
	}{
		{"English header", "last_name\nDupont\n", dictionary.ClassNecessary, "persons.last_name"},
		{"camelCase header", "dateNaissance\n1980-01-31\n", dictionary.ClassNecessary, "persons.birth_date"},
		{"header with a word around", "Email du client\nmarie@exemple.fr\n", dictionary.ClassNecessary, "persons.email"},
		{"courriel", "Courriel\nmarie@exemple.fr\n", dictionary.ClassNecessary, "persons.email"},
		{"portable", "portable\n06 12 34 56 78\n", dictionary.ClassNecessary, "persons.phone"},
		{"bonus", "CRM\n0,85\n", dictionary.ClassNecessary, "quotes.bonus_malus"},
		{"immatriculation", "Immatriculation\nAB-123-CD\n", dictionary.ClassNecessary, "quotes.plate"},
		{"energy in capitals and accents", "carburant\nÉlectrique\nDIESEL\n", dictionary.ClassNecessary, "quotes.vehicle_energy"},
		{"licence suspension answered yes/no", "retrait_permis\nnon\noui\nN\n", dictionary.ClassNecessary, "quotes.licence_suspension_5y"},
		{"emails under an unknown header", "champ_7\nmarie@exemple.fr\njean.dupont@exemple.com\n", dictionary.ClassNecessary, "persons.email"},
		{"phones under an unknown header", "contact_2\n06 12 34 56 78\n+33 7 52 34 56 78\n", dictionary.ClassNecessary, "persons.phone"},
		{"channel is statistical in the dictionary", "canal\nweb_form\nphone\n", dictionary.ClassStatistical, "quotes.channel"},
		{"socio-professional category", "CSP\nCadre\n", dictionary.ClassStatistical, ""},
		{"vehicle category", "categorie_vehicule\nB\n", dictionary.ClassStatistical, ""},
		{"score", "score\n0.42\n", dictionary.ClassStatistical, ""},
		{"marital status", "situation_familiale\nMarié\n", dictionary.ClassUnnecessary, ""},
		{"salary", "salaire\n2500\n", dictionary.ClassUnnecessary, ""},
		{"employer", "Employeur\nACME\n", dictionary.ClassUnnecessary, ""},
		{"hobbies", "hobbies\nTennis\n", dictionary.ClassUnnecessary, ""},
		{"unknown", "zorglub\nqwerty\n", dictionary.ClassUnknown, ""},
		{"unknown and empty", "champ_vide\n\n", dictionary.ClassUnknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := audit(t, tc.csv, dictionary.AuditOptions{}).Columns[0]
			if c.Class != tc.class || c.Column != tc.column {
				t.Errorf("%s → %s %q, want %s %q (%s)", c.Header, c.Class, c.Column, tc.class, tc.column, c.Reason)
			}
		})
	}
	// Values that do not fit the mapped column keep the mapping but say so.
	c := audit(t, "date_naissance\nhier\n12/13/1980\n1980-01-31\n", dictionary.AuditOptions{}).Columns[0]
	if c.Class != dictionary.ClassNecessary || c.Matches != 1 || !strings.Contains(c.Reason, "à corriger avant l'import") {
		t.Errorf("badly formatted dates: %s, %d matches: %s", c.Class, c.Matches, c.Reason)
	}
}

// The file as it comes: any of the three delimiters, with or without BOM, a forced delimiter.
func TestR07_AuditReadsDelimitersAndBOM(t *testing.T) {
	rows := [][]string{{"nom", "prenom", "email", "commentaire"}, {"Dupont", "Marie", "marie@exemple.fr", "rappeler; demain, 18h"}, {"Martin", "Luc", "luc@exemple.fr", ""}}
	for _, tc := range []struct {
		name   string
		comma  rune
		bom    bool
		forced rune
	}{
		{"comma", ',', false, 0},
		{"semicolon with BOM", ';', true, 0},
		{"tab", '\t', false, 0},
		{"forced semicolon", ';', false, ';'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if tc.bom {
				b.WriteString("\ufeff")
			}
			w := csv.NewWriter(&b)
			w.Comma = tc.comma
			w.WriteAll(rows)
			rep := audit(t, b.String(), dictionary.AuditOptions{Delimiter: tc.forced})
			if rep.Delimiter != string(tc.comma) || rep.BOM != tc.bom || rep.Rows != 2 || len(rep.Columns) != 4 {
				t.Fatalf("delimiter %q, BOM %t, %d rows, %d columns", rep.Delimiter, rep.BOM, rep.Rows, len(rep.Columns))
			}
			if c := rep.Columns[0]; c.Header != "nom" || c.Column != "persons.last_name" || c.Matches != 2 {
				t.Errorf("first column: %+v", c)
			}
			if c := rep.Columns[3]; c.Column != "quotes.comment" || c.NonEmpty != 1 {
				t.Errorf("comment column: %+v", c)
			}
		})
	}
}

// A Latin-1 export is refused with the line to look at, and without the value.
func TestR07_AuditRefusesLatin1WithLine(t *testing.T) {
	latin1 := []byte("nom;ville\nDupont;Paris\nL\xe9vy;B\xe9ziers\n")
	_, err := loadDict(t).Audit(bytes.NewReader(latin1), dictionary.AuditOptions{})
	if !errors.Is(err, dictionary.ErrNotUTF8) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("want ErrNotUTF8 naming line 3, got %v", err)
	}
	if strings.Contains(err.Error(), "vy") || strings.Contains(err.Error(), "ziers") {
		t.Errorf("the error leaks the value: %v", err)
	}
	_, err = loadDict(t).Audit(bytes.NewReader([]byte("n\xf4m;ville\n")), dictionary.AuditOptions{})
	if !errors.Is(err, dictionary.ErrNotUTF8) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("Latin-1 header: want ErrNotUTF8 naming line 1, got %v", err)
	}
}

// Ragged and malformed rows are reported with their line numbers; the audit goes on.
func TestR07_AuditReportsRaggedAndMalformedRows(t *testing.T) {
	data := "nom;prenom;email\n" +
		"Dupont;Marie;marie@exemple.fr\n" +
		"Martin;Luc\n" + // line 3: one field short
		"Durand;Paul;paul@exemple.fr;en trop\n" + // line 4: one field too many
		"Petit;\"Jo\"e;jo@exemple.fr\n" + // line 5: a quote inside an unquoted field
		"\"Moreau\nJr\";Léa;lea@exemple.fr\n" + // lines 6–7: a quoted field on two lines, valid
		"Roux;Zoé;zoe@exemple.fr\n"
	rep := audit(t, data, dictionary.AuditOptions{})
	if rep.Rows != 5 || rep.RaggedRows != 2 || fmt.Sprint(rep.RaggedLines) != "[3 4]" {
		t.Errorf("rows %d, ragged %d at %v; want 5, 2 at [3 4]", rep.Rows, rep.RaggedRows, rep.RaggedLines)
	}
	if rep.MalformedRows != 1 || fmt.Sprint(rep.MalformedLines) != "[5]" {
		t.Errorf("malformed %d at %v; want 1 at [5]", rep.MalformedRows, rep.MalformedLines)
	}
	if c := rep.Columns[2]; c.Rows != 4 || c.Matches != 4 {
		t.Errorf("email column: %d rows, %d matches; want 4 and 4", c.Rows, c.Matches)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "Lignes irrégulières (nombre de champs différent de l'en-tête) : 2 — ligne(s) 3, 4") {
		t.Errorf("text report does not list the ragged lines:\n%s", text.String())
	}
}

func TestR07_AuditEmptyAndHeaderOnly(t *testing.T) {
	for _, data := range []string{"", "\ufeff", "\n\n"} {
		if _, err := loadDict(t).Audit(strings.NewReader(data), dictionary.AuditOptions{}); !errors.Is(err, dictionary.ErrEmptyFile) {
			t.Errorf("%q: want ErrEmptyFile, got %v", data, err)
		}
	}
	rep := audit(t, "\ufeffnom;num_secu;zorglub\r\n", dictionary.AuditOptions{})
	if rep.Rows != 0 || len(rep.Columns) != 3 {
		t.Fatalf("header only: %d rows, %d columns", rep.Rows, len(rep.Columns))
	}
	for i, want := range []dictionary.Class{dictionary.ClassNecessary, dictionary.ClassSensitive, dictionary.ClassUnknown} {
		if c := rep.Columns[i]; c.Class != want || c.NonEmpty != 0 {
			t.Errorf("%s: %s with %d values, want %s", c.Header, c.Class, c.NonEmpty, want)
		}
	}
}

func TestR07_AuditMaxRows(t *testing.T) {
	rep := audit(t, "nom\nA\nB\nC\nD\n", dictionary.AuditOptions{MaxRows: 2})
	if rep.Rows != 2 || !rep.Truncated {
		t.Errorf("rows %d, truncated %t; want 2, true", rep.Rows, rep.Truncated)
	}
	rep = audit(t, "nom\nA\nB\n", dictionary.AuditOptions{MaxRows: 2})
	if rep.Rows != 2 || rep.Truncated {
		t.Errorf("rows %d, truncated %t; want 2, false", rep.Rows, rep.Truncated)
	}
}

// An extract without its header line: the first row is data and must not be printed as headers.
func TestR07_AuditHeaderThatIsData(t *testing.T) {
	rep := audit(t, "Dupont;marie@exemple.fr;1 85 05 78 006 084 91\nMartin;luc@exemple.fr;2 69 05 75 115 011 37\n", dictionary.AuditOptions{})
	if !rep.HeaderLooksLikeData || rep.Columns[1].Header != "colonne 2" || rep.Columns[2].Header != "colonne 3" {
		t.Fatalf("headers not masked: %+v", rep.Columns)
	}
	if c := rep.Columns[1]; c.Column != "persons.email" {
		t.Errorf("emails still recognised by value: %+v", c)
	}
	if c := rep.Columns[2]; c.Class != dictionary.ClassSensitive {
		t.Errorf("NIRs still recognised by value: %+v", c)
	}
}

// An unclosed quote must not pull a whole multi-gigabyte file into memory.
func TestR07_AuditBoundsOneRecord(t *testing.T) {
	r := io.MultiReader(strings.NewReader("nom;commentaire\nDupont;\"jamais fermé"), endless('x'))
	_, err := loadDict(t).Audit(r, dictionary.AuditOptions{MaxRecordBytes: 1 << 20})
	if !errors.Is(err, dictionary.ErrRecordTooLarge) || !strings.Contains(err.Error(), "after line 1") {
		t.Fatalf("want ErrRecordTooLarge after line 1, got %v", err)
	}
}

type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// The audit streams: memory stays flat however long the file. A generated extract of 100,000
// rows (about 10 MB) is read while the heap is sampled; keeping the values would need several
// times that.
func TestR07_AuditMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 10 MB")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	pr, pw := io.Pipe()
	go func() {
		w := csv.NewWriter(pw)
		w.Comma = ';'
		w.Write([]string{"id_client", "nom", "email", "commentaire", "score"})
		for i := range 100_000 {
			w.Write([]string{fmt.Sprint(i), "Dupont", fmt.Sprintf("client%d@exemple.fr", i), fmt.Sprintf("Rappel numéro %d, demande de devis tous risques pour un véhicule récent", i), "0.5"})
		}
		w.Flush()
		pw.CloseWithError(w.Error())
	}()
	rep, err := loadDict(t).Audit(pr, dictionary.AuditOptions{Now: auditNow})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 100_000 {
		t.Fatalf("%d rows", rep.Rows)
	}
	if grew := int64(peak.Load()) - int64(base.HeapAlloc); grew > 6<<20 {
		t.Errorf("heap grew by %d MB while streaming 10 MB", grew>>20)
	} else {
		t.Logf("heap grew by %d kB while streaming 10 MB", grew>>10)
	}
}

// Personal data never reaches the report: no cell of the extract appears in the text or JSON
// report (the counts and reasons are enough).
func TestR07_AuditReportHoldsNoValue(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy_crm.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep := audit(t, string(data), dictionary.AuditOptions{})
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		// the file is semicolon-separated
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
		r.Comma = ';'
		if records, err = r.ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range records[1:] {
		for _, cell := range rec {
			if len(cell) < 5 || strings.Trim(cell, "0123456789.,") == "" && len(cell) < 6 {
				continue // too short to be told from a count
			}
			for name, out := range map[string]string{"text": text.String(), "json": string(js)} {
				if strings.Contains(out, cell) {
					t.Errorf("the %s report contains a cell value %q", name, cell)
				}
			}
		}
	}
}

func TestR07_AuditTextReport(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy_crm.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep := audit(t, string(data), dictionary.AuditOptions{})
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Séparateur : point-virgule · UTF-8 avec BOM · 30 ligne(s) de données · 26 colonne(s)",
		"strictement nécessaire  16",
		"sensible   4",
		"total  26",
		"num_secu",
		"R03 : numéro de sécurité sociale",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + out)
	}
	var back map[string]any
	js, _ := json.Marshal(rep)
	if err := json.Unmarshal(js, &back); err != nil || back["totals"].(map[string]any)["sensitive"] != 4.0 {
		t.Errorf("JSON report: %v %v", err, back["totals"])
	}
}

// No input makes the audit panic, and whatever it accepts it can print.
func FuzzAudit(f *testing.F) {
	f.Add([]byte("nom;prenom\nDupont;Marie\n"))
	f.Add([]byte("\ufeffa,b\n\"x\n"))
	f.Add([]byte("num_secu\t\n1 85 05 78 006 084 91\t\n"))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte("a\n\"b\"\"c\"\nd;e;f\n"))
	d, err := dictionary.Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := d.Audit(bytes.NewReader(data), dictionary.AuditOptions{Now: auditNow, MaxRecordBytes: 1 << 16})
		if err != nil {
			return
		}
		if err := rep.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
	})
}
