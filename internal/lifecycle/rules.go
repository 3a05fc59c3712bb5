package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"vigie/internal/audit"
)

// Rule is a retention rule as the engine applies it: the dictionary's default (DESIGN §5, with
// its legal source) or the DPO's latest version of it.
type Rule struct {
	Code   string
	Label  string
	Keep   string
	From   string
	Source string
	// Months is how long the data is kept, counted from From; Action is what happens then.
	Months int
	Action string
	// Actions are the actions the DPO may choose for this rule.
	Actions []string
	// Version is 0 for the dictionary's default, else the DPO's version number.
	Version   int
	Reason    string
	ChangedAt time.Time
	ChangedBy int64
}

// Actions at the end of a retention period.
const (
	Delete    = "delete"
	Anonymise = "anonymise"
	Archive   = "archive"
)

// governed are the rules the engine applies, in the order the DPO's page lists them, with the
// actions each allows: a prospect is never archived (nothing obliges to keep one), a contract is
// always archived first (the law keeps it).
var governed = []struct {
	code, label string
	actions     []string
}{
	{"prospect", "Prospects sans contact", []string{Delete}},
	{"quote_no_contract", "Devis sans contrat", []string{Anonymise, Delete}},
	{"customer", "Profil des anciens clients", []string{Anonymise, Delete}},
	{"contract", "Contrats et leurs documents", []string{Archive}},
	{"invoice", "Factures", []string{Archive}},
	{"ticket", "Tickets de support", []string{Archive, Delete}},
	{"consent_proof", "Preuves de consentement remplacées", []string{Delete}},
	{"rights_request", "Demandes de droits closes", []string{Delete}},
}

// MaxMonths bounds a rule's duration: no retention in Vigie's register reaches 30 years.
const MaxMonths = 360

// RuleError is a refused rule change; Field and Rule name what to fix.
type RuleError struct{ Field, Rule, Message string }

func (e *RuleError) Error() string { return "lifecycle: " + e.Field + ": " + e.Message }

// Rules returns the rules in force: each governed rule of the dictionary, overridden by the DPO's
// latest version where there is one.
func (e *Engine) Rules(ctx context.Context) ([]Rule, error) {
	return e.rules(ctx, e.db)
}

func (e *Engine) rules(ctx context.Context, q querier) ([]Rule, error) {
	rules := make([]Rule, 0, len(governed))
	for _, g := range governed {
		d, ok := e.dict.RetentionRule(g.code)
		if !ok {
			return nil, fmt.Errorf("lifecycle: the dictionary has no retention rule %q", g.code)
		}
		action := d.Then
		if !slices.Contains(g.actions, action) {
			action = g.actions[0]
		}
		rules = append(rules, Rule{Code: g.code, Label: g.label, Keep: d.Keep, From: d.From, Source: d.Source,
			Months: d.Months, Action: action, Actions: g.actions})
	}
	rows, err := q.QueryContext(ctx, `SELECT r.code, r.version, r.months, r.action, r.reason, r.changed_at, COALESCE(r.changed_by, 0)
		FROM retention_rules r WHERE r.version = (SELECT max(l.version) FROM retention_rules l WHERE l.code = r.code)`)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: read rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var v Rule
		var changed any
		if err := rows.Scan(&code, &v.Version, &v.Months, &v.Action, &v.Reason, &changed, &v.ChangedBy); err != nil {
			return nil, fmt.Errorf("lifecycle: read rules: %w", err)
		}
		if v.ChangedAt, err = e.timestamp(changed); err != nil {
			return nil, err
		}
		for i := range rules {
			if rules[i].Code == code {
				rules[i].Version, rules[i].Months, rules[i].Action = v.Version, v.Months, v.Action
				rules[i].Reason, rules[i].ChangedAt, rules[i].ChangedBy = v.Reason, v.ChangedAt, v.ChangedBy
			}
		}
	}
	return rules, rows.Err()
}

// RuleChange is the DPO's change to a rule: a duration, an action among the rule's, and why.
type RuleChange struct {
	Code   string
	Months int
	Action string
	Reason string
}

// SetRule records a new version of a rule, audited in the same transaction. It refuses an unknown
// rule or action, a duration that is not a whole number of months from 1 to MaxMonths, and a
// change without its reason; a refused change writes nothing.
func (e *Engine) SetRule(ctx context.Context, by Staff, c RuleChange) (Rule, error) {
	c.Reason = strings.TrimSpace(c.Reason)
	var out Rule
	err := e.db.InTx(ctx, func(tx *sql.Tx) error {
		rules, err := e.rules(ctx, tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(rules, func(r Rule) bool { return r.Code == c.Code })
		switch {
		case i < 0:
			return &RuleError{"code", "enum", "règle inconnue ; valeurs admises : " + strings.Join(ruleCodes(), ", ")}
		case c.Months < 1 || c.Months > MaxMonths:
			return &RuleError{"months", "range", fmt.Sprintf("la durée doit être un nombre entier de mois entre 1 et %d", MaxMonths)}
		case !slices.Contains(rules[i].Actions, c.Action):
			return &RuleError{"action", "enum", "action non permise pour cette règle ; valeurs admises : " + strings.Join(rules[i].Actions, ", ")}
		case utf8.RuneCountInString(c.Reason) < 10 || utf8.RuneCountInString(c.Reason) > 500:
			return &RuleError{"reason", "length", "le motif du changement est obligatoire (10 à 500 caractères)"}
		}
		out = rules[i]
		out.Version++
		out.Months, out.Action, out.Reason, out.ChangedAt, out.ChangedBy = c.Months, c.Action, c.Reason, e.now().UTC(), by.UserID
		if _, err := tx.ExecContext(ctx, `INSERT INTO retention_rules (code, version, months, action, reason, changed_by, changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, out.Code, out.Version, out.Months, out.Action, out.Reason, nullID(by.UserID), out.ChangedAt); err != nil {
			return fmt.Errorf("lifecycle: store rule: %w", err)
		}
		return e.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionSetting,
			Table: "retention_rules", Purpose: "compliance",
			Detail: fmt.Sprintf("rule=%s version=%d months=%d action=%s", out.Code, out.Version, out.Months, out.Action)})
	})
	return out, err
}

func ruleCodes() []string {
	codes := make([]string, len(governed))
	for i, g := range governed {
		codes[i] = g.code
	}
	return codes
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
