package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"vigie/internal/api"
	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/dictionary"
	"vigie/internal/record"
	"vigie/internal/server"
)

// auditVerifyBench fills a SQLite trail with o.auditEvents events, times `vigie audit verify`'s
// work on it, and times raw SHA-256 chaining of the same encoded events in memory.
func auditVerifyBench(ctx context.Context, o options) ([]string, error) {
	cfg := app.Config{DatabaseURL: filepath.Join(o.dir, fmt.Sprintf("audit-%d.db", o.auditEvents)),
		MasterKeyFile: filepath.Join(o.dir, "audit.key"), AuditKeyFile: filepath.Join(o.dir, "audit-signing.key")}
	if !o.reuse {
		for _, f := range []string{cfg.DatabaseURL, cfg.DatabaseURL + "-wal", cfg.DatabaseURL + "-shm", cfg.MasterKeyFile, cfg.AuditKeyFile} {
			os.Remove(f)
		}
	}
	a, err := openMigrated(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	sample := func(i int) audit.Event {
		return audit.Event{UserID: int64(i%40 + 1), Department: "support", Action: "read", Table: "persons", RowID: int64(i),
			Subject: a.Audit.Subject(int64(i%1_000_000 + 1)), Fields: "first_name,last_name,email,phone,address_line,postal_code,city", Purpose: "support"}
	}
	var have int64
	a.DB.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&have)
	start := time.Now()
	const perTx = 100_000
	for done := int(have); done < o.auditEvents; done += perTx {
		batch := make([]audit.Event, min(perTx, o.auditEvents-done))
		for i := range batch {
			batch[i] = sample(done + i)
		}
		if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.Audit.AppendTx(ctx, tx, batch...) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "audit: %d/%d events written\r", done+len(batch), o.auditEvents)
	}
	fmt.Fprintf(os.Stderr, "\naudit: written in %s; verifying…\n", time.Since(start).Round(time.Second))
	report, err := audit.Verify(ctx, a.DB, a.Audit.PublicKey(), nil)
	if err != nil {
		return nil, err
	}
	if !report.OK() {
		return nil, fmt.Errorf("the benchmark trail does not verify: %v", report.Problems[0])
	}
	var n int64
	for _, c := range report.Chains {
		n += c.Events
	}
	verifyRate := float64(n) / report.Elapsed.Seconds()

	// Raw: the same chaining of SHA-256 over the same encoded events, already in memory.
	const rawN = 2_000_000
	events := make([]audit.Event, rawN)
	for i := range events {
		events[i] = sample(i)
		events[i].Chain, events[i].Seq, events[i].At = audit.ChainRecord, int64(i+1), time.Now()
	}
	prev := make([]byte, 32)
	t0 := time.Now()
	for i := range events {
		prev = audit.ChainHash(prev, &events[i])
	}
	rawRate := rawN / time.Since(t0).Seconds()
	return []string{
		"",
		fmt.Sprintf("audit verify (SQLite): %d events in %s = %.0f events/s; raw SHA-256 chaining of the same encoded events in memory: %.0f events/s; ratio %.2f",
			n, report.Elapsed.Round(time.Millisecond), verifyRate, rawRate, verifyRate/rawRate),
	}, nil
}

// readLoggingCost serves GET /api/v1/persons/{id} in this process twice over the same database —
// once with the audit trail recording every read, once with a store that records nothing — and
// loads both the same way. The two take turns in rounds (with, without, without, with…), so that a
// load the shared machine takes on during the measure weighs on both alike. The reads still in the
// journal after a round with logging are folded before the next round, and that time counts in it.
// A round lasts at least two fold periods: in a shorter one, most reads would be folded after the
// load stops, one core folding while the other waits, which a server never does (it folds in the
// background while it serves); with 1-second rounds PostgreSQL measured 0.76–0.82, with 5-second
// rounds 0.89.
func readLoggingCost(o options, a *app.App, token string, ids []int64) (with, without result, err error) {
	silent := *a
	silent.Records = record.NewStore(a.DB, a.Dict, a.Keys, noAudit{}, a.Now)
	logged, unlogged := api.New(a), api.New(&silent)
	round, rounds := o, readLoggingRounds
	round.duration = o.duration / time.Duration(rounds)
	if least := 2 * audit.FoldEvery; round.duration < least {
		// Fewer, longer rounds: each side still loads about o.duration.
		round.duration, rounds = least, max(2, int(o.duration/least))
	}
	withRound := func() error {
		r, err := loadHandler(round, logged, nil, token, ids)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := a.Audit.Flush(context.Background()); err != nil {
			return err
		}
		r.elapsed += time.Since(start)
		with = with.plus(r)
		return nil
	}
	withoutRound := func() error {
		r, err := loadHandler(round, unlogged, nil, token, ids)
		without = without.plus(r)
		return err
	}
	for i := range rounds {
		first, second := withRound, withoutRound
		if i%2 == 1 {
			first, second = withoutRound, withRound
		}
		if err := first(); err != nil {
			return result{}, result{}, err
		}
		if err := second(); err != nil {
			return result{}, result{}, err
		}
	}
	slices.Sort(with.latencies)
	slices.Sort(without.latencies)
	return with, without, nil
}

// readLoggingRounds is how many turns each side of the read-logging measure takes, when the
// duration allows rounds of two fold periods.
const readLoggingRounds = 6

// securityCost serves the same request through the whole server — TLS, security headers, request
// log — and through the bare API handler over plain HTTP.
func securityCost(o options, a *app.App, token string, ids []int64) (secured, bare result, err error) {
	cert, _, err := server.SelfSigned("127.0.0.1", time.Now())
	if err != nil {
		return result{}, result{}, err
	}
	if secured, err = loadHandler(o, server.New(a, http.NotFoundHandler()), server.TLSConfig(cert), token, ids); err != nil {
		return result{}, result{}, err
	}
	bare, err = loadHandler(o, api.New(a), nil, token, ids)
	return secured, bare, err
}

// loadHandler serves h in this process (over TLS when conf is set) and loads GET person on it.
func loadHandler(o options, h http.Handler, conf *tls.Config, token string, ids []int64) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	scheme, transport := "http", &http.Transport{MaxIdleConnsPerHost: o.concurrency}
	if conf != nil {
		ln, scheme = tls.NewListener(ln, conf), "https"
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // our own self-signed certificate
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: transport}
	return load(o, func(n int) error {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s://%s/api/v1/persons/%d", scheme, ln.Addr(), ids[n%len(ids)]), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// noAudit records nothing: only for measuring what recording costs.
type noAudit struct{}

func (noAudit) Read(context.Context, record.Actor, *dictionary.Table, []*record.Record) error {
	return nil
}
func (noAudit) Wrote(context.Context, *sql.Tx, record.Actor, string, *dictionary.Table, int64, int64, []string) error {
	return nil
}
