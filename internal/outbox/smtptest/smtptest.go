// Package smtptest runs a real SMTP server (go-smtp) inside a test: it keeps what it receives and
// can be told to refuse, so that mail delivery is tested end to end.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is a real SMTP server (go-smtp) on 127.0.0.1, that keeps what it receives and can be
// told to refuse.
type Server struct {
	Addr string

	mu        sync.Mutex
	received  []Received
	dataCalls int
	// failData are the replies to the next DATA commands, consumed in order; nil accepts.
	failData []error
	// rcptErr, when set, refuses every RCPT.
	rcptErr error
	// user and pass, when set, are required (AUTH PLAIN) before MAIL.
	user, pass string
}

// Received is one message as the server got it.
type Received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// Option configures the server.
type Option func(*Server, *smtp.Server)

// WithTLS offers STARTTLS with the certificate, and AUTH only once the connection is encrypted.
func WithTLS(cert tls.Certificate) Option {
	return func(_ *Server, s *smtp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.AllowInsecureAuth = false
	}
}

// WithCredentials requires AUTH PLAIN with these credentials before MAIL.
func WithCredentials(user, pass string) Option {
	return func(m *Server, _ *smtp.Server) { m.user, m.pass = user, pass }
}

// Start listens on 127.0.0.1 and stops with the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	m := &Server{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: m, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(m, s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return m
}

// Messages returns what the server received so far.
func (m *Server) Messages() []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.received...)
}

// FailNext makes the next DATA commands fail with errs, in order (nil accepts).
func (m *Server) FailNext(errs ...error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failData = append(m.failData, errs...)
}

// RefuseRecipients makes every RCPT fail with err.
func (m *Server) RefuseRecipients(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rcptErr = err
}

// DataCount is how many DATA commands the server answered.
func (m *Server) DataCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dataCalls
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if s.srv.user == "" || username != s.srv.user || password != s.srv.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	err := s.srv.rcptErr
	s.srv.mu.Unlock()
	if err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.dataCalls++
	if len(s.srv.failData) > 0 {
		err := s.srv.failData[0]
		s.srv.failData = s.srv.failData[1:]
		if err != nil {
			return err
		}
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.srv.received = append(s.srv.received, Received{From: s.from, To: s.to, Data: data, TLS: tlsOn, User: s.user})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// TempFailure and UnknownUser are replies of a real server; the second quotes the address, as
// servers do, which the outbox must not store.
var (
	TempFailure = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}
	UnknownUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<aline.testeur@exemple.fr>: Recipient address rejected: User unknown"}
)

// SelfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigie test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// WaitFor waits up to timeout for a message to the address and returns its text.
func (m *Server) WaitFor(t testing.TB, to string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range m.Messages() {
			for _, rcpt := range r.To {
				if rcpt == to {
					return string(r.Data)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message arrived within %s", timeout)
	return ""
}
