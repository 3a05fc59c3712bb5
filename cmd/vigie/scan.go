package main

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
	"vigie/internal/evidence"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/dictionary"
	"vigie/internal/record"
	"vigie/internal/sensitive"
)

// The sensitive-data scan (DESIGN §6, R03–R06): every text value already stored in a person's
// table is read back, decrypted, and passed through the detectors the store applies to new input,
// so that data written before a detector improved (or loaded in bulk) reaches the DPO. The report
// names tables, columns, kinds and row ids, never a value. The run is recorded once in the audit
// trail, and its summary is kept in the settings for the DPO's dashboard.

// scanSetting is the settings entry holding the last scan's summary (a scanSummary in JSON), which
// the evidence report reads.
const scanSetting = evidence.SensitiveScanSetting

// actionSensitiveScan is the audit action of a scan run.
const actionSensitiveScan = "sensitive_scan"

// scanRowIDsListed bounds the row ids a report lists per column and kind; the counts stay exact.
const scanRowIDsListed = 100

// scanReport is the outcome of a scan.
type scanReport struct {
	At        time.Time     `json:"at"`
	ElapsedMS int64         `json:"elapsed_ms"`
	Tables    []scanTable   `json:"tables"`
	Findings  []scanFinding `json:"findings"`
	elapsed   time.Duration
}

// scanTable counts the rows read in a table and the values found there.
type scanTable struct {
	Table    string `json:"table"`
	Rows     int64  `json:"rows"`
	Findings int64  `json:"findings"`
}

// scanFinding is one kind of forbidden data found in one column: how many rows carry it, and the
// first of their ids.
type scanFinding struct {
	Table  string         `json:"table"`
	Column string         `json:"column"`
	Kind   sensitive.Kind `json:"kind"`
	Rule   string         `json:"rule"`
	Rows   int64          `json:"rows"`
	RowIDs []int64        `json:"row_ids"`
	order  [3]int
}

// scanSummary is what the settings keep of the last scan: counts, and the columns to look at.
type scanSummary struct {
	At        time.Time                `json:"at"`
	ElapsedMS int64                    `json:"elapsed_ms"`
	Rows      int64                    `json:"rows"`
	Findings  int64                    `json:"findings"`
	ByKind    map[sensitive.Kind]int64 `json:"by_kind"`
	Columns   []string                 `json:"columns"`
	// ColumnsOmitted is set when the list of columns did not fit in a setting.
	ColumnsOmitted bool `json:"columns_omitted,omitempty"`
}

func (r *scanReport) total() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Findings
	}
	return n
}

func scanCmd(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("scan", e, &cfg)
	format := fs.String("format", "text", "text or json")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "vigie scan: --format %q: want text or json\n", *format)
		return errUsage
	}
	// What the operator (or their cron) runs is recorded as the IT administration's.
	ctx = audit.WithActor(ctx, 0, "admin")
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := scanStored(ctx, a)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.writeText(e.stdout); err != nil {
		return err
	}
	if n := rep.total(); n > 0 {
		return fmt.Errorf("%d sensitive-data finding(s) in stored values: see the report", n)
	}
	return nil
}

// scanStored scans every person's table the dictionary declares, then keeps the summary and
// records the run, both in one transaction.
func scanStored(ctx context.Context, a *app.App) (*scanReport, error) {
	began := time.Now()
	rep := &scanReport{At: a.Now().UTC(), Tables: []scanTable{}, Findings: []scanFinding{}}
	found := map[[3]int]*scanFinding{}
	for ti, t := range a.Dict.Tables {
		if t.Internal || t.PersonColumn == "" || len(record.ScannedColumns(t)) == 0 {
			continue
		}
		st := scanTable{Table: t.Name}
		rows, err := a.Records.WalkText(ctx, t, func(v record.TextValue) error {
			for _, f := range record.Sensitive(v.Column, v.Text) {
				key := [3]int{ti, slices.Index(t.Columns, v.Column), slices.Index(sensitive.Kinds, f.Kind)}
				sf := found[key]
				if sf == nil {
					sf = &scanFinding{Table: t.Name, Column: v.Column.Name, Kind: f.Kind, Rule: f.Rule, RowIDs: []int64{}, order: key}
					found[key] = sf
				}
				sf.Rows++
				st.Findings++
				if len(sf.RowIDs) < scanRowIDsListed {
					sf.RowIDs = append(sf.RowIDs, v.RowID)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		st.Rows = rows
		rep.Tables = append(rep.Tables, st)
	}
	for _, sf := range found {
		rep.Findings = append(rep.Findings, *sf)
	}
	slices.SortFunc(rep.Findings, func(x, y scanFinding) int {
		return cmp.Or(cmp.Compare(x.order[0], y.order[0]), cmp.Compare(x.order[1], y.order[1]), cmp.Compare(x.order[2], y.order[2]))
	})
	rep.elapsed = time.Since(began)
	rep.ElapsedMS = rep.elapsed.Milliseconds()
	if err := saveScan(ctx, a, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// saveScan keeps the summary in the settings and records the run in the audit trail.
func saveScan(ctx context.Context, a *app.App, rep *scanReport) error {
	sum := scanSummary{At: rep.At, ElapsedMS: rep.ElapsedMS, ByKind: map[sensitive.Kind]int64{}, Columns: []string{}}
	for _, t := range rep.Tables {
		sum.Rows += t.Rows
		sum.Findings += t.Findings
	}
	for _, f := range rep.Findings {
		sum.ByKind[f.Kind] += f.Rows
		if col := f.Table + "." + f.Column; !slices.Contains(sum.Columns, col) {
			sum.Columns = append(sum.Columns, col)
		}
	}
	value, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if limit := settingSize(a.Dict); len(value) > limit {
		sum.Columns, sum.ColumnsOmitted = []string{}, true
		if value, err = json.Marshal(sum); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
	}
	userID, department := audit.ActorFrom(ctx)
	return a.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			scanSetting, string(value), a.Now().UTC()); err != nil {
			return fmt.Errorf("scan: store the summary: %w", err)
		}
		return a.Audit.AppendTx(ctx, tx, audit.Event{UserID: userID, Department: department, Action: actionSensitiveScan,
			Table: "settings", Detail: fmt.Sprintf("%s rows=%d findings=%d", scanSetting, sum.Rows, sum.Findings)})
	})
}

// settingSize is how long a setting's value may be, as the dictionary declares it.
func settingSize(d *dictionary.Dictionary) int {
	if t := d.Table("settings"); t != nil {
		if c := t.Column("value"); c != nil {
			return c.Size
		}
	}
	return 0
}

// lastScan returns when the last scan ran, zero if never (or if its summary is unreadable).
func lastScan(ctx context.Context, a *app.App) time.Time {
	var value string
	if err := a.DB.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, scanSetting).Scan(&value); err != nil {
		return time.Time{}
	}
	var sum scanSummary
	if json.Unmarshal([]byte(value), &sum) != nil {
		return time.Time{}
	}
	return sum.At
}

// writeText prints the report for the DPO, in French like the other DPO reports.
func (r *scanReport) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Recherche de données sensibles déjà enregistrées (R03–R06) — %s, durée %s\n\n",
		r.At.Format("2006-01-02 15:04:05 MST"), r.elapsed.Round(time.Millisecond))
	width := len("Table")
	for _, t := range r.Tables {
		width = max(width, len(t.Table))
	}
	fmt.Fprintf(bw, "  %-*s  %11s  %8s\n", width, "Table", "Lignes lues", "Constats")
	for _, t := range r.Tables {
		fmt.Fprintf(bw, "  %-*s  %11d  %8d\n", width, t.Table, t.Rows, t.Findings)
	}
	fmt.Fprintln(bw)
	if len(r.Findings) == 0 {
		fmt.Fprintln(bw, "Aucune donnée sensible trouvée.")
		return bw.Flush()
	}
	fmt.Fprintln(bw, "Constats (identifiants de ligne ; les valeurs ne sont jamais affichées) :")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, f := range r.Findings {
		more := ""
		if f.Rows > int64(len(f.RowIDs)) {
			more = fmt.Sprintf(" et %d autre(s)", f.Rows-int64(len(f.RowIDs)))
		}
		fmt.Fprintf(tw, "  %s.%s\t%s (%s)\t%d ligne(s) : %s%s\n", f.Table, f.Column, f.Kind, f.Rule, f.Rows, joinIDs(f.RowIDs), more)
	}
	tw.Flush()
	fmt.Fprintf(bw, "\n%d constat(s) à examiner par le DPO : valeurs à corriger ou effacer (DESIGN §6).\n", r.total())
	return bw.Flush()
}

func joinIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*6)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d", id)
	}
	return string(b)
}

// Sensitive-data scan while serving: once a day. The first check waits a while after start, so
// that the scan does not compete with the start-up, and a server restarted within the day does
// not scan again.
const (
	sensitiveScanEvery = 24 * time.Hour
	sensitiveScanCheck = 15 * time.Minute
)

func maintainSensitiveScan(ctx context.Context, a *app.App) {
	last := lastScan(ctx, a)
	tick := time.NewTicker(sensitiveScanCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(last) < sensitiveScanEvery {
			continue
		}
		rep, err := scanStored(ctx, a)
		switch {
		case err != nil && ctx.Err() == nil:
			a.Log.Error("sensitive-data scan failed", "err", err)
		case err == nil && rep.total() > 0:
			a.Log.Warn("sensitive data found in stored values; `vigie scan` prints the report", "findings", rep.total(), "elapsed_ms", rep.ElapsedMS)
			last = time.Now()
		case err == nil:
			a.Log.Info("sensitive-data scan: nothing found", "elapsed_ms", rep.ElapsedMS)
			last = time.Now()
		}
	}
}
