// Package charter is the staff side of accountability (rule R43, seed 002 §5): the
// data-governance charter every staff member acknowledges, and the awareness training each one
// completes.
//
//   - The charter is versioned data. Each version keeps its exact text and the SHA-256 of it, so an
//     acknowledgement proves what was read. The first version is embedded in the binary
//     (charte-1.0.txt) and installed at first use; the DPO or IT administration publishes the next
//     ones (web page « Charte et formation », `vigie charter publish`).
//   - A staff member acknowledges the current version at their first page after signing in, and
//     again after each new version: until then every staff page leads to the charter (package web).
//     Each acknowledgement is one row per user and version, and one event of the audit trail.
//   - Training: a small catalogue of modules (modules.json), each mandatory for every department or
//     for some, and valid for a number of months; a completion is recorded with its day and who
//     recorded it. A refused completion (unknown user or module, a day in the future) changes
//     nothing and names the field and the rule.
//   - Status and Missing say, for each active staff member, whether they acknowledged the current
//     version and which mandatory modules they miss: for the DPO's page, `vigie charter status`
//     and the evidence report. They name staff by name and e-mail only, as the staff pages do.
package charter

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris even on a system without zoneinfo

	"vigie/internal/audit"
	"vigie/internal/db"
	"vigie/internal/dictionary"
)

//go:embed charte-1.0.txt
var firstBody string

//go:embed modules.json
var modulesJSON []byte

// FirstVersion is the label of the charter embedded in the binary.
const FirstVersion = "1.0"

// Actions of the audit trail.
const (
	ActionPublish     = "charter_publish"
	ActionAcknowledge = "charter_acknowledge"
	ActionTraining    = "training_record"
)

// Auditor is the part of the audit trail the service writes to: every write in its transaction.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
}

var _ Auditor = (*audit.Trail)(nil)

// Staff is who acts: a signed-in staff member, or a command on the server (UserID 0).
type Staff struct {
	UserID     int64
	Department string
}

// Version is one version of the charter.
type Version struct {
	ID     int64
	Label  string
	SHA256 string
	Body   string
	// PublishedAt is when it was published; PublishedBy who (0: Vigie itself, or a command).
	PublishedAt time.Time
	PublishedBy int64
	// Acknowledgements counts the staff members who accepted it (Versions only).
	Acknowledgements int
}

// Module is a training module of the catalogue.
type Module struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Departments are those for which the module is mandatory; empty, every department.
	Departments []string `json:"departments,omitempty"`
	// ValidMonths is how long a completion counts before the module is due again.
	ValidMonths int `json:"valid_months"`
}

// MandatoryFor reports whether the module is mandatory for a department.
func (m Module) MandatoryFor(department string) bool {
	return len(m.Departments) == 0 || slices.Contains(m.Departments, department)
}

// Errors callers map to answers.
var (
	// ErrForbidden: only the departments the dictionary lets write the charter and the training
	// records (the DPO and IT administration) publish a version or record a completion.
	ErrForbidden = errors.New("charter: seuls le DPO et l'administration informatique publient la charte et inscrivent les formations")
	// ErrNotFound is a version the charter does not have.
	ErrNotFound = errors.New("charter: version inconnue")
)

// Issue is one refused field: Field and Rule name what to fix, Message says it in French. It never
// repeats the value sent.
type Issue struct {
	Field, Rule, Message string
}

// ValidationError is a refused write; nothing was changed.
type ValidationError struct{ Issues []Issue }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.Field + " (" + is.Rule + ") : " + is.Message
	}
	return "charter: " + strings.Join(parts, " ; ")
}

// IsInput reports whether err is a refused input, and returns it.
func IsInput(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

// Service keeps the charter, the acknowledgements and the training records.
type Service struct {
	db      *db.DB
	dict    *dictionary.Dictionary
	audit   Auditor
	log     *slog.Logger
	now     func() time.Time
	paris   *time.Location
	modules []Module
}

// New builds the service and checks the catalogue of modules against the dictionary's
// departments.
func New(d *db.DB, dict *dictionary.Dictionary, a Auditor, log *slog.Logger, now func() time.Time) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	modules, err := loadModules(dict)
	if err != nil {
		return nil, err
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, fmt.Errorf("charter: load Europe/Paris: %w", err)
	}
	return &Service{db: d, dict: dict, audit: a, log: log, now: now, paris: paris, modules: modules}, nil
}

var moduleCode = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// loadModules reads the embedded catalogue and refuses a malformed one.
func loadModules(dict *dictionary.Dictionary) ([]Module, error) {
	var modules []Module
	if err := json.Unmarshal(modulesJSON, &modules); err != nil {
		return nil, fmt.Errorf("charter: modules.json: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range modules {
		switch {
		case !moduleCode.MatchString(m.Code) || len(m.Code) > 32:
			return nil, fmt.Errorf("charter: modules.json: code %q: want lower-case words joined by hyphens, 32 characters at most", m.Code)
		case seen[m.Code]:
			return nil, fmt.Errorf("charter: modules.json: code %q listed twice", m.Code)
		case strings.TrimSpace(m.Title) == "":
			return nil, fmt.Errorf("charter: modules.json: %s has no title", m.Code)
		case m.ValidMonths < 1 || m.ValidMonths > 120:
			return nil, fmt.Errorf("charter: modules.json: %s: valid_months must be 1 to 120", m.Code)
		}
		for _, d := range m.Departments {
			if _, ok := dict.Department(d); !ok {
				return nil, fmt.Errorf("charter: modules.json: %s: unknown department %q", m.Code, d)
			}
		}
		seen[m.Code] = true
	}
	if len(modules) == 0 {
		return nil, errors.New("charter: modules.json lists no module")
	}
	return modules, nil
}

// Modules returns the catalogue, in its order.
func (s *Service) Modules() []Module { return slices.Clone(s.modules) }

// Module returns a module of the catalogue by its code.
func (s *Service) Module(code string) (Module, bool) {
	i := slices.IndexFunc(s.modules, func(m Module) bool { return m.Code == code })
	if i < 0 {
		return Module{}, false
	}
	return s.modules[i], true
}

// CanManage reports whether a department publishes the charter and records training: those the
// dictionary lets write the two tables.
func (s *Service) CanManage(department string) bool {
	for _, name := range []string{"charter_versions", "training_completions"} {
		t := s.dict.Table(name)
		if t == nil || !slices.Contains(t.Write, department) {
			return false
		}
	}
	return true
}

// CanSeeStatus reports whether a department sees who acknowledged and who is trained.
func (s *Service) CanSeeStatus(department string) bool {
	for _, name := range []string{"charter_acknowledgements", "training_completions"} {
		t := s.dict.Table(name)
		if t == nil || !slices.Contains(t.Read, department) {
			return false
		}
	}
	return true
}

// Normalise is the form a charter text is stored and hashed in: Unix line ends, no blank lines
// around it, one final line end. The same text typed on Windows or Linux gets the same hash.
func Normalise(body string) string {
	return strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")) + "\n"
}

// FirstBody is the text of the charter embedded in the binary, as it is stored.
func FirstBody() string { return Normalise(firstBody) }

// today is the day in Paris, at midnight UTC: how a day is stored.
func (s *Service) today() time.Time {
	y, m, d := s.now().In(s.paris).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Day shows a time as the day it was in Paris (JJ/MM/AAAA), for commands; a training's day is
// already a day and is shown with Format("02/01/2006").
func (s *Service) Day(t time.Time) string { return t.In(s.paris).Format("02/01/2006") }
