package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/record"
)

var (
	devis       = record.Actor{UserID: 11, Department: "devis", Purposes: []string{"quotes"}}
	prospection = record.Actor{UserID: 12, Department: "prospection", Purposes: []string{"prospection"}}
	support     = record.Actor{UserID: 13, Department: "support", Purposes: []string{"support"}}
)

func createPerson(t *testing.T, a *app.App, as record.Actor) *record.Record {
	t.Helper()
	p, err := a.Records.Create(context.Background(), as, "persons", record.Input{Fields: map[string]json.RawMessage{
		"first_name": json.RawMessage(`"Anne"`), "last_name": json.RawMessage(`"Kerhervé"`), "email": json.RawMessage(`"anne.k@exemple.fr"`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func events(t *testing.T, a *app.App, chain string) []audit.Event {
	t.Helper()
	all, err := a.Audit.Events(context.Background(), audit.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, e := range all {
		if e.Chain == chain {
			out = append(out, e)
		}
	}
	return out
}

func verify(t *testing.T, a *app.App, file *audit.CheckpointFile) *audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), a.DB, a.Audit.PublicKey(), file)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestR16_WritesAndReadsAreRecorded: a create is recorded in its own transaction, a read before
// it is returned, each with the department, the purpose, the field names and the pseudonym — and
// no personal value.
func TestR16_WritesAndReadsAreRecorded(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p := createPerson(t, a, devis)
		if _, err := a.Records.Get(ctx, prospection, "persons", p.ID); err != nil {
			t.Fatal(err)
		}
		writes, reads := events(t, a, audit.ChainRecord), events(t, a, audit.ChainAccess)
		if len(writes) != 1 || writes[0].Action != "create" || writes[0].Department != "devis" || writes[0].UserID != 11 {
			t.Fatalf("write events: %+v", writes)
		}
		if !strings.Contains(writes[0].Fields, "email") || writes[0].Purpose != "quotes" {
			t.Errorf("write event fields %q purpose %q", writes[0].Fields, writes[0].Purpose)
		}
		// Create answers with the record as the department sees it: that is a read too.
		var prospectionRead *audit.Event
		for i, e := range reads {
			if e.Department == "prospection" {
				prospectionRead = &reads[i]
			}
		}
		if prospectionRead == nil || prospectionRead.Action != "read" || prospectionRead.RowID != p.ID || strings.Contains(prospectionRead.Fields, "birth_date") {
			t.Fatalf("read events: %+v", reads)
		}
		for _, e := range append(writes, reads...) {
			if string(e.Subject) != string(a.Audit.Subject(p.ID)) || len(e.Subject) != 16 {
				t.Errorf("event %s/%d does not name the person by pseudonym", e.Chain, e.Seq)
			}
			row := fmt.Sprintf("%v", e)
			for _, personal := range []string{"Anne", "Kerhervé", "anne.k@exemple.fr"} {
				if strings.Contains(row, personal) {
					t.Errorf("event %s/%d holds a personal value", e.Chain, e.Seq)
				}
			}
		}
		if r := verify(t, a, nil); !r.OK() {
			t.Errorf("fresh trail does not verify: %v", r.Problems)
		}
	})
}

// seedTrail writes n events in each chain.
func seedTrail(t *testing.T, a *app.App, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if err := a.Audit.Append(ctx, audit.Event{UserID: 5, Department: "support", Action: "read", Table: "tickets", RowID: int64(i + 1), Fields: "subject"}); err != nil {
			t.Fatal(err)
		}
		if err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
			return a.Audit.AppendTx(ctx, tx, audit.Event{UserID: 5, Department: "support", Action: "update", Table: "tickets", RowID: int64(i + 1), Fields: "status"})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestR16_BatchesOfAnySizeAreChained: a batch is written as one statement per event (SQLite) or
// per 500 events (PostgreSQL); batches of any size chain and verify.
func TestR16_BatchesOfAnySizeAreChained(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		total := 0
		for _, n := range []int{1, 500, 1001} {
			batch := make([]audit.Event, n)
			for i := range batch {
				batch[i] = audit.Event{UserID: 5, Department: "support", Action: "update", Table: "tickets", RowID: int64(i + 1), Fields: "status"}
			}
			if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.Audit.AppendTx(ctx, tx, batch...) }); err != nil {
				t.Fatal(err)
			}
			total += n
		}
		r := verify(t, a, nil)
		if !r.OK() || r.Chains[0].Events != int64(total) || r.Chains[0].Last != int64(total) {
			t.Errorf("after batches of 1, 500 and 1001 events: %+v, problems %v", r.Chains[0], r.Problems)
		}
	})
}

// TestR16_VerifyDetectsTampering: each way of editing the audit table directly is detected, and
// verification names the first event that is wrong.
func TestR16_VerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string // SQL run against the database
		useFile bool     // verify against a checkpoint exported before the tampering
		wantSeq int64
		want    string
		only    string // the one database where the case applies; "" for both
	}{
		{"modified", []string{`UPDATE audit_events SET department = 'dpo' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		// Every stored column is covered by the hash.
		{"modified time", []string{`UPDATE audit_events SET at_us = at_us + 1 WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified user", []string{`UPDATE audit_events SET user_id = 6 WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified action", []string{`UPDATE audit_events SET action = 'read' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified table", []string{`UPDATE audit_events SET table_name = 'persons' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified row", []string{`UPDATE audit_events SET row_id = 70 WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified subject", []string{`UPDATE audit_events SET subject = hash WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified fields", []string{`UPDATE audit_events SET fields = 'email' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified purpose", []string{`UPDATE audit_events SET purpose = 'support' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified detail", []string{`UPDATE audit_events SET detail = 'x' WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"modified hash", []string{`UPDATE audit_events SET hash = subject WHERE chain = 'record' AND seq = 7`}, false, 7, "does not match its hash", ""},
		{"moved to the other chain", []string{`UPDATE audit_events SET chain = 'access', seq = 1000 WHERE chain = 'record' AND seq = 7`}, false, 7, "missing", ""},
		// SQLite stores any type in any column, and reads 5.4 or '7x' as the integers 5 and 7.
		{"a number stored as a real", []string{`UPDATE audit_events SET user_id = 5.4 WHERE chain = 'record' AND seq = 7`}, false, 7, "number stored as another type", "sqlite"},
		{"a number stored as text", []string{`UPDATE audit_events SET row_id = row_id || 'x' WHERE chain = 'record' AND seq = 7`}, false, 7, "number stored as another type", "sqlite"},
		{"deleted", []string{`DELETE FROM audit_events WHERE chain = 'record' AND seq = 7`}, false, 7, "missing", ""},
		// Verification checks ranges of the chain in parallel: the edges of a range are covered too.
		{"deleted at the end of a range", []string{`DELETE FROM audit_events WHERE chain = 'record' AND seq = 10`}, false, 10, "missing", ""},
		{"deleted at the start of a range", []string{`DELETE FROM audit_events WHERE chain = 'record' AND seq = 11`}, false, 11, "missing", ""},
		{"modified at the start of a range", []string{`UPDATE audit_events SET fields = 'email' WHERE chain = 'record' AND seq = 11`}, false, 11, "does not match its hash", ""},
		// A gap across ranges is named once, from its first missing event to the one that ends it.
		{"deleted across ranges", []string{`DELETE FROM audit_events WHERE chain = 'record' AND seq BETWEEN 9 AND 12`}, false, 9, "jumps from event 8 to event 13", ""},
		{"inserted far past the end", []string{`INSERT INTO audit_events (chain, seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash)
			 SELECT chain, 100005, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash FROM audit_events WHERE chain = 'record' AND seq = 5`},
			false, 21, "jumps from event 20 to event 100005", ""},
		{"inserted", []string{
			`UPDATE audit_events SET seq = seq + 1000 WHERE chain = 'record' AND seq >= 7`,
			`UPDATE audit_events SET seq = seq - 999 WHERE chain = 'record' AND seq >= 1007`,
			`INSERT INTO audit_events (chain, seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash)
			 SELECT chain, 7, at_us, user_id, 'dpo', action, table_name, row_id, subject, fields, purpose, detail, hash FROM audit_events WHERE chain = 'record' AND seq = 6`,
			`UPDATE audit_heads SET seq = seq + 1 WHERE chain = 'record'`,
		}, false, 7, "does not match its hash", ""},
		{"reordered", []string{
			`UPDATE audit_events SET seq = 1000 WHERE chain = 'record' AND seq = 7`,
			`UPDATE audit_events SET seq = 7 WHERE chain = 'record' AND seq = 8`,
			`UPDATE audit_events SET seq = 8 WHERE chain = 'record' AND seq = 1000`,
		}, false, 7, "does not match its hash", ""},
		{"truncated with the head moved back", []string{
			`DELETE FROM audit_events WHERE chain = 'record' AND seq > 15`,
			`UPDATE audit_heads SET seq = 15, hash = (SELECT hash FROM audit_events WHERE chain = 'record' AND seq = 15) WHERE chain = 'record'`,
			`DELETE FROM audit_checkpoints WHERE chain = 'record' AND seq > 15`,
		}, true, 16, "truncated", ""},
		{"truncated, head left", []string{`DELETE FROM audit_events WHERE chain = 'record' AND seq > 15`}, false, 16, "truncated", ""},
		{"checkpoint forged", []string{`UPDATE audit_checkpoints SET at_us = at_us + 1 WHERE chain = 'record'`}, false, 20, "signature", ""},
	}
	for _, dialect := range apptest.Dialects {
		for _, c := range cases {
			if c.only != "" && c.only != dialect {
				continue
			}
			t.Run(dialect+"/"+c.name, func(t *testing.T) {
				a := apptest.New(t, dialect)
				seedTrail(t, a, 20)
				file, err := a.Audit.Export(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				cp, err := audit.ParseCheckpointFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if r := verify(t, a, cp); !r.OK() {
					t.Fatalf("untouched trail: %v", r.Problems)
				}
				for _, q := range c.tamper {
					if _, err := a.DB.Exec(q); err != nil {
						t.Fatalf("tamper: %v", err)
					}
				}
				var from *audit.CheckpointFile
				if c.useFile {
					from = cp
				}
				r := verify(t, a, from)
				if r.OK() {
					t.Fatal("tampered trail verifies")
				}
				first := r.Problems[0]
				if first.Chain != "record" || first.Seq != c.wantSeq || !strings.Contains(first.What, c.want) {
					t.Errorf("first problem %q, want record event %d: %s", first.String(), c.wantSeq, c.want)
				}
			})
		}
	}
}

// TestR16_VerifyWhileTheTrailGrowsFindsNoProblem: the trail is verified while the server keeps
// writing to it; events appended during a verification are not read as a truncated chain.
func TestR16_VerifyWhileTheTrailGrowsFindsNoProblem(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		seedTrail(t, a, 5)
		stop := make(chan struct{})
		written := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					written <- nil
					return
				default:
				}
				if err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
					return a.Audit.AppendTx(ctx, tx, audit.Event{UserID: 5, Department: "support", Action: "update", Table: "tickets", RowID: int64(i + 1), Fields: "status"})
				}); err != nil {
					written <- err
					return
				}
			}
		}()
		var problems []audit.Problem
		for range 50 {
			problems = append(problems, verify(t, a, nil).Problems...)
		}
		close(stop)
		if err := <-written; err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("verifying a growing trail reports %d problems, the first: %v", len(problems), problems[0])
		}
		if r := verify(t, a, nil); !r.OK() {
			t.Errorf("the trail at rest: %v", r.Problems)
		}
	})
}

// TestR16_RewrittenChainIsCaughtBySignedCheckpoints: whoever recomputes every hash after an edit
// still cannot re-sign the checkpoints (the key is outside the database).
func TestR16_RewrittenChainIsCaughtBySignedCheckpoints(t *testing.T) {
	a := apptest.New(t, "sqlite")
	ctx := context.Background()
	seedTrail(t, a, 5)
	if _, err := a.Audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// Rewrite: change event 3 and rebuild the chain from there with correct hashes.
	rewritten, err := a.Audit.Events(ctx, audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var chain []audit.Event
	for i := len(rewritten) - 1; i >= 0; i-- {
		if rewritten[i].Chain == "record" {
			chain = append(chain, rewritten[i])
		}
	}
	chain[2].Department = "dpo"
	if _, err := a.DB.Exec(`DELETE FROM audit_events WHERE chain = 'record'`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Exec(`UPDATE audit_heads SET seq = 0, hash = zeroblob(32) WHERE chain = 'record'`); err != nil {
		t.Fatal(err)
	}
	for _, e := range chain {
		e.Seq, e.Hash = 0, nil
		if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.Audit.AppendTx(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
	}
	r := verify(t, a, nil)
	if r.OK() || !strings.Contains(r.Problems[0].What, "signed checkpoint") {
		t.Fatalf("rewritten chain: %v", r.Problems)
	}
}

// TestR17_PurgeKeepsTheChainVerifiable: purging old access events leaves a signed anchor from
// which the rest verifies; removing the anchor is detected. The retention is bounded to 6–36 months.
func TestR17_PurgeKeepsTheChainVerifiable(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		old := time.Now().AddDate(-2, 0, 0)
		for i := range 10 {
			if err := a.Audit.Append(ctx, audit.Event{At: old.Add(time.Duration(i) * time.Hour), Department: "devis", Action: "read", Table: "persons", RowID: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		seedTrail(t, a, 5)
		access, record, err := a.Audit.PurgeExpired(ctx)
		if err != nil || access != 10 || record != 0 {
			t.Fatalf("purge: %d access, %d record, %v", access, record, err)
		}
		if r := verify(t, a, nil); !r.OK() {
			t.Fatalf("after purge: %v", r.Problems)
		}
		if got := events(t, a, audit.ChainRecord); got[0].Action != audit.ActionPurge {
			t.Errorf("the purge is not recorded: %+v", got[0])
		}
		if _, err := a.DB.Exec(`DELETE FROM audit_checkpoints WHERE chain = 'access'`); err != nil {
			t.Fatal(err)
		}
		if r := verify(t, a, nil); r.OK() || r.Problems[0].Seq != 11 {
			t.Errorf("anchor removed: %v", r.Problems)
		}
		for months, ok := range map[int]bool{5: false, 6: true, 12: true, 36: true, 37: false, -1: false} {
			if err := audit.CheckAccessRetention(months); (err == nil) != ok {
				t.Errorf("retention of %d months: %v", months, err)
			}
		}
		if err := a.Audit.SetAccessRetention(ctx, 1, "dpo", 3); err == nil {
			t.Error("a 3-month retention was accepted")
		}
		if err := a.Audit.SetAccessRetention(ctx, 1, "dpo", 24); err != nil {
			t.Fatal(err)
		}
		if m, _ := a.Audit.AccessRetention(ctx); m != 24 {
			t.Errorf("retention %d, want 24", m)
		}
	})
}

// TestR16_AcknowledgedReadsAreNeverLost: under concurrent reads, every read that was answered
// has its event, and the chain verifies.
func TestR16_AcknowledgedReadsAreNeverLost(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p := createPerson(t, a, devis)
		before := len(events(t, a, audit.ChainAccess))
		var wg sync.WaitGroup
		var mu sync.Mutex
		answered := 0
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					if _, err := a.Records.Get(ctx, support, "persons", p.ID); err == nil {
						mu.Lock()
						answered++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if got := len(events(t, a, audit.ChainAccess)) - before; got != answered || answered != 400 {
			t.Errorf("%d reads answered, %d read events", answered, got)
		}
		if r := verify(t, a, nil); !r.OK() {
			t.Errorf("after concurrent reads: %v", r.Problems)
		}
	})
}

// TestR16_WhoAccessedMyData lists departments, not people, after reads by three departments.
func TestR16_WhoAccessedMyData(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		p := createPerson(t, a, devis)
		other := createPerson(t, a, devis)
		for _, as := range []record.Actor{prospection, support, support} {
			if _, err := a.Records.Get(ctx, as, "persons", p.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.Records.Get(ctx, prospection, "persons", other.ID); err != nil {
			t.Fatal(err)
		}
		got, err := a.Audit.WhoAccessed(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, acc := range got {
			count[acc.Department+"/"+acc.Action] += acc.Count
		}
		want := map[string]int{"devis/create": 1, "devis/read": 1, "prospection/read": 1, "support/read": 2}
		if fmt.Sprint(count) != fmt.Sprint(want) {
			t.Errorf("who accessed: %v, want %v", count, want)
		}
	})
}

// TestR17_ReadsByDayFollowTheChainThroughAPurge: "who accessed my data" and the DPO's filter by
// person answer from the reads counted by day (the access chain has no index by person): both
// list every read of the person and no one else's, newest first, and after the purge of the
// reads older than the retention, exactly those that remain — to the event, on the day the
// retention ends.
func TestR17_ReadsByDayFollowTheChainThroughAPurge(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		// Persons known by their id alone: the trail holds nothing else of them. The reads are
		// appended in the order of their times, as they happen.
		const p, other = 1001, 1002
		now := time.Now().UTC()
		cutoff := now.AddDate(0, -audit.DefaultAccessRetentionMonths, 0)
		reads := []struct {
			at         time.Time
			department string
			person     int64
		}{
			{now.AddDate(-2, 0, 0), "support", p},
			{cutoff.Add(-time.Minute), "prospection", p},
			{cutoff.Add(time.Minute), "support", p},
			{now.AddDate(0, 0, -3), "support", p},
			{now.AddDate(0, 0, -3), "support", other},
			{now.AddDate(0, 0, -3).Add(time.Hour), "support", p},
		}
		for _, r := range reads {
			if err := a.Audit.Append(ctx, audit.Event{At: r.at, UserID: 13, Department: r.department, Action: audit.ActionRead,
				Table: "persons", RowID: r.person, Subject: a.Audit.Subject(r.person), Fields: "email"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Audit.Record(ctx, audit.Event{UserID: 11, Department: "devis", Action: audit.ActionUpdate, Table: "persons",
			RowID: p, Subject: a.Audit.Subject(p), Fields: "email"}); err != nil {
			t.Fatal(err)
		}
		if err := a.Audit.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		day := func(at time.Time) string { return at.UTC().Format("2006-01-02") }
		whoAccessed := func() map[string]int {
			got, err := a.Audit.WhoAccessed(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, acc := range got {
				out[day(acc.Day)+" "+acc.Department+"/"+acc.Action] += acc.Count
			}
			return out
		}
		before := map[string]int{
			day(now) + " devis/update":                          1,
			day(now.AddDate(-2, 0, 0)) + " support/read":        1,
			day(cutoff.Add(-time.Minute)) + " prospection/read": 1,
			day(cutoff.Add(time.Minute)) + " support/read":      1,
		}
		before[day(now.AddDate(0, 0, -3))+" support/read"] += 2
		if got := whoAccessed(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("who accessed: %v, want %v", got, before)
		}
		personEvents := func(f audit.Filter) []audit.Event {
			f.PersonID = p
			got, err := a.Audit.Events(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range got {
				if string(e.Subject) != string(a.Audit.Subject(p)) {
					t.Errorf("event %s/%d is not about the person", e.Chain, e.Seq)
				}
				if i > 0 && e.At.After(got[i-1].At) {
					t.Errorf("event %s/%d is newer than the one before it", e.Chain, e.Seq)
				}
			}
			return got
		}
		for _, c := range []struct {
			name   string
			filter audit.Filter
			want   int
		}{
			{"every event", audit.Filter{}, 6},
			{"the three newest", audit.Filter{Limit: 3}, 3},
			{"one department", audit.Filter{Department: "prospection"}, 1},
			{"one action", audit.Filter{Action: audit.ActionUpdate}, 1},
			{"a period", audit.Filter{From: now.AddDate(0, 0, -4), To: now.AddDate(0, 0, -1)}, 2},
		} {
			if got := personEvents(c.filter); len(got) != c.want {
				t.Errorf("%s: %d events, want %d", c.name, len(got), c.want)
			}
		}
		threeDaysAgo := now.AddDate(0, 0, -3).Truncate(time.Microsecond)
		if got := personEvents(audit.Filter{Limit: 3}); got[0].Chain != audit.ChainRecord || !got[1].At.Equal(threeDaysAgo.Add(time.Hour)) || !got[2].At.Equal(threeDaysAgo) {
			t.Errorf("the three newest: %s at %v, then %v, then %v", got[0].Chain, got[0].At, got[1].At, got[2].At)
		}

		if access, _, err := a.Audit.PurgeExpired(ctx); err != nil || access != 2 {
			t.Fatalf("purge: %d access events, %v", access, err)
		}
		delete(before, day(now.AddDate(-2, 0, 0))+" support/read")
		delete(before, day(cutoff.Add(-time.Minute))+" prospection/read")
		if got := whoAccessed(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("after the purge, who accessed: %v, want %v", got, before)
		}
		if got := personEvents(audit.Filter{}); len(got) != 4 {
			t.Errorf("after the purge: %d events of the person, want 4", len(got))
		}
	})
}
