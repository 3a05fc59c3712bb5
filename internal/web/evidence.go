package web

import (
	"bytes"
	"net/http"

	"vigie/internal/evidence"
)

// The DPO's dashboard (DESIGN §12, R44): every check of the evidence report run on the live data
// when the page opens, failures first in the reader's eye (red, « non conforme »), with the open
// rights requests by time left and the consents per purpose drawn as bars; the report itself
// downloads as HTML or PDF. Only counts and codes, never personal data.

const evidenceForbidden = "Le tableau de bord de conformité est réservé au DPO."

type evidenceView struct {
	Report    *evidence.Report
	When      string
	Deadlines barSet
	Consents  barSet
}

// barSet is a chart of the dashboard: one bar per label, its length a share of the largest, its
// number written beside it so that it reads without colour.
type barSet struct {
	Height int
	Bars   []evidenceBar
}

type evidenceBar struct {
	Label       string
	N           int64
	Y, W, TextX int
}

func bars(labels []string, values []int64) barSet {
	const step, labelWidth, length = 24, 170, 380
	var top int64 = 1
	for _, v := range values {
		top = max(top, v)
	}
	set := barSet{Height: step*len(values) + 4}
	for i, v := range values {
		w := int(int64(length) * v / top)
		set.Bars = append(set.Bars, evidenceBar{Label: labels[i], N: v, Y: i * step, W: w, TextX: labelWidth + w + 6})
	}
	return set
}

func (s *server) evidencePage(w http.ResponseWriter, r *http.Request, st *session) {
	if st.User.Department != lifecycleDepartment {
		s.forbidden(w, r, st, evidenceForbidden)
		return
	}
	rep, err := evidence.Run(r.Context(), s.app, s.app.Now())
	if err != nil {
		s.fail(w, r, st, err)
		return
	}
	v := &evidenceView{Report: rep, When: s.frenchDate(rep.At)}
	var labels []string
	var values []int64
	for _, b := range rep.Deadlines {
		labels, values = append(labels, b.Label), append(values, b.N)
	}
	v.Deadlines = bars(labels, values)
	labels, values = nil, nil
	for _, c := range rep.Consents {
		labels, values = append(labels, c.Purpose), append(values, c.Granted)
	}
	v.Consents = bars(labels, values)
	s.render(w, r, st, http.StatusOK, "evidence", "Tableau de bord de conformité", v)
}

// evidenceReport downloads the report in a format, written to a buffer first so that an error
// never leaves half a file behind.
func (s *server) evidenceReport(format string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, st *session) {
		if st.User.Department != lifecycleDepartment {
			s.forbidden(w, r, st, evidenceForbidden)
			return
		}
		rep, err := evidence.Run(r.Context(), s.app, s.app.Now())
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		var buf bytes.Buffer
		name, kind := "rapport-conformite.html", "text/html; charset=utf-8"
		if format == "pdf" {
			name, kind = "rapport-conformite.pdf", "application/pdf"
			err = evidence.WritePDF(&buf, rep)
		} else {
			err = evidence.WriteHTML(&buf, rep)
		}
		if err != nil {
			s.fail(w, r, st, err)
			return
		}
		w.Header().Set("Content-Type", kind)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		buf.WriteTo(w)
	}
}
