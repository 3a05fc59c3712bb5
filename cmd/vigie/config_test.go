package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie/internal/app"
)

// TestWrongSettingsAreRefusedAtStartAndNothingIsCreated: every wrong setting, whether it comes
// from the environment, the configuration file or a flag, stops the command before it does
// anything, with exit status 1 and a message naming the setting and what to fix; no database, no
// key file, nothing is created.
func TestWrongSettingsAreRefusedAtStartAndNothingIsCreated(t *testing.T) {
	for _, s := range []struct {
		name string
		env  map[string]string
		file string // the configuration file's content, given by --config
		args []string
		want []string // in the standard error
		not  string   // never in the standard error (a secret)
	}{
		{name: "unknown variable, with the closest name", env: map[string]string{"VIGIE_DATABSE_URL": "x.db"},
			want: []string{"VIGIE_DATABSE_URL (environment): unknown setting", "did you mean VIGIE_DATABASE_URL?"}},
		{name: "unknown key of the file, with the closest name", file: "VIGIE_SMPT_ADDR=smtp.exemple.fr:587\n",
			want: []string{"VIGIE_SMPT_ADDR", ".env:1", "did you mean VIGIE_SMTP_ADDR?"}},
		{name: "malformed PostgreSQL URL, password hidden", env: map[string]string{"VIGIE_DATABASE_URL": "postgres://vigie:s3cr3t@db:port/vigie"},
			want: []string{"VIGIE_DATABASE_URL", "not a valid PostgreSQL URL", "xxxxx"}, not: "s3cr3t"},
		{name: "malformed URL given by the flag", args: []string{"--database-url", "postgres://vigie:s3cr3t@db:99999999/vigie"},
			want: []string{"--database-url", "(VIGIE_DATABASE_URL)", "not a valid PostgreSQL URL"}, not: "s3cr3t"},
		{name: "another scheme than postgres", env: map[string]string{"VIGIE_DATABASE_URL": "mysql://vigie@db/vigie"},
			want: []string{"VIGIE_DATABASE_URL", "want postgres://"}},
		{name: "SQLite file in a missing directory", env: map[string]string{"VIGIE_DATABASE_URL": "/nonexistent/vigie/vigie.db"},
			want: []string{"VIGIE_DATABASE_URL", "directory /nonexistent/vigie does not exist"}},
		{name: "master key file that cannot be read", env: map[string]string{"VIGIE_MASTER_KEY_FILE": "{dir}/keydir"},
			want: []string{"VIGIE_MASTER_KEY_FILE", "cannot read master key file"}},
		{name: "master key file readable by others", env: map[string]string{"VIGIE_MASTER_KEY_FILE": "{dir}/open.key"},
			want: []string{"VIGIE_MASTER_KEY_FILE", "readable by others", "chmod 600"}},
		{name: "audit key file that cannot be read", env: map[string]string{"VIGIE_AUDIT_KEY_FILE": "{dir}/keydir"},
			want: []string{"VIGIE_AUDIT_KEY_FILE", "cannot read audit signing key file"}},
		{name: "audit journal in a missing directory", env: map[string]string{"VIGIE_AUDIT_JOURNAL": "{dir}/missing/journal"},
			want: []string{"VIGIE_AUDIT_JOURNAL", "does not exist"}},
		{name: "SMTP address without a port", env: map[string]string{"VIGIE_SMTP_ADDR": "smtp.exemple.fr"},
			want: []string{`VIGIE_SMTP_ADDR="smtp.exemple.fr": want host:port`}},
		{name: "SMTP From that is no address", env: map[string]string{"VIGIE_SMTP_FROM": "Vigie no-reply"},
			want: []string{"VIGIE_SMTP_FROM", "want an address"}},
		{name: "SMTP password without a user name", env: map[string]string{"VIGIE_SMTP_PASSWORD": "motdepasse-smtp"},
			want: []string{"VIGIE_SMTP_PASSWORD is set without VIGIE_SMTP_USERNAME"}, not: "motdepasse-smtp"},
		{name: "metrics token too short, not repeated", env: map[string]string{"VIGIE_METRICS_TOKEN": "jeton-court"},
			want: []string{"VIGIE_METRICS_TOKEN", "at least 32 characters"}, not: "jeton-court"},
		{name: "quote data age out of range", env: map[string]string{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS": "500"},
			want: []string{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", "from 1 to 120"}},
		{name: "trusted proxy that is no address", env: map[string]string{"VIGIE_TRUSTED_PROXIES": "proxy.local"},
			want: []string{"VIGIE_TRUSTED_PROXIES", "neither an address nor a CIDR prefix"}},
		{name: "clamd address", env: map[string]string{"VIGIE_CLAMD_ADDR": "clamd"},
			want: []string{"VIGIE_CLAMD_ADDR", "unix:/"}},
		{name: "DPO e-mail", env: map[string]string{"VIGIE_DPO_EMAIL": "dpo"},
			want: []string{"VIGIE_DPO_EMAIL", "want an e-mail address"}},
		{name: "log format in the file, with its line", file: "# réglages\nVIGIE_LOG_FORMAT=xml\n",
			want: []string{`VIGIE_LOG_FORMAT="xml"`, ".env:2", "want text or json"}},
		{name: "configuration file that does not exist", args: []string{"--config", "{dir}/absent.env"},
			want: []string{"--config", "VIGIE_CONFIG_FILE", "cannot read it"}},
		{name: "configuration file named by the environment that does not exist", env: map[string]string{"VIGIE_CONFIG_FILE": "{dir}/absent.env"},
			want: []string{"VIGIE_CONFIG_FILE", "cannot read it"}},
		{name: "line of the file without =", file: "VIGIE_LOG_FORMAT json\n",
			want: []string{".env:1", "want NAME=value"}},
		{name: "setting twice in the file", file: "VIGIE_LOG_FORMAT=json\nVIGIE_LOG_FORMAT=text\n",
			want: []string{"VIGIE_LOG_FORMAT", ".env:2", "already set on line 1"}},
		{name: "file naming another file", file: "VIGIE_CONFIG_FILE=/etc/autre.env\n",
			want: []string{"VIGIE_CONFIG_FILE", "cannot name another one"}},
		{name: "unclosed quote in the file", file: "VIGIE_CONTROLLER_NAME=\"Courtier Exemple\n",
			want: []string{"VIGIE_CONTROLLER_NAME", "not closed"}},
		{name: "every problem at once", env: map[string]string{"VIGIE_SMTP_ADDR": "smtp", "VIGIE_LOG_FORMAT": "yaml"},
			want: []string{"VIGIE_SMTP_ADDR", "VIGIE_LOG_FORMAT"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			c := newCLI(t)
			keep := prepareSettingFixtures(t, c.dir)
			expand := func(v string) string { return strings.ReplaceAll(v, "{dir}", c.dir) }
			for k, v := range s.env {
				t.Setenv(k, expand(v))
			}
			args := []string{"migrate"}
			for _, a := range s.args {
				args = append(args, expand(a))
			}
			if s.file != "" {
				cf := filepath.Join(t.TempDir(), "vigie.env")
				if err := os.WriteFile(cf, []byte(s.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cf)
			}
			code, out, errOut := c.run("", args...)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr:\n%s", code, errOut)
			}
			if out != "" {
				t.Errorf("the command ran: %s", out)
			}
			for _, w := range s.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if s.not != "" && strings.Contains(errOut, s.not) {
				t.Errorf("stderr repeats the secret %q", s.not)
			}
			assertNothingCreated(t, c.dir, keep)
		})
	}
}

// prepareSettingFixtures makes what the cases point at: a directory where a key file is expected,
// and a key file others can read.
func prepareSettingFixtures(t *testing.T, dir string) []string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, "keydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "open.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"keydir", "open.key"}
}

// TestUnreadableKeyFileIsRefused: a key file that exists but that vigie may not read stops it at
// start (as root every file is readable: the case needs an ordinary user).
func TestUnreadableKeyFileIsRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	c := newCLI(t)
	key := c.file("vigie.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("ab", 32)+"\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := c.run("", "migrate")
	if code != 1 || !strings.Contains(errOut, "VIGIE_MASTER_KEY_FILE") || !strings.Contains(errOut, "permission denied") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	assertNothingCreated(t, c.dir, []string{"vigie.key"})
}

// TestServeRefusesAPortInUseBeforeTouchingAnything: the address is tried before the database is
// opened, so a port in use leaves no database behind.
func TestServeRefusesAPortInUseBeforeTouchingAnything(t *testing.T) {
	c := newCLI(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, s := range []struct {
		name string
		args []string
	}{
		{"by the flag", []string{"serve", "--addr", busy.Addr().String()}},
		{"by the environment", []string{"serve"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Setenv("VIGIE_ADDR", busy.Addr().String())
			code, _, errOut := c.run("", s.args...)
			if code != 1 || !strings.Contains(errOut, "--addr "+busy.Addr().String()+" (VIGIE_ADDR): cannot listen") {
				t.Errorf("exit %d, stderr:\n%s", code, errOut)
			}
			assertNothingCreated(t, c.dir, nil)
		})
	}
}

// TestConfigShowsEveryValueAndWhereItCameFrom: the file, then the environment, then the flag win
// in turn; `vigie config` says which, and masks the secrets.
func TestConfigShowsEveryValueAndWhereItCameFrom(t *testing.T) {
	c := newCLI(t)
	token := strings.Repeat("f00d", 10)
	cf := c.file("vigie.env")
	file := "# /etc/vigie/vigie.env\n" +
		"VIGIE_SMTP_ADDR=smtp.courtier.example:587\n" +
		"VIGIE_SMTP_USERNAME=vigie\n" +
		"VIGIE_SMTP_PASSWORD='mot de passe smtp'\n" +
		"VIGIE_CONTROLLER_NAME=\"Courtier \\\"Exemple\\\" SAS\"\n" +
		"VIGIE_LOG_FORMAT=json\n" +
		"VIGIE_DPO_EMAIL=dpo@fichier.example\n"
	if err := os.WriteFile(cf, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIE_CONFIG_FILE", cf)
	t.Setenv("VIGIE_DPO_EMAIL", "dpo@environnement.example")
	t.Setenv("VIGIE_METRICS_TOKEN", token)
	t.Setenv("VIGIE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1/test") // not a setting, tolerated
	flagDB := c.file("flag.db")
	code, out, errOut := c.run("", "config", "--database-url", flagDB)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "VIGIE_") {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for _, s := range []struct{ setting, want string }{
		{"VIGIE_CONFIG_FILE", cf + " environment"},
		{"VIGIE_DATABASE_URL", flagDB + " flag --database-url"},
		{"VIGIE_SMTP_ADDR", "smtp.courtier.example:587 file " + cf + ":2"},
		{"VIGIE_SMTP_PASSWORD", "******** (set) file " + cf + ":4"},
		{"VIGIE_CONTROLLER_NAME", `Courtier "Exemple" SAS file ` + cf + ":5"},
		{"VIGIE_DPO_EMAIL", "dpo@environnement.example environment"},
		{"VIGIE_METRICS_TOKEN", "******** (set) environment"},
		{"VIGIE_LOG_FORMAT", "json file " + cf + ":6"},
		{"VIGIE_ADDR", "127.0.0.1:8080 default"},
		{"VIGIE_AUDIT_JOURNAL", c.file("vigie-audit-journal") + " environment"},
	} {
		if rows[s.setting] != s.want {
			t.Errorf("%s: %q, want %q", s.setting, rows[s.setting], s.want)
		}
	}
	if len(rows) != len(app.SettingTable()) {
		t.Errorf("%d settings printed, want %d:\n%s", len(rows), len(app.SettingTable()), out)
	}
	if strings.Contains(out, "mot de passe smtp") || strings.Contains(out, token) {
		t.Error("a secret was printed")
	}
	if !strings.Contains(out, "the configuration is valid") {
		t.Errorf("no verdict:\n%s", out)
	}
	assertNothingCreated(t, c.dir, []string{"vigie.env"})
}

// TestConfigListsWhatIsWrong: `vigie config` shows the configuration even when it is refused, then
// every problem, and exits with status 1.
func TestConfigListsWhatIsWrong(t *testing.T) {
	c := newCLI(t)
	t.Setenv("VIGIE_SMTP_ADDR", "smtp.exemple.fr")
	t.Setenv("VIGIE_LOG_FROMAT", "json")
	code, out, errOut := c.run("", "config")
	if code != 1 || !strings.Contains(errOut, "configuration is refused") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{"REFUSED", `VIGIE_SMTP_ADDR="smtp.exemple.fr": want host:port`, "VIGIE_LOG_FROMAT (environment): unknown setting; did you mean VIGIE_LOG_FORMAT?"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestConfigFileConfiguresTheCommands: the settings of the file reach the command, whether
// --config comes before or after it.
func TestConfigFileConfiguresTheCommands(t *testing.T) {
	c := newCLI(t)
	t.Setenv("VIGIE_DATABASE_URL", "")
	db := c.file("from-file.db")
	cf := c.file("vigie.env")
	if err := os.WriteFile(cf, []byte("VIGIE_DATABASE_URL="+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := c.run("", "--config", cf, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the database named by the file was not used: %v", err)
	}
	if code, out, errOut := c.run("", "migrate", "--status", "--config", cf); code != 0 || !strings.Contains(out, "0 pending") {
		t.Fatalf("migrate --status: exit %d: %s%s", code, out, errOut)
	}
}

// TestReferenceIsPrintedByConfig: `vigie config --reference` is the page the repository holds
// (internal/app checks the page against the table).
func TestReferenceIsPrintedByConfig(t *testing.T) {
	c := newCLI(t)
	code, out, _ := c.run("", "config", "--reference")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(page) {
		t.Error("docs/configuration.md differs from vigie config --reference: run `go run ./cmd/vigie config --reference > docs/configuration.md`")
	}
}
