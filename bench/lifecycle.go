package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vigie/internal/app"
	"vigie/internal/db"
	"vigie/internal/demo"
	"vigie/internal/dictionary"
	"vigie/internal/lifecycle"
)

// lifecycleNow is the day the demo data is generated for and the engine runs at: fixed, so that
// the same size always gives the same work.
var lifecycleNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// lifecycleBench measures the retention engine on a demo database of each size of
// --lifecycle-persons (about 45 % of the persons have data past a retention period): `vigie
// lifecycle run --now 2026-06-01` as a subprocess — timed, its peak RSS and counts read — on one
// copy; on a second, identical copy, the same deletions and updates as plain bulk SQL in one
// transaction: no batches, no audit, no statistics, no decryption, no renewal messages.
func lifecycleBench(ctx context.Context, o options, bin, dbName string, sizes []int) ([]string, error) {
	var out []string
	for _, n := range sizes {
		line, err := lifecycleOne(ctx, o, bin, dbName, n)
		if err != nil {
			return nil, fmt.Errorf("%d persons: %w", n, err)
		}
		out = append(out, line...)
	}
	return out, nil
}

// lifecycleConfig is the configuration of the lifecycle bench's database of n persons; copy names
// the second one ("" or "raw").
func lifecycleConfig(o options, dbName string, n int, copy string) (app.Config, string, error) {
	base := fmt.Sprintf("lifecycle-%s-%d", dbName, n)
	name, keys := base, base
	schema := fmt.Sprintf("vigie_bench_lifecycle_%d", n)
	if copy != "" {
		name += "-" + copy
		schema += "_" + copy
		if dbName == "postgres" {
			keys = name // generated again, under its own keys; the SQLite copy is the same file
		}
	}
	cfg := app.Config{MasterKeyFile: filepath.Join(o.dir, keys+".key"), AuditKeyFile: filepath.Join(o.dir, keys+"-audit.key"),
		AuditJournal: filepath.Join(o.dir, name+".journal")}
	switch dbName {
	case "sqlite":
		cfg.DatabaseURL = filepath.Join(o.dir, "bench-"+name+".db")
	case "postgres":
		cfg.DatabaseURL = withSearchPath(o.pgURL, schema)
	default:
		return cfg, "", fmt.Errorf("unknown database %q", dbName)
	}
	return cfg, schema, nil
}

// lifecycleGenerate fills a fresh database with the demo data of n persons at lifecycleNow.
func lifecycleGenerate(ctx context.Context, o options, dbName string, cfg app.Config, schema string, n int) error {
	if err := resetSchema(ctx, o, dbName, cfg, schema); err != nil {
		return err
	}
	os.Remove(cfg.AuditJournal)
	a, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(os.Stderr, "lifecycle %s: generating %d persons at %s…\n", dbName, n, lifecycleNow.Format(time.DateOnly))
	if _, err := demo.Generate(ctx, a, demo.Options{Persons: n, Seed: 1, Now: lifecycleNow, Progress: os.Stderr}); err != nil {
		return err
	}
	if a.DB.Dialect == db.Postgres {
		// Planner statistics, as autovacuum keeps them on a production server (see rightsBench).
		_, err = a.DB.ExecContext(ctx, "ANALYZE")
	} else {
		_, err = a.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return err
}

func lifecycleOne(ctx context.Context, o options, bin, dbName string, n int) ([]string, error) {
	cfg, schema, err := lifecycleConfig(o, dbName, n, "")
	if err != nil {
		return nil, err
	}
	rawCfg, rawSchema, _ := lifecycleConfig(o, dbName, n, "raw")
	if err := lifecycleGenerate(ctx, o, dbName, cfg, schema, n); err != nil {
		return nil, err
	}
	// The second copy: the SQLite file as it is (checkpointed and closed); on PostgreSQL the same
	// generation again (same seed, same day: the same rows, under other keys, which raw SQL never
	// reads), so that it has the same constraints and indexes.
	if dbName == "sqlite" {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(rawCfg.DatabaseURL + suffix)
		}
		if err := copyFile(cfg.DatabaseURL, rawCfg.DatabaseURL); err != nil {
			return nil, err
		}
	} else if err := lifecycleGenerate(ctx, o, dbName, rawCfg, rawSchema, n); err != nil {
		return nil, err
	}

	fmt.Fprintf(os.Stderr, "lifecycle %s %d: vigie lifecycle run --now %s…\n", dbName, n, lifecycleNow.Format(time.DateOnly))
	cmd := exec.CommandContext(ctx, bin, "lifecycle", "run", "--now", lifecycleNow.Format(time.DateOnly), "--database-url", cfg.DatabaseURL)
	cmd.Env = append(os.Environ(), "VIGIE_MASTER_KEY_FILE="+cfg.MasterKeyFile, "VIGIE_AUDIT_KEY_FILE="+cfg.AuditKeyFile,
		"VIGIE_AUDIT_JOURNAL="+cfg.AuditJournal)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("vigie lifecycle run: %v\n%s", err, stdout.String())
	}
	engine := time.Since(start)
	var rssKiB int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKiB = int64(ru.Maxrss) // KiB on Linux
	}
	counts, total, err := parseLifecycleRun(stdout.Bytes())
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(os.Stderr, "lifecycle %s %d: raw SQL on the copy…\n", dbName, n)
	a, err := openMigrated(ctx, rawCfg)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	rules, err := a.Lifecycle.Rules(ctx)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	rawCounts, err := rawSweep(ctx, a, rules, lifecycleNow)
	if err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	raw := time.Since(start)
	var rawTotal int64
	var detail []string
	for _, c := range counts {
		detail = append(detail, fmt.Sprintf("%s/%s %d (raw %d)", c.Rule, c.Action, c.N, rawCounts[c.Rule+"/"+c.Action]))
	}
	for _, v := range rawCounts {
		rawTotal += v
	}
	return []string{
		fmt.Sprintf("lifecycle %s %d persons: engine %.1f s (%d handled), raw %.1f s (%d rows), ratio raw/engine %.2f, engine peak RSS %d MiB",
			dbName, n, engine.Seconds(), total, raw.Seconds(), rawTotal, raw.Seconds()/engine.Seconds(), rssKiB/1024),
		"  " + strings.Join(detail, ", "),
	}, nil
}

// parseLifecycleRun reads the summary `vigie lifecycle run` prints: a line per rule and action
// under the header, then the total.
func parseLifecycleRun(out []byte) ([]lifecycle.Count, int64, error) {
	var counts []lifecycle.Count
	var total int64 = -1
	in := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "règle"):
			in = true
		case strings.HasPrefix(line, "total : "):
			in = false
			if len(f) >= 3 {
				total, _ = strconv.ParseInt(strings.TrimSuffix(f[2], ";"), 10, 64)
			}
		case strings.HasPrefix(line, "erreur : "):
			return nil, 0, fmt.Errorf("vigie lifecycle run: %s", line)
		case in && len(f) == 3:
			n, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("vigie lifecycle run: unexpected line %q", line)
			}
			counts = append(counts, lifecycle.Count{Rule: f[0], Action: f[1], N: n})
		}
	}
	if total < 0 {
		return nil, 0, fmt.Errorf("vigie lifecycle run: no total in its output:\n%s", out)
	}
	return counts, total, nil
}

// rawSweep does, as bulk SQL in one transaction, what the engine does at the date: the same rows
// deleted or updated, step by step in the engine's order, with the same gate (no legal hold in
// force, no restriction) — but no batches, no audit events, no counts kept, no statistics fed, no
// renewal message (only the mark that it was sent), and no tombstone's personal columns emptied.
// It returns the rows each step touched, by "rule/action".
func rawSweep(ctx context.Context, a *app.App, rules []lifecycle.Rule, at time.Time) (map[string]int64, error) {
	rule := func(code string) lifecycle.Rule {
		for _, r := range rules {
			if r.Code == code {
				return r
			}
		}
		return lifecycle.Rule{Code: code}
	}
	cut := func(code string) time.Time { return at.AddDate(0, -rule(code).Months, 0) }
	day := func(t time.Time) string { return t.Format(dictionary.DateLayout) }
	const gate = "NOT p.restricted AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.person_id = p.id AND h.lifted_at IS NULL AND h.ends_at > $1)"
	const anchor = "COALESCE(t.last_contact_at, t.created_at)"
	counts := map[string]int64{}
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		r := &rawTx{ctx: ctx, tx: tx, dict: a.Dict, postgres: a.DB.Dialect == db.Postgres}
		for _, q := range []string{"DROP TABLE IF EXISTS bench_ids", "DROP TABLE IF EXISTS bench_persons",
			"CREATE TEMP TABLE bench_ids (id BIGINT PRIMARY KEY)", "CREATE TEMP TABLE bench_persons (id BIGINT PRIMARY KEY)"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		// pick fills bench_ids with the ids of a table's rows matching cond (t the row, p its person).
		pick := func(table, cond string, args ...any) error {
			from := table + " t JOIN persons p ON p.id = t.person_id"
			if table == "persons" {
				from = "persons t JOIN persons p ON p.id = t.id"
			}
			return r.fill("bench_ids", "SELECT t.id FROM "+from+" WHERE ("+cond+") AND "+gate, append([]any{at}, args...)...)
		}
		removePicked := func(key, table string) error {
			n, err := r.removeIDs(table)
			counts[key] += n
			return err
		}
		// removePersons deletes the persons of bench_ids with every row linked to them, children
		// first; those with rights requests are kept as tombstones, as the engine keeps them.
		removePersons := func(key string) error {
			if err := r.fill("bench_persons", "SELECT id FROM bench_ids"); err != nil {
				return err
			}
			for i := len(a.Dict.Tables) - 1; i >= 0; i-- {
				t := a.Dict.Tables[i]
				if t.PersonColumn == "" || t.Name == "persons" || t.Name == "rights_requests" {
					continue
				}
				if _, err := r.exec("DELETE FROM " + t.Name + " WHERE " + t.PersonColumn + " IN (SELECT id FROM bench_persons)"); err != nil {
					return err
				}
			}
			if _, err := r.exec("DELETE FROM search_index WHERE person_id IN (SELECT id FROM bench_persons)"); err != nil {
				return err
			}
			if _, err := r.exec("DELETE FROM subject_keys WHERE person_id IN (SELECT id FROM bench_persons)"); err != nil {
				return err
			}
			kept := "EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.person_id = persons.id)"
			if _, err := r.exec("UPDATE persons SET erased_at = $1 WHERE id IN (SELECT id FROM bench_persons) AND erased_at IS NULL AND "+kept, at); err != nil {
				return err
			}
			if _, err := r.exec("DELETE FROM persons WHERE id IN (SELECT id FROM bench_persons) AND NOT " + kept); err != nil {
				return err
			}
			var n int64
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM bench_persons").Scan(&n); err != nil {
				return err
			}
			counts[key] += n
			return nil
		}
		// 1. Quotes without a contract past their term.
		quoteKey := "quote_no_contract/" + rule("quote_no_contract").Action
		if err := pick("quotes", "p.erased_at IS NULL AND t.created_at < $2 AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = t.id)", cut("quote_no_contract")); err != nil {
			return err
		}
		if err := removePicked(quoteKey, "quotes"); err != nil {
			return err
		}
		// 2. Prospects a month before their term: only the mark that they were asked.
		pr := rule("prospect")
		term := cut("prospect")
		renew := "t.kind = 'prospect' AND t.erased_at IS NULL AND " + anchor + " < $2 AND " + anchor + " >= $3" +
			" AND (t.renewal_asked_at IS NULL OR t.renewal_asked_at < " + anchor + ") AND NOT t.objected_prospection AND t.email IS NOT NULL"
		if err := pick("persons", renew, term.Add(30*24*time.Hour), term); err != nil {
			return err
		}
		n, err := r.exec("UPDATE persons SET renewal_asked_at = $1 WHERE id IN (SELECT id FROM bench_ids)", at)
		if err != nil {
			return err
		}
		counts["prospect/renew"] += n
		// 3. Prospects past their term, with everything linked to them.
		if err := pick("persons", "t.kind = 'prospect' AND t.erased_at IS NULL AND "+anchor+" < $2", cut(pr.Code)); err != nil {
			return err
		}
		if err := removePersons("prospect/delete"); err != nil {
			return err
		}
		// 4. Former customers' marketing profile: their quotes and exchanges.
		ended := "EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = t.id) AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = t.id AND (c.end_date IS NULL OR c.end_date >= $2))"
		if err := pick("persons", "t.kind <> 'prospect' AND t.erased_at IS NULL AND "+ended+
			" AND (EXISTS (SELECT 1 FROM quotes q WHERE q.person_id = t.id) OR EXISTS (SELECT 1 FROM interactions i WHERE i.person_id = t.id))", day(cut("customer"))); err != nil {
			return err
		}
		customerKey := "customer/" + rule("customer").Action
		if err := r.fill("bench_persons", "SELECT id FROM bench_ids"); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM bench_persons").Scan(&n); err != nil {
			return err
		}
		counts[customerKey] += n
		for _, table := range []string{"quotes", "interactions"} {
			if err := r.fill("bench_ids", "SELECT id FROM "+table+" WHERE person_id IN (SELECT id FROM bench_persons)"); err != nil {
				return err
			}
			if _, err := r.removeIDs(table); err != nil {
				return err
			}
		}
		// 5. Contracts ended: archived with their documents.
		if err := pick("contracts", "NOT t.archived AND t.end_date < $2", day(at)); err != nil {
			return err
		}
		if _, err := r.exec("UPDATE documents SET archived = TRUE WHERE contract_id IN (SELECT id FROM bench_ids)"); err != nil {
			return err
		}
		if n, err = r.exec("UPDATE contracts SET archived = TRUE WHERE id IN (SELECT id FROM bench_ids)"); err != nil {
			return err
		}
		counts["contract/archive"] += n
		// 6. Contracts past the limitation period: deleted with their documents but recent invoices.
		if err := pick("contracts", "t.end_date < $2", day(cut("contract"))); err != nil {
			return err
		}
		if err := r.fill("bench_persons", "SELECT id FROM bench_ids"); err != nil {
			return err
		}
		if err := r.fill("bench_ids", "SELECT id FROM documents WHERE contract_id IN (SELECT id FROM bench_persons) AND (kind <> 'invoice' OR created_at < $1)", cut("invoice")); err != nil {
			return err
		}
		if _, err := r.removeIDs("documents"); err != nil {
			return err
		}
		if err := r.fill("bench_ids", "SELECT id FROM bench_persons"); err != nil {
			return err
		}
		if err := removePicked("contract/delete", "contracts"); err != nil {
			return err
		}
		// 7. Invoices without a contract past their term.
		if err := pick("documents", "t.contract_id IS NULL AND t.kind = 'invoice' AND t.created_at < $2", cut("invoice")); err != nil {
			return err
		}
		if err := removePicked("invoice/delete", "documents"); err != nil {
			return err
		}
		// 8. Closed tickets archived with their messages; deleted with them five years on.
		if rule("ticket").Action == lifecycle.Archive {
			if err := pick("tickets", "NOT t.archived AND t.closed_at < $2", at); err != nil {
				return err
			}
			if _, err := r.exec("UPDATE ticket_messages SET archived = TRUE WHERE ticket_id IN (SELECT id FROM bench_ids)"); err != nil {
				return err
			}
			if n, err = r.exec("UPDATE tickets SET archived = TRUE WHERE id IN (SELECT id FROM bench_ids)"); err != nil {
				return err
			}
			counts["ticket/archive"] += n
		}
		if err := pick("tickets", "t.closed_at < $2", cut("ticket")); err != nil {
			return err
		}
		if err := r.fill("bench_persons", "SELECT id FROM bench_ids"); err != nil {
			return err
		}
		if err := r.fill("bench_ids", "SELECT id FROM ticket_messages WHERE ticket_id IN (SELECT id FROM bench_persons)"); err != nil {
			return err
		}
		if _, err := r.removeIDs("ticket_messages"); err != nil {
			return err
		}
		if err := r.fill("bench_ids", "SELECT id FROM bench_persons"); err != nil {
			return err
		}
		if err := removePicked("ticket/delete", "tickets"); err != nil {
			return err
		}
		// 9. Superseded consent proofs, closed rights requests.
		if err := pick("consents", "p.erased_at IS NULL AND EXISTS (SELECT 1 FROM consents n WHERE n.person_id = t.person_id AND n.purpose = t.purpose AND n.id > t.id AND n.given_at < $2)", cut("consent_proof")); err != nil {
			return err
		}
		if err := removePicked("consent_proof/delete", "consents"); err != nil {
			return err
		}
		if err := pick("rights_requests", "t.closed_at < $2", cut("rights_request")); err != nil {
			return err
		}
		if err := removePicked("rights_request/delete", "rights_requests"); err != nil {
			return err
		}
		// 10. Persons of whom nothing is kept any more.
		if err := pick("persons", "(t.erased_at IS NOT NULL OR t.kind <> 'prospect' AND "+anchor+" < $2)"+
			" AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.person_id = t.id)"+
			" AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.person_id = t.id)"+
			" AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.person_id = t.id)"+
			" AND NOT EXISTS (SELECT 1 FROM quotes q WHERE q.person_id = t.id)"+
			" AND NOT EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.person_id = t.id)", cut("customer")); err != nil {
			return err
		}
		if err := removePersons("customer/delete"); err != nil {
			return err
		}
		_, err = r.exec("DROP TABLE bench_ids")
		if err == nil {
			_, err = r.exec("DROP TABLE bench_persons")
		}
		return err
	})
	return counts, err
}

// rawTx runs the raw sweep's statements in its transaction.
type rawTx struct {
	ctx  context.Context
	tx   *sql.Tx
	dict *dictionary.Dictionary
	// postgres: the temporary tables are analysed once filled, for the planner to know their size.
	postgres bool
}

// fill replaces the ids of a temporary table by those query selects.
func (r *rawTx) fill(temp, query string, args ...any) error {
	if _, err := r.exec("DELETE FROM " + temp); err != nil {
		return err
	}
	if _, err := r.exec("INSERT INTO "+temp+" "+query, args...); err != nil {
		return err
	}
	if r.postgres {
		_, err := r.exec("ANALYZE " + temp)
		return err
	}
	return nil
}

func (r *rawTx) exec(query string, args ...any) (int64, error) {
	res, err := r.tx.ExecContext(r.ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", strings.SplitN(query, " WHERE ", 2)[0], err)
	}
	return res.RowsAffected()
}

// removeIDs deletes the rows of table whose ids are in bench_ids, with their blind-index
// entries, after unlinking the rows of other tables that point at them.
func (r *rawTx) removeIDs(table string) (int64, error) {
	for _, t := range r.dict.Tables {
		for _, c := range t.Columns {
			if ref, _, ok := c.ForeignKey(); ok && ref == table && c.Nullable() && !c.PrimaryKey() {
				if _, err := r.exec("UPDATE " + t.Name + " SET " + c.Name + " = NULL WHERE " + c.Name + " IN (SELECT id FROM bench_ids)"); err != nil {
					return 0, err
				}
			}
		}
	}
	if _, err := r.exec("DELETE FROM search_index WHERE table_name = $1 AND row_id IN (SELECT id FROM bench_ids)", table); err != nil {
		return 0, err
	}
	return r.exec("DELETE FROM " + table + " WHERE id IN (SELECT id FROM bench_ids)")
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// parseSizes reads a comma-separated list of sizes; "0" or "" is none.
func parseSizes(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" || f == "0" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a size (a whole number)", f)
		}
		out = append(out, n)
	}
	return out, nil
}
