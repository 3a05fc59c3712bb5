package record

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Store reads and writes records under the dictionary's rules.
type Store struct {
	db    *db.DB
	dict  *dictionary.Dictionary
	keys  *keys.Keyring
	audit Auditor
	scan  Scanner
	now   func() time.Time
	// maxDataAge is how many months old data may be before a quote needs it confirmed (R23).
	maxDataAge int

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// NewStore returns a store; audit records its reads and writes; now is the clock used for
// timestamps and date checks.
func NewStore(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, audit Auditor, now func() time.Time, opts ...StoreOption) *Store {
	s := &Store{db: d, dict: dict, keys: kr, audit: audit, now: now, maxDataAge: defaultMaxDataAge, stmts: map[string]*sql.Stmt{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// StoreOption tunes a Store.
type StoreOption func(*Store)

// Scanner looks for malware in an uploaded file and returns the name of what it found, "" when
// the file is clean (R42).
type Scanner interface {
	Scan(ctx context.Context, data []byte) (string, error)
}

// WithScanner makes every uploaded file (every blob field) pass the scanner before it is stored.
func WithScanner(sc Scanner) StoreOption { return func(s *Store) { s.scan = sc } }

// scanBlobs refuses an infected file with a message naming the field and what was found; a
// scanner that cannot answer refuses the upload too, since nothing is stored unscanned.
func (s *Store) scanBlobs(ctx context.Context, t *dictionary.Table, vals map[string]any) error {
	if s.scan == nil {
		return nil
	}
	for _, c := range t.Columns {
		b, ok := vals[c.Name].([]byte)
		if !ok || c.Kind != dictionary.KindBlob {
			continue
		}
		found, err := s.scan.Scan(ctx, b)
		if err != nil {
			return fmt.Errorf("record: %s.%s: %w: %w", t.Name, c.Name, ErrScannerUnavailable, err)
		}
		if found != "" {
			return invalid(c.Name, "antivirus", "fichier refusé : l'antivirus y a détecté « "+found+" »")
		}
	}
	return nil
}

// Dictionary returns the dictionary the store obeys.
func (s *Store) Dictionary() *dictionary.Dictionary { return s.dict }

// Table returns a table the API may expose, or nil for unknown and internal tables.
func (s *Store) Table(name string) *dictionary.Table {
	t := s.dict.Table(name)
	if t == nil || t.Internal {
		return nil
	}
	return t
}

func (s *Store) readableTable(a Actor, t *dictionary.Table) error {
	if !t.CanRead(a.Department) {
		return forbidTable(t, "ce service n'a pas accès à ces données")
	}
	return nil
}

// Get returns one record with the fields the actor's department may read, decrypted.
func (s *Store) Get(ctx context.Context, a Actor, table string, id int64) (*Record, error) {
	t, err := s.tableFor(table)
	if err != nil {
		return nil, err
	}
	if err := s.readableTable(a, t); err != nil {
		return nil, err
	}
	recs, err := s.fetch(ctx, s.db, a, t, byID(a, t), []any{id}, 1, false)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, s.explainHidden(ctx, a, t, id)
	}
	if err := checkRowRules(a, t, recs[0].Values); err != nil {
		return nil, err
	}
	if err := s.audit.Read(ctx, a, t, recs); err != nil {
		return nil, err
	}
	return recs[0], nil
}

// ListQuery pages through a table by id (keyset pagination: fast at any depth).
type ListQuery struct {
	After  int64
	Limit  int
	Filter map[string]int64 // equality on id columns: person_id, ticket_id…
}

// MaxPage bounds a page of results.
const MaxPage = 200

// List returns a page of records and the cursor of the next page (0 when none).
func (s *Store) List(ctx context.Context, a Actor, table string, q ListQuery) ([]*Record, int64, error) {
	t, err := s.tableFor(table)
	if err != nil {
		return nil, 0, err
	}
	if err := s.readableTable(a, t); err != nil {
		return nil, 0, err
	}
	if q.Limit <= 0 || q.Limit > MaxPage {
		q.Limit = 50
	}
	where := []string{"t.id > $1"}
	args := []any{q.After}
	for _, name := range slices.Sorted(maps.Keys(q.Filter)) {
		c := t.Column(name)
		if c == nil || c.Kind != dictionary.KindBigint || !c.CanRead(a.Department) {
			return nil, 0, invalid(name, "filter", "filtre non disponible sur ce champ")
		}
		args = append(args, q.Filter[name])
		where = append(where, fmt.Sprintf("t.%s = $%d", name, len(args)))
	}
	rw, rargs := rowRuleSQL(a, t, len(args))
	where = append(where, rw...)
	args = append(args, rargs...)
	recs, err := s.fetch(ctx, s.db, a, t, strings.Join(where, " AND "), args, q.Limit+1, false)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(recs) > q.Limit {
		recs = recs[:q.Limit]
		next = recs[len(recs)-1].ID
	}
	if err := s.audit.Read(ctx, a, t, recs); err != nil {
		return nil, 0, err
	}
	return recs, next, nil
}

// Search finds records by the exact value of a searchable field (email, phone, plate) or by the
// words of a tokenised one (last name), through the blind index: the value itself is never
// compared in SQL, only its keyed HMAC. A department may search only a field it may read, so that
// search cannot serve as an oracle on data it may not see.
func (s *Store) Search(ctx context.Context, a Actor, table, field, term string, limit int) ([]*Record, error) {
	t, err := s.tableFor(table)
	if err != nil {
		return nil, err
	}
	if err := s.readableTable(a, t); err != nil {
		return nil, err
	}
	c := t.Column(field)
	if c == nil || c.Searchable == "" {
		return nil, invalid(field, "search", "ce champ n'est pas recherchable")
	}
	if !c.CanRead(a.Department) {
		return nil, &ForbiddenError{Table: t.Name, Field: field, Reason: "ce service ne peut pas lire ce champ"}
	}
	v, fe := c.DecodeString(term, s.now())
	if fe != nil {
		return nil, &ValidationError{Fields: []*dictionary.FieldError{fe}}
	}
	terms := indexTerms(c, v)
	if len(terms) == 0 {
		return nil, invalid(field, "search", "terme de recherche vide")
	}
	if limit <= 0 || limit > MaxPage {
		limit = 50
	}
	args := []any{t.Name, c.Name}
	var hashes []string
	for _, term := range terms {
		args = append(args, s.keys.BlindIndex(c.Ref, term))
		hashes = append(hashes, "$"+strconv.Itoa(len(args)))
	}
	args = append(args, len(terms))
	where := fmt.Sprintf(`t.id IN (SELECT row_id FROM search_index WHERE table_name = $1 AND column_name = $2
		AND hash IN (%s) GROUP BY row_id HAVING count(DISTINCT hash) = $%d)`, strings.Join(hashes, ", "), len(args))
	rw, rargs := rowRuleSQL(a, t, len(args))
	where = strings.Join(append([]string{where}, rw...), " AND ")
	args = append(args, rargs...)
	recs, err := s.fetch(ctx, s.db, a, t, where, args, limit, false)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Read(ctx, a, t, recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// Blob returns the decrypted content of a blob field (a document's file).
func (s *Store) Blob(ctx context.Context, a Actor, table string, id int64, field string) ([]byte, error) {
	t, err := s.tableFor(table)
	if err != nil {
		return nil, err
	}
	if err := s.readableTable(a, t); err != nil {
		return nil, err
	}
	c := t.Column(field)
	if c == nil || c.Kind != dictionary.KindBlob {
		return nil, ErrNotFound
	}
	if !c.CanRead(a.Department) {
		return nil, &ForbiddenError{Table: t.Name, Field: field, Reason: "ce service ne peut pas lire ce champ"}
	}
	recs, err := s.fetch(ctx, s.db, a, t, byID(a, t), []any{id}, 1, true)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, s.explainHidden(ctx, a, t, id)
	}
	if err := checkRowRules(a, t, recs[0].Values); err != nil {
		return nil, err
	}
	if err := s.audit.Read(ctx, a, t, recs); err != nil {
		return nil, err
	}
	b, _ := recs[0].Values[field].([]byte)
	return b, nil
}

func (s *Store) tableFor(name string) (*dictionary.Table, error) {
	t := s.Table(name)
	if t == nil {
		return nil, ErrNotFound
	}
	return t, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fetch selects the columns the actor may read (and only those: a field a department may not see
// is neither fetched nor decrypted), decrypts them with each person's key, and normalises types.
func (s *Store) fetch(ctx context.Context, q querier, a Actor, t *dictionary.Table, where string, args []any, limit int, withBlobs bool) ([]*Record, error) {
	var cols []*dictionary.Column
	encrypted := false
	for _, c := range t.Columns {
		if c.Name == "id" || !(a.AllFields || c.CanRead(a.Department) || isRowRuleColumn(t, c.Name)) {
			continue
		}
		if c.Kind == dictionary.KindBlob && !withBlobs {
			continue
		}
		cols = append(cols, c)
		encrypted = encrypted || c.Encrypted
	}
	personCol := t.PersonColumn
	if personCol == "" {
		personCol = "id"
	}
	sel := []string{"t.id", "t." + personCol}
	for _, c := range cols {
		sel = append(sel, "t."+c.Name)
	}
	join := ""
	if encrypted {
		sel = append(sel, "k.wrapped_key")
		join = " LEFT JOIN subject_keys k ON k.person_id = t." + personCol
	}
	query := fmt.Sprintf("SELECT %s FROM %s t%s WHERE %s ORDER BY t.id LIMIT %d",
		strings.Join(sel, ", "), t.Name, join, where, limit)
	rows, err := s.query(ctx, q, query, args)
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		var id int64
		var personID sql.NullInt64
		raw := make([]any, len(cols))
		dest := []any{&id, &personID}
		for i := range raw {
			dest = append(dest, &raw[i])
		}
		var wrapped []byte
		if encrypted {
			dest = append(dest, &wrapped)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("record: read %s: %w", t.Name, err)
		}
		rec := &Record{Table: t, ID: id, PersonID: personID.Int64, Values: make(map[string]any, len(cols)+1)}
		rec.Values["id"] = id
		var sk *keys.SubjectKey
		if encrypted && wrapped != nil {
			if sk, err = s.keys.Unwrap(rec.PersonID, wrapped); err != nil {
				return nil, fmt.Errorf("record: %s %d: %w", t.Name, id, err)
			}
		}
		for i, c := range cols {
			if raw[i] == nil {
				if a.AllFields || c.CanRead(a.Department) {
					rec.Values[c.Name] = nil
				}
				continue
			}
			var v any
			if c.Encrypted {
				if sk == nil {
					continue // the person's key was destroyed: the value is gone (crypto-shredding)
				}
				blob, _ := raw[i].([]byte)
				plain, prov, err := sk.Open(c.Ref, blob)
				if err != nil {
					return nil, fmt.Errorf("record: %s %d: %w", t.Name, id, err)
				}
				if v, err = c.FromText(plain); err != nil {
					return nil, fmt.Errorf("record: %s.%s: %w", t.Name, c.Name, err)
				}
				if rec.Provenance == nil {
					rec.Provenance = map[string]keys.Provenance{}
				}
				rec.Provenance[c.Name] = prov
			} else if v, err = c.FromDB(raw[i]); err != nil {
				return nil, fmt.Errorf("record: %s.%s: %w", t.Name, c.Name, err)
			}
			rec.Values[c.Name] = v
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record: read %s: %w", t.Name, err)
	}
	return out, nil
}

// query runs a read, through a cached prepared statement outside transactions: the set of
// queries is small (one per table, department and filter shape) and parsing them again on every
// request costs more than the read itself.
func (s *Store) query(ctx context.Context, q querier, query string, args []any) (*sql.Rows, error) {
	if q != querier(s.db) {
		return q.QueryContext(ctx, query, args...)
	}
	s.mu.Lock()
	stmt, ok := s.stmts[query]
	s.mu.Unlock()
	if !ok {
		var err error
		if stmt, err = s.db.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		s.mu.Lock()
		cached, raced := s.stmts[query]
		full := len(s.stmts) >= maxCachedStatements
		if !raced && !full {
			s.stmts[query] = stmt
		}
		s.mu.Unlock()
		if raced || full {
			// Not cached: a statement in use is never closed under its reader's feet.
			defer stmt.Close()
		}
		if raced {
			stmt = cached
		}
	}
	return stmt.QueryContext(ctx, args...)
}

const maxCachedStatements = 512

// Row rules: some tables filter rows as well as fields. "purpose": a department sees only the
// rows recorded for its own purposes (prospection notes stay with prospection). "not_archived":
// archived rows are out of reach here (the DPO reads them through a justified archive access).
// "not_objected": a person who objected to prospection is absent from everything prospection
// sees, at once (R28).
func isRowRuleColumn(t *dictionary.Table, name string) bool {
	return name == "purpose" && t.HasRowRule("purpose") || name == "archived" && t.HasRowRule("not_archived")
}

func rowRuleSQL(a Actor, t *dictionary.Table, nargs int) ([]string, []any) {
	var where []string
	var args []any
	if t.HasRowRule("purpose") {
		var ph []string
		for _, p := range a.Purposes {
			args = append(args, p)
			ph = append(ph, "$"+strconv.Itoa(nargs+len(args)))
		}
		if len(ph) == 0 {
			where = append(where, "1 = 0")
		} else {
			where = append(where, "t.purpose IN ("+strings.Join(ph, ", ")+")")
		}
	}
	if t.HasRowRule("not_archived") {
		where = append(where, "NOT t.archived")
	}
	if cond := subjectSQL(a, t); cond != "" {
		where = append(where, cond)
	}
	return where, args
}

// byID selects one row by id ($1), unless the person's state hides it from the actor.
func byID(a Actor, t *dictionary.Table) string {
	if cond := subjectSQL(a, t); cond != "" {
		return "t.id = $1 AND " + cond
	}
	return "t.id = $1"
}

// subjectSQL hides the rows of people whose state forbids the actor to process them, in single
// reads as well as lists: an erased person is gone for everyone but the DPO, who answers for the
// erasure and reads the legally kept archive; a restricted person (art. 18) is stored, not
// processed, so only the DPO sees them; a person who objected to prospection is simply not there
// for prospection (R28). It applies to every table linked to a person, so a new table is covered
// without being declared.
func subjectSQL(a Actor, t *dictionary.Table) string {
	if t.PersonColumn == "" || a.AllFields {
		return ""
	}
	var conds []string
	if a.Department != dpoDepartment {
		conds = append(conds, "%[1]s.erased_at IS NOT NULL", "%[1]s.restricted")
	}
	if t.HasRowRule("not_objected") && a.hasPurpose("prospection") {
		conds = append(conds, "%[1]s.objected_prospection")
	}
	if len(conds) == 0 {
		return ""
	}
	if t.Name == "persons" {
		return "NOT (" + fmt.Sprintf(strings.Join(conds, " OR "), "t") + ")"
	}
	return "NOT EXISTS (SELECT 1 FROM persons op WHERE op.id = t." + t.PersonColumn + " AND (" +
		fmt.Sprintf(strings.Join(conds, " OR "), "op") + "))"
}

// explainHidden tells why a row that exists is hidden from the actor, so that a refused read says
// so instead of "not found": the person's processing is restricted, or they were erased.
func (s *Store) explainHidden(ctx context.Context, a Actor, t *dictionary.Table, id int64) error {
	if t.PersonColumn == "" {
		return ErrNotFound
	}
	var restricted bool
	var erased sql.NullTime
	err := s.db.QueryRowContext(ctx, "SELECT p.restricted, p.erased_at FROM "+t.Name+" t JOIN persons p ON p.id = t."+t.PersonColumn+
		" WHERE t.id = $1", id).Scan(&restricted, &erased)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("record: read %s: %w", t.Name, err)
	case erased.Valid && a.Department != dpoDepartment:
		return forbidTable(t, "personne effacée (art. 17) : il ne reste que l'archive légale, consultable par le DPO")
	case restricted && a.Department != dpoDepartment:
		return forbidTable(t, ErrRestricted.Error())
	}
	return ErrNotFound
}

// ErrRestricted refuses to process the data of a person whose processing is restricted.
var ErrRestricted = errors.New("traitement limité (art. 18) : les données de cette personne sont conservées mais ne peuvent être ni traitées, ni listées, ni exportées")

func checkRowRules(a Actor, t *dictionary.Table, values map[string]any) error {
	if t.HasRowRule("purpose") {
		if p, _ := values["purpose"].(string); !a.hasPurpose(p) {
			return forbidTable(t, "cette ligne relève d'une autre finalité ("+p+")")
		}
	}
	if t.HasRowRule("not_archived") {
		if archived, _ := values["archived"].(bool); archived {
			return forbidTable(t, "document archivé : accès réservé au DPO sur justification")
		}
	}
	return nil
}

// Create validates the input against the dictionary, encrypts the personal fields under the
// person's key (a new key for a new person), writes the row and its blind indexes in one
// transaction, and returns the record as the actor may see it.
func (s *Store) Create(ctx context.Context, a Actor, table string, in Input) (*Record, error) {
	t, vals, prov, err := s.prepareWrite(a, table, in, true)
	if err != nil {
		return nil, err
	}
	if err := s.scanBlobs(ctx, t, vals); err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		id, err = s.insert(ctx, tx, a, t, in, vals, prov)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, a, table, id)
}

// CreateTx is Create inside the caller's transaction, for records that stand or fall together
// (the public quote form's person, quote and consents); it returns the new id.
func (s *Store) CreateTx(ctx context.Context, tx *sql.Tx, a Actor, table string, in Input) (int64, error) {
	t, vals, prov, err := s.prepareWrite(a, table, in, true)
	if err != nil {
		return 0, err
	}
	if err := s.scanBlobs(ctx, t, vals); err != nil {
		return 0, err
	}
	return s.insert(ctx, tx, a, t, in, vals, prov)
}

// Validate checks a write as Create would, without writing: a form that creates several records
// reports every refused field of all of them at once.
func (s *Store) Validate(a Actor, table string, in Input) error {
	_, _, _, err := s.prepareWrite(a, table, in, true)
	return err
}

// ValidateChange checks a change as Update would, without writing: a request that changes
// several fields one by one is refused whole when one of them is invalid.
func (s *Store) ValidateChange(a Actor, table string, in Input) error {
	_, _, _, err := s.prepareWrite(a, table, in, false)
	return err
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, in Input, vals map[string]any, prov keys.Provenance) (int64, error) {
	now := prov.CollectedAt
	if err := s.deriveOnCreate(ctx, tx, a, t, in, vals, now); err != nil {
		return 0, err
	}
	if t.Name == "quotes" {
		if err := s.guardQuote(ctx, tx, a, t, in, vals, prov); err != nil {
			return 0, err
		}
	}
	if err := checkRowRules(a, t, vals); err != nil {
		return 0, err
	}
	var sk *keys.SubjectKey
	var err error
	if t.Name == "persons" {
		if sk, err = s.keys.NewSubjectKey(); err != nil {
			return 0, err
		}
	} else if sk, err = s.subjectKey(ctx, tx, t, vals[t.PersonColumn].(int64)); err != nil {
		return 0, err
	}
	if err := s.checkReferences(ctx, tx, t, vals); err != nil {
		return 0, err
	}
	names, args := s.columnsAndArgs(t, vals, sk, prov)
	ph := make([]string, len(names))
	for i := range names {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	var id int64
	query := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING id", t.Name, strings.Join(names, ", "), strings.Join(ph, ", "))
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("record: insert %s: %w", t.Name, err)
	}
	personID := id
	if t.Name == "persons" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subject_keys (person_id, wrapped_key, created_at) VALUES ($1, $2, $3)`,
			id, s.keys.Wrap(id, sk), now); err != nil {
			return 0, fmt.Errorf("record: store subject key: %w", err)
		}
	} else {
		personID = vals[t.PersonColumn].(int64)
	}
	if err := s.index(ctx, tx, t, id, personID, vals, false); err != nil {
		return 0, err
	}
	if t.Name == "interactions" {
		// An exchange with the person is a contact: it restarts the prospect's retention (R33).
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET last_contact_at = $1 WHERE id = $2 AND (last_contact_at IS NULL OR last_contact_at < $1)`,
			vals["occurred_at"], personID); err != nil {
			return 0, fmt.Errorf("record: last contact: %w", err)
		}
	}
	return id, s.audit.Wrote(ctx, tx, a, "create", t, id, personID, names)
}

// Update changes the given fields of one record; the others keep their values and provenance.
func (s *Store) Update(ctx context.Context, a Actor, table string, id int64, in Input) (*Record, error) {
	// A row the department may not touch is refused as such, before its input is looked at.
	if t := s.Table(table); t != nil && t.CanWrite(a.Department) && len(t.RowRules) > 0 {
		current, err := s.fetch(ctx, s.db, a, t, byID(a, t), []any{id}, 1, false)
		if err != nil {
			return nil, err
		}
		if len(current) == 0 {
			return nil, s.explainHidden(ctx, a, t, id)
		}
		if err := checkRowRules(a, t, current[0].Values); err != nil {
			return nil, err
		}
	}
	t, vals, prov, err := s.prepareWrite(a, table, in, false)
	if err != nil {
		return nil, err
	}
	now := prov.CollectedAt
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		// Every field is read, so that the history keeps the value a correction replaces even
		// where the writer may write a field without reading it.
		current, err := s.fetch(ctx, tx, Actor{Department: a.Department, Purposes: a.Purposes, AllFields: true}, t, "t.id = $1", []any{id}, 1, false)
		if err != nil {
			return err
		}
		if len(current) == 0 {
			return ErrNotFound
		}
		if err := checkRowRules(a, t, current[0].Values); err != nil {
			return err
		}
		s.deriveOnUpdate(a, t, vals, now)
		merged := maps.Clone(current[0].Values)
		maps.Copy(merged, vals)
		if errs := crossChecks(t, merged, vals); len(errs) > 0 {
			return &ValidationError{Fields: errs}
		}
		personID := current[0].PersonID
		sk, err := s.subjectKey(ctx, tx, t, personID)
		if err != nil {
			return err
		}
		names, args := s.columnsAndArgs(t, vals, sk, prov)
		sets := make([]string, len(names))
		for i, n := range names {
			sets[i] = n + " = $" + strconv.Itoa(i+1)
		}
		args = append(args, id)
		query := fmt.Sprintf("UPDATE %s SET %s WHERE id = $%d", t.Name, strings.Join(sets, ", "), len(args))
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("record: update %s: %w", t.Name, err)
		}
		if err := s.index(ctx, tx, t, id, personID, vals, true); err != nil {
			return err
		}
		if err := s.keepHistory(ctx, tx, a, t, current[0], vals, sk, prov); err != nil {
			return err
		}
		return s.audit.Wrote(ctx, tx, a, "update", t, id, personID, names)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, a, table, id)
}

// prepareWrite checks everything a write can be refused for before touching the database: the
// department may write the table, the purpose is its own, every field is declared, writable and
// valid.
func (s *Store) prepareWrite(a Actor, table string, in Input, create bool) (*dictionary.Table, map[string]any, keys.Provenance, error) {
	t, err := s.tableFor(table)
	if err != nil {
		return nil, nil, keys.Provenance{}, err
	}
	if !a.AllFields && !t.CanWrite(a.Department) {
		return nil, nil, keys.Provenance{}, forbidTable(t, "ce service ne peut pas écrire ces données")
	}
	prov, err := s.provenance(a, in, s.now().UTC())
	if err != nil {
		return nil, nil, prov, err
	}
	vals, err := s.decodeInput(a, t, in, prov.Purpose, create)
	return t, vals, prov, err
}

// provenance is how and why the values of this request were collected. The purpose must be one
// of the department's own: a department cannot collect data under another's purpose.
func (s *Store) provenance(a Actor, in Input, now time.Time) (keys.Provenance, error) {
	p := keys.Provenance{CollectedAt: now, Channel: in.Channel, Purpose: in.Purpose}
	if p.Channel == "" {
		p.Channel = "api"
	}
	if !slices.Contains(Channels, p.Channel) {
		return p, invalid("_channel", "enum", "canal de collecte inconnu ; valeurs admises : "+strings.Join(Channels, ", "))
	}
	if p.Purpose == "" && len(a.Purposes) > 0 {
		p.Purpose = a.Purposes[0]
	}
	if !a.hasPurpose(p.Purpose) {
		return p, invalid("_purpose", "purpose", "finalité étrangère à ce service")
	}
	return p, nil
}

// decodeInput checks every field of the request against the dictionary and returns canonical
// values. Every problem is reported at once; nothing is written when there is one.
func (s *Store) decodeInput(a Actor, t *dictionary.Table, in Input, purpose string, create bool) (map[string]any, error) {
	now := s.now()
	vals := map[string]any{}
	var errs []*dictionary.FieldError
	var forbidden []string
	names := slices.Sorted(maps.Keys(in.Fields))
	if in.Text != nil {
		names = slices.Sorted(maps.Keys(in.Text))
	}
	for _, name := range names {
		c := t.Column(name)
		switch {
		case c == nil:
			errs = append(errs, &dictionary.FieldError{Field: name, Rule: "unknown_field", Message: "champ inconnu du dictionnaire de données"})
			continue
		case c.System || c.Name == t.Parent:
			errs = append(errs, &dictionary.FieldError{Field: name, Rule: "read_only", Message: "champ calculé par Vigie, non modifiable"})
			continue
		case !create && c.Immutable:
			errs = append(errs, &dictionary.FieldError{Field: name, Rule: "immutable", Message: "champ non modifiable après création"})
			continue
		case !a.AllFields && !c.CanWrite(a.Department):
			forbidden = append(forbidden, name)
			continue
		case c.Personal && !slices.Contains(c.Purposes, purpose):
			errs = append(errs, &dictionary.FieldError{Field: name, Rule: "purpose", Message: "ce champ n'est pas collecté pour la finalité " + purpose + " (minimisation)"})
			continue
		}
		var v any
		var fe *dictionary.FieldError
		if in.Text != nil {
			v, fe = c.DecodeString(in.Text[name], now)
		} else {
			v, fe = c.Decode(in.Fields[name], now)
		}
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		if text, ok := v.(string); ok {
			errs = append(errs, sensitiveErrors(c, text)...)
		}
		vals[name] = v
	}
	if len(forbidden) > 0 && len(errs) == 0 {
		return nil, &ForbiddenError{Table: t.Name, Field: strings.Join(forbidden, ", "), Reason: "ce service ne peut pas écrire ce champ"}
	}
	if in.PrefillFromQuote != 0 || in.PersonConfirmed {
		if t.Name != "quotes" || !create {
			errs = append(errs, &dictionary.FieldError{Field: "_prefill_from_quote", Rule: "quotes_only", Message: "seule la création d'un devis peut être préremplie ou confirmée"})
		}
	}
	// A quote prefilled from an earlier one is completed, then checked, once the copy is made.
	if create && in.PrefillFromQuote == 0 {
		errs = append(errs, completeAndCheck(t, vals, errs)...)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	return vals, nil
}

// completeAndCheck gives absent fields their default and reports required ones still missing,
// then the rules that involve several fields.
func completeAndCheck(t *dictionary.Table, vals map[string]any, errs []*dictionary.FieldError) []*dictionary.FieldError {
	var out []*dictionary.FieldError
	for _, c := range t.Columns {
		if _, ok := vals[c.Name]; ok || c.System || c.Name == t.Parent {
			continue
		}
		if d := c.DefaultValue(); d != nil {
			vals[c.Name] = d
		} else if !c.Nullable() && !containsField(errs, c.Name) {
			out = append(out, &dictionary.FieldError{Field: c.Name, Rule: "required", Message: "ce champ est obligatoire"})
		}
	}
	return append(out, crossChecks(t, vals, vals)...)
}

func containsField(errs []*dictionary.FieldError, name string) bool {
	return slices.ContainsFunc(errs, func(e *dictionary.FieldError) bool { return e.Field == name })
}

// deriveOnCreate fills the columns Vigie computes itself.
func (s *Store) deriveOnCreate(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, in Input, vals map[string]any, now time.Time) error {
	for _, name := range []string{"created_at", "updated_at"} {
		if t.Column(name) != nil {
			vals[name] = now
		}
	}
	if t.Parent != "" {
		parentCol := t.Column(t.Parent)
		ref, _, _ := parentCol.ForeignKey()
		var personID int64
		err := tx.QueryRowContext(ctx, "SELECT person_id FROM "+ref+" WHERE id = $1", in.Parent).Scan(&personID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("record: read parent: %w", err)
		}
		vals[t.Parent] = in.Parent
		vals[t.PersonColumn] = personID
	}
	switch t.Name {
	case "persons":
		vals["source"] = sourceOf(in.Channel)
	case "interactions":
		if a.UserID != 0 {
			vals["created_by"] = a.UserID
		}
	case "documents":
		if b, ok := vals["content"].([]byte); ok {
			vals["size_bytes"] = int64(len(b))
		}
	case "tickets":
		if vals["status"] == "closed" {
			vals["closed_at"] = now
		}
	case "rights_requests":
		// Art. 12(3): an answer within one month of receipt; human review belongs to the quotes
		// department, every other right to the DPO.
		vals["received_at"], vals["due_at"] = now, now.AddDate(0, 1, 0)
		vals["purpose"] = "compliance"
		if vals["type"] == "human_review" {
			vals["purpose"] = "quotes"
		}
	}
	return nil
}

func (s *Store) deriveOnUpdate(a Actor, t *dictionary.Table, vals map[string]any, now time.Time) {
	if t.Column("updated_at") != nil {
		vals["updated_at"] = now
	}
	if t.Name == "tickets" {
		switch vals["status"] {
		case "closed":
			vals["closed_at"] = now
		case "open", "pending":
			vals["closed_at"] = nil
		}
	}
	if t.Name == "rights_requests" {
		switch vals["status"] {
		case "closed", "refused":
			vals["closed_at"] = now
			if a.UserID != 0 {
				vals["handled_by"] = a.UserID
			}
		case "open", "in_progress":
			vals["closed_at"] = nil
		}
	}
}

func sourceOf(channel string) string {
	switch channel {
	case "web_form", "phone", "email", "agency", "partner", "demo", "api":
		return channel
	case "import":
		return "legacy_import"
	}
	return "api"
}

// subjectKey loads a person's data key for a write in t. A person without a key does not exist
// (or was erased); the data of an erased or restricted person (art. 18) is not processed — but a
// restricted person's own requests (the compliance purpose) are still recorded.
func (s *Store) subjectKey(ctx context.Context, tx *sql.Tx, t *dictionary.Table, personID int64) (*keys.SubjectKey, error) {
	var wrapped []byte
	var restricted bool
	var erased sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT k.wrapped_key, p.restricted, p.erased_at FROM subject_keys k
		JOIN persons p ON p.id = k.person_id WHERE k.person_id = $1`, personID).Scan(&wrapped, &restricted, &erased)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && erased.Valid:
		return nil, invalid("person_id", "foreign_key", "personne inconnue")
	case err != nil:
		return nil, fmt.Errorf("record: read subject key: %w", err)
	case restricted && !slices.Contains(t.Purposes, "compliance"):
		return nil, &ForbiddenError{Table: t.Name, Reason: ErrRestricted.Error()}
	}
	return s.keys.Unwrap(personID, wrapped)
}

// checkReferences refuses a link to a row that does not exist or belongs to another person (a
// contract may only come from the same person's quote).
func (s *Store) checkReferences(ctx context.Context, tx *sql.Tx, t *dictionary.Table, vals map[string]any) error {
	for _, c := range t.Columns {
		ref, _, ok := c.ForeignKey()
		id, set := vals[c.Name].(int64)
		if !ok || !set || c.Name == t.PersonColumn || c.Name == t.Parent || ref == "users" {
			continue
		}
		var owner int64
		err := tx.QueryRowContext(ctx, "SELECT person_id FROM "+ref+" WHERE id = $1", id).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || err == nil && owner != vals[t.PersonColumn] {
			return invalid(c.Name, "foreign_key", "référence inconnue pour cette personne")
		}
		if err != nil {
			return fmt.Errorf("record: check %s: %w", c.Name, err)
		}
	}
	return nil
}

// keepHistory records, in the update's transaction, the value each changed personal field had
// (R25): sealed under the person's key with the provenance it was collected with, so that the
// DPO and the person can see what was corrected, and an erasure takes the history with it.
func (s *Store) keepHistory(ctx context.Context, tx *sql.Tx, a Actor, t *dictionary.Table, current *Record, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) error {
	for _, c := range t.Columns {
		v, ok := vals[c.Name]
		if !ok || !c.Personal || c.Kind == dictionary.KindBlob {
			continue
		}
		before := current.Values[c.Name]
		if before == nil && v == nil || before != nil && v != nil && bytes.Equal(c.Text(before), c.Text(v)) {
			continue
		}
		var sealed any // NULL: the field was empty
		if before != nil {
			sealed = sk.Seal("rectifications.previous_value", current.Provenance[c.Name], c.Text(before))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rectifications (person_id, table_name, row_id, field, previous_value,
			channel, department, corrected_by, corrected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			current.PersonID, t.Name, current.ID, c.Name, sealed, prov.Channel, a.Department, nullUserID(a.UserID), prov.CollectedAt); err != nil {
			return fmt.Errorf("record: keep the history of %s.%s: %w", t.Name, c.Name, err)
		}
	}
	return nil
}

// columnsAndArgs turns canonical values into SQL arguments, sealing the encrypted ones.
func (s *Store) columnsAndArgs(t *dictionary.Table, vals map[string]any, sk *keys.SubjectKey, prov keys.Provenance) ([]string, []any) {
	var names []string
	var args []any
	for _, c := range t.Columns {
		v, ok := vals[c.Name]
		if !ok {
			continue
		}
		names = append(names, c.Name)
		args = append(args, sqlArg(c, v, sk, prov))
	}
	return names, args
}

// sqlArg is a canonical value as the database stores it: sealed under the person's key when the
// dictionary says the column is encrypted.
func sqlArg(c *dictionary.Column, v any, sk *keys.SubjectKey, prov keys.Provenance) any {
	switch {
	case v == nil:
		return nil
	case c.Encrypted:
		return sk.Seal(c.Ref, prov, c.Text(v))
	case c.Kind == dictionary.KindNumeric:
		return string(c.Text(v))
	}
	return v
}

// index writes the blind-index entries of the searchable fields present in vals; on update the
// field's old entries are removed first.
func (s *Store) index(ctx context.Context, tx *sql.Tx, t *dictionary.Table, id, personID int64, vals map[string]any, replace bool) error {
	for _, c := range t.Columns {
		v, ok := vals[c.Name]
		if !ok || c.Searchable == "" {
			continue
		}
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM search_index WHERE person_id = $1 AND table_name = $2 AND row_id = $3 AND column_name = $4`,
				personID, t.Name, id, c.Name); err != nil {
				return fmt.Errorf("record: unindex %s: %w", c.Name, err)
			}
		}
		for _, term := range indexTerms(c, v) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_index (hash, table_name, column_name, row_id, person_id)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
				s.keys.BlindIndex(c.Ref, term), t.Name, c.Name, id, personID); err != nil {
				return fmt.Errorf("record: index %s: %w", c.Name, err)
			}
		}
	}
	return nil
}

// PersonRows reads every row a table holds on one person, for the rights service: with
// a.AllFields set, every field, archived rows included. The read is audited like any other.
func (s *Store) PersonRows(ctx context.Context, a Actor, table string, personID int64, withBlobs bool) ([]*Record, error) {
	t, recs, err := s.personRows(ctx, s.db, a, table, personID, withBlobs)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Read(ctx, a, t, recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// PersonRowsTx is PersonRows inside the caller's transaction, for an operation that records its
// own event (an erasure re-sealing what the law keeps); it writes no read event.
func (s *Store) PersonRowsTx(ctx context.Context, tx *sql.Tx, a Actor, table string, personID int64, withBlobs bool) ([]*Record, error) {
	_, recs, err := s.personRows(ctx, tx, a, table, personID, withBlobs)
	return recs, err
}

func (s *Store) personRows(ctx context.Context, q querier, a Actor, table string, personID int64, withBlobs bool) (*dictionary.Table, []*Record, error) {
	t := s.dict.Table(table) // internal tables too (consents, restrictions…): the person's answer covers them
	if t == nil || t.PersonColumn == "" || t.Internal && !a.AllFields {
		return nil, nil, ErrNotFound
	}
	if !a.AllFields {
		if err := s.readableTable(a, t); err != nil {
			return nil, nil, err
		}
	}
	where := "t." + t.PersonColumn + " = $1"
	if cond := subjectSQL(a, t); cond != "" {
		where += " AND " + cond
	}
	recs, err := s.fetch(ctx, q, a, t, where, []any{personID}, maxPersonRows, withBlobs)
	return t, recs, err
}

// maxPersonRows bounds what one table may hold on one person in a single read.
const maxPersonRows = 100_000

// Correction is one entry of a person's rectification history, without the value it replaced
// (which only the person's access answer opens).
type Correction struct {
	Table, Field, Channel, Department string
	At                                time.Time
}

// Corrections lists a person's rectification history (R25), oldest first, for the DPO. It reads
// only columns stored in clear.
func (s *Store) Corrections(ctx context.Context, a Actor, personID int64) ([]Correction, error) {
	if a.Department != dpoDepartment {
		return nil, &ForbiddenError{Table: "rectifications", Reason: "l'historique des corrections est lu par le DPO"}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, field, channel, department, corrected_at FROM rectifications
		WHERE person_id = $1 ORDER BY id`, personID)
	if err != nil {
		return nil, fmt.Errorf("record: corrections: %w", err)
	}
	defer rows.Close()
	at := s.dict.Table("rectifications").Column("corrected_at")
	var out []Correction
	for rows.Next() {
		var c Correction
		var raw any
		if err := rows.Scan(&c.Table, &c.Field, &c.Channel, &c.Department, &raw); err != nil {
			return nil, fmt.Errorf("record: corrections: %w", err)
		}
		v, err := at.FromDB(raw)
		if err != nil {
			return nil, fmt.Errorf("record: corrections: %w", err)
		}
		c.At = v.(time.Time)
		out = append(out, c)
	}
	return out, rows.Err()
}
