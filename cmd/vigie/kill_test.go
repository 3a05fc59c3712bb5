package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
)

// TestR16_KillDashNineLeavesAVerifiableTrail starts the real server, writes and reads in a loop
// from several clients, kills the server with SIGKILL mid-burst, and checks that the trail
// verifies, that every stored person has its create event, and that every answered read has its
// read event: no action without its event, no acknowledged read lost.
func TestR16_KillDashNineLeavesAVerifiableTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := filepath.Join(t.TempDir(), "vigie")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, dialect := range apptest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			cfg := app.Config{MasterKeyFile: filepath.Join(dir, "vigie.key"), AuditKeyFile: filepath.Join(dir, "vigie-audit.key"),
				DatabaseURL: filepath.Join(dir, "vigie.db"), AuditJournal: filepath.Join(dir, "vigie-audit-journal")}
			if dialect == "postgres" {
				cfg.DatabaseURL = apptest.PostgresSchemaURL(t)
			}
			env := append(os.Environ(), "VIGIE_DATABASE_URL="+cfg.DatabaseURL, "VIGIE_MASTER_KEY_FILE="+cfg.MasterKeyFile,
				"VIGIE_AUDIT_KEY_FILE="+cfg.AuditKeyFile, "VIGIE_AUDIT_JOURNAL="+cfg.AuditJournal)
			vigie := func(stdin string, args ...string) string {
				cmd := exec.Command(bin, args...)
				cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("vigie %s: %v", args[0], err)
				}
				return strings.TrimSpace(string(out))
			}
			vigie("", "migrate")
			vigie("Un-mot-de-passe-long-2026\n", "user", "add", "--email", "agent@courtier.example", "--department", "devis")
			token := vigie("", "user", "token", "--email", "agent@courtier.example")

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			server := exec.Command(bin, "serve", "--addr", addr)
			server.Env = env
			if err := server.Start(); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, addr)

			var created sync.Map
			var reads atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 5 * time.Second}
			for w := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						body := fmt.Sprintf(`{"first_name":"Prénom","last_name":"Nom","email":"p%d.%d@exemple.fr"}`, w, i)
						id, ok := call(client, "POST", "http://"+addr+"/api/v1/persons", token, body)
						if !ok {
							return
						}
						created.Store(id, true)
						if _, ok := call(client, "GET", fmt.Sprintf("http://%s/api/v1/persons/%d", addr, id), token, ""); !ok {
							return
						}
						reads.Add(1)
					}
				}()
			}
			time.Sleep(1500 * time.Millisecond)
			server.Process.Signal(syscall.SIGKILL)
			server.Wait()
			close(stop)
			wg.Wait()

			a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			report, err := audit.Verify(context.Background(), a.DB, a.Audit.PublicKey(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !report.OK() {
				t.Fatalf("trail after kill -9: %v", report.Problems)
			}
			var persons, createEvents, readEvents int64
			a.DB.QueryRow(`SELECT count(*) FROM persons`).Scan(&persons)
			a.DB.QueryRow(`SELECT count(*) FROM audit_events WHERE chain = 'record' AND action = 'create' AND table_name = 'persons'`).Scan(&createEvents)
			a.DB.QueryRow(`SELECT count(*) FROM audit_events WHERE chain = 'access' AND action = 'read' AND table_name = 'persons'`).Scan(&readEvents)
			acknowledged := 0
			created.Range(func(k, _ any) bool { acknowledged++; return true })
			if persons != createEvents || int64(acknowledged) > persons {
				t.Errorf("%d persons stored, %d create events, %d creations acknowledged", persons, createEvents, acknowledged)
			}
			// Every acknowledged create answered with the record (one read), and every acknowledged
			// GET is one more read.
			if readEvents < int64(acknowledged)+reads.Load() {
				t.Errorf("%d read events, %d acknowledged reads", readEvents, int64(acknowledged)+reads.Load())
			}
			t.Logf("after SIGKILL: %d persons stored, %d create events, %d creations acknowledged; %d read events, %d reads acknowledged",
				persons, createEvents, acknowledged, readEvents, int64(acknowledged)+reads.Load())
			if acknowledged < 10 {
				t.Errorf("only %d persons created before the kill: the burst did not run", acknowledged)
			}
		})
	}
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not start")
}

// call sends a request and returns the id of the answered record; ok is false once the server is
// gone or answers anything but success.
func call(c *http.Client, method, url, token, body string) (int64, bool) {
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var rec struct{ ID int64 }
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&rec) != nil {
		return 0, false
	}
	return rec.ID, true
}
