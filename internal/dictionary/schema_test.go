package dictionary_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/db"
	"vigie/internal/dictionary"
)

// R01: the database schema and the data dictionary never disagree, in either direction. The
// comparison runs on the schema each database reports after the real migrations, so a migration
// that forgets a column, or a dictionary entry that forgets a migration, fails here.
func TestR01_SchemaMatchesDictionary(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		schema, err := a.DB.Schema(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range compareSchema(a.Dict, a.DB.Dialect, schema) {
			t.Error(problem)
		}
	})
}

// R01: a default exists so that a value is never missing. A clear column with a default is
// therefore declared "null": false, and the schema gives it NOT NULL (checked above).
func TestR01_DefaultedClearColumnsAreRequired(t *testing.T) {
	d, err := dictionary.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range d.Tables {
		for _, c := range tb.Columns {
			if len(c.Default) > 0 && c.Nullable() {
				t.Errorf("%s.%s has a default but is nullable: declare \"null\": false", tb.Name, c.Name)
			}
		}
	}
}

// expectedTypes is the physical type each database reports for a dictionary column, as
// db.Schema normalises it. Encrypted columns hold an AES-GCM envelope whatever their logical type.
// On SQLite a single-column bigint primary key may be declared INTEGER, which makes it the rowid
// (a 64-bit integer all the same, generated on insert); other bigint keys stay BIGINT.
func expectedTypes(c *dictionary.Column, soleKey bool, dialect db.Dialect) []string {
	if dialect == db.Postgres {
		switch {
		case c.Encrypted || c.Kind == dictionary.KindBlob:
			return []string{"bytea"}
		case c.Kind == dictionary.KindTimestamp:
			return []string{"timestamptz"}
		}
		return []string{c.Type}
	}
	switch {
	case c.Encrypted || c.Kind == dictionary.KindBlob:
		return []string{"blob"}
	case c.Kind == dictionary.KindBigint && soleKey:
		return []string{"integer", "bigint"}
	}
	return []string{c.Type}
}

// compareSchema lists every disagreement between the dictionary and a database schema, each
// naming table.column and what both sides say.
func compareSchema(d *dictionary.Dictionary, dialect db.Dialect, schema map[string]map[string]db.ColumnInfo) []string {
	var problems []string
	for _, tb := range d.Tables {
		cols, ok := schema[tb.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: table declared in the dictionary but missing from the %s schema", tb.Name, dialect))
			continue
		}
		keys := 0
		for _, c := range tb.Columns {
			if c.PrimaryKey() {
				keys++
			}
		}
		for _, c := range tb.Columns {
			where := tb.Name + "." + c.Name
			info, ok := cols[c.Name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: column declared in the dictionary (%s) but missing from the %s schema", where, c.Type, dialect))
				continue
			}
			want := expectedTypes(c, c.PrimaryKey() && keys == 1, dialect)
			if !slices.Contains(want, info.Type) {
				problems = append(problems, fmt.Sprintf("%s: dictionary type %s wants %s %s, schema has %s", where, c.Type, dialect, strings.Join(want, " or "), info.Type))
			}
			if info.PrimaryKey != c.PrimaryKey() {
				problems = append(problems, fmt.Sprintf("%s: primary key in dictionary %t, in %s schema %t", where, c.PrimaryKey(), dialect, info.PrimaryKey))
			}
			ref := ""
			if rt, rc, ok := c.ForeignKey(); ok {
				ref = rt + "." + rc
			}
			if info.References != ref {
				problems = append(problems, fmt.Sprintf("%s: foreign key in dictionary %q, in %s schema %q", where, ref, dialect, info.References))
			}
			// A primary key is never null, whether or not the dictionary says so.
			wantNotNull := !c.Nullable() || c.PrimaryKey()
			if info.NotNull != wantNotNull {
				problems = append(problems, fmt.Sprintf("%s: NOT NULL in dictionary %t (\"null\": false), in %s schema %t", where, wantNotNull, dialect, info.NotNull))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(cols)) {
			if tb.Column(name) == nil {
				problems = append(problems, fmt.Sprintf("%s.%s: column in the %s schema (%s) but not declared in the dictionary", tb.Name, name, dialect, cols[name].Type))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(schema)) {
		if d.Table(name) == nil {
			problems = append(problems, fmt.Sprintf("%s: table in the %s schema but not declared in the dictionary", name, dialect))
		}
	}
	return problems
}

// The comparison must not be vacuous: each kind of disagreement, in each direction, is caught and
// named. The schema is built from the dictionary itself, then altered one way at a time.
func TestR01_SchemaComparisonCatchesDisagreements(t *testing.T) {
	d, err := dictionary.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		perfect := func() map[string]map[string]db.ColumnInfo {
			s := map[string]map[string]db.ColumnInfo{}
			for _, tb := range d.Tables {
				s[tb.Name] = map[string]db.ColumnInfo{}
				keys := 0
				for _, c := range tb.Columns {
					if c.PrimaryKey() {
						keys++
					}
				}
				for _, c := range tb.Columns {
					info := db.ColumnInfo{
						Type:       expectedTypes(c, c.PrimaryKey() && keys == 1, dialect)[0],
						NotNull:    !c.Nullable() || c.PrimaryKey(),
						PrimaryKey: c.PrimaryKey(),
					}
					if rt, rc, ok := c.ForeignKey(); ok {
						info.References = rt + "." + rc
					}
					s[tb.Name][c.Name] = info
				}
			}
			return s
		}
		if problems := compareSchema(d, dialect, perfect()); len(problems) > 0 {
			t.Fatalf("%s: a schema built from the dictionary disagrees with it: %v", dialect, problems)
		}
		scenarios := []struct {
			name  string
			alter func(s map[string]map[string]db.ColumnInfo)
			want  string
		}{
			{"column missing from the schema", func(s map[string]map[string]db.ColumnInfo) {
				delete(s["persons"], "email")
			}, "persons.email: column declared in the dictionary (varchar(254)) but missing"},
			{"column not declared in the dictionary", func(s map[string]map[string]db.ColumnInfo) {
				s["persons"]["num_secu"] = db.ColumnInfo{Type: "varchar(15)"}
			}, "persons.num_secu: column in the " + string(dialect) + " schema (varchar(15)) but not declared"},
			{"table missing from the schema", func(s map[string]map[string]db.ColumnInfo) {
				delete(s, "tickets")
			}, "tickets: table declared in the dictionary but missing"},
			{"table not declared in the dictionary", func(s map[string]map[string]db.ColumnInfo) {
				s["legacy_crm"] = map[string]db.ColumnInfo{"id": {Type: "bigint"}}
			}, "legacy_crm: table in the " + string(dialect) + " schema but not declared"},
			{"wrong type", func(s map[string]map[string]db.ColumnInfo) {
				s["settings"]["value"] = db.ColumnInfo{Type: "varchar(100)", NotNull: true}
			}, "settings.value: dictionary type varchar(1000) wants " + string(dialect) + " varchar(1000), schema has varchar(100)"},
			{"encrypted column stored in clear", func(s map[string]map[string]db.ColumnInfo) {
				s["quotes"]["plate"] = db.ColumnInfo{Type: "varchar(10)"}
			}, "quotes.plate: dictionary type varchar(10) wants"},
			{"nullable in the schema, required in the dictionary", func(s map[string]map[string]db.ColumnInfo) {
				c := s["persons"]["last_name"]
				c.NotNull = false
				s["persons"]["last_name"] = c
			}, "persons.last_name: NOT NULL in dictionary true"},
			{"required in the schema, nullable in the dictionary", func(s map[string]map[string]db.ColumnInfo) {
				c := s["contracts"]["end_date"]
				c.NotNull = true
				s["contracts"]["end_date"] = c
			}, "contracts.end_date: NOT NULL in dictionary false"},
			{"primary key disagrees", func(s map[string]map[string]db.ColumnInfo) {
				c := s["settings"]["name"]
				c.PrimaryKey = false
				s["settings"]["name"] = c
			}, "settings.name: primary key in dictionary true"},
			{"foreign key missing from the schema", func(s map[string]map[string]db.ColumnInfo) {
				c := s["quotes"]["person_id"]
				c.References = ""
				s["quotes"]["person_id"] = c
			}, `quotes.person_id: foreign key in dictionary "persons.id"`},
			{"foreign key not declared in the dictionary", func(s map[string]map[string]db.ColumnInfo) {
				c := s["subject_keys"]["person_id"]
				c.References = "persons.id"
				s["subject_keys"]["person_id"] = c
			}, `subject_keys.person_id: foreign key in dictionary "", in ` + string(dialect) + ` schema "persons.id"`},
		}
		for _, sc := range scenarios {
			t.Run(string(dialect)+"/"+sc.name, func(t *testing.T) {
				s := perfect()
				sc.alter(s)
				problems := compareSchema(d, dialect, s)
				if len(problems) != 1 || !strings.Contains(problems[0], sc.want) {
					t.Fatalf("want one problem containing %q, got %q", sc.want, problems)
				}
			})
		}
	}
}

// R26: an access export and an erasure read and delete everything linked to one person, so every
// column naming the person, and every foreign key to a table of a person's rows, leads an index:
// without one, each export or erasure scans a whole table and slows down as the base grows.
func TestR26_PersonAndForeignKeyColumnsAreIndexed(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		for _, tb := range a.Dict.Tables {
			for _, c := range tb.Columns {
				ref, _, isFK := c.ForeignKey()
				refTable := a.Dict.Table(ref)
				personRef := isFK && refTable != nil && refTable.PersonColumn != ""
				if c.Name != tb.PersonColumn && !personRef || c.PrimaryKey() {
					continue
				}
				if !leadsAnIndex(t, a.DB, tb.Name, c.Name) {
					t.Errorf("%s.%s leads no index", tb.Name, c.Name)
				}
			}
		}
	})
}

func leadsAnIndex(t *testing.T, d *db.DB, table, column string) bool {
	t.Helper()
	query := `SELECT count(*) FROM pragma_index_list($1) il, pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = $2`
	if d.Dialect == db.Postgres {
		query = `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
			WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attname = $2`
	}
	var n int
	if err := d.QueryRowContext(context.Background(), query, table, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
