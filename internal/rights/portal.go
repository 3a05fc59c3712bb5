package rights

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"vigie/internal/outbox"
)

// The privacy portal signs a person in with a one-time code sent to their e-mail address: short
// lived, single use, a few attempts, and rate-limited per address and per client. Whether an
// address is known is never revealed: the answer to a code request is the same either way.
const (
	CodeLifetime    = 15 * time.Minute
	CodeAttempts    = 5
	SessionLifetime = 30 * time.Minute
	// codesPerWindow codes at most are sent to one person per codeWindow.
	codesPerWindow = 3
	codeWindow     = time.Hour
)

// ErrBadCode refuses a wrong, expired or already used code, without saying which.
var ErrBadCode = errors.New("rights: code incorrect ou expiré ; demandez-en un nouveau")

// ErrNoSession is a portal request without a valid session.
var ErrNoSession = errors.New("rights: session du portail absente ou expirée")

// Limiter counts a client's portal attempts in memory, per hour.
type Limiter struct {
	mu     sync.Mutex
	max    int
	counts map[string]*window
	now    func() time.Time
}

type window struct {
	start time.Time
	n     int
}

// NewLimiter allows max attempts per client and per hour.
func NewLimiter(max int, now func() time.Time) *Limiter {
	return &Limiter{max: max, counts: map[string]*window{}, now: now}
}

// Allow counts an attempt by key and reports whether it is within the limit.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.counts) > 100_000 {
		for k, w := range l.counts {
			if now.Sub(w.start) > time.Hour {
				delete(l.counts, k)
			}
		}
	}
	w := l.counts[key]
	if w == nil || now.Sub(w.start) > time.Hour {
		w = &window{start: now}
		l.counts[key] = w
	}
	w.n++
	return w.n <= l.max
}

// checkEmail validates the address typed on the portal.
func checkEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return "", &InputError{"email", "format", "adresse e-mail invalide (exemple : prenom.nom@exemple.fr)"}
	}
	return email, nil
}

// personByEmail finds the person an address belongs to through the blind index (the latest
// record when the address appears twice); 0 when none.
func (s *Service) personByEmail(ctx context.Context, q queryRower, email string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT p.id FROM search_index i JOIN persons p ON p.id = i.person_id
		WHERE i.table_name = 'persons' AND i.column_name = 'email' AND i.hash = $1 AND p.erased_at IS NULL
		ORDER BY p.id DESC LIMIT 1`, s.keys.BlindIndex("persons.email", email)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rights: find person: %w", err)
	}
	return id, nil
}

func (s *Service) codeHash(personID int64, code string) []byte {
	return s.keys.Sign("portal code", []byte(strconv.FormatInt(personID, 10)+":"+code))
}

// SendCode sends a one-time code to the address if it belongs to a person, through the outbox.
// It returns nil whether or not the address is known, and sends nothing past codesPerWindow codes
// an hour to one person.
func (s *Service) SendCode(ctx context.Context, email string) error {
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	if s.mail == nil {
		return errors.New("rights: no outbox to send portal codes")
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		personID, err := s.personByEmail(ctx, tx, email)
		if err != nil || personID == 0 {
			return err
		}
		now := s.now().UTC()
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM portal_codes WHERE person_id = $1 AND created_at > $2`,
			personID, now.Add(-codeWindow)).Scan(&recent); err != nil {
			return fmt.Errorf("rights: portal code: %w", err)
		}
		if recent >= codesPerWindow {
			return nil
		}
		code := sixDigits()
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_codes (person_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			personID, s.codeHash(personID, code), now, now.Add(CodeLifetime)); err != nil {
			return fmt.Errorf("rights: portal code: %w", err)
		}
		body := fmt.Sprintf("Bonjour,\n\nVotre code pour ouvrir le portail de confidentialité : %s\n\n"+
			"Il est valable %d minutes et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : "+
			"personne ne peut entrer sans ce code.\n\n%s\n", code, int(CodeLifetime.Minutes()), s.controller.Name)
		if _, err := s.mail.EnqueueTx(ctx, tx, outbox.Message{PersonID: personID, Kind: outbox.KindPortalCode, To: email,
			Subject: "Votre code d'accès au portail de confidentialité", Body: body}); err != nil {
			return err
		}
		return s.event(ctx, tx, Subject, "portal_code", "portal_codes", 0, personID, "")
	})
}

func sixDigits() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000)
}

// SignIn checks a code and opens a portal session; it returns the session token for the cookie.
// A code serves once; CodeAttempts wrong tries burn it.
func (s *Service) SignIn(ctx context.Context, email, code string) (token string, err error) {
	email, err = checkEmail(email)
	if err != nil {
		return "", err
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return "", &InputError{"code", "format", "le code compte 6 chiffres"}
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		personID, err := s.personByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		if personID == 0 {
			return ErrBadCode
		}
		now := s.now().UTC()
		var id int64
		var hash []byte
		err = tx.QueryRowContext(ctx, `SELECT id, code_hash FROM portal_codes
			WHERE person_id = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1`, personID, now).Scan(&id, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadCode
		}
		if err != nil {
			return fmt.Errorf("rights: portal sign-in: %w", err)
		}
		if subtle.ConstantTimeCompare(hash, s.codeHash(personID, code)) != 1 {
			return errWrongCode
		}
		if _, err := tx.ExecContext(ctx, `UPDATE portal_codes SET used_at = $1 WHERE id = $2`, now, id); err != nil {
			return fmt.Errorf("rights: portal sign-in: %w", err)
		}
		raw := make([]byte, 32)
		rand.Read(raw)
		token = base64.RawURLEncoding.EncodeToString(raw)
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			tokenHash(token), personID, now, now.Add(SessionLifetime)); err != nil {
			return fmt.Errorf("rights: portal session: %w", err)
		}
		return s.event(ctx, tx, Subject, "portal_login", "portal_sessions", 0, personID, "")
	})
	if errors.Is(err, errWrongCode) {
		return "", s.countWrongCode(ctx, email)
	}
	return token, err
}

// errWrongCode ends the sign-in transaction; countWrongCode then records the attempt in its own.
var errWrongCode = errors.New("wrong code")

// countWrongCode records a wrong attempt on the person's current code, burning it at the limit.
func (s *Service) countWrongCode(ctx context.Context, email string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		personID, err := s.personByEmail(ctx, tx, email)
		if err != nil || personID == 0 {
			return err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE portal_codes SET attempts = attempts + 1 WHERE person_id = $1 AND used_at IS NULL AND expires_at > $2`,
			personID, now); err != nil {
			return fmt.Errorf("rights: portal sign-in: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE portal_codes SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL AND attempts >= $3`,
			now, personID, CodeAttempts); err != nil {
			return fmt.Errorf("rights: portal sign-in: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ErrBadCode
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// SessionPerson returns the person a portal session belongs to.
func (s *Service) SessionPerson(ctx context.Context, token string) (int64, error) {
	if token == "" {
		return 0, ErrNoSession
	}
	var personID int64
	err := s.db.QueryRowContext(ctx, `SELECT s.person_id FROM portal_sessions s JOIN persons p ON p.id = s.person_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND p.erased_at IS NULL`, tokenHash(token), s.now().UTC()).Scan(&personID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoSession
	}
	if err != nil {
		return 0, fmt.Errorf("rights: portal session: %w", err)
	}
	return personID, nil
}

// SignOut ends a portal session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM portal_sessions WHERE token_hash = $1`, tokenHash(token)); err != nil {
		return fmt.Errorf("rights: portal sign-out: %w", err)
	}
	return nil
}

// Dossier is one of the records held under the address a portal session proved: the public quote
// form opens a new record at each request, so one person may have several.
type Dossier struct {
	PersonID int64
	Since    time.Time
	Current  bool
}

// ErrNotYourDossier is a switch to a record that does not share the session's address.
var ErrNotYourDossier = errors.New("rights: ce dossier ne correspond pas à votre adresse e-mail")

// Dossiers lists the records, not erased, whose e-mail is the one of the session's person (found
// through the blind index, so nothing is decrypted), newest first; the session's own is Current.
func (s *Service) Dossiers(ctx context.Context, personID int64) ([]Dossier, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT p.id, p.created_at FROM search_index mine
		JOIN search_index same ON same.hash = mine.hash AND same.table_name = 'persons' AND same.column_name = 'email'
		JOIN persons p ON p.id = same.person_id
		WHERE mine.table_name = 'persons' AND mine.column_name = 'email' AND mine.person_id = $1 AND p.erased_at IS NULL
		ORDER BY p.id DESC`, personID)
	if err != nil {
		return nil, fmt.Errorf("rights: dossiers: %w", err)
	}
	defer rows.Close()
	created := s.dict.Table("persons").Column("created_at")
	var out []Dossier
	for rows.Next() {
		var d Dossier
		var raw any
		if err := rows.Scan(&d.PersonID, &raw); err != nil {
			return nil, fmt.Errorf("rights: dossiers: %w", err)
		}
		v, err := created.FromDB(raw)
		if err != nil {
			return nil, fmt.Errorf("rights: dossiers: %w", err)
		}
		d.Since, d.Current = v.(time.Time), d.PersonID == personID
		out = append(out, d)
	}
	return out, rows.Err()
}

// SwitchDossier points the portal session at another record under the same proven address. Any
// other record is refused with ErrNotYourDossier and the session is left as it was.
func (s *Service) SwitchDossier(ctx context.Context, token string, personID int64) error {
	current, err := s.SessionPerson(ctx, token)
	if err != nil {
		return err
	}
	ds, err := s.Dossiers(ctx, current)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ds, func(d Dossier) bool { return d.PersonID == personID }) {
		return ErrNotYourDossier
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE portal_sessions SET person_id = $1 WHERE token_hash = $2`, personID, tokenHash(token)); err != nil {
		return fmt.Errorf("rights: switch dossier: %w", err)
	}
	return nil
}
