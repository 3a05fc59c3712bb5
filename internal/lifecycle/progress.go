package lifecycle

import (
	"fmt"
	"io"
	"time"
)

// progress prints a step's advance on the terminal: at most a line a second, then its total. It
// prints counts and rule names, never personal data. How far it has gone is how far its cursor
// has gone through the table's ids.
type progress struct {
	w      io.Writer
	label  string
	lastID int64
	last   time.Time
	began  time.Time
}

func newProgress(w io.Writer, st step, r Rule, lastID int64) *progress {
	p := &progress{w: w, label: r.Label + " — " + ActionLabel(st.action), lastID: lastID, began: time.Now()}
	p.last = p.began
	return p
}

func (p *progress) advance(done, cursor int64) {
	if p.w == nil || time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "cycle de vie : %s : %d traités (%d %% de la table parcourus)\n", p.label, done, 100*min(cursor, p.lastID)/max(1, p.lastID))
}

func (p *progress) end(done int64) {
	if p.w == nil || done == 0 {
		return
	}
	fmt.Fprintf(p.w, "cycle de vie : %s : %d traités en %s\n", p.label, done, time.Since(p.began).Round(time.Millisecond))
}

// ActionLabel names an action of the engine in French, for the terminal and the DPO's page.
func ActionLabel(action string) string {
	switch action {
	case "renew":
		return "demande de renouvellement"
	case Delete:
		return "suppression"
	case Anonymise:
		return "anonymisation"
	case Archive:
		return "archivage"
	}
	return action
}
