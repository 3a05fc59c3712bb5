package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"vigie/internal/app"
	"vigie/internal/backup"
	"vigie/internal/db"
	"vigie/internal/masterkey"
)

// `vigie backup` and `vigie restore` (DESIGN §8, R41, R26): an encrypted, consistent copy of the
// data without any subject key; the key store exported apart; a restore into an empty database
// that re-applies every erasure made since the backup.

const backupUsage = "vigie backup --out FILE [--database-url URL]   (the data, encrypted, without any subject key)\n" +
	"       vigie backup keys --out FILE   (the key store: subject keys still wrapped, master key versions, erased persons' ids and dates)\n" +
	"       vigie backup check --in FILE   (reads the whole backup and checks it, changes nothing)"

const restoreUsage = "vigie restore --in FILE (--keys FILE | --keys-from-database URL) --database-url URL\n" +
	"       (into a new, empty database; opened afterwards with the same VIGIE_MASTER_KEY_FILE and VIGIE_AUDIT_KEY_FILE)"

func backupCmd(ctx context.Context, e env) error {
	if len(e.args) > 0 {
		switch e.args[0] {
		case "keys":
			return backupKeys(ctx, e)
		case "check":
			return backupCheck(ctx, e)
		}
	}
	return backupData(ctx, e)
}

// backupData writes the data backup; the file appears complete or not at all, mode 0600.
func backupData(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("backup", e, &cfg)
	out := fs.String("out", "", "file to write the backup to (required)")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required: the file to write the backup to")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	var sum backup.Summary
	err = writeFileAtomically(*out, func(w io.Writer) error {
		sum, err = backup.Write(ctx, a.DB, a.Dict, a.Keys, w)
		return err
	}, func() error { return nil })
	if err != nil {
		return err
	}
	e.log.Info("backup written", "tables", sum.Tables, "rows", sum.Rows, "schema_version", sum.SchemaVersion)
	fmt.Fprintf(e.stdout, "backup of %s written to %s: %d tables, %d rows, schema version %d\n"+
		"It holds no subject key: keep the key store (vigie backup keys) apart, and its copies no longer than 30 days.\n",
		sum.CreatedAt.Format(time.RFC3339), *out, sum.Tables, sum.Rows, sum.SchemaVersion)
	return nil
}

// backupKeys exports the key store.
func backupKeys(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("backup", e, &cfg)
	out := fs.String("out", "", "file to write the key store to (required)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required: the file to write the key store to")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ks, err := backup.ReadKeyStore(ctx, a.DB, a.Dict)
	if err != nil {
		return err
	}
	err = writeFileAtomically(*out, func(w io.Writer) error {
		_, err := ks.Write(w, a.Keys, a.DB.Dialect)
		return err
	}, func() error { return nil })
	if err != nil {
		return err
	}
	e.log.Info("key store exported", "keys", ks.Keys(), "erased", len(ks.Erased), "master_key_version", a.Keys.CurrentVersion())
	fmt.Fprintf(e.stdout, "key store of %s written to %s: %d subject keys (wrapped under master key version %d), %d erased persons\n"+
		"Keep it apart from the data backups and delete its copies within 30 days: an erasure reaches a backup when no key store still holds the key.\n",
		ks.CreatedAt.Format(time.RFC3339), *out, ks.Keys(), a.Keys.CurrentVersion(), len(ks.Erased))
	return nil
}

// backupCheck reads a whole backup, as a restore would first, and says what it holds.
func backupCheck(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("backup", e, nil)
	in := fs.String("in", "", "the backup file (required)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("--in is required: the backup file")
	}
	cfg, err := e.config(cfg)
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("--in: %w", err)
	}
	defer f.Close()
	sum, err := backup.Inspect(f, masterkey.FindKey(cfg.MasterKeyFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: a complete, intact backup of %s: %d tables, %d rows, schema version %d\n",
		*in, sum.CreatedAt.Format(time.RFC3339), sum.Tables, sum.Rows, sum.SchemaVersion)
	return nil
}

// restoreCmd restores a backup into a new, empty database with the current key store.
func restoreCmd(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("restore", e, &cfg)
	in := fs.String("in", "", "the backup file (required)")
	keysFile := fs.String("keys", "", "a key store export (vigie backup keys), newer than the backup")
	keysDB := fs.String("keys-from-database", "", "or: the live database whose key store to use (its URL or SQLite file)")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	target := false
	fs.Visit(func(f *flag.Flag) { target = target || f.Name == "database-url" })
	switch {
	case *in == "":
		return errors.New("--in is required: the backup file")
	case (*keysFile == "") == (*keysDB == ""):
		return errors.New("give the current key store: --keys FILE or --keys-from-database URL (one of them)")
	case !target:
		return errors.New("--database-url is required: the new, empty database to restore into")
	}
	cfg, err := e.config(cfg)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	var ks *backup.KeyStore
	if *keysFile != "" {
		f, err := os.Open(*keysFile)
		if err != nil {
			return fmt.Errorf("--keys: %w", err)
		}
		ks, err = backup.OpenKeyStore(f, masterkey.FindKey(cfg.MasterKeyFile))
		f.Close()
		if err != nil {
			return fmt.Errorf("--keys: %w", err)
		}
	} else {
		live, err := db.Open(ctx, *keysDB)
		if err != nil {
			return fmt.Errorf("--keys-from-database: %w", err)
		}
		ks, err = backup.ReadKeyStore(ctx, live, a.Dict)
		live.Close()
		if err != nil {
			return fmt.Errorf("--keys-from-database: %w", err)
		}
	}
	rep, err := backup.Restore(ctx, a.DB, a.Dict, backup.RestoreOptions{
		Open:          func() (io.ReadCloser, error) { return os.Open(*in) },
		Keys:          ks,
		MasterKeyFile: cfg.MasterKeyFile,
		AuditKeyFile:  cfg.AuditKeyFile,
		Log:           e.log,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored the backup of %s (schema version %d): %d tables, %d rows, %d subject keys; %d migrations applied since\n"+
		"erasures made since the backup re-applied: %d; persons removed by the retention lifecycle since: %d\n",
		rep.BackupCreatedAt.Format(time.RFC3339), rep.SchemaVersion, rep.Tables, rep.Rows, rep.Keys, rep.Migrated, rep.Erasures, rep.Removed)
	return nil
}
