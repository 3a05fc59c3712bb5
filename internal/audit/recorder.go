package audit

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"vigie/internal/dictionary"
	"vigie/internal/record"
)

var (
	_ record.Auditor        = (*Trail)(nil)
	_ record.ArchiveAuditor = (*Trail)(nil)
)

// Read records one access event per record returned: who (user and department), whose data (the
// pseudonym), which fields, for which purpose. Records without personal data (a staff list) and
// fields that are not personal are not reads of personal data and are not logged.
func (t *Trail) Read(ctx context.Context, a record.Actor, tbl *dictionary.Table, recs []*record.Record) error {
	if tbl.PersonColumn == "" || len(recs) == 0 {
		return nil
	}
	events := make([]Event, 0, len(recs))
	for _, r := range recs {
		fields := personalFields(tbl, r)
		if fields == "" {
			continue
		}
		events = append(events, Event{UserID: a.UserID, Department: a.Department, Action: ActionRead, Table: tbl.Name,
			RowID: r.ID, Subject: t.Subject(r.PersonID), Fields: fields, Purpose: purposeOf(a)})
	}
	return t.Append(ctx, events...)
}

// personalFields names the personal fields a record holds, in the dictionary's order, separated
// by commas.
func personalFields(tbl *dictionary.Table, rec *record.Record) string {
	var b strings.Builder
	for _, c := range tbl.Columns {
		if _, ok := rec.Values[c.Name]; ok && c.Personal {
			if b.Len() > 0 {
				b.WriteByte(',')
			} else {
				b.Grow(256)
			}
			b.WriteString(c.Name)
		}
	}
	return b.String()
}

// Wrote records a create or update in the record chain, inside the write's transaction.
func (t *Trail) Wrote(ctx context.Context, tx *sql.Tx, a record.Actor, action string, tbl *dictionary.Table, id, personID int64, fields []string) error {
	fields = slices.DeleteFunc(slices.Clone(fields), func(f string) bool {
		c := tbl.Column(f)
		return c == nil || c.System
	})
	return t.AppendTx(ctx, tx, Event{UserID: a.UserID, Department: a.Department, Action: action, Table: tbl.Name,
		RowID: id, Subject: t.Subject(personID), Fields: strings.Join(fields, ","), Purpose: purposeOf(a)})
}

// ReadTx records one read in the record chain, inside the transaction of the write it goes with
// (the DPO's archive access and its justification, R35): both are kept, or neither. The detail is
// a code, never personal data.
func (t *Trail) ReadTx(ctx context.Context, tx *sql.Tx, a record.Actor, tbl *dictionary.Table, rec *record.Record, detail string) error {
	return t.AppendTx(ctx, tx, Event{UserID: a.UserID, Department: a.Department, Action: ActionRead, Table: tbl.Name,
		RowID: rec.ID, Subject: t.Subject(rec.PersonID), Fields: personalFields(tbl, rec), Purpose: purposeOf(a), Detail: detail})
}

func purposeOf(a record.Actor) string {
	if len(a.Purposes) == 0 {
		return ""
	}
	return a.Purposes[0]
}
