package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"vigie/internal/charter"
	"vigie/internal/db"
)

// charterSnapshot counts what a refused `vigie charter` must leave as it was.
func charterSnapshot(t *testing.T, c *cli) string {
	t.Helper()
	d, err := db.Open(context.Background(), c.file("vigie.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var b strings.Builder
	for _, q := range []string{"charter_versions", "charter_acknowledgements", "training_completions", "audit_events WHERE chain = 'record'"} {
		var n int64
		if err := d.QueryRow("SELECT count(*) FROM " + q).Scan(&n); err != nil {
			t.Fatalf("snapshot %s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s=%d ", q, n)
	}
	return b.String()
}

// TestR43_CharterCommand runs `vigie charter` as an operator would: the status lists who is
// missing and exits with 1 until everyone accepted the charter in force and holds their mandatory
// modules; a training for an unknown user or module, or dated in the future, is refused naming the
// flag and the rule, and writes nothing; a new version is published from a file, with its SHA-256.
func TestR43_CharterCommand(t *testing.T) {
	c := newCLI(t)
	if code, _, errOut := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	if code, _, errOut := c.run("Un-mot-de-passe-long-2026\n", "user", "add", "--email", "marie@courtier.example", "--department", "devis"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
	today := time.Now().Format("2006-01-02")
	tooShort := c.file("courte.txt")
	newVersion := c.file("charte-1.1.txt")
	notUTF8 := c.file("latin1.txt")
	os.WriteFile(tooShort, []byte("Soyez prudents."), 0o600)
	os.WriteFile(newVersion, []byte(charter.FirstBody()+"\n10. Télétravail\nLes règles de la charte valent aussi en télétravail.\n"), 0o600)
	os.WriteFile(notUTF8, []byte("Charte \xe9t\xe9 "+strings.Repeat("x", 300)), 0o600)
	training := func(email, module, day string) []string {
		return []string{"charter", "training", "--email", email, "--module", module, "--date", day}
	}
	steps := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
		unchanged  bool
	}{
		{"no subcommand", []string{"charter"}, 2, "", "vigie charter publish", true},
		{"the catalogue", []string{"charter", "modules"}, 0, "rgpd-fondamentaux", "", false},
		{"the charter in force, installed at first use", []string{"charter", "show"}, 0, "Charte de gouvernance des données — version 1.0", "version 1.0 du", false},
		{"an unknown version", []string{"charter", "show", "--version", "9"}, 1, "", `--version "9" : version inconnue`, true},
		{"the status of a new installation", []string{"charter", "status"}, 1, "marie@courtier.example", "1 membre(s) du personnel à relancer", true},
		{"a training for an unknown user", training("personne@courtier.example", "violations", today), 1, "",
			"--email (règle unknown_user) : aucun membre du personnel n'a cette adresse e-mail", true},
		{"a training outside the catalogue", training("marie@courtier.example", "excel-avance", today), 1, "", "--module (règle unknown_module)", true},
		{"a training in the future", training("marie@courtier.example", "violations", time.Now().AddDate(0, 0, 3).Format("2006-01-02")), 1, "",
			"--date (règle future)", true},
		{"a training without its date", []string{"charter", "training", "--email", "marie@courtier.example", "--module", "violations"}, 1, "",
			"--date (règle required)", true},
		{"a training", training("marie@courtier.example", "violations", today), 0, "formation violations du", "", false},
		{"the status names what is missing", []string{"charter", "status"}, 1, "rgpd-fondamentaux, securite-poste, demandes-droits", "à relancer", true},
		{"the status as JSON", []string{"charter", "status", "--format", "json"}, 1, `"modules_completed": [`, "à relancer", true},
		{"publish without a version", []string{"charter", "publish", "--file", newVersion}, 1, "", "--version (règle required)", true},
		{"publish a text too short", []string{"charter", "publish", "--file", tooShort, "--version", "1.1"}, 1, "", "--file (règle min_length)", true},
		{"publish a text that is not UTF-8", []string{"charter", "publish", "--file", notUTF8, "--version", "1.1"}, 1, "", "--file (règle utf8)", true},
		{"publish a missing file", []string{"charter", "publish", "--file", c.file("absent.txt"), "--version", "1.1"}, 1, "", "--file", true},
		{"publish", []string{"charter", "publish", "--file", newVersion, "--version", "1.1"}, 0,
			"charte version 1.1 publiée (SHA-256 " + charter.Hash(charter.Normalise(charter.FirstBody()+"\n10. Télétravail\nLes règles de la charte valent aussi en télétravail.\n")), "", false},
		{"publish the same text again", []string{"charter", "publish", "--file", newVersion, "--version", "1.2"}, 1, "", "--file (règle unchanged)", true},
		{"the new version is in force", []string{"charter", "show"}, 0, "10. Télétravail", "", true},
	}
	for _, st := range steps {
		before := charterSnapshot(t, c)
		code, out, errOut := c.run("", st.args...)
		if code != st.code || !strings.Contains(out, st.wantOut) || !strings.Contains(errOut, st.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; out lacks %q: %t; err lacks %q: %t (%s)", st.name, code, st.code,
				st.wantOut, !strings.Contains(out, st.wantOut), st.wantErrOut, !strings.Contains(errOut, st.wantErrOut), firstLine(errOut))
		}
		if st.unchanged && charterSnapshot(t, c) != before {
			t.Errorf("%s: changed the database", st.name)
		}
	}

	// Once the one member accepts the version in force and completes every mandatory module, the
	// status exits with 0.
	d, err := db.Open(context.Background(), c.file("vigie.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(`INSERT INTO charter_acknowledgements (user_id, version_id, acknowledged_at)
		SELECT 1, max(id), CURRENT_TIMESTAMP FROM charter_versions`); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"rgpd-fondamentaux", "securite-poste", "demandes-droits"} {
		if code, _, errOut := c.run("", training("marie@courtier.example", m, today)...); code != 0 {
			t.Fatalf("training %s: %s", m, errOut)
		}
	}
	if code, out, errOut := c.run("", "charter", "status"); code != 0 || !strings.Contains(out, "acceptée par 1 sur 1") || !strings.Contains(out, "à jour : 1 sur 1") {
		t.Errorf("status once everyone is done: exit %d (%s)", code, firstLine(errOut))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
