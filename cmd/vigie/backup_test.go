package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"vigie/internal/db"
)

// TestR41_BackupRestoreAndRotationCommands runs the commands as the README gives them: a backup
// and the key store export (both mode 0600), the backup checked, restored into a new database,
// refused into one with data; the master key rotated; the backup made before the rotation still
// restored, with the live database's key store, and the result opened by the next command.
func TestR41_BackupRestoreAndRotationCommands(t *testing.T) {
	c := newCLI(t)
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := c.run("", args...)
		if code != 0 {
			t.Fatalf("vigie %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	must("migrate")
	must("demo", "--persons", "20")
	must("backup", "--out", c.file("vigie.vbk"))
	must("backup", "keys", "--out", c.file("cles.vks"))
	for _, f := range []string{"vigie.vbk", "cles.vks"} {
		info, err := os.Stat(c.file(f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v (%v), want 0600", f, info.Mode().Perm(), err)
		}
	}
	if out := must("backup", "check", "--in", c.file("vigie.vbk")); !strings.Contains(out, "complete, intact backup") {
		t.Errorf("backup check: %s", out)
	}
	out := must("restore", "--in", c.file("vigie.vbk"), "--keys", c.file("cles.vks"), "--database-url", c.file("restaure.db"))
	if !strings.Contains(out, "restored the backup") {
		t.Errorf("restore: %s", out)
	}
	if code, _, errOut := c.run("", "restore", "--in", c.file("vigie.vbk"), "--keys", c.file("cles.vks"), "--database-url", c.file("restaure.db")); code != 1 ||
		!strings.Contains(errOut, "empty database") {
		t.Errorf("a second restore into the same database: exit %d: %s", code, errOut)
	}
	if code, _, errOut := c.run("", "restore", "--in", c.file("vigie.vbk"), "--keys", c.file("cles.vks")); code != 1 || !strings.Contains(errOut, "--database-url is required") {
		t.Errorf("a restore without --database-url: exit %d: %s", code, errOut)
	}
	if out := must("keys", "rotate", "--batch", "7"); !strings.Contains(out, "from version 1 to 2") {
		t.Errorf("keys rotate: %s", out)
	}
	if out := must("keys", "status"); !strings.Contains(out, "retired") || !strings.Contains(out, "current") {
		t.Errorf("keys status: %s", out)
	}
	must("restore", "--in", c.file("vigie.vbk"), "--keys-from-database", c.file("vigie.db"), "--database-url", c.file("apres-rotation.db"))
	for _, f := range []string{"restaure.db", "apres-rotation.db"} {
		t.Setenv("VIGIE_DATABASE_URL", c.file(f))
		t.Setenv("VIGIE_AUDIT_JOURNAL", c.file(f+"-journal"))
		if out := must("audit", "verify"); out == "" {
			t.Errorf("%s: audit verify printed nothing", f)
		}
		d, err := db.Open(context.Background(), c.file(f))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = d.QueryRow(`SELECT count(*) FROM persons`).Scan(&n)
		d.Close()
		if err != nil || n != 20 {
			t.Errorf("%s: %d persons (%v), want 20", f, n, err)
		}
	}
}
