package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
)

func auditCmd(ctx context.Context, e env) error {
	sub := ""
	if len(e.args) > 0 {
		sub = e.args[0]
	}
	switch sub {
	case "verify":
		return auditVerify(ctx, e)
	case "checkpoint":
		return auditCheckpoint(ctx, e)
	case "purge":
		return auditPurge(ctx, e)
	case "retention":
		return auditRetention(ctx, e)
	}
	return subcommandUsage(e, "audit")
}

// auditVerify needs neither the master key nor the signing key's private half: only the database
// and a public key — that of the signing key file when it is here, else that of the checkpoint
// file, else the one the database recorded (which says less, since it sits beside what it checks).
func auditVerify(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("audit", e, &cfg)
	from := fs.String("from-checkpoint", "", "a checkpoint file exported earlier (vigie audit checkpoint): also detects a truncated tail")
	format := fs.String("format", "text", "text or json")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	cfg, err := e.config(cfg)
	if err != nil {
		return err
	}
	var file *audit.CheckpointFile
	if *from != "" {
		data, err := os.ReadFile(*from)
		if err != nil {
			return fmt.Errorf("--from-checkpoint: %w", err)
		}
		if file, err = audit.ParseCheckpointFile(data); err != nil {
			return fmt.Errorf("--from-checkpoint: %w", err)
		}
	}
	a, err := app.Open(ctx, cfg, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.DB.CheckMigrated(ctx); err != nil {
		return err
	}
	pub, source, err := verificationKey(ctx, a, file)
	if err != nil {
		return err
	}
	report, err := audit.Verify(ctx, a.DB, pub, file)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "audit verify: public key from %s\n", source)
		var total int64
		for _, c := range report.Chains {
			total += c.Events
			fmt.Fprintf(e.stdout, "  %-6s chain: %d events (%d to %d), %d signed checkpoints\n", c.Chain, c.Events, c.First, c.Last, c.Checkpoints)
		}
		rate := float64(total) / max(report.Elapsed.Seconds(), 1e-9)
		fmt.Fprintf(e.stdout, "  %d events verified in %s (%.0f events/s)\n", total, report.Elapsed.Round(time.Millisecond), rate)
		for _, p := range report.Problems {
			fmt.Fprintf(e.stdout, "  PROBLEM: %s\n", p)
		}
		if report.OK() {
			fmt.Fprintln(e.stdout, "  OK: the trail verifies")
		}
	}
	if !report.OK() {
		return fmt.Errorf("the audit trail does not verify: %d problem(s), the first at %s", len(report.Problems), report.Problems[0])
	}
	return nil
}

func verificationKey(ctx context.Context, a *app.App, file *audit.CheckpointFile) (ed25519.PublicKey, string, error) {
	if _, err := os.Stat(a.Config.AuditKeyFile); err == nil {
		signer, _, err := audit.LoadOrCreateSigningKey(a.Config.AuditKeyFile)
		if err != nil {
			return nil, "", err
		}
		return signer.Public().(ed25519.PublicKey), "the signing key file " + a.Config.AuditKeyFile, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("audit signing key: %w", err)
	}
	if file != nil {
		return file.PublicKey, "the checkpoint file", nil
	}
	var stored string
	if err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'audit_public_key'`).Scan(&stored); err != nil {
		return nil, "", fmt.Errorf("no audit signing key file, no checkpoint file, and no public key in the database: %w", err)
	}
	pub, err := hex.DecodeString(strings.TrimSpace(stored))
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, "", errors.New("the public key stored in the database is malformed")
	}
	return pub, "the database (give --from-checkpoint for an independent check)", nil
}

func auditCheckpoint(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("audit", e, &cfg)
	out := fs.String("out", "", "file to write the signed checkpoint to (keep it apart from the database)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	data, err := a.Audit.Export(ctx)
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	file, _ := audit.ParseCheckpointFile(data)
	for _, c := range file.Checkpoints {
		fmt.Fprintf(e.stdout, "%s chain: signed checkpoint at event %d\n", c.Chain, c.Seq)
	}
	fmt.Fprintf(e.stdout, "written to %s; keep it apart from the database and give it to `vigie audit verify --from-checkpoint`\n", *out)
	return nil
}

func auditPurge(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "audit")
	if err != nil {
		return err
	}
	defer a.Close()
	months, err := a.Audit.AccessRetention(ctx)
	if err != nil {
		return err
	}
	access, record, err := a.Audit.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "purged %d access events older than %d months and %d record events older than %d months\n",
		access, months, record, audit.RecordRetentionMonths)
	return nil
}

func auditRetention(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("audit", e, &cfg)
	months := fs.Int("months", 0, fmt.Sprintf("access-log retention in months (%d to %d)", audit.MinAccessRetentionMonths, audit.MaxAccessRetentionMonths))
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if *months == 0 {
		m, err := a.Audit.AccessRetention(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "access events are kept %d months\n", m)
		return nil
	}
	if err := audit.CheckAccessRetention(*months); err != nil {
		return fmt.Errorf("--months: %w", err)
	}
	if err := a.Audit.SetAccessRetention(ctx, 0, "admin", *months); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "access events are now kept %d months\n", *months)
	return nil
}
