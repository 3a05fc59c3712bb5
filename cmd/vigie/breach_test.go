package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"vigie/internal/db"
)

// breachSnapshot counts what a refused `vigie breach` must leave as it was.
func breachSnapshot(t *testing.T, c *cli) string {
	t.Helper()
	d, err := db.Open(context.Background(), c.file("vigie.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var b strings.Builder
	for _, q := range []string{"breaches", "breach_persons", "breach_persons WHERE notified_at IS NOT NULL", "breach_notifications",
		"audit_events WHERE chain = 'record'"} {
		var n int64
		if err := d.QueryRow("SELECT count(*) FROM " + q).Scan(&n); err != nil {
			t.Fatalf("snapshot %s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s=%d ", q, n)
	}
	return b.String()
}

// TestR39_R40_BreachCommand runs `vigie breach` as the DPO would: a breach without its awareness
// time, or with a bad flag, is refused naming the flag and the rule, and writes nothing; a breach
// naming a scope finds its people; the register shows its clock; a notification dated before
// awareness, or late without its reason, is refused; the CNIL draft prints; the letters go to a
// file only, one per person.
func TestR39_R40_BreachCommand(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"migrate"}, {"demo", "--persons", "6"}} {
		if code, _, errOut := c.run("", args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
	}
	aware := time.Now().Add(-80 * time.Hour).UTC()
	record := func(extra ...string) []string {
		args := []string{"breach", "record", "--title", "Export des contrats envoyé au mauvais destinataire",
			"--nature", "confidentiality", "--origin", "wrong_recipient", "--cause", "internal_accidental",
			"--description", "Un export des contrats a été envoyé par erreur à un partenaire.",
			"--consequences", "Hameçonnage ciblé possible à partir des numéros de contrat.",
			"--measures", "Le destinataire a confirmé la suppression par écrit.",
			"--risk", "high", "--risk-reason", "Identité et contrats de clients en clair : risque élevé."}
		return append(args, extra...)
	}
	awareFlag := aware.Format(time.RFC3339)
	letters := c.file("courriers.txt")
	steps := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
		unchanged  bool
	}{
		{"no subcommand", []string{"breach"}, 2, "", "vigie breach record", true},
		{"a breach without its awareness time", record("--scope-table", "contracts"), 1, "",
			"--aware (règle required) : l'heure de prise de connaissance est obligatoire", true},
		{"an awareness time that is not one", record("--aware", "hier soir"), 1, "", `--aware "hier soir" : une date et heure`, true},
		{"an unknown risk level", record("--aware", awareFlag, "--scope-table", "contracts", "--risk", "moyen"), 1, "", "--risk (règle enum)", true},
		{"an unknown scope table", record("--aware", awareFlag, "--scope-table", "audit_events"), 1, "", "--scope-table (règle enum)", true},
		{"a negative number of people", record("--aware", awareFlag, "--people", "-4"), 1, "", `--people "-4"`, true},
		{"a breach naming a scope", record("--aware", awareFlag, "--scope-table", "contracts"), 0, "violation n° 1 inscrite au registre", "", false},
		{"the register shows the overdue clock", []string{"breach", "list"}, 1, "en retard de", "ont dépassé le délai de 72 heures", true},
		{"the breach shows its scope", []string{"breach", "show", "--breach", "1"}, 0, "Périmètre : la table « Contrat »", "", true},
		{"show without --breach", []string{"breach", "show"}, 1, "", "--breach est obligatoire", true},
		{"show an unknown breach", []string{"breach", "show", "--breach", "99"}, 1, "", "--breach 99 : violation inconnue", true},
		{"a notification before awareness", []string{"breach", "notify", "--breach", "1", "--to", "cnil", "--channel", "teleservice",
			"--sent", aware.Add(-time.Hour).Format(time.RFC3339)}, 1, "", "--sent (règle not_before_awareness)", true},
		{"a late notification without its reason", []string{"breach", "notify", "--breach", "1", "--to", "cnil", "--channel", "teleservice",
			"--sent", aware.Add(79 * time.Hour).Format(time.RFC3339)}, 1, "", "--late-reason (règle required_when_late)", true},
		{"a late notification with its reason", []string{"breach", "notify", "--breach", "1", "--to", "cnil", "--channel", "teleservice",
			"--sent", aware.Add(79 * time.Hour).Format(time.RFC3339), "--late-reason", "Ampleur confirmée par le partenaire au quatrième jour."},
			0, "notifiée à la CNIL le", "", false},
		{"the CNIL draft", []string{"breach", "drafts", "--breach", "1"}, 0, "Notification complémentaire à la notification initiale", "", false},
		{"letters without --out", []string{"breach", "drafts", "--breach", "1", "--letters"}, 1, "", "--out est obligatoire avec --letters", true},
		{"the letters to a file", []string{"breach", "drafts", "--breach", "1", "--letters", "--out", letters}, 0, "courrier(s) de l'article 34 écrits", "", false},
		{"an update moving the awareness time", []string{"breach", "update", "--breach", "1", "--aware", time.Now().Format(time.RFC3339)}, 1, "",
			"--aware (règle immutable)", true},
		{"an update of the measures", []string{"breach", "update", "--breach", "1", "--measures-proposed", "Double validation de tout envoi d'export."},
			0, "violation n° 1 mise à jour", "", false},
		{"the trail verifies", []string{"audit", "verify"}, 0, "OK: the trail verifies", "", true},
	}
	for _, s := range steps {
		before := breachSnapshot(t, c)
		code, out, errOut := c.run("", s.args...)
		if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; stdout has %q: %v; stderr has %q: %v", s.name, code, s.code,
				s.wantOut, strings.Contains(out, s.wantOut), s.wantErrOut, strings.Contains(errOut, s.wantErrOut))
		}
		if after := breachSnapshot(t, c); s.unchanged && after != before {
			t.Errorf("%s changed the database:\n before %s\n after  %s", s.name, before, after)
		}
	}
	info, err := os.Stat(letters)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the letters file has mode %v, want 0600", info.Mode().Perm())
	}
	body, err := os.ReadFile(letters)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), c.file("vigie.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var people int
	if err := d.QueryRow(`SELECT people_found FROM breaches WHERE id = 1`).Scan(&people); err != nil {
		t.Fatal(err)
	}
	if people == 0 || strings.Count(string(body), "=== Courrier à la personne n°") != people {
		t.Errorf("%d letters for %d people found", strings.Count(string(body), "=== Courrier"), people)
	}
}
