package backup

// The encrypted container of a backup and of a key store export. Layout:
//
//	header: "VIGIEENC" | format (1) | kind (1) | created_at, Unix µs (8) | check (32) | len (2) | sealed data key
//	chunks: final flag (1) | length (4) | AES-256-GCM(plaintext ≤ 64 KiB)
//
// The data key is drawn for each file and sealed under a key derived from the master key version
// that check names (keys.SealBackupKey), bound to the header fields before the check (a changed
// check names another key, which does not open it). Each chunk's nonce is its
// number and its final flag, and its additional data the SHA-256 of the whole header: a chunk
// changed, moved, dropped or taken from another file does not open, and a file cut short lacks its
// final chunk. Nothing of the plaintext is trusted before its chunk has opened.

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"vigie/internal/keys"
)

const (
	containerMagic = "VIGIEENC"
	containerV1    = 1
	chunkSize      = 64 << 10
	checkLen       = 32
)

// Kinds of file.
const (
	kindData byte = 'D'
	kindKeys byte = 'K'
)

// ErrCorrupt refuses a file changed after it was written, or not written by Vigie.
var ErrCorrupt = errors.New("backup: the file is corrupt or was changed (authentication failed)")

// ErrTruncated refuses a file cut short.
var ErrTruncated = errors.New("backup: the file is truncated (its final block is missing)")

// KeyFinder returns the master key whose keys.MasterCheck is check.
type KeyFinder func(check string) ([]byte, error)

type sealer struct {
	w       *bufio.Writer
	aead    cipher.AEAD
	ad      []byte
	buf     []byte
	counter uint64
	err     error
}

// newSealer writes the header and returns the writer of the encrypted stream; Close writes the
// final chunk.
func newSealer(w io.Writer, kr *keys.Keyring, kind byte, createdAt time.Time) (*sealer, error) {
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	bound := headerPrefix(kind, createdAt, "")
	bound = bound[:len(bound)-checkLen]
	check, sealedKey := kr.SealBackupKey(bound, dataKey)
	head := headerPrefix(kind, createdAt, check)
	head = binary.BigEndian.AppendUint16(head, uint16(len(sealedKey)))
	head = append(head, sealedKey...)
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, chunkSize+64)
	if _, err := bw.Write(head); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	ad := sha256.Sum256(head)
	return &sealer{w: bw, aead: aead, ad: ad[:], buf: make([]byte, 0, chunkSize)}, nil
}

func headerPrefix(kind byte, createdAt time.Time, check string) []byte {
	h := append([]byte(containerMagic), containerV1, kind)
	h = binary.BigEndian.AppendUint64(h, uint64(createdAt.UnixMicro()))
	c := make([]byte, checkLen)
	copy(c, check)
	return append(h, c...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return cipher.NewGCM(block)
}

func nonce(counter uint64, final bool) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n, counter)
	if final {
		n[8] = 1
	}
	return n
}

func (s *sealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	for len(p) > 0 {
		take := min(len(p), chunkSize-len(s.buf))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == chunkSize && len(p) > 0 {
			if err := s.chunk(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *sealer) chunk(final bool) error {
	flag := byte(0)
	if final {
		flag = 1
	}
	out := s.aead.Seal(nil, nonce(s.counter, final), s.buf, s.ad)
	s.counter++
	s.buf = s.buf[:0]
	var head [5]byte
	head[0] = flag
	binary.BigEndian.PutUint32(head[1:], uint32(len(out)))
	if _, err := s.w.Write(head[:]); err != nil {
		s.err = fmt.Errorf("backup: write: %w", err)
		return s.err
	}
	if _, err := s.w.Write(out); err != nil {
		s.err = fmt.Errorf("backup: write: %w", err)
		return s.err
	}
	return nil
}

// Close writes the final chunk and flushes.
func (s *sealer) Close() error {
	if s.err != nil {
		return s.err
	}
	if err := s.chunk(true); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// opener reads an encrypted stream, one authenticated chunk at a time.
type opener struct {
	r         *bufio.Reader
	aead      cipher.AEAD
	ad        []byte
	counter   uint64
	plain     []byte
	final     bool
	err       error
	Kind      byte
	CreatedAt time.Time
}

// newOpener reads and checks the header of a file of the given kind, and opens its data key with
// the master key find returns for it.
func newOpener(r io.Reader, kind byte, find KeyFinder) (*opener, error) {
	br := bufio.NewReaderSize(r, chunkSize+64)
	prefix := make([]byte, len(containerMagic)+2+8+checkLen+2)
	if _, err := io.ReadFull(br, prefix); err != nil {
		return nil, fmt.Errorf("%w (header)", ErrTruncated)
	}
	if string(prefix[:len(containerMagic)]) != containerMagic || prefix[8] != containerV1 {
		return nil, errors.New("backup: not a Vigie backup file (or one from a later version)")
	}
	if prefix[9] != kind {
		if kind == kindData {
			return nil, errors.New("backup: this file is a key store export, not a data backup")
		}
		return nil, errors.New("backup: this file is a data backup, not a key store export")
	}
	headLen := len(prefix) - 2
	sealedLen := int(binary.BigEndian.Uint16(prefix[headLen:]))
	sealed := make([]byte, sealedLen)
	if _, err := io.ReadFull(br, sealed); err != nil {
		return nil, fmt.Errorf("%w (header)", ErrTruncated)
	}
	check := string(prefix[headLen-checkLen : headLen])
	master, err := find(check)
	if err != nil {
		return nil, err
	}
	dataKey, err := keys.OpenBackupKey(master, prefix[:headLen-checkLen], sealed)
	if err != nil {
		return nil, ErrCorrupt
	}
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	ad := sha256.Sum256(append(prefix, sealed...))
	created := time.UnixMicro(int64(binary.BigEndian.Uint64(prefix[10:18]))).UTC()
	return &opener{r: br, aead: aead, ad: ad[:], Kind: kind, CreatedAt: created}, nil
}

func (o *opener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.final {
			// Nothing may follow the final chunk.
			if _, err := o.r.ReadByte(); err != io.EOF {
				o.err = ErrCorrupt
				return 0, o.err
			}
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

func (o *opener) next() error {
	var head [5]byte
	if _, err := io.ReadFull(o.r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return fmt.Errorf("backup: read: %w", err)
	}
	final := head[0] == 1
	size := binary.BigEndian.Uint32(head[1:])
	if head[0] > 1 || size > chunkSize+uint32(o.aead.Overhead()) {
		return ErrCorrupt
	}
	sealed := make([]byte, size)
	if _, err := io.ReadFull(o.r, sealed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return fmt.Errorf("backup: read: %w", err)
	}
	plain, err := o.aead.Open(sealed[:0], nonce(o.counter, final), sealed, o.ad)
	if err != nil {
		return ErrCorrupt
	}
	o.counter++
	o.plain, o.final = plain, final
	return nil
}
