package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// The archive (DESIGN §5, R35). A contract that ended, a closed ticket and what an erasure keeps
// for a legal reason are archived: the "not_archived" row rule takes them out of every
// department's reach (Get, List, Search and Blob do not return them). ReadArchived is the one door
// back: the DPO reads an archived row only by writing why, and each reading leaves, in one
// transaction, a row in archive_accesses (the justification sealed under the person's key) and a
// read event in the audit trail. ArchivedRows lists what lies in a person's archive without
// opening anything.

const (
	// dpoDepartment is the data protection officer's: the only one that opens the archive, reads
	// the correction history, and sees erased or restricted persons.
	dpoDepartment = "dpo"
	// archivePurpose is the purpose the archive is opened for.
	archivePurpose = "compliance"
	// ArchiveAuditDetail is the detail code of the audit event of an archive reading.
	ArchiveAuditDetail = "archive"
	// Bounds of a justification, in characters, once trimmed.
	MinJustification = 20
	MaxJustification = 2000
)

// ErrNotArchived refuses a justified reading of a row that is not archived: it is read the normal
// way, by the departments whose purposes it serves.
var ErrNotArchived = errors.New("cette ligne n'est pas archivée : elle se consulte normalement, sans justification, par les services qui y ont accès")

// ErrArchiveKeyDestroyed means the person's key no longer exists: nothing sealed under it can be
// read, and no justification can be sealed for them either.
var ErrArchiveKeyDestroyed = errors.New("record: archive: the person's key was destroyed, nothing is left to read")

// CanReadArchive reports whether an actor may list and open the archive: the DPO only.
func CanReadArchive(a Actor) bool { return a.Department == dpoDepartment }

// ArchiveAuditor is what an Auditor also does for a store that opens the archive: record one read
// inside the transaction of the write it goes with, the access row that justifies it, so that both
// are kept or neither. detail is a code, never personal data. A store whose auditor cannot do it
// refuses to open the archive.
type ArchiveAuditor interface {
	ReadTx(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, rec *Record, detail string) error
}

// ErrArchiveUnaudited refuses to open the archive when the reading could not be audited.
var ErrArchiveUnaudited = errors.New("record: archive: the auditor cannot record an archive reading")

// ArchivedRow is one row of a person's archive as the DPO's list shows it, before any
// justification: its table, its id, and only the columns that are neither personal nor encrypted
// (dates, type, status, links to other rows). Nothing in it needs the person's key.
type ArchivedRow struct {
	Table string  `json:"table"`
	ID    int64   `json:"id"`
	Clear *Record `json:"fields"`
}

// ArchivedTables lists the tables that have an archive (the "not_archived" row rule), in
// dictionary order.
func (s *Store) ArchivedTables() []*dictionary.Table {
	var out []*dictionary.Table
	for _, t := range s.dict.Tables {
		if t.HasRowRule("not_archived") && t.PersonColumn != "" && !t.Internal {
			out = append(out, t)
		}
	}
	return out
}

// archiveListColumns are the columns an archive list may show: neither personal nor encrypted,
// and not the ones that say what the list already says (id, person, archived).
func archiveListColumns(t *dictionary.Table) []*dictionary.Column {
	var cols []*dictionary.Column
	for _, c := range t.Columns {
		if c.Personal || c.Encrypted || c.Kind == dictionary.KindBlob || c.Name == "id" || c.Name == t.PersonColumn || c.Name == "archived" {
			continue
		}
		cols = append(cols, c)
	}
	return cols
}

// ArchivedRows lists, for the DPO only, the archived rows of a person across every table that has
// an archive, each with its clear columns only. Nothing is decrypted and no personal value is
// read, so the listing is not an access to personal data and is not audited; opening a row is
// (ReadArchived).
func (s *Store) ArchivedRows(ctx context.Context, a Actor, personID int64) ([]ArchivedRow, error) {
	if !CanReadArchive(a) {
		return nil, &ForbiddenError{Table: "archive_accesses", Reason: "l'archive n'est consultée que par le DPO, sur justification écrite"}
	}
	var exists int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM persons WHERE id = $1`, personID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("record: archive of person: %w", err)
	}
	out := []ArchivedRow{}
	for _, t := range s.ArchivedTables() {
		cols := archiveListColumns(t)
		sel := []string{"t.id"}
		for _, c := range cols {
			sel = append(sel, "t."+c.Name)
		}
		rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s t WHERE t.%s = $1 AND t.archived ORDER BY t.id LIMIT %d",
			strings.Join(sel, ", "), t.Name, t.PersonColumn, MaxPage), personID)
		if err != nil {
			return nil, fmt.Errorf("record: archive of person: %s: %w", t.Name, err)
		}
		for rows.Next() {
			var id int64
			raw := make([]any, len(cols))
			dest := []any{&id}
			for i := range raw {
				dest = append(dest, &raw[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record: archive of person: %s: %w", t.Name, err)
			}
			rec := &Record{Table: t, ID: id, PersonID: personID, Values: map[string]any{"id": id}}
			for i, c := range cols {
				v, err := c.FromDB(raw[i])
				if err != nil {
					rows.Close()
					return nil, fmt.Errorf("record: archive of person: %s.%s: %w", t.Name, c.Name, err)
				}
				rec.Values[c.Name] = v
			}
			out = append(out, ArchivedRow{Table: t.Name, ID: id, Clear: rec})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("record: archive of person: %s: %w", t.Name, err)
		}
	}
	return out, nil
}

// ReadArchived is the DPO's justified reading of an archived row (R35). It is refused to every
// other department; the table must have an archive; the justification, trimmed, must hold 20 to
// 2,000 characters and no data Vigie must never hold; the row must exist and be archived (a row
// that is not is read the normal way). Then, in one transaction, the reading is recorded in
// archive_accesses with the justification sealed under the person's key, and in the audit trail
// as a read for the compliance purpose with the detail "archive" (never the justification); the
// row is returned with every field decrypted (files excepted: their content is not part of a
// record: see ReadArchivedFiles). A refusal writes nothing.
func (s *Store) ReadArchived(ctx context.Context, a Actor, table string, id int64, justification string) (*Record, error) {
	return s.readArchived(ctx, a, table, id, justification, false)
}

// ReadArchivedFiles is ReadArchived with the row's files (a document's content) among its values:
// downloading an archived file is a reading of its own, justified and recorded as one.
func (s *Store) ReadArchivedFiles(ctx context.Context, a Actor, table string, id int64, justification string) (*Record, error) {
	return s.readArchived(ctx, a, table, id, justification, true)
}

func (s *Store) readArchived(ctx context.Context, a Actor, table string, id int64, justification string, withFiles bool) (*Record, error) {
	if !CanReadArchive(a) {
		return nil, &ForbiddenError{Table: table, Reason: "l'archive n'est consultée que par le DPO, sur justification écrite"}
	}
	t, err := s.tableFor(table)
	if err != nil {
		return nil, err
	}
	if !t.HasRowRule("not_archived") || t.PersonColumn == "" {
		return nil, invalid("table", "not_archived", "cette table n'a pas d'archive : ses lignes se consultent normalement")
	}
	text, verr := s.checkJustification(justification)
	if verr != nil {
		return nil, verr
	}
	auditor, ok := s.audit.(ArchiveAuditor)
	if !ok {
		return nil, ErrArchiveUnaudited
	}
	reader := Actor{UserID: a.UserID, Department: a.Department, Purposes: []string{archivePurpose}, AllFields: true}
	var rec *Record
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		recs, err := s.fetch(ctx, tx, reader, t, "t.id = $1", []any{id}, 1, withFiles)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return ErrNotFound
		}
		if archived, _ := recs[0].Values["archived"].(bool); !archived {
			return ErrNotArchived
		}
		rec = recs[0]
		sealed, err := s.sealJustification(ctx, tx, rec.PersonID, text)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO archive_accesses (person_id, table_name, row_id, justification, accessed_by, accessed_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, rec.PersonID, t.Name, rec.ID, sealed, nullUserID(a.UserID), s.now().UTC()); err != nil {
			return fmt.Errorf("record: archive access: %w", err)
		}
		return auditor.ReadTx(ctx, tx, reader, t, rec, ArchiveAuditDetail)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// checkJustification trims a justification and checks it as the dictionary declares
// archive_accesses.justification (required, size, encoding, control characters), then its
// minimum length and the sensitive-data detectors (R03–R06): a justification says why the archive
// is opened, it does not copy health or bank data into the log. Errors name the field and the
// rule, never the text.
func (s *Store) checkJustification(text string) (string, *ValidationError) {
	c := s.dict.Table("archive_accesses").Column("justification")
	v, fe := c.DecodeString(text, s.now())
	if fe != nil {
		if fe.Rule == "required" {
			fe.Message = fmt.Sprintf("une justification écrite est obligatoire pour consulter l'archive (%d à %d caractères)", MinJustification, MaxJustification)
		}
		return "", &ValidationError{Fields: []*dictionary.FieldError{fe}}
	}
	trimmed, _ := v.(string)
	if n := utf8.RuneCountInString(trimmed); n < MinJustification {
		return "", invalid(c.Name, "min_length", fmt.Sprintf("%d caractères au moins (reçu %d) : dites pourquoi l'archive doit être consultée", MinJustification, n))
	}
	if errs := sensitiveErrors(c, trimmed); len(errs) > 0 {
		return "", &ValidationError{Fields: errs}
	}
	return trimmed, nil
}

// sealJustification seals a justification under the person's key, as the rights desk seals its
// reasons: erasing the person makes it unreadable with the rest of their data.
func (s *Store) sealJustification(ctx context.Context, tx *sql.Tx, personID int64, text string) ([]byte, error) {
	var wrapped []byte
	err := tx.QueryRowContext(ctx, `SELECT wrapped_key FROM subject_keys WHERE person_id = $1`, personID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrArchiveKeyDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("record: archive access: read key: %w", err)
	}
	sk, err := s.keys.Unwrap(personID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("record: archive access: %w", err)
	}
	prov := keys.Provenance{CollectedAt: s.now().UTC(), Channel: "api", Purpose: archivePurpose}
	return sk.Seal("archive_accesses.justification", prov, []byte(text)), nil
}

func nullUserID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
