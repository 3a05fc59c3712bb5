package db

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upgradeDepth is how many releases back the upgrade test starts from: each of the last
// upgradeDepth migrations is, in turn, the one (or the ones) a release brings to a full database.
const upgradeDepth = 3

// upgradeOverrides gives the value a column must hold when a migration reads it as more than an
// opaque value (casts it, parses it): "table.column" → the value for row 1 or 2. Empty while no
// migration does; a migration that rewrites a column's values on purpose belongs in
// upgradeRewritten instead.
var upgradeOverrides = map[string]func(row int) any{}

// upgradeRewritten lists the "table.column" whose values a migration changes on purpose, with the
// migration that does: the test does not expect them unchanged.
var upgradeRewritten = map[string]string{}

// TestUpgradeKeepsEveryValue builds, on both databases, a database as each of the last releases
// left it — the migrations up to the latest minus one, two, three — fills every column of every
// table it has with two rows through plain SQL, upgrades it to the latest schema, and reads every
// value back unchanged. It needs no change when a migration is added: the tables and columns
// come from the schema itself, the foreign keys point at the rows it inserted.
func TestUpgradeKeepsEveryValue(t *testing.T) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			all, err := (&DB{Dialect: dialect}).Migrations()
			if err != nil {
				t.Fatal(err)
			}
			if len(all) < 2 {
				t.Skip("a single migration: nothing to upgrade from")
			}
			for back := 1; back <= upgradeDepth && back < len(all); back++ {
				from := all[len(all)-1-back]
				t.Run(fmt.Sprintf("from_%04d", from.Version), func(t *testing.T) {
					ctx := context.Background()
					d := openTest(t, dialect)
					if _, err := d.MigrateTo(ctx, from.Version); err != nil {
						t.Fatalf("migrate to %04d: %v", from.Version, err)
					}
					f := fill(t, d)
					f.check(t, d, "written at the earlier version", nil)
					applied, err := d.Migrate(ctx)
					if err != nil {
						t.Fatalf("upgrade from %04d with data: %v", from.Version, err)
					}
					if len(applied) != back {
						t.Fatalf("upgrade applied %d migrations, want %d", len(applied), back)
					}
					f.check(t, d, "after the upgrade", upgradeRewritten)
				})
			}
		})
	}
}

// fixture is what fill wrote: per table, its columns and the rows (column → value).
type fixture struct {
	dialect Dialect
	schema  map[string]map[string]ColumnInfo
	order   []string
	rows    map[string][]map[string]any
}

// fill inserts two rows in every table, parents before children, every column given a value of
// its type that no other column or row shares, each foreign key pointing at the parent's row of
// the same number.
func fill(t *testing.T, d *DB) *fixture {
	t.Helper()
	ctx := context.Background()
	schema, err := d.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delete(schema, "schema_migrations")
	f := &fixture{dialect: d.Dialect, schema: schema, rows: map[string][]map[string]any{}}
	f.order = insertionOrder(t, schema)
	for _, table := range f.order {
		cols := sortedColumns(schema[table])
		for row := 1; row <= 2; row++ {
			values := map[string]any{}
			for i, c := range cols {
				if schema[table][c].References == "" {
					values[c] = f.value(t, table, c, i, row)
				}
			}
			for _, c := range cols {
				ref := schema[table][c].References
				if ref == "" {
					continue
				}
				parent, pcol, _ := strings.Cut(ref, ".")
				if parent == table {
					values[c] = values[pcol]
				} else {
					values[c] = f.rows[parent][row-1][pcol]
				}
			}
			args := make([]any, len(cols))
			marks := make([]string, len(cols))
			for i, c := range cols {
				args[i], marks[i] = values[c], "$"+strconv.Itoa(i+1)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(quoted(cols), ", "), strings.Join(marks, ", "))
			if _, err := d.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("insert into %s: %v", table, err)
			}
			f.rows[table] = append(f.rows[table], values)
		}
	}
	if len(f.order) < 10 {
		t.Fatalf("only %d tables filled: the schema was not read", len(f.order))
	}
	return f
}

// value is the value of a column for a row: unique across columns and rows, within the type's size.
func (f *fixture) value(t *testing.T, table, col string, index, row int) any {
	if o, ok := upgradeOverrides[table+"."+col]; ok {
		return o(row)
	}
	typ := f.schema[table][col].Type
	n := 100*row + index // unique in the table
	switch {
	case typ == "smallint":
		return int64(n)
	case strings.Contains(typ, "int"): // integer, bigint; ids far above the sequences' next values
		return int64(7_000_000 + n)
	case strings.HasPrefix(typ, "bool"):
		return row == 2
	case typ == "blob" || typ == "bytea":
		return []byte(fmt.Sprintf("%s.%s#%d\x00\xff\x01", table, col, row))
	case strings.HasPrefix(typ, "timestamp") || typ == "datetime":
		return time.Date(2020+row, time.Month(1+index%12), 1+index%28, 7, index%60, row, 123456000, time.UTC)
	case typ == "date":
		return time.Date(2020+row, time.Month(1+index%12), 1+index%28, 0, 0, 0, 0, time.UTC)
	case typ == "real" || typ == "double precision" || typ == "float" || strings.HasPrefix(typ, "numeric") || strings.HasPrefix(typ, "decimal"):
		return float64(n) + 0.5
	case typ == "text":
		return fmt.Sprintf("%s.%s n°%d — é", table, col, row)
	case strings.HasPrefix(typ, "varchar(") || strings.HasPrefix(typ, "char(") || strings.HasPrefix(typ, "character"):
		size, err := strconv.Atoi(strings.TrimSuffix(typ[strings.Index(typ, "(")+1:], ")"))
		if err != nil {
			t.Fatalf("%s.%s: type %s: %v", table, col, typ, err)
		}
		s := fmt.Sprintf("v%d-%d-%s.%s", row, index, table, col)
		if len(s) > size {
			s = s[:size]
		}
		if strings.HasPrefix(typ, "char(") {
			s += strings.Repeat("x", size-len(s))
		}
		return s
	}
	t.Fatalf("%s.%s: the upgrade test has no value for type %q; teach fixture.value", table, col, typ)
	return nil
}

// check reads every row fill wrote and compares every column, but those a migration rewrites.
func (f *fixture) check(t *testing.T, d *DB, when string, rewritten map[string]string) {
	t.Helper()
	ctx := context.Background()
	now, err := d.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range f.order {
		if now[table] == nil {
			t.Errorf("%s: table %s is gone", when, table)
			continue
		}
		cols := sortedColumns(f.schema[table])
		var key []string
		for _, c := range cols {
			if f.schema[table][c].PrimaryKey {
				key = append(key, c)
			}
		}
		if key == nil {
			key = cols
		}
		rows, err := d.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted(cols), ", "), table))
		if err != nil {
			t.Errorf("%s: read %s: %v", when, table, err)
			continue
		}
		found := map[string]map[string]string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: scan %s: %v", when, table, err)
			}
			got := map[string]string{}
			for i, c := range cols {
				got[c] = f.normalise(table, c, vals[i])
			}
			found[rowKey(key, got)] = got
		}
		rows.Close()
		for i, want := range f.rows[table] {
			norm := map[string]string{}
			for c, v := range want {
				norm[c] = f.normalise(table, c, v)
			}
			got, ok := found[rowKey(key, norm)]
			if !ok {
				t.Errorf("%s: %s row %d is gone", when, table, i+1)
				continue
			}
			for _, c := range cols {
				if why, ok := rewritten[table+"."+c]; ok {
					t.Logf("%s.%s not compared: %s", table, c, why)
					continue
				}
				if got[c] != norm[c] {
					t.Errorf("%s: %s.%s of row %d is %s, want %s", when, table, c, i+1, got[c], norm[c])
				}
			}
		}
	}
}

// normalise writes a value as either driver returns it for the column's declared type.
func (f *fixture) normalise(table, col string, v any) string {
	typ := f.schema[table][col].Type
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if typ == "date" {
			return x.Format("2006-01-02")
		}
		return x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		if strings.HasPrefix(typ, "bool") {
			return strconv.FormatBool(x != 0)
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		if typ == "blob" || typ == "bytea" {
			return hex.EncodeToString(x)
		}
		return f.normalise(table, col, string(x))
	case string:
		if p, err := strconv.ParseFloat(x, 64); err == nil && (strings.HasPrefix(typ, "numeric") || strings.HasPrefix(typ, "decimal")) {
			return strconv.FormatFloat(p, 'g', -1, 64)
		}
		return x
	}
	return fmt.Sprintf("%T %v", v, v)
}

func rowKey(key []string, row map[string]string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = row[k]
	}
	return strings.Join(parts, "\x1f")
}

// insertionOrder sorts the tables so that every table comes after those its foreign keys point to.
func insertionOrder(t *testing.T, schema map[string]map[string]ColumnInfo) []string {
	var tables []string
	for name := range schema {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	var order []string
	placed := map[string]bool{}
	for len(order) < len(tables) {
		progress := false
		for _, table := range tables {
			if placed[table] {
				continue
			}
			ready := true
			for _, c := range schema[table] {
				parent, _, _ := strings.Cut(c.References, ".")
				if c.References != "" && parent != table && !placed[parent] {
					ready = false
				}
			}
			if ready {
				order, placed[table], progress = append(order, table), true, true
			}
		}
		if !progress {
			var left []string
			for _, table := range tables {
				if !placed[table] {
					left = append(left, table)
				}
			}
			t.Fatalf("foreign keys form a cycle among %v: teach the upgrade test to break it", left)
		}
	}
	return order
}

func sortedColumns(cols map[string]ColumnInfo) []string {
	out := make([]string, 0, len(cols))
	for c := range cols {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

func quoted(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = `"` + c + `"`
	}
	return out
}
