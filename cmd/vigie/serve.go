package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"vigie/internal/app"
	"vigie/internal/server"
	"vigie/internal/web"
)

func serve(ctx context.Context, e env) error {
	var cfg app.Config
	var err error
	fs := flags("serve", e, &cfg)
	fs.StringVar(&cfg.Addr, "addr", "", "address to listen on; default $VIGIE_ADDR, then "+app.DefaultAddr)
	withDemo := fs.Bool("demo", false, "on an empty database: migrate, fill with demo data and create one user per department")
	persons := fs.Int("persons", 2000, "with --demo: how many demo persons")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, Vigie serves HTTPS; default $VIGIE_TLS_CERT")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", "", "TLS private key file (PEM); default $VIGIE_TLS_KEY")
	selfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a certificate made at start, for trials on this machine")
	proxies := fs.String("trusted-proxies", "", "reverse proxies (addresses or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client; default $VIGIE_TRUSTED_PROXIES")
	if err = parse(fs, e.args, 0); err != nil {
		return err
	}
	if cfg.TrustedProxies, err = server.ParseTrustedProxies(*proxies); err != nil {
		return fmt.Errorf("--trusted-proxies (VIGIE_TRUSTED_PROXIES): %w", err)
	}
	if *persons < 1 || *persons > 10_000_000 {
		return fmt.Errorf("--persons: want a number between 1 and 10000000")
	}
	if cfg, err = e.config(cfg); err != nil {
		return err
	}
	tlsConf, err := tlsSettings(cfg.TLSCertFile, cfg.TLSKeyFile, *selfSigned, cfg.Addr, e)
	if err != nil {
		return err
	}
	// Listen before anything else: a port in use stops the server before it has opened, migrated
	// or created anything.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s (VIGIE_ADDR): cannot listen (%w); stop what uses it or choose another address", cfg.Addr, err)
	}
	defer ln.Close()
	cfg.AuditJournal = app.ServerJournal(cfg)
	if *withDemo && cfg.SMTPAddr == "" && cfg.MailDir == "" {
		// The demo has no mail server: its messages (the portal's codes) land in files to open.
		cfg.MailDir = DemoMailDir
	}
	if *withDemo && cfg.PublicURL == "" {
		// The demo's links (the withdrawal link of a campaign) point at this server.
		cfg.PublicURL = scheme(tlsConf) + "://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	a, err := app.Open(ctx, cfg, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	if *withDemo {
		if err := demoOnEmpty(ctx, e, a, *persons); err != nil {
			return err
		}
	} else if err := a.Start(ctx); err != nil {
		return err
	}
	staff, err := web.New(a)
	if err != nil {
		return err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv := &http.Server{
		Handler:           server.New(a, staff),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Fprintf(e.stdout, "Vigie écoute sur %s://%s (base : %s)\n", scheme(tlsConf), ln.Addr(), describeDB(cfg.DatabaseURL))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go maintainAudit(ctx, a)
	go maintainSensitiveScan(ctx, a)
	go maintainLifecycle(ctx, a)
	go maintainStatistics(ctx, a)
	if sender := a.MailSender(); sender != nil {
		if cfg.MailDir != "" && cfg.SMTPAddr == "" {
			fmt.Fprintf(e.stdout, "Courriels : pas de serveur SMTP (VIGIE_SMTP_ADDR) ; chaque message est déposé dans %s/\n", cfg.MailDir)
		}
		go a.Outbox.Run(ctx, sender, a.Config.SMTPFrom, 0, a.Log)
	} else {
		a.Log.Warn("no mail server configured (VIGIE_SMTP_ADDR or VIGIE_MAIL_DIR): messages stay queued")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// scheme is how the server is reached.
func scheme(tlsConf *tls.Config) string {
	if tlsConf != nil {
		return "https"
	}
	return "http"
}

// DemoMailDir receives the demo's e-mails when no mail server is configured.
const DemoMailDir = "vigie-mail"

// describeDB names the database without a password that a URL may carry.
func describeDB(databaseURL string) string {
	if d, ok := app.RedactedURL(databaseURL); ok {
		return d
	}
	return "SQLite " + databaseURL
}

// Audit upkeep while serving: a signed checkpoint every auditCheckpointEvery events or
// auditCheckpointAge, and the retention purge once a day.
const (
	auditCheckpointEvery = 10000
	auditCheckpointAge   = 10 * time.Minute
)

func maintainAudit(ctx context.Context, a *app.App) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	var lastPurge time.Time
	for {
		if err := a.Audit.CheckpointIfDue(ctx, auditCheckpointEvery, auditCheckpointAge); err != nil && ctx.Err() == nil {
			a.Log.Error("audit checkpoint failed", "err", err)
		}
		if time.Since(lastPurge) >= 24*time.Hour {
			access, record, err := a.Audit.PurgeExpired(ctx)
			if err != nil && ctx.Err() == nil {
				a.Log.Error("audit purge failed", "err", err)
			} else {
				a.Log.Info("audit retention applied", "access_events_purged", access, "record_events_purged", record)
				lastPurge = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// tlsSettings checks the TLS flags: a certificate and its key together, or a self-signed
// certificate for trials, or neither (plain HTTP, for loopback or behind a TLS proxy).
func tlsSettings(certFile, keyFile string, selfSigned bool, addr string, e env) (*tls.Config, error) {
	switch {
	case selfSigned && (certFile != "" || keyFile != ""):
		return nil, errors.New("--tls-self-signed excludes --tls-cert and --tls-key (VIGIE_TLS_CERT, VIGIE_TLS_KEY)")
	case (certFile == "") != (keyFile == ""):
		return nil, errors.New("--tls-cert and --tls-key (VIGIE_TLS_CERT, VIGIE_TLS_KEY) go together")
	case certFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key (VIGIE_TLS_CERT/VIGIE_TLS_KEY): %w", err)
		}
		return server.TLSConfig(cert), nil
	case selfSigned:
		host, _, _ := net.SplitHostPort(addr)
		cert, fingerprint, err := server.SelfSigned(host, time.Now())
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stdout, "certificat auto-signé (essai local), empreinte SHA-256 : %s\n", fingerprint)
		return server.TLSConfig(cert), nil
	}
	return nil, nil
}
