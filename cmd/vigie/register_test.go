package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestR38_RegisterCommand runs `vigie register` as the DPO would: the register is written in each
// format, atomically; a wrong format or an unknown version is refused naming the flag and writes
// no file; a retention rule changed with `vigie lifecycle set-rule` makes a new version showing the
// new duration, while the first one still exports as it was; `register versions` lists both.
func TestR38_RegisterCommand(t *testing.T) {
	c := newCLI(t)
	if code, _, errOut := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	steps := []struct {
		name     string
		args     []string
		code     int
		out, err string
		file     string // written, starting with want
		want     string
	}{
		{name: "a format Vigie does not write", args: []string{"register", "--out", c.file("registre.txt")}, code: 1, err: "--format \"txt\""},
		{name: "no --out", args: []string{"register", "--format", "pdf"}, code: 1, err: "--out est obligatoire"},
		{name: "an unknown version", args: []string{"register", "--version", "9", "--out", c.file("v9.csv")}, code: 1, err: "--version 9 : version inconnue"},
		{name: "PDF", args: []string{"register", "--out", c.file("registre.pdf")}, out: "version 1", file: "registre.pdf", want: "%PDF-"},
		{name: "CSV", args: []string{"register", "--out", c.file("registre.csv")}, out: "version 1", file: "registre.csv", want: "\ufeffFiche;Traitement;Rubrique;Champ;Valeur;Art. 30(1)"},
		{name: "HTML by flag", args: []string{"register", "--format", "html", "--out", c.file("registre.page")}, out: "7 activités", file: "registre.page", want: "<!DOCTYPE html>"},
		{name: "JSON to standard output", args: []string{"register", "--format", "json", "--out", "-"}, out: `"format": "vigie-registre-art30/1"`},
		{name: "a rule changed", args: []string{"lifecycle", "set-rule", "--rule", "prospect", "--months", "48", "--reason", "Nouvelle recommandation de la CNIL"}},
		{name: "the new version", args: []string{"register", "--out", c.file("registre-v2.csv")}, out: "version 2", file: "registre-v2.csv", want: "\ufeff"},
		{name: "the first version as it was", args: []string{"register", "--version", "1", "--out", c.file("registre-v1.csv")}, out: "version 1", file: "registre-v1.csv", want: "\ufeff"},
		{name: "versions", args: []string{"register", "versions"}, out: "durées de conservation"},
	}
	for _, s := range steps {
		code, out, errOut := c.run("", s.args...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d (%s)", s.name, code, s.code, errOut)
			continue
		}
		if !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("%s: output lacks %q or %q", s.name, s.out, s.err)
		}
		if s.file != "" {
			b, err := os.ReadFile(c.file(s.file))
			if err != nil || !strings.HasPrefix(string(b), s.want) {
				t.Errorf("%s: %s not written as expected (%v)", s.name, s.file, err)
			}
		}
	}
	for _, name := range []string{"registre.txt", "v9.csv"} {
		if _, err := os.Stat(c.file(name)); err == nil {
			t.Errorf("a refused export wrote %s", name)
		}
	}
	if left, _ := filepath.Glob(c.file(".registre*")); len(left) > 0 {
		t.Errorf("temporary files left: %d", len(left))
	}
	v2, _ := os.ReadFile(c.file("registre-v2.csv"))
	v1, _ := os.ReadFile(c.file("registre-v1.csv"))
	if !strings.Contains(string(v2), "Prospects sans contact : 48 mois (4 ans)") || !strings.Contains(string(v1), "Prospects sans contact : 3 ans") {
		t.Error("the versions do not carry their own durations")
	}
}
