package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"vigie/internal/stats"
)

// The performance team's page (DESIGN §10, R37): the anonymised statistics' charts, the form of
// the extract with a check of what it would be (k reached, levels, suppression rate) before the
// download, and the statistics' own dictionary. Only counts and bands, never personal data: the
// performance department reads nothing else anywhere.

// statisticsDepartments may work on the statistics.
var statisticsDepartments = map[string]bool{"performance": true, "dpo": true}

const statisticsForbidden = "Les statistiques anonymes sont réservées au service performance commerciale et au DPO."

type statisticsView struct {
	Form      statisticsForm
	Columns   []columnChoice
	Report    *stats.Report
	Summary   []string
	Download  string
	Snapshot  string
	LiveRows  int64
	Charts    []barChart
	K         int
	Doc       []stats.ColumnDoc
	Error     string
	ErrorHref string
}

type statisticsForm struct {
	K, From, To, Format string
	LDiversity          bool
}

type columnChoice struct {
	Column, Label string
	Checked       bool
}

// barChart is a conversion chart as an inline SVG: one bar per group, its rate written beside
// it so it reads without colour; groups of fewer than k quotes are named but not drawn.
type barChart struct {
	Title         string
	Width, Height int
	Bars          []chartBarLine
}

type chartBarLine struct {
	Label, Text         string
	Y, W, TextX, LabelY int
	Hidden              bool
}

// statisticsOptions reads the form (GET parameters); the extract's rules check the values.
func statisticsOptions(q url.Values) (stats.Options, statisticsForm) {
	f := statisticsForm{K: q.Get("k"), From: q.Get("from"), To: q.Get("to"), Format: q.Get("format"), LDiversity: q.Get("l") == "2"}
	if f.K == "" {
		f.K = strconv.Itoa(stats.DefaultK)
	}
	if f.Format == "" {
		f.Format = stats.FormatExcelFR
	}
	opt := stats.Options{From: f.From, To: f.To, Format: f.Format, Columns: q["colonne"]}
	if k, err := strconv.Atoi(strings.TrimSpace(f.K)); err == nil {
		opt.K = k
	} // else K stays 0, refused by the extract's rule on k
	if f.LDiversity {
		opt.L = 2
	}
	return opt, f
}

func (s *server) statisticsPage(w http.ResponseWriter, r *http.Request, st *session) {
	if !statisticsDepartments[st.User.Department] {
		s.forbidden(w, r, st, statisticsForbidden)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	opt, form := statisticsOptions(q)
	v := &statisticsView{Form: form, K: stats.DefaultK, Doc: stats.Dictionary()}
	for _, d := range v.Doc[:len(v.Doc)-1] {
		v.Columns = append(v.Columns, columnChoice{Column: d.Column, Label: d.Label, Checked: len(opt.Columns) == 0 || slices.Contains(opt.Columns, d.Column)})
	}
	status := http.StatusOK
	if q.Has("verifier") {
		rep, err := s.app.Stats.Plan(ctx, opt)
		var input *stats.InputError
		switch {
		case errors.As(err, &input):
			status, v.Error, v.ErrorHref = http.StatusUnprocessableEntity, input.Message, "#f-"+input.Field
		case err != nil:
			s.fail(w, r, st, err)
			return
		default:
			v.Report = &rep
			v.Summary = strings.Split(strings.TrimSpace(rep.Summary()), "\n")
			v.Download = "/statistiques/extrait.csv?" + q.Encode()
		}
	}
	snap, err := s.app.Stats.Snapshot(ctx)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	if !snap.RefreshedAt.IsZero() {
		v.Snapshot, v.LiveRows = s.frenchDate(snap.RefreshedAt), snap.LiveRows
	}
	charts, err := s.app.Stats.Charts(ctx, stats.DefaultK)
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	for _, c := range charts {
		v.Charts = append(v.Charts, newBarChart(c))
	}
	s.render(w, r, st, status, "statistics", "Statistiques anonymes", v)
}

// statisticsCSV streams the extract. The extract writes nothing before its options are checked
// and its groups found, so a refused extract still gets the page with its error, not a broken
// download: the attachment's headers go out with its first byte.
func (s *server) statisticsCSV(w http.ResponseWriter, r *http.Request, st *session) {
	if !statisticsDepartments[st.User.Department] {
		s.forbidden(w, r, st, statisticsForbidden)
		return
	}
	opt, _ := statisticsOptions(r.URL.Query())
	opt.By = stats.Actor{UserID: st.User.ID, Department: st.User.Department}
	out := &attachment{w: w, name: "statistiques-anonymes.csv"}
	if opt.Format == stats.FormatExcelFR {
		out.name = "statistiques-anonymes-excel.csv"
	}
	_, err := s.app.Stats.Export(r.Context(), out, opt)
	var input *stats.InputError
	switch {
	case err == nil:
	case !out.started && errors.As(err, &input):
		q := r.URL.Query()
		q.Set("verifier", "1")
		http.Redirect(w, r, "/statistiques?"+q.Encode()+"#extrait", http.StatusSeeOther)
	case !out.started:
		s.fail(w, r, st, err)
	default:
		// The headers are gone: the log says why the file is cut short (no personal data in it).
		s.app.Log.Error("web: statistics extract", "error", err)
	}
}

// attachment is a CSV download whose headers are sent with its first byte.
type attachment struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (a *attachment) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		a.w.Header().Set("Content-Disposition", `attachment; filename="`+a.name+`"`)
	}
	return a.w.Write(p)
}

// newBarChart lays out a conversion chart: 24 px per bar, the bar's length its conversion rate.
func newBarChart(c stats.Chart) barChart {
	const labelWidth, barMax, step = 230, 380, 24
	bc := barChart{Title: c.Title, Width: labelWidth + barMax + 150, Height: step*len(c.Bars) + 8}
	for i, b := range c.Bars {
		line := chartBarLine{Label: b.Label, Y: i*step + 4, LabelY: i*step + 20, Hidden: b.HiddenUnderK}
		if b.HiddenUnderK {
			line.Text = fmt.Sprintf("moins de %d devis : non affiché", stats.DefaultK)
			line.TextX = labelWidth
		} else {
			line.W = int(b.ConversionPerMil) * barMax / 1000
			line.TextX = labelWidth + line.W + 6
			line.Text = fmt.Sprintf("%s %% de %d devis", strconv.FormatFloat(float64(b.ConversionPerMil)/10, 'f', 1, 64), b.Quotes)
		}
		bc.Bars = append(bc.Bars, line)
	}
	return bc
}
