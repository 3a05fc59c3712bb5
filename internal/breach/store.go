package breach

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
)

// The register's storage: plain SQL, the same statements on SQLite and PostgreSQL. Every write is
// one transaction with its audit event; a refused write changes nothing.

// sealed are the breach's free texts, sealed under the system key bound to row and column.
var sealed = []string{"title", "description", "consequences", "measures_taken", "measures_proposed", "advice", "risk_reason"}

func (d *Details) texts() map[string]*string {
	return map[string]*string{"title": &d.Title, "description": &d.Description, "consequences": &d.Consequences,
		"measures_taken": &d.MeasuresTaken, "measures_proposed": &d.MeasuresProposed, "advice": &d.Advice, "risk_reason": &d.RiskReason}
}

func place(table, column string, id int64) string {
	return table + "." + column + ":" + strconv.FormatInt(id, 10)
}

// seal encrypts a free text for its row and column; an empty text stays NULL.
func (s *Service) seal(table, column string, id int64, text string) any {
	if text == "" {
		return nil
	}
	return s.keys.SealSecret(place(table, column, id), []byte(text))
}

func (s *Service) open(table, column string, id int64, v []byte) (string, error) {
	if v == nil {
		return "", nil
	}
	plain, err := s.keys.OpenSecret(place(table, column, id), v)
	if err != nil {
		return "", fmt.Errorf("breach: open %s.%s of %d: %w", table, column, id, err)
	}
	return string(plain), nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (s *Service) timestamp(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := s.dict.Table("breaches").Column("aware_at").FromDB(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("breach: %w", err)
	}
	return t.(time.Time), nil
}

// Record adds a breach to the register (R39). The people concerned are found through the data
// when it names a scope; the categories left empty are derived from it, and so are the numbers
// when not given. Refused (nothing written) without an awareness time, and on any field that
// breaks a rule — each named with its rule.
func (s *Service) Record(ctx context.Context, by Staff, d Details) (int64, error) {
	if err := s.allowed(by, true); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	d = s.normalise(d)
	if len(d.DataCategories) == 0 {
		d.DataCategories = s.derivedCategories(d.Scope)
	}
	if is := s.validate(d, now); len(is) > 0 {
		return 0, &ValidationError{is}
	}
	now = now.Truncate(time.Microsecond)
	var id int64
	var people, records int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		sc := d.Scope
		err := tx.QueryRowContext(ctx, `INSERT INTO breaches (title, occurred_at, detected_at, aware_at, ended_at, nature, origin, cause,
			description, data_categories, people_categories, consequences, measures_taken, contact, risk, risk_reason, people_exemption,
			scope_department, scope_table, scope_from, scope_to, recorded_at, recorded_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $1, $9, $10, $1, $1, $11, $12, $1, $13, $14, $15, $16, $17, $18, $19, $18) RETURNING id`,
			[]byte{}, nullTime(d.OccurredAt), d.DetectedAt, d.AwareAt, nullTime(d.EndedAt), strings.Join(d.Nature, ","), d.Origin, d.Cause,
			strings.Join(d.DataCategories, ","), strings.Join(d.PeopleCategories, ","), d.Contact, d.Risk, nullString(d.PeopleExemption),
			nullString(sc.Department), nullString(sc.Table), nullTime(sc.From), nullTime(sc.To), now, nullID(by.UserID)).Scan(&id)
		if err != nil {
			return fmt.Errorf("breach: record: %w", err)
		}
		if people, records, err = s.findPeople(ctx, tx, id, sc); err != nil {
			return err
		}
		if len(d.PeopleCategories) == 0 {
			if d.PeopleCategories, err = foundKinds(ctx, tx, id); err != nil {
				return err
			}
			if len(d.PeopleCategories) == 0 {
				return &ValidationError{[]Issue{{"people_categories", "required",
					"aucune personne n'a été trouvée dans le périmètre : indiquez les catégories de personnes concernées"}}}
			}
		}
		if !sc.IsZero() {
			if d.PeopleCount == nil {
				d.PeopleCount = &people
			}
			if d.RecordsCount == nil {
				d.RecordsCount = &records
			}
		}
		if err := s.write(ctx, tx, id, d, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE breaches SET people_found = $1, records_found = $2 WHERE id = $3`, people, records, id); err != nil {
			return fmt.Errorf("breach: record: %w", err)
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionCreate,
			Table: "breaches", RowID: id, Purpose: "compliance",
			Detail: fmt.Sprintf("risk=%s nature=%s aware_at=%s people_found=%d records_found=%d", d.Risk, strings.Join(d.Nature, ","),
				d.AwareAt.Format(time.RFC3339), people, records)})
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("breach recorded", "breach", id, "risk", d.Risk, "people_found", people, "records_found", records,
		"deadline", d.AwareAt.Add(Deadline).Format(time.RFC3339))
	return id, nil
}

// write stores the details that may change after recording, their texts sealed for the row.
func (s *Service) write(ctx context.Context, tx *sql.Tx, id int64, d Details, now time.Time) error {
	texts := d.texts()
	args := []any{}
	for _, col := range sealed {
		args = append(args, s.seal("breaches", col, id, *texts[col]))
	}
	args = append(args, nullTime(d.OccurredAt), d.DetectedAt, nullTime(d.EndedAt), strings.Join(d.Nature, ","), d.Origin, d.Cause,
		strings.Join(d.DataCategories, ","), strings.Join(d.PeopleCategories, ","), nullInt(d.PeopleCount), nullInt(d.RecordsCount),
		d.Contact, d.Risk, nullString(d.PeopleExemption), now, id)
	_, err := tx.ExecContext(ctx, `UPDATE breaches SET title = $1, description = $2, consequences = $3, measures_taken = $4,
		measures_proposed = $5, advice = $6, risk_reason = $7, occurred_at = $8, detected_at = $9, ended_at = $10, nature = $11,
		origin = $12, cause = $13, data_categories = $14, people_categories = $15, people_count = $16, records_count = $17,
		contact = $18, risk = $19, people_exemption = $20, updated_at = $21 WHERE id = $22`, args...)
	if err != nil {
		return fmt.Errorf("breach: write: %w", err)
	}
	return nil
}

// Update records what the DPO learned since (art. 33(4)): the measures, the consequences, the
// numbers, a new risk assessment, the end of the breach. The awareness time, which the clock runs
// from, and the scope, whose people were found when the breach was recorded, never change: a
// different awareness time is refused. The audit event names the fields changed, never their
// values.
func (s *Service) Update(ctx context.Context, by Staff, id int64, d Details) error {
	if err := s.allowed(by, true); err != nil {
		return err
	}
	now := s.now().UTC()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		old, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if !d.AwareAt.IsZero() && !d.AwareAt.UTC().Truncate(time.Second).Equal(old.AwareAt) {
			return &ValidationError{[]Issue{{"aware_at", "immutable",
				"l'heure de prise de connaissance ne change pas une fois inscrite : le délai de 72 heures en part"}}}
		}
		d.AwareAt, d.Scope = old.AwareAt, old.Scope
		d = s.normalise(d)
		if len(d.DataCategories) == 0 {
			d.DataCategories = old.DataCategories
		}
		if len(d.PeopleCategories) == 0 {
			d.PeopleCategories = old.PeopleCategories
		}
		if is := s.validate(d, now); len(is) > 0 {
			return &ValidationError{is}
		}
		changed := changedFields(old.Details, d)
		if len(changed) == 0 {
			return nil
		}
		if err := s.write(ctx, tx, id, d, now.Truncate(time.Microsecond)); err != nil {
			return err
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionUpdate,
			Table: "breaches", RowID: id, Purpose: "compliance", Fields: strings.Join(changed, ","), Detail: "risk=" + d.Risk})
	})
}

// changedFields names the fields that differ, in the table's order.
func changedFields(a, b Details) []string {
	var out []string
	at, bt := a.texts(), b.texts()
	for _, col := range sealed {
		if *at[col] != *bt[col] {
			out = append(out, col)
		}
	}
	eqInt := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	for _, c := range []struct {
		name string
		same bool
	}{
		{"occurred_at", a.OccurredAt.Equal(b.OccurredAt)}, {"detected_at", a.DetectedAt.Equal(b.DetectedAt)},
		{"ended_at", a.EndedAt.Equal(b.EndedAt)}, {"nature", slices.Equal(a.Nature, b.Nature)},
		{"origin", a.Origin == b.Origin}, {"cause", a.Cause == b.Cause},
		{"data_categories", slices.Equal(a.DataCategories, b.DataCategories)},
		{"people_categories", slices.Equal(a.PeopleCategories, b.PeopleCategories)},
		{"people_count", eqInt(a.PeopleCount, b.PeopleCount)}, {"records_count", eqInt(a.RecordsCount, b.RecordsCount)},
		{"contact", a.Contact == b.Contact}, {"risk", a.Risk == b.Risk}, {"people_exemption", a.PeopleExemption == b.PeopleExemption},
	} {
		if !c.same {
			out = append(out, c.name)
		}
	}
	return out
}

// Notification is one notification of a breach, to the CNIL or to the people concerned.
type Notification struct {
	ID             int64
	BreachID       int64
	Recipient      string
	Phase          string
	SentAt         time.Time
	Channel        string
	Reference      string
	PeopleNotified *int64
	LateReason     string
	Note           string
	RecordedAt     time.Time
	RecordedBy     int64
}

// NotificationInput is a notification as the DPO records it, once sent.
type NotificationInput struct {
	Recipient, Phase string
	SentAt           time.Time
	Channel          string
	Reference        string
	// PeopleNotified is how many people a notification to the people reached; nil: the people
	// concerned not yet marked as informed, who are all marked so.
	PeopleNotified *int64
	LateReason     string
	Note           string
}

// Notify records a notification once sent (R39, R40): to the CNIL, the initial one then
// complementary ones (art. 33(4)); to the people concerned (art. 34). A notification dated before
// the awareness of the breach, or in the future, is refused; so is an initial notification to the
// CNIL sent more than 72 hours after awareness without the reason of the delay (art. 33(1)).
// Nothing is written when refused.
func (s *Service) Notify(ctx context.Context, by Staff, breachID int64, n NotificationInput) (int64, error) {
	if err := s.allowed(by, true); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	n.Recipient, n.Phase, n.Channel = strings.TrimSpace(n.Recipient), strings.TrimSpace(n.Phase), strings.TrimSpace(n.Channel)
	n.Reference, n.LateReason, n.Note = strings.TrimSpace(n.Reference), strings.TrimSpace(n.LateReason), strings.TrimSpace(n.Note)
	n.SentAt = n.SentAt.UTC().Truncate(time.Second)
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		b, err := s.get(ctx, tx, breachID)
		if err != nil {
			return err
		}
		if is := validateNotification(b, n, now); len(is) > 0 {
			return &ValidationError{is}
		}
		if n.Recipient == "people" {
			res, err := tx.ExecContext(ctx, `UPDATE breach_persons SET notified_at = $1 WHERE breach_id = $2 AND notified_at IS NULL`, n.SentAt, breachID)
			if err != nil {
				return fmt.Errorf("breach: mark the people informed: %w", err)
			}
			if n.PeopleNotified == nil {
				marked, _ := res.RowsAffected()
				n.PeopleNotified = &marked
			}
		}
		rec := now.Truncate(time.Microsecond)
		if err := tx.QueryRowContext(ctx, `INSERT INTO breach_notifications (breach_id, recipient, phase, sent_at, channel, reference,
			people_notified, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			breachID, n.Recipient, n.Phase, n.SentAt, n.Channel, nullString(n.Reference), nullInt(n.PeopleNotified), rec, nullID(by.UserID)).Scan(&id); err != nil {
			return fmt.Errorf("breach: record the notification: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE breach_notifications SET late_reason = $1, note = $2 WHERE id = $3`,
			s.seal("breach_notifications", "late_reason", id, n.LateReason), s.seal("breach_notifications", "note", id, n.Note), id); err != nil {
			return fmt.Errorf("breach: record the notification: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE breaches SET updated_at = $1 WHERE id = $2`, rec, breachID); err != nil {
			return fmt.Errorf("breach: record the notification: %w", err)
		}
		late := n.Recipient == "cnil" && n.Phase == "initial" && n.SentAt.Sub(b.AwareAt) > Deadline
		detail := fmt.Sprintf("breach=%d recipient=%s phase=%s channel=%s late=%t", breachID, n.Recipient, n.Phase, n.Channel, late)
		if n.PeopleNotified != nil {
			detail += fmt.Sprintf(" people=%d", *n.PeopleNotified)
		}
		return s.audit.AppendTx(ctx, tx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionCreate,
			Table: "breach_notifications", RowID: id, Purpose: "compliance", Detail: detail})
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("breach notification recorded", "breach", breachID, "notification", id, "recipient", n.Recipient, "phase", n.Phase)
	return id, nil
}

// Get returns a breach with its notifications, its texts opened.
func (s *Service) Get(ctx context.Context, by Staff, id int64) (*Breach, error) {
	if err := s.allowed(by, false); err != nil {
		return nil, err
	}
	return s.get(ctx, s.db, id)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const breachColumns = `id, title, occurred_at, detected_at, aware_at, ended_at, nature, origin, cause, description, data_categories,
	people_categories, people_count, records_count, consequences, measures_taken, measures_proposed, advice, contact, risk, risk_reason,
	people_exemption, scope_department, scope_table, scope_from, scope_to, people_found, records_found, recorded_at,
	COALESCE(recorded_by, 0), updated_at, (SELECT count(*) FROM breach_persons bp WHERE bp.breach_id = breaches.id AND bp.notified_at IS NOT NULL)`

func (s *Service) get(ctx context.Context, q querier, id int64) (*Breach, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+breachColumns+` FROM breaches WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("breach: read: %w", err)
	}
	list, err := s.scanBreaches(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	b := &list[0]
	ns, err := s.notifications(ctx, q, "WHERE breach_id = $1", id)
	if err != nil {
		return nil, err
	}
	b.Notifications = ns
	if len(b.Scope.PersonIDs) == 0 {
		// The people named are kept as breach_persons rows marked listed.
		if b.Scope.PersonIDs, err = listed(ctx, q, id); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func listed(ctx context.Context, q querier, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT person_id FROM breach_persons WHERE breach_id = $1 AND source = 'listed' ORDER BY person_id`, id)
	if err != nil {
		return nil, fmt.Errorf("breach: read the people named: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			return nil, fmt.Errorf("breach: read the people named: %w", err)
		}
		out = append(out, pid)
	}
	return out, rows.Err()
}

// List returns the register, the latest breaches first, each with its notifications.
func (s *Service) List(ctx context.Context, by Staff) ([]Breach, error) {
	if err := s.allowed(by, false); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+breachColumns+` FROM breaches ORDER BY aware_at DESC, id DESC LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("breach: read the register: %w", err)
	}
	list, err := s.scanBreaches(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	first := list[0].ID
	for _, b := range list {
		first = min(first, b.ID)
	}
	ns, err := s.notifications(ctx, s.db, "WHERE breach_id >= $1", first)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*Breach{}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	for _, n := range ns {
		if b := byID[n.BreachID]; b != nil {
			b.Notifications = append(b.Notifications, n)
		}
	}
	return list, nil
}

func (s *Service) scanBreaches(rows *sql.Rows) ([]Breach, error) {
	defer rows.Close()
	var out []Breach
	for rows.Next() {
		var b Breach
		var raw = map[string]*[]byte{}
		var title, description, consequences, taken, proposed, advice, reason []byte
		var occurred, detected, aware, ended, from, to, recorded, updated any
		var nature, data, people string
		var exemption, dept, table sql.NullString
		var pc, rc sql.NullInt64
		if err := rows.Scan(&b.ID, &title, &occurred, &detected, &aware, &ended, &nature, &b.Origin, &b.Cause, &description, &data,
			&people, &pc, &rc, &consequences, &taken, &proposed, &advice, &b.Contact, &b.Risk, &reason,
			&exemption, &dept, &table, &from, &to, &b.PeopleFound, &b.RecordsFound, &recorded,
			&b.RecordedBy, &updated, &b.PeopleNotified); err != nil {
			return nil, fmt.Errorf("breach: read: %w", err)
		}
		raw["title"], raw["description"], raw["consequences"], raw["measures_taken"] = &title, &description, &consequences, &taken
		raw["measures_proposed"], raw["advice"], raw["risk_reason"] = &proposed, &advice, &reason
		texts := b.texts()
		for _, col := range sealed {
			v, err := s.open("breaches", col, b.ID, *raw[col])
			if err != nil {
				return nil, err
			}
			*texts[col] = v
		}
		for _, t := range []struct {
			dst *time.Time
			v   any
		}{{&b.OccurredAt, occurred}, {&b.DetectedAt, detected}, {&b.AwareAt, aware}, {&b.EndedAt, ended},
			{&b.Scope.From, from}, {&b.Scope.To, to}, {&b.RecordedAt, recorded}, {&b.UpdatedAt, updated}} {
			var err error
			if *t.dst, err = s.timestamp(t.v); err != nil {
				return nil, err
			}
		}
		b.Nature, b.DataCategories, b.PeopleCategories = codes([]string{nature}), codes([]string{data}), codes([]string{people})
		b.Contact, b.Risk, b.Origin, b.Cause = strings.TrimSpace(b.Contact), strings.TrimSpace(b.Risk), strings.TrimSpace(b.Origin), strings.TrimSpace(b.Cause)
		b.PeopleExemption, b.Scope.Department, b.Scope.Table = exemption.String, dept.String, table.String
		if pc.Valid {
			b.PeopleCount = &pc.Int64
		}
		if rc.Valid {
			b.RecordsCount = &rc.Int64
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("breach: read: %w", err)
	}
	return out, nil
}

func (s *Service) notifications(ctx context.Context, q querier, where string, arg int64) ([]Notification, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, breach_id, recipient, phase, sent_at, channel, COALESCE(reference, ''), people_notified,
		late_reason, note, recorded_at, COALESCE(recorded_by, 0) FROM breach_notifications `+where+` ORDER BY sent_at, id`, arg)
	if err != nil {
		return nil, fmt.Errorf("breach: read notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var sent, recorded any
		var people sql.NullInt64
		var late, note []byte
		if err := rows.Scan(&n.ID, &n.BreachID, &n.Recipient, &n.Phase, &sent, &n.Channel, &n.Reference, &people, &late, &note,
			&recorded, &n.RecordedBy); err != nil {
			return nil, fmt.Errorf("breach: read notifications: %w", err)
		}
		if people.Valid {
			n.PeopleNotified = &people.Int64
		}
		if n.SentAt, err = s.timestamp(sent); err != nil {
			return nil, err
		}
		if n.RecordedAt, err = s.timestamp(recorded); err != nil {
			return nil, err
		}
		if n.LateReason, err = s.open("breach_notifications", "late_reason", n.ID, late); err != nil {
			return nil, err
		}
		if n.Note, err = s.open("breach_notifications", "note", n.ID, note); err != nil {
			return nil, err
		}
		n.Recipient, n.Phase, n.Channel = strings.TrimSpace(n.Recipient), strings.TrimSpace(n.Phase), strings.TrimSpace(n.Channel)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Concerned is one person a breach concerns, by number only.
type Concerned struct {
	PersonID   int64
	Source     string
	Records    int64
	NotifiedAt time.Time
}

// People lists the people a breach concerns, by number, after the cursor; next is 0 on the last
// page. Nothing of their data is read.
func (s *Service) People(ctx context.Context, by Staff, breachID, after int64, limit int) ([]Concerned, int64, error) {
	if err := s.allowed(by, false); err != nil {
		return nil, 0, err
	}
	limit = min(max(limit, 1), 1000)
	rows, err := s.db.QueryContext(ctx, `SELECT person_id, source, records, notified_at FROM breach_persons
		WHERE breach_id = $1 AND person_id > $2 ORDER BY person_id LIMIT $3`, breachID, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("breach: read the people concerned: %w", err)
	}
	defer rows.Close()
	var out []Concerned
	for rows.Next() {
		var c Concerned
		var notified any
		if err := rows.Scan(&c.PersonID, &c.Source, &c.Records, &notified); err != nil {
			return nil, 0, fmt.Errorf("breach: read the people concerned: %w", err)
		}
		if c.NotifiedAt, err = s.timestamp(notified); err != nil {
			return nil, 0, err
		}
		c.Source = strings.TrimSpace(c.Source)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("breach: read the people concerned: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].PersonID
	}
	return out, next, nil
}

// IsInput reports whether err is a refusal of the input (a ValidationError), as opposed to a
// failure.
func IsInput(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}
