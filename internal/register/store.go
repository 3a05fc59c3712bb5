package register

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	_ "time/tzdata" // Europe/Paris dates even without the system's zoneinfo

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
)

// Auditor is the part of the audit trail the register uses: a new version is recorded in its
// transaction, an export on its own; the access log's retention is one of the register's durations.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Record(ctx context.Context, events ...audit.Event) error
	AccessLogSource
}

var _ Auditor = (*audit.Trail)(nil)

// Service generates the register and keeps its versions.
type Service struct {
	db         *db.DB
	dict       *dictionary.Dictionary
	rules      RuleSource
	audit      Auditor
	controller consent.Controller
	antivirus  bool
	log        *slog.Logger
	now        func() time.Time
}

// New builds the register's service: rules are the lifecycle's rules in force, controller the
// company and its DPO, antivirus whether this installation scans uploads.
func New(d *db.DB, dict *dictionary.Dictionary, rules RuleSource, a Auditor, controller consent.Controller, antivirus bool, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, dict: dict, rules: rules, audit: a, controller: controller, antivirus: antivirus, log: log, now: now}
}

// Staff is who reads or exports the register (UserID 0: a command, as the DPO's department).
type Staff struct {
	UserID     int64
	Department string
}

// ErrForbidden refuses every department the dictionary does not let read the register: the DPO's
// only.
var ErrForbidden = errors.New("register: le registre des traitements est tenu par le DPO")

// ErrNotFound is a version the register does not hold.
var ErrNotFound = errors.New("register: version inconnue")

// CanRead reports whether the department may read the register and its versions.
func (s *Service) CanRead(department string) bool {
	t := s.dict.Table("register_versions")
	return t != nil && slices.Contains(t.Read, department)
}

// Version is one kept version of the register.
type Version struct {
	Number      int       `json:"version"`
	GeneratedAt time.Time `json:"generated_at"`
	SHA256      string    `json:"sha256"`
	// Changes says what changed since the version before, in French.
	Changes     string    `json:"changes"`
	GeneratedBy int64     `json:"generated_by,omitempty"`
	Department  string    `json:"department"`
	Register    *Register `json:"register,omitempty"`
}

// Build generates the register as it stands now, from the dictionary, the rules in force and the
// controller's details, and checks it; it writes nothing.
func (s *Service) Build(ctx context.Context) (*Register, error) {
	rules, err := s.rules.Rules(ctx)
	if err != nil {
		return nil, fmt.Errorf("register: rules in force: %w", err)
	}
	months, err := s.audit.AccessRetention(ctx)
	if err != nil {
		return nil, fmt.Errorf("register: access-log retention: %w", err)
	}
	return Generate(Inputs{Dict: s.dict, Rules: rules, Controller: s.controller, AccessLogMonths: months, Antivirus: s.antivirus})
}

// Current generates the register and returns it as the latest version: the stored one when the
// content has not changed, else a new version recorded now, by whom, with what changed, in one
// transaction with its audit event. A register missing a field of art. 30(1) is refused and
// nothing is written.
func (s *Service) Current(ctx context.Context, by Staff) (*Version, error) {
	if !s.CanRead(by.Department) {
		return nil, ErrForbidden
	}
	reg, err := s.Build(ctx)
	if err != nil {
		return nil, err
	}
	return s.record(ctx, by, reg)
}

// registerLock is the advisory lock key under which versions are numbered ("VIGIE-RG" in ASCII).
const registerLock = 0x5649474945_5247

// record keeps reg as a new version unless the latest has the same content.
func (s *Service) record(ctx context.Context, by Staff, reg *Register) (*Version, error) {
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	content, err := json.Marshal(reg)
	if err != nil {
		return nil, fmt.Errorf("register: encode: %w", err)
	}
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	var out *Version
	created := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, created = nil, false
		if err := s.db.Serialise(ctx, tx, registerLock); err != nil {
			return err
		}
		latest, err := s.latest(ctx, tx)
		if err != nil {
			return err
		}
		if latest != nil && latest.SHA256 == hash {
			out = latest
			return nil
		}
		v := &Version{Number: 1, GeneratedAt: s.now().UTC().Truncate(time.Microsecond), SHA256: hash,
			Changes: "Première version du registre.", GeneratedBy: by.UserID, Department: by.Department, Register: reg}
		if latest != nil {
			v.Number = latest.Number + 1
			v.Changes = Changes(latest.Register, reg)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO register_versions (version, generated_at, sha256, content, changes, generated_by, department)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			v.Number, v.GeneratedAt, v.SHA256, string(content), v.Changes, nullID(by.UserID), by.Department).Scan(&id); err != nil {
			return fmt.Errorf("register: store version %d: %w", v.Number, err)
		}
		if err := s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionCreate,
			Table: "register_versions", RowID: id, Purpose: "compliance",
			Detail: fmt.Sprintf("version=%d sha256=%s", v.Number, v.SHA256)}); err != nil {
			return err
		}
		out, created = v, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("register: new version recorded", "version", out.Number, "activities", len(reg.Activities), "department", by.Department)
	}
	return out, nil
}

const versionColumns = `version, generated_at, sha256, content, changes, COALESCE(generated_by, 0), department`

// latest reads the latest version with its content, or nil when there is none.
func (s *Service) latest(ctx context.Context, q querier) (*Version, error) {
	v, err := s.scan(q.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM register_versions ORDER BY version DESC LIMIT 1`), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Version returns a kept version with its content; the content is checked against its SHA-256.
func (s *Service) Version(ctx context.Context, by Staff, number int) (*Version, error) {
	if !s.CanRead(by.Department) {
		return nil, ErrForbidden
	}
	v, err := s.scan(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM register_versions WHERE version = $1`, number), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return v, err
}

// Versions lists the kept versions, latest first, without their content.
func (s *Service) Versions(ctx context.Context, by Staff) ([]Version, error) {
	if !s.CanRead(by.Department) {
		return nil, ErrForbidden
	}
	rows, err := s.db.QueryContext(ctx, `SELECT version, generated_at, sha256, '', changes, COALESCE(generated_by, 0), department
		FROM register_versions ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("register: list versions: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := s.scan(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("register: list versions: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func (s *Service) scan(row scanner, withContent bool) (*Version, error) {
	var v Version
	var at any
	var content string
	if err := row.Scan(&v.Number, &at, &v.SHA256, &content, &v.Changes, &v.GeneratedBy, &v.Department); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("register: read version: %w", err)
	}
	t, err := s.dict.Table("register_versions").Column("generated_at").FromDB(at)
	if err != nil {
		return nil, fmt.Errorf("register: read version %d: %w", v.Number, err)
	}
	v.GeneratedAt = t.(time.Time).UTC()
	v.SHA256 = strings.TrimSpace(v.SHA256)
	if !withContent {
		return &v, nil
	}
	sum := sha256.Sum256([]byte(content))
	if hex.EncodeToString(sum[:]) != v.SHA256 {
		return nil, fmt.Errorf("register: version %d: content does not match its SHA-256", v.Number)
	}
	v.Register = new(Register)
	if err := json.Unmarshal([]byte(content), v.Register); err != nil {
		return nil, fmt.Errorf("register: version %d: decode: %w", v.Number, err)
	}
	return &v, nil
}

// Export returns a version of the register (0: the current one, recorded if it changed) in a
// format of Formats, and records the export in the audit trail.
func (s *Service) Export(ctx context.Context, by Staff, number int, format string) (*Version, []byte, error) {
	if !slices.Contains(Formats, format) {
		return nil, nil, fmt.Errorf("register: format %q: valeurs admises %s", format, strings.Join(Formats, ", "))
	}
	var v *Version
	var err error
	if number == 0 {
		v, err = s.Current(ctx, by)
	} else {
		v, err = s.Version(ctx, by, number)
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := Render(v, format)
	if err != nil {
		return nil, nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionExport,
		Table: "register_versions", Purpose: "compliance", Detail: fmt.Sprintf("version=%d format=%s", v.Number, format)}); err != nil {
		return nil, nil, fmt.Errorf("register: audit the export: %w", err)
	}
	s.log.Info("register: exported", "version", v.Number, "format", format, "bytes", len(b), "department", by.Department)
	return v, b, nil
}

// Changes says, in French, what differs between two registers: the actors, the security
// measures, and for each activity the art. 30(1) fields that changed, or that it was added or
// removed.
func Changes(prev, next *Register) string {
	if prev == nil {
		return "Première version du registre."
	}
	var parts []string
	if prev.Actors != next.Actors {
		parts = append(parts, "responsable du traitement et DPO")
	}
	if !same(prev.Security, next.Security) {
		parts = append(parts, "mesures de sécurité")
	}
	before := map[string]Activity{}
	for _, a := range prev.Activities {
		before[a.Code] = a
	}
	for _, a := range next.Activities {
		b, ok := before[a.Code]
		delete(before, a.Code)
		if !ok {
			parts = append(parts, a.Name+" : traitement ajouté")
			continue
		}
		var fields []string
		for _, f := range []struct {
			label      string
			prev, next any
		}{
			{"nom", b.Name, a.Name}, {"base légale", b.LegalBasis, a.LegalBasis}, {"services", b.Departments, a.Departments},
			{"personnes concernées", b.Subjects, a.Subjects}, {"catégories de données", b.Data, a.Data},
			{"destinataires", b.Recipients, a.Recipients}, {"transferts", b.Transfers, a.Transfers},
			{"durées de conservation", b.Retention, a.Retention},
		} {
			if !same(f.prev, f.next) {
				fields = append(fields, f.label)
			}
		}
		if len(fields) > 0 {
			parts = append(parts, a.Name+" : "+strings.Join(fields, ", "))
		}
	}
	for _, a := range prev.Activities {
		if _, gone := before[a.Code]; gone {
			parts = append(parts, a.Name+" : traitement retiré")
		}
	}
	if prev.Dictionary != next.Dictionary {
		parts = append(parts, "dictionnaire "+prev.Dictionary+" → "+next.Dictionary)
	}
	if len(parts) == 0 {
		return "Présentation du registre."
	}
	out := "Modifié : " + strings.Join(parts, " ; ") + "."
	if utf8.RuneCountInString(out) > 2000 {
		out = string([]rune(out)[:1999]) + "…"
	}
	return out
}

func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
