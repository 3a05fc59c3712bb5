package outbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"time"
)

// Sender hands a built message to the mail system. from and to are bare addresses (the SMTP
// envelope); msg is the whole RFC 5322 message with CRLF line ends. An error that retrying cannot
// cure may implement Permanent() bool.
type Sender interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

var (
	_ Sender = (*SMTPSender)(nil)
	_ Sender = DirSender{}
)

// SendError is a failed send and the stage it failed at ("connect", "starttls", "auth", "mail",
// "rcpt", "data"…). Its text is the underlying error's, which may quote the recipient: log or
// store summarise(err), never err.Error().
type SendError struct {
	Stage string
	Err   error
}

func (e *SendError) Error() string { return "outbox: " + e.Stage + ": " + e.Err.Error() }

func (e *SendError) Unwrap() error { return e.Err }

// Permanent reports a refusal for good of this recipient or this message: a 5xx reply to RCPT or
// to the message itself. A 5xx at connection, TLS, authentication or MAIL concerns the
// configuration, not the message, and is retried.
func (e *SendError) Permanent() bool {
	var tp *textproto.Error
	return (e.Stage == "rcpt" || e.Stage == "data") && errors.As(e.Err, &tp) && tp.Code >= 500
}

// SMTPSender delivers through an SMTP server (a relay or a submission port): STARTTLS whenever
// the server offers it, AUTH PLAIN when a username is set (which net/smtp refuses to send
// unencrypted, except to a server on localhost), and one deadline for the whole exchange.
type SMTPSender struct {
	Addr     string // host:port
	Username string
	Password string
	// Timeout bounds one whole send, from connection to QUIT; 0 means DefaultSMTPTimeout.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS; nil means the system's roots, ServerName the host of Addr.
	TLSConfig *tls.Config
	// Hello is the name given in EHLO; empty means "localhost".
	Hello string
}

// DefaultSMTPTimeout bounds one send when SMTPSender.Timeout is zero.
const DefaultSMTPTimeout = 30 * time.Second

// Send sends one message in one SMTP session.
func (s *SMTPSender) Send(ctx context.Context, from, to string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return &SendError{"connect", err}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return &SendError{"connect", err}
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// net/smtp takes no context: ending ctx (shutdown) moves the deadline to now.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return &SendError{"connect", err}
	}
	defer c.Close()
	hello := s.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return &SendError{"ehlo", err}
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if s.TLSConfig != nil {
			cfg = s.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return &SendError{"starttls", err}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return &SendError{"auth", errors.New("the server offers no authentication")}
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return &SendError{"auth", err}
		}
	}
	if err := c.Mail(from); err != nil {
		return &SendError{"mail", err}
	}
	if err := c.Rcpt(to); err != nil {
		return &SendError{"rcpt", err}
	}
	w, err := c.Data()
	if err != nil {
		return &SendError{"data", err}
	}
	if _, err := w.Write(msg); err != nil {
		return &SendError{"data", err}
	}
	if err := w.Close(); err != nil {
		return &SendError{"data", err}
	}
	// The server has accepted the message; a failed QUIT changes nothing to that.
	c.Quit()
	return nil
}

// DirSender writes each message as an .eml file into Dir, for the demo and for developers
// without a mail server. The files hold personal data in clear: Dir is created private (0700),
// each file 0600, and it is for test data only.
type DirSender struct{ Dir string }

// Send writes the message under a unique name; a file appears whole (written, then renamed).
func (d DirSender) Send(_ context.Context, _, _ string, msg []byte) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return &SendError{"file", err}
	}
	var r [6]byte
	rand.Read(r[:])
	name := time.Now().UTC().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(r[:]) + ".eml"
	tmp, err := os.CreateTemp(d.Dir, ".outbox-*")
	if err != nil {
		return &SendError{"file", err}
	}
	_, werr := tmp.Write(msg)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(d.Dir, name))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return &SendError{"file", fmt.Errorf("write message: %w", werr)}
	}
	return nil
}
