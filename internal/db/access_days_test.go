package db

import (
	"context"
	"fmt"
	"testing"
)

// TestR16_UpgradeCountsTheReadsAlreadyLogged: migration 0020 drops the index of every read by
// person; the reads a database already holds are counted by person, day, department and action
// in the same step, so "who accessed my data" loses none of them. Events about no one, and the
// record chain (which keeps its index), are not counted.
func TestR16_UpgradeCountsTheReadsAlreadyLogged(t *testing.T) {
	const day = int64(86400000000)
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			d := openTest(t, dialect)
			if _, err := d.MigrateTo(ctx, 19); err != nil {
				t.Fatal(err)
			}
			events := []struct {
				chain   string
				at      int64
				dep     string
				subject string
			}{
				{"access", 20000*day + 5, "support", "a"},
				{"access", 20000*day + 9, "support", "a"},
				{"access", 20000*day + 7, "devis", "a"},
				{"access", 20001*day + 1, "support", "a"},
				{"access", 20000*day + 3, "support", "b"},
				{"access", 20000*day + 4, "support", ""},
				{"record", 20000*day + 6, "devis", "a"},
			}
			for i, e := range events {
				if _, err := d.ExecContext(ctx, `INSERT INTO audit_events (chain, seq, at_us, user_id, department, action, table_name, row_id,
					subject, fields, purpose, detail, hash) VALUES ($1, $2, $3, 1, $4, 'read', 'persons', 1, $5, 'email', '', '', $6)`,
					e.chain, i+1, e.at, e.dep, []byte(e.subject), []byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			rows, err := d.QueryContext(ctx, `SELECT subject, day, department, action, events FROM audit_access_days ORDER BY subject, day, department`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var subject []byte
				var dayN, n int64
				var dep, action string
				if err := rows.Scan(&subject, &dayN, &dep, &action, &n); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s %d %s/%s %d", subject, dayN, dep, action, n))
			}
			want := []string{"a 20000 devis/read 1", "a 20000 support/read 2", "a 20001 support/read 1", "b 20000 support/read 1"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("counts after the upgrade: %v, want %v", got, want)
			}
		})
	}
}
