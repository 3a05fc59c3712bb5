package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
	"vigie/internal/auth"
)

// The audit trail as the DPO reads it (DESIGN §9, R16): who accessed a person's data, on the
// person's page, and the whole journal, filtered, on /audit and as a CSV file. Events hold a keyed
// pseudonym, never personal data, and the pages add none: staff are named on the journal (the DPO
// must know who did what), but the "who accessed" section names departments only, as the person
// would be told.

// auditDepartment is the only department that reads the audit trail (DESIGN §1: the DPO sees
// registers, rights requests, breaches and the audit trail).
const auditDepartment = "dpo"

// Bounds of one answer: the page shows the newest auditPageLimit events, the CSV up to
// auditCSVLimit (the most audit.Trail.Events returns).
const (
	auditPageLimit = 500
	auditCSVLimit  = 10000
)

// auditActions are the actions the filter offers, in this order.
var auditActions = []string{
	audit.ActionRead, audit.ActionCreate, audit.ActionUpdate,
	audit.ActionLogin, audit.ActionLoginFailed, audit.ActionLogout,
	audit.ActionUserCreate, audit.ActionToken, audit.ActionPurge, audit.ActionSetting, audit.ActionExport,
}

// actionLabels words the trail's actions in French; an action missing here is shown as stored.
var actionLabels = map[string]string{
	audit.ActionRead:        "consultation",
	audit.ActionCreate:      "création",
	audit.ActionUpdate:      "modification",
	audit.ActionLogin:       "connexion",
	audit.ActionLoginFailed: "échec de connexion",
	audit.ActionLogout:      "déconnexion",
	audit.ActionUserCreate:  "création de compte",
	audit.ActionToken:       "émission de jeton",
	audit.ActionPurge:       "purge du journal",
	audit.ActionSetting:     "modification de paramètre",
	audit.ActionExport:      "export",
}

// chainLabels words the two hash chains.
var chainLabels = map[string]string{audit.ChainRecord: "écritures", audit.ChainAccess: "consultations"}

// systemDepartment is what the trail records for Vigie's own jobs (the purge); user 0 is Vigie.
const systemDepartment = "system"

func actionLabel(code string) string {
	if l, ok := actionLabels[code]; ok {
		return l
	}
	return code
}

func chainLabel(code string) string {
	if l, ok := chainLabels[code]; ok {
		return l
	}
	return code
}

// departmentName is a department as the dictionary names it, Vigie for its own jobs.
func (s *server) departmentName(code string) string {
	if code == systemDepartment {
		return "Vigie"
	}
	if dep, ok := s.dict.Department(code); ok {
		return dep.Name
	}
	return code
}

// --- Who accessed a person's data (person page) ------------------------------------------------

type accessRow struct {
	Department, Action, Day string
	Count                   int
}

type accessView struct {
	Rows []accessRow
}

// whoAccessed is the "Qui a accédé à ces données" section of a person's page, for the DPO only
// (nil for every other department): departments, never staff names, what they did, by day,
// oldest first.
func (s *server) whoAccessed(ctx context.Context, st *session, personID int64) (*accessView, error) {
	if st.User.Department != auditDepartment {
		return nil, nil
	}
	list, err := s.app.Audit.WhoAccessed(ctx, personID)
	if err != nil {
		return nil, fmt.Errorf("web: who accessed: %w", err)
	}
	v := &accessView{}
	for _, a := range list {
		v.Rows = append(v.Rows, accessRow{
			Department: s.departmentName(a.Department),
			Action:     actionLabel(a.Action),
			Day:        a.Day.Format("02/01/2006"), // a UTC day, as the trail counts them
			Count:      a.Count,
		})
	}
	return v, nil
}

type correctionsView struct {
	Rows []correctionRow
}

type correctionRow struct {
	Field, Channel, Department, At string
}

// corrections is the "Historique des corrections" section of a person's page, for the DPO only
// (nil for every other department): which field was corrected, when, how and by which department.
func (s *server) corrections(ctx context.Context, st *session, personID int64) (*correctionsView, error) {
	if st.User.Department != auditDepartment {
		return nil, nil
	}
	list, err := s.app.Records.Corrections(ctx, st.Actor, personID)
	if err != nil {
		return nil, fmt.Errorf("web: corrections: %w", err)
	}
	v := &correctionsView{}
	for _, c := range list {
		field := c.Field
		if t := s.dict.Table(c.Table); t != nil && t.Column(c.Field) != nil {
			field = t.Label + " — " + t.Column(c.Field).Label
		}
		v.Rows = append(v.Rows, correctionRow{Field: field, Channel: s.channelLabel(c.Channel),
			Department: s.departmentName(c.Department), At: s.frenchTime(c.At)})
	}
	return v, nil
}

// --- The journal (/audit, /audit.csv) ----------------------------------------------------------

// auditFieldLabels name the parameters in error messages, as the form labels them.
var auditFieldLabels = map[string]string{
	"acteur": "Acteur", "service": "Service", "action": "Action", "personne": "Personne", "du": "Du", "au": "Au",
}

// auditQuery is a validated filter: what the trail is asked, and the parameters that say it.
type auditQuery struct {
	filter audit.Filter
	values url.Values
	errs   map[string]string
}

// parseAuditQuery validates every parameter on its own and names the field of each error; an
// invalid query is never run.
func (s *server) parseAuditQuery(q url.Values, users map[int64]auth.User) auditQuery {
	aq := auditQuery{values: url.Values{}, errs: map[string]string{}}
	get := func(name string) string {
		v := strings.TrimSpace(q.Get(name))
		if v != "" {
			aq.values.Set(name, v)
		}
		return v
	}
	if v := get("acteur"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || id <= 0:
			aq.errs["acteur"] = "le numéro d'utilisateur doit être un nombre entier positif"
		case users[id].ID == 0:
			aq.errs["acteur"] = "aucun utilisateur ne porte ce numéro"
		default:
			aq.filter.UserID = id
		}
	}
	if v := get("service"); v != "" {
		if _, ok := s.dict.Department(v); !ok && v != systemDepartment {
			aq.errs["service"] = "service inconnu"
		}
		aq.filter.Department = v
	}
	if v := get("action"); v != "" {
		if !slices.Contains(auditActions, v) {
			aq.errs["action"] = "action inconnue"
		}
		aq.filter.Action = v
	}
	if v := get("personne"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			aq.errs["personne"] = "le numéro de la fiche personne doit être un nombre entier positif"
		}
		aq.filter.PersonID = id
	}
	// The period is in Paris days: "du" from its midnight, "au" up to the next midnight.
	day := func(name string) time.Time {
		v := get(name)
		if v == "" {
			return time.Time{}
		}
		d, err := time.ParseInLocation(time.DateOnly, v, s.paris)
		if err != nil {
			aq.errs[name] = "date invalide, attendue au format AAAA-MM-JJ"
			return time.Time{}
		}
		return d
	}
	from, to := day("du"), day("au")
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		aq.errs["au"] = "la date de fin précède la date de début (du)"
	}
	aq.filter.From = from
	if !to.IsZero() {
		aq.filter.To = to.AddDate(0, 0, 1)
	}
	return aq
}

type auditRow struct {
	At, Chain     string
	Seq           int64
	Actor         string
	Department    string
	Action        string
	Table         string
	Row           cell
	Pseudonym     string
	Fields        string
	Purpose       string
	Detail        string
	UserID        int64
	PseudonymFull string
	AtUTC         string
}

type auditView struct {
	Fields []*formField
	Errors []summaryError
	// Valid is false when a parameter was refused: no table is shown then.
	Valid     bool
	Filtered  bool
	Person    string // "n° 42 — pseudonyme 1a2b3c4d…" when filtering on a person
	Rows      []auditRow
	Truncated bool
	Limit     int
	CSVHref   string
}

// auditForbidden is the 403 of the journal for every department but the DPO.
const auditForbidden = "seul le délégué à la protection des données consulte le journal d'audit"

// auditPage is the DPO's journal: the filter form and the newest matching events.
func (s *server) auditPage(w http.ResponseWriter, r *http.Request, st *session) {
	if st.User.Department != auditDepartment {
		s.forbidden(w, r, st, auditForbidden)
		return
	}
	users, aq, err := s.auditRequest(r)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := s.auditView(aq, users)
	if !v.Valid {
		s.render(w, r, st, http.StatusBadRequest, "audit", "Journal d'audit", v)
		return
	}
	aq.filter.Limit = auditPageLimit + 1 // one more tells whether the limit cut the answer
	events, err := s.app.Audit.Events(r.Context(), aq.filter)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	if len(events) > auditPageLimit {
		events, v.Truncated = events[:auditPageLimit], true
	}
	for _, e := range events {
		v.Rows = append(v.Rows, s.auditRow(e, users))
	}
	s.render(w, r, st, http.StatusOK, "audit", "Journal d'audit", v)
}

// auditCSVComma is the separator of the CSV export. The file follows RFC 4180 (quoted fields,
// CRLF line ends) except for the separator: a semicolon, because a French spreadsheet reads the
// comma as the decimal separator and would put every line in one column. The UTF-8 byte order
// mark tells the spreadsheet the encoding, so accents survive.
const auditCSVComma = ';'

// auditCSVHeader names the export's columns in French.
var auditCSVHeader = []string{"Date et heure (UTC)", "Chaîne", "N°", "Acteur", "N° acteur", "Service", "Action",
	"Table", "Ligne", "Pseudonyme", "Champs", "Finalité", "Détail"}

// auditCSV exports the matching events, newest first, as a CSV file for a spreadsheet: the full
// pseudonym in hexadecimal and times in RFC 3339 UTC.
func (s *server) auditCSV(w http.ResponseWriter, r *http.Request, st *session) {
	if st.User.Department != auditDepartment {
		s.forbidden(w, r, st, auditForbidden)
		return
	}
	users, aq, err := s.auditRequest(r)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	if v := s.auditView(aq, users); !v.Valid {
		s.render(w, r, st, http.StatusBadRequest, "audit", "Journal d'audit", v)
		return
	}
	aq.filter.Limit = auditCSVLimit
	events, err := s.app.Audit.Events(r.Context(), aq.filter)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	// Written to a buffer first, so that an error never leaves half a file behind.
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	cw.Comma, cw.UseCRLF = auditCSVComma, true
	cw.Write(auditCSVHeader)
	for _, e := range events {
		row := s.auditRow(e, users)
		line := ""
		if e.RowID != 0 {
			line = strconv.FormatInt(e.RowID, 10)
		}
		cw.Write([]string{row.AtUTC, row.Chain, strconv.FormatInt(row.Seq, 10), spreadsheetText(row.Actor),
			strconv.FormatInt(row.UserID, 10), spreadsheetText(row.Department), row.Action, spreadsheetText(row.Table),
			line, row.PseudonymFull, spreadsheetText(row.Fields), spreadsheetText(row.Purpose), spreadsheetText(row.Detail)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.fail(w, r, st, fmt.Errorf("web: write audit csv: %w", err))
		return
	}
	// An export of the trail is itself recorded, before the file leaves.
	if err := s.app.Audit.Record(r.Context(), audit.Event{UserID: st.User.ID, Department: st.User.Department,
		Action: audit.ActionExport, Table: "audit_events", Detail: fmt.Sprintf("csv rows=%d", len(events))}); err != nil {
		s.fail(w, r, st, err)
		return
	}
	name := "journal-audit-" + s.app.Now().In(s.paris).Format("20060102") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	buf.WriteTo(w)
}

// spreadsheetText keeps a spreadsheet from reading a cell as a formula (CSV injection): a display
// name or a detail starting with = + - @ is prefixed with an apostrophe.
func spreadsheetText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// auditRequest reads the staff (to name actors and check the acteur filter) and the filter.
func (s *server) auditRequest(r *http.Request) (map[int64]auth.User, auditQuery, error) {
	list, err := s.app.Auth.Users(r.Context())
	if err != nil {
		return nil, auditQuery{}, err
	}
	users := make(map[int64]auth.User, len(list))
	for _, u := range list {
		users[u.ID] = u
	}
	return users, s.parseAuditQuery(r.URL.Query(), users), nil
}

// auditView builds the filter form from the query, with its errors.
func (s *server) auditView(aq auditQuery, users map[int64]auth.User) auditView {
	v := auditView{Valid: len(aq.errs) == 0, Filtered: len(aq.values) > 0, Limit: auditPageLimit}
	field := func(name, widget, typ, help string, opts []option) *formField {
		f := &formField{ID: "f-" + name, Name: name, Label: auditFieldLabels[name], Widget: widget, Type: typ,
			Value: aq.values.Get(name), Error: aq.errs[name], Help: help, Options: opts}
		for i := range f.Options {
			f.Options[i].Selected = f.Options[i].Value == f.Value
		}
		f.describe()
		return f
	}

	actors := []option{{Value: "", Label: "Tous"}}
	staff := make([]auth.User, 0, len(users))
	for _, u := range users {
		staff = append(staff, u)
	}
	slices.SortFunc(staff, func(a, b auth.User) int {
		if c := strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, u := range staff {
		actors = append(actors, option{Value: strconv.FormatInt(u.ID, 10), Label: u.DisplayName + " (" + s.departmentName(u.Department) + ")"})
	}
	departments := []option{{Value: "", Label: "Tous"}}
	for _, d := range s.dict.Departments {
		departments = append(departments, option{Value: d.Code, Label: d.Name})
	}
	departments = append(departments, option{Value: systemDepartment, Label: "Vigie (tâches automatiques)"})
	actions := []option{{Value: "", Label: "Toutes"}}
	for _, a := range auditActions {
		actions = append(actions, option{Value: a, Label: actionLabel(a) + " (" + a + ")"})
	}

	v.Fields = []*formField{
		field("acteur", "select", "", "", actors),
		field("service", "select", "", "", departments),
		field("action", "select", "", "", actions),
		field("personne", "input", "text", "Numéro de la fiche personne ; le journal ne connaît que son pseudonyme.", nil),
		field("du", "input", "date", "", nil),
		field("au", "input", "date", "Période incluse, en heure de Paris.", nil),
	}
	for _, f := range v.Fields {
		if f.Error != "" {
			v.Errors = append(v.Errors, summaryError{Label: f.Label, Message: f.Error, Anchor: "#" + f.ID})
		}
	}
	if !v.Valid {
		return v
	}
	if id := aq.filter.PersonID; id != 0 {
		v.Person = "n° " + strconv.FormatInt(id, 10) + " — pseudonyme " + shortPseudonym(s.app.Audit.Subject(id))
	}
	v.CSVHref = "/audit.csv"
	if len(aq.values) > 0 {
		v.CSVHref += "?" + aq.values.Encode()
	}
	return v
}

// shortPseudonym is the first 8 hexadecimal characters of a pseudonym: enough to tell events
// apart on a page, the full value is in the CSV.
func shortPseudonym(p []byte) string {
	h := hex.EncodeToString(p)
	if len(h) > 8 {
		return h[:8] + "…"
	}
	return h
}

// auditRow words one event for the page and the CSV.
func (s *server) auditRow(e audit.Event, users map[int64]auth.User) auditRow {
	row := auditRow{
		At:            e.At.In(s.paris).Format("02/01/2006 15:04:05"),
		AtUTC:         e.At.UTC().Format(time.RFC3339Nano),
		Chain:         chainLabel(e.Chain),
		Seq:           e.Seq,
		UserID:        e.UserID,
		Department:    s.departmentName(e.Department),
		Action:        actionLabel(e.Action),
		Table:         e.Table,
		Row:           cell{Text: "—"},
		Pseudonym:     "—",
		PseudonymFull: hex.EncodeToString(e.Subject),
		Purpose:       e.Purpose,
		Detail:        e.Detail,
	}
	switch u, ok := users[e.UserID]; {
	case e.UserID == 0:
		row.Actor = "Vigie"
	case ok:
		row.Actor = u.DisplayName
	default:
		row.Actor = "utilisateur n° " + strconv.FormatInt(e.UserID, 10)
	}
	if len(e.Subject) > 0 {
		row.Pseudonym = shortPseudonym(e.Subject)
	}
	if e.Purpose != "" {
		row.Purpose = s.purposeName(e.Purpose)
	}
	t := s.dict.Table(e.Table)
	if t != nil {
		row.Table = t.Label
	}
	if e.Fields != "" {
		var labels []string
		for _, f := range strings.Split(e.Fields, ",") {
			if t != nil && t.Column(f) != nil {
				f = t.Column(f).Label
			}
			labels = append(labels, f)
		}
		row.Fields = strings.Join(labels, ", ")
	}
	if e.RowID != 0 {
		id := strconv.FormatInt(e.RowID, 10)
		row.Row.Text = "n° " + id
		// A link only where the DPO may open the record (a person's technical fields).
		if res := s.res[e.Table]; res != nil && res.t.CanRead(auditDepartment) {
			row.Row.Href = "/" + res.Path + "/" + id
		}
	}
	return row
}
