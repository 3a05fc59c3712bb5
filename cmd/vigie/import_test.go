package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestImportLegacyCommand runs `vigie import legacy` as a user would (R07): the report names the
// NIR and blood-group columns it dropped, a dry run writes nothing, a file in Latin-1 is refused
// with the iconv hint, the same extract imported twice brings no one in twice (doublons), and the
// import is on record in a trail that still verifies.
func TestImportLegacyCommand(t *testing.T) {
	c := newCLI(t)
	const csv, mapping = "../../internal/importer/testdata/legacy_crm.csv", "../../internal/importer/testdata/legacy_crm.mapping.json"
	data, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	latin1 := c.file("latin1.csv")
	if err := os.WriteFile(latin1, bytes.ReplaceAll(data, []byte("Hélène"), []byte("H\xe9l\xe8ne")), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
	}{
		{"migrate", []string{"migrate"}, 0, "applied", ""},
		{"no subcommand", []string{"import"}, 2, "", "vigie import legacy FILE.csv --mapping"},
		{"no mapping", []string{"import", "legacy", csv}, 2, "", "--mapping are required"},
		{"bad --now", []string{"import", "legacy", csv, "--mapping", mapping, "--now", "01/06/2026"}, 1, "", "--now"},
		{"missing mapping file", []string{"import", "legacy", csv, "--mapping", c.file("nope.json")}, 1, "", "open mapping"},
		{"Latin-1 file", []string{"import", "legacy", latin1, "--mapping", mapping}, 1, "", "iconv -f WINDOWS-1252 -t UTF-8"},
		{"dry run", []string{"import", "legacy", csv, "--mapping", mapping, "--now", "2026-06-01", "--dry-run"}, 0, "simulation : rien n'a été écrit", ""},
		{"nothing written by the dry run", []string{"audit", "verify"}, 0, "record chain: 0 events", ""},
		{"import", []string{"import", "legacy", csv, "--mapping", mapping, "--now", "2026-06-01"}, 0, "num_secu        sensible : NIR (R03)", ""},
		{"the same extract again: doublons", []string{"import", "legacy", csv, "--mapping", mapping, "--now", "2026-06-01"}, 0, "persons.email : personne déjà dans Vigie", ""},
		{"json report", []string{"import", "legacy", csv, "--mapping", mapping, "--now", "2026-06-01", "--dry-run", "--format", "json"}, 0, `"reason": "sensible : groupe sanguin"`, ""},
		{"the import is on record", []string{"audit", "verify"}, 0, "OK: the trail verifies", ""},
	}
	for _, s := range steps {
		code, out, errOut := c.run("", s.args...)
		if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; stdout has %q: %v; stderr has %q: %v", s.name, code, s.code,
				s.wantOut, strings.Contains(out, s.wantOut), s.wantErrOut, strings.Contains(errOut, s.wantErrOut))
		}
	}
}
