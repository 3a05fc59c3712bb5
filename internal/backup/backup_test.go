package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/backup"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/keys"
	"vigie/internal/record"
	"vigie/internal/rights"
)

var dpo = rights.Staff{Department: "dpo"}

func actor(dept, purpose string) record.Actor {
	return record.Actor{Department: dept, Purposes: []string{purpose}}
}

// customer is a person with a quote, a note, a consent and a rights request; contract adds a
// running contract and its certificate (kept by the law after an erasure).
type customer struct {
	person, quote, contract int64
	email                   string
}

func seed(t *testing.T, a *app.App, email string, contract bool) customer {
	t.Helper()
	ctx := context.Background()
	create := func(dept, purpose, table, body string) int64 {
		t.Helper()
		var f map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		rec, err := a.Records.Create(ctx, actor(dept, purpose), table, record.Input{Fields: f, Channel: "phone"})
		if err != nil {
			t.Fatalf("seed %s: %v", table, err)
		}
		return rec.ID
	}
	c := customer{email: email}
	c.person = create("devis", "quotes", "persons", fmt.Sprintf(`{"first_name":"Camille","last_name":"Le Goff","email":%q,
		"phone":"0612345678","birth_date":"1985-03-14","address_line":"3 rue des Lilas","postal_code":"29200","city":"Brest","departement":"29"}`, email))
	c.quote = create("devis", "quotes", "quotes", fmt.Sprintf(`{"person_id":%d,"vehicle_make":"Peugeot","vehicle_model":"208","vehicle_year":2020,
		"vehicle_energy":"essence","vehicle_usage":"prive","plate":"GH-456-JK","licence_date":"2004-06-01","bonus_malus":0.68,
		"coverage":"tous_risques","premium_quoted":612.40}`, c.person))
	if contract {
		c.contract = create("contrats", "contracts", "contracts", fmt.Sprintf(`{"person_id":%d,"quote_id":%d,"insurer":"MAIF","policy_number":"POL-778899",
			"start_date":"2010-01-01","annual_premium":612.40,"broker_commission":61.24}`, c.person, c.quote))
		create("contrats", "contracts", "documents", fmt.Sprintf(`{"person_id":%d,"contract_id":%d,"kind":"certificate","filename":"attestation.txt",
			"content_type":"text/plain","content":"QXR0ZXN0YXRpb24gZCdhc3N1cmFuY2U="}`, c.person, c.contract))
	}
	create("prospection", "prospection", "interactions", fmt.Sprintf(`{"person_id":%d,"channel":"phone","purpose":"prospection",
		"occurred_at":"2026-01-05T10:00:00Z","note":"Rappeler en mars"}`, c.person))
	if err := a.Consent.Record(ctx, c.person, []consent.Choice{{Purpose: "prospection_email", Granted: true}},
		consent.Proof{Channel: "phone", Method: consent.MethodStaff, Department: "prospection"}); err != nil {
		t.Fatal(err)
	}
	create("dpo", "compliance", "rights_requests", fmt.Sprintf(`{"person_id":%d,"type":"access","channel":"letter","details":"Copie de mes données"}`, c.person))
	return c
}

// fresh returns the URL of a new, empty database of the app's kind.
func fresh(t *testing.T, a *app.App) string {
	t.Helper()
	if a.DB.Dialect == db.Postgres {
		return apptest.PostgresSchemaURL(t)
	}
	return filepath.Join(t.TempDir(), "restored.db")
}

// openApp opens the restored database as `vigie serve` would: migrations checked, keys unlocked.
func openApp(t *testing.T, a *app.App, url string) *app.App {
	t.Helper()
	cfg := app.Config{DatabaseURL: url, MasterKeyFile: a.Config.MasterKeyFile, AuditKeyFile: a.Config.AuditKeyFile, PasswordHashing: auth.TestArgon2()}
	b, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("the restored database does not open: %v", err)
	}
	return b
}

func takeBackup(t *testing.T, a *app.App) []byte {
	t.Helper()
	// The test app journals reads as a server does: fold them first, or the folder would add
	// them to the source after the backup (a test slower than FoldEvery then sees rows the backup
	// could not hold).
	if err := a.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := backup.Write(context.Background(), a.DB, a.Dict, a.Keys, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func keyStore(t *testing.T, a *app.App) *backup.KeyStore {
	t.Helper()
	ks, err := backup.ReadKeyStore(context.Background(), a.DB, a.Dict)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func restore(t *testing.T, a *app.App, url string, data []byte, ks *backup.KeyStore) (backup.RestoreReport, error) {
	t.Helper()
	target, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	return backup.Restore(context.Background(), target, a.Dict, backup.RestoreOptions{
		Open:          func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		Keys:          ks,
		MasterKeyFile: a.Config.MasterKeyFile,
		AuditKeyFile:  a.Config.AuditKeyFile,
	})
}

// dump reads every row of a table as stored, in key order (SQLite: without the driver's time
// conversion, as the backup reads it).
func dump(t *testing.T, d *db.DB, table string, columns []string, key string) [][]any {
	t.Helper()
	sel := strings.Join(columns, ", ")
	if d.Dialect == db.SQLite {
		sel = "+" + strings.Join(columns, ", +")
	}
	rows, err := d.QueryContext(context.Background(), "SELECT "+sel+" FROM "+table+" ORDER BY "+key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(columns))
		ptrs := make([]any, len(columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				vals[i] = tm.UTC()
			}
		}
		out = append(out, vals)
	}
	return out
}

// TestR41_BackupRestoresEveryTableIdentically: a backup restored into a new database with the
// current keys gives back every table row for row, value for value — the subject keys from the
// key store included — and the restore is the last event of the restored trail, which verifies.
func TestR41_BackupRestoresEveryTableIdentically(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		people := []customer{seed(t, a, "un@exemple.fr", true), seed(t, a, "deux@exemple.fr", false)}
		if _, err := a.Rights.Erase(ctx, dpo, seed(t, a, "avant@exemple.fr", true).person, 0); err != nil {
			t.Fatal(err)
		}
		data := takeBackup(t, a)
		url := fresh(t, a)
		rep, err := restore(t, a, url, data, keyStore(t, a))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Erasures != 0 || rep.Removed != 0 || rep.Keys != 2+1 {
			t.Errorf("report %+v: want no erasure to re-apply and 3 keys (2 persons, 1 archive key)", rep)
		}
		b := openApp(t, a, url)
		for _, tb := range a.Dict.Tables {
			if tb.Name == "schema_migrations" {
				continue
			}
			var cols, key []string
			for _, c := range tb.Columns {
				cols = append(cols, c.Name)
				if c.PrimaryKey() {
					key = append(key, c.Name)
				}
			}
			src, got := dump(t, a.DB, tb.Name, cols, strings.Join(key, ", ")), dump(t, b.DB, tb.Name, cols, strings.Join(key, ", "))
			switch tb.Name {
			case "audit_events":
				if len(got) != len(src)+1 {
					t.Errorf("audit_events: %d rows restored, want the %d of the backup and the restore event", len(got), len(src))
					continue
				}
				got = got[:len(src)]
			case "audit_heads":
				continue // moved by the restore event
			}
			if len(src) != len(got) {
				t.Errorf("%s: %d rows restored, want %d", tb.Name, len(got), len(src))
				continue
			}
			for i := range src {
				if !reflect.DeepEqual(src[i], got[i]) {
					t.Errorf("%s: row %d differs after the restore", tb.Name, i)
				}
			}
		}
		for _, c := range people {
			samePerson(t, a, b, c)
		}
		if _, err := b.Audit.Checkpoint(ctx); err != nil {
			t.Fatalf("checkpoint the restored trail: %v", err)
		}
		if r, err := audit.Verify(ctx, b.DB, b.Audit.PublicKey(), nil); err != nil || !r.OK() {
			t.Errorf("the restored trail does not verify: %v %v", err, r)
		}
		events, err := b.Audit.Events(ctx, auditFilter(backup.ActionRestore))
		if err != nil || len(events) != 1 || !strings.Contains(events[0].Detail, "erasures_reapplied=0") {
			t.Errorf("the restore is not in the restored trail (%v)", err)
		}
		// New rows get new ids (PostgreSQL's identity sequences follow the restored ids).
		c := seed(t, b, "apres@exemple.fr", false)
		if c.person <= people[1].person {
			t.Errorf("a person created after the restore got id %d, not past the restored ones", c.person)
		}
	})
}

// samePerson checks that a person reads back identically, decrypted, from both apps.
func samePerson(t *testing.T, a, b *app.App, c customer) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []struct {
		table string
		id    int64
		who   record.Actor
	}{{"persons", c.person, actor("devis", "quotes")}, {"quotes", c.quote, actor("devis", "quotes")}} {
		want, err := a.Records.Get(ctx, r.who, r.table, r.id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Records.Get(ctx, r.who, r.table, r.id)
		if err != nil {
			t.Fatalf("%s %d does not read after the restore: %v", r.table, r.id, err)
		}
		if len(want.Values) == 0 {
			t.Fatalf("%s %d: nothing decrypted", r.table, r.id)
		}
		for field, v := range want.Values {
			if !reflect.DeepEqual(got.Values[field], v) {
				t.Errorf("%s.%s differs after the restore", r.table, field) // never the values
			}
		}
	}
	if found, err := b.Records.Search(ctx, actor("devis", "quotes"), "persons", "email", c.email, 10); err != nil || len(found) != 1 {
		t.Errorf("the person is not found by e-mail after the restore (%v)", err)
	}
}

// TestR26_ErasureAfterABackupSurvivesItsRestore: a person erased after the backup is gone from
// the database the backup is restored into — rows deleted, tombstone dated as the erasure, e-mail
// on the suppression list, no key — and nothing left anywhere opens with their old key; the
// persons not erased read back identically.
func TestR26_ErasureAfterABackupSurvivesItsRestore(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		kept := seed(t, a, "reste@exemple.fr", true)
		gone := seed(t, a, "efface@exemple.fr", false)
		archived := seed(t, a, "archive@exemple.fr", true) // a running contract: kept by the law
		oldKeys := map[int64]*keys.SubjectKey{gone.person: subjectKey(t, a, gone.person), archived.person: subjectKey(t, a, archived.person)}
		data := takeBackup(t, a)

		a.Now = func() time.Time { return time.Now().Add(time.Second) }
		var certs []*rights.Certificate
		for _, c := range []customer{gone, archived} {
			cert, err := a.Rights.Erase(ctx, dpo, c.person, 0)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, cert)
		}
		url := fresh(t, a)
		rep, err := restore(t, a, url, data, keyStore(t, a))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Erasures != 2 {
			t.Errorf("%d erasures re-applied, want 2", rep.Erasures)
		}
		b := openApp(t, a, url)
		for i, c := range []customer{gone, archived} {
			var erasedAt time.Time
			if err := b.DB.QueryRowContext(ctx, `SELECT erased_at FROM persons WHERE id = $1`, c.person).Scan(&erasedAt); err != nil {
				t.Fatalf("the tombstone of person %d: %v", c.person, err)
			}
			if !erasedAt.Equal(certs[i].ErasedAt) {
				t.Errorf("tombstone dated %v, want the erasure's %v", erasedAt, certs[i].ErasedAt)
			}
			if _, err := b.Records.Get(ctx, actor("devis", "quotes"), "persons", c.person); err == nil {
				t.Error("the erased person reads after the restore")
			}
			for _, table := range []string{"quotes", "interactions", "consents", "search_index", "subject_keys"} {
				if n := count(t, b, "SELECT count(*) FROM "+table+" WHERE person_id = $1", c.person); n != 0 {
					t.Errorf("%s holds %d rows of the erased person after the restore", table, n)
				}
			}
			// The key is in neither database (checked above): nothing sealed under it opens. The
			// only values still sealed under it are those of the records the law keeps, which the
			// live database re-sealed after the backup under a key the backup never saw.
			for _, place := range decryptable(t, b, oldKeys[c.person]) {
				if c.contract == 0 || !strings.HasPrefix(place, "contracts.") && !strings.HasPrefix(place, "documents.") {
					t.Errorf("%s still holds a value of the erased person sealed under their destroyed key", place)
				}
			}
			if found, _ := b.Records.Search(ctx, actor("devis", "quotes"), "persons", "email", c.email, 10); len(found) != 0 {
				t.Error("the erased person is found by e-mail after the restore")
			}
			if sup, err := b.Consent.Suppressed(ctx, c.email, ""); err != nil || !sup {
				t.Errorf("the erased person's e-mail is not on the suppression list after the restore (%v)", err)
			}
		}
		// What the law keeps stays (in the archive), unreadable: its key was replaced after the backup.
		if n := count(t, b, "SELECT count(*) FROM contracts WHERE person_id = $1", archived.person); n != 1 {
			t.Errorf("the kept contract: %d rows after the restore, want 1", n)
		}
		if _, err := b.Records.Get(ctx, actor("contrats", "contracts"), "contracts", archived.contract); err == nil {
			t.Error("the kept contract of the erased person reads after the restore")
		}
		samePerson(t, a, b, kept)
		events, err := b.Audit.Events(ctx, auditFilter(rights.ActionEraseReapplied))
		if err != nil || len(events) != 2 {
			t.Errorf("%d re-applied erasures in the restored trail, want 2 (%v)", len(events), err)
		}
	})
}

// TestR26_APersonRemovedByTheLifecycleStaysRemoved: a person whose key the key store no longer
// holds, with no tombstone (the retention lifecycle deleted them), is removed from the restore.
func TestR26_APersonRemovedByTheLifecycleStaysRemoved(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "parti@exemple.fr", false)
		other := seed(t, a, "present@exemple.fr", false)
		data := takeBackup(t, a)
		ks := keyStore(t, a)
		// As the lifecycle leaves it: the person, their rows and their key gone (simulated on the
		// key store: the live database is not the point here).
		ksRemoved := withoutKey(t, a, ks, c.person)
		url := fresh(t, a)
		rep, err := restore(t, a, url, data, ksRemoved)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Removed != 1 || rep.Erasures != 0 {
			t.Errorf("report %+v: want 1 removal", rep)
		}
		b := openApp(t, a, url)
		if n := count(t, b, "SELECT count(*) FROM quotes WHERE person_id = $1", c.person); n != 0 {
			t.Errorf("%d quotes of the removed person restored", n)
		}
		if _, err := b.Records.Get(ctx, actor("devis", "quotes"), "persons", c.person); err == nil {
			t.Error("the removed person reads after the restore")
		}
		samePerson(t, a, b, other)
	})
}

// TestR41_ABackupChangedOrCutShortIsRefused: a backup with one byte changed anywhere, cut short,
// or with bytes added is refused, and the target database is left as it was (without a table).
func TestR41_ABackupChangedOrCutShortIsRefused(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		seed(t, a, "intact@exemple.fr", true)
		data := takeBackup(t, a)
		ks := keyStore(t, a)
		flip := func(at int) []byte {
			b := bytes.Clone(data)
			b[at] ^= 0x20
			return b
		}
		cases := []struct {
			name string
			data []byte
			want error
		}{
			{"a byte of the header changed", flip(12), nil},
			{"a byte of the sealed data key changed", flip(60), backup.ErrCorrupt},
			{"a byte in the middle changed", flip(len(data) / 2), backup.ErrCorrupt},
			{"the last byte changed", flip(len(data) - 1), backup.ErrCorrupt},
			{"cut in the middle", data[:len(data)/2], backup.ErrTruncated},
			{"the last byte missing", data[:len(data)-1], backup.ErrTruncated},
			{"bytes added", append(bytes.Clone(data), 0), backup.ErrCorrupt},
			{"the backup of another database", takeBackup(t, apptest.New(t, string(a.DB.Dialect))), nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				url := fresh(t, a)
				_, err := restore(t, a, url, tc.data, ks)
				if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("restore: %v, want refused (%v)", err, tc.want)
				}
				target, err := db.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				defer target.Close()
				if schema, err := target.Schema(context.Background()); err != nil || len(schema) != 0 {
					t.Errorf("the refused restore left %d tables (%v)", len(schema), err)
				}
			})
		}
	})
}

// TestR41_RestoreRefusesADatabaseWithData: restoring into a database that holds data (here, the
// live one) is refused and changes nothing; so is a key store older than the backup, or another
// database's, whatever the target.
func TestR41_RestoreRefusesADatabaseWithData(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		seed(t, a, "vivant@exemple.fr", false)
		old := keyStore(t, a)
		time.Sleep(2 * time.Millisecond)
		data := takeBackup(t, a)
		ks := keyStore(t, a)
		before := count(t, a, "SELECT count(*) FROM audit_events", 0) + 1000*count(t, a, "SELECT count(*) FROM persons", 0)
		_, err := restore(t, a, a.Config.DatabaseURL, data, ks)
		if !errors.Is(err, backup.ErrNotEmpty) {
			t.Fatalf("restore into the live database: %v, want ErrNotEmpty", err)
		}
		if after := count(t, a, "SELECT count(*) FROM audit_events", 0) + 1000*count(t, a, "SELECT count(*) FROM persons", 0); after != before {
			t.Error("the refused restore changed the database")
		}
		if _, err := restore(t, a, fresh(t, a), data, old); err == nil || !strings.Contains(err.Error(), "older than the backup") {
			t.Errorf("a key store older than the backup: %v, want refused", err)
		}
		// Another database's key store holds none of these persons' keys: taken as it is, every
		// person would look erased since the backup.
		other := apptest.New(t, string(a.DB.Dialect))
		seed(t, other, "ailleurs@exemple.fr", false)
		url := fresh(t, a)
		if _, err := restore(t, a, url, data, keyStore(t, other)); err == nil || !strings.Contains(err.Error(), "another database's") {
			t.Errorf("another database's key store: %v, want refused", err)
		}
		target, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		if schema, err := target.Schema(ctx); err != nil || len(schema) != 0 {
			t.Errorf("the refused restore left %d tables (%v)", len(schema), err)
		}
	})
}

// TestR41_KeyStoreExportRoundTrip: the key store export opens with the master key and gives what
// was read; changed, it is refused.
func TestR41_KeyStoreExportRoundTrip(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		c := seed(t, a, "cle@exemple.fr", false)
		gone := seed(t, a, "cle-effacee@exemple.fr", false)
		if _, err := a.Rights.Erase(ctx, dpo, gone.person, 0); err != nil {
			t.Fatal(err)
		}
		ks := keyStore(t, a)
		var buf bytes.Buffer
		if _, err := ks.Write(&buf, a.Keys, a.DB.Dialect); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf.Bytes(), []byte("cle@exemple.fr")) {
			t.Fatal("the export holds personal data in clear")
		}
		find := func(string) ([]byte, error) {
			return keys.ReadKeyFile(a.Config.MasterKeyFile, keys.MasterKeySize, "master key")
		}
		got, err := backup.OpenKeyStore(bytes.NewReader(buf.Bytes()), find)
		if err != nil {
			t.Fatal(err)
		}
		if !got.HasKey(c.person) || got.HasKey(gone.person) || got.Keys() != ks.Keys() || !got.CreatedAt.Equal(ks.CreatedAt) {
			t.Error("the export does not give back the keys read")
		}
		if _, ok := got.Erased[gone.person]; !ok || len(got.Erased) != 1 {
			t.Errorf("the export lists %d erasures, want the erased person's", len(got.Erased))
		}
		changed := bytes.Clone(buf.Bytes())
		changed[len(changed)-3] ^= 1
		if _, err := backup.OpenKeyStore(bytes.NewReader(changed), find); !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("a changed export: %v, want ErrCorrupt", err)
		}
	})
}

func auditFilter(action string) audit.Filter { return audit.Filter{Action: action} }

func withoutKey(t *testing.T, a *app.App, ks *backup.KeyStore, personID int64) *backup.KeyStore {
	t.Helper()
	// Round trip through an export with the key deleted from the live database meanwhile.
	ctx := context.Background()
	if _, err := a.DB.ExecContext(ctx, `DELETE FROM subject_keys WHERE person_id = $1`, personID); err != nil {
		t.Fatal(err)
	}
	return keyStore(t, a)
}

func subjectKey(t *testing.T, a *app.App, personID int64) *keys.SubjectKey {
	t.Helper()
	var wrapped []byte
	if err := a.DB.QueryRowContext(context.Background(), `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, personID).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	sk, err := a.Keys.Unwrap(personID, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// decryptable lists the encrypted columns anywhere in the database holding a value the key opens.
func decryptable(t *testing.T, a *app.App, sk *keys.SubjectKey) []string {
	t.Helper()
	var opened []string
	for _, tbl := range a.Dict.Tables {
		for _, c := range tbl.Columns {
			if !c.Encrypted {
				continue
			}
			rows, err := a.DB.QueryContext(context.Background(), "SELECT "+c.Name+" FROM "+tbl.Name+" WHERE "+c.Name+" IS NOT NULL")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				if err := rows.Scan(&b); err != nil {
					t.Fatal(err)
				}
				if _, _, err := sk.Open(tbl.Name+"."+c.Name, b); err == nil && !slices.Contains(opened, tbl.Name+"."+c.Name) {
					opened = append(opened, tbl.Name+"."+c.Name)
				}
			}
			rows.Close()
		}
	}
	return opened
}

func count(t *testing.T, a *app.App, query string, arg int64) int {
	t.Helper()
	var n int
	var err error
	if strings.Contains(query, "$1") {
		err = a.DB.QueryRowContext(context.Background(), query, arg).Scan(&n)
	} else {
		err = a.DB.QueryRowContext(context.Background(), query).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
