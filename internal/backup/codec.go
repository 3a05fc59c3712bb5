package backup

// The plaintext inside the container: a header, then tables, each its columns then its rows, each
// value with a type tag, then an end mark with the number of tables — a stream cut at a table
// boundary is refused even before the container would notice.
//
//	header: "VGBK" | version (1) | kind (1) | schema version (uvarint) | created_at µs (varint) | source dialect (string)
//	table:  'T' | name (string) | column count (uvarint) | names (strings)
//	row:    'R' | one value per column
//	end of table: 'E' | row count (uvarint)
//	end:    'Z' | table count (uvarint)
//
// A value is a tag, then: 0 NULL; 1 int64 (varint); 2 float64 (8 bytes); 3 string (uvarint length
// and bytes); 4 bytes (the same); 5 false; 6 true; 7 time (varint Unix seconds, uvarint nanoseconds,
// UTC).

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

const (
	streamMagic = "VGBK"
	streamV1    = 1
	// maxLen bounds a string or a byte string (a document is at most a few megabytes).
	maxLen = 1 << 30
)

const (
	tagNull byte = iota
	tagInt
	tagFloat
	tagString
	tagBytes
	tagFalse
	tagTrue
	tagTime
)

// streamHeader is what a stream says of itself.
type streamHeader struct {
	Kind          byte
	SchemaVersion int
	CreatedAt     time.Time
	Dialect       string
}

type encoder struct {
	w   *bufio.Writer
	buf []byte
}

func newEncoder(w io.Writer) *encoder { return &encoder{w: bufio.NewWriterSize(w, 1<<16)} }

func (e *encoder) flushBuf() error {
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func (e *encoder) header(h streamHeader) error {
	e.buf = append(e.buf, streamMagic...)
	e.buf = append(e.buf, streamV1, h.Kind)
	e.buf = binary.AppendUvarint(e.buf, uint64(h.SchemaVersion))
	e.buf = binary.AppendVarint(e.buf, h.CreatedAt.UnixMicro())
	e.buf = appendString(e.buf, h.Dialect)
	return e.flushBuf()
}

func (e *encoder) table(name string, columns []string) error {
	e.buf = append(e.buf, 'T')
	e.buf = appendString(e.buf, name)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(columns)))
	for _, c := range columns {
		e.buf = appendString(e.buf, c)
	}
	return e.flushBuf()
}

func (e *encoder) row(values []any) error {
	e.buf = append(e.buf, 'R')
	for _, v := range values {
		var err error
		if e.buf, err = appendValue(e.buf, v); err != nil {
			return err
		}
	}
	return e.flushBuf()
}

func (e *encoder) endTable(rows int64) error {
	e.buf = append(e.buf, 'E')
	e.buf = binary.AppendUvarint(e.buf, uint64(rows))
	return e.flushBuf()
}

func (e *encoder) end(tables int) error {
	e.buf = append(e.buf, 'Z')
	e.buf = binary.AppendUvarint(e.buf, uint64(tables))
	if err := e.flushBuf(); err != nil {
		return err
	}
	return e.w.Flush()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, tagNull), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), x), nil
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(x)), nil
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x)), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case []byte:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		return append(b, x...), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case time.Time:
		x = x.UTC()
		b = binary.AppendVarint(append(b, tagTime), x.Unix())
		return binary.AppendUvarint(b, uint64(x.Nanosecond())), nil
	}
	return nil, fmt.Errorf("backup: cannot encode a %T", v)
}

// decoder reads a stream; every error is ErrCorrupt-like: the stream was authenticated, so a
// malformed one was written wrong, or by another version.
type decoder struct {
	r *bufio.Reader
}

func newDecoder(r io.Reader) *decoder { return &decoder{r: bufio.NewReaderSize(r, 1<<16)} }

var errFormat = errors.New("backup: malformed backup stream")

func (d *decoder) fail(err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	if errors.Is(err, errFormat) {
		return err
	}
	return fmt.Errorf("backup: read: %w", err)
}

func (d *decoder) header() (streamHeader, error) {
	var h streamHeader
	magic := make([]byte, len(streamMagic)+2)
	if _, err := io.ReadFull(d.r, magic); err != nil {
		return h, d.fail(err)
	}
	if string(magic[:len(streamMagic)]) != streamMagic || magic[4] != streamV1 {
		return h, errFormat
	}
	h.Kind = magic[5]
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		return h, d.fail(err)
	}
	created, err := binary.ReadVarint(d.r)
	if err != nil {
		return h, d.fail(err)
	}
	h.SchemaVersion, h.CreatedAt = int(v), time.UnixMicro(created).UTC()
	if h.Dialect, err = d.string(); err != nil {
		return h, err
	}
	return h, nil
}

func (d *decoder) string() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return nil, d.fail(err)
	}
	if n > maxLen {
		return nil, errFormat
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.fail(err)
	}
	return b, nil
}

// record reads the next record's mark: 'T', 'R', 'E' or 'Z'.
func (d *decoder) mark() (byte, error) {
	m, err := d.r.ReadByte()
	if err != nil {
		return 0, d.fail(err)
	}
	switch m {
	case 'T', 'R', 'E', 'Z':
		return m, nil
	}
	return 0, errFormat
}

func (d *decoder) tableHead() (string, []string, error) {
	name, err := d.string()
	if err != nil {
		return "", nil, err
	}
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return "", nil, d.fail(err)
	}
	if n == 0 || n > 1000 {
		return "", nil, errFormat
	}
	cols := make([]string, n)
	for i := range cols {
		if cols[i], err = d.string(); err != nil {
			return "", nil, err
		}
	}
	return name, cols, nil
}

func (d *decoder) uvarint() (uint64, error) {
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, d.fail(err)
	}
	return n, nil
}

// values reads one row of n values into out.
func (d *decoder) values(out []any) error {
	for i := range out {
		tag, err := d.r.ReadByte()
		if err != nil {
			return d.fail(err)
		}
		switch tag {
		case tagNull:
			out[i] = nil
		case tagInt:
			v, err := binary.ReadVarint(d.r)
			if err != nil {
				return d.fail(err)
			}
			out[i] = v
		case tagFloat:
			var b [8]byte
			if _, err := io.ReadFull(d.r, b[:]); err != nil {
				return d.fail(err)
			}
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[:]))
		case tagString:
			s, err := d.string()
			if err != nil {
				return err
			}
			out[i] = s
		case tagBytes:
			b, err := d.bytes()
			if err != nil {
				return err
			}
			out[i] = b
		case tagFalse:
			out[i] = false
		case tagTrue:
			out[i] = true
		case tagTime:
			sec, err := binary.ReadVarint(d.r)
			if err != nil {
				return d.fail(err)
			}
			nsec, err := binary.ReadUvarint(d.r)
			if err != nil {
				return d.fail(err)
			}
			if nsec >= 1e9 {
				return errFormat
			}
			out[i] = time.Unix(sec, int64(nsec)).UTC()
		default:
			return errFormat
		}
	}
	return nil
}

// table is one table of a stream, as a callback sees it.
type table struct {
	Name    string
	Columns []string
}

// walk reads a whole stream after its header: start is called at each table, row with each row
// (the slice is reused), and the counts are checked against the end marks.
func (d *decoder) walk(start func(table) error, row func(table, []any) error) (tables int, rows int64, err error) {
	var cur *table
	var vals []any
	var n int64
	for {
		m, err := d.mark()
		if err != nil {
			return tables, rows, err
		}
		switch {
		case m == 'T' && cur == nil:
			name, cols, err := d.tableHead()
			if err != nil {
				return tables, rows, err
			}
			cur, vals, n = &table{Name: name, Columns: cols}, make([]any, len(cols)), 0
			if start != nil {
				if err := start(*cur); err != nil {
					return tables, rows, err
				}
			}
		case m == 'R' && cur != nil:
			if err := d.values(vals); err != nil {
				return tables, rows, err
			}
			n++
			rows++
			if row != nil {
				if err := row(*cur, vals); err != nil {
					return tables, rows, err
				}
			}
		case m == 'E' && cur != nil:
			count, err := d.uvarint()
			if err != nil {
				return tables, rows, err
			}
			if int64(count) != n {
				return tables, rows, errFormat
			}
			cur = nil
			tables++
		case m == 'Z' && cur == nil:
			count, err := d.uvarint()
			if err != nil {
				return tables, rows, err
			}
			if int(count) != tables {
				return tables, rows, errFormat
			}
			if _, err := d.r.ReadByte(); err != io.EOF {
				if err == nil {
					return tables, rows, errFormat
				}
				return tables, rows, d.fail(err)
			}
			return tables, rows, nil
		default:
			return tables, rows, errFormat
		}
	}
}
