package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"vigie/internal/db"
	"vigie/internal/rights"
)

// TestRightsCommand runs `vigie rights` as the DPO's engineer would: the queue shows the late
// request; the access archive is written in every format, the ZIP with its evidence; an erasure
// asks for confirmation, prints its certificate and closes its request; every refusal — no or a
// bad --person, an unknown person, a request of someone else, a second erasure, a "non" — names
// the flag, exits non-zero and changes nothing.
func TestRightsCommand(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"migrate"}, {"demo", "--persons", "4"}} {
		if code, _, errOut := c.run("", args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
	}
	late := submitRequest(t, 1, "access", 40*24*time.Hour)
	erasure := submitRequest(t, 2, "erasure", 0)
	zipFile, jsonFile := c.file("acces.zip"), c.file("acces.json")
	steps := []struct {
		name       string
		stdin      string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
		unchanged  bool // the step must leave every table as it was
	}{
		{"no subcommand", "", []string{"rights"}, 2, "", "vigie rights erase --person N", true},
		{"unknown subcommand", "", []string{"rights", "forget", "--person", "1"}, 2, "", "Usage", true},
		{"queue", "", []string{"rights", "list"}, 0, "EN RETARD", "", false},
		{"queue shows the erasure request", "", []string{"rights", "list"}, 0, "Effacement (art. 17)", "", false},
		{"queue with a stray argument", "", []string{"rights", "list", "now"}, 2, "", `unexpected argument "now"`, true},
		{"export without --person", "", []string{"rights", "export", "--out", zipFile}, 1, "", "--person est obligatoire", true},
		{"export with a negative --person", "", []string{"rights", "export", "--person", "-3", "--out", zipFile}, 1, "", "--person -3 : un numéro de personne positif", true},
		{"export with a --person that is not a number", "", []string{"rights", "export", "--person", "Dupont", "--out", zipFile}, 2, "", "-person", true},
		{"export without --out", "", []string{"rights", "export", "--person", "1"}, 1, "", "--out est obligatoire", true},
		{"export in an unknown format", "", []string{"rights", "export", "--person", "1", "--out", zipFile, "--format", "pdf"}, 1, "", `--format "pdf" : valeurs admises zip, json, csv, html`, true},
		{"export of an unknown person", "", []string{"rights", "export", "--person", "999", "--out", zipFile}, 1, "", "--person 999 : rights: personne inconnue", true},
		{"export as ZIP", "", []string{"rights", "export", "--person", "1", "--out", zipFile}, 0, "preuve (SHA-256 de l'archive) : sha256:", "", false},
		{"export as JSON", "", []string{"rights", "export", "--person", "1", "--out", jsonFile, "--format", "json"}, 0, "(json) : ", "", false},
		{"export as CSV", "", []string{"rights", "export", "--person", "1", "--out", c.file("acces.csv"), "--format", "csv"}, 0, "(csv)", "", false},
		{"export as HTML", "", []string{"rights", "export", "--person", "1", "--out", c.file("acces.html"), "--format", "html"}, 0, "(html)", "", false},
		{"erase without --person", "", []string{"rights", "erase", "--yes"}, 1, "", "--person est obligatoire", true},
		{"erase with a negative --person", "", []string{"rights", "erase", "--person", "-1", "--yes"}, 1, "", "positif", true},
		{"erase with a negative --request", "", []string{"rights", "erase", "--person", "2", "--request", "-4", "--yes"}, 1, "", "--request : un numéro de demande positif", true},
		{"erase an unknown person", "", []string{"rights", "erase", "--person", "999", "--yes"}, 1, "", "--person 999 : rights: personne inconnue ; rien n'a été modifié", true},
		{"erase answered no", "non\n", []string{"rights", "erase", "--person", "2"}, 1, "effacer la personne 2 ? (oui/non)", "effacement annulé : rien n'a été modifié", true},
		{"erase without an answer", "", []string{"rights", "erase", "--person", "2"}, 1, "(oui/non)", "effacement annulé", true},
		{"erase with the request of someone else", "", []string{"rights", "erase", "--person", "2", "--request", fmt.Sprint(late), "--yes"}, 1, "",
			fmt.Sprintf("--request %d : demande inconnue pour cette personne (règle owner) ; rien n'a été modifié", late), true},
		{"erase", "oui\n", []string{"rights", "erase", "--person", "2", "--request", fmt.Sprint(erasure)}, 0, "personne 2 effacée le", "", false},
		{"a second erasure is refused", "", []string{"rights", "erase", "--person", "2", "--yes"}, 1, "", "--person 2 : rights: cette personne a déjà été effacée ; rien n'a été modifié", true},
		{"the closed request in the whole queue", "", []string{"rights", "list", "--all"}, 0, "closed", "", false},
		{"the erasure request left the open queue", "", []string{"rights", "list"}, 0, "Accès (art. 15)", "", true},
		{"the trail verifies", "", []string{"audit", "verify"}, 0, "OK: the trail verifies", "", true},
	}
	for _, s := range steps {
		before := snapshot(t, c)
		code, out, errOut := c.run(s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErrOut) {
			t.Errorf("%s: exit %d, want %d; stdout has %q: %v; stderr has %q: %v", s.name, code, s.code,
				s.wantOut, strings.Contains(out, s.wantOut), s.wantErrOut, strings.Contains(errOut, s.wantErrOut))
		}
		if after := snapshot(t, c); s.unchanged && after != before {
			t.Errorf("%s changed the database:\n before %s\n after  %s", s.name, before, after)
		}
		switch s.name {
		case "export as ZIP":
			data, err := os.ReadFile(zipFile)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); !strings.Contains(out, "sha256:"+hex.EncodeToString(sum[:])) {
				t.Error("the evidence printed is not the SHA-256 of the ZIP written")
			}
		case "erase":
			for _, want := range []string{"supprimé :", "search_index", "subject_keys", "clé de chiffrement de la personne détruite",
				"preuve (SHA-256 du certificat, dans le journal d'audit) : sha256:", fmt.Sprintf("demande %d close avec cette preuve", erasure)} {
				if !strings.Contains(out, want) {
					t.Errorf("the certificate does not say %q", want)
				}
			}
		case "the erasure request left the open queue":
			if strings.Contains(out, "Effacement") {
				t.Error("the closed erasure request is still in the open queue")
			}
		}
	}
	checkArchives(t, zipFile, jsonFile)
}

// submitRequest records a request received some time ago, through the rights service.
func submitRequest(t *testing.T, person int64, typ string, ago time.Duration) int64 {
	t.Helper()
	a := cliApp(t, func() time.Time { return time.Now().Add(-ago) })
	defer a.Close()
	id, err := a.Rights.Submit(context.Background(), rights.Staff{Department: "dpo"}, rights.NewRequest{PersonID: person, Type: typ, Channel: "letter",
		Details: "Demande reçue par courrier", IdentityCheck: "known_contact"})
	if err != nil {
		t.Fatalf("submit %s request: %v", typ, err)
	}
	return id
}

// snapshot counts what an erasure or an export changes: the rows of the tables linked to a
// person, the persons not erased, the suppression list, closed requests, and the audit trail.
func snapshot(t *testing.T, c *cli) string {
	t.Helper()
	d, err := db.Open(context.Background(), c.file("vigie.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var b strings.Builder
	for _, q := range []string{
		"persons WHERE erased_at IS NULL", "subject_keys", "search_index", "quotes", "contracts", "interactions", "consents",
		"suppressions", "rights_requests WHERE status = 'closed'", "audit_events WHERE chain = 'record'",
	} {
		var n int64
		if err := d.QueryRow("SELECT count(*) FROM " + q).Scan(&n); err != nil {
			t.Fatalf("snapshot %s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s=%d ", strings.Fields(q)[0], n)
	}
	return b.String()
}

// checkArchives opens the written archives: files readable by their owner only, a ZIP with the
// page, the JSON and the CSV, a JSON in the documented format.
func checkArchives(t *testing.T, zipFile, jsonFile string) {
	t.Helper()
	for _, f := range []string{zipFile, jsonFile} {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600: it holds personal data", info.Name(), info.Mode().Perm())
		}
	}
	zr, err := zip.OpenReader(zipFile)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, want := range []string{"mes-donnees.html", "mes-donnees.json", "mes-donnees.csv"} {
		if !names[want] {
			t.Errorf("the ZIP has no %s", want)
		}
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var ar rights.Archive
	if err := json.Unmarshal(data, &ar); err != nil || ar.Format != rights.AccessFormat || ar.PersonID != 1 || len(ar.Categories) == 0 {
		t.Errorf("the JSON archive: format %q, person %d, %d categories, error %v", ar.Format, ar.PersonID, len(ar.Categories), err)
	}
}
