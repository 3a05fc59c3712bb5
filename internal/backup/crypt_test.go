package backup

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"vigie/internal/keys"
)

// TestR41_ContainerDetectsEveryChangeOfItsChunks: a stream of several chunks reads back whole;
// dropping its final chunk (or more), swapping two chunks, or taking a chunk from another file is
// refused, never read as a shorter or different stream.
func TestR41_ContainerDetectsEveryChangeOfItsChunks(t *testing.T) {
	master := keys.NewMasterKey()
	kr, err := keys.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	find := func(check string) ([]byte, error) {
		if check != keys.MasterCheck(master) {
			return nil, errors.New("unknown key")
		}
		return master, nil
	}
	seal := func(plain []byte) []byte {
		var buf bytes.Buffer
		s, err := newSealer(&buf, kr, kindData, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(plain); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	open := func(data []byte) ([]byte, error) {
		o, err := newOpener(bytes.NewReader(data), kindData, find)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(o)
	}
	plain := make([]byte, 3*chunkSize+123)
	rand.Read(plain)
	data := seal(plain)
	got, err := open(data)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v", err)
	}
	// Where each chunk starts.
	headLen := len(containerMagic) + 2 + 8 + checkLen
	headLen += 2 + int(binary.BigEndian.Uint16(data[headLen:]))
	var starts []int
	for at := headLen; at < len(data); at += 5 + int(binary.BigEndian.Uint32(data[at+1:])) {
		starts = append(starts, at)
	}
	if len(starts) != 4 {
		t.Fatalf("%d chunks, want 4", len(starts))
	}
	chunk := func(i int) []byte {
		end := len(data)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		return data[starts[i]:end]
	}
	concat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	other := seal(plain)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"the final chunk dropped", data[:starts[3]], ErrTruncated},
		{"the last two chunks dropped", data[:starts[2]], ErrTruncated},
		{"only the header", data[:headLen], ErrTruncated},
		{"two chunks swapped", concat(data[:starts[1]], chunk(2), chunk(1), chunk(3)), ErrCorrupt},
		{"a chunk from another file", concat(data[:starts[1]], other[starts[1]:starts[2]], data[starts[2]:]), ErrCorrupt},
		{"the final flag set on a middle chunk", concat(data[:starts[1]], []byte{1}, data[starts[1]+1:starts[2]]), ErrCorrupt},
		{"the final flag cleared", concat(data[:starts[3]], []byte{0}, data[starts[3]+1:]), ErrCorrupt},
	}
	for _, tc := range cases {
		if _, err := open(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
