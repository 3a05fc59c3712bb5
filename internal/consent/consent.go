// Package consent keeps what people chose for the purposes that need their consent (R18–R20):
// an append-only history per person and purpose with the exact notice they were shown, the
// withdrawal that is as easy as the grant, objections (R28) and the hashed suppression list that
// outlives them, and the check every processing that needs a consent makes when it runs.
package consent

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Purpose is an optional purpose a person may accept or refuse.
type Purpose struct {
	Code string
	// Register is the purpose of the register of processing it belongs to.
	Register string
	// Marketing purposes are refused when the browser sends Global Privacy Control.
	Marketing bool
	Label     string
	// Detail says, on the form, what accepting means and what it does not.
	Detail string
}

// Purposes are the optional purposes, in the order the form shows them. Their codes are the
// values the dictionary allows for consents.purpose (a test keeps the two equal).
var Purposes = []Purpose{
	{Code: "prospection_email", Register: "prospection", Marketing: true,
		Label:  "Recevoir par e-mail les offres de Dev'Immédiat",
		Detail: "Au plus deux messages par mois ; chaque message contient un lien de désinscription."},
	{Code: "prospection_phone", Register: "prospection", Marketing: true,
		Label:  "Être appelé(e) pour des offres commerciales",
		Detail: "Sans ce choix, nous ne vous appellerons que pour traiter votre demande de devis."},
	{Code: "performance", Register: "performance",
		Label:  "Contribuer, de façon anonymisée, aux statistiques de performance commerciale",
		Detail: "Vos données ne sont utilisées qu'après anonymisation (aucun nom, aucun prix détaillé)."},
}

// PurposeByCode returns an optional purpose, or nil.
func PurposeByCode(code string) *Purpose {
	for i := range Purposes {
		if Purposes[i].Code == code {
			return &Purposes[i]
		}
	}
	return nil
}

// Methods say how a choice was expressed.
const (
	MethodCheckbox       = "checkbox"        // ticked or left unticked on a form
	MethodGPC            = "gpc"             // the browser's Global Privacy Control signal
	MethodStaff          = "staff_recorded"  // told to a staff member (phone, agency), who records it
	MethodWithdrawalLink = "withdrawal_link" // the signed link of a message
	MethodPortal         = "portal"          // the person's privacy portal
	MethodObjection      = "objection"       // refusal that follows an objection (art. 21)
	MethodSuppression    = "suppression_list"
)

// Choice is one decision for one purpose.
type Choice struct {
	Purpose string
	Granted bool
}

// Proof is how a set of choices was obtained (art. 7(1): the controller must be able to show it).
type Proof struct {
	GivenAt  time.Time // when the person decided; zero means now
	Channel  string
	Method   string
	NoticeID int64 // the notice shown, when there was one
	// RecordedBy is the staff member who recorded it; 0 when the person acted themselves.
	RecordedBy int64
	Department string
}

// Entry is one line of a person's consent history.
type Entry struct {
	ID         int64
	Purpose    string
	Granted    bool
	GivenAt    time.Time
	Channel    string
	Method     string
	NoticeHash string
	RecordedBy int64
	RecordedAt time.Time
}

// Auditor is the part of the audit trail this package writes to.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Append(ctx context.Context, events ...audit.Event) error
	Subject(personID int64) []byte
}

// Service records and checks consents.
type Service struct {
	db    *db.DB
	keys  *keys.Keyring
	audit Auditor
	now   func() time.Time
}

// New builds the service.
func New(d *db.DB, kr *keys.Keyring, a Auditor, now func() time.Time) *Service {
	return &Service{db: d, keys: kr, audit: a, now: now}
}

// ErrUnknownPerson is a consent for a person Vigie does not hold (or no longer holds).
var ErrUnknownPerson = errors.New("consent: unknown person")

// InputError is a refused request; Field and Rule name what to fix.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "consent: " + e.Field + ": " + e.Message }

func (p Proof) check() error {
	if !slices.Contains(channels, p.Channel) {
		return &InputError{"channel", "enum", "canal inconnu ; valeurs admises : " + strings.Join(channels, ", ")}
	}
	if !slices.Contains(methods, p.Method) {
		return &InputError{"method", "enum", "mode de recueil inconnu ; valeurs admises : " + strings.Join(methods, ", ")}
	}
	return nil
}

var (
	channels = []string{"web_form", "phone", "email", "letter", "agency", "portal", "api", "import", "demo"}
	methods  = []string{MethodCheckbox, MethodGPC, MethodStaff, MethodWithdrawalLink, MethodPortal, MethodObjection, MethodSuppression, "demo"}
)

// Record appends the choices to the person's history in one transaction.
func (s *Service) Record(ctx context.Context, personID int64, choices []Choice, p Proof) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.RecordTx(ctx, tx, personID, choices, p) })
}

// RecordTx appends the choices inside the caller's transaction (the quote form writes the person,
// the quote and the consents together: all or nothing).
func (s *Service) RecordTx(ctx context.Context, tx *sql.Tx, personID int64, choices []Choice, p Proof) error {
	if err := p.check(); err != nil {
		return err
	}
	now := s.now().UTC()
	if p.GivenAt.IsZero() {
		p.GivenAt = now
	}
	if p.GivenAt.After(now.Add(time.Minute)) {
		return &InputError{"given_at", "not_future", "la date du choix ne peut pas être dans le futur"}
	}
	for _, c := range choices {
		if PurposeByCode(c.Purpose) == nil {
			return &InputError{"purpose", "enum", "finalité inconnue ; valeurs admises : " + strings.Join(codes(), ", ")}
		}
	}
	if err := s.personExists(ctx, tx, personID); err != nil {
		return err
	}
	for _, c := range choices {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO consents (person_id, purpose, granted, given_at, channel, method, notice_id, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			personID, c.Purpose, c.Granted, p.GivenAt.UTC(), p.Channel, p.Method, nullID(p.NoticeID), nullID(p.RecordedBy), now).Scan(&id)
		if err != nil {
			return fmt.Errorf("consent: record: %w", err)
		}
		detail := "refused"
		if c.Granted {
			detail = "granted"
		}
		if err := s.audit.AppendTx(ctx, tx, audit.Event{UserID: p.RecordedBy, Department: p.Department, Action: audit.ActionCreate,
			Table: "consents", RowID: id, Subject: s.audit.Subject(personID), Fields: "purpose,granted",
			Purpose: PurposeByCode(c.Purpose).Register, Detail: c.Purpose + ":" + detail + ":" + p.Method}); err != nil {
			return err
		}
	}
	return nil
}

func codes() []string {
	out := make([]string, len(Purposes))
	for i, p := range Purposes {
		out[i] = p.Code
	}
	return out
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (s *Service) personExists(ctx context.Context, tx *sql.Tx, personID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM persons WHERE id = $1 AND erased_at IS NULL`, personID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownPerson
	}
	if err != nil {
		return fmt.Errorf("consent: find person: %w", err)
	}
	return nil
}

// History returns every choice the person made, oldest first. Reading it is a read of the
// person's data and is audited as one.
func (s *Service) History(ctx context.Context, personID int64, userID int64, department string) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.purpose, c.granted, c.given_at, c.channel, c.method, COALESCE(n.hash, ''),
		COALESCE(c.recorded_by, 0), c.recorded_at
		FROM consents c LEFT JOIN notices n ON n.id = c.notice_id WHERE c.person_id = $1 ORDER BY c.id`, personID)
	if err != nil {
		return nil, fmt.Errorf("consent: history: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.Purpose, &e.Granted, &e.GivenAt, &e.Channel, &e.Method, &e.NoticeHash, &e.RecordedBy, &e.RecordedAt); err != nil {
			return nil, fmt.Errorf("consent: history: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent: history: %w", err)
	}
	if len(out) > 0 {
		if err := s.audit.Append(ctx, audit.Event{UserID: userID, Department: department, Action: audit.ActionRead, Table: "consents",
			RowID: personID, Subject: s.audit.Subject(personID), Fields: "purpose,granted,given_at", Purpose: "compliance"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Current reduces a history to the latest choice per purpose.
func Current(history []Entry) map[string]Entry {
	out := map[string]Entry{}
	for _, e := range history {
		out[e.Purpose] = e
	}
	return out
}

// Granted is the check a processing that needs consent makes when it runs (R20): the person's
// latest choice for the purpose is a grant, and they have not objected to it or restricted
// processing since. No history means no consent.
func (s *Service) Granted(ctx context.Context, personID int64, purpose string) (bool, error) {
	p := PurposeByCode(purpose)
	if p == nil {
		return false, &InputError{"purpose", "enum", "finalité inconnue ; valeurs admises : " + strings.Join(codes(), ", ")}
	}
	var granted, objected, restricted bool
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT c.granted FROM consents c WHERE c.person_id = p.id AND c.purpose = $2
			ORDER BY c.id DESC LIMIT 1), FALSE), p.objected_prospection, p.restricted FROM persons p WHERE p.id = $1`,
		personID, purpose).Scan(&granted, &objected, &restricted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("consent: check: %w", err)
	}
	return granted && !restricted && !(objected && p.Register == "prospection"), nil
}

// Targets returns, in id order after the cursor, the persons a processing needing the purpose may
// use right now: latest choice a grant, no objection to prospection, processing not restricted,
// not deceased. Prospection lists and exports are built from it, so a withdrawal or an objection
// takes effect on the next list (R19, R28).
func (s *Service) Targets(ctx context.Context, purpose string, after int64, limit int) ([]int64, error) {
	p := PurposeByCode(purpose)
	if p == nil {
		return nil, &InputError{"purpose", "enum", "finalité inconnue ; valeurs admises : " + strings.Join(codes(), ", ")}
	}
	objection := ""
	if p.Register == "prospection" {
		objection = "AND NOT p.objected_prospection"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT p.id FROM persons p
		WHERE p.id > $2 AND NOT p.restricted AND NOT p.deceased `+objection+`
		AND (SELECT c.granted FROM consents c WHERE c.person_id = p.id AND c.purpose = $1 ORDER BY c.id DESC LIMIT 1)
		ORDER BY p.id LIMIT $3`, purpose, after, limit)
	if err != nil {
		return nil, fmt.Errorf("consent: targets: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consent: targets: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Object records an objection (art. 21). To prospection it is absolute and immediate: the person
// is flagged (every prospection list hides them), their prospection consents are recorded as
// refused, and the keyed hashes of their e-mail and phone join the suppression list, which an
// import or a form checks and which survives erasure. To another purpose it is recorded for the
// DPO, who weighs it (art. 21(1)).
func (s *Service) Object(ctx context.Context, personID int64, purpose string, p Proof) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.ObjectTx(ctx, tx, personID, purpose, p) })
}

// objectable are the purposes a person may object to.
var objectable = []string{"prospection", "quotes", "contracts", "support", "performance"}

// ObjectTx is Object inside the caller's transaction.
func (s *Service) ObjectTx(ctx context.Context, tx *sql.Tx, personID int64, purpose string, p Proof) error {
	if !slices.Contains(objectable, purpose) {
		return &InputError{"purpose", "enum", "finalité inconnue ; valeurs admises : " + strings.Join(objectable, ", ")}
	}
	if p.Method == "" {
		p.Method = MethodObjection
	}
	if err := p.check(); err != nil {
		return err
	}
	if err := s.personExists(ctx, tx, personID); err != nil {
		return err
	}
	now := s.now().UTC()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO objections (person_id, purpose, objected_at, channel, recorded_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, personID, purpose, now, p.Channel, nullID(p.RecordedBy)).Scan(&id); err != nil {
		return fmt.Errorf("consent: objection: %w", err)
	}
	if err := s.audit.AppendTx(ctx, tx, audit.Event{UserID: p.RecordedBy, Department: p.Department, Action: audit.ActionCreate,
		Table: "objections", RowID: id, Subject: s.audit.Subject(personID), Fields: "purpose", Purpose: purpose, Detail: "objection:" + purpose}); err != nil {
		return err
	}
	if purpose != "prospection" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE persons SET objected_prospection = TRUE WHERE id = $1`, personID); err != nil {
		return fmt.Errorf("consent: flag objection: %w", err)
	}
	var refusals []Choice
	for _, cp := range Purposes {
		if cp.Register == "prospection" {
			refusals = append(refusals, Choice{Purpose: cp.Code})
		}
	}
	if err := s.RecordTx(ctx, tx, personID, refusals, p); err != nil {
		return err
	}
	return s.suppress(ctx, tx, personID, now)
}

// SuppressTx adds the person's e-mail and phone to the suppression list inside the caller's
// transaction: an erasure keeps this entry so that an import cannot bring the person back.
func (s *Service) SuppressTx(ctx context.Context, tx *sql.Tx, personID int64) error {
	return s.suppress(ctx, tx, personID, s.now().UTC())
}

// suppress copies the blind-index entries of the person's e-mail and phone into the suppression
// list: the same keyed hash the search uses, so no value needs decrypting and a new record with
// the same address is recognised.
func (s *Service) suppress(ctx context.Context, tx *sql.Tx, personID int64, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT hash, column_name FROM search_index
		WHERE person_id = $1 AND table_name = 'persons' AND column_name IN ('email', 'phone')`, personID)
	if err != nil {
		return fmt.Errorf("consent: suppression: %w", err)
	}
	type entry struct{ hash, kind string }
	var entries []entry
	for rows.Next() {
		var h []byte
		var kind string
		if err := rows.Scan(&h, &kind); err != nil {
			rows.Close()
			return fmt.Errorf("consent: suppression: %w", err)
		}
		entries = append(entries, entry{hex.EncodeToString(h), kind})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("consent: suppression: %w", err)
	}
	for _, e := range entries {
		if _, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, purpose, kind, created_at) VALUES ($1, 'prospection', $2, $3)
			ON CONFLICT DO NOTHING`, e.hash, e.kind, now); err != nil {
			return fmt.Errorf("consent: suppression: %w", err)
		}
	}
	return nil
}

// contactHashes are the suppression-list entries an e-mail and a phone number would have.
func (s *Service) contactHashes(email, phone string) []any {
	var hashes []any
	if email != "" {
		hashes = append(hashes, hex.EncodeToString(s.keys.BlindIndex("persons.email", strings.ToLower(email))))
	}
	if phone != "" {
		hashes = append(hashes, hex.EncodeToString(s.keys.BlindIndex("persons.phone", strings.ToLower(phone))))
	}
	return hashes
}

// SuppressionList is the suppression list read once, for a bulk job that checks every row (a
// legacy import): one lookup in memory instead of one query per row. Entries added after it was
// read are not seen; a job that runs for minutes reads it at its start.
type SuppressionList struct {
	s      *Service
	hashes map[string]bool
}

// Suppressions reads the prospection suppression list into memory.
func (s *Service) Suppressions(ctx context.Context) (*SuppressionList, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash FROM suppressions WHERE purpose = 'prospection'`)
	if err != nil {
		return nil, fmt.Errorf("consent: read suppression list: %w", err)
	}
	defer rows.Close()
	l := &SuppressionList{s: s, hashes: map[string]bool{}}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("consent: read suppression list: %w", err)
		}
		l.hashes[strings.TrimSpace(h)] = true
	}
	return l, rows.Err()
}

// Suppressed is Service.Suppressed against the list as read.
func (l *SuppressionList) Suppressed(_ context.Context, email, phone string) (bool, error) {
	for _, h := range l.s.contactHashes(email, phone) {
		if l.hashes[h.(string)] {
			return true, nil
		}
	}
	return false, nil
}

// SuppressedIndex is Suppressed for the blind-index entries of an e-mail and a phone number (nil
// when absent), as record.Store.IndexHash computes them: the suppression list keeps those same
// keyed hashes, so a bulk job that computes them anyway does not compute them twice.
func (l *SuppressionList) SuppressedIndex(email, phone []byte) bool {
	for _, h := range [][]byte{email, phone} {
		if h != nil && l.hashes[hex.EncodeToString(h)] {
			return true
		}
	}
	return false
}

// Suppressed reports whether an e-mail or a phone number (canonical, as the dictionary decodes
// them) belongs to someone who objected to prospection.
func (s *Service) Suppressed(ctx context.Context, email, phone string) (bool, error) {
	hashes := s.contactHashes(email, phone)
	if len(hashes) == 0 {
		return false, nil
	}
	ph := make([]string, len(hashes))
	for i := range hashes {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE purpose = 'prospection' AND hash IN (`+strings.Join(ph, ", ")+`)`,
		hashes...).Scan(&n); err != nil {
		return false, fmt.Errorf("consent: suppression check: %w", err)
	}
	return n > 0, nil
}

// WithdrawalToken signs a withdrawal link for one person and purpose. It is an HMAC under a key
// derived from the master key, so it cannot be forged from the e-mail address (the old CRM's link
// was an md5 of the address) and a link for one purpose does not withdraw another.
func (s *Service) WithdrawalToken(personID int64, purpose string) string {
	return s.keys.LinkToken(withdrawalPlace, withdrawalMessage(personID, purpose))
}

// CheckWithdrawalToken verifies a withdrawal link in constant time.
func (s *Service) CheckWithdrawalToken(personID int64, purpose, token string) bool {
	return s.keys.CheckLinkToken(withdrawalPlace, withdrawalMessage(personID, purpose), token)
}

const withdrawalPlace = "consent-withdrawal"

func withdrawalMessage(personID int64, purpose string) []byte {
	return []byte(strconv.FormatInt(personID, 10) + ":" + purpose)
}

// CheckDictionary reports a difference between Purposes and the values the dictionary allows.
func CheckDictionary(d *dictionary.Dictionary) error {
	c := d.Table("consents").Column("purpose")
	if !slices.Equal(c.Values, codes()) {
		return fmt.Errorf("consent: the dictionary allows %v, the code knows %v", c.Values, codes())
	}
	return nil
}
