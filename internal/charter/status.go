package charter

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ModuleStatus is where a staff member stands on one mandatory module.
type ModuleStatus struct {
	Module Module
	// CompletedAt is the day of their latest completion; zero when never completed.
	CompletedAt time.Time
	// DueAgain is when the latest completion stops counting; zero when never completed.
	DueAgain time.Time
	// Done is a completion that still counts.
	Done bool
}

// StaffStatus is where one active staff member stands on the charter and the training. It names
// them by name and e-mail, as the staff pages do, and holds nothing else about them.
type StaffStatus struct {
	UserID     int64
	Email      string
	Name       string
	Department string
	// SecondFactor tells whether their second factor is enrolled (R14), for the evidence report.
	SecondFactor bool
	// Acknowledged is an acceptance of the version in force, at AcknowledgedAt.
	Acknowledged   bool
	AcknowledgedAt time.Time
	// LastVersion is the label of the latest version they accepted; empty when none.
	LastVersion string
	// Modules are the modules mandatory for their department, in the catalogue's order; Missing
	// the codes of those not done or no longer valid.
	Modules []ModuleStatus
	Missing []string
}

// Complete reports whether the staff member accepted the version in force and holds every
// mandatory module.
func (st StaffStatus) Complete() bool { return st.Acknowledged && len(st.Missing) == 0 }

// Report is the state of the whole staff on a day.
type Report struct {
	// AsOf is the day the training is judged on (Paris), at midnight UTC.
	AsOf    time.Time
	Version Version
	Modules []Module
	// Staff are the active staff members (disabled accounts left out), by department and e-mail.
	Staff []StaffStatus
}

// Incomplete returns the staff members who miss the acknowledgement or a module.
func (r Report) Incomplete() []StaffStatus {
	var out []StaffStatus
	for _, st := range r.Staff {
		if !st.Complete() {
			out = append(out, st)
		}
	}
	return out
}

// Acknowledged counts the staff members who accepted the version in force.
func (r Report) Acknowledged() int {
	n := 0
	for _, st := range r.Staff {
		if st.Acknowledged {
			n++
		}
	}
	return n
}

// Trained counts the staff members who hold every mandatory module.
func (r Report) Trained() int {
	n := 0
	for _, st := range r.Staff {
		if len(st.Missing) == 0 {
			n++
		}
	}
	return n
}

// Missing returns, for each active staff member who has not accepted the charter in force or
// misses a mandatory module, what they miss: the list the DPO follows up, and what the evidence
// report checks to be empty (R43).
func (s *Service) Missing(ctx context.Context) ([]StaffStatus, error) {
	r, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	return r.Incomplete(), nil
}

// Status returns, for every active staff member, whether they accepted the version in force and
// where they stand on each mandatory module. Three queries, whatever the size of the staff.
func (s *Service) Status(ctx context.Context) (Report, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return Report{}, err
	}
	r := Report{AsOf: s.today(), Version: cur, Modules: s.Modules()}
	byID := map[int64]*StaffStatus{}
	err = s.query(ctx, "list staff", `SELECT id, email, display_name, department, totp_enrolled_at FROM users WHERE NOT disabled
		ORDER BY department, email`, nil, func(rows *sql.Rows) error {
		var st StaffStatus
		var enrolled sql.NullTime
		if err := rows.Scan(&st.UserID, &st.Email, &st.Name, &st.Department, &enrolled); err != nil {
			return err
		}
		st.SecondFactor = enrolled.Valid
		r.Staff = append(r.Staff, st)
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	for i := range r.Staff {
		byID[r.Staff[i].UserID] = &r.Staff[i]
	}
	// Acceptances in the order of the versions, so the last one seen is the latest accepted.
	err = s.query(ctx, "read acknowledgements", `SELECT a.user_id, a.version_id, v.version, a.acknowledged_at FROM charter_acknowledgements a
		JOIN charter_versions v ON v.id = a.version_id ORDER BY a.version_id`, nil, func(rows *sql.Rows) error {
		var userID, versionID int64
		var label string
		var at time.Time
		if err := rows.Scan(&userID, &versionID, &label, &at); err != nil {
			return err
		}
		if st := byID[userID]; st != nil {
			st.LastVersion = label
			if versionID == cur.ID {
				st.Acknowledged, st.AcknowledgedAt = true, at.UTC()
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	latest := map[int64]map[string]time.Time{}
	err = s.query(ctx, "read training", `SELECT user_id, module, completed_at FROM training_completions`, nil, func(rows *sql.Rows) error {
		var userID int64
		var module string
		var day time.Time
		if err := rows.Scan(&userID, &module, &day); err != nil {
			return err
		}
		if latest[userID] == nil {
			latest[userID] = map[string]time.Time{}
		}
		if day = day.UTC(); day.After(latest[userID][module]) {
			latest[userID][module] = day
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	for i := range r.Staff {
		st := &r.Staff[i]
		for _, m := range s.modules {
			if !m.MandatoryFor(st.Department) {
				continue
			}
			ms := ModuleStatus{Module: m, CompletedAt: latest[st.UserID][m.Code]}
			if !ms.CompletedAt.IsZero() {
				ms.DueAgain = ms.CompletedAt.AddDate(0, m.ValidMonths, 0)
				ms.Done = r.AsOf.Before(ms.DueAgain)
			}
			if !ms.Done {
				st.Missing = append(st.Missing, m.Code)
			}
			st.Modules = append(st.Modules, ms)
		}
	}
	return r, nil
}

func (s *Service) query(ctx context.Context, what, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("charter: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return fmt.Errorf("charter: %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("charter: %s: %w", what, err)
	}
	return nil
}
