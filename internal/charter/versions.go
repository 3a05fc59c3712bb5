package charter

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"vigie/internal/audit"
)

// The charter's versions and their acknowledgements: plain SQL, the same statements on SQLite and
// PostgreSQL. The current version is the one published last (the highest id).

const versionColumns = `v.id, v.version, v.sha256, v.body, v.published_at, v.published_by`

func scanVersion(row interface{ Scan(...any) error }, extra ...any) (Version, error) {
	var v Version
	var by sql.NullInt64
	err := row.Scan(append([]any{&v.ID, &v.Label, &v.SHA256, &v.Body, &v.PublishedAt, &by}, extra...)...)
	v.PublishedAt, v.PublishedBy = v.PublishedAt.UTC(), by.Int64
	return v, err
}

// Hash is the SHA-256 of a text, in hexadecimal: how a version is identified.
func Hash(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

// Current returns the version in force: the one published last. On a new database it first
// installs the version embedded in the binary; that installation is Vigie's, like a migration,
// and no one's action in the audit trail.
func (s *Service) Current(ctx context.Context) (Version, error) {
	for range 2 {
		v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM charter_versions v ORDER BY v.id DESC LIMIT 1`))
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Version{}, fmt.Errorf("charter: read current version: %w", err)
		}
		if err := s.installFirst(ctx); err != nil {
			return Version{}, err
		}
	}
	return Version{}, errors.New("charter: no version after installing the first one")
}

// installFirst writes the embedded version, unless another process just did.
func (s *Service) installFirst(ctx context.Context) error {
	body := FirstBody()
	_, err := s.db.ExecContext(ctx, `INSERT INTO charter_versions (version, sha256, body, published_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (version) DO NOTHING`, FirstVersion, Hash(body), body, s.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("charter: install version %s: %w", FirstVersion, err)
	}
	s.log.Info("charter: installed the embedded data-governance charter", "version", FirstVersion)
	return nil
}

// VersionByHash returns a version by the SHA-256 of its text.
func (s *Service) VersionByHash(ctx context.Context, sha string) (Version, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM charter_versions v WHERE v.sha256 = $1`, sha))
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, ErrNotFound
	}
	if err != nil {
		return Version{}, fmt.Errorf("charter: read version: %w", err)
	}
	return v, nil
}

// VersionByLabel returns a version by its label.
func (s *Service) VersionByLabel(ctx context.Context, label string) (Version, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM charter_versions v WHERE v.version = $1`, label))
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, ErrNotFound
	}
	if err != nil {
		return Version{}, fmt.Errorf("charter: read version: %w", err)
	}
	return v, nil
}

// Versions lists every version, the current one first, with how many staff members accepted each.
func (s *Service) Versions(ctx context.Context) ([]Version, error) {
	if _, err := s.Current(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+versionColumns+`, (SELECT count(*) FROM charter_acknowledgements a WHERE a.version_id = v.id)
		FROM charter_versions v ORDER BY v.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("charter: list versions: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var n int
		v, err := scanVersion(rows, &n)
		if err != nil {
			return nil, fmt.Errorf("charter: list versions: %w", err)
		}
		v.Acknowledgements = n
		out = append(out, v)
	}
	return out, rows.Err()
}

// Limits of a published version.
const (
	MaxLabel   = 32
	MinBody    = 200
	MaxBody    = 20000
	labelRules = "1 à 32 caractères : lettres, chiffres, point, tiret ou soulignement (exemples : 1.1, 2027-01)"
)

var labelPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]*$`)

// Publish makes a new version the one in force: from the next page they open, every staff member
// is asked to accept it. A label already used, a text that is not UTF-8, too short or too long, or
// the text of an earlier version is refused, and nothing changes.
func (s *Service) Publish(ctx context.Context, by Staff, label, body string) (Version, error) {
	if !s.CanManage(by.Department) {
		return Version{}, ErrForbidden
	}
	label = strings.TrimSpace(label)
	var issues []Issue
	switch {
	case label == "":
		issues = append(issues, Issue{"version", "required", "le libellé de la version est obligatoire"})
	case len(label) > MaxLabel || !labelPattern.MatchString(label):
		issues = append(issues, Issue{"version", "format", "libellé de version invalide : " + labelRules})
	}
	if !utf8.ValidString(body) {
		issues = append(issues, Issue{"body", "utf8", "le texte doit être en UTF-8"})
	} else {
		body = Normalise(body)
		switch n := utf8.RuneCountInString(body); {
		case n <= 1:
			issues = append(issues, Issue{"body", "required", "le texte de la charte est obligatoire"})
		case n < MinBody:
			issues = append(issues, Issue{"body", "min_length", fmt.Sprintf("le texte de la charte est trop court (au moins %d caractères)", MinBody)})
		case n > MaxBody:
			issues = append(issues, Issue{"body", "max_length", fmt.Sprintf("le texte de la charte est trop long (au plus %d caractères)", MaxBody)})
		}
	}
	if len(issues) > 0 {
		return Version{}, &ValidationError{issues}
	}
	// The history starts with the embedded version, even when the first publication comes before
	// anyone opened a page.
	if _, err := s.Current(ctx); err != nil {
		return Version{}, err
	}
	v := Version{Label: label, SHA256: Hash(body), Body: body, PublishedAt: s.now().UTC().Truncate(time.Microsecond), PublishedBy: by.UserID}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.db.Serialise(ctx, tx, charterLock); err != nil {
			return err
		}
		var sameLabel, sameText string
		err := tx.QueryRowContext(ctx, `SELECT
			coalesce((SELECT version FROM charter_versions WHERE version = $1), ''),
			coalesce((SELECT version FROM charter_versions WHERE sha256 = $2), '')`, label, v.SHA256).Scan(&sameLabel, &sameText)
		if err != nil {
			return fmt.Errorf("charter: publish: %w", err)
		}
		if sameLabel != "" {
			issues = append(issues, Issue{"version", "unique", "ce libellé est déjà celui d'une version publiée : choisissez-en un autre"})
		}
		if sameText != "" {
			issues = append(issues, Issue{"body", "unchanged", "ce texte est exactement celui de la version " + sameText + " : modifiez-le avant de le publier"})
		}
		if len(issues) > 0 {
			return &ValidationError{issues}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO charter_versions (version, sha256, body, published_at, published_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, v.Label, v.SHA256, v.Body, v.PublishedAt, nullID(by.UserID)).Scan(&v.ID); err != nil {
			return fmt.Errorf("charter: publish: %w", err)
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: ActionPublish,
			Table: "charter_versions", RowID: v.ID, Purpose: "compliance", Detail: "version=" + v.Label + " sha256=" + v.SHA256})
	})
	if err != nil {
		return Version{}, err
	}
	s.log.Info("charter: published a new version; every staff member will be asked to accept it", "version", v.Label, "charter_id", v.ID)
	return v, nil
}

// charterLock serialises publications on PostgreSQL (pg_advisory_xact_lock key).
const charterLock = 0x43484152 // "CHAR"

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// MustAcknowledge reports whether the user has yet to accept the version in force: what the staff
// pages ask before anything else. One query.
func (s *Service) MustAcknowledge(ctx context.Context, userID int64) (bool, error) {
	for range 2 {
		var n int
		err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM charter_acknowledgements a WHERE a.user_id = $1 AND a.version_id = v.id)
			FROM charter_versions v ORDER BY v.id DESC LIMIT 1`, userID).Scan(&n)
		if err == nil {
			return n == 0, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("charter: check acknowledgement: %w", err)
		}
		if err := s.installFirst(ctx); err != nil {
			return false, err
		}
	}
	return false, errors.New("charter: no version after installing the first one")
}

// Acknowledgement is a user's acceptance of a version.
type Acknowledgement struct {
	Version Version
	At      time.Time
	// Previous is the label of the latest earlier version the user accepted (AcknowledgedAt only);
	// empty when none: the page then says the charter changed rather than that it is new.
	Previous string
}

// AcknowledgedAt returns when the user accepted the version in force, if they did.
func (s *Service) AcknowledgedAt(ctx context.Context, userID int64) (Acknowledgement, bool, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return Acknowledgement{}, false, err
	}
	var at time.Time
	err = s.db.QueryRowContext(ctx, `SELECT acknowledged_at FROM charter_acknowledgements WHERE user_id = $1 AND version_id = $2`,
		userID, cur.ID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		ack := Acknowledgement{Version: cur}
		err := s.db.QueryRowContext(ctx, `SELECT v.version FROM charter_acknowledgements a JOIN charter_versions v ON v.id = a.version_id
			WHERE a.user_id = $1 ORDER BY a.version_id DESC LIMIT 1`, userID).Scan(&ack.Previous)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Acknowledgement{}, false, fmt.Errorf("charter: read earlier acknowledgement: %w", err)
		}
		return ack, false, nil
	}
	if err != nil {
		return Acknowledgement{}, false, fmt.Errorf("charter: read acknowledgement: %w", err)
	}
	return Acknowledgement{Version: cur, At: at.UTC()}, true, nil
}

// Acknowledge records that a staff member accepted the version whose text has the given SHA-256:
// the one the page showed them. Only the version in force may be accepted — when a new one was
// published in between, the refusal says so and the page shows the new text. Accepting twice
// records nothing more. The acceptance and its audit event are one transaction.
func (s *Service) Acknowledge(ctx context.Context, who Staff, sha string) (Acknowledgement, error) {
	if who.UserID == 0 {
		return Acknowledgement{}, errors.New("charter: an acknowledgement is a staff member's own")
	}
	cur, err := s.Current(ctx)
	if err != nil {
		return Acknowledgement{}, err
	}
	if sha != cur.SHA256 {
		if _, err := s.VersionByHash(ctx, sha); errors.Is(err, ErrNotFound) {
			return Acknowledgement{}, &ValidationError{[]Issue{{"version", "unknown", "cette version de la charte n'existe pas"}}}
		} else if err != nil {
			return Acknowledgement{}, err
		}
		return Acknowledgement{}, &ValidationError{[]Issue{{"version", "superseded",
			"une nouvelle version de la charte a été publiée entre-temps : lisez-la, puis acceptez-la"}}}
	}
	ack := Acknowledgement{Version: cur, At: s.now().UTC().Truncate(time.Microsecond)}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO charter_acknowledgements (user_id, version_id, acknowledged_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, version_id) DO NOTHING RETURNING id`, who.UserID, cur.ID, ack.At).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return tx.QueryRowContext(ctx, `SELECT acknowledged_at FROM charter_acknowledgements WHERE user_id = $1 AND version_id = $2`,
				who.UserID, cur.ID).Scan(&ack.At)
		}
		if err != nil {
			return fmt.Errorf("charter: acknowledge: %w", err)
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: who.UserID, Department: who.Department, Action: ActionAcknowledge,
			Table: "charter_acknowledgements", RowID: id, Purpose: "compliance", Detail: "version=" + cur.Label + " sha256=" + cur.SHA256})
	})
	if err != nil {
		return Acknowledgement{}, err
	}
	ack.At = ack.At.UTC()
	return ack, nil
}
