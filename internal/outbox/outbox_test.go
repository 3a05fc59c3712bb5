package outbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie/internal/app"
	"vigie/internal/app/apptest"
	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/outbox"
	"vigie/internal/outbox/smtptest"
	"vigie/internal/record"
)

var staff = record.Actor{Department: "prospection", Purposes: []string{"prospection"}}

func newPerson(t *testing.T, a *app.App, email string) int64 {
	t.Helper()
	f := map[string]json.RawMessage{"first_name": raw("Aline"), "last_name": raw("Testeur"), "email": raw(email)}
	p, err := a.Records.Create(context.Background(), staff, "persons", record.Input{Fields: f, Channel: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func raw(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// clock is the outbox's time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const from = "Dev'Immédiat <no-reply@dev-immediat.test>"

// row is a message as stored.
type row struct {
	Status                   string
	Attempts                 int
	SendAfter                time.Time
	SentAt                   sql.NullTime
	LastError                sql.NullString
	Recipient, Subject, Body []byte
}

func stored(t *testing.T, a *app.App, id int64) row {
	t.Helper()
	var r row
	err := a.DB.QueryRow(`SELECT status, attempts, send_after, sent_at, last_error, recipient, subject, body FROM outbox WHERE id = $1`, id).
		Scan(&r.Status, &r.Attempts, &r.SendAfter, &r.SentAt, &r.LastError, &r.Recipient, &r.Subject, &r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r row) contentDeleted() bool { return r.Recipient == nil && r.Subject == nil && r.Body == nil }

func count(t *testing.T, a *app.App) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func code(personID int64) outbox.Message {
	return outbox.Message{PersonID: personID, Kind: outbox.KindPortalCode, To: "aline.testeur@exemple.fr",
		Subject: "Votre code d'accès", Body: "Votre code à usage unique : 482913\n"}
}

func TestOutbox_KindsMatchTheDictionary(t *testing.T) {
	d, err := dictionary.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Table("outbox").Column("kind").Values; !slices.Equal(got, outbox.Kinds()) {
		t.Errorf("the dictionary allows %v, the code knows %v", got, outbox.Kinds())
	}
	want := []string{outbox.StatusPending, outbox.StatusSent, outbox.StatusFailed, outbox.StatusCancelled}
	if got := d.Table("outbox").Column("status").Values; !slices.Equal(got, want) {
		t.Errorf("the dictionary allows %v, the code knows %v", got, want)
	}
}

// TestOutbox_DeliversAWellFormedMessage: what the SMTP server receives is a proper RFC 5322
// message whose French subject and text decode to exactly what was queued; the queue sealed them
// while waiting and deleted them once sent.
func TestOutbox_DeliversAWellFormedMessage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		clk := newClock()
		box := outbox.New(a.DB, a.Keys, clk.Now)
		srv := smtptest.Start(t)
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		subject := "Votre code d'accès à l'espace confidentialité de Dev'Immédiat — valable 15 minutes"
		body := "Bonjour,\n\nVotre code à usage unique : 482913\n" +
			"Il expire dans 15 minutes. Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : aucune donnée n'a été modifiée.\n" +
			".\nDernière ligne, accentuée : éàçùœ €\n"
		id, err := box.Enqueue(ctx, outbox.Message{PersonID: person, Kind: outbox.KindPortalCode, To: "aline.testeur@exemple.fr", Subject: subject, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		waiting := stored(t, a, id)
		for i, clear := range []string{"482913", "aline.testeur", "accès"} {
			if bytes.Contains(waiting.Recipient, []byte(clear)) || bytes.Contains(waiting.Subject, []byte(clear)) || bytes.Contains(waiting.Body, []byte(clear)) {
				t.Errorf("a queued message holds value %d in clear", i)
			}
		}
		sent, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, from, 10)
		if err != nil || sent != 1 {
			t.Fatalf("deliver: sent %d, %v", sent, err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages, want 1", len(msgs))
		}
		got := msgs[0]
		if got.From != "no-reply@dev-immediat.test" || !slices.Equal(got.To, []string{"aline.testeur@exemple.fr"}) {
			t.Error("the envelope does not name the sender and the recipient")
		}
		for i, line := range strings.Split(string(got.Data), "\r\n") {
			if len(line) > 78 || strings.ContainsFunc(line, func(r rune) bool { return r > 126 }) {
				t.Errorf("line %d is longer than 78 characters or not 7-bit: %d bytes", i+1, len(line))
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(got.Data))
		if err != nil {
			t.Fatal(err)
		}
		h := m.Header
		if d, err := h.Date(); err != nil || !d.Equal(clk.Now()) {
			t.Errorf("Date: %q (%v)", h.Get("Date"), err)
		}
		if f, err := h.AddressList("From"); err != nil || len(f) != 1 || f[0].Name != "Dev'Immédiat" || f[0].Address != "no-reply@dev-immediat.test" {
			t.Errorf("From: %q (%v)", h.Get("From"), err)
		}
		if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "aline.testeur@exemple.fr" {
			t.Errorf("To does not name the recipient (%v)", err)
		}
		if s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || s != subject {
			t.Errorf("Subject decodes to another text (%v)", err)
		}
		if !regexp.MustCompile(`^<[0-9a-f]{32}@dev-immediat\.test>$`).MatchString(h.Get("Message-ID")) {
			t.Errorf("Message-ID %q", h.Get("Message-ID"))
		}
		for name, want := range map[string]string{"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable"} {
			if h.Get(name) != want {
				t.Errorf("%s: %q, want %q", name, h.Get(name), want)
			}
		}
		text, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil || string(text) != strings.ReplaceAll(body, "\n", "\r\n") {
			t.Errorf("the body does not decode to the text queued (%v)", err)
		}
		after := stored(t, a, id)
		if after.Status != outbox.StatusSent || !after.SentAt.Valid || !after.SentAt.Time.Equal(clk.Now()) || after.Attempts != 1 {
			t.Errorf("after sending: status %s, sent_at %v, attempts %d", after.Status, after.SentAt, after.Attempts)
		}
		if !after.contentDeleted() {
			t.Error("a sent message still holds its recipient, subject or body")
		}
		if again, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, from, 10); err != nil || again != 0 || len(srv.Messages()) != 1 {
			t.Errorf("a second delivery sent %d more (%v)", again, err)
		}
	})
}

// TestOutbox_RefusesInvalidMessages: each rule is named with its field, the error never quotes
// the value, and nothing is stored.
func TestOutbox_RefusesInvalidMessages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		box := outbox.New(a.DB, a.Keys, newClock().Now)
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		cases := []struct {
			name        string
			change      func(m *outbox.Message)
			field, rule string
		}{
			{"address without domain", func(m *outbox.Message) { m.To = "aline.testeur" }, "to", "format.email"},
			{"address with a display name", func(m *outbox.Message) { m.To = "Aline <aline.testeur@exemple.fr>" }, "to", "format.email"},
			{"two addresses", func(m *outbox.Message) { m.To = "aline.testeur@exemple.fr, bcc@exemple.fr" }, "to", "format.email"},
			{"header injected through the address", func(m *outbox.Message) { m.To = "aline.testeur@exemple.fr\r\nBcc: x@exemple.fr" }, "to", "format.email"},
			{"missing address", func(m *outbox.Message) { m.To = "" }, "to", "required"},
			{"CRLF in the subject", func(m *outbox.Message) { m.Subject = "Votre code\r\nBcc: espion@exemple.fr" }, "subject", "single_line"},
			{"LF in the subject", func(m *outbox.Message) { m.Subject = "Votre code\nsuite" }, "subject", "single_line"},
			{"control character in the subject", func(m *outbox.Message) { m.Subject = "Votre\x00code" }, "subject", "text"},
			{"empty subject", func(m *outbox.Message) { m.Subject = "  " }, "subject", "required"},
			{"subject too long", func(m *outbox.Message) { m.Subject = strings.Repeat("é", outbox.MaxSubject+1) }, "subject", "max_length"},
			{"unknown kind", func(m *outbox.Message) { m.Kind = "newsletter" }, "kind", "enum"},
			{"prospection without its withdrawal link", func(m *outbox.Message) { m.Kind = outbox.KindProspection }, "kind", "withdrawal_link"},
			{"empty body", func(m *outbox.Message) { m.Body = "\n \n" }, "body", "required"},
			{"invalid UTF-8 body", func(m *outbox.Message) { m.Body = "code \xff" }, "body", "text"},
			{"body too long", func(m *outbox.Message) { m.Body = strings.Repeat("a", outbox.MaxBody+1) }, "body", "max_length"},
			{"no person", func(m *outbox.Message) { m.PersonID = 0 }, "person_id", "required"},
		}
		for _, c := range cases {
			m := code(person)
			c.change(&m)
			_, err := box.Enqueue(ctx, m)
			var ie *outbox.InputError
			if !errors.As(err, &ie) || ie.Field != c.field || ie.Rule != c.rule {
				t.Errorf("%s: got %v, want an error on %s (%s)", c.name, err, c.field, c.rule)
				continue
			}
			if strings.Contains(err.Error(), "aline") || strings.Contains(err.Error(), "espion") {
				t.Errorf("%s: the error quotes the value", c.name)
			}
		}
		if _, err := box.Enqueue(ctx, code(person+1000)); !errors.Is(err, outbox.ErrUnknownPerson) {
			t.Errorf("message for an unknown person: %v", err)
		}
		if n := count(t, a); n != 0 {
			t.Errorf("%d refused messages were stored", n)
		}
	})
}

// TestOutbox_MessageExistsOnlyIfItsActionCommits: queued inside a transaction that rolls back,
// the message is gone with it; committed, it is there.
func TestOutbox_MessageExistsOnlyIfItsActionCommits(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		box := outbox.New(a.DB, a.Keys, newClock().Now)
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		failed := errors.New("the action failed after queuing its message")
		err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := box.EnqueueTx(ctx, tx, code(person)); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) || count(t, a) != 0 {
			t.Fatalf("rolled back: %v, %d messages stored", err, count(t, a))
		}
		if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { _, err := box.EnqueueTx(ctx, tx, code(person)); return err }); err != nil {
			t.Fatal(err)
		}
		if count(t, a) != 1 {
			t.Fatalf("committed: %d messages stored, want 1", count(t, a))
		}
	})
}

// gate is a Sender that stops in the middle of its first send until released.
type gate struct {
	next     outbox.Sender
	sending  chan struct{}
	release  chan struct{}
	onceSend sync.Once
}

func (g *gate) Send(ctx context.Context, from, to string, msg []byte) error {
	g.onceSend.Do(func() { close(g.sending); <-g.release })
	return g.next.Send(ctx, from, to, msg)
}

// TestOutbox_ConcurrentDeliveriesSendEachMessageOnce: a message being sent by one process is
// not taken by another; and several processes emptying the queue at once send every message
// exactly once.
func TestOutbox_ConcurrentDeliveriesSendEachMessageOnce(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		clk := newClock()
		srv := smtptest.Start(t)
		smtpSender := &outbox.SMTPSender{Addr: srv.Addr}
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		first, second := outbox.New(a.DB, a.Keys, clk.Now), outbox.New(a.DB, a.Keys, clk.Now)
		if _, err := first.Enqueue(ctx, code(person)); err != nil {
			t.Fatal(err)
		}
		g := &gate{next: smtpSender, sending: make(chan struct{}), release: make(chan struct{})}
		done := make(chan int)
		go func() {
			n, err := first.Deliver(ctx, g, from, 10)
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
		<-g.sending
		if n, err := second.Deliver(ctx, smtpSender, from, 10); err != nil || n != 0 {
			t.Errorf("a second process sent %d messages while the first was sending (%v)", n, err)
		}
		close(g.release)
		if n := <-done; n != 1 || len(srv.Messages()) != 1 {
			t.Fatalf("the first process sent %d, the server received %d, want 1 and 1", n, len(srv.Messages()))
		}

		const messages, workers = 12, 4
		for i := range messages {
			m := code(person)
			m.Subject = "Message " + strconv.Itoa(i)
			if _, err := first.Enqueue(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		start := make(chan struct{})
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				box := outbox.New(a.DB, a.Keys, clk.Now)
				<-start
				n, err := box.Deliver(ctx, smtpSender, from, messages)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		subjects := map[string]int{}
		for _, r := range srv.Messages()[1:] {
			m, err := mail.ReadMessage(bytes.NewReader(r.Data))
			if err != nil {
				t.Fatal(err)
			}
			subjects[m.Header.Get("Subject")]++
		}
		if total != messages || len(subjects) != messages {
			t.Errorf("%d workers reported %d sent, the server received %d distinct messages, want %d", workers, total, len(subjects), messages)
		}
		for s, n := range subjects {
			if n != 1 {
				t.Errorf("%q received %d times", s, n)
			}
		}
	})
}

// TestOutbox_RetriesWithBackoffThenSucceeds: a temporary refusal is retried after 1 minute, then
// 2, and the message leaves once the server accepts it; the error kept names the stage and the
// codes, not the server's text.
func TestOutbox_RetriesWithBackoffThenSucceeds(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		clk := newClock()
		t0 := clk.Now()
		box := outbox.New(a.DB, a.Keys, clk.Now)
		srv := smtptest.Start(t)
		s := &outbox.SMTPSender{Addr: srv.Addr}
		srv.FailNext(smtptest.TempFailure, smtptest.TempFailure)
		id, err := box.Enqueue(ctx, code(newPerson(t, a, "aline.testeur@exemple.fr")))
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			advance       time.Duration
			wantSent      int
			wantTries     int
			wantAttempts  int
			wantSendAfter time.Time
			wantStatus    string
		}{
			{0, 0, 1, 1, t0.Add(time.Minute), outbox.StatusPending},
			{30 * time.Second, 0, 1, 1, t0.Add(time.Minute), outbox.StatusPending}, // not due yet: the server is not called
			{30 * time.Second, 0, 2, 2, t0.Add(3 * time.Minute), outbox.StatusPending},
			{time.Minute, 0, 2, 2, t0.Add(3 * time.Minute), outbox.StatusPending},
			{time.Minute, 1, 3, 3, time.Time{}, outbox.StatusSent},
		}
		for i, st := range steps {
			clk.Advance(st.advance)
			sent, err := box.Deliver(ctx, s, from, 10)
			if err != nil {
				t.Fatal(err)
			}
			r := stored(t, a, id)
			if sent != st.wantSent || srv.DataCount() != st.wantTries || r.Attempts != st.wantAttempts || r.Status != st.wantStatus {
				t.Fatalf("step %d: sent %d, server tried %d, attempts %d, status %s; want %d, %d, %d, %s",
					i, sent, srv.DataCount(), r.Attempts, r.Status, st.wantSent, st.wantTries, st.wantAttempts, st.wantStatus)
			}
			if !st.wantSendAfter.IsZero() && !r.SendAfter.Equal(st.wantSendAfter) {
				t.Errorf("step %d: send_after %v, want %v", i, r.SendAfter.UTC(), st.wantSendAfter)
			}
			if r.Status == outbox.StatusPending && r.LastError.String != "data: smtp 451 4.3.0" {
				t.Errorf("step %d: last_error %q, want the stage and codes only", i, r.LastError.String)
			}
		}
		if len(srv.Messages()) != 1 || !stored(t, a, id).contentDeleted() {
			t.Error("the message was not received once, or its content remains")
		}
	})
}

// TestOutbox_GivesUp: a permanent refusal of the recipient ends the message at once; temporary
// failures end it once the attempts are spent. Either way its content is deleted and the error
// kept does not quote the address the server's reply contained.
func TestOutbox_GivesUp(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		cases := []struct {
			name         string
			setup        func(*smtptest.Server)
			wantAttempts int
			wantError    string
		}{
			{"recipient refused for good", func(m *smtptest.Server) { m.RefuseRecipients(smtptest.UnknownUser) }, 1, "rcpt: smtp 550 5.1.1"},
			{"temporary failures until the last attempt", func(m *smtptest.Server) {
				m.FailNext(smtptest.TempFailure, smtptest.TempFailure, smtptest.TempFailure, smtptest.TempFailure)
			}, 3, "data: smtp 451 4.3.0"},
		}
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		for _, c := range cases {
			clk := newClock()
			box := outbox.New(a.DB, a.Keys, clk.Now, outbox.WithMaxAttempts(3))
			srv := smtptest.Start(t)
			c.setup(srv)
			id, err := box.Enqueue(ctx, code(person))
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if _, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, from, 10); err != nil {
					t.Fatal(err)
				}
				clk.Advance(outbox.BackoffMax)
			}
			r := stored(t, a, id)
			if r.Status != outbox.StatusFailed || r.Attempts != c.wantAttempts || r.LastError.String != c.wantError || !r.contentDeleted() {
				t.Errorf("%s: status %s, attempts %d, last_error %q, content deleted %t; want failed, %d, %q, true",
					c.name, r.Status, r.Attempts, r.LastError.String, r.contentDeleted(), c.wantAttempts, c.wantError)
			}
			if len(srv.Messages()) != 0 {
				t.Errorf("%s: the server accepted a message", c.name)
			}
		}
	})
}

// TestOutbox_ErasedPersonsMailIsNeverSent: destroying the person's key leaves a queued message
// unreadable, and delivery cancels it; CancelPersonTx cancels a person's pending messages.
func TestOutbox_ErasedPersonsMailIsNeverSent(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		box := outbox.New(a.DB, a.Keys, newClock().Now)
		srv := smtptest.Start(t)
		erased, other := newPerson(t, a, "aline.testeur@exemple.fr"), newPerson(t, a, "bruno.testeur@exemple.fr")
		id, err := box.Enqueue(ctx, code(erased))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.DB.Exec(`DELETE FROM subject_keys WHERE person_id = $1`, erased); err != nil {
			t.Fatal(err)
		}
		otherID, err := box.Enqueue(ctx, code(other))
		if err != nil {
			t.Fatal(err)
		}
		var cancelled int64
		if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { cancelled, err = box.CancelPersonTx(ctx, tx, other); return err }); err != nil || cancelled != 1 {
			t.Fatalf("cancel: %d, %v", cancelled, err)
		}
		if sent, err := box.Deliver(ctx, &outbox.SMTPSender{Addr: srv.Addr}, from, 10); err != nil || sent != 0 || len(srv.Messages()) != 0 {
			t.Fatalf("sent %d (%v)", sent, err)
		}
		for _, id := range []int64{id, otherID} {
			if r := stored(t, a, id); r.Status != outbox.StatusCancelled || !r.contentDeleted() {
				t.Errorf("message %d: status %s, content deleted %t", id, r.Status, r.contentDeleted())
			}
		}
		if _, err := box.Enqueue(ctx, code(erased)); !errors.Is(err, outbox.ErrUnknownPerson) {
			t.Errorf("a message for an erased person was queued: %v", err)
		}
	})
}

// consentProspection is how the application would wire the consent service into the outbox.
type consentProspection struct{ c *consent.Service }

func (p consentProspection) WithdrawalLink(personID int64) (string, error) {
	return "https://vigie.test/retrait/" + strconv.FormatInt(personID, 10) + "/prospection_email/" + p.c.WithdrawalToken(personID, "prospection_email"), nil
}

func (p consentProspection) Allowed(ctx context.Context, personID int64) (bool, error) {
	return p.c.Granted(ctx, personID, "prospection_email")
}

// TestOutbox_ProspectionCarriesTheWithdrawalLink: every prospection message leaves with the
// signed withdrawal link (in its text and its List-Unsubscribe header), and one queued before the
// person withdrew is not sent.
func TestOutbox_ProspectionCarriesTheWithdrawalLink(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		box := outbox.New(a.DB, a.Keys, newClock().Now, outbox.WithProspection(consentProspection{a.Consent}))
		srv := smtptest.Start(t)
		s := &outbox.SMTPSender{Addr: srv.Addr}
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		choose := func(granted bool, method string) {
			t.Helper()
			if err := a.Consent.Record(ctx, person, []consent.Choice{{Purpose: "prospection_email", Granted: granted}},
				consent.Proof{Channel: "email", Method: method}); err != nil {
				t.Fatal(err)
			}
		}
		offer := outbox.Message{PersonID: person, Kind: outbox.KindProspection, To: "aline.testeur@exemple.fr",
			Subject: "Votre assurance auto à prix réduit", Body: "Bonjour,\nDécouvrez notre offre d'hiver.\n"}

		choose(true, consent.MethodCheckbox)
		if _, err := box.Enqueue(ctx, offer); err != nil {
			t.Fatal(err)
		}
		if sent, err := box.Deliver(ctx, s, from, 10); err != nil || sent != 1 {
			t.Fatalf("sent %d (%v)", sent, err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(srv.Messages()[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		_, after, ok := strings.Cut(string(text), outbox.WithdrawalLine)
		link, _, _ := strings.Cut(after, "\r\n")
		parts := strings.Split(link, "/")
		if !ok || len(parts) < 3 || !a.Consent.CheckWithdrawalToken(person, "prospection_email", parts[len(parts)-1]) {
			t.Fatalf("the message has no valid signed withdrawal link")
		}
		if m.Header.Get("List-Unsubscribe") != "<"+link+">" {
			t.Error("the List-Unsubscribe header does not carry the link")
		}

		id, err := box.Enqueue(ctx, offer)
		if err != nil {
			t.Fatal(err)
		}
		choose(false, consent.MethodWithdrawalLink)
		if sent, err := box.Deliver(ctx, s, from, 10); err != nil || sent != 0 || len(srv.Messages()) != 1 {
			t.Fatalf("after the withdrawal: sent %d (%v)", sent, err)
		}
		if r := stored(t, a, id); r.Status != outbox.StatusCancelled || !r.contentDeleted() {
			t.Errorf("message queued before the withdrawal: status %s, content deleted %t", r.Status, r.contentDeleted())
		}
	})
}

// TestOutbox_DirSenderWritesPrivateEmlFiles: without a mail server, each message becomes an .eml
// file, readable by its owner only.
func TestOutbox_DirSenderWritesPrivateEmlFiles(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "mail")
		box := outbox.New(a.DB, a.Keys, newClock().Now)
		if _, err := box.Enqueue(ctx, code(newPerson(t, a, "aline.testeur@exemple.fr"))); err != nil {
			t.Fatal(err)
		}
		if sent, err := box.Deliver(ctx, outbox.DirSender{Dir: dir}, from, 10); err != nil || sent != 1 {
			t.Fatalf("sent %d (%v)", sent, err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) != 1 {
			t.Fatalf("%d .eml files, want 1", len(files))
		}
		info, err := os.Stat(files[0])
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v (%v), want 0600", info.Mode().Perm(), err)
		}
		if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %v, want 0700", info.Mode().Perm())
		}
		data, _ := os.ReadFile(files[0])
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil || m.Header.Get("To") != "<aline.testeur@exemple.fr>" {
			t.Errorf("the file is not the message (%v)", err)
		}
	})
}

// TestOutbox_PurgeKeepsTracesThirtyDays: the trace of a finished message goes after 30 days; a
// pending one stays.
func TestOutbox_PurgeKeepsTracesThirtyDays(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx := context.Background()
		clk := newClock()
		box := outbox.New(a.DB, a.Keys, clk.Now)
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		if _, err := box.Enqueue(ctx, code(person)); err != nil {
			t.Fatal(err)
		}
		if _, err := box.Deliver(ctx, outbox.DirSender{Dir: t.TempDir()}, from, 10); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		pending, err := box.Enqueue(ctx, code(person))
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			advance     time.Duration
			wantDeleted int64
			wantLeft    int
		}{
			{29 * 24 * time.Hour, 0, 2},
			{24 * time.Hour, 1, 1},
			{365 * 24 * time.Hour, 0, 1},
		}
		for i, st := range steps {
			clk.Advance(st.advance)
			n, err := box.Purge(ctx, nil)
			if err != nil || n != st.wantDeleted || count(t, a) != st.wantLeft {
				t.Errorf("step %d: deleted %d, left %d (%v); want %d, %d", i, n, count(t, a), err, st.wantDeleted, st.wantLeft)
			}
		}
		if stored(t, a, pending).Status != outbox.StatusPending {
			t.Error("the pending message was purged")
		}
	})
}

// TestOutbox_RunDeliversAsSoonAsWoken: Run, started with a long interval, sends a message queued
// with Enqueue at once, and stops with its context.
func TestOutbox_RunDeliversAsSoonAsWoken(t *testing.T) {
	apptest.Each(t, func(t *testing.T, a *app.App) {
		ctx, cancel := context.WithCancel(context.Background())
		box := outbox.New(a.DB, a.Keys, time.Now)
		srv := smtptest.Start(t)
		person := newPerson(t, a, "aline.testeur@exemple.fr")
		stopped := make(chan struct{})
		go func() { box.Run(ctx, &outbox.SMTPSender{Addr: srv.Addr}, from, time.Hour, nil); close(stopped) }()
		if _, err := box.Enqueue(ctx, code(person)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(srv.Messages()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-stopped
		if len(srv.Messages()) != 1 {
			t.Fatalf("Run sent %d messages, want 1", len(srv.Messages()))
		}
	})
}

// TestOutbox_MailSenderFollowsTheConfig: an SMTP server when one is named, else a directory, else
// none; a From that is not an address is refused at start.
func TestOutbox_MailSenderFollowsTheConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  app.Config
		want string
	}{
		{"smtp server", app.Config{SMTPAddr: "smtp.exemple.fr:587", MailDir: "mail"}, "*outbox.SMTPSender"},
		{"directory", app.Config{MailDir: "mail"}, "outbox.DirSender"},
		{"nothing", app.Config{}, "<nil>"},
	}
	for _, c := range cases {
		got := "<nil>"
		switch (&app.App{Config: c.cfg}).MailSender().(type) {
		case *outbox.SMTPSender:
			got = "*outbox.SMTPSender"
		case outbox.DirSender:
			got = "outbox.DirSender"
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	_, err := app.Open(context.Background(), app.Config{DatabaseURL: filepath.Join(t.TempDir(), "v.db"), SMTPFrom: "Vigie no-reply"}, nil)
	if err == nil || !strings.Contains(err.Error(), "VIGIE_SMTP_FROM") {
		t.Errorf("an invalid From was accepted: %v", err)
	}
}
