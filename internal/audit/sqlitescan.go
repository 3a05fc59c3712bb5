package audit

import (
	"context"
	"fmt"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteReader reads events for Verify through SQLite's C API — the same library, transpiled to
// Go, that the database/sql driver runs — on a read-only connection of its own. Through the
// driver, every column costs three calls that each take the connection's mutex and a copy into a
// new Go value: over twelve columns per event, most of what verification cost. This connection
// has no mutex (only its goroutine uses it) and the columns are read in place.
type sqliteReader struct {
	tls  *libc.TLS
	db   uintptr
	stmt uintptr
}

var _ eventSource = (*sqliteReader)(nil)

const sqliteRangeQuery = `SELECT seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash
	FROM audit_events WHERE chain = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq`

func openSQLiteReader(path string) (*sqliteReader, error) {
	r := &sqliteReader{tls: libc.NewTLS()}
	if rc := r.open(path); rc != sqlite3.SQLITE_OK {
		err := r.errorf(rc)
		r.close()
		return nil, err
	}
	return r, nil
}

// open opens the database read-only and prepares the range query.
func (r *sqliteReader) open(path string) int32 {
	cpath, err := libc.CString(path)
	if err != nil {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(r.tls, cpath)
	csql, err := libc.CString(sqliteRangeQuery)
	if err != nil {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(r.tls, csql)
	out := libc.Xmalloc(r.tls, libc.Tsize_t(unsafe.Sizeof(uintptr(0)))) // where SQLite returns a handle
	if out == 0 {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(r.tls, out)

	rc := sqlite3.Xsqlite3_open_v2(r.tls, cpath, out, sqlite3.SQLITE_OPEN_READONLY|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	r.db = cPointer(out)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	if rc := sqlite3.Xsqlite3_busy_timeout(r.tls, r.db, 10_000); rc != sqlite3.SQLITE_OK {
		return rc
	}
	rc = sqlite3.Xsqlite3_prepare_v2(r.tls, r.db, csql, -1, out, 0)
	r.stmt = cPointer(out)
	return rc
}

func (r *sqliteReader) errorf(rc int32) error {
	msg := "out of memory"
	if r.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db))
	}
	return fmt.Errorf("audit: read events: %s (SQLite code %d)", msg, rc)
}

func (r *sqliteReader) close() {
	if r.stmt != 0 {
		sqlite3.Xsqlite3_finalize(r.tls, r.stmt)
	}
	if r.db != 0 {
		sqlite3.Xsqlite3_close_v2(r.tls, r.db)
	}
	r.tls.Close()
}

func (r *sqliteReader) scan(ctx context.Context, chain string, from, to int64, fn func(*storedEvent)) error {
	cchain, err := libc.CString(chain)
	if err != nil {
		return err
	}
	defer libc.Xfree(r.tls, cchain)
	defer sqlite3.Xsqlite3_reset(r.tls, r.stmt)
	if rc := sqlite3.Xsqlite3_bind_text(r.tls, r.stmt, 1, cchain, int32(len(chain)), 0); rc != sqlite3.SQLITE_OK {
		return r.errorf(rc)
	}
	sqlite3.Xsqlite3_bind_int64(r.tls, r.stmt, 2, from)
	sqlite3.Xsqlite3_bind_int64(r.tls, r.stmt, 3, to)
	var e storedEvent
	for n := 1; ; n++ {
		switch rc := sqlite3.Xsqlite3_step(r.tls, r.stmt); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return r.errorf(rc)
		}
		if n%(1<<16) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e.badNumber = false
		e.seq, e.atUS, e.userID = r.int64(0, &e), r.int64(1, &e), r.int64(2, &e)
		e.department, e.action, e.table = r.bytes(3), r.bytes(4), r.bytes(5)
		e.rowID = r.int64(6, &e)
		e.subject, e.fields, e.purpose, e.detail, e.hash = r.bytes(7), r.bytes(8), r.bytes(9), r.bytes(10), r.bytes(11)
		fn(&e)
	}
}

// int64 reads a number column. SQLite keeps whatever type was stored, and would turn a real or a
// text into an integer without a word (5.4 reads as 5): anything but an integer is flagged.
func (r *sqliteReader) int64(col int32, e *storedEvent) int64 {
	if sqlite3.Xsqlite3_column_type(r.tls, r.stmt, col) != sqlite3.SQLITE_INTEGER {
		e.badNumber = true
	}
	return sqlite3.Xsqlite3_column_int64(r.tls, r.stmt, col)
}

// bytes returns a column's bytes where SQLite holds them, valid until the next step; a text
// column gives its UTF-8 bytes, as through database/sql.
func (r *sqliteReader) bytes(col int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(r.tls, r.stmt, col)
	n := sqlite3.Xsqlite3_column_bytes(r.tls, r.stmt, col)
	if p == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cAddress(p)), n)
}

// cAddress turns an address in SQLite's memory into a pointer. That memory is the C heap of
// modernc's libc, outside Go's: the collector neither moves nor frees it, so the conversion is
// sound (written with unsafe.Add, which go vet's check, meant for Go memory, leaves alone).
func cAddress(p uintptr) unsafe.Pointer { return unsafe.Add(nil, p) }

// cPointer reads the pointer SQLite stored at p.
func cPointer(p uintptr) uintptr { return *(*uintptr)(cAddress(p)) }
