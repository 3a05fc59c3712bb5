package breach

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/dictionary"
)

// Scope is what a breach reached, when the DPO can say it: the people are then found through the
// data rather than guessed.
//
//   - Department: the records a department's access reaches (a staff account compromised): the
//     tables the dictionary lets it read.
//   - Table: one table (quotes, contracts…), alone or within the department's.
//   - From, To: only the records created in [From, To) (a backup of a given week, an export).
//   - PersonIDs: people named one by one (a letter sent to the wrong address).
//
// The people concerned are those with at least one record in the scope's tables and window, and
// those named; the records concerned are the scope's records of those people. Erased people
// (tombstones) hold nothing and are never counted.
type Scope struct {
	Department string
	Table      string
	From, To   time.Time
	PersonIDs  []int64
}

// IsZero reports whether the breach names no scope.
func (sc Scope) IsZero() bool {
	return sc.Department == "" && sc.Table == "" && sc.From.IsZero() && sc.To.IsZero() && len(sc.PersonIDs) == 0
}

// ScopeTables are the tables a scope may name: the CRM tables that hold people's records and
// date them (created_at), as the dictionary declares them.
func (s *Service) ScopeTables() []*dictionary.Table {
	var out []*dictionary.Table
	for _, t := range s.dict.Tables {
		if !t.Internal && t.PersonColumn != "" && t.Column("created_at") != nil {
			out = append(out, t)
		}
	}
	return out
}

// scopeTables are the tables the scope looks into; nil when the scope names none (no scope, or
// only people by number, who are then looked for in every table).
func (s *Service) scopeTables(sc Scope) []*dictionary.Table {
	if sc.Department == "" && sc.Table == "" && sc.From.IsZero() && sc.To.IsZero() {
		return nil
	}
	var out []*dictionary.Table
	for _, t := range s.ScopeTables() {
		switch {
		case sc.Table != "" && t.Name != sc.Table:
		case sc.Department != "" && !slices.Contains(t.Read, sc.Department):
		default:
			out = append(out, t)
		}
	}
	return out
}

func (s *Service) validateScope(sc Scope) []Issue {
	var is []Issue
	add := func(field, rule, msg string) { is = append(is, Issue{field, rule, msg}) }
	if sc.Department != "" {
		if _, ok := s.dict.Department(sc.Department); !ok {
			add("scope_department", "enum", "service inconnu ; valeurs admises : "+strings.Join(s.departmentCodes(), ", "))
		}
	}
	if sc.Table != "" {
		i := slices.IndexFunc(s.ScopeTables(), func(t *dictionary.Table) bool { return t.Name == sc.Table })
		switch {
		case i < 0:
			add("scope_table", "enum", "table inconnue ; valeurs admises : "+strings.Join(s.scopeTableNames(), ", "))
		case sc.Department != "" && !slices.Contains(s.ScopeTables()[i].Read, sc.Department):
			add("scope_table", "department_access", "ce service n'a pas accès à cette table : le périmètre serait vide")
		}
	}
	if !sc.From.IsZero() && !sc.To.IsZero() && !sc.From.Before(sc.To) {
		add("scope_to", "after_from", "la fin de la période doit suivre son début")
	}
	if len(sc.PersonIDs) > maxListed {
		add("scope_persons", "max_items", fmt.Sprintf("au plus %d personnes nommées une à une ; décrivez un périmètre pour davantage", maxListed))
	}
	for _, id := range sc.PersonIDs {
		if id <= 0 {
			add("scope_persons", "type.integer", "des numéros de personne (entiers positifs) sont attendus")
			break
		}
	}
	return is
}

func (s *Service) departmentCodes() []string {
	var out []string
	for _, d := range s.dict.Departments {
		out = append(out, d.Code)
	}
	return out
}

func (s *Service) scopeTableNames() []string {
	var out []string
	for _, t := range s.ScopeTables() {
		out = append(out, t.Name)
	}
	return out
}

// derivedCategories are the categories of personal data the scope's tables hold, in the
// register's order (the department's readable columns only, when the scope names one).
func (s *Service) derivedCategories(sc Scope) []string {
	tables := s.scopeTables(sc)
	if tables == nil && len(sc.PersonIDs) > 0 {
		tables = s.ScopeTables()
	}
	found := map[string]bool{}
	for _, t := range tables {
		for _, c := range t.Columns {
			if c.Personal && (sc.Department == "" || c.CanRead(sc.Department)) {
				found[c.Category] = true
			}
		}
	}
	var out []string
	for _, l := range DataCategories {
		if found[l.Code] {
			out = append(out, l.Code)
		}
	}
	return out
}

// sqlArgs numbers the arguments of a statement built piece by piece.
type sqlArgs struct{ list []any }

func (a *sqlArgs) add(v any) string {
	a.list = append(a.list, v)
	return "$" + strconv.Itoa(len(a.list))
}

// idList writes validated positive ids as SQL literals.
func idList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// findPeople fills breach_persons for a breach from its scope, in the caller's transaction, and
// returns how many people and records it found. The named people must exist and not be erased.
// It is one INSERT … SELECT over the scope's tables: no person's data is read or decrypted.
func (s *Service) findPeople(ctx context.Context, tx *sql.Tx, breachID int64, sc Scope) (people, records int64, err error) {
	if sc.IsZero() {
		return 0, 0, nil
	}
	listed := sc.PersonIDs
	if len(listed) > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM persons WHERE erased_at IS NULL AND id IN `+idList(listed)).Scan(&n); err != nil {
			return 0, 0, fmt.Errorf("breach: check the people named: %w", err)
		}
		if n != len(listed) {
			return 0, 0, &ValidationError{[]Issue{{"scope_persons", "exists", fmt.Sprintf("%d des personnes nommées sont inconnues de Vigie ou effacées", len(listed)-n)}}}
		}
	}
	tables := s.scopeTables(sc)
	onlyListed := tables == nil
	if onlyListed {
		tables = s.ScopeTables()
	}
	a := &sqlArgs{}
	id := a.add(breachID)
	var parts []string
	for _, t := range tables {
		pcol := "t." + t.PersonColumn
		where := []string{"p.erased_at IS NULL"}
		if !sc.From.IsZero() {
			where = append(where, "t.created_at >= "+a.add(sc.From))
		}
		if !sc.To.IsZero() {
			where = append(where, "t.created_at < "+a.add(sc.To))
		}
		if onlyListed {
			where = append(where, pcol+" IN "+idList(listed))
		}
		parts = append(parts, "SELECT "+pcol+" AS person_id FROM "+t.Name+" t JOIN persons p ON p.id = "+pcol+" WHERE "+strings.Join(where, " AND "))
	}
	source := "'scope'"
	if len(listed) > 0 {
		source = "CASE WHEN u.person_id IN " + idList(listed) + " THEN 'listed' ELSE 'scope' END"
	}
	if len(parts) > 0 {
		// Scope queries are built from the dictionary's table and column names and validated ids.
		if _, err := tx.ExecContext(ctx, `INSERT INTO breach_persons (breach_id, person_id, source, records)
			SELECT CAST(`+id+` AS BIGINT), u.person_id, `+source+`, count(*) FROM (`+strings.Join(parts, " UNION ALL ")+`) u GROUP BY u.person_id`, a.list...); err != nil {
			return 0, 0, fmt.Errorf("breach: find the people in scope: %w", err)
		}
	}
	if len(listed) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO breach_persons (breach_id, person_id, source, records)
			SELECT CAST($1 AS BIGINT), p.id, 'listed', 0 FROM persons p WHERE p.erased_at IS NULL AND p.id IN `+idList(listed)+`
			AND NOT EXISTS (SELECT 1 FROM breach_persons b WHERE b.breach_id = $1 AND b.person_id = p.id)`, breachID); err != nil {
			return 0, 0, fmt.Errorf("breach: add the people named: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(records), 0) FROM breach_persons WHERE breach_id = $1`, breachID).
		Scan(&people, &records); err != nil {
		return 0, 0, fmt.Errorf("breach: count the people found: %w", err)
	}
	return people, records, nil
}

// foundKinds are the kinds of people (prospect, customer…) among those found, in the register's
// order.
func foundKinds(ctx context.Context, tx *sql.Tx, breachID int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT p.kind FROM breach_persons b JOIN persons p ON p.id = b.person_id WHERE b.breach_id = $1`, breachID)
	if err != nil {
		return nil, fmt.Errorf("breach: read the kinds of people found: %w", err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("breach: read the kinds of people found: %w", err)
		}
		found[strings.TrimSpace(k)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("breach: read the kinds of people found: %w", err)
	}
	var out []string
	for _, l := range PeopleCategories {
		if found[l.Code] {
			out = append(out, l.Code)
		}
	}
	return out, nil
}
