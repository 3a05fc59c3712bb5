package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"vigie/internal/db"
	"vigie/internal/keys"
)

// Trail appends events. Writes append inside the transaction of the action they record, so there
// is no action without its event and no event without its action. Reads go through a group
// commit: concurrent readers' events are written together in one transaction, and each reader is
// answered only once its events are committed — an acknowledged read is never missing.
type Trail struct {
	db        *db.DB
	now       func() time.Time
	pseudonym func(personID int64) []byte
	signer    ed25519.PrivateKey

	queue chan *pending
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type pending struct {
	events []Event
	result chan error
}

// maxBatch bounds the events written by one group commit.
const maxBatch = 2000

// New starts a trail. pseudonym turns a person id into the keyed pseudonym stored in events;
// signer signs checkpoints and must be kept outside the database.
func New(d *db.DB, now func() time.Time, pseudonym func(int64) []byte, signer ed25519.PrivateKey) *Trail {
	t := &Trail{db: d, now: now, pseudonym: pseudonym, signer: signer, queue: make(chan *pending, 1024), done: make(chan struct{})}
	t.wg.Add(1)
	go t.groupCommit()
	return t
}

// Close stops the group commit once the queued events are written.
func (t *Trail) Close() {
	t.once.Do(func() { close(t.done) })
	t.wg.Wait()
}

// Subject is the pseudonym the trail stores for a person (empty for none).
func (t *Trail) Subject(personID int64) []byte {
	if personID == 0 {
		return nil
	}
	return t.pseudonym(personID)
}

// PublicKey is the key that verifies this trail's checkpoints.
func (t *Trail) PublicKey() ed25519.PublicKey { return t.signer.Public().(ed25519.PublicKey) }

// ErrClosed is returned for events offered after Close.
var ErrClosed = errors.New("audit: trail closed")

// Append writes events to the access chain through the group commit and returns once they are
// committed.
func (t *Trail) Append(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	p := &pending{events: events, result: make(chan error, 1)}
	select {
	case t.queue <- p:
	case <-t.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the events will be written: wait for the outcome even if the caller gives up,
	// so that "answered" always means "recorded".
	return <-p.result
}

func (t *Trail) groupCommit() {
	defer t.wg.Done()
	for {
		var first *pending
		select {
		case first = <-t.queue:
		case <-t.done:
			for {
				select {
				case p := <-t.queue:
					t.commit([]*pending{p})
				default:
					return
				}
			}
		}
		batch := []*pending{first}
		n := len(first.events)
	collect:
		for n < maxBatch {
			select {
			case p := <-t.queue:
				batch = append(batch, p)
				n += len(p.events)
			default:
				break collect
			}
		}
		t.commit(batch)
	}
}

func (t *Trail) commit(batch []*pending) {
	var events []Event
	for _, p := range batch {
		events = append(events, p.events...)
	}
	err := t.db.InTx(context.Background(), func(tx *sql.Tx) error {
		return t.appendTx(context.Background(), tx, ChainAccess, events)
	})
	for _, p := range batch {
		p.result <- err
	}
}

// AppendTx writes events to the record chain inside the caller's transaction.
func (t *Trail) AppendTx(ctx context.Context, tx *sql.Tx, events ...Event) error {
	return t.appendTx(ctx, tx, ChainRecord, events)
}

// Record writes events to the record chain in a transaction of their own, for steps that are not
// part of a database write (a login, an export).
func (t *Trail) Record(ctx context.Context, events ...Event) error {
	return t.db.InTx(ctx, func(tx *sql.Tx) error { return t.appendTx(ctx, tx, ChainRecord, events) })
}

// appendTx locks the chain's head, numbers and hashes the events after it, writes them and moves
// the head, all in tx.
func (t *Trail) appendTx(ctx context.Context, tx *sql.Tx, chain string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	lock := ""
	if t.db.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var seq int64
	var prev []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`+lock, chain).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit: read head of %s: %w", chain, err)
	}
	now := t.now().UTC().Truncate(time.Microsecond)
	var buf []byte
	const cols = 13
	for start := 0; start < len(events); start += 500 {
		chunk := events[start:min(len(events), start+500)]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO audit_events (chain, seq, at_us, user_id, department, action, table_name, row_id, subject, fields, purpose, detail, hash) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i := range chunk {
			e := &chunk[i]
			seq++
			e.Chain, e.Seq = chain, seq
			if e.At.IsZero() {
				e.At = now
			}
			e.At = e.At.UTC().Truncate(time.Microsecond)
			if e.Subject == nil {
				e.Subject = []byte{}
			}
			e.Hash, buf = chainHash(prev, e, buf)
			prev = e.Hash
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for j := range cols {
				if j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(placeholder(t.db.Dialect, len(args)+j+1))
			}
			sb.WriteByte(')')
			args = append(args, e.Chain, e.Seq, e.At.UnixMicro(), e.UserID, e.Department, e.Action, e.Table, e.RowID,
				e.Subject, e.Fields, e.Purpose, e.Detail, e.Hash)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("audit: append to %s: %w", chain, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_heads SET seq = $1, hash = $2 WHERE chain = $3`, seq, prev, chain); err != nil {
		return fmt.Errorf("audit: move head of %s: %w", chain, err)
	}
	return nil
}

// placeholder is "?" on SQLite, where numbered parameters are looked up by name (slow in large
// statements), and "$n" on PostgreSQL.
func placeholder(d db.Dialect, n int) string {
	if d == db.SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// LoadOrCreateSigningKey reads the Ed25519 key that signs checkpoints, or creates it (mode 0600).
// It must live apart from the database: whoever can rewrite the database must not be able to
// re-sign a rewritten chain.
func LoadOrCreateSigningKey(path string) (ed25519.PrivateKey, bool, error) {
	seed, created, err := keys.LoadOrCreateKeyFile(path, ed25519.SeedSize, "audit signing key")
	if err != nil {
		return nil, false, err
	}
	return ed25519.NewKeyFromSeed(seed), created, nil
}

// checkpointMessage is what a checkpoint signs.
func checkpointMessage(chain string, seq int64, hash []byte, atUS int64) []byte {
	var b bytes.Buffer
	b.WriteString("vigie audit checkpoint v1\x00")
	b.WriteString(chain)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteByte(0)
	b.Write(hash)
	b.WriteString(strconv.FormatInt(atUS, 10))
	return b.Bytes()
}
