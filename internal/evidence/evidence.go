// Package evidence is what the DPO hands the CNIL (DESIGN §12, R44): a report where every statement
// comes from a named check run on the live data at a stated time, with its result. A check that
// fails says so in the report; nothing is asserted that was not checked.
package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/breach"
	"vigie/internal/stats"
)

// Outcomes of a check.
const (
	Pass = "conforme"
	Fail = "non conforme"
)

// Result is one check as run.
type Result struct {
	ID, Rule, Title string
	// Method says how the check was made, in a sentence the CNIL can follow.
	Method  string
	Outcome string
	// Details are the figures the outcome rests on: counts, codes, never personal data.
	Details []string
	RanAt   time.Time
	Elapsed time.Duration
}

// Passed tells whether the check found the rule kept.
func (r Result) Passed() bool { return r.Outcome == Pass }

// Check is a named check of a rule on the live data.
type Check struct {
	ID, Rule, Title, Method string
	// run returns the details and whether the rule holds; an error is a check that could not run,
	// reported as failed with its reason.
	run func(ctx context.Context, a *app.App, now time.Time) (details []string, ok bool, err error)
}

// Report is the evidence pack: the controller, when it was made, and every check.
type Report struct {
	Controller, DPOEmail string
	At                   time.Time
	Results              []Result
	// Consents is the coverage of each consent purpose: people whose latest choice is a consent.
	Consents []Coverage
	// Deadlines counts the open rights requests by the time left to answer them.
	Deadlines []Bucket
}

// Bucket is a number of open requests whose time left falls in a band.
type Bucket struct {
	Label string
	N     int64
}

// Coverage is how many people consent to a purpose now.
type Coverage struct {
	Purpose            string
	Granted, Withdrawn int64
}

// Failed counts the checks that failed.
func (r *Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.Passed() {
			n++
		}
	}
	return n
}

// Run runs every check on the app's live data at now.
func Run(ctx context.Context, a *app.App, now time.Time) (*Report, error) {
	rep := &Report{Controller: a.Config.Controller.Name, DPOEmail: a.Config.Controller.DPOEmail, At: now.UTC()}
	for _, c := range Checks() {
		start := time.Now()
		details, ok, err := c.run(ctx, a, now)
		res := Result{ID: c.ID, Rule: c.Rule, Title: c.Title, Method: c.Method, Outcome: Pass, Details: details,
			RanAt: a.Now().UTC(), Elapsed: time.Since(start)}
		if err != nil {
			res.Details = append(res.Details, "le contrôle n'a pas pu s'exécuter : "+err.Error())
		}
		if err != nil || !ok {
			res.Outcome = Fail
		}
		rep.Results = append(rep.Results, res)
	}
	coverage, err := consentCoverage(ctx, a)
	if err != nil {
		return nil, err
	}
	rep.Consents = coverage
	if rep.Deadlines, err = deadlines(ctx, a, now); err != nil {
		return nil, err
	}
	return rep, nil
}

// Checks are the report's checks, in its order.
func Checks() []Check {
	return []Check{
		{ID: "schema", Rule: "R01", Title: "Le schéma de la base est à jour et conforme au dictionnaire",
			Method: "Liste des migrations appliquées comparée à celles du programme.", run: checkSchema},
		{ID: "audit", Rule: "R16 R17", Title: "Le journal d'audit est intègre",
			Method: "Recalcul de chaque chaîne de hachage depuis son début ou son point de contrôle signé, et vérification des signatures Ed25519.", run: checkAudit},
		{ID: "encryption", Rule: "R26", Title: "Les données personnelles sont chiffrées par personne",
			Method: "Pour chaque colonne chiffrée du dictionnaire, jusqu'à 50 valeurs tirées au hasard sont déchiffrées avec la clé de leur personne.", run: checkEncryption},
		{ID: "rights", Rule: "R32", Title: "Les demandes des personnes sont traitées dans les délais",
			Method: "Demandes ouvertes dont l'échéance est passée, et demandes closes après leur échéance.", run: checkRights},
		{ID: "retention", Rule: "R33 R34 R35 R36", Title: "Les durées de conservation sont respectées",
			Method: "Enregistrements dont la durée de conservation est dépassée aujourd'hui, règle par règle (hors gels et limitations).", run: checkRetention},
		{ID: "sensitive", Rule: "R03 R04 R05 R06", Title: "Aucune donnée sensible n'est enregistrée",
			Method: "Résultat de la dernière recherche de données sensibles (vigie scan), qui doit dater de moins de 48 heures.", run: checkSensitive},
		{ID: "breaches", Rule: "R39 R40", Title: "Les violations sont notifiées dans les 72 heures",
			Method: "Horloge de chaque violation du registre : notification à la CNIL due et non faite, retard sans motif, personnes à prévenir.", run: checkBreaches},
		{ID: "mfa", Rule: "R14", Title: "Tout le personnel se connecte avec un second facteur",
			Method: "Comptes actifs sans second facteur enrôlé.", run: checkMFA},
		{ID: "passwords", Rule: "R12 R13", Title: "Les mots de passe respectent leur durée de validité",
			Method: "Comptes actifs dont le mot de passe a dépassé la durée fixée pour leur service.", run: checkPasswords},
		{ID: "charter", Rule: "R43", Title: "Le personnel a accepté la charte et suivi les formations",
			Method: "Acceptation de la version en vigueur de la charte et modules de formation obligatoires valides, compte par compte.", run: checkCharter},
		{ID: "statistics", Rule: "R37", Title: "Les statistiques remises sont k-anonymes",
			Method: "Préparation de l'extrait complet avec k = 10 : plus petit groupe et taux de suppression.", run: checkStatistics},
		{ID: "register", Rule: "R38", Title: "Le registre des traitements est complet",
			Method: "Génération du registre depuis le dictionnaire et les règles en vigueur, et contrôle de chaque champ de l'article 30.1.", run: checkRegister},
	}
}

func checkSchema(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	status, err := a.DB.Status(ctx)
	if err != nil {
		return nil, false, err
	}
	var applied, pending, unknown int
	for _, m := range status {
		switch {
		case m.Unknown:
			unknown++
		case m.Applied:
			applied++
		default:
			pending++
		}
	}
	return []string{fmt.Sprintf("%d migrations appliquées, %d en attente, %d inconnues du programme", applied, pending, unknown)},
		pending == 0 && unknown == 0, nil
}

func checkAudit(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	rep, err := audit.Verify(ctx, a.DB, a.Audit.PublicKey(), nil)
	if err != nil {
		return nil, false, err
	}
	var details []string
	for _, c := range rep.Chains {
		details = append(details, fmt.Sprintf("chaîne %s : %d événements vérifiés", c.Chain, c.Events))
	}
	for _, p := range rep.Problems {
		details = append(details, "anomalie : "+p.String())
	}
	return details, rep.OK(), nil
}

func checkEncryption(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	var checked, failed int
	var bad []string
	for _, t := range a.Dict.Tables {
		if t.PersonColumn == "" {
			continue
		}
		for _, c := range t.Columns {
			if !c.Encrypted {
				continue
			}
			n, wrong, err := sampleColumn(ctx, a, t.Name, t.PersonColumn, c.Name)
			if err != nil {
				return nil, false, err
			}
			checked += n
			if wrong > 0 {
				failed += wrong
				bad = append(bad, fmt.Sprintf("%s.%s : %d valeur(s) sur %d ne s'ouvrent pas avec la clé de leur personne", t.Name, c.Name, wrong, n))
			}
		}
	}
	details := append([]string{fmt.Sprintf("%d valeurs chiffrées contrôlées, %d en défaut", checked, failed)}, bad...)
	return details, failed == 0, nil
}

// sampleColumn opens up to 50 random non-empty values of a column with their person's key.
func sampleColumn(ctx context.Context, a *app.App, table, personColumn, column string) (checked, wrong int, err error) {
	var n int64
	if err := a.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+column+" IS NOT NULL").Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("evidence: count %s.%s: %w", table, column, err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	offset := int64(0)
	if n > 50 {
		offset = rand.Int64N(n - 49)
	}
	rows, err := a.DB.QueryContext(ctx, "SELECT t."+personColumn+", t."+column+", k.wrapped_key FROM "+table+" t LEFT JOIN subject_keys k ON k.person_id = t."+personColumn+
		" WHERE t."+column+" IS NOT NULL ORDER BY t."+personColumn+" LIMIT 50 OFFSET $1", offset)
	if err != nil {
		return 0, 0, fmt.Errorf("evidence: sample %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	place := table + "." + column
	for rows.Next() {
		var person int64
		var sealed, wrapped []byte
		if err := rows.Scan(&person, &sealed, &wrapped); err != nil {
			return 0, 0, fmt.Errorf("evidence: sample %s: %w", place, err)
		}
		checked++
		if wrapped == nil {
			wrong++ // a value whose person has no key left: it should have gone with the erasure
			continue
		}
		sk, err := a.Keys.Unwrap(person, wrapped)
		if err != nil {
			wrong++
			continue
		}
		if _, _, err := sk.Open(place, sealed); err != nil {
			wrong++
		}
	}
	return checked, wrong, rows.Err()
}

func checkRights(ctx context.Context, a *app.App, now time.Time) ([]string, bool, error) {
	backlogs, err := a.Rights.Backlogs(ctx, now)
	if err != nil {
		return nil, false, err
	}
	var open, overdue int64
	var late []string
	for _, b := range backlogs {
		open += b.Open
		overdue += b.Overdue
		if b.Overdue > 0 {
			late = append(late, fmt.Sprintf("%s : %d en retard", b.Type, b.Overdue))
		}
	}
	var closed, closedLate int64
	err = a.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN closed_at > due_at THEN 1 END) FROM rights_requests WHERE closed_at IS NOT NULL`).
		Scan(&closed, &closedLate)
	if err != nil {
		return nil, false, fmt.Errorf("evidence: closed requests: %w", err)
	}
	details := []string{fmt.Sprintf("%d demande(s) ouverte(s), dont %d en retard", open, overdue),
		fmt.Sprintf("%d demande(s) close(s), dont %d après l'échéance", closed, closedLate)}
	return append(details, late...), overdue == 0 && closedLate == 0, nil
}

func checkRetention(ctx context.Context, a *app.App, now time.Time) ([]string, bool, error) {
	due, err := a.Lifecycle.Due(ctx, now)
	if err != nil {
		return nil, false, err
	}
	var overdue, suspended int64
	var lines []string
	for _, d := range due {
		overdue += d.Now
		suspended += d.Suspended
		if d.Now > 0 {
			lines = append(lines, fmt.Sprintf("%s / %s : %d en retard", d.Rule, d.Action, d.Now))
		}
	}
	details := []string{fmt.Sprintf("%d enregistrement(s) en retard, %d suspendu(s) par un gel ou une limitation", overdue, suspended)}
	return append(details, lines...), overdue == 0, nil
}

// SensitiveScanSetting is the settings entry where vigie scan keeps its last summary.
const SensitiveScanSetting = "sensitive_scan.last"

// sensitiveScanMaxAge is how old the last scan may be for the check to rely on it.
const sensitiveScanMaxAge = 48 * time.Hour

func checkSensitive(ctx context.Context, a *app.App, now time.Time) ([]string, bool, error) {
	var value string
	err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, SensitiveScanSetting).Scan(&value)
	if err != nil {
		return []string{"aucune recherche de données sensibles n'a été faite (vigie scan)"}, false, nil
	}
	var sum struct {
		At       time.Time `json:"at"`
		Rows     int64     `json:"rows"`
		Findings int64     `json:"findings"`
		Columns  []string  `json:"columns"`
	}
	if err := json.Unmarshal([]byte(value), &sum); err != nil {
		return nil, false, fmt.Errorf("evidence: read the last scan: %w", err)
	}
	details := []string{fmt.Sprintf("dernière recherche le %s : %d ligne(s) lue(s), %d constat(s)", sum.At.UTC().Format("2006-01-02 15:04 MST"), sum.Rows, sum.Findings)}
	if len(sum.Columns) > 0 {
		details = append(details, "colonnes à examiner : "+strings.Join(sum.Columns, ", "))
	}
	fresh := now.Sub(sum.At) <= sensitiveScanMaxAge
	if !fresh {
		details = append(details, "la recherche date de plus de 48 heures : relancez vigie scan")
	}
	return details, fresh && sum.Findings == 0, nil
}

func checkBreaches(ctx context.Context, a *app.App, now time.Time) ([]string, bool, error) {
	list, err := a.Breaches.List(ctx, breach.Staff{Department: "dpo"})
	if err != nil {
		return nil, false, err
	}
	counts := map[string]int{}
	var lateWithoutReason, peoplePending int
	for i := range list {
		c := list[i].Clock(now)
		counts[c.State]++
		if c.People == breach.PeoplePending {
			peoplePending++
		}
		if initial, ok := list[i].Initial(); ok && c.Late && initial.LateReason == "" {
			lateWithoutReason++
		}
	}
	details := []string{fmt.Sprintf("%d violation(s) au registre : %d horloge(s) en cours, %d en retard, %d notifiée(s), %d sans notification requise",
		len(list), counts[breach.ClockRunning], counts[breach.ClockOverdue], counts[breach.ClockNotified], counts[breach.ClockNotRequired]),
		fmt.Sprintf("%d notification(s) tardive(s) sans motif, %d violation(s) à risque élevé dont les personnes restent à prévenir", lateWithoutReason, peoplePending)}
	return details, counts[breach.ClockOverdue] == 0 && lateWithoutReason == 0 && peoplePending == 0, nil
}

func checkMFA(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	var active, without int64
	err := a.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN totp_enrolled_at IS NULL THEN 1 END) FROM users WHERE NOT disabled`).Scan(&active, &without)
	if err != nil {
		return nil, false, fmt.Errorf("evidence: second factors: %w", err)
	}
	return []string{fmt.Sprintf("%d compte(s) actif(s), %d sans second facteur enrôlé", active, without)}, without == 0, nil
}

func checkPasswords(ctx context.Context, a *app.App, now time.Time) ([]string, bool, error) {
	rows, err := a.DB.QueryContext(ctx, `SELECT department, password_changed_at, created_at FROM users WHERE NOT disabled`)
	if err != nil {
		return nil, false, fmt.Errorf("evidence: passwords: %w", err)
	}
	type account struct {
		department       string
		changed, created any
	}
	var accounts []account
	for rows.Next() {
		var acc account
		if err := rows.Scan(&acc.department, &acc.changed, &acc.created); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("evidence: passwords: %w", err)
		}
		accounts = append(accounts, acc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("evidence: passwords: %w", err)
	}
	users := a.Dict.Table("users")
	maxAges := map[string]time.Duration{}
	expired := map[string]int{}
	var total int
	for _, acc := range accounts {
		maxAge, seen := maxAges[acc.department]
		if !seen {
			if maxAge, err = a.Auth.PasswordMaxAge(ctx, acc.department); err != nil {
				return nil, false, err
			}
			maxAges[acc.department] = maxAge
		}
		if maxAge == 0 {
			continue
		}
		since, err := users.Column("password_changed_at").FromDB(acc.changed)
		if err == nil && since == nil {
			since, err = users.Column("created_at").FromDB(acc.created)
		}
		if err != nil {
			return nil, false, fmt.Errorf("evidence: passwords: %w", err)
		}
		if at, ok := since.(time.Time); ok && now.Sub(at) > maxAge {
			expired[acc.department]++
			total++
		}
	}
	details := []string{fmt.Sprintf("%d compte(s) actif(s), %d mot(s) de passe expiré(s)", len(accounts), total)}
	for dept, n := range expired {
		details = append(details, fmt.Sprintf("service %s : %d", dept, n))
	}
	return details, total == 0, nil
}

func checkCharter(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	missing, err := a.Charter.Missing(ctx)
	if err != nil {
		return nil, false, err
	}
	var unsigned, untrained int
	for _, m := range missing {
		if !m.Acknowledged {
			unsigned++
		}
		if len(m.Missing) > 0 {
			untrained++
		}
	}
	return []string{fmt.Sprintf("%d compte(s) sans acceptation de la charte en vigueur, %d avec des formations manquantes", unsigned, untrained)},
		len(missing) == 0, nil
}

func checkStatistics(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	var detailed int64
	if err := a.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM statistics WHERE price_band % 100 <> 0 OR LENGTH(month) <> 7`).Scan(&detailed); err != nil {
		return nil, false, fmt.Errorf("evidence: statistics: %w", err)
	}
	bands := fmt.Sprintf("%d ligne(s) de statistiques avec un prix détaillé ou une date plus fine que le mois", detailed)
	rep, err := a.Stats.Plan(ctx, stats.Options{K: stats.DefaultK})
	var input *stats.InputError
	if errors.As(err, &input) && input.Rule == "period_not_empty" {
		return []string{"aucune statistique : rien n'est remis au service performance", bands}, detailed == 0, nil
	}
	if err != nil {
		return nil, false, err
	}
	return []string{fmt.Sprintf("k demandé %d, k atteint %d, %d ligne(s), taux de suppression %.2f %%", rep.K, rep.KReached, rep.Rows, rep.SuppressionRate()), bands},
		rep.KReached >= int64(rep.K) && detailed == 0, nil
}

func checkRegister(ctx context.Context, a *app.App, _ time.Time) ([]string, bool, error) {
	reg, err := a.Register.Build(ctx)
	if err != nil {
		return []string{"le registre ne peut pas être produit : " + err.Error()}, false, nil
	}
	if err := reg.Validate(); err != nil {
		return []string{"champ manquant : " + err.Error()}, false, nil
	}
	return []string{fmt.Sprintf("%d activité(s) de traitement, chacune avec tous les champs de l'article 30.1", len(reg.Activities))}, true, nil
}

// consentCoverage counts, per consent purpose, the people whose latest choice is a consent or a
// withdrawal.
func consentCoverage(ctx context.Context, a *app.App) ([]Coverage, error) {
	rows, err := a.DB.QueryContext(ctx, `SELECT g.purpose, COUNT(CASE WHEN g.granted THEN 1 END), COUNT(CASE WHEN NOT g.granted THEN 1 END)
		FROM consents g WHERE g.id = (SELECT MAX(h.id) FROM consents h WHERE h.person_id = g.person_id AND h.purpose = g.purpose)
		GROUP BY g.purpose ORDER BY g.purpose`)
	if err != nil {
		return nil, fmt.Errorf("evidence: consents: %w", err)
	}
	defer rows.Close()
	var out []Coverage
	for rows.Next() {
		var c Coverage
		if err := rows.Scan(&c.Purpose, &c.Granted, &c.Withdrawn); err != nil {
			return nil, fmt.Errorf("evidence: consents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// deadlines counts the open rights requests by time left: past due, within 7 days, within 15
// days, later.
func deadlines(ctx context.Context, a *app.App, now time.Time) ([]Bucket, error) {
	out := []Bucket{{Label: "en retard"}, {Label: "moins de 7 jours"}, {Label: "7 à 15 jours"}, {Label: "plus de 15 jours"}}
	err := a.DB.QueryRowContext(ctx, `SELECT COUNT(CASE WHEN due_at < $1 THEN 1 END), COUNT(CASE WHEN due_at >= $1 AND due_at < $2 THEN 1 END),
		COUNT(CASE WHEN due_at >= $2 AND due_at < $3 THEN 1 END), COUNT(CASE WHEN due_at >= $3 THEN 1 END)
		FROM rights_requests WHERE closed_at IS NULL`, now, now.AddDate(0, 0, 7), now.AddDate(0, 0, 15)).
		Scan(&out[0].N, &out[1].N, &out[2].N, &out[3].N)
	if err != nil {
		return nil, fmt.Errorf("evidence: rights deadlines: %w", err)
	}
	return out, nil
}
