package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"vigie/internal/app"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/rights"
)

// rightsBench measures the two rights that touch every table of a person, one person at a time,
// on the demo database of --persons persons:
//
//   - the access export (art. 15): Rights.Access — every table linked to the person, decrypted,
//     each read audited, plus who accessed the data — written as JSON to io.Discard; beside it,
//     the raw reads of the same rows: SELECT * of each of those tables by person, of the person's
//     wrapped key, and of the audit events about the person, every column scanned, nothing
//     decrypted;
//   - the erasure (art. 17): Rights.Erase — legal-hold and request checks, what the law keeps
//     re-sealed under a new key, suppression list, deletion, emptied tombstone, certificate as an
//     audit event, one transaction, then (SQLite) the WAL pushed into the zeroed file; beside it,
//     DELETE FROM each table linked to the person, children first, then the person's row, in one
//     transaction, on other persons.
//
// Persons are drawn at random among those not erased; vigie and raw alternate which runs first,
// so that neither always finds the pages the other just read. The erasures are real: each run
// erases 2 × --rights-samples persons of the bench database.
func rightsBench(ctx context.Context, o options, dbName string) ([]string, error) {
	cfg, err := benchConfig(o, dbName)
	if err != nil {
		return nil, err
	}
	a, err := openMigrated(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	// Planner statistics, as autovacuum keeps them on a production server. A bench server may run
	// without autovacuum (this one does), and the demo load leaves none: PostgreSQL then looks up
	// a person's blind-index entries through the wrong index (30 ms instead of 0.1 ms at 20,000
	// persons). SQLite's indexes lead with the person and need none.
	if a.DB.Dialect == db.Postgres {
		if _, err := a.DB.ExecContext(ctx, "ANALYZE"); err != nil {
			return nil, err
		}
	}
	ids, err := erasablePersons(ctx, a)
	if err != nil {
		return nil, err
	}
	n := min(o.rightsSamples, len(ids)/3)
	if n == 0 {
		return nil, fmt.Errorf("no persons left to erase: generate the database again (without --reuse)")
	}
	access, erase, rawErase := ids[:n], ids[n:2*n], ids[2*n:3*n]
	dpo := rights.Staff{Department: "dpo"}

	fmt.Fprintf(os.Stderr, "%s: access export of %d persons…\n", dbName, n)
	read, err := rawAccessReads(ctx, a)
	if err != nil {
		return nil, err
	}
	defer read.close()
	vAccess, rAccess, err := alternate(access, access, func(id int64) error {
		ar, err := a.Rights.Access(ctx, dpo, id)
		if err != nil {
			return err
		}
		return ar.WriteJSON(io.Discard)
	}, read.person)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}

	fmt.Fprintf(os.Stderr, "%s: erasure of %d persons, raw deletion of %d others…\n", dbName, n, n)
	del := rawDeletes(a.Dict)
	vErase, rErase, err := alternate(erase, rawErase, func(id int64) error {
		_, err := a.Rights.Erase(ctx, dpo, id, 0)
		return err
	}, func(id int64) error {
		return a.DB.InTx(ctx, func(tx *sql.Tx) error {
			for _, q := range del {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("erasure: %w", err)
	}
	ratio := func(v, r result, p int) float64 {
		return float64(v.latencies[min(len(v.latencies)-1, len(v.latencies)*p/100)]) /
			float64(r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)])
	}
	return []string{
		"",
		fmt.Sprintf("%s: access export of one person (%d random persons, Rights.Access + WriteJSON): vigie p50 %s, p99 %s; raw SELECT * of the same %d tables p50 %s, p99 %s; vigie/raw p50 %.2f, p99 %.2f (target p50 ≤ 1 ms, p99 ≤ 5 ms at 1M persons)",
			dbName, n, vAccess.pct(50), vAccess.pct(99), len(read.stmts), rAccess.pct(50), rAccess.pct(99), ratio(vAccess, rAccess, 50), ratio(vAccess, rAccess, 99)),
		fmt.Sprintf("%s: erasure of one person (%d random persons, Rights.Erase): vigie p50 %s, p99 %s; raw DELETE from the same %d tables in one transaction p50 %s, p99 %s; vigie/raw p50 %.2f, p99 %.2f (target p50 ≤ 2 ms)",
			dbName, n, vErase.pct(50), vErase.pct(99), len(del), rErase.pct(50), rErase.pct(99), ratio(vErase, rErase, 50), ratio(vErase, rErase, 99)),
	}, nil
}

// erasablePersons lists the persons not erased and under no legal hold, in a random order (the
// same for the same database).
func erasablePersons(ctx context.Context, a *app.App) ([]int64, error) {
	rows, err := a.DB.QueryContext(ctx, `SELECT id FROM persons WHERE erased_at IS NULL AND NOT legal_hold ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(2026, 17))
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids, nil
}

// alternate times vigie on the persons of vs and raw on those of rs, one person each in turn, the
// first of the pair alternating.
func alternate(vs, rs []int64, vigie, raw func(int64) error) (result, result, error) {
	var v, r result
	timed := func(res *result, fn func(int64) error, id int64) error {
		t0 := time.Now()
		if err := fn(id); err != nil {
			return err
		}
		d := time.Since(t0)
		res.latencies = append(res.latencies, d)
		res.elapsed += d
		res.n++
		return nil
	}
	for i := range vs {
		first, second := func() error { return timed(&v, vigie, vs[i]) }, func() error { return timed(&r, raw, rs[i]) }
		if i%2 == 1 {
			first, second = second, first
		}
		if err := first(); err != nil {
			return v, r, err
		}
		if err := second(); err != nil {
			return v, r, err
		}
	}
	slices.Sort(v.latencies)
	slices.Sort(r.latencies)
	return v, r, nil
}

// accessReads are the raw reads of what an access answer holds on a person.
type accessReads struct {
	stmts   []*sql.Stmt
	subject []*sql.Stmt // what the audit trail holds about the person, by pseudonym
	pseudo  func(int64) []byte
}

// rawAccessReads prepares SELECT * of every table Rights.Access reads — those linked to a person
// and holding personal data — by person, of the person's wrapped key (which Vigie reads with the
// rows to decrypt them), and of what the audit trail holds about the person (who accessed the
// data): the record chain's events and the reads counted by day.
func rawAccessReads(ctx context.Context, a *app.App) (*accessReads, error) {
	r := &accessReads{pseudo: a.Audit.Subject}
	prepare := func(query string) (*sql.Stmt, error) { return a.DB.DB.PrepareContext(ctx, query) }
	for _, t := range a.Dict.Tables {
		if t.PersonColumn == "" || t.Name != "subject_keys" && !slices.ContainsFunc(t.Columns, func(c *dictionary.Column) bool { return c.Personal }) {
			continue
		}
		stmt, err := prepare("SELECT * FROM " + t.Name + " WHERE " + t.PersonColumn + " = $1")
		if err != nil {
			r.close()
			return nil, err
		}
		r.stmts = append(r.stmts, stmt)
	}
	for _, query := range []string{`SELECT * FROM audit_events WHERE chain = 'record' AND subject = $1`, `SELECT * FROM audit_access_days WHERE subject = $1`} {
		stmt, err := prepare(query)
		if err != nil {
			r.close()
			return nil, err
		}
		r.subject = append(r.subject, stmt)
	}
	return r, nil
}

func (r *accessReads) person(id int64) error {
	for _, stmt := range r.stmts {
		if err := rawQuery(stmt, id); err != nil {
			return err
		}
	}
	for _, stmt := range r.subject {
		if err := rawQuery(stmt, r.pseudo(id)); err != nil {
			return err
		}
	}
	return nil
}

func (r *accessReads) close() {
	for _, stmt := range append(r.stmts, r.subject...) {
		stmt.Close()
	}
}

// rawDeletes are the statements that delete a person outright: every table linked to them,
// children first (the dictionary lists parents first), then the person's row.
func rawDeletes(d *dictionary.Dictionary) []string {
	var out []string
	for _, t := range slices.Backward(d.Tables) {
		if t.PersonColumn != "" && t.Name != "persons" {
			out = append(out, "DELETE FROM "+t.Name+" WHERE "+t.PersonColumn+" = $1")
		}
	}
	return append(out, "DELETE FROM persons WHERE id = $1")
}
