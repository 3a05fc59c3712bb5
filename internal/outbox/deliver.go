package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"vigie/internal/keys"
)

// Backoff after a failed attempt: 1 minute, doubled at each failure, at most an hour.
const (
	BackoffBase = time.Minute
	BackoffMax  = time.Hour
)

// backoff is the wait after the attempts-th failed attempt.
func backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	if attempts > 7 { // the 7th is already capped; further shifts would only overflow
		return BackoffMax
	}
	return min(BackoffBase<<(attempts-1), BackoffMax)
}

// report counts what one round of delivery did.
type report struct {
	Sent      int // accepted by the server
	Retried   int // failed, to be tried again later
	Failed    int // abandoned
	Cancelled int // person erased, or prospection no longer accepted
}

// Deliver sends the messages that are due (send_after reached, not sent), longest due first, at
// most batch of them, and returns how many the server accepted. A message that fails is tried
// again later (see backoff), then abandoned; its error is recorded as a summary without personal
// data. Each message is claimed before it is sent (its send_after is pushed past a lease, on the
// condition that it is still due), so two processes delivering at once never send one twice.
// Delivery is at least once, not exactly once: a message the server accepted but that could not
// then be marked sent (database lost at that instant) is sent again when its lease ends. The
// error is one of the queue itself (the database), not of a message.
func (o *Outbox) Deliver(ctx context.Context, s Sender, from string, batch int) (sent int, err error) {
	r, err := o.deliver(ctx, s, from, batch)
	return r.Sent, err
}

// DefaultBatch is how many messages one round of Run sends at most.
const DefaultBatch = 50

func (o *Outbox) deliver(ctx context.Context, s Sender, from string, batch int) (report, error) {
	var r report
	if s == nil {
		return r, errors.New("outbox: no sender")
	}
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return r, fmt.Errorf("outbox: sender address %q: %w", from, err)
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	rows, err := o.db.QueryContext(ctx, `SELECT id FROM outbox WHERE status = $1 AND send_after <= $2
		ORDER BY send_after, id LIMIT $3`, StatusPending, o.now().UTC(), batch)
	if err != nil {
		return r, fmt.Errorf("outbox: list due messages: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return r, fmt.Errorf("outbox: list due messages: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("outbox: list due messages: %w", err)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		c, ok, err := o.claim(ctx, id)
		if err != nil {
			return r, err
		}
		if !ok {
			continue // another process took it
		}
		if err := o.deliverOne(ctx, s, sender, c, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// claimed is a message reserved for this process, still sealed.
type claimed struct {
	id, personID             int64
	kind                     string
	recipient, subject, body []byte
	attempts                 int
}

// open decrypts the recipient, subject and body.
func (c claimed) open(sk *keys.SubjectKey) (to, subject, body string, err error) {
	var plain [3][]byte
	for i, f := range []struct {
		place  string
		sealed []byte
	}{{placeRecipient, c.recipient}, {placeSubject, c.subject}, {placeBody, c.body}} {
		if plain[i], _, err = sk.Open(f.place, f.sealed); err != nil {
			return "", "", "", err
		}
	}
	return string(plain[0]), string(plain[1]), string(plain[2]), nil
}

// claim reserves a due message: one UPDATE, conditional on the message being still pending and
// due, pushes its send_after past the lease and counts the attempt. Whichever process's UPDATE
// comes second finds the condition false and gets no row. Counting the attempt here, not after
// the send, means a message that makes the process crash is still abandoned in the end.
func (o *Outbox) claim(ctx context.Context, id int64) (claimed, bool, error) {
	now := o.now().UTC()
	c := claimed{id: id}
	err := o.db.QueryRowContext(ctx, `UPDATE outbox SET send_after = $3, attempts = attempts + 1
		WHERE id = $1 AND status = $4 AND send_after <= $2
		RETURNING person_id, kind, recipient, subject, body, attempts`,
		id, now, now.Add(o.lease), StatusPending).Scan(&c.personID, &c.kind, &c.recipient, &c.subject, &c.body, &c.attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("outbox: claim message %d: %w", id, err)
	}
	return c, true, nil
}

// deliverOne opens, builds and sends one claimed message and records the outcome. Only a
// failure to record it is returned.
func (o *Outbox) deliverOne(ctx context.Context, s Sender, from *mail.Address, c claimed, r *report) error {
	// The outcome is recorded even if ctx ends during the send: a message the server accepted
	// must be marked sent, or it would be sent again once its lease ends.
	bookkeeping := context.WithoutCancel(ctx)
	sk, err := subjectKey(ctx, o.db, o.keys, c.personID)
	if errors.Is(err, ErrUnknownPerson) {
		r.Cancelled++
		return o.finish(bookkeeping, c.id, StatusCancelled, "cancelled: person erased")
	}
	if err != nil {
		return err
	}
	to, subject, body, err := c.open(sk)
	if err != nil {
		r.Failed++
		return o.finish(bookkeeping, c.id, StatusFailed, "undecryptable")
	}
	var headers []string
	if c.kind == KindProspection {
		if o.prospection == nil {
			r.Failed++
			return o.finish(bookkeeping, c.id, StatusFailed, "prospection not configured")
		}
		allowed, err := o.prospection.Allowed(ctx, c.personID)
		if err != nil {
			return o.retry(bookkeeping, c, "consent check failed", false, r)
		}
		if !allowed {
			r.Cancelled++
			return o.finish(bookkeeping, c.id, StatusCancelled, "cancelled: no consent")
		}
		link, err := o.prospection.WithdrawalLink(c.personID)
		if err != nil || link == "" || strings.ContainsAny(link, "\r\n <>") {
			return o.retry(bookkeeping, c, "withdrawal link unavailable", false, r)
		}
		body = strings.TrimRight(body, "\r\n") + "\n\n-- \n" + WithdrawalLine + link + "\n"
		headers = append(headers, "List-Unsubscribe: <"+link+">")
	}
	msg := build(from, to, subject, body, o.now(), messageID(from), headers)
	sctx, cancel := context.WithTimeout(ctx, o.lease/2)
	err = s.Send(sctx, from.Address, to, msg)
	cancel()
	if err != nil {
		return o.retry(bookkeeping, c, summarise(err), permanent(err), r)
	}
	r.Sent++
	_, err = o.db.ExecContext(bookkeeping, `UPDATE outbox SET status = $2, sent_at = $3, recipient = NULL, subject = NULL, body = NULL
		WHERE id = $1`, c.id, StatusSent, o.now().UTC())
	if err != nil {
		return fmt.Errorf("outbox: mark message %d sent: %w", c.id, err)
	}
	return nil
}

// WithdrawalLine begins the line the outbox adds to every prospection message, before the link.
const WithdrawalLine = "Pour ne plus recevoir nos offres par e-mail : "

// retry records a failed attempt: the message is tried again after the backoff, or abandoned
// (its content deleted) when the failure is permanent or the attempts are spent.
func (o *Outbox) retry(ctx context.Context, c claimed, summary string, permanent bool, r *report) error {
	if permanent || c.attempts >= o.maxAttempts {
		r.Failed++
		return o.finish(ctx, c.id, StatusFailed, summary)
	}
	r.Retried++
	_, err := o.db.ExecContext(ctx, `UPDATE outbox SET send_after = $2, last_error = $3 WHERE id = $1`,
		c.id, o.now().UTC().Add(backoff(c.attempts)), clip(summary))
	if err != nil {
		return fmt.Errorf("outbox: record failure of message %d: %w", c.id, err)
	}
	return nil
}

// finish ends a message that was not sent and deletes its content.
func (o *Outbox) finish(ctx context.Context, id int64, status, summary string) error {
	_, err := o.db.ExecContext(ctx, `UPDATE outbox SET status = $2, last_error = $3, recipient = NULL, subject = NULL, body = NULL
		WHERE id = $1`, id, status, clip(summary))
	if err != nil {
		return fmt.Errorf("outbox: end message %d: %w", id, err)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// summarise describes a send error without personal data: the stage and the reply code of the
// server, never its text, which often quotes the address ("550 5.1.1 <x@y.fr>: unknown user").
func summarise(err error) string {
	stage := "send"
	var se *SendError
	if errors.As(err, &se) {
		stage = se.Stage
	}
	var tp *textproto.Error
	var ne net.Error
	var pe *fs.PathError
	switch {
	case errors.As(err, &tp):
		s := stage + ": smtp " + strconv.Itoa(tp.Code)
		if code, _, ok := strings.Cut(tp.Msg, " "); ok && enhancedCode(code) {
			s += " " + code
		}
		return s
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return stage + ": timeout"
	case errors.Is(err, context.Canceled):
		return stage + ": interrupted"
	case errors.As(err, &pe):
		return stage + ": file " + pe.Op + " failed"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return stage + ": network " + op.Op + " failed"
	}
	return stage + ": failed"
}

// enhancedCode reports whether s is an RFC 3463 status code like 5.1.1.
func enhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil || len(p) == 0 || len(p) > 3 {
			return false
		}
	}
	return true
}

// permanent reports whether retrying cannot help: the server refused the recipient or the
// message for good (5xx at RCPT or DATA), or a Sender says so. A 5xx at connection or
// authentication is a configuration problem: the message is retried, to leave once it is fixed.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// build writes an RFC 5322 message: UTF-8 plain text in quoted-printable (7-bit, lines under 77
// characters), the subject in RFC 2047 Q encoding, CRLF line ends.
func build(from *mail.Address, to, subject, body string, date time.Time, id string, extra []string) []byte {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", date.Format(time.RFC1123Z))
	header("From", from.String())
	header("To", (&mail.Address{Address: to}).String())
	b.WriteString(fold("Subject", mime.QEncoding.Encode("utf-8", subject)) + "\r\n")
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n"))) // bytes.Buffer does not fail
	qp.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// fold writes a header field whose value is broken at its spaces (between encoded words, or
// between words of a plain subject) so that lines stay within 78 characters; unfolding gives the
// value back. A word that would not fit after the name starts on a line of its own.
func fold(name, value string) string {
	var b strings.Builder
	b.WriteString(name + ":")
	line := len(name) + 1
	for _, w := range strings.Split(value, " ") {
		if w != "" && line+1+len(w) > 78 {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteString(" " + w)
		line += 1 + len(w)
	}
	return b.String()
}

// messageID draws a unique Message-ID in the sender's domain.
func messageID(from *mail.Address) string {
	domain := "localhost"
	if _, d, ok := strings.Cut(from.Address, "@"); ok && d != "" {
		domain = d
	}
	var r [16]byte
	rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}

// Run delivers the queue until ctx ends: at every tick of every (default 30 s), and at once when
// Enqueue or Wake asks, rounds of DefaultBatch messages until none is due; once an hour, the
// retention sweep. It logs counts only, never an address or a subject.
func (o *Outbox) Run(ctx context.Context, s Sender, from string, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var purged time.Time
	for {
		for ctx.Err() == nil {
			r, err := o.deliver(ctx, s, from, DefaultBatch)
			if err != nil && ctx.Err() == nil {
				log.Error("outbox: delivery", "err", err)
			}
			if r != (report{}) {
				log.Info("outbox: delivered", "sent", r.Sent, "retried", r.Retried, "failed", r.Failed, "cancelled", r.Cancelled)
			}
			if err != nil || r.Sent+r.Retried+r.Failed+r.Cancelled < DefaultBatch {
				break
			}
		}
		if now := o.now(); ctx.Err() == nil && now.Sub(purged) >= time.Hour {
			if _, err := o.Purge(ctx, log); err != nil {
				log.Error("outbox: retention sweep", "err", err)
			} else {
				purged = now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// DefaultInterval is how often Run looks for due messages when nothing wakes it.
const DefaultInterval = 30 * time.Second
