// Package typescript_test proves /api/v1/openapi.json usable by a real client: a TypeScript client
// generated from the live document by openapi-typescript, used through openapi-fetch, type-checked
// by tsc and run on Node against a running server.
package typescript_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie/internal/app/apptest"
	"vigie/internal/auth"
	"vigie/internal/server"
)

// sources are what the check needs from this folder; it runs on a copy, so node_modules, the
// generated types and the compiled scenario never land in the source tree.
var sources = []string{"package.json", "package-lock.json", "tsconfig.json", "src/conformance.ts", "src/scenario.ts"}

// TestGeneratedTypeScriptClient starts the server on a fresh SQLite database, generates the
// TypeScript client's types from its /api/v1/openapi.json, type-checks the scenario against them
// and runs it on Node with a script token of the quotes department and one of the DPO. The
// scenario checks every answer's status and body against the document.
func TestGeneratedTypeScriptClient(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and npm are required under CI: node: %v; npm: %v", errNode, errNpm)
		}
		t.Skip("node or npm not found: the generated TypeScript client is not checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, env []string, bin string, args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), append([]string{"NO_COLOR=1", "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false"}, env...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		t.Logf("%s (%.1fs)", name, time.Since(start).Seconds())
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out.String())
		}
		return out.String()
	}
	// The pinned packages of package-lock.json, from npm's cache when it has them.
	run("npm ci", nil, npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")

	a := apptest.New(t, "sqlite")
	tokens := map[string]string{}
	for _, dep := range []string{"devis", "dpo"} {
		u, err := a.Auth.ProvisionUser(ctx, dep+"@client-ts.example", "Script "+dep, dep, "Un-mot-de-passe-long-2026")
		if err != nil {
			t.Fatal(err)
		}
		if tokens[dep], err = a.Auth.IssueToken(ctx, u, auth.KindScript); err != nil {
			t.Fatal(err)
		}
	}
	// The server as `vigie serve` builds it, minus the staff pages, which the API does not need.
	srv := httptest.NewServer(server.New(a, http.NotFoundHandler()))
	defer srv.Close()

	bin := filepath.Join(work, "node_modules", ".bin")
	run("openapi-typescript", nil, filepath.Join(bin, "openapi-typescript"), srv.URL+"/api/v1/openapi.json", "-o", "src/vigie-api.d.ts")
	// tsc type-checks the scenario against the generated types; noEmitOnError (tsconfig.json) makes
	// any type error fail it before anything is emitted.
	run("tsc", nil, filepath.Join(bin, "tsc"), "-p", ".")
	out := run("scenario", []string{"VIGIE_URL=" + srv.URL, "VIGIE_TOKEN=" + tokens["devis"], "VIGIE_DPO_TOKEN=" + tokens["dpo"]},
		node, "dist/scenario.js")
	t.Logf("scenario:\n%s", out)
	if !strings.Contains(out, "\nPASS\n") {
		t.Fatalf("the scenario did not pass")
	}
}
