package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"vigie/internal/app"
	"vigie/internal/db"
	"vigie/internal/stats"
)

// statsColumns are the extract's columns as the statistics table holds them: what the raw dump
// writes.
const statsColumns = "month, age_band, departement, vehicle_energy, vehicle_usage, vehicle_age_band, coverage, bonus_malus_band, price_band, channel, insurer, contract_duration_band, converted"

// statsBench measures `vigie export stats` (k = 10, RFC 4180) on a statistics table of each size
// of --stats-rows, as a subprocess — timed, its peak RSS read — beside the raw dump of the same
// columns by the database's own client in the same run: sqlite3 .mode csv, or psql COPY … TO
// STDOUT.
func statsBench(ctx context.Context, o options, bin, dbName string, sizes []int) ([]string, error) {
	var out []string
	for _, n := range sizes {
		line, err := statsOne(ctx, o, bin, dbName, n)
		if err != nil {
			return nil, fmt.Errorf("%d rows: %w", n, err)
		}
		out = append(out, line)
	}
	return out, nil
}

func statsOne(ctx context.Context, o options, bin, dbName string, n int) (string, error) {
	name := fmt.Sprintf("stats-%s-%d", dbName, n)
	schema := fmt.Sprintf("vigie_bench_stats_%d", n)
	cfg := app.Config{MasterKeyFile: filepath.Join(o.dir, name+".key"), AuditKeyFile: filepath.Join(o.dir, name+"-audit.key"),
		AuditJournal: filepath.Join(o.dir, name+".journal")}
	switch dbName {
	case "sqlite":
		cfg.DatabaseURL = filepath.Join(o.dir, "bench-"+name+".db")
	case "postgres":
		cfg.DatabaseURL = withSearchPath(o.pgURL, schema)
	default:
		return "", fmt.Errorf("unknown database %q", dbName)
	}
	if err := resetSchema(ctx, o, dbName, cfg, schema); err != nil {
		return "", err
	}
	os.Remove(cfg.AuditJournal)
	a, err := openMigrated(ctx, cfg)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "stats %s: %d statistics rows…\n", dbName, n)
	if err := fillStatistics(ctx, a, n); err != nil {
		a.Close()
		return "", err
	}
	a.Close()

	env := append(os.Environ(), "VIGIE_MASTER_KEY_FILE="+cfg.MasterKeyFile, "VIGIE_AUDIT_KEY_FILE="+cfg.AuditKeyFile,
		"VIGIE_AUDIT_JOURNAL="+cfg.AuditJournal)
	refresh := exec.CommandContext(ctx, bin, "export", "stats-refresh", "--database-url", cfg.DatabaseURL)
	refresh.Env = env
	if out, err := refresh.CombinedOutput(); err != nil {
		return "", fmt.Errorf("vigie export stats-refresh: %v\n%s", err, out)
	}
	extract := filepath.Join(o.dir, name+".csv")
	cmd := exec.CommandContext(ctx, bin, "export", "stats", "--out", extract, "--k", "10", "--database-url", cfg.DatabaseURL)
	cmd.Env = env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("vigie export stats: %v\n%s", err, stdout.String())
	}
	engine := time.Since(start)
	var rssKiB int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKiB = int64(ru.Maxrss) // KiB on Linux
	}
	reached := regexp.MustCompile(`k atteint : ([0-9]+)`).FindStringSubmatch(stdout.String())
	suppressed := regexp.MustCompile(`Taux de suppression : ([0-9.]+) %`).FindStringSubmatch(stdout.String())
	if reached == nil || suppressed == nil {
		return "", fmt.Errorf("vigie export stats printed no k or suppression rate:\n%s", stdout.String())
	}

	rawFile := filepath.Join(o.dir, name+"-raw.csv")
	var raw *exec.Cmd
	if dbName == "sqlite" {
		raw = exec.CommandContext(ctx, "sqlite3", "-csv", "-header", cfg.DatabaseURL, "SELECT "+statsColumns+" FROM statistics")
	} else {
		raw = exec.CommandContext(ctx, "psql", "-X", "-q", o.pgURL, "-c",
			"COPY (SELECT "+statsColumns+" FROM "+schema+".statistics) TO STDOUT WITH (FORMAT csv, HEADER)")
	}
	f, err := os.Create(rawFile)
	if err != nil {
		return "", err
	}
	raw.Stdout = f
	raw.Stderr = os.Stderr
	start = time.Now()
	err = raw.Run()
	rawTime := time.Since(start)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("raw dump: %w", err)
	}
	os.Remove(extract)
	os.Remove(rawFile)
	return fmt.Sprintf("stats %s %d rows: extract %.2f s (k=10, k reached %s, suppression %s %%), raw dump %.2f s, ratio raw/extract %.2f, extract peak RSS %d MiB",
		dbName, n, engine.Seconds(), reached[1], suppressed[1], rawTime.Seconds(), rawTime.Seconds()/engine.Seconds(), rssKiB/1024), nil
}

// fillStatistics writes n statistics rows drawn from skewed distributions (most people in a few
// bands, a long tail of rare combinations), as the lifecycle's anonymisation would.
func fillStatistics(ctx context.Context, a *app.App, n int) error {
	r := rand.New(rand.NewPCG(1, 2))
	skewed := func(values ...string) string { return values[int(float64(len(values))*r.Float64()*r.Float64())] }
	departements := []string{"75", "69", "13", "59", "33", "31", "92", "93", "94", "44", "06", "67", "35", "34", "38", "76", "29", "2A", "971", "01"}
	const batch = 50_000
	for done := 0; done < n; done += batch {
		err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
			w, err := stats.NewWriter(ctx, tx, stats.OriginArchive)
			if err != nil {
				return err
			}
			for range min(batch, n-done) {
				row := stats.Row{Month: fmt.Sprintf("%d-%02d", 2020+r.IntN(6), 1+r.IntN(12)),
					AgeBand: skewed("35-44", "25-34", "45-54", "55-64", "18-24", "65+"), Departement: skewed(departements...),
					Energy: skewed("essence", "diesel", "hybride", "electrique", "gpl", "e85"), Usage: skewed("prive", "trajet_travail", "professionnel"),
					VehicleAgeBand: skewed("6-10", "3-5", "11+", "0-2"), Coverage: skewed("tiers_plus", "tous_risques", "tiers"),
					BonusMalusBand: skewed("0.50-0.69", "0.70-0.89", "0.90-0.99", "1.00", "1.01+"),
					PriceBand:      sql.NullInt64{Int64: int64(200 + 100*int(20*r.Float64()*r.Float64())), Valid: true},
					Channel:        skewed("web_form", "phone", "email", "agency", "api"),
					Insurer:        skewed("Mutuelle des Routes de France", "La Prévoyance Automobile", "Assurances Rhône-Alpes Auto", "Macif", "Matmut"),
					Converted:      r.IntN(4) == 0}
				if row.Converted {
					row.DurationBand = skewed("en cours", "1-2 ans", "<1 an", "2-5 ans", "5+ ans")
				}
				if err := w.Add(ctx, row); err != nil {
					return err
				}
			}
			return w.Flush(ctx)
		})
		if err != nil {
			return err
		}
	}
	if a.DB.Dialect == db.Postgres {
		_, err := a.DB.ExecContext(ctx, "ANALYZE")
		return err
	}
	_, err := a.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// statsTarget is printed under the figures.
var statsTarget = strings.Join([]string{
	"statistics target (issue 8): 1M rows, the k-anonymous extract in ≤ 3 s on SQLite, ratio raw/extract ≥ 0.5;",
	"listmonk's plain export of 1M rows takes 8.6 s here, Dolibarr's 36 s",
}, " ")
