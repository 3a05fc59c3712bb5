// Package antivirus scans uploaded documents with ClamAV's clamd (seed 001: "mettre en place un
// antivirus"; rule R42), over its INSTREAM protocol, when VIGIE_CLAMD_ADDR names a daemon.
package antivirus

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Clamd talks to a clamd daemon at a TCP address (host:port) or a Unix socket (unix:/path).
type Clamd struct {
	network, address string
	timeout          time.Duration
}

// New returns a client for the daemon at addr.
func New(addr string) (*Clamd, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return &Clamd{network: "unix", address: path, timeout: 30 * time.Second}, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("antivirus: clamd address %q: want host:port or unix:/path", addr)
	}
	return &Clamd{network: "tcp", address: addr, timeout: 30 * time.Second}, nil
}

// chunk is the size of the pieces streamed to clamd (its StreamMaxLength bounds the total).
const chunk = 64 << 10

// Scan streams data to clamd and returns the name of the signature it matched, or "" when the
// data is clean. An unreachable or failing daemon is an error: an upload is never accepted
// unscanned.
func (c *Clamd) Scan(ctx context.Context, data []byte) (string, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return "", fmt.Errorf("antivirus: connect to clamd: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	w := bufio.NewWriter(conn)
	w.WriteString("zINSTREAM\x00")
	for start := 0; start < len(data); start += chunk {
		part := data[start:min(len(data), start+chunk)]
		binary.Write(w, binary.BigEndian, uint32(len(part)))
		w.Write(part)
	}
	binary.Write(w, binary.BigEndian, uint32(0))
	if err := w.Flush(); err != nil {
		return "", fmt.Errorf("antivirus: send to clamd: %w", err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil && reply == "" {
		return "", fmt.Errorf("antivirus: read clamd's answer: %w", err)
	}
	return parseReply(strings.TrimRight(reply, "\x00\n"))
}

// parseReply reads "stream: OK", "stream: <signature> FOUND" or "... ERROR".
func parseReply(reply string) (string, error) {
	body, _ := strings.CutPrefix(reply, "stream: ")
	switch {
	case body == "OK":
		return "", nil
	case strings.HasSuffix(body, " FOUND"):
		return strings.TrimSuffix(body, " FOUND"), nil
	}
	return "", errors.New("antivirus: clamd answered with an error: " + body)
}
