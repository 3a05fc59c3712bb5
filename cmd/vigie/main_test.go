package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"vigie/internal/db"
)

// cli runs the binary's entry point in a temporary working configuration.
type cli struct {
	t   *testing.T
	dir string
}

func (c *cli) file(name string) string { return filepath.Join(c.dir, name) }

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	t.Setenv("VIGIE_MASTER_KEY_FILE", filepath.Join(dir, "vigie.key"))
	t.Setenv("VIGIE_AUDIT_KEY_FILE", filepath.Join(dir, "vigie-audit.key"))
	t.Setenv("VIGIE_AUDIT_JOURNAL", filepath.Join(dir, "vigie-audit-journal"))
	t.Setenv("VIGIE_DATABASE_URL", filepath.Join(dir, "vigie.db"))
	return &cli{t: t, dir: dir}
}

func (c *cli) run(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	c := newCLI(t)
	steps := []struct {
		name       string
		stdin      string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
	}{
		{"help", "", []string{"help"}, 0, "Commands:", ""},
		{"unknown command", "", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"serve refuses a schema with pending migrations", "", []string{"serve", "--addr", "127.0.0.1:0"}, 1, "", "migrations are pending"},
		{"user refuses a schema with pending migrations", "x\n", []string{"user", "add", "--email", "a@b.fr", "--department", "devis"}, 1, "", "migrations are pending"},
		{"migrate", "", []string{"migrate"}, 0, "applied 0001_core", ""},
		{"migrate again", "", []string{"migrate"}, 0, "schema up to date", ""},
		{"bad flag", "", []string{"migrate", "--nope"}, 2, "", "flag provided but not defined"},
		{"stray argument", "", []string{"migrate", "now"}, 2, "", `unexpected argument "now"`},
		{"user add with a short password", "court\n", []string{"user", "add", "--email", "marie@courtier.example", "--department", "devis"}, 1, "", "password"},
		{"user add with an unknown department", "Un-mot-de-passe-long-2026\n", []string{"user", "add", "--email", "marie@courtier.example", "--department", "ventes"}, 1, "", "department"},
		{"user add with an invalid email", "Un-mot-de-passe-long-2026\n", []string{"user", "add", "--email", "marie@", "--department", "devis"}, 1, "", "email"},
		{"user add", "Un-mot-de-passe-long-2026\n", []string{"user", "add", "--email", "marie@courtier.example", "--department", "devis"}, 0, "created in department devis", ""},
		{"user add twice", "Un-mot-de-passe-long-2026\n", []string{"user", "add", "--email", "marie@courtier.example", "--department", "devis"}, 1, "", "already exists"},
		{"user token", "", []string{"user", "token", "--email", "marie@courtier.example"}, 0, "vg_", ""},
		{"user token for nobody", "", []string{"user", "token", "--email", "nobody@courtier.example"}, 1, "", "no user"},
		{"user passwd with a weak password", "Azertyuiop123!\n", []string{"user", "passwd", "--email", "marie@courtier.example"}, 1, "", "password.guessable"},
		{"user passwd with the current password", "Un-mot-de-passe-long-2026\n", []string{"user", "passwd", "--email", "marie@courtier.example"}, 1, "", "password.reused"},
		{"user passwd", "Girafe-Lampadaire-Ozone-7\n", []string{"user", "passwd", "--email", "marie@courtier.example"}, 0, "password of user 1 changed", ""},
		{"user passwd for nobody", "Girafe-Lampadaire-Ozone-7\n", []string{"user", "passwd", "--email", "nobody@courtier.example"}, 1, "", "no user"},
		{"user force-change", "", []string{"user", "force-change", "--email", "marie@courtier.example"}, 0, "must choose a new password", ""},
		{"user unlock", "", []string{"user", "unlock", "--email", "marie@courtier.example"}, 0, "unlocked", ""},
		{"user reset-totp", "", []string{"user", "reset-totp", "--email", "marie@courtier.example"}, 0, "next sign-in enrols a new one", ""},
		{"user with an unknown subcommand", "", []string{"user", "delete", "--email", "marie@courtier.example"}, 2, "", "vigie user passwd"},
		{"user without subcommand", "", []string{"user"}, 2, "", "Usage"},
		{"serve with a bad address", "", []string{"serve", "--addr", "8080"}, 1, "", "--addr"},
		{"serve with a bad trusted proxy", "", []string{"serve", "--trusted-proxies", "proxy.local"}, 1, "", "--trusted-proxies"},
		{"serve with a certificate and no key", "", []string{"serve", "--tls-cert", "cert.pem"}, 1, "", "go together"},
		{"serve self-signed and with a certificate", "", []string{"serve", "--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, 1, "", "excludes"},
		{"serve with an unreadable certificate", "", []string{"serve", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, 1, "", "--tls-cert/--tls-key"},
		{"dictionary markdown", "", []string{"dictionary", "--format", "md"}, 0, "Dictionnaire de données", ""},
		{"dictionary html", "", []string{"dictionary", "--format", "html"}, 0, "<html", ""},
		{"dictionary unknown format", "", []string{"dictionary", "--format", "pdf"}, 1, "", "want md or html"},
		{"dictionary audit without a file", "", []string{"dictionary", "audit"}, 2, "", "CSV file"},
		{"dictionary audit of a missing file", "", []string{"dictionary", "audit", "/nonexistent.csv"}, 1, "", "open extract"},
		{"dictionary audit, flags after the file", "", []string{"dictionary", "audit", "/nonexistent.csv", "--format", "json"}, 1, "", "open extract"},
		{"dictionary audit, two files", "", []string{"dictionary", "audit", "a.csv", "b.csv"}, 2, "", `unexpected argument "b.csv"`},
		{"demo with a negative count", "", []string{"demo", "--persons", "-1"}, 1, "", "--persons"},
		{"audit verify", "", []string{"audit", "verify"}, 0, "OK: the trail verifies", ""},
		{"audit checkpoint without --out", "", []string{"audit", "checkpoint"}, 1, "", "--out is required"},
		{"audit checkpoint", "", []string{"audit", "checkpoint", "--out", c.file("checkpoint.json")}, 0, "record chain: signed checkpoint", ""},
		{"audit verify from the checkpoint", "", []string{"audit", "verify", "--from-checkpoint", c.file("checkpoint.json")}, 0, "OK", ""},
		{"audit verify from a missing checkpoint", "", []string{"audit", "verify", "--from-checkpoint", c.file("nope.json")}, 1, "", "--from-checkpoint"},
		{"audit retention too short", "", []string{"audit", "retention", "--months", "3"}, 1, "", "between 6 and 36"},
		{"audit retention", "", []string{"audit", "retention", "--months", "24"}, 0, "kept 24 months", ""},
		{"audit purge", "", []string{"audit", "purge"}, 0, "older than 24 months", ""},
		{"audit without subcommand", "", []string{"audit"}, 2, "", "Usage"},
		{"audit verify after an edit of the table", "", []string{"audit", "verify"}, 1, "PROBLEM", "does not verify"},
	}
	for _, s := range steps {
		if s.name == "audit verify after an edit of the table" {
			tamper(t, c.file("vigie.db"))
		}
		code, out, errOut := c.run(s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; stdout has %q: %v; stderr has %q: %v", s.name, code, s.code,
				s.wantOut, strings.Contains(out, s.wantOut), s.wantErrOut, strings.Contains(errOut, s.wantErrOut))
		}
	}
}

// TestServeRefusesABadQuoteDataAge: the R23 setting is checked at start, with its rule.
func TestServeRefusesABadQuoteDataAge(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"six", "-1", "500"} {
		t.Setenv("VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", v)
		if code, _, errOut := c.run("", "serve", "--addr", "127.0.0.1:0"); code != 1 || !strings.Contains(errOut, "VIGIE_QUOTE_DATA_MAX_AGE_MONTHS") {
			t.Errorf("VIGIE_QUOTE_DATA_MAX_AGE_MONTHS=%s: exit %d", v, code)
		}
	}
}

// TestServeRefusesAnotherMasterKey: a database encrypted with one key cannot be opened with
// another, nor without its key file.
func TestServeRefusesAnotherMasterKey(t *testing.T) {
	c := newCLI(t)
	if code, _, errOut := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	t.Setenv("VIGIE_MASTER_KEY_FILE", filepath.Join(t.TempDir(), "other.key"))
	code, _, errOut := c.run("Un-mot-de-passe-long-2026\n", "user", "add", "--email", "a@courtier.example", "--department", "devis")
	if code != 1 || !strings.Contains(errOut, "master key") {
		t.Errorf("another key: exit %d, stderr mentions the master key: %v", code, strings.Contains(errOut, "master key"))
	}
}

// tamper edits one recorded event directly in the database, as an intruder with SQL access would.
func tamper(t *testing.T, path string) {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(`UPDATE audit_events SET department = 'dpo' WHERE chain = 'record' AND seq = 1`); err != nil {
		t.Fatal(err)
	}
}
