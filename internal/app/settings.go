package app

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"vigie/internal/antivirus"
	"vigie/internal/keys"
)

//go:generate sh -c "go run ../../cmd/vigie config --reference > ../../docs/configuration.md"

// A Setting is one line of Vigie's configuration: the VIGIE_ variable (also the key of the
// configuration file), the flag that overrides it, its default, what it is for, its rule, and
// whether it is a secret. SettingTable lists them all; loading (LoadSettings), the checks of Open,
// `vigie config` and the reference page docs/configuration.md are all made from it.
type Setting struct {
	// Env is the environment variable, and the key of the configuration file.
	Env string
	// Flag is the command-line flag that overrides it, prefixed by its command when only one
	// command has it ("serve --addr"); empty when there is none.
	Flag string
	// Group is the heading of the reference page it is listed under.
	Group string
	// Default is the value when nothing sets it; DefaultDoc says what that means when it is not a
	// plain value (none, or derived from another setting).
	Default    string
	DefaultDoc string
	// Doc says what the setting is for; Rule what a value must be.
	Doc  string
	Rule string
	// Secret settings are never printed: `vigie config` and every message mask them.
	Secret bool

	// check refuses a value (never empty: an empty value is no value) with what to fix.
	check func(v string) error
	// set copies a checked value into the typed configuration; get reads it back, empty when
	// unset (a value a caller or a flag already put in a Config wins over the loaded ones).
	set func(c *Config, v string)
	get func(c Config) string
	// mask shows a value that may carry a secret (a password in a URL); nil: shown as it is.
	mask func(v string) string
	// derive gives the effective value when the setting is unset and its default depends on
	// others (the audit journal beside the SQLite file); nil: the default.
	derive func(c Config) string
}

// Groups of the reference page, in its order.
const (
	groupFile    = "Configuration file"
	groupStorage = "Database and keys"
	groupServer  = "Server"
	groupMail    = "Mail"
	groupNotice  = "Privacy notice"
	groupOps     = "Operations"
)

// DefaultAddr is loopback only: exposing Vigie beyond the machine is a decision (TLS, proxy).
const DefaultAddr = "127.0.0.1:8080"

// Default controller, the demo broker named in the privacy notice unless VIGIE_CONTROLLER_* say
// otherwise.
const (
	DefaultControllerName    = "Dev'Immédiat, courtier en assurance automobile"
	DefaultControllerAddress = "12 rue de la République, 69002 Lyon"
	DefaultDPOEmail          = "dpo@dev-immediat.fr"
)

// ConfigFileEnv names the configuration file; it is also `--config FILE` on the command line.
const ConfigFileEnv = "VIGIE_CONFIG_FILE"

// IgnoredVariables are VIGIE_ variables that are not settings of vigie but may be in its
// environment, with why: they are neither refused as unknown nor used.
func IgnoredVariables() map[string]string {
	return map[string]string{
		"VIGIE_TEST_POSTGRES_URL": "the PostgreSQL server of the tests (DEVELOPERS.md); vigie itself does not read it",
		"VIGIE_UPDATE_GUIDES":     "1 makes TestGuideScreenshots take the guides' screenshots again (docs/guides); vigie itself does not read it",
	}
}

// SettingTable is every setting of Vigie, in the order of the reference page.
func SettingTable() []Setting {
	str := func(field func(c *Config) *string) (func(*Config, string), func(Config) string) {
		return func(c *Config, v string) { *field(c) = v }, func(c Config) string { return *field(&c) }
	}
	var s []Setting
	add := func(st Setting, field func(c *Config) *string) {
		if field != nil {
			st.set, st.get = str(field)
		}
		s = append(s, st)
	}
	add(Setting{Env: ConfigFileEnv, Flag: "--config", Group: groupFile,
		DefaultDoc: "none",
		Doc: "A file of settings, one `VIGIE_NAME=value` line each (blank lines and lines starting with `#` are skipped; " +
			"a value may be in double or single quotes): the format of `/etc/vigie/vigie.env`, so the file systemd reads " +
			"can be given as it is. The environment overrides the file, and flags override both.",
		Rule:  "a readable file; every key a setting of this page (VIGIE_CONFIG_FILE itself excepted), each once",
		check: checkReadableFile}, nil)
	add(Setting{Env: "VIGIE_DATABASE_URL", Flag: "--database-url", Group: groupStorage, Default: DefaultSQLiteFile,
		DefaultDoc: "`vigie.db`, a SQLite file in the working directory",
		Doc: "The database: a `postgres://` URL selects PostgreSQL, anything else is the path of a SQLite file. " +
			"A password in the URL is never printed: `vigie config` and every message replace it by `xxxxx`.",
		Rule: "a PostgreSQL URL that parses (`postgres://user@host:5432/base?sslmode=verify-full`), or a SQLite path " +
			"without `?` or `#` whose directory exists",
		check: checkDatabaseURL, mask: maskURLPassword}, func(c *Config) *string { return &c.DatabaseURL })
	add(Setting{Env: "VIGIE_MASTER_KEY_FILE", Group: groupStorage, Default: DefaultMasterKeyFile,
		Doc: "The master key, which encrypts each person's key: created with mode 0600 when absent. Keep a copy apart " +
			"from the database backups.",
		Rule:  "absent (it is created), or a file vigie can read, readable by its owner only, holding 32 bytes in hexadecimal",
		check: keyFileCheck(keys.MasterKeySize, "master key")}, func(c *Config) *string { return &c.MasterKeyFile })
	add(Setting{Env: "VIGIE_AUDIT_KEY_FILE", Group: groupStorage, Default: DefaultAuditKeyFile,
		Doc: "The Ed25519 key that signs the audit trail's checkpoints: created with mode 0600 when absent. Whoever " +
			"can rewrite the database must not be able to sign.",
		Rule:  "absent (it is created), or a file vigie can read, readable by its owner only, holding 32 bytes in hexadecimal",
		check: keyFileCheck(ed25519.SeedSize, "audit signing key")}, func(c *Config) *string { return &c.AuditKeyFile })
	add(Setting{Env: "VIGIE_AUDIT_JOURNAL", Group: groupStorage,
		DefaultDoc: "beside the SQLite file (`vigie.db-audit-journal`); `vigie-audit-journal` in the working directory with PostgreSQL",
		Doc: "Where `vigie serve` makes each read durable before folding it into the audit trail. One per server " +
			"process: two servers refuse to share it.",
		Rule:  "a file path whose directory exists (not a directory)",
		check: checkFileInExistingDir, derive: func(c Config) string {
			if c.DatabaseURL == "" {
				return "(beside the database)"
			}
			return ServerJournal(c)
		}}, func(c *Config) *string { return &c.ServerAuditJournal })

	add(Setting{Env: "VIGIE_ADDR", Flag: "serve --addr", Group: groupServer, Default: DefaultAddr,
		Doc: "The address `vigie serve` listens on. Loopback by default: exposing Vigie is a decision " +
			"(TLS, reverse proxy). Refused at start when the port is already in use.",
		Rule:  "host:port (port 0 to 65535)",
		check: hostPortCheck("127.0.0.1:8080")}, func(c *Config) *string { return &c.Addr })
	add(Setting{Env: "VIGIE_TLS_CERT", Flag: "serve --tls-cert", Group: groupServer, DefaultDoc: "none: plain HTTP, for the loopback or behind a TLS proxy",
		Doc: "The TLS certificate (PEM) `vigie serve` presents; with VIGIE_TLS_KEY it serves HTTPS (TLS 1.2 at least, " +
			"HSTS). `serve --tls-self-signed` makes one at start instead, for a trial on this machine.",
		Rule: "with VIGIE_TLS_KEY, a certificate and key pair vigie can read (checked when serve starts)"}, func(c *Config) *string { return &c.TLSCertFile })
	add(Setting{Env: "VIGIE_TLS_KEY", Flag: "serve --tls-key", Group: groupServer, DefaultDoc: "none",
		Doc:  "The private key (PEM) of VIGIE_TLS_CERT.",
		Rule: "with VIGIE_TLS_CERT (checked when serve starts)"}, func(c *Config) *string { return &c.TLSKeyFile })
	s = append(s, Setting{Env: "VIGIE_TRUSTED_PROXIES", Flag: "serve --trusted-proxies", Group: groupServer,
		DefaultDoc: "none: the peer address is the client",
		Doc: "The reverse proxies whose `X-Forwarded-For` names the client: sign-in throttling counts per client " +
			"address, so without it every client behind a proxy would share the proxy's.",
		Rule: "addresses or CIDR prefixes, comma-separated (`127.0.0.1`, `10.0.0.0/8`)",
		check: func(v string) error {
			_, err := ParseTrustedProxies(v)
			return err
		},
		set: func(c *Config, v string) { c.TrustedProxies, _ = ParseTrustedProxies(v) },
		get: func(c Config) string {
			var out []string
			for _, p := range c.TrustedProxies {
				out = append(out, p.String())
			}
			return strings.Join(out, ",")
		}})
	add(Setting{Env: "VIGIE_CLAMD_ADDR", Group: groupServer,
		DefaultDoc: "none: uploads are not scanned",
		Doc: "The ClamAV daemon that scans every upload: an infected file is refused, and an unreachable daemon " +
			"refuses the upload (never stored unscanned).",
		Rule:  "host:port, or unix: and the socket's path (`unix:/run/clamav/clamd.ctl`)",
		check: checkClamdAddr}, func(c *Config) *string { return &c.ClamdAddr })
	s = append(s, Setting{Env: "VIGIE_QUOTE_DATA_MAX_AGE_MONTHS", Group: groupServer,
		Default: strconv.Itoa(DefaultQuoteDataMaxAgeMonths),
		Doc:     "The age, in months, past which data needs the person to confirm it before a quote reuses it (R23).",
		Rule:    "a whole number of months from 1 to 120",
		check:   checkQuoteDataAge,
		set:     func(c *Config, v string) { c.QuoteDataMaxAgeMonths, _ = strconv.Atoi(v) },
		get: func(c Config) string {
			if c.QuoteDataMaxAgeMonths == 0 {
				return ""
			}
			return strconv.Itoa(c.QuoteDataMaxAgeMonths)
		}})

	add(Setting{Env: "VIGIE_LIFECYCLE_HOUR", Group: groupServer, Default: strconv.Itoa(DefaultLifecycleHour),
		Doc: "The hour of the night (server time) at which `vigie serve` applies the retention rules, or `off` when " +
			"`vigie lifecycle run` is scheduled another way (a systemd timer, cron). A run interrupted by a stop is " +
			"resumed at the next start either way.",
		Rule:  "a whole hour from 0 to 23, or off",
		check: checkLifecycleHour}, func(c *Config) *string { return &c.LifecycleHour })
	add(Setting{Env: "VIGIE_SMTP_ADDR", Group: groupMail, DefaultDoc: "none: messages stay queued",
		Doc: "The mail server delivering the outbox (portal codes, answers to rights requests, letters). STARTTLS " +
			"is used when the server offers it.",
		Rule:  "host:port (`smtp.exemple.fr:587`)",
		check: hostPortCheck("smtp.exemple.fr:587")}, func(c *Config) *string { return &c.SMTPAddr })
	add(Setting{Env: "VIGIE_SMTP_FROM", Group: groupMail, Default: DefaultSMTPFrom,
		Doc:   "The From of every message.",
		Rule:  "an address, with or without a name (`Vigie <no-reply@exemple.fr>`)",
		check: checkMailFrom}, func(c *Config) *string { return &c.SMTPFrom })
	add(Setting{Env: "VIGIE_SMTP_USERNAME", Group: groupMail, DefaultDoc: "none: no authentication",
		Doc:  "The user name of AUTH PLAIN, never sent over an unencrypted connection.",
		Rule: "with VIGIE_SMTP_PASSWORD"}, func(c *Config) *string { return &c.SMTPUsername })
	add(Setting{Env: "VIGIE_SMTP_PASSWORD", Group: groupMail, DefaultDoc: "none", Secret: true,
		Doc:  "The password of VIGIE_SMTP_USERNAME.",
		Rule: "with VIGIE_SMTP_USERNAME"}, func(c *Config) *string { return &c.SMTPPassword })
	add(Setting{Env: "VIGIE_MAIL_DIR", Group: groupMail, DefaultDoc: "none; `serve --demo` uses `vigie-mail/`",
		Doc: "Without VIGIE_SMTP_ADDR, the folder receiving each message as an `.eml` file instead: for the demo and " +
			"development only, since the files hold personal data in clear.",
		Rule:  "a directory, or a path where one can be created",
		check: checkNotAFile}, func(c *Config) *string { return &c.MailDir })
	add(Setting{Env: "VIGIE_PUBLIC_URL", Group: groupMail, DefaultDoc: "none: no prospection e-mail can leave",
		Doc: "The address at which people reach Vigie's public pages, written in the links of the messages sent to " +
			"them: the signed withdrawal link that every prospection e-mail must carry, and the « rester en contact » " +
			"link of a prospect's renewal message. Without it, no e-mail campaign can be sent, and the renewal " +
			"message asks for a reply instead of a click.",
		Rule:  "an absolute https:// URL (http:// only for localhost), without query or fragment (`https://vigie.exemple.fr`)",
		check: checkPublicURL}, func(c *Config) *string { return &c.PublicURL })

	add(Setting{Env: "VIGIE_CONTROLLER_NAME", Group: groupNotice, Default: DefaultControllerName,
		Doc: "The controller named in the privacy notice, the rights answers and the breach drafts."},
		func(c *Config) *string { return &c.Controller.Name })
	add(Setting{Env: "VIGIE_CONTROLLER_ADDRESS", Group: groupNotice, Default: DefaultControllerAddress,
		Doc: "The controller's postal address, in the same documents."},
		func(c *Config) *string { return &c.Controller.Address })
	add(Setting{Env: "VIGIE_DPO_EMAIL", Group: groupNotice, Default: DefaultDPOEmail,
		Doc:   "The address of the data protection officer, in the same documents.",
		Rule:  "an e-mail address (`dpo@exemple.fr`)",
		check: checkEmail}, func(c *Config) *string { return &c.Controller.DPOEmail })

	add(Setting{Env: "VIGIE_LOG_FORMAT", Group: groupOps, Default: "text",
		Doc: "The format of the logs on the standard error: `text` for a terminal or journalctl, `json` (one object " +
			"a line) for a log shipper. Personal data is redacted either way.",
		Rule:  "text or json",
		check: checkLogFormat}, func(c *Config) *string { return &c.LogFormat })
	add(Setting{Env: "VIGIE_METRICS_TOKEN", Group: groupOps, Secret: true,
		DefaultDoc: "none: `/metrics` answers only loopback clients that came through no proxy",
		Doc:        "The bearer token `/metrics` then requires from any address.",
		Rule:       "at least 32 characters without spaces (`openssl rand -hex 32`)",
		check:      metricsTokenRule}, func(c *Config) *string { return &c.MetricsToken })
	return s
}

// keyFileCheck is the rule of a key file: see keys.CheckKeyFile.
func keyFileCheck(size int, what string) func(string) error {
	return func(path string) error {
		if err := keys.CheckKeyFile(path, size, what); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "keys: "))
		}
		return nil
	}
}

func checkReadableFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read it (%w)", errors.Unwrap(err))
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return errors.New("is a directory; want a file")
	}
	return nil
}

// isPostgresURL tells a PostgreSQL URL from a SQLite path, as db.Open does.
func isPostgresURL(v string) bool {
	return strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://")
}

func checkDatabaseURL(v string) error {
	const want = "want postgres://user@host:5432/base (PostgreSQL) or the path of a SQLite file"
	if isPostgresURL(v) {
		if _, err := pgconn.ParseConfig(v); err != nil {
			return fmt.Errorf("not a valid PostgreSQL URL (%s); %s", pgParseMessage(err), want)
		}
		return nil
	}
	lower := strings.ToLower(v)
	if strings.Contains(v, "://") || strings.HasPrefix(lower, "postgres:") || strings.HasPrefix(lower, "postgresql:") {
		return errors.New(want)
	}
	for _, keyword := range []string{"host=", "dbname=", "user=", "password=", "sslmode="} {
		if strings.Contains(lower, keyword) {
			return errors.New("keyword=value connection strings are not supported; " + want)
		}
	}
	if strings.ContainsAny(v, "?#") {
		return errors.New("a SQLite path cannot hold ? or #; " + want)
	}
	if err := checkFileInExistingDir(v); err != nil {
		return err
	}
	if _, err := os.Stat(v); err == nil {
		f, err := os.Open(v)
		if err != nil {
			return fmt.Errorf("cannot read the SQLite file (%w); give the user running vigie access to it", errors.Unwrap(err))
		}
		f.Close()
	}
	return nil
}

// pgParseMessage is the reason pgconn gives, without the connection string (and so without a
// password it may hold).
func pgParseMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "`: "); ok {
		return after
	}
	return "it does not parse"
}

// maskURLPassword hides the password of a URL, even one that does not parse: in its user
// information (up to the last @, since a password may hold a / or a ?) and in a password= parameter.
func maskURLPassword(v string) string {
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
				v = scheme + "://" + user + ":xxxxx" + rest[at:]
			}
		}
	}
	return passwordParameter.ReplaceAllString(v, "${1}xxxxx")
}

// passwordParameter is a password given as a parameter, in a URL or a keyword=value string.
var passwordParameter = regexp.MustCompile(`(?i)(password=)[^&\s]*`)

// checkFileInExistingDir refuses a path that is a directory, or whose directory does not exist:
// vigie creates such files, not the directories above them.
func checkFileInExistingDir(path string) error {
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return errors.New("is a directory; want a file path")
	case err == nil || !errors.Is(err, fs.ErrNotExist):
		return nil
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("directory %s does not exist: create it, or fix the path", dir)
	}
	return nil
}

func checkNotAFile(path string) error {
	if info, err := os.Stat(path); err == nil && !info.IsDir() {
		return errors.New("is a file; want a directory")
	}
	return nil
}

func hostPortCheck(example string) func(string) error {
	return func(v string) error {
		_, port, err := net.SplitHostPort(v)
		if err == nil {
			var n int
			if n, err = strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
				err = errors.New("port out of range")
			}
		}
		if err != nil {
			return fmt.Errorf("want host:port, such as %s", example)
		}
		return nil
	}
}

func checkClamdAddr(v string) error {
	if path, ok := strings.CutPrefix(v, "unix:"); ok && path == "" {
		return errors.New("want unix: and the socket's path, such as unix:/run/clamav/clamd.ctl")
	}
	if _, err := antivirus.New(v); err != nil {
		return errors.New("want host:port or unix:/path, such as unix:/run/clamav/clamd.ctl")
	}
	return nil
}

func checkQuoteDataAge(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 120 {
		return errors.New("want a whole number of months from 1 to 120")
	}
	return nil
}

func checkMailFrom(v string) error {
	if _, err := mail.ParseAddress(v); err != nil {
		return errors.New("want an address such as Vigie <no-reply@exemple.fr>")
	}
	return nil
}

func checkEmail(v string) error {
	if a, err := mail.ParseAddress(v); err != nil || a.Name != "" || a.Address != v {
		return errors.New("want an e-mail address such as dpo@exemple.fr")
	}
	return nil
}

func checkPublicURL(v string) error {
	u, err := url.Parse(v)
	local := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("want an absolute URL such as https://vigie.exemple.fr")
	case u.Scheme != "https" && !(u.Scheme == "http" && local):
		return errors.New("want https:// (http:// only for localhost): the links carry signed tokens")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return errors.New("want no query, fragment or user name")
	}
	return nil
}

func checkLifecycleHour(v string) error {
	if v == "off" {
		return nil
	}
	if h, err := strconv.Atoi(v); err != nil || h < 0 || h > 23 {
		return errors.New("want a whole hour from 0 to 23, or off")
	}
	return nil
}

func checkLogFormat(v string) error {
	if v != "text" && v != "json" {
		return errors.New("want text or json")
	}
	return nil
}

// ParseTrustedProxies reads a comma-separated list of addresses or CIDR prefixes
// (VIGIE_TRUSTED_PROXIES, serve --trusted-proxies); an address is a prefix of its full length.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR prefix", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// crossChecks are the rules between settings, on the resolved configuration: each problem names
// the setting to fix.
func crossChecks(c Config) []Problem {
	var out []Problem
	switch {
	case c.SMTPPassword != "" && c.SMTPUsername == "":
		out = append(out, Problem{Setting: "VIGIE_SMTP_PASSWORD", Message: "VIGIE_SMTP_PASSWORD is set without VIGIE_SMTP_USERNAME: set both, or neither"})
	case c.SMTPUsername != "" && c.SMTPPassword == "":
		out = append(out, Problem{Setting: "VIGIE_SMTP_USERNAME", Message: "VIGIE_SMTP_USERNAME is set without VIGIE_SMTP_PASSWORD: set both, or neither"})
	}
	return out
}
