// Package breach is the breach register (DESIGN §11, rules R39–R40; GDPR art. 33 and 34): each
// personal-data breach is recorded with the content art. 33(3) asks for — nature, categories and
// approximate numbers of people and records, contact point, likely consequences, measures taken
// and proposed — with its risk level and why the CNIL and the people must, or need not, be told.
// A 72-hour clock runs from the moment the company became aware of it (art. 33(1)); the phased
// notifications (art. 33(4)) and the reason of a late one are recorded. When a breach names a
// scope (a department whose access leaked, a table, a window of records created, people by
// number), the people concerned are found through the data. The CNIL notification and, where the
// risk is high, the letters to the people (art. 34) are drafted from the record.
//
// The free texts of a breach may name people (a laptop's owner, a wrong recipient): they are
// sealed with AES-256-GCM under a key derived from the master key, bound to their row and column,
// and never copied to the audit trail or a log. They are not one person's data, so no person's
// key fits them; the register is the controller's own accountability record (art. 33(5)).
package breach

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"vigie/internal/audit"
	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Auditor is the part of the audit trail the register uses: writes in their transaction, reads
// of people's data for the letters, and the production of a draft.
type Auditor interface {
	AppendTx(ctx context.Context, tx *sql.Tx, events ...audit.Event) error
	Append(ctx context.Context, events ...audit.Event) error
	Record(ctx context.Context, events ...audit.Event) error
	Subject(personID int64) []byte
}

var _ Auditor = (*audit.Trail)(nil)

// Service keeps the breach register.
type Service struct {
	db         *db.DB
	dict       *dictionary.Dictionary
	keys       *keys.Keyring
	audit      Auditor
	controller consent.Controller
	log        *slog.Logger
	now        func() time.Time
}

// New builds the register; controller names the company and its DPO in the drafts.
func New(d *db.DB, dict *dictionary.Dictionary, kr *keys.Keyring, a Auditor, controller consent.Controller, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, dict: dict, keys: kr, audit: a, controller: controller, log: log, now: now}
}

// Staff is who acts on the register (UserID 0: a command run by the DPO's department).
type Staff struct {
	UserID     int64
	Department string
}

// ErrForbidden refuses every department the dictionary does not let read (or write) breaches:
// only the DPO.
var ErrForbidden = errors.New("breach: le registre des violations est tenu par le DPO")

// ErrNotFound is a breach number the register does not hold.
var ErrNotFound = errors.New("breach: violation inconnue")

// Issue is one refused field: Field and Rule name what to fix, Message says it in French. It
// never holds the value sent.
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
	return "breach: " + strings.Join(parts, " ; ")
}

// Risk levels (art. 33(1) and 34(1)).
const (
	RiskNone = "none" // no risk at all: recorded, not notified
	RiskLow  = "low"  // unlikely to result in a risk: recorded with the reason, not notified
	RiskRisk = "risk" // a risk: the CNIL is notified within 72 hours
	RiskHigh = "high" // a high risk: the CNIL and the people concerned are told
)

// Deadline is how long after awareness the CNIL must be notified (art. 33(1)).
const Deadline = 72 * time.Hour

// Label maps a code to its French wording, in the order forms list them.
type Label struct{ Code, Text string }

// Labels for every coded field; forms, the CLI's help and the drafts read them.
var (
	Risks = []Label{
		{RiskNone, "Aucun risque pour les personnes"},
		{RiskLow, "Risque improbable : pas de notification (motif inscrit au registre)"},
		{RiskRisk, "Risque : notification à la CNIL sous 72 heures"},
		{RiskHigh, "Risque élevé : notification à la CNIL et information des personnes"},
	}
	Natures = []Label{
		{"confidentiality", "Perte de confidentialité (accès ou divulgation non autorisés)"},
		{"integrity", "Perte d'intégrité (modification non autorisée)"},
		{"availability", "Perte de disponibilité (perte, destruction, indisponibilité)"},
	}
	Origins = []Label{
		{"lost_device", "Équipement perdu ou volé"},
		{"lost_paper", "Papier perdu, volé ou laissé accessible"},
		{"lost_mail", "Courrier perdu ou ouvert avant d'être retourné"},
		{"hacking", "Piratage, logiciel malveillant, hameçonnage"},
		{"improper_disposal", "Mise au rebut de documents ou d'appareils sans effacement"},
		{"unintended_publication", "Publication non volontaire d'informations"},
		{"wrong_person", "Données de la mauvaise personne affichées"},
		{"wrong_recipient", "Données envoyées à un mauvais destinataire"},
		{"verbal", "Informations divulguées oralement"},
		{"other", "Autre"},
	}
	Causes = []Label{
		{"internal_malicious", "Acte interne malveillant"},
		{"internal_accidental", "Acte interne accidentel"},
		{"external_malicious", "Acte externe malveillant"},
		{"external_accidental", "Acte externe accidentel"},
		{"unknown", "Inconnue"},
	}
	DataCategories = []Label{
		{"identity", "État civil, identité"},
		{"contact", "Coordonnées"},
		{"vehicle", "Véhicule"},
		{"driver", "Conducteur (permis, bonus-malus, sinistres)"},
		{"pricing", "Données économiques et financières (tarifs, primes)"},
		{"contract", "Contrats"},
		{"relationship", "Relation commerciale"},
		{"free_text", "Notes et messages libres"},
		{"consent", "Consentements et oppositions"},
		{"staff", "Données du personnel"},
		{"credentials", "Identifiants de connexion"},
	}
	PeopleCategories = []Label{
		{"prospect", "Prospects"},
		{"customer", "Clients"},
		{"former_customer", "Anciens clients"},
		{"staff", "Salariés"},
		{"other", "Autres"},
	}
	Exemptions = []Label{
		{"encrypted", "Données rendues incompréhensibles (chiffrement) : art. 34(3)(a)"},
		{"mitigated", "Mesures ultérieures : le risque élevé n'est plus susceptible de se matérialiser, art. 34(3)(b)"},
		{"disproportionate", "Efforts disproportionnés : communication publique à la place, art. 34(3)(c)"},
	}
	Recipients = []Label{{"cnil", "CNIL"}, {"people", "Personnes concernées"}}
	Phases     = []Label{{"initial", "Initiale"}, {"complementary", "Complémentaire"}}
	Channels   = []Label{
		{"teleservice", "Téléservice de la CNIL"},
		{"email", "Courriel"},
		{"letter", "Courrier postal"},
		{"phone", "Téléphone"},
		{"public", "Communication publique"},
	}
)

// channelsFor are the channels each recipient is reached through.
var channelsFor = map[string][]string{
	"cnil":   {"teleservice", "email", "letter"},
	"people": {"email", "letter", "phone", "public"},
}

// LabelOf words a code of a list ("" for none, the code itself when unknown).
func LabelOf(list []Label, code string) string {
	for _, l := range list {
		if l.Code == code {
			return l.Text
		}
	}
	return code
}

// Codes lists a list's codes.
func Codes(list []Label) []string {
	out := make([]string, len(list))
	for i, l := range list {
		out[i] = l.Code
	}
	return out
}

// Details are what the DPO records about a breach (art. 33(3)).
type Details struct {
	Title string
	// OccurredAt is when the breach began (zero: unknown); DetectedAt when anyone, a processor
	// included, detected it (zero: at awareness); AwareAt when the company became reasonably
	// certain of it — the 72-hour clock starts there; EndedAt when it ended (zero: ongoing or
	// unknown).
	OccurredAt, DetectedAt, AwareAt, EndedAt time.Time
	Nature                                   []string
	Origin, Cause                            string
	Description                              string
	// DataCategories and PeopleCategories may be left empty when a scope is named: they are then
	// derived from the dictionary (the categories of the scope's tables) and from the people found.
	DataCategories, PeopleCategories []string
	// PeopleCount and RecordsCount are approximate numbers; nil until known (with a scope: what
	// was found in the data).
	PeopleCount, RecordsCount *int64
	Consequences              string
	MeasuresTaken             string
	MeasuresProposed          string
	// Advice tells the people what they can do to protect themselves (the letters carry it).
	Advice string
	// Contact is the contact point (default: the DPO of the controller).
	Contact         string
	Risk            string
	RiskReason      string
	PeopleExemption string
	Scope           Scope
}

// Breach is a breach as recorded.
type Breach struct {
	ID int64
	Details
	// PeopleFound and RecordsFound are what the scope found in the data when it was recorded.
	PeopleFound, RecordsFound int64
	// PeopleNotified counts the people concerned marked as informed.
	PeopleNotified int64
	RecordedAt     time.Time
	RecordedBy     int64
	UpdatedAt      time.Time
	Notifications  []Notification
}

// CNILRequired reports whether the CNIL must be notified (art. 33(1)): unless the breach is
// unlikely to result in a risk.
func (b *Breach) CNILRequired() bool { return b.Risk == RiskRisk || b.Risk == RiskHigh }

// PeopleRequired reports whether the people must be told (art. 34(1)): a high risk, unless an
// exception of art. 34(3) applies (a public communication then replaces the letters for the
// disproportionate effort).
func (b *Breach) PeopleRequired() bool { return b.Risk == RiskHigh && b.PeopleExemption == "" }

// Initial returns the initial notification to the CNIL, if recorded.
func (b *Breach) Initial() (Notification, bool) {
	for _, n := range b.Notifications {
		if n.Recipient == "cnil" && n.Phase == "initial" {
			return n, true
		}
	}
	return Notification{}, false
}

// Limits of the free texts, in characters.
const (
	maxTitle = 200
	maxText  = 8000
	maxShort = 4000
	minText  = 10
	// clockSkew is how far in the future a time may be: a clock a little ahead of the server's.
	clockSkew = 5 * time.Minute
	// maxListed bounds the people a breach names one by one; a scope finds more.
	maxListed = 10000
)

// normalise trims the texts, drops repeated codes and fills the defaults.
func (s *Service) normalise(d Details) Details {
	for _, p := range []*string{&d.Title, &d.Description, &d.Consequences, &d.MeasuresTaken, &d.MeasuresProposed, &d.Advice,
		&d.Contact, &d.RiskReason, &d.Origin, &d.Cause, &d.Risk, &d.PeopleExemption, &d.Scope.Department, &d.Scope.Table} {
		*p = strings.TrimSpace(*p)
	}
	d.Nature, d.DataCategories, d.PeopleCategories = codes(d.Nature), codes(d.DataCategories), codes(d.PeopleCategories)
	if d.Contact == "" {
		d.Contact = s.DefaultContact()
	}
	if d.DetectedAt.IsZero() {
		d.DetectedAt = d.AwareAt
	}
	for _, t := range []*time.Time{&d.OccurredAt, &d.DetectedAt, &d.AwareAt, &d.EndedAt, &d.Scope.From, &d.Scope.To} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Second)
		}
	}
	slices.Sort(d.Scope.PersonIDs)
	d.Scope.PersonIDs = slices.Compact(d.Scope.PersonIDs)
	return d
}

// DefaultContact is the DPO of the controller, as the privacy notice names them.
func (s *Service) DefaultContact() string {
	if s.controller.DPOEmail == "" {
		return "Délégué à la protection des données"
	}
	return "Délégué à la protection des données, " + s.controller.DPOEmail
}

func codes(in []string) []string {
	var out []string
	for _, v := range in {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	return out
}

// validate checks the details against the rules of the register; it returns every issue.
// Checks that need the database (the people named exist) are done in the transaction.
func (s *Service) validate(d Details, now time.Time) []Issue {
	var is []Issue
	add := func(field, rule, msg string) { is = append(is, Issue{field, rule, msg}) }
	text := func(field, label string, v string, lo, hi int) {
		n := utf8.RuneCountInString(v)
		switch {
		case lo > 0 && n == 0:
			add(field, "required", label+" : obligatoire")
		case n < lo:
			add(field, "min_length", fmt.Sprintf("%s : au moins %d caractères", label, lo))
		case n > hi:
			add(field, "max_length", fmt.Sprintf("%s : au plus %d caractères", label, hi))
		}
	}
	text("title", "l'intitulé", d.Title, 3, maxTitle)
	switch {
	case d.AwareAt.IsZero():
		add("aware_at", "required", "l'heure de prise de connaissance est obligatoire : le délai de 72 heures de l'article 33 en part")
	case d.AwareAt.After(now.Add(clockSkew)):
		add("aware_at", "not_future", "la prise de connaissance ne peut pas être dans le futur")
	}
	if !d.AwareAt.IsZero() && d.DetectedAt.After(d.AwareAt) {
		add("detected_at", "not_after_awareness", "la détection ne peut pas suivre la prise de connaissance")
	}
	if !d.OccurredAt.IsZero() && (d.OccurredAt.After(d.DetectedAt) || d.OccurredAt.After(now.Add(clockSkew))) {
		add("occurred_at", "not_after_detection", "le début de la violation ne peut pas suivre sa détection")
	}
	if !d.EndedAt.IsZero() {
		switch {
		case !d.OccurredAt.IsZero() && d.EndedAt.Before(d.OccurredAt):
			add("ended_at", "not_before_start", "la fin de la violation ne peut pas précéder son début")
		case d.EndedAt.After(now.Add(clockSkew)):
			add("ended_at", "not_future", "la fin de la violation ne peut pas être dans le futur")
		}
	}
	enumList := func(field, label string, values []string, list []Label, required bool) {
		if len(values) == 0 && required {
			add(field, "required", label+" : au moins une valeur parmi "+strings.Join(Codes(list), ", "))
		}
		for _, v := range values {
			if !slices.Contains(Codes(list), v) {
				add(field, "enum", label+" : valeur inconnue ; valeurs admises : "+strings.Join(Codes(list), ", "))
				return
			}
		}
	}
	enum := func(field, label, v string, list []Label, required bool) {
		switch {
		case v == "" && required:
			add(field, "required", label+" : obligatoire ; valeurs admises : "+strings.Join(Codes(list), ", "))
		case v != "" && !slices.Contains(Codes(list), v):
			add(field, "enum", label+" : valeur inconnue ; valeurs admises : "+strings.Join(Codes(list), ", "))
		}
	}
	enumList("nature", "la nature", d.Nature, Natures, true)
	enum("origin", "l'origine", d.Origin, Origins, true)
	enum("cause", "la cause", d.Cause, Causes, true)
	text("description", "les circonstances", d.Description, minText, maxText)
	// Categories left empty were derived from the scope before (data) or are after the people are
	// found (people): without a scope they must be given.
	enumList("data_categories", "les catégories de données", d.DataCategories, DataCategories, true)
	enumList("people_categories", "les catégories de personnes", d.PeopleCategories, PeopleCategories, d.Scope.IsZero())
	if d.PeopleCount != nil && *d.PeopleCount < 0 {
		add("people_count", "min", "le nombre de personnes ne peut pas être négatif")
	}
	if d.RecordsCount != nil && *d.RecordsCount < 0 {
		add("records_count", "min", "le nombre d'enregistrements ne peut pas être négatif")
	}
	text("consequences", "les conséquences probables", d.Consequences, minText, maxText)
	text("measures_taken", "les mesures prises", d.MeasuresTaken, minText, maxText)
	text("measures_proposed", "les mesures envisagées", d.MeasuresProposed, 0, maxText)
	text("advice", "les conseils aux personnes", d.Advice, 0, maxText)
	text("contact", "le point de contact", d.Contact, 3, 300)
	enum("risk", "le niveau de risque", d.Risk, Risks, true)
	text("risk_reason", "la justification du niveau de risque", d.RiskReason, minText, maxShort)
	enum("people_exemption", "l'exception à l'information des personnes", d.PeopleExemption, Exemptions, false)
	if d.PeopleExemption != "" && d.Risk != RiskHigh {
		add("people_exemption", "high_risk_only", "une exception de l'article 34(3) ne vaut que pour un risque élevé")
	}
	is = append(is, s.validateScope(d.Scope)...)
	return is
}

// validateNotification checks a notification against the breach it belongs to.
func validateNotification(b *Breach, n NotificationInput, now time.Time) []Issue {
	var is []Issue
	add := func(field, rule, msg string) { is = append(is, Issue{field, rule, msg}) }
	switch {
	case n.Recipient == "":
		add("recipient", "required", "le destinataire est obligatoire : cnil ou people")
	case !slices.Contains(Codes(Recipients), n.Recipient):
		add("recipient", "enum", "destinataire inconnu ; valeurs admises : cnil, people")
	}
	switch {
	case n.Phase == "":
		add("phase", "required", "la phase est obligatoire : initial ou complementary")
	case !slices.Contains(Codes(Phases), n.Phase):
		add("phase", "enum", "phase inconnue ; valeurs admises : initial, complementary")
	}
	if allowed, ok := channelsFor[n.Recipient]; ok && !slices.Contains(allowed, n.Channel) {
		add("channel", "enum", "moyen inconnu pour ce destinataire ; valeurs admises : "+strings.Join(allowed, ", "))
	}
	switch {
	case n.SentAt.IsZero():
		add("sent_at", "required", "la date d'envoi est obligatoire")
	case n.SentAt.Before(b.AwareAt):
		add("sent_at", "not_before_awareness", "une notification ne peut pas être datée d'avant la prise de connaissance de la violation")
	case n.SentAt.After(now.Add(clockSkew)):
		add("sent_at", "not_future", "la date d'envoi ne peut pas être dans le futur : inscrivez la notification une fois envoyée")
	}
	if utf8.RuneCountInString(n.Reference) > 64 {
		add("reference", "max_length", "la référence : au plus 64 caractères")
	}
	if utf8.RuneCountInString(n.LateReason) > maxShort {
		add("late_reason", "max_length", fmt.Sprintf("le motif du retard : au plus %d caractères", maxShort))
	}
	if utf8.RuneCountInString(n.Note) > maxText {
		add("note", "max_length", fmt.Sprintf("le contenu : au plus %d caractères", maxText))
	}
	if n.PeopleNotified != nil && *n.PeopleNotified < 0 {
		add("people_notified", "min", "le nombre de personnes informées ne peut pas être négatif")
	}
	if len(is) > 0 || n.Recipient != "cnil" {
		return is
	}
	initial, done := b.Initial()
	switch {
	case n.Phase == "initial" && done:
		add("phase", "once", "la notification initiale à la CNIL est déjà inscrite : ajoutez une notification complémentaire")
	case n.Phase == "complementary" && !done:
		add("phase", "initial_first", "une notification complémentaire suit la notification initiale à la CNIL : inscrivez d'abord celle-ci")
	case n.Phase == "complementary" && n.SentAt.Before(initial.SentAt):
		add("sent_at", "not_before_initial", "une notification complémentaire ne peut pas précéder la notification initiale")
	case n.Phase == "initial" && n.SentAt.Sub(b.AwareAt) > Deadline && utf8.RuneCountInString(n.LateReason) < minText:
		add("late_reason", "required_when_late", "notification initiale plus de 72 heures après la prise de connaissance : le motif du retard est obligatoire (art. 33(1)), 10 caractères au moins")
	}
	return is
}

// allowed checks that the department may read (or write) the register, as the dictionary says.
func (s *Service) allowed(by Staff, write bool) error {
	t := s.dict.Table("breaches")
	list := t.Read
	if write {
		list = t.Write
	}
	if !slices.Contains(list, by.Department) {
		return ErrForbidden
	}
	return nil
}

// CanRead reports whether a department may open the register (the web menu asks).
func (s *Service) CanRead(department string) bool {
	return s.allowed(Staff{Department: department}, false) == nil
}
