package masterkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/auth"
	"vigie/internal/keys"
	"vigie/internal/masterkey"
	"vigie/internal/record"
)

var agent = record.Actor{Department: "devis", Purposes: []string{"quotes"}}

func createPerson(t *testing.T, a *app.App, i int) int64 {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"first_name":"Camille","last_name":"Le Goff","email":"personne%d@exemple.fr","birth_date":"1985-03-14"}`, i)), &f); err != nil {
		t.Fatal(err)
	}
	rec, err := a.Records.Create(context.Background(), agent, "persons", record.Input{Fields: f, Channel: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// reopen opens the same database and key files as a new process would.
func reopen(t *testing.T, a *app.App) *app.App {
	t.Helper()
	cfg := app.Config{DatabaseURL: a.Config.DatabaseURL, MasterKeyFile: a.Config.MasterKeyFile, AuditKeyFile: a.Config.AuditKeyFile, PasswordHashing: auth.TestArgon2()}
	b, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("a new process does not start: %v", err)
	}
	return b
}

// readsEveryone checks that the app decrypts every person, each with their own e-mail.
func readsEveryone(t *testing.T, a *app.App, persons map[int64]int, when string) {
	t.Helper()
	for id, i := range persons {
		rec, err := a.Records.Get(context.Background(), agent, "persons", id)
		if err != nil {
			t.Fatalf("%s: person %d does not read: %v", when, id, err)
		}
		if rec.Values["email"] != fmt.Sprintf("personne%d@exemple.fr", i) {
			t.Fatalf("%s: person %d reads wrong", when, id) // never the value
		}
	}
}

func wrappedVersions(t *testing.T, a *app.App) map[uint32]int {
	t.Helper()
	rows, err := a.DB.QueryContext(context.Background(), `SELECT wrapped_key FROM subject_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uint32]int{}
	for rows.Next() {
		var w []byte
		if err := rows.Scan(&w); err != nil {
			t.Fatal(err)
		}
		v, err := keys.WrappedVersion(w)
		if err != nil {
			t.Fatal(err)
		}
		out[v]++
	}
	return out
}

var errInterrupted = errors.New("interrupted")

// TestR26_KeyRotationResumesAfterAnInterruptionWithoutStoppingReaders: `vigie keys rotate`
// re-wraps every subject key under a new master key in batches. Interrupted after two batches,
// it leaves keys under both versions, and both a process started before the rotation and one
// started during it read every person and wrap new keys under the new version; run again, it
// finishes; then every key is under the new version, the old key file is retired (mode 0600) and
// no longer opens any key, blind indexes and audit pseudonyms are unchanged, the audit trail holds
// the rotation with its counts, and a second rotation works the same.
func TestR26_KeyRotationResumesAfterAnInterruptionWithoutStoppingReaders(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		persons := map[int64]int{}
		for i := range 25 {
			persons[createPerson(t, a, i)] = i
		}
		path := a.Config.MasterKeyFile
		oldKey, err := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
		if err != nil {
			t.Fatal(err)
		}
		var first int64
		for id := range persons {
			first = id
			break
		}
		pseudonym := a.Keys.Pseudonym(first)

		batches := 0
		_, err = masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{BatchSize: 7, AfterBatch: func(int64) error {
			if batches++; batches == 2 {
				return errInterrupted
			}
			return nil
		}})
		if !errors.Is(err, errInterrupted) {
			t.Fatalf("rotate: %v, want the interruption", err)
		}
		if v := wrappedVersions(t, a); v[1] != 25-14 || v[2] != 14 {
			t.Fatalf("after two batches of 7: %v keys per version, want 11 under 1 and 14 under 2", v)
		}
		readsEveryone(t, a, persons, "midway, a process started before")
		during := reopen(t, a)
		readsEveryone(t, during, persons, "midway, a process started during")
		persons[createPerson(t, a, 100)] = 100
		persons[createPerson(t, during, 101)] = 101
		if v := wrappedVersions(t, a); v[2] != 16 {
			t.Errorf("keys created during the rotation are not under the new version: %v", v)
		}

		res, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{BatchSize: 7})
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if !res.Resumed || res.From != 1 || res.To != 2 || res.Rewrapped != 11 || res.Keys != 27 {
			t.Errorf("resumed run: %+v, want resumed from 1 to 2, 11 re-wrapped, 27 keys", res)
		}
		if v := wrappedVersions(t, a); v[2] != 27 || len(v) != 1 {
			t.Errorf("after the rotation: %v keys per version, want all 27 under 2", v)
		}
		retired, err := keys.ReadKeyFile(masterkey.RetiredPath(path, 1), keys.MasterKeySize, "retired key")
		if err != nil || !bytes.Equal(retired, oldKey) {
			t.Fatalf("the old key is not retired in %s: %v", masterkey.RetiredPath(path, 1), err)
		}
		if info, err := os.Stat(masterkey.RetiredPath(path, 1)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("the retired key file's mode: %v (%v), want 0600", info.Mode().Perm(), err)
		}
		if _, err := os.Stat(masterkey.NextPath(path)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", masterkey.NextPath(path), err)
		}
		current, err := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
		if err != nil || bytes.Equal(current, oldKey) {
			t.Fatalf("the key file still holds the old key (%v)", err)
		}
		var wrapped []byte
		if err := a.DB.QueryRowContext(ctx, `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, first).Scan(&wrapped); err != nil {
			t.Fatal(err)
		}
		oldOnly, _ := keys.NewKeyring(oldKey)
		if _, err := oldOnly.Unwrap(first, wrapped); err == nil {
			t.Error("the retired key still opens a subject key")
		}
		rows, err := masterkey.Rows(ctx, a.DB)
		if err != nil || len(rows) != 2 || rows[0].State != masterkey.StateRetired || rows[1].State != masterkey.StateCurrent {
			t.Errorf("master_keys: %+v (%v), want version 1 retired and 2 current", rows, err)
		}

		after := reopen(t, a)
		readsEveryone(t, after, persons, "after, a new process")
		readsEveryone(t, a, persons, "after, the process started before")
		readsEveryone(t, during, persons, "after, the process started during")
		persons[createPerson(t, a, 102)] = 102
		if !bytes.Equal(after.Keys.Pseudonym(first), pseudonym) {
			t.Error("the audit pseudonym of a person changed with the master key")
		}
		if found, err := after.Records.Search(ctx, agent, "persons", "email", "personne3@exemple.fr", 10); err != nil || len(found) != 1 {
			t.Errorf("the blind index no longer finds a person after the rotation (%v)", err)
		}
		events, err := after.Audit.Events(ctx, audit.Filter{Action: masterkey.ActionRotate})
		if err != nil || len(events) != 1 || !strings.Contains(events[0].Detail, "rewrapped=11;keys=27") || len(events[0].Subject) != 0 {
			t.Errorf("the rotation in the audit trail: %+v (%v)", events, err)
		}

		// A second rotation, with a key given.
		given := keys.NewMasterKey()
		res, err = masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{NewKey: given})
		if err != nil || res.From != 2 || res.To != 3 || res.Resumed || res.Keys != 28 {
			t.Fatalf("second rotation: %+v %v", res, err)
		}
		if current, _ := keys.ReadKeyFile(path, keys.MasterKeySize, "master key"); !bytes.Equal(current, given) {
			t.Error("the given key is not the master key after the second rotation")
		}
		readsEveryone(t, reopen(t, a), persons, "after a second rotation")
		readsEveryone(t, a, persons, "after a second rotation, the first process")
	})
}

// TestR26_KeyRotationRefusals: a new key already used, and another key while a rotation is in
// progress, are refused; a wrong master key file still stops a process from starting.
func TestR26_KeyRotationRefusals(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		person := createPerson(t, a, 1)
		path := a.Config.MasterKeyFile
		oldKey, _ := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
		if _, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{NewKey: oldKey}); err == nil {
			t.Error("a rotation to the current key was accepted")
		}
		stop := errors.New("stop")
		if _, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{AfterBatch: func(int64) error { return stop }}); !errors.Is(err, stop) {
			t.Fatal(err)
		}
		if _, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{NewKey: keys.NewMasterKey()}); err == nil ||
			!strings.Contains(err.Error(), "in progress") {
			t.Errorf("another key during a rotation: %v, want refused", err)
		}
		if _, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{}); err != nil {
			t.Fatal(err)
		}
		newKey, _ := keys.ReadKeyFile(path, keys.MasterKeySize, "master key")
		// As a run killed between the database's last step and the files' would leave them: the
		// old key still in place, the new one in .next. A process starts; the next run swaps them.
		if err := os.WriteFile(path, []byte(fmt.Sprintf("%x\n", oldKey)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(masterkey.NextPath(path), []byte(fmt.Sprintf("%x\n", newKey)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := reopen(t, a).Records.Get(ctx, agent, "persons", person); err != nil {
			t.Errorf("a process started between the database's last step and the files': %v", err)
		}
		res, err := masterkey.Rotate(ctx, a.DB, path, a.Audit, masterkey.Options{})
		if current, _ := keys.ReadKeyFile(path, keys.MasterKeySize, "master key"); err != nil || !res.Resumed || res.To != 2 || !bytes.Equal(current, newKey) {
			t.Fatalf("the run after: %+v %v, want the files swapped", res, err)
		}
		// The retired key put back in place of the current one.
		if err := os.WriteFile(path, []byte(fmt.Sprintf("%x\n", oldKey)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := app.Config{DatabaseURL: a.Config.DatabaseURL, MasterKeyFile: path, AuditKeyFile: a.Config.AuditKeyFile}
		b, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.Start(ctx); err == nil || !strings.Contains(err.Error(), "retired") {
			t.Errorf("a process started with the retired key: %v, want refused", err)
		}
	})
}
