// Package audit is Vigie's tamper-evident audit trail (DESIGN §9, rules R16–R17): every write and
// every read of personal data, logins and administrative steps, appended to SHA-256 hash chains
// with Ed25519-signed checkpoints, verifiable offline. People appear only as a keyed pseudonym.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// The two chains. Writes, logins, rights requests and breaches go to "record", kept long; reads go
// to "access", purged after the access-log retention. Separate chains let each be purged from its
// start, keeping a signed checkpoint as the new anchor, without leaving holes in the other.
const (
	ChainRecord = "record"
	ChainAccess = "access"
)

// Chains lists both chains in verification order.
var Chains = []string{ChainRecord, ChainAccess}

// Actions recorded in the trail.
const (
	ActionRead        = "read"
	ActionCreate      = "create"
	ActionUpdate      = "update"
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
	ActionUserCreate  = "user_create"
	ActionToken       = "token_issue"
	ActionPurge       = "audit_purge"
	ActionExport      = "export"
	ActionSetting     = "setting_change"
)

// Event is one line of the trail. It never holds personal data: the person is Subject, a keyed
// pseudonym; Fields names fields, never values; Detail is for counts and codes.
type Event struct {
	Chain      string
	Seq        int64
	At         time.Time
	UserID     int64
	Department string
	Action     string
	Table      string
	RowID      int64
	Subject    []byte
	Fields     string
	Purpose    string
	Detail     string
	Hash       []byte
}

// zeroHash is the "previous hash" of a chain's first event.
var zeroHash = make([]byte, sha256.Size)

// chainHash is SHA-256(previous hash || canonical encoding of the event). The encoding is
// length-prefixed, so no two different events encode to the same bytes, and it includes the
// chain and the sequence number, so an event moved or renumbered no longer matches its hash.
func chainHash(prev []byte, e *Event, buf []byte) ([]byte, []byte) {
	buf = encode(buf[:0], e.Chain, e.Seq, e.At.UnixMicro(), e.UserID, e.Department, e.Action, e.Table, e.RowID,
		e.Subject, e.Fields, e.Purpose, e.Detail)
	return sum(prev, buf), buf
}

// encode appends the canonical encoding of an event's fields. It takes the text fields as strings
// (an Event) or as the raw bytes a database row was scanned into (verification, without copies).
func encode[T ~string | ~[]byte](b []byte, chain string, seq, atUS, userID int64, department, action, table T, rowID int64,
	subject []byte, fields, purpose, detail T) []byte {
	b = appendField(b, chain)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(atUS))
	b = binary.BigEndian.AppendUint64(b, uint64(userID))
	b = appendField(b, department)
	b = appendField(b, action)
	b = appendField(b, table)
	b = binary.BigEndian.AppendUint64(b, uint64(rowID))
	b = appendField(b, subject)
	b = appendField(b, fields)
	b = appendField(b, purpose)
	return appendField(b, detail)
}

func appendField[T ~string | ~[]byte](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func sum(prev, encoded []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(encoded)
	return h.Sum(nil)
}

// ChainHash is the hash an event must carry after an event of hash prev: what Verify recomputes,
// exposed for external verifiers and for the benchmark that compares Verify with raw SHA-256.
func ChainHash(prev []byte, e *Event) []byte {
	h, _ := chainHash(prev, e, nil)
	return h
}

type actorKey struct{}

// WithActor says, for the rest of a request, who acts: the signed-in staff member and their
// department. Services that record events about something other than a record (a staff account)
// read it back with ActorFrom.
func WithActor(ctx context.Context, userID int64, department string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor{userID, department})
}

type actor struct {
	userID     int64
	department string
}

// ActorFrom returns who acts in this request; Vigie itself (0, "system") when nobody signed in.
func ActorFrom(ctx context.Context) (int64, string) {
	if a, ok := ctx.Value(actorKey{}).(actor); ok {
		return a.userID, a.department
	}
	return 0, "system"
}

// More actions on staff accounts.
const (
	ActionAccountUnlock = "account_unlock"
	ActionForceChange   = "password_force_change"
	ActionPasswordSet   = "password_change"
	ActionTOTPReset     = "totp_reset"
	ActionTOTPEnrol     = "totp_enrol"
)
