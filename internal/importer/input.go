package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Errors of the input itself. Each is returned, with its line, before anything is written: the
// checks run on the first mebibyte (header, encoding, delimiter), and a problem found further on
// aborts the import's single transaction.
var (
	ErrEmptyFile = errors.New("fichier vide : pas de ligne d'en-tête")
	ErrUTF16     = errors.New("fichier en UTF-16 : convertissez-le en UTF-8, par exemple iconv -f UTF-16 -t UTF-8 fichier.csv > fichier-utf8.csv")
	ErrNotUTF8   = errors.New("le fichier n'est pas en UTF-8 (un export Latin-1 ou Windows-1252 ?) : convertissez-le, par exemple iconv -f WINDOWS-1252 -t UTF-8 fichier.csv > fichier-utf8.csv")
	ErrDelimiter = errors.New("délimiteur incorrect")
	ErrTooLarge  = errors.New("enregistrement de plus de 8 Mio : un guillemet jamais refermé ?")
)

const (
	// sampleBytes of the file's start are looked at before the import: encoding, delimiter, and
	// the dictionary audit's verdict on each column's values.
	sampleBytes = 1 << 20
	// sampleRows bounds the rows of the sample the audit reads.
	sampleRows = 2000
	// maxRecordBytes bounds one CSV record, so that an unclosed quote cannot pull the rest of a
	// large file into memory.
	maxRecordBytes = 8 << 20
)

// input is a CSV extract whose encoding, then delimiter and header, have been checked.
type input struct {
	br     *bufio.Reader
	csv    *csv.Reader
	lim    *recordLimiter
	read   *countingReader
	bom    bool
	delim  rune
	header []string
	sample []byte // the header line and the first rows, whole lines only
}

// openInput checks the start of r: not empty, not UTF-16, valid UTF-8; a UTF-8 byte-order mark
// is skipped.
func openInput(r io.Reader) (*input, error) {
	in := &input{read: &countingReader{r: r}}
	br := bufio.NewReaderSize(in.read, sampleBytes)
	head, err := br.Peek(sampleBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("importer: read: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, fmt.Errorf("ligne 1 : %w", ErrUTF16)
	case bytes.HasPrefix(head, []byte("\ufeff")):
		in.bom = true
		br.Discard(3)
		head = head[3:]
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, ErrEmptyFile
	}
	if len(head) == sampleBytes {
		// Whole lines only: a line cut in the middle of a character would look like bad UTF-8.
		if i := bytes.LastIndexByte(head, '\n'); i > 0 {
			head = head[:i+1]
		}
	}
	// UTF-16 without a byte-order mark shows as NUL bytes between ASCII letters.
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return nil, fmt.Errorf("ligne %d : %w", lineAt(head, i), ErrUTF16)
	}
	if !utf8.Valid(head) {
		return nil, fmt.Errorf("ligne %d : %w", lineAt(head, invalidUTF8At(head)), ErrNotUTF8)
	}
	in.sample = head
	in.br = br
	return in, nil
}

// start positions a CSV reader with the delimiter after the header, and checks the header.
func (in *input) start(delim rune) error {
	in.delim = delim
	in.lim = &recordLimiter{r: in.br, max: maxRecordBytes}
	in.csv = csv.NewReader(in.lim)
	in.csv.Comma = delim
	in.csv.FieldsPerRecord = -1
	header, err := in.csv.Read()
	switch {
	case errors.Is(err, io.EOF):
		return ErrEmptyFile
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("ligne 1 : %w", ErrTooLarge)
	case err != nil:
		return fmt.Errorf("ligne 1 : en-tête illisible : %w", err)
	}
	if len(header) == 1 {
		for _, other := range []rune{';', ',', '\t'} {
			if other != delim && strings.ContainsRune(header[0], other) {
				return fmt.Errorf("%w : l'en-tête n'a qu'une colonne avec le délimiteur %s mais contient des %s ; indiquez \"delimiter\": %q dans le fichier de correspondance",
					ErrDelimiter, delimName(delim), delimName(other), delimMapping(other))
			}
		}
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	in.header = header
	return nil
}

// next reads the next record. It resets the record bound first.
func (in *input) next() ([]string, error) {
	in.lim.n = 0
	return in.csv.Read()
}

func delimName(r rune) string {
	if r == '\t' {
		return "« tabulation »"
	}
	return "« " + string(r) + " »"
}

func delimMapping(r rune) string {
	if r == '\t' {
		return "tab"
	}
	return string(r)
}

// checkUTF8 reads the whole file for bytes that are not UTF-8, then goes back to its start.
func checkUTF8(rs io.ReadSeeker) error {
	buf := make([]byte, sampleBytes)
	var carry int // bytes of a character cut at the end of the previous read
	line := 1
	for first := true; ; first = false {
		n, err := io.ReadFull(rs, buf[carry:])
		chunk := buf[:carry+n]
		end := len(chunk)
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			if err != nil {
				return fmt.Errorf("importer: read: %w", err)
			}
			// Keep a character cut by the end of the buffer for the next read.
			for i := 1; i <= min(utf8.UTFMax-1, end); i++ {
				if utf8.RuneStart(chunk[end-i]) {
					if !utf8.FullRune(chunk[end-i:]) {
						end -= i
					}
					break
				}
			}
		}
		if first && (bytes.HasPrefix(chunk, []byte{0xFF, 0xFE}) || bytes.HasPrefix(chunk, []byte{0xFE, 0xFF})) {
			return fmt.Errorf("ligne 1 : %w", ErrUTF16)
		}
		if !utf8.Valid(chunk[:end]) {
			return fmt.Errorf("ligne %d : %w", line+lineAt(chunk, invalidUTF8At(chunk))-1, ErrNotUTF8)
		}
		line += bytes.Count(chunk[:end], []byte{'\n'})
		if err != nil {
			break
		}
		carry = copy(buf, chunk[end:])
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("importer: rewind: %w", err)
	}
	return nil
}

// lineAt is the 1-based line of byte offset i.
func lineAt(b []byte, i int) int { return bytes.Count(b[:i], []byte{'\n'}) + 1 }

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// recordLimiter counts the bytes read since the current record began and refuses to read on past
// the bound.
type recordLimiter struct {
	r      io.Reader
	n, max int64
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, ErrTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// countingReader counts the bytes read, for the progress line (read from another goroutine).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
