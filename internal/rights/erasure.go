package rights

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/db"
	"vigie/internal/dictionary"
)

// ActionErase is the audit action of an erasure; its event is the erasure certificate.
const ActionErase = "erase"

// Certificate is the answer to an erasure request: what was deleted, what a legal obligation
// keeps (with its reason and end date), and whether the person's key was destroyed. It holds no
// personal data; its SHA-256 is the evidence kept on the request and in the audit event.
type Certificate struct {
	PersonID     int64            `json:"person_id"`
	ErasedAt     time.Time        `json:"erased_at"`
	Deleted      map[string]int64 `json:"deleted"`
	Kept         []Kept           `json:"kept"`
	KeyDestroyed bool             `json:"key_destroyed"`
	Evidence     string           `json:"evidence"`
}

// Kept is a record a legal obligation keeps in the archive after an erasure (art. 17(3)(b)).
type Kept struct {
	Table  string    `json:"table"`
	ID     int64     `json:"id"`
	Label  string    `json:"label"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// Erase erases a person (art. 17), as one transaction: a crash at any point leaves the person
// either untouched or erased, never half. Every row of every table the dictionary links to the
// person is deleted — blind-index entries, consents, documents, queued mail, portal sessions —
// except what a legal obligation keeps (contracts and their documents, invoices: the retention
// rules marked kept_on_erasure), which stays in the archive, re-sealed under a new key and out of
// every department's reach but the DPO's. The person's key is destroyed, so every copy of their
// data sealed under it can no longer be read wherever the key itself was not copied (a backup of
// the data tables without subject_keys; a full database backup still holds the key until it
// expires — the backup scheme is what makes that true). The person's row stays as a
// tombstone (the requests they made must still point somewhere), emptied of personal data; their
// e-mail and phone join the suppression list; the requests keep their dates and type, not their
// text. The certificate is recorded as an audit event in the same transaction.
func (s *Service) Erase(ctx context.Context, st Staff, personID, requestID int64) (*Certificate, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	cert := &Certificate{PersonID: personID, ErasedAt: now, Deleted: map[string]int64{}}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		// The claim: of two concurrent erasures, one finds the person already erased.
		res, err := tx.ExecContext(ctx, `UPDATE persons SET erased_at = $1 WHERE id = $2 AND erased_at IS NULL`, now, personID)
		if err != nil {
			return fmt.Errorf("rights: erase: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.state(ctx, tx, personID); err != nil {
				return err
			}
			return ErrErased
		}
		state, err := s.state(ctx, tx, personID)
		if err != nil {
			return err
		}
		if state.legalHold {
			return ErrLegalHold
		}
		if requestID != 0 {
			if err := s.checkRequest(ctx, tx, requestID, personID, "erasure"); err != nil {
				return err
			}
		}
		kept, err := s.keptOnErasure(ctx, tx, personID, now)
		if err != nil {
			return err
		}
		cert.Kept = kept
		if err := s.consent.SuppressTx(ctx, tx, personID); err != nil {
			return err
		}
		newKey, err := s.reseal(ctx, tx, personID, kept)
		if err != nil {
			return err
		}
		if err := s.deleteSubjectRows(ctx, tx, personID, kept, newKey, cert.Deleted); err != nil {
			return err
		}
		cert.KeyDestroyed = true
		cert.Evidence = cert.digest()
		if requestID != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE rights_requests SET status = 'closed', closed_at = $1, updated_at = $1,
				handled_by = $2, evidence = $3 WHERE id = $4`, now, nullUser(st.UserID), cert.Evidence, requestID); err != nil {
				return fmt.Errorf("rights: close erasure request: %w", err)
			}
		}
		return s.event(ctx, tx, st, ActionErase, "persons", personID, personID, cert.summary())
	})
	if err != nil {
		return nil, err
	}
	// In the background: the answer does not wait for the log to be folded (about 2 ms).
	go s.forgetFreedPages(context.WithoutCancel(ctx))
	return cert, nil
}

func nullUser(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// keptOnErasure lists the records a legal obligation keeps: contracts until their end plus the
// contract rule's months, the documents of a kept contract with it, and invoices until the
// invoice rule's months after they were issued. It reads only columns stored in clear: nothing
// is decrypted, and the labels name records by number, so the certificate holds no personal data.
func (s *Service) keptOnErasure(ctx context.Context, tx *sql.Tx, personID int64, now time.Time) ([]Kept, error) {
	contractRule, _ := s.dict.RetentionRule("contract")
	invoiceRule, _ := s.dict.RetentionRule("invoice")
	var kept []Kept
	keptContracts := map[int64]time.Time{}
	if contractRule.KeptOnErasure {
		endDate := s.dict.Table("contracts").Column("end_date")
		err := s.eachRow(ctx, tx, `SELECT id, end_date FROM contracts WHERE person_id = $1 ORDER BY id`, personID, func(id int64, raw any) error {
			v, err := endDate.FromDB(raw)
			if err != nil {
				return err
			}
			// A contract still running is kept at least as long as if it ended today.
			end, _ := time.Parse(dictionary.DateLayout, string(endDate.Text(v)))
			if end.IsZero() || end.After(now) {
				end = now
			}
			if until := end.AddDate(0, contractRule.Months, 0); until.After(now) {
				keptContracts[id] = until
				kept = append(kept, Kept{Table: "contracts", ID: id, Label: fmt.Sprintf("Contrat n° %d", id), Reason: contractRule.Source, Until: until})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	createdAt := s.dict.Table("documents").Column("created_at")
	type document struct {
		id, contractID int64
		invoice        bool
		created        time.Time
	}
	var docs []document
	rows, err := tx.QueryContext(ctx, `SELECT id, contract_id, kind, created_at FROM documents WHERE person_id = $1 ORDER BY id`, personID)
	if err != nil {
		return nil, fmt.Errorf("rights: read documents: %w", err)
	}
	for rows.Next() {
		var d document
		var contractID sql.NullInt64
		var kind string
		var raw any
		if err := rows.Scan(&d.id, &contractID, &kind, &raw); err != nil {
			rows.Close()
			return nil, fmt.Errorf("rights: read documents: %w", err)
		}
		v, err := createdAt.FromDB(raw)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("rights: read documents: %w", err)
		}
		d.contractID, d.invoice, d.created = contractID.Int64, kind == "invoice", v.(time.Time)
		docs = append(docs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rights: read documents: %w", err)
	}
	for _, d := range docs {
		label := fmt.Sprintf("Document n° %d", d.id)
		invoiceUntil := d.created.AddDate(0, invoiceRule.Months, 0)
		switch {
		case d.invoice && invoiceRule.KeptOnErasure && invoiceUntil.After(now):
			kept = append(kept, Kept{Table: "documents", ID: d.id, Label: label + " (facture)", Reason: invoiceRule.Source, Until: invoiceUntil})
		case !keptContracts[d.contractID].IsZero():
			kept = append(kept, Kept{Table: "documents", ID: d.id, Label: label, Reason: contractRule.Source, Until: keptContracts[d.contractID]})
		}
	}
	return kept, nil
}

// eachRow runs a query of (id, value) rows on one person and hands each row to fn.
func (s *Service) eachRow(ctx context.Context, tx *sql.Tx, query string, personID int64, fn func(id int64, raw any) error) error {
	rows, err := tx.QueryContext(ctx, query, personID)
	if err != nil {
		return fmt.Errorf("rights: read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var raw any
		if err := rows.Scan(&id, &raw); err != nil {
			return fmt.Errorf("rights: read: %w", err)
		}
		if err := fn(id, raw); err != nil {
			return fmt.Errorf("rights: read: %w", err)
		}
	}
	return rows.Err()
}

// reseal moves what the law keeps under a new key, so that the old one can be destroyed: the
// kept records and the identity of their holder (the person's identity fields). Nothing is
// re-sealed when nothing is kept.
func (s *Service) reseal(ctx context.Context, tx *sql.Tx, personID int64, kept []Kept) ([]byte, error) {
	if len(kept) == 0 {
		return nil, nil
	}
	sk, err := s.keys.NewSubjectKey()
	if err != nil {
		return nil, err
	}
	byTable := map[string][]int64{}
	for _, k := range kept {
		byTable[k.Table] = append(byTable[k.Table], k.ID)
	}
	byTable["persons"] = []int64{personID}
	for _, name := range slices.Sorted(maps.Keys(byTable)) {
		t := s.dict.Table(name)
		recs, err := s.records.PersonRowsTx(ctx, tx, Subject.actor(), name, personID, true)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !slices.Contains(byTable[name], r.ID) {
				continue
			}
			var sets []string
			var args []any
			for _, c := range t.Columns {
				v, ok := r.Values[c.Name]
				if !c.Encrypted || !ok || v == nil || name == "persons" && c.Category != "identity" {
					continue
				}
				args = append(args, sk.Seal(c.Ref, r.Provenance[c.Name], c.Text(v)))
				sets = append(sets, c.Name+" = $"+strconv.Itoa(len(args)))
			}
			if t.Column("archived") != nil {
				sets = append(sets, "archived = TRUE")
			}
			if len(sets) == 0 {
				continue
			}
			args = append(args, r.ID)
			if _, err := tx.ExecContext(ctx, "UPDATE "+t.Name+" SET "+strings.Join(sets, ", ")+" WHERE id = $"+strconv.Itoa(len(args)), args...); err != nil {
				return nil, fmt.Errorf("rights: re-seal %s: %w", t.Name, err)
			}
		}
	}
	return s.keys.Wrap(personID, sk), nil
}

// deleteSubjectRows deletes every row linked to the person but the kept ones, children first,
// empties the person's row and the texts of their requests, and replaces their key with the one
// that seals what is kept (none when nothing is).
func (s *Service) deleteSubjectRows(ctx context.Context, tx *sql.Tx, personID int64, kept []Kept, newKey []byte, deleted map[string]int64) error {
	keptIDs := map[string][]int64{}
	for _, k := range kept {
		keptIDs[k.Table] = append(keptIDs[k.Table], k.ID)
	}
	notKept := func(column string, ids []int64) string {
		if len(ids) == 0 {
			return ""
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.FormatInt(id, 10)
		}
		return " AND " + column + " NOT IN (" + strings.Join(parts, ", ") + ")"
	}
	// What stays (kept records, the requests) must not point at what goes.
	for _, t := range s.dict.Tables {
		if t.PersonColumn == "" || t.Name == "persons" || len(keptIDs[t.Name]) == 0 && t.Name != requestsTable {
			continue
		}
		for _, c := range t.Columns {
			ref, _, ok := c.ForeignKey()
			if !ok || !c.Nullable() || ref == "persons" || ref == "users" || s.dict.Table(ref) == nil || s.dict.Table(ref).PersonColumn == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, "UPDATE "+t.Name+" SET "+c.Name+" = NULL WHERE "+t.PersonColumn+" = $1 AND "+c.Name+
				" IS NOT NULL"+notKept(c.Name, keptIDs[ref]), personID); err != nil {
				return fmt.Errorf("rights: unlink %s.%s: %w", t.Name, c.Name, err)
			}
		}
	}
	for i := len(s.dict.Tables) - 1; i >= 0; i-- {
		t := s.dict.Tables[i]
		if t.PersonColumn == "" || t.Name == "persons" || t.Name == requestsTable {
			continue
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM "+t.Name+" WHERE "+t.PersonColumn+" = $1"+notKept("id", keptIDs[t.Name]), personID)
		if err != nil {
			return fmt.Errorf("rights: erase %s: %w", t.Name, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			deleted[t.Name] = n
		}
	}
	if err := s.emptyRow(ctx, tx, s.dict.Table(requestsTable), "person_id = $1", personID, nil); err != nil {
		return err
	}
	keepIdentity := func(c *dictionary.Column) bool { return newKey != nil && c.Category == "identity" }
	if err := s.emptyRow(ctx, tx, s.dict.Table("persons"), "id = $1", personID, keepIdentity); err != nil {
		return err
	}
	if newKey != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subject_keys (person_id, wrapped_key, created_at) VALUES ($1, $2, $3)`,
			personID, newKey, s.now().UTC()); err != nil {
			return fmt.Errorf("rights: store the archive key: %w", err)
		}
	}
	return nil
}

// requestsTable holds the rights requests, which outlive an erasure without their texts (art. 5(2)).
const requestsTable = "rights_requests"

// emptyRow removes the personal values of the rows matched by where: NULL where the column allows
// it, an empty value where it does not (a name sealed under a destroyed key says nothing anyway).
// Columns in clear that the schema requires (the kind of relationship) stay: they name no one.
func (s *Service) emptyRow(ctx context.Context, tx *sql.Tx, t *dictionary.Table, where string, personID int64, keep func(*dictionary.Column) bool) error {
	var sets []string
	for _, c := range t.Columns {
		switch {
		case !c.Personal || keep != nil && keep(c):
		case c.Nullable():
			sets = append(sets, c.Name+" = NULL")
		case c.Encrypted:
			sets = append(sets, c.Name+" = $2")
		}
	}
	if len(sets) == 0 {
		return nil
	}
	args := []any{personID}
	if strings.Contains(strings.Join(sets, ""), "$2") {
		args = append(args, []byte{})
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+t.Name+" SET "+strings.Join(sets, ", ")+" WHERE "+where, args...); err != nil {
		return fmt.Errorf("rights: empty %s: %w", t.Name, err)
	}
	return nil
}

// forgetFreedPages pushes the deleted pages out of SQLite's write-ahead log into the database
// file, where secure_delete has zeroed them: the old key's bytes do not linger in the log.
// PostgreSQL reuses the space of deleted rows once vacuumed; the key is unreadable without the
// master key either way.
func (s *Service) forgetFreedPages(ctx context.Context) {
	if s.db.Dialect == db.SQLite {
		s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
}

// digest is the SHA-256 of the certificate's canonical JSON, evidence left empty.
func (c *Certificate) digest() string {
	copyOf := *c
	copyOf.Evidence = ""
	b, _ := json.Marshal(copyOf)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// summary is the certificate as the audit event's detail: counts and codes, no personal data.
func (c *Certificate) summary() string {
	var parts []string
	for _, table := range slices.Sorted(maps.Keys(c.Deleted)) {
		parts = append(parts, table+"="+strconv.FormatInt(c.Deleted[table], 10))
	}
	keptCount := map[string]int{}
	for _, k := range c.Kept {
		keptCount[k.Table]++
	}
	var keptParts []string
	for _, table := range slices.Sorted(maps.Keys(keptCount)) {
		keptParts = append(keptParts, table+"="+strconv.Itoa(keptCount[table]))
	}
	return "deleted:" + strings.Join(parts, ",") + ";kept:" + strings.Join(keptParts, ",") + ";key_destroyed;" + c.Evidence
}

// checkRequest refuses to act on a request that is not this person's open request of this type.
func (s *Service) checkRequest(ctx context.Context, tx *sql.Tx, requestID, personID int64, typ string) error {
	var owner int64
	var gotType, status string
	err := tx.QueryRowContext(ctx, `SELECT person_id, type, status FROM rights_requests WHERE id = $1`, requestID).Scan(&owner, &gotType, &status)
	switch {
	case err == sql.ErrNoRows || err == nil && owner != personID:
		return &InputError{"request_id", "owner", "demande inconnue pour cette personne"}
	case err != nil:
		return fmt.Errorf("rights: read request: %w", err)
	case gotType != typ:
		return &InputError{"request_id", "type", "cette demande n'est pas une demande de type " + typ}
	case status == "closed" || status == "refused":
		return &InputError{"request_id", "status", "cette demande est déjà close"}
	}
	return nil
}
