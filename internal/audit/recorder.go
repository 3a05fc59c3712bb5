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
		var fields []string
		for _, c := range tbl.Columns {
			if _, ok := r.Values[c.Name]; ok && c.Personal {
				fields = append(fields, c.Name)
			}
		}
		if len(fields) == 0 {
			continue
		}
		events = append(events, Event{UserID: a.UserID, Department: a.Department, Action: ActionRead, Table: tbl.Name,
			RowID: r.ID, Subject: t.Subject(r.PersonID), Fields: strings.Join(fields, ","), Purpose: purposeOf(a)})
	}
	return t.Append(ctx, events...)
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
	var fields []string
	for _, c := range tbl.Columns {
		if _, ok := rec.Values[c.Name]; ok && c.Personal {
			fields = append(fields, c.Name)
		}
	}
	return t.AppendTx(ctx, tx, Event{UserID: a.UserID, Department: a.Department, Action: ActionRead, Table: tbl.Name,
		RowID: rec.ID, Subject: t.Subject(rec.PersonID), Fields: strings.Join(fields, ","), Purpose: purposeOf(a), Detail: detail})
}

func purposeOf(a record.Actor) string {
	if len(a.Purposes) == 0 {
		return ""
	}
	return a.Purposes[0]
}
