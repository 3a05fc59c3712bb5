// Package register is the register of processing activities (DESIGN §2, rule R38; GDPR art. 30):
// one activity per purpose of the data dictionary, with every field art. 30(1) asks for — the
// controller and its DPO, the purpose and its legal basis, the categories of data subjects and of
// personal data, the recipients, the transfers outside the EU, the retention of each category and
// the security measures.
//
// Nothing in it is typed twice. The purposes, their legal bases, recipients, subjects and
// retention rules, the departments and the columns serving each purpose are the dictionary's, the
// same rows that decide access (R08); the durations are the lifecycle's rules in force, the same
// ones the engine applies (R33–R36), as the DPO last changed them; the security measures describe
// what the code does, from its own constants. Changing a duration changes the register; a new
// version is kept when, and only when, its content changed.
//
// The register holds no data about any person: it describes the processing, not its records.
package register

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vigie/internal/consent"
	"vigie/internal/dictionary"
	"vigie/internal/lifecycle"
)

// Format names the JSON layout of a register's content.
const Format = "vigie-registre-art30/1"

// Title is the register's title, as the CNIL's model names it.
const Title = "Registre des activités de traitement"

// Register is the register of processing activities at one moment: its content, hashed and kept
// by version. It carries no timestamp of its own, so two registers with the same content are
// byte for byte the same.
type Register struct {
	Format     string `json:"format"`
	Title      string `json:"title"`
	Dictionary string `json:"dictionary_version"`
	// Actors are the controller and its DPO (art. 30(1)(a)), the same for every activity.
	Actors     Actors     `json:"actors"`
	Activities []Activity `json:"activities"`
	// Security is the general description of the technical and organisational measures
	// (art. 30(1)(g), 32(1)), the same for every activity: they are the software's.
	Security []Measure `json:"security_measures"`
}

// Actors are who is responsible for the processing and how to reach them (art. 30(1)(a)).
type Actors struct {
	Controller       string `json:"controller"`
	Address          string `json:"address"`
	DPO              string `json:"dpo"`
	Representative   string `json:"representative"`
	JointControllers string `json:"joint_controllers"`
}

// Activity is one processing activity: one purpose of the dictionary.
type Activity struct {
	// Ref is the activity's number in the register (RT-01…), in the dictionary's order.
	Ref  string `json:"ref"`
	Code string `json:"code"`
	Name string `json:"name"`
	// LegalBasis is the purpose's legal basis (art. 6).
	LegalBasis string `json:"legal_basis"`
	// Departments are the departments that carry the purpose out: exactly those whose staff act
	// for it, the access control's own list.
	Departments []string `json:"departments"`
	Subjects    []string `json:"subjects"`
	// Data are the categories of personal data the purpose uses, from the dictionary's columns.
	Data []DataCategory `json:"data_categories"`
	// Sensitive says what the activity does with the data of art. 9 and 10.
	Sensitive string `json:"sensitive_data"`
	// Recipients are the dictionary's recipients of the purpose (insurers, the CNIL on request…).
	Recipients string `json:"recipients"`
	// Transfers outside the European Union; none by default.
	Transfers []dictionary.Transfer `json:"transfers"`
	// Retention are the retention rules of the purpose, as in force.
	Retention []Retention `json:"retention"`
}

// DataCategory is one category of personal data of an activity, with its fields and retention.
type DataCategory struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// Fields are the labels of the dictionary's personal columns in the category.
	Fields []string `json:"fields"`
	// Encrypted is how many of them are encrypted under the person's key.
	Encrypted int `json:"encrypted"`
	// Retention are the codes of the rules the fields are kept by.
	Retention []string `json:"retention"`
}

// Retention is a retention rule of an activity as in force: the lifecycle's (with the DPO's
// latest version) for the rules the engine applies, the dictionary's for the others.
type Retention struct {
	Rule  string `json:"rule"`
	Label string `json:"label"`
	// Duration is how long, in words; Months is the same as a number where the rule has one.
	Duration string `json:"duration"`
	Months   int    `json:"months,omitempty"`
	From     string `json:"from"`
	// Then is what happens at the end, in French.
	Then   string `json:"then"`
	Source string `json:"source"`
	// AppliesTo are the labels of the tables the rule governs within the activity.
	AppliesTo []string `json:"applies_to"`
	// Version is 0 for the dictionary's default, else the DPO's version of the rule.
	Version   int    `json:"version,omitempty"`
	ChangedOn string `json:"changed_on,omitempty"`
}

// Measure is one heading of the security measures, as the CNIL's model lists them.
type Measure struct {
	Heading string `json:"heading"`
	Text    string `json:"text"`
}

// Text is the rule in one sentence, as the exports print it.
func (r Retention) Text() string {
	s := r.Duration + ", à compter de : " + r.From + " ; puis " + r.Then + ". Source : " + r.Source + "."
	if r.Version > 0 {
		s += fmt.Sprintf(" Durée fixée par le DPO (version %d du %s).", r.Version, r.ChangedOn)
	}
	return s
}

// categoryLabels names the dictionary's categories as a register does.
var categoryLabels = map[string]string{
	"identity":     "État civil, identité",
	"contact":      "Coordonnées",
	"vehicle":      "Véhicule assuré",
	"driver":       "Conducteur (permis, bonus-malus, antécédents déclarés)",
	"pricing":      "Informations d'ordre économique et financier (tarif, prime, commission)",
	"contract":     "Contrat d'assurance et ses documents",
	"relationship": "Relation commerciale",
	"free_text":    "Textes libres (notes, messages, motifs)",
	"consent":      "Consentements et oppositions",
	"statistical":  "Statistiques",
	"staff":        "Personnel (comptes et contacts)",
	"technical":    "Données techniques",
}

// actionLabels names the end-of-life actions.
var actionLabels = map[string]string{
	"delete":    "suppression",
	"anonymise": "anonymisation",
	"archive":   "archivage",
	"renew":     "demande de renouvellement",
	"keep":      "conservation",
}

// sensitiveText is what every activity does with the data of art. 9 and 10: Vigie refuses it.
const sensitiveText = "Aucune. Les données sensibles (art. 9 : santé dont groupe sanguin, opinions, appartenance syndicale, vie sexuelle, biométrie), " +
	"le numéro de sécurité sociale (NIR) et les données d'infraction (art. 10) sont refusés à la saisie, dans les textes libres et les imports " +
	"(détecteurs du NIR avec sa clé, des groupes sanguins, du vocabulaire de santé, des cartes bancaires et des IBAN) ; " +
	"les questions de souscription exigées par les assureurs sont de simples oui/non, sans détail."

// noTransfer is what the register says when a purpose declares no transfer.
const noTransfer = "Aucun transfert hors de l'Union européenne : Vigie n'appelle aucun service tiers (ni CDN ni télémétrie) " +
	"et les données restent chez l'hébergeur que le courtier a choisi."

// RuleSource gives the retention rules in force: the lifecycle engine.
type RuleSource interface {
	Rules(ctx context.Context) ([]lifecycle.Rule, error)
}

// AccessLogSource gives the access log's retention in force: the audit trail.
type AccessLogSource interface {
	AccessRetention(ctx context.Context) (int, error)
}

// Inputs are what a register is generated from.
type Inputs struct {
	Dict       *dictionary.Dictionary
	Rules      []lifecycle.Rule
	Controller consent.Controller
	// AccessLogMonths is the audit trail's retention of reads, in months (0: the dictionary's text).
	AccessLogMonths int
	// Antivirus says whether uploads are scanned on this installation.
	Antivirus bool
}

// Generate builds the register from its sources, then checks it: a register missing a field of
// art. 30(1) is refused (*Issue errors), never returned.
func Generate(in Inputs) (*Register, error) {
	d := in.Dict
	r := &Register{
		Format:     Format,
		Title:      Title,
		Dictionary: d.Version,
		Actors: Actors{
			Controller:       strings.TrimSpace(in.Controller.Name),
			Address:          strings.TrimSpace(in.Controller.Address),
			DPO:              strings.TrimSpace(in.Controller.DPOEmail),
			Representative:   "Sans objet : le responsable du traitement est établi dans l'Union européenne (art. 27).",
			JointControllers: "Aucun.",
		},
		Security: securityMeasures(in.AccessLogMonths, in.Antivirus),
	}
	rules := map[string]lifecycle.Rule{}
	for _, rule := range in.Rules {
		rules[rule.Code] = rule
	}
	for i, p := range d.Purposes {
		a := Activity{
			Ref:        fmt.Sprintf("RT-%02d", i+1),
			Code:       p.Code,
			Name:       p.Name,
			LegalBasis: p.LegalBasis,
			Subjects:   slices.Clone(p.Subjects),
			Sensitive:  sensitiveText,
			Recipients: p.Recipients,
			Transfers:  slices.Clone(p.Transfers),
		}
		if a.Transfers == nil {
			a.Transfers = []dictionary.Transfer{}
		}
		for _, dep := range d.Departments {
			if slices.Contains(dep.Purposes, p.Code) {
				a.Departments = append(a.Departments, dep.Name)
			}
		}
		a.Data = dataCategories(d, p.Code)
		for _, code := range p.Retention {
			a.Retention = append(a.Retention, retentionLine(d, p.Code, code, rules, in.AccessLogMonths))
		}
		r.Activities = append(r.Activities, a)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// dataCategories lists, category by category in the dictionary's order, the personal columns that
// serve the purpose, with the rules they are kept by.
func dataCategories(d *dictionary.Dictionary, purpose string) []DataCategory {
	byCode := map[string]*DataCategory{}
	for _, t := range d.Tables {
		for _, c := range t.Columns {
			if !c.Personal || !slices.Contains(c.Purposes, purpose) {
				continue
			}
			dc := byCode[c.Category]
			if dc == nil {
				dc = &DataCategory{Code: c.Category, Label: cmp.Or(categoryLabels[c.Category], c.Category)}
				byCode[c.Category] = dc
			}
			if !slices.Contains(dc.Fields, c.Label) {
				dc.Fields = append(dc.Fields, c.Label)
			}
			if c.Encrypted {
				dc.Encrypted++
			}
			if !slices.Contains(dc.Retention, c.RetentionRule) {
				dc.Retention = append(dc.Retention, c.RetentionRule)
			}
		}
	}
	var out []DataCategory
	for _, code := range dictionary.Categories {
		if dc := byCode[code]; dc != nil {
			out = append(out, *dc)
		}
	}
	return out
}

// retentionLine is one rule of a purpose as in force. The rules the lifecycle engine applies take
// its duration and action (the DPO's latest version); the access log takes the audit trail's
// setting; the others are the dictionary's text.
func retentionLine(d *dictionary.Dictionary, purpose, code string, rules map[string]lifecycle.Rule, accessMonths int) Retention {
	def, _ := d.RetentionRule(code)
	line := Retention{Rule: code, Duration: def.Keep, Months: def.Months, From: def.From,
		Then: cmp.Or(actionLabels[def.Then], def.Then), Source: def.Source}
	for _, t := range d.Tables {
		for _, c := range t.Columns {
			if c.RetentionRule == code && slices.Contains(c.Purposes, purpose) {
				if !slices.Contains(line.AppliesTo, t.Label) {
					line.AppliesTo = append(line.AppliesTo, t.Label)
				}
				break
			}
		}
	}
	if rule, ok := rules[code]; ok {
		line.Label = rule.Label
		line.Months = rule.Months
		line.Then = cmp.Or(actionLabels[rule.Action], lifecycle.ActionLabel(rule.Action))
		if rule.Version > 0 {
			line.Duration = MonthsText(rule.Months)
			line.Version = rule.Version
			line.ChangedOn = frenchDate(rule.ChangedAt)
		}
	}
	if code == "access_log" && accessMonths > 0 {
		line.Months = accessMonths
		line.Duration = fmt.Sprintf("lectures de données personnelles : %s glissants (réglage en vigueur) ; écritures, demandes de droits et violations : 5 ans", MonthsText(accessMonths))
	}
	if line.Label == "" {
		line.Label = strings.Join(line.AppliesTo, ", ")
	}
	if line.Label == "" {
		line.Label = code
	}
	return line
}

// MonthsText says a number of months in French, with the years when it is a whole number of them:
// "48 mois (4 ans)", "18 mois", "12 mois (1 an)".
func MonthsText(m int) string {
	s := fmt.Sprintf("%d mois", m)
	switch {
	case m == 12:
		s += " (1 an)"
	case m > 12 && m%12 == 0:
		s += fmt.Sprintf(" (%d ans)", m/12)
	}
	return s
}

var paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.UTC
	}
	return l
}()

func frenchDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(paris).Format("02/01/2006")
}

func frenchTime(t time.Time) string { return t.In(paris).Format("02/01/2006 à 15:04") }

// Issue is a field of art. 30(1) missing from an activity of the register: Activity is the
// purpose's code (empty for the register's actors), Field the field, Rule the requirement broken.
type Issue struct {
	Activity, Field, Rule, Message string
}

func (e *Issue) Error() string {
	where := "register"
	if e.Activity != "" {
		where += " " + e.Activity
	}
	return where + ": " + e.Field + ": " + e.Message + " (" + e.Rule + ")"
}

// Issues lists the *Issue errors err holds (Validate joins them), in order.
func Issues(err error) []*Issue {
	var out []*Issue
	var issue *Issue
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, Issues(e)...)
		}
	} else if errors.As(err, &issue) {
		out = append(out, issue)
	}
	return out
}

// Validate refuses a register missing a field of art. 30(1), each issue naming the activity, the
// field and the point of the article.
func (r *Register) Validate() error {
	var errs []error
	need := func(activity, field, rule, value, message string) {
		if strings.TrimSpace(value) == "" {
			errs = append(errs, &Issue{Activity: activity, Field: field, Rule: rule, Message: message})
		}
	}
	need("", "controller", "art30_1_a", r.Actors.Controller, "le nom du responsable du traitement manque (VIGIE_CONTROLLER_NAME)")
	need("", "address", "art30_1_a", r.Actors.Address, "les coordonnées du responsable du traitement manquent (VIGIE_CONTROLLER_ADDRESS)")
	need("", "dpo", "art30_1_a", r.Actors.DPO, "le contact du délégué à la protection des données manque (VIGIE_DPO_EMAIL)")
	if len(r.Activities) == 0 {
		errs = append(errs, &Issue{Field: "activities", Rule: "art30_1_b", Message: "le registre ne décrit aucun traitement"})
	}
	if len(r.Security) == 0 {
		errs = append(errs, &Issue{Field: "security_measures", Rule: "art30_1_g", Message: "les mesures de sécurité manquent"})
	}
	for _, a := range r.Activities {
		need(a.Code, "name", "art30_1_b", a.Name, "la finalité n'a pas de nom")
		need(a.Code, "legal_basis", "art6", a.LegalBasis, "la finalité n'a pas de base légale")
		need(a.Code, "subjects", "art30_1_c", strings.Join(a.Subjects, ""), "les catégories de personnes concernées manquent")
		if len(a.Data) == 0 {
			errs = append(errs, &Issue{Activity: a.Code, Field: "data_categories", Rule: "art30_1_c", Message: "aucune catégorie de données personnelles ne sert cette finalité"})
		}
		need(a.Code, "recipients", "art30_1_d", a.Recipients, "les destinataires manquent")
		if len(a.Retention) == 0 {
			errs = append(errs, &Issue{Activity: a.Code, Field: "retention", Rule: "art30_1_f", Message: "la finalité n'a pas de durée de conservation"})
		}
		for _, rt := range a.Retention {
			need(a.Code, "retention."+rt.Rule, "art30_1_f", rt.Duration, "la règle de conservation n'a pas de durée")
		}
		for i, tr := range a.Transfers {
			need(a.Code, fmt.Sprintf("transfers[%d].safeguards", i), "art30_1_e", tr.Safeguards, "un transfert hors de l'UE doit dire ses garanties")
		}
	}
	return errors.Join(errs...)
}
