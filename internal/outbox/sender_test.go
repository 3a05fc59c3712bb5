package outbox_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
)

const testMessage = "From: <no-reply@dev-immediat.test>\r\nTo: <aline.testeur@exemple.fr>\r\nSubject: test\r\n\r\nBonjour.\r\n"

// TestOutbox_SMTPSenderUsesSTARTTLSAndAuthentication: against a server that offers STARTTLS and
// requires AUTH, the sender encrypts first, then signs in; wrong credentials fail at "auth", which
// is not a permanent failure of the message (the configuration is wrong, not the message).
func TestOutbox_SMTPSenderUsesSTARTTLSAndAuthentication(t *testing.T) {
	cert, pool := smtptest.SelfSigned(t)
	srv := smtptest.Start(t, smtptest.WithTLS(cert), smtptest.WithCredentials("vigie", "s3cret-test"))
	cases := []struct {
		name      string
		password  string
		wantStage string
	}{
		{"right credentials", "s3cret-test", ""},
		{"wrong password", "wrong", "auth"},
	}
	for _, c := range cases {
		s := &outbox.SMTPSender{Addr: srv.Addr, Username: "vigie", Password: c.password, Timeout: 5 * time.Second,
			TLSConfig: &tls.Config{RootCAs: pool}}
		err := s.Send(context.Background(), "no-reply@dev-immediat.test", "aline.testeur@exemple.fr", []byte(testMessage))
		var se *outbox.SendError
		switch {
		case c.wantStage == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantStage != "" && (!errors.As(err, &se) || se.Stage != c.wantStage || se.Permanent()):
			t.Errorf("%s: %v, want a non-permanent failure at %s", c.name, err, c.wantStage)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "vigie" {
		t.Fatalf("received %d messages; want 1, over TLS, authenticated", len(msgs))
	}
	if !strings.HasSuffix(string(msgs[0].Data), "Bonjour.\r\n") {
		t.Error("the message arrived altered")
	}
}

// TestOutbox_SMTPSenderTimesOut: a server that accepts the connection and never answers does not
// hold the sender past its timeout.
func TestOutbox_SMTPSenderTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the listener closes
		}
	}()
	start := time.Now()
	err = (&outbox.SMTPSender{Addr: l.Addr().String(), Timeout: 300 * time.Millisecond}).
		Send(context.Background(), "no-reply@dev-immediat.test", "aline.testeur@exemple.fr", []byte(testMessage))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("got %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("the send took %v", elapsed)
	}
}

// TestOutbox_PermanentFailures: only a 5xx reply to RCPT or DATA condemns a message.
func TestOutbox_PermanentFailures(t *testing.T) {
	cases := []struct {
		stage string
		code  int
		want  bool
	}{
		{"rcpt", 550, true},
		{"data", 554, true},
		{"rcpt", 451, false},
		{"auth", 535, false},
		{"mail", 550, false},
		{"connect", 0, false},
	}
	for _, c := range cases {
		var err error = errors.New("connection refused")
		if c.code != 0 {
			err = &textproto.Error{Code: c.code, Msg: "5.1.1 refused"}
		}
		if got := (&outbox.SendError{Stage: c.stage, Err: err}).Permanent(); got != c.want {
			t.Errorf("%s %d: permanent %t, want %t", c.stage, c.code, got, c.want)
		}
	}
}
