// Package app is the one place where Vigie is wired together: configuration, database, keys,
// dictionary, and the services built on them.
package app

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"vigie/internal/antivirus"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/breach"
	"vigie/internal/campaign"
	"vigie/internal/charter"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/lifecycle"
	"vigie/internal/masterkey"
	"vigie/internal/outbox"
	"vigie/internal/quoting"
	"vigie/internal/record"
	"vigie/internal/register"
	"vigie/internal/rights"
	"vigie/internal/stats"
)

// Config is Vigie's configuration, parsed once from flags and the environment.
type Config struct {
	// DatabaseURL is a postgres:// URL, or the path of the SQLite file (default vigie.db).
	DatabaseURL string
	// MasterKeyFile holds the master key (default vigie.key beside the database).
	MasterKeyFile string
	// AuditJournal is, for a server, the local file where reads are made durable before they are
	// folded into the audit trail; empty for a command run once (see audit.New).
	AuditJournal string
	// ClamdAddr names the ClamAV daemon that scans uploads (host:port or unix:/path); empty: none.
	ClamdAddr string
	// AuditKeyFile holds the Ed25519 key that signs audit checkpoints (default vigie-audit.key).
	// Keep it apart from the database, like the master key.
	AuditKeyFile string
	// PasswordHashing is the argon2id cost of new password hashes; zero means auth.DefaultArgon2.
	// Only tests lower it (auth.TestArgon2), to create many accounts quickly.
	PasswordHashing auth.Argon2Params
	// Controller is who the privacy notice names as controller and DPO (VIGIE_CONTROLLER_NAME,
	// VIGIE_CONTROLLER_ADDRESS, VIGIE_DPO_EMAIL).
	Controller consent.Controller
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client
	// (VIGIE_TRUSTED_PROXIES or serve --trusted-proxies); none by default.
	TrustedProxies []netip.Prefix
	// QuoteDataMaxAgeMonths is how old data may be before a quote needs the person to confirm it
	// (R23; VIGIE_QUOTE_DATA_MAX_AGE_MONTHS, default 6).
	QuoteDataMaxAgeMonths int
	// SMTPAddr is the mail server (host:port) that delivers the outbox (VIGIE_SMTP_ADDR); STARTTLS
	// is used when it offers it. SMTPUsername and SMTPPassword (VIGIE_SMTP_USERNAME,
	// VIGIE_SMTP_PASSWORD) sign in with AUTH PLAIN, never over an unencrypted connection.
	SMTPAddr     string
	SMTPUsername string
	SMTPPassword string
	// SMTPFrom is the From of every message (VIGIE_SMTP_FROM, default DefaultSMTPFrom).
	SMTPFrom string
	// MailDir, without SMTPAddr, receives each message as an .eml file instead (VIGIE_MAIL_DIR):
	// for the demo and development only, since the files hold personal data in clear.
	MailDir string
	// LifecycleHour is when vigie serve applies the retention rules each night, "off" for never
	// (VIGIE_LIFECYCLE_HOUR); empty means DefaultLifecycleHour.
	LifecycleHour string
	// PublicURL is where people reach the public pages, for the links of the messages sent to
	// them (VIGIE_PUBLIC_URL); empty: no link, the message asks for a reply.
	PublicURL string
	// MetricsToken, when set, is the bearer token /metrics requires from any address
	// (VIGIE_METRICS_TOKEN); unset, /metrics answers only on the loopback, never through a proxy.
	MetricsToken string
	// LogFormat is text or json (VIGIE_LOG_FORMAT): the command line makes its logger with it.
	LogFormat string
	// Addr, TLSCertFile and TLSKeyFile are where and how `vigie serve` listens (VIGIE_ADDR,
	// VIGIE_TLS_CERT, VIGIE_TLS_KEY, or its flags).
	Addr        string
	TLSCertFile string
	TLSKeyFile  string
	// ServerAuditJournal is VIGIE_AUDIT_JOURNAL: see ServerJournal.
	ServerAuditJournal string
}

// DefaultSMTPFrom is the From of Vigie's messages unless VIGIE_SMTP_FROM says otherwise.
const DefaultSMTPFrom = "Vigie <no-reply@localhost>"

// DefaultSQLiteFile is where Vigie keeps its data when no database URL is given.
const DefaultSQLiteFile = "vigie.db"

// DefaultMasterKeyFile is where the master key lives unless VIGIE_MASTER_KEY_FILE says otherwise.
const DefaultMasterKeyFile = "vigie.key"

// DefaultAuditKeyFile is where the audit signing key lives unless VIGIE_AUDIT_KEY_FILE says otherwise.
const DefaultAuditKeyFile = "vigie-audit.key"

// ConfigFromEnv fills what c leaves empty from the settings of the environment (and of the
// configuration file VIGIE_CONFIG_FILE names), then the defaults, by SettingTable. It leaves out
// a value it refuses: the commands load their settings with LoadSettings, which reports it.
func ConfigFromEnv(c Config) Config {
	s, _ := LoadSettings(Sources{Environ: os.Environ()})
	return s.apply(c)
}

// DefaultQuoteDataMaxAgeMonths is the age past which data needs confirming before a quote uses it.
const DefaultQuoteDataMaxAgeMonths = 6

// DefaultLifecycleHour is the hour of the night vigie serve applies the retention rules.
const DefaultLifecycleHour = 2

// App holds the wired services.
type App struct {
	Config  Config
	Log     *slog.Logger
	DB      *db.DB
	Dict    *dictionary.Dictionary
	Keys    *keys.Keyring
	Records *record.Store
	Auth    *auth.Service
	Audit   *audit.Trail
	Consent *consent.Service
	Quoting *quoting.Service
	Outbox  *outbox.Outbox
	Rights  *rights.Service
	// Campaigns sends the prospection department's e-mail campaigns.
	Campaigns *campaign.Service
	// Lifecycle is the retention engine.
	Lifecycle *lifecycle.Engine
	// Breaches is the breach register (art. 33 and 34).
	Breaches *breach.Service
	// Stats keeps the anonymised statistics and makes their extracts.
	Stats *stats.Service
	// Register is the register of processing activities (art. 30, R38) and its versions.
	Register *register.Service
	// Charter is the data-governance charter staff acknowledge, and their training (R43).
	Charter *charter.Service
	Now     func() time.Time
}

// Open connects to the database and loads the dictionary. Keys are loaded by Unlock, once the
// schema is known to be current.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	dict, err := dictionary.Load()
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Log: log, DB: d, Dict: dict, Now: time.Now}, nil
}

// Close writes what the audit trail still holds and releases the database.
func (a *App) Close() error {
	if a.Audit != nil {
		a.Audit.Close()
	}
	return a.DB.Close()
}

// Unlock loads (or, for a new database, creates) the master key, checks it against the one the
// database was created with, and builds the services that need it. It refuses a missing key file
// for a database that already has data: a new key would make every stored value unreadable.
func (a *App) Unlock(ctx context.Context) error {
	var stored string
	err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'master_key_check'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("app: read key check: %w", err)
	}
	if stored != "" {
		if _, err := os.Stat(a.Config.MasterKeyFile); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("app: master key file %s is missing and this database was encrypted with a key; restore the file or set VIGIE_MASTER_KEY_FILE", a.Config.MasterKeyFile)
		}
	}
	// The key file and, after a rotation, the master key versions the database records.
	kr, created, err := masterkey.Load(ctx, a.DB, a.Config.MasterKeyFile)
	if err != nil {
		return err
	}
	if created {
		a.Log.Warn("created a new master key; keep a copy of it apart from the database backups", "path", a.Config.MasterKeyFile)
	}
	switch {
	case stored == "":
		if _, err := a.DB.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ('master_key_check', $1, $2)`,
			kr.Check(), a.Now().UTC()); err != nil {
			return fmt.Errorf("app: store key check: %w", err)
		}
	case stored != kr.Check():
		return keys.ErrWrongMasterKey
	}
	signer, err := a.loadAuditKey(ctx)
	if err != nil {
		return err
	}
	a.Keys = kr
	if a.Audit, err = audit.New(ctx, a.DB, a.Now, kr.Pseudonym, signer, a.Config.AuditJournal); err != nil {
		return err
	}
	var storeOpts []record.StoreOption
	if a.Config.ClamdAddr != "" {
		clamd, err := antivirus.New(a.Config.ClamdAddr)
		if err != nil {
			return err
		}
		storeOpts = append(storeOpts, record.WithScanner(clamd))
	}
	if a.Config.QuoteDataMaxAgeMonths > 0 {
		storeOpts = append(storeOpts, record.WithMaxDataAge(a.Config.QuoteDataMaxAgeMonths))
	}
	a.Records = record.NewStore(a.DB, a.Dict, kr, a.Audit, a.Now, storeOpts...)
	a.Consent = consent.New(a.DB, kr, a.Audit, a.Now)
	a.Quoting = quoting.New(a.DB, a.Dict, a.Records, a.Consent, kr, a.Now)
	var mailOpts []outbox.Option
	if a.Config.PublicURL != "" {
		// Prospection messages need the public address of their withdrawal link (R19).
		mailOpts = append(mailOpts, outbox.WithProspection(campaign.NewWithdrawal(a.Consent, a.Config.PublicURL)))
	}
	a.Outbox = outbox.New(a.DB, kr, a.Now, mailOpts...)
	a.Campaigns = campaign.New(a.DB, a.Records, a.Consent, a.Outbox, a.Audit, a.Now)
	a.Rights = rights.New(a.DB, a.Dict, kr, a.Records, a.Consent, a.Audit, a.Outbox, a.Config.Controller, a.Now)
	a.Lifecycle = lifecycle.New(a.DB, a.Dict, kr, a.Audit, a.Outbox, a.Config.Controller, a.Now).WithPublicURL(a.Config.PublicURL)
	a.Breaches = breach.New(a.DB, a.Dict, kr, a.Audit, a.Config.Controller, a.Log, a.Now)
	a.Stats = stats.New(a.DB, a.Dict, kr, a.Audit, a.Now)
	a.Register = register.New(a.DB, a.Dict, a.Lifecycle, a.Audit, a.Config.Controller, a.Config.ClamdAddr != "", a.Log, a.Now)
	a.Auth = auth.NewService(a.DB, a.Dict, kr, a.Now, auth.WithArgon2(a.Config.PasswordHashing),
		auth.WithRecorder(a.Audit), auth.WithLogger(a.Log))
	if a.Charter, err = charter.New(a.DB, a.Dict, a.Audit, a.Log, a.Now); err != nil {
		return err
	}
	return nil
}

// ServerJournal is where a server keeps its audit journal: VIGIE_AUDIT_JOURNAL, else beside the
// SQLite file, else vigie-audit-journal in the working directory.
func ServerJournal(c Config) string {
	switch {
	case c.ServerAuditJournal != "":
		return c.ServerAuditJournal
	case !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return c.DatabaseURL + "-audit-journal"
	}
	return "vigie-audit-journal"
}

// loadAuditKey loads (or creates) the checkpoint signing key and checks it against the public key
// recorded when the trail began: a trail signed by two keys could not be verified.
func (a *App) loadAuditKey(ctx context.Context) (ed25519.PrivateKey, error) {
	var stored string
	err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'audit_public_key'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("app: read audit public key: %w", err)
	}
	if stored != "" {
		if _, err := os.Stat(a.Config.AuditKeyFile); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("app: audit signing key file %s is missing; restore it or set VIGIE_AUDIT_KEY_FILE", a.Config.AuditKeyFile)
		}
	}
	signer, created, err := audit.LoadOrCreateSigningKey(a.Config.AuditKeyFile)
	if err != nil {
		return nil, err
	}
	if created {
		a.Log.Warn("created the audit signing key; keep a copy apart from the database", "path", a.Config.AuditKeyFile)
	}
	public := hex.EncodeToString(signer.Public().(ed25519.PublicKey))
	switch {
	case stored == "":
		if _, err := a.DB.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ('audit_public_key', $1, $2)`,
			public, a.Now().UTC()); err != nil {
			return nil, fmt.Errorf("app: store audit public key: %w", err)
		}
	case stored != public:
		return nil, errors.New("app: the audit signing key does not match the one this trail was started with (wrong VIGIE_AUDIT_KEY_FILE?)")
	}
	return signer, nil
}

// Start is what every command that uses the data does: refuse a schema with pending migrations,
// then unlock the keys.
func (a *App) Start(ctx context.Context) error {
	if err := a.DB.CheckMigrated(ctx); err != nil {
		return err
	}
	return a.Unlock(ctx)
}

// MailSender is where the outbox delivers: the SMTP server when SMTPAddr is set, else .eml files
// in MailDir when it is set, else nil (messages wait in the queue).
func (a *App) MailSender() outbox.Sender {
	switch {
	case a.Config.SMTPAddr != "":
		return &outbox.SMTPSender{Addr: a.Config.SMTPAddr, Username: a.Config.SMTPUsername, Password: a.Config.SMTPPassword}
	case a.Config.MailDir != "":
		return outbox.DirSender{Dir: a.Config.MailDir}
	}
	return nil
}

// RedactedURL describes a PostgreSQL URL without its password; ok is false for a SQLite path.
func RedactedURL(databaseURL string) (string, bool) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", false
	}
	return "PostgreSQL " + u.Redacted(), true
}
