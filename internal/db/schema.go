package db

import (
	"context"
	"fmt"
	"strings"
)

// ColumnInfo is a column as the database itself describes it, read back so that the dictionary can
// be compared with the real schema (R01).
type ColumnInfo struct {
	Type       string // normalised lower-case type, e.g. "varchar(254)", "bytea", "timestamp"
	NotNull    bool
	PrimaryKey bool
	References string // "table.column" for a foreign key
}

// Schema returns every table's columns as the database describes them.
func (d *DB) Schema(ctx context.Context) (map[string]map[string]ColumnInfo, error) {
	if d.Dialect == Postgres {
		return d.postgresSchema(ctx)
	}
	return d.sqliteSchema(ctx)
}

func (d *DB) sqliteSchema(ctx context.Context) (map[string]map[string]ColumnInfo, error) {
	rows, err := d.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return nil, fmt.Errorf("db: list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("db: list tables: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	out := map[string]map[string]ColumnInfo{}
	for _, t := range tables {
		cols := map[string]ColumnInfo{}
		info, err := d.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info($1)`, t)
		if err != nil {
			return nil, fmt.Errorf("db: describe %s: %w", t, err)
		}
		for info.Next() {
			var name, typ string
			var notNull, pk int
			if err := info.Scan(&name, &typ, &notNull, &pk); err != nil {
				info.Close()
				return nil, fmt.Errorf("db: describe %s: %w", t, err)
			}
			// Only an INTEGER PRIMARY KEY (the rowid) is NOT NULL by itself in SQLite; any other
			// primary key column accepts NULL unless declared NOT NULL.
			rowid := pk > 0 && strings.EqualFold(typ, "integer")
			cols[name] = ColumnInfo{Type: normaliseType(typ), NotNull: notNull == 1 || rowid, PrimaryKey: pk > 0}
		}
		info.Close()
		fks, err := d.QueryContext(ctx, `SELECT "from", "table", "to" FROM pragma_foreign_key_list($1)`, t)
		if err != nil {
			return nil, fmt.Errorf("db: foreign keys of %s: %w", t, err)
		}
		for fks.Next() {
			var from, table, to string
			if err := fks.Scan(&from, &table, &to); err != nil {
				fks.Close()
				return nil, fmt.Errorf("db: foreign keys of %s: %w", t, err)
			}
			c := cols[from]
			c.References = table + "." + to
			cols[from] = c
		}
		fks.Close()
		out[t] = cols
	}
	return out, nil
}

func (d *DB) postgresSchema(ctx context.Context) (map[string]map[string]ColumnInfo, error) {
	rows, err := d.QueryContext(ctx, `
		SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
		       coalesce(c.character_maximum_length, 0), coalesce(c.numeric_precision, 0), coalesce(c.numeric_scale, 0)
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, fmt.Errorf("db: describe columns: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]ColumnInfo{}
	for rows.Next() {
		var table, name, typ, nullable string
		var length, precision, scale int
		if err := rows.Scan(&table, &name, &typ, &nullable, &length, &precision, &scale); err != nil {
			return nil, fmt.Errorf("db: describe columns: %w", err)
		}
		switch typ {
		case "character varying":
			typ = fmt.Sprintf("varchar(%d)", length)
		case "character":
			typ = fmt.Sprintf("char(%d)", length)
		case "numeric":
			typ = fmt.Sprintf("numeric(%d,%d)", precision, scale)
		case "timestamp with time zone":
			typ = "timestamptz"
		}
		if out[table] == nil {
			out[table] = map[string]ColumnInfo{}
		}
		out[table][name] = ColumnInfo{Type: typ, NotNull: nullable == "NO"}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: describe columns: %w", err)
	}
	keys, err := d.QueryContext(ctx, `
		SELECT tc.table_name, kcu.column_name, tc.constraint_type,
		       coalesce(ccu.table_name, ''), coalesce(ccu.column_name, '')
		FROM information_schema.table_constraints tc
		JOIN information_schema.key_column_usage kcu
		  ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
		LEFT JOIN information_schema.constraint_column_usage ccu
		  ON tc.constraint_type = 'FOREIGN KEY' AND ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
		WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')`)
	if err != nil {
		return nil, fmt.Errorf("db: describe keys: %w", err)
	}
	defer keys.Close()
	for keys.Next() {
		var table, column, kind, refTable, refColumn string
		if err := keys.Scan(&table, &column, &kind, &refTable, &refColumn); err != nil {
			return nil, fmt.Errorf("db: describe keys: %w", err)
		}
		c := out[table][column]
		if kind == "PRIMARY KEY" {
			c.PrimaryKey = true
		} else {
			c.References = refTable + "." + refColumn
		}
		out[table][column] = c
	}
	return out, keys.Err()
}

func normaliseType(t string) string { return strings.ReplaceAll(strings.ToLower(t), " ", "") }
