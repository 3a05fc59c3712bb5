package breach

import (
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // Europe/Paris even on a system without zoneinfo
)

// States of the 72-hour clock (art. 33(1)).
const (
	// ClockRunning: the CNIL must be notified and the deadline has not passed.
	ClockRunning = "running"
	// ClockOverdue: the CNIL must be notified and the deadline has passed: notify now, with the
	// reason of the delay.
	ClockOverdue = "overdue"
	// ClockNotified: the initial notification to the CNIL is recorded (Late when after the
	// deadline).
	ClockNotified = "notified"
	// ClockNotRequired: the breach is unlikely to result in a risk; the register keeps why.
	ClockNotRequired = "not_required"
)

// What the people concerned are owed (art. 34).
const (
	PeopleNotRequired = "not_required" // no high risk
	PeopleExempted    = "exempted"     // an exception of art. 34(3)
	PeoplePending     = "pending"      // to be told without undue delay
	PeopleNotified    = "notified"     // a notification to the people is recorded
)

// Clock is where a breach stands against its deadlines at a given time.
type Clock struct {
	State    string
	Deadline time.Time
	// Left is the time to the deadline (negative once passed), while the clock runs or is overdue.
	Left       time.Duration
	NotifiedAt time.Time
	Late       bool
	People     string
}

// Clock computes the breach's clock at now.
func (b *Breach) Clock(now time.Time) Clock {
	c := Clock{Deadline: b.AwareAt.Add(Deadline)}
	switch initial, ok := b.Initial(); {
	case ok:
		c.State, c.NotifiedAt, c.Late = ClockNotified, initial.SentAt, initial.SentAt.After(c.Deadline)
	case !b.CNILRequired():
		c.State = ClockNotRequired
	default:
		c.Left = c.Deadline.Sub(now)
		c.State = ClockRunning
		if c.Left < 0 {
			c.State = ClockOverdue
		}
	}
	told := false
	for _, n := range b.Notifications {
		told = told || n.Recipient == "people"
	}
	switch {
	case told:
		c.People = PeopleNotified
	case b.Risk != RiskHigh:
		c.People = PeopleNotRequired
	case b.PeopleExemption != "":
		c.People = PeopleExempted
	default:
		c.People = PeoplePending
	}
	return c
}

// Text words the clock in French: « reste 41 h 12 min », « en retard de 5 h 03 min »…
func (c Clock) Text() string {
	switch c.State {
	case ClockRunning:
		return "reste " + Duration(c.Left) + " (échéance le " + FrenchTime(c.Deadline) + ")"
	case ClockOverdue:
		return "en retard de " + Duration(-c.Left) + " : échéance dépassée le " + FrenchTime(c.Deadline) + " ; notifiez avec le motif du retard"
	case ClockNotified:
		if c.Late {
			return "notifiée à la CNIL le " + FrenchTime(c.NotifiedAt) + ", hors délai (motif inscrit)"
		}
		return "notifiée à la CNIL le " + FrenchTime(c.NotifiedAt) + ", dans le délai"
	}
	return "notification à la CNIL non requise (motif inscrit au registre)"
}

// PeopleText words what the people are owed.
func (c Clock) PeopleText() string {
	switch c.People {
	case PeopleNotified:
		return "personnes informées"
	case PeopleExempted:
		return "information individuelle non requise (exception de l'art. 34(3))"
	case PeoplePending:
		return "personnes à informer sans délai (art. 34)"
	}
	return "information des personnes non requise"
}

// Duration words a duration in hours and minutes: « 41 h 12 min », « 3 j 2 h ».
func Duration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h >= 96 {
		return fmt.Sprintf("%d j %d h", h/24, h%24)
	}
	if h == 0 {
		return strconv.Itoa(m) + " min"
	}
	return fmt.Sprintf("%d h %02d min", h, m)
}

var paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.UTC
}()

// FrenchTime is a time as the DPO reads it, in Paris: « 03/11/2026 à 09:30 ».
func FrenchTime(t time.Time) string { return t.In(paris).Format("02/01/2006 à 15:04") }

var months = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// FrenchDate is a day as a letter writes it: « 3 novembre 2026 ».
func FrenchDate(t time.Time) string {
	t = t.In(paris)
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + months[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// Short words the clock for a table cell: « reste 41 h 12 min », « en retard de 5 h 03 min »,
// « notifiée le 03/11/2026 à 09:30 », « non requise ».
func (c Clock) Short() string {
	switch c.State {
	case ClockRunning:
		return "reste " + Duration(c.Left)
	case ClockOverdue:
		return "en retard de " + Duration(-c.Left)
	case ClockNotified:
		if c.Late {
			return "notifiée le " + FrenchTime(c.NotifiedAt) + " (hors délai)"
		}
		return "notifiée le " + FrenchTime(c.NotifiedAt)
	}
	return "non requise"
}

// PeopleShort words what the people are owed, for a table cell.
func (c Clock) PeopleShort() string {
	switch c.People {
	case PeopleNotified:
		return "informées"
	case PeopleExempted:
		return "exception (art. 34(3))"
	case PeoplePending:
		return "à informer"
	}
	return "non requise"
}

// RiskShort words a risk level in one or two words.
var RiskShort = map[string]string{RiskNone: "aucun", RiskLow: "improbable", RiskRisk: "risque", RiskHigh: "élevé"}
