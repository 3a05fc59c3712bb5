package db

import "testing"

// TestValuesNumbersThePlaceholdersOfEachDialect: rows of placeholders in the order of the
// arguments, positional on SQLite, numbered on PostgreSQL.
func TestValuesNumbersThePlaceholdersOfEachDialect(t *testing.T) {
	for _, c := range []struct {
		dialect    Dialect
		rows, cols int
		want       string
	}{
		{SQLite, 2, 3, "(?,?,?),(?,?,?)"},
		{Postgres, 2, 3, "($1,$2,$3),($4,$5,$6)"},
		{Postgres, 1, 1, "($1)"},
		{SQLite, 0, 3, ""},
	} {
		if got := (&DB{Dialect: c.dialect}).Values(c.rows, c.cols); got != c.want {
			t.Errorf("%s Values(%d, %d) = %q, want %q", c.dialect, c.rows, c.cols, got, c.want)
		}
	}
}
