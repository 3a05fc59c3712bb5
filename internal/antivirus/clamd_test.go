package antivirus_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie/internal/antivirus"
	"vigie/internal/api"
	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/record"
)

// eicar is the standard antivirus test file, assembled at run time so that the repository itself
// holds no file an antivirus would flag.
func eicar() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
}

// startClamd runs Debian's clamd on a Unix socket with a signature database written here: the
// EICAR signature only (the public signature download is not reachable from this machine).
func startClamd(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/clamd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("clamd is required under CI (Debian package clamav-daemon): %v", err)
		}
		t.Skip("clamd not installed (apt-get install clamav-daemon)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	os.Mkdir(db, 0o755)
	sum := md5.Sum(eicar())
	os.WriteFile(filepath.Join(db, "vigie-test.hdb"), []byte(fmt.Sprintf("%s:%d:Eicar-Test-Signature\n", hex.EncodeToString(sum[:]), len(eicar()))), 0o644)
	sock := filepath.Join(dir, "clamd.sock")
	conf := filepath.Join(dir, "clamd.conf")
	os.WriteFile(conf, []byte(strings.Join([]string{
		"LocalSocket " + sock, "Foreground yes", "DatabaseDirectory " + db, "TemporaryDirectory " + dir,
		"LogFile " + filepath.Join(dir, "clamd.log"), "PidFile " + filepath.Join(dir, "clamd.pid"), "",
	}, "\n")), 0o644)
	cmd := exec.Command(bin, "--config-file="+conf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c, err := antivirus.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if _, err := c.Scan(context.Background(), []byte("ping")); err == nil {
			return "unix:" + sock
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
	t.Fatalf("clamd did not start: %s", log)
	return ""
}

// TestR42_UploadsAreScanned: clamd finds the EICAR file and passes a clean one; an upload of the
// EICAR file through the API is refused with a message naming the field, and nothing is stored;
// an unreachable daemon refuses the upload rather than storing it unscanned.
func TestR42_UploadsAreScanned(t *testing.T) {
	addr := startClamd(t)
	c, _ := antivirus.New(addr)
	ctx := context.Background()
	if found, err := c.Scan(ctx, eicar()); err != nil || !strings.Contains(found, "Eicar") {
		t.Fatalf("EICAR: %q, %v", found, err)
	}
	if found, err := c.Scan(ctx, []byte("Attestation d'assurance, rien à signaler.")); err != nil || found != "" {
		t.Fatalf("clean file: %q, %v", found, err)
	}
	if _, err := antivirus.New("8080"); err == nil {
		t.Error("an address without a host was accepted")
	}

	a := apptest.New(t, "sqlite")
	a.Records = record.NewStore(a.DB, a.Dict, a.Keys, a.Audit, a.Now, record.WithScanner(c))
	u, err := a.Auth.CreateUser(ctx, "contrats@test.vigie.local", "Agent Contrats", "contrats", "Vigie-Quartz-Tournesol-9187")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := a.Auth.IssueToken(ctx, u, auth.KindScript)
	p, err := a.Records.Create(ctx, a.Auth.Actor(u), "persons", record.Input{Fields: map[string]json.RawMessage{
		"first_name": json.RawMessage(`"Anne"`), "last_name": json.RawMessage(`"Test"`)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(a))
	defer srv.Close()
	upload := func(content []byte) (int, map[string]any) {
		body := fmt.Sprintf(`{"person_id":%d,"kind":"certificate","filename":"attestation.txt","content_type":"text/plain","content":"%s"}`,
			p.ID, base64.StdEncoding.EncodeToString(content))
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/documents", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	count := func() (n int) { a.DB.QueryRow(`SELECT count(*) FROM documents`).Scan(&n); return }
	if status, body := upload(eicar()); status != 400 || !strings.Contains(fmt.Sprint(body["fields"]), "antivirus") {
		t.Errorf("EICAR upload: %d %v", status, body["fields"])
	}
	if count() != 0 {
		t.Error("the infected file was stored")
	}
	if status, _ := upload([]byte("Attestation d'assurance.")); status != 201 || count() != 1 {
		t.Errorf("clean upload: %d", status)
	}
	down, _ := antivirus.New("unix:" + filepath.Join(t.TempDir(), "none.sock"))
	a.Records = record.NewStore(a.DB, a.Dict, a.Keys, a.Audit, a.Now, record.WithScanner(down))
	srv.Config.Handler = api.New(a)
	if status, _ := upload([]byte("Attestation.")); status != 503 || count() != 1 {
		t.Errorf("upload with clamd down: %d, %d documents", status, count())
	}
}
