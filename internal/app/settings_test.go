package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettingTableIsComplete: every setting has a VIGIE_ name of its own, a group, a description,
// a way into Config (the configuration file excepted), and a default its own rule accepts.
func TestSettingTableIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range SettingTable() {
		switch {
		case !strings.HasPrefix(s.Env, "VIGIE_"):
			t.Errorf("%s: not a VIGIE_ name", s.Env)
		case seen[s.Env]:
			t.Errorf("%s: twice in the table", s.Env)
		case s.Doc == "" || s.Group == "":
			t.Errorf("%s: no description or group", s.Env)
		case (s.set == nil || s.get == nil) && s.Env != ConfigFileEnv:
			t.Errorf("%s: does not reach Config", s.Env)
		case s.Default != "" && s.check != nil && s.Env != "VIGIE_DATABASE_URL" && !strings.HasSuffix(s.Env, "_KEY_FILE"):
			if err := s.check(s.Default); err != nil {
				t.Errorf("%s: the default %q breaks the rule: %v", s.Env, s.Default, err)
			}
		}
		seen[s.Env] = true
	}
}

// TestEachSettingRefusesAWrongValueNamingIt: a wrong value is refused by LoadSettings with a
// message that names the setting and says what is wanted; a right one is taken.
func TestEachSettingRefusesAWrongValueNamingIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "open.key"), []byte(strings.Repeat("ab", 32)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.key"), []byte("abcd"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		setting, value string
		ok             bool
		want           string
	}{
		{"VIGIE_DATABASE_URL", "postgres://vigie@db.internal:5432/vigie?sslmode=verify-full", true, ""},
		{"VIGIE_DATABASE_URL", "postgres://vigie@/vigie?host=/run/postgresql", true, ""},
		{"VIGIE_DATABASE_URL", filepath.Join(dir, "vigie.db"), true, ""},
		{"VIGIE_DATABASE_URL", "postgres://vigie@db:port/vigie", false, "not a valid PostgreSQL URL"},
		{"VIGIE_DATABASE_URL", "postgres://vigie@db/vigie?sslmode=sometimes", false, "not a valid PostgreSQL URL"},
		{"VIGIE_DATABASE_URL", "postgresql:vigie", false, "want postgres://"},
		{"VIGIE_DATABASE_URL", "sqlite://vigie.db", false, "want postgres://"},
		{"VIGIE_DATABASE_URL", filepath.Join(dir, "vigie.db?mode=ro"), false, "cannot hold ?"},
		{"VIGIE_DATABASE_URL", filepath.Join(dir, "absent", "vigie.db"), false, "does not exist"},
		{"VIGIE_DATABASE_URL", dir, false, "is a directory"},
		{"VIGIE_DATABASE_URL", "host=db dbname=vigie password=secret", false, "keyword=value"},
		{"VIGIE_MASTER_KEY_FILE", filepath.Join(dir, "new.key"), true, ""},
		{"VIGIE_MASTER_KEY_FILE", filepath.Join(dir, "good.key"), true, ""},
		{"VIGIE_MASTER_KEY_FILE", dir, false, "cannot read master key file"},
		{"VIGIE_MASTER_KEY_FILE", filepath.Join(dir, "open.key"), false, "readable by others"},
		{"VIGIE_MASTER_KEY_FILE", filepath.Join(dir, "short.key"), false, "32 bytes in hexadecimal"},
		{"VIGIE_AUDIT_KEY_FILE", dir, false, "cannot read audit signing key file"},
		{"VIGIE_AUDIT_JOURNAL", filepath.Join(dir, "journal"), true, ""},
		{"VIGIE_AUDIT_JOURNAL", dir, false, "is a directory"},
		{"VIGIE_ADDR", "0.0.0.0:8443", true, ""},
		{"VIGIE_ADDR", "8080", false, "want host:port"},
		{"VIGIE_ADDR", "127.0.0.1:80800", false, "want host:port"},
		{"VIGIE_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8", true, ""},
		{"VIGIE_TRUSTED_PROXIES", "proxy.local", false, "neither an address nor a CIDR prefix"},
		{"VIGIE_CLAMD_ADDR", "unix:/run/clamav/clamd.ctl", true, ""},
		{"VIGIE_CLAMD_ADDR", "127.0.0.1:3310", true, ""},
		{"VIGIE_CLAMD_ADDR", "unix:", false, "socket's path"},
		{"VIGIE_CLAMD_ADDR", "clamd", false, "want host:port or unix:/path"},
		{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", "12", true, ""},
		{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", "six", false, "from 1 to 120"},
		{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", "0", false, "from 1 to 120"},
		{"VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", "121", false, "from 1 to 120"},
		{"VIGIE_SMTP_ADDR", "smtp.exemple.fr:587", true, ""},
		{"VIGIE_SMTP_ADDR", "smtp.exemple.fr", false, "want host:port"},
		{"VIGIE_SMTP_FROM", "Courtier <no-reply@courtier.example>", true, ""},
		{"VIGIE_SMTP_FROM", "no-reply", false, "want an address"},
		{"VIGIE_MAIL_DIR", filepath.Join(dir, "courriels"), true, ""},
		{"VIGIE_MAIL_DIR", filepath.Join(dir, "good.key"), false, "want a directory"},
		{"VIGIE_DPO_EMAIL", "dpo@courtier.example", true, ""},
		{"VIGIE_DPO_EMAIL", "DPO <dpo@courtier.example>", false, "want an e-mail address"},
		{"VIGIE_LOG_FORMAT", "json", true, ""},
		{"VIGIE_LOG_FORMAT", "JSON", false, "want text or json"},
		{"VIGIE_LIFECYCLE_HOUR", "3", true, ""},
		{"VIGIE_LIFECYCLE_HOUR", "off", true, ""},
		{"VIGIE_LIFECYCLE_HOUR", "24", false, "from 0 to 23"},
		{"VIGIE_LIFECYCLE_HOUR", "deux", false, "from 0 to 23"},
		{"VIGIE_PUBLIC_URL", "https://vigie.courtier.example", true, ""},
		{"VIGIE_PUBLIC_URL", "http://localhost:8080", true, ""},
		{"VIGIE_PUBLIC_URL", "http://vigie.courtier.example", false, "want https://"},
		{"VIGIE_PUBLIC_URL", "https://vigie.courtier.example/?a=b", false, "want no query"},
		{"VIGIE_PUBLIC_URL", "vigie.courtier.example", false, "want an absolute URL"},
		{"VIGIE_METRICS_TOKEN", strings.Repeat("a1", 16), true, ""},
		{"VIGIE_METRICS_TOKEN", "secret", false, "at least 32 characters"},
		{"VIGIE_CONFIG_FILE", filepath.Join(dir, "absent.env"), false, "cannot read it"},
		{"VIGIE_CONFIG_FILE", dir, false, "is a directory"},
	} {
		t.Run(c.setting+"="+c.value, func(t *testing.T) {
			s, err := LoadSettings(Sources{Environ: []string{c.setting + "=" + c.value}})
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if len(s.Problems()) != 1 {
				t.Errorf("%d problems, want 1: %v", len(s.Problems()), err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.setting) || !strings.Contains(msg, c.want) {
				t.Errorf("the message must name %s and say %q: %s", c.setting, c.want, msg)
			}
			if (c.setting == "VIGIE_METRICS_TOKEN" && strings.Contains(msg, c.value)) || strings.Contains(msg, "secret") {
				t.Errorf("the message repeats the secret: %s", msg)
			}
		})
	}
}

// TestPasswordsInDatabaseURLsAreMasked: a password in the database URL is never shown, even in a
// URL that does not parse.
func TestPasswordsInDatabaseURLsAreMasked(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"postgres://vigie:s3cr3t@db:5432/vigie", "postgres://vigie:xxxxx@db:5432/vigie"},
		{"postgres://vigie:s3/cr?3t@db:port/vigie", "postgres://vigie:xxxxx@db:port/vigie"},
		{"postgres://vigie@db/vigie?sslmode=require&password=s3cr3t", "postgres://vigie@db/vigie?sslmode=require&password=xxxxx"},
		{"postgres://vigie@/vigie?host=/run/postgresql", "postgres://vigie@/vigie?host=/run/postgresql"},
		{"/var/lib/vigie/vigie.db", "/var/lib/vigie/vigie.db"},
	} {
		if got := maskURLPassword(c.url); got != c.want {
			t.Errorf("%s: %s, want %s", c.url, got, c.want)
		}
	}
}

// TestPrecedence: the default, then the file, then the environment, then the flag.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vigie.env")
	if err := os.WriteFile(file, []byte("VIGIE_SMTP_FROM=Fichier <f@courtier.example>\nVIGIE_DATABASE_URL="+filepath.Join(dir, "file.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"VIGIE_DATABASE_URL=" + filepath.Join(dir, "env.db"), "PATH=/usr/bin", "VIGIE_TEST_POSTGRES_URL=postgres://x@y/z"}
	s, err := LoadSettings(Sources{Environ: environ, ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want string }{
		{r.Config.SMTPFrom, "Fichier <f@courtier.example>"},
		{r.Config.DatabaseURL, filepath.Join(dir, "env.db")},
		{r.Config.MasterKeyFile, DefaultMasterKeyFile},
		{r.Config.Controller.DPOEmail, DefaultDPOEmail},
		{r.Config.LogFormat, "text"},
		{r.Config.Addr, DefaultAddr},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	if r.Config.QuoteDataMaxAgeMonths != DefaultQuoteDataMaxAgeMonths {
		t.Errorf("quote data age %d", r.Config.QuoteDataMaxAgeMonths)
	}
	origin := map[string]string{}
	for _, v := range r.Values {
		origin[v.Setting.Env] = v.Origin()
	}
	if origin["VIGIE_SMTP_FROM"] != "file "+file+":1" || origin["VIGIE_DATABASE_URL"] != "environment" ||
		origin["VIGIE_LOG_FORMAT"] != "default" || origin["VIGIE_CONFIG_FILE"] != "flag --config" {
		t.Errorf("origins: %v", origin)
	}
	flagged, err := s.Resolve(Config{DatabaseURL: filepath.Join(dir, "flag.db")})
	if err != nil {
		t.Fatal(err)
	}
	if flagged.Config.DatabaseURL != filepath.Join(dir, "flag.db") {
		t.Errorf("the flag lost: %s", flagged.Config.DatabaseURL)
	}
	if _, err := s.Resolve(Config{DatabaseURL: "postgres://u@h:port/db"}); err == nil || !strings.Contains(err.Error(), "--database-url") {
		t.Errorf("a wrong flag value must be refused naming the flag: %v", err)
	}
}

// TestConfigFileSyntax: the format of /etc/vigie/vigie.env, which systemd and sh read too.
func TestConfigFileSyntax(t *testing.T) {
	for _, c := range []struct {
		name, line, setting, want string // want: the value, or the problem when problem is set
		problem                   bool
	}{
		{"bare", "VIGIE_CONTROLLER_NAME=Courtier", "VIGIE_CONTROLLER_NAME", "Courtier", false},
		{"spaces around", "  VIGIE_CONTROLLER_NAME = Courtier  ", "VIGIE_CONTROLLER_NAME", "Courtier", false},
		{"double quotes", `VIGIE_CONTROLLER_NAME="Courtier Exemple SAS"`, "VIGIE_CONTROLLER_NAME", "Courtier Exemple SAS", false},
		{"escapes", `VIGIE_CONTROLLER_NAME="Le \"Courtier\" \\ SAS"`, "VIGIE_CONTROLLER_NAME", `Le "Courtier" \ SAS`, false},
		{"single quotes", `VIGIE_SMTP_FROM='Vigie <no-reply@courtier.example>'`, "VIGIE_SMTP_FROM", "Vigie <no-reply@courtier.example>", false},
		{"export", "export VIGIE_LOG_FORMAT=json", "VIGIE_LOG_FORMAT", "json", false},
		{"CRLF", "VIGIE_LOG_FORMAT=json\r", "VIGIE_LOG_FORMAT", "json", false},
		{"empty is unset", "VIGIE_LOG_FORMAT=", "VIGIE_LOG_FORMAT", "text", false},
		{"no =", "VIGIE_LOG_FORMAT json", "", "want NAME=value", true},
		{"unclosed", `VIGIE_CONTROLLER_NAME="Courtier`, "", "not closed", true},
		{"quote inside", `VIGIE_CONTROLLER_NAME="Le "Courtier""`, "", "double quote inside double quotes", true},
		{"unknown", "VIGIE_LOG_FORMATS=json", "", "did you mean VIGIE_LOG_FORMAT?", true},
		{"not a VIGIE_ name", "PATH=/usr/bin", "", "PATH", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "vigie.env")
			if err := os.WriteFile(file, []byte("# réglages\n\n"+c.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadSettings(Sources{ConfigFile: file})
			if c.problem {
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), file+":3") {
					t.Fatalf("want a problem at line 3 saying %q: %v", c.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range s.values {
				if v.Setting.Env == c.setting && v.Raw != c.want {
					t.Errorf("%s = %q, want %q", c.setting, v.Raw, c.want)
				}
			}
		})
	}
}

// TestOpenRefusesABadConfigurationAndCreatesNothing: Open checks a Config however it was made,
// by the same table, before it opens (and so creates) the database.
func TestOpenRefusesABadConfigurationAndCreatesNothing(t *testing.T) {
	for _, c := range []struct {
		name    string
		cfg     func(dir string) Config
		setting string
	}{
		{"SMTP address", func(dir string) Config { return Config{SMTPAddr: "smtp.exemple.fr"} }, "VIGIE_SMTP_ADDR"},
		{"quote data age", func(dir string) Config { return Config{QuoteDataMaxAgeMonths: -1} }, "VIGIE_QUOTE_DATA_MAX_AGE_MONTHS"},
		{"metrics token", func(dir string) Config { return Config{MetricsToken: "court"} }, "VIGIE_METRICS_TOKEN"},
		{"master key", func(dir string) Config { return Config{MasterKeyFile: dir} }, "VIGIE_MASTER_KEY_FILE"},
		{"SMTP user without password", func(dir string) Config { return Config{SMTPUsername: "vigie"} }, "VIGIE_SMTP_USERNAME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := c.cfg(dir)
			cfg.DatabaseURL = filepath.Join(dir, "vigie.db")
			_, err := Open(context.Background(), cfg, nil)
			var refused *ConfigError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), c.setting) {
				t.Fatalf("err = %v, want a refusal naming %s", err, c.setting)
			}
			if _, err := os.Stat(cfg.DatabaseURL); err == nil {
				t.Error("the database file was created")
			}
		})
	}
}

// TestConfigFromEnvKeepsItsDefaults: the compatibility entry point fills what is empty from the
// environment, then the defaults, as it always did.
func TestConfigFromEnvKeepsItsDefaults(t *testing.T) {
	t.Setenv("VIGIE_DATABASE_URL", "")
	t.Setenv("VIGIE_SMTP_ADDR", "smtp.courtier.example:25")
	c := ConfigFromEnv(Config{MasterKeyFile: "/etc/vigie/keys/vigie.key"})
	if c.DatabaseURL != DefaultSQLiteFile || c.MasterKeyFile != "/etc/vigie/keys/vigie.key" || c.AuditKeyFile != DefaultAuditKeyFile ||
		c.SMTPAddr != "smtp.courtier.example:25" || c.SMTPFrom != DefaultSMTPFrom || c.Controller.Name != DefaultControllerName ||
		c.QuoteDataMaxAgeMonths != DefaultQuoteDataMaxAgeMonths {
		t.Errorf("%+v", c)
	}
}

// TestConfigurationReferenceIsCurrent: docs/configuration.md is what the table generates, so the
// documentation cannot drift from the code.
func TestConfigurationReferenceIsCurrent(t *testing.T) {
	var want bytes.Buffer
	if err := WriteReference(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("docs/configuration.md is not what the settings table generates: run `go run ./cmd/vigie config --reference > docs/configuration.md`")
	}
	for _, s := range SettingTable() {
		if !bytes.Contains(got, []byte("### "+s.Env)) {
			t.Errorf("%s is not documented", s.Env)
		}
	}
}
