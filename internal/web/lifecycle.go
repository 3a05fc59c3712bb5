package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"vigie/internal/dictionary"
	"vigie/internal/lifecycle"
)

// The DPO's lifecycle page (DESIGN §5, R33–R36): what the retention rules have to do now, within
// 30 and within 90 days and what a hold or a restriction suspends, drawn as a chart; the rules in
// force, each changeable with its reason; the last runs, with a button to simulate one and one
// to launch one; and the legal holds, listed without their reason (sealed under the person's key),
// placed and lifted here. The page shows counts, rule names and record numbers, never personal
// data; every change goes through the engine, which audits it.

// lifecycleDepartment is the only department that steers the end of life of the data.
const lifecycleDepartment = "dpo"

const lifecycleForbidden = "Le cycle de vie des données (durées de conservation, passages, gels) est piloté par le DPO."

// lifecycleRunsShown is how many runs the page lists.
const lifecycleRunsShown = 20

var lifecycleMessages = map[string]string{
	"regle": "Règle modifiée : la nouvelle version s'applique dès le prochain passage.",
	"gel":   "Gel posé : aucune action de fin de vie ne touche plus la personne jusqu'à sa fin.",
	"levee": "Gel levé : les règles s'appliquent de nouveau à la personne au prochain passage (sauf autre gel ou limitation).",
	"echec": "Le passage s'est interrompu sur une erreur : ce qui a été fait est compté, le prochain passage reprend le reste.",
}

type lifecycleView struct {
	// At is the day the counts are for.
	At      string
	Due     []dueLine
	Overdue int64
	Chart   *dueChart
	Rules   []ruleLine
	// RuleForm is a refused rule change, shown again in its rule's form with its error.
	RuleForm *ruleForm
	Runs     []runLine
	// Last is the run just launched or simulated, when the page follows one.
	Last     *runLine
	Holds    []holdLine
	HoldForm holdForm
	Done     string
	Error    string
	// ErrorHref links the error to the field it names.
	ErrorHref string
}

type dueLine struct {
	lifecycle.Due
	ActionLabel string
}

type ruleLine struct {
	lifecycle.Rule
	ActionLabel string
	Changed     string
	Options     []option
	// FormMonths and FormReason fill the rule's form: the rule's duration, or what the DPO sent
	// when the change was refused, with Errors beside their fields (Open unfolds the form).
	FormMonths, FormReason string
	Errors                 map[string]string
	Open                   bool
}

// ruleForm is a rule change as the DPO sent it.
type ruleForm struct {
	Code, Months, Action, Reason string
	Errors                       map[string]string
}

type runLine struct {
	lifecycle.Run
	AsOfText, Started, Duration, State string
	Handled                            int64
	// ByRule are the run's counts, each named by its rule's label and action.
	ByRule []countLine
}

type countLine struct {
	Label string
	N     int64
}

type holdLine struct {
	lifecycle.Hold
	Started, Ends, State string
	Active               bool
}

type holdForm struct {
	PersonID, ContractID, EndsAt, Reason string
	Errors                               map[string]string
	// Min and Max bound the date input: tomorrow, and the longest a hold may last.
	Min, Max string
}

func (s *server) lifecyclePage(w http.ResponseWriter, r *http.Request, st *session) {
	if st.User.Department != lifecycleDepartment {
		s.forbidden(w, r, st, lifecycleForbidden)
		return
	}
	v := &lifecycleView{Done: lifecycleMessages[r.URL.Query().Get("fait")]}
	if r.URL.Query().Get("fait") == "echec" {
		v.Done, v.Error = "", lifecycleMessages["echec"]
	}
	s.renderLifecycle(w, r, st, http.StatusOK, v)
}

// renderLifecycle fills the view with the engine's state and draws the page; the form a refused
// POST left in v (rule or hold, with its errors) stays as it was sent.
func (s *server) renderLifecycle(w http.ResponseWriter, r *http.Request, st *session, status int, v *lifecycleView) {
	ctx := r.Context()
	eng := s.app.Lifecycle
	now := s.app.Now()
	v.At = s.frenchDate(now)
	due, err := eng.Due(ctx, now)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v.Due, v.Overdue = nil, 0
	for _, d := range due {
		v.Due = append(v.Due, dueLine{Due: d, ActionLabel: lifecycle.ActionLabel(d.Action)})
		v.Overdue += d.Now
	}
	v.Chart = newDueChart(v.Due, v.At)

	rules, err := eng.Rules(ctx)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	labels := map[string]string{}
	v.Rules = nil
	for _, rule := range rules {
		labels[rule.Code] = rule.Label
		l := ruleLine{Rule: rule, ActionLabel: lifecycle.ActionLabel(rule.Action), FormMonths: strconv.Itoa(rule.Months)}
		if rule.Version > 0 {
			l.Changed = s.frenchTime(rule.ChangedAt)
		}
		action := rule.Action
		if f := v.RuleForm; f != nil && f.Code == rule.Code {
			l.FormMonths, l.FormReason, l.Errors, l.Open = f.Months, f.Reason, f.Errors, true
			if f.Action != "" {
				action = f.Action
			}
		}
		for _, a := range rule.Actions {
			l.Options = append(l.Options, option{Value: a, Label: lifecycle.ActionLabel(a), Selected: a == action})
		}
		v.Rules = append(v.Rules, l)
	}

	runs, err := eng.Runs(ctx, lifecycleRunsShown)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	shown, _ := strconv.ParseInt(r.URL.Query().Get("passage"), 10, 64)
	for _, run := range runs {
		l := s.runLine(run, labels)
		v.Runs = append(v.Runs, l)
		if run.ID == shown {
			v.Last = &l
		}
	}

	holds, err := eng.Holds(ctx, 0)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	for _, h := range holds {
		l := holdLine{Hold: h, Started: s.frenchDate(h.StartedAt), Ends: s.frenchDate(h.EndsAt), Active: h.Active(now)}
		switch {
		case !h.LiftedAt.IsZero():
			l.State = "levé le " + s.frenchDate(h.LiftedAt)
		case l.Active:
			l.State = "en cours"
		default:
			l.State = "terminé"
		}
		v.Holds = append(v.Holds, l)
	}
	today := now.In(s.paris)
	v.HoldForm.Min = today.AddDate(0, 0, 1).Format(dictionary.DateLayout)
	v.HoldForm.Max = today.AddDate(lifecycle.MaxHoldYears, 0, 0).Format(dictionary.DateLayout)
	s.render(w, r, st, status, "lifecycle", "Cycle de vie des données", v)
}

// runLine words a run for the table and the summary.
func (s *server) runLine(run lifecycle.Run, labels map[string]string) runLine {
	l := runLine{Run: run, AsOfText: s.frenchDate(run.AsOf), Started: s.frenchTime(run.StartedAt), Duration: "—", Handled: run.Total()}
	if !run.FinishedAt.IsZero() {
		l.Duration = frenchDuration(run.FinishedAt.Sub(run.StartedAt))
	}
	switch run.Status {
	case lifecycle.StatusDone:
		l.State = "terminé"
	case lifecycle.StatusFailed:
		l.State = "échoué"
	case lifecycle.StatusRunning:
		l.State = "en cours ou interrompu"
	default:
		l.State = run.Status
	}
	for _, c := range run.Counts {
		label := labels[c.Rule]
		if label == "" {
			label = c.Rule
		}
		l.ByRule = append(l.ByRule, countLine{Label: label + " — " + lifecycle.ActionLabel(c.Action), N: c.N})
	}
	return l
}

// frenchDuration is a run's duration as a French reader writes it: 350 ms, 4,2 s, 3 min 05 s.
func frenchDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strings.Replace(strconv.FormatFloat(d.Seconds(), 'f', 1, 64), ".", ",", 1) + " s"
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}

func (st *session) lifecycleStaff() lifecycle.Staff {
	return lifecycle.Staff{UserID: st.User.ID, Department: st.User.Department}
}

// lifecycleForm reads a POST of the page, for the DPO only.
func (s *server) lifecycleForm(w http.ResponseWriter, r *http.Request, st *session) bool {
	if st.User.Department != lifecycleDepartment {
		s.forbidden(w, r, st, lifecycleForbidden)
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.unreadableForm(w, r)
		return false
	}
	return true
}

// changeRule records a new version of a rule; a refusal is shown beside the field it names, and
// nothing is changed.
func (s *server) changeRule(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.lifecycleForm(w, r, st) {
		return
	}
	sent := &ruleForm{Code: r.PostFormValue("code"), Months: strings.TrimSpace(r.PostFormValue("months")),
		Action: r.PostFormValue("action"), Reason: r.PostFormValue("reason"), Errors: map[string]string{}}
	months, err := strconv.Atoi(sent.Months)
	if err != nil {
		// Not a number: the engine's own range check words the refusal.
		months = 0
	}
	_, err = s.app.Lifecycle.SetRule(r.Context(), st.lifecycleStaff(), lifecycle.RuleChange{Code: sent.Code, Months: months,
		Action: sent.Action, Reason: sent.Reason})
	var ruleErr *lifecycle.RuleError
	switch {
	case errors.As(err, &ruleErr) && ruleErr.Field == "code":
		s.renderLifecycle(w, r, st, http.StatusBadRequest, &lifecycleView{Error: "Règle : " + ruleErr.Message + ". Rien n'a été modifié."})
	case errors.As(err, &ruleErr):
		sent.Errors[ruleErr.Field] = ruleErr.Message
		s.renderLifecycle(w, r, st, http.StatusBadRequest, &lifecycleView{RuleForm: sent, ErrorHref: "#f-" + sent.Code + "-" + ruleErr.Field,
			Error: "La règle n'a pas été modifiée : " + ruleFieldLabels[ruleErr.Field] + " : " + ruleErr.Message + "."})
	case err != nil:
		s.fail(w, r, st, err)
	default:
		http.Redirect(w, r, "/cycle-de-vie?fait=regle#regles", http.StatusSeeOther)
	}
}

// launchRun simulates a run (dry_run=oui) or applies the rules now, then shows the run's summary.
// The run goes on if the browser is closed meanwhile: a run cut short is only resumed later.
func (s *server) launchRun(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.lifecycleForm(w, r, st) {
		return
	}
	dry := r.PostFormValue("dry_run") == "oui"
	ctx := context.WithoutCancel(r.Context())
	run, err := s.app.Lifecycle.Run(ctx, lifecycle.Options{DryRun: dry, By: st.lifecycleStaff()})
	var inputErr *lifecycle.InputError
	switch {
	case errors.As(err, &inputErr):
		s.renderLifecycle(w, r, st, http.StatusConflict, &lifecycleView{Error: "Le passage n'a pas été lancé : " + inputErr.Message + "."})
	case err != nil && run != nil && run.ID != 0:
		// Recorded as failed, with what it did counted: the summary shows it.
		s.app.Log.Error("web: lifecycle run failed", "run", run.ID, "dry_run", dry, "error", err)
		http.Redirect(w, r, fmt.Sprintf("/cycle-de-vie?fait=echec&passage=%d#passage", run.ID), http.StatusSeeOther)
	case err != nil:
		s.fail(w, r, st, err)
	default:
		s.app.Log.Info("web: lifecycle run", "run", run.ID, "dry_run", dry, "handled", run.Total(), "overdue", run.Overdue)
		http.Redirect(w, r, fmt.Sprintf("/cycle-de-vie?passage=%d#passage", run.ID), http.StatusSeeOther)
	}
}

// ruleFieldLabels name the rule form's fields in a page-level message.
var ruleFieldLabels = map[string]string{"months": "Durée de conservation", "action": "Puis", "reason": "Motif du changement"}

// holdFieldLabels name the hold form's fields in a page-level message.
var holdFieldLabels = map[string]string{
	"person_id": "N° de personne", "contract_id": "N° de contrat", "ends_at": "Fin du gel", "reason": "Motif",
}

var holdFieldIDs = map[string]string{
	"person_id": "#f-hold-person", "contract_id": "#f-hold-contract", "ends_at": "#f-hold-end", "reason": "#f-hold-reason",
}

// placeHold suspends every end-of-life action on a person (R36); a refusal is shown beside its
// field, and nothing is written.
func (s *server) placeHold(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.lifecycleForm(w, r, st) {
		return
	}
	f := holdForm{PersonID: strings.TrimSpace(r.PostFormValue("person_id")), ContractID: strings.TrimSpace(r.PostFormValue("contract_id")),
		EndsAt: strings.TrimSpace(r.PostFormValue("ends_at")), Reason: r.PostFormValue("reason"), Errors: map[string]string{}}
	req := lifecycle.HoldRequest{Reason: f.Reason}
	var err error
	if req.PersonID, err = strconv.ParseInt(f.PersonID, 10, 64); err != nil || req.PersonID <= 0 {
		f.Errors["person_id"] = "indiquez le numéro de la personne (un nombre entier)"
	}
	if f.ContractID != "" {
		if req.ContractID, err = strconv.ParseInt(f.ContractID, 10, 64); err != nil || req.ContractID <= 0 {
			f.Errors["contract_id"] = "le numéro de contrat est un nombre entier (ou laissez le champ vide)"
		}
	}
	// The hold ends at the start of that day, Paris time.
	if end, err := time.ParseInLocation(dictionary.DateLayout, f.EndsAt, s.paris); err != nil {
		f.Errors["ends_at"] = "indiquez la date de fin du gel (JJ/MM/AAAA)"
	} else {
		req.EndsAt = end
	}
	if len(f.Errors) == 0 {
		_, err = s.app.Lifecycle.PlaceHold(r.Context(), st.lifecycleStaff(), req)
		var inputErr *lifecycle.InputError
		switch {
		case errors.As(err, &inputErr):
			f.Errors[inputErr.Field] = inputErr.Message
		case errors.Is(err, lifecycle.ErrUnknownPerson):
			f.Errors["person_id"] = "aucune personne ne porte ce numéro dans Vigie"
		case err != nil:
			s.fail(w, r, st, err)
			return
		default:
			http.Redirect(w, r, "/cycle-de-vie?fait=gel#gels", http.StatusSeeOther)
			return
		}
	}
	v := &lifecycleView{HoldForm: f, Error: "Le gel n'a pas été posé :"}
	for _, field := range []string{"person_id", "contract_id", "ends_at", "reason"} {
		if m, ok := f.Errors[field]; ok {
			v.Error += " " + holdFieldLabels[field] + " : " + m + "."
			if v.ErrorHref == "" {
				v.ErrorHref = holdFieldIDs[field]
			}
		}
	}
	s.renderLifecycle(w, r, st, http.StatusBadRequest, v)
}

// liftHold ends a hold before its date.
func (s *server) liftHold(w http.ResponseWriter, r *http.Request, st *session) {
	if !s.lifecycleForm(w, r, st) {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, st)
		return
	}
	err := s.app.Lifecycle.LiftHold(r.Context(), st.lifecycleStaff(), id)
	var inputErr *lifecycle.InputError
	switch {
	case errors.As(err, &inputErr):
		s.renderLifecycle(w, r, st, http.StatusConflict, &lifecycleView{Error: fmt.Sprintf("Gel n° %d : %s.", id, inputErr.Message)})
	case err != nil:
		s.fail(w, r, st, err)
	default:
		http.Redirect(w, r, "/cycle-de-vie?fait=levee#gels", http.StatusSeeOther)
	}
}

// --- The chart --------------------------------------------------------------------------------

// dueChart is the inline SVG of what falls due, per rule and action: the rule's name, then three
// bars — overdue, within 30 days, within 90 days (each including the one before) — with their
// numbers written beside them, so that the chart reads without colour too; the table « À
// traiter » gives the same numbers.
type dueChart struct {
	Width, Height int
	Title, Desc   string
	Legend        []chartBar
	Rows          []chartRow
	// Empty is set when nothing falls due within 90 days: the chart says so instead of bars.
	Empty  bool
	EmptyY int
	// LeftOut counts the rules and actions with nothing due within 90 days, not drawn.
	LeftOut int
}

type chartRow struct {
	Label  string
	LabelY int
	Bars   []chartBar
}

type chartBar struct {
	X, Y, W, H   int
	Fill, Title  string
	Text         string
	TextX, TextY int
}

// Geometry of the chart, in SVG user units (the SVG scales to the page's width).
const (
	chartWidth  = 760
	chartBarMax = 640
	chartBarH   = 12
	chartBarGap = 3
	chartLabelH = 20
	chartRowGap = 16
	chartTop    = 36
)

// dueSeries are the three bars of a row: their colour (dark red, orange, slate: apart for the
// common colour blindnesses and in grey) and their name.
var dueSeries = []struct{ fill, name string }{
	{"#a4161a", "en retard"}, {"#c76a00", "d'ici 30 jours"}, {"#5b7083", "d'ici 90 jours"},
}

func newDueChart(due []dueLine, at string) *dueChart {
	c := &dueChart{Width: chartWidth,
		Title: "Ce qui arrive à échéance, par règle, au " + at,
		Desc: "Pour chaque règle et action : le nombre d'enregistrements en retard, à traiter d'ici 30 jours et d'ici 90 jours " +
			"(chaque nombre comprend le précédent). Les mêmes nombres figurent dans le tableau « À traiter »."}
	var most int64
	for _, d := range due {
		most = max(most, d.In90)
	}
	for i, s := range dueSeries {
		x := i * 170
		c.Legend = append(c.Legend, chartBar{X: x, Y: 6, W: 14, H: 12, Fill: s.fill, Text: s.name, TextX: x + 20, TextY: 17})
	}
	y := chartTop
	for _, d := range due {
		if d.In90 == 0 {
			c.LeftOut++
			continue
		}
		row := chartRow{Label: d.Label + " — " + d.ActionLabel, LabelY: y + 14}
		y += chartLabelH
		for i, n := range []int64{d.Now, d.In30, d.In90} {
			w := int(n * chartBarMax / most)
			if n > 0 && w < 2 {
				w = 2
			}
			row.Bars = append(row.Bars, chartBar{X: 0, Y: y, W: w, H: chartBarH, Fill: dueSeries[i].fill,
				Title: fmt.Sprintf("%s, %s : %d", row.Label, dueSeries[i].name, n), Text: strconv.FormatInt(n, 10),
				TextX: w + 6, TextY: y + chartBarH - 2})
			y += chartBarH + chartBarGap
		}
		y += chartRowGap
		c.Rows = append(c.Rows, row)
	}
	if len(c.Rows) == 0 {
		c.Empty, c.EmptyY = true, y+14
		y += 24
	}
	c.Height = y
	return c
}
