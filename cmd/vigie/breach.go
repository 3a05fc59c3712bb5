package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"vigie/internal/app"
	"vigie/internal/breach"
)

// `vigie breach`: the breach register (R39–R40) on the command line, as the DPO's department with
// no user (user 0), which the audit trail records so. Nothing it prints to the terminal names a
// person: the letters, which do, are only written to a file of mode 0600.

var cliBreach = breach.Staff{Department: "dpo"}

func breachSubcommands() []subcommand {
	return []subcommand{
		{"record", func(ctx context.Context, e env) error { return breachWrite(ctx, e, false) }},
		{"update", func(ctx context.Context, e env) error { return breachWrite(ctx, e, true) }},
		{"list", breachList}, {"show", breachShow}, {"notify", breachNotify}, {"drafts", breachDrafts},
	}
}

const breachUsage = "vigie breach record --title T --aware \"AAAA-MM-JJ HH:MM\" --nature N[,N] --origin O --cause C --description T\n" +
	"                    --consequences T --measures T --risk none|low|risk|high --risk-reason T\n" +
	"                    [--detected …] [--occurred …] [--ended …] [--data-categories C,C] [--people-categories C,C]\n" +
	"                    [--people N] [--records N] [--measures-proposed T] [--advice T] [--contact C] [--exemption E]\n" +
	"                    [--scope-department D] [--scope-table T] [--scope-from …] [--scope-to …] [--scope-persons 1,2,3]\n" +
	"       vigie breach update --breach N [the same flags: only those given change; --aware never does]\n" +
	"       vigie breach list   (the register with each 72-hour clock; exit status 1 when one is overdue)\n" +
	"       vigie breach show --breach N\n" +
	"       vigie breach notify --breach N --to cnil|people --phase initial|complementary --sent \"AAAA-MM-JJ HH:MM\"\n" +
	"                    --channel teleservice|email|letter|phone|public [--reference R] [--people N] [--late-reason T] [--note T]\n" +
	"       vigie breach drafts --breach N [--letters --out FILE]   (the CNIL draft; the letters of art. 34 to a file)\n" +
	"       Times are Paris time (AAAA-MM-JJ HH:MM, or RFC 3339)."

func breachCmd(ctx context.Context, e env) error {
	return dispatch(ctx, e, "breach", cliBreach.Department, breachSubcommands())
}

// parseWhen reads a time flag: Paris time AAAA-MM-JJ HH:MM (or with a T), a day, or RFC 3339.
func parseWhen(name, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.UTC
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, paris); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q : une date et heure AAAA-MM-JJ HH:MM (heure de Paris) est attendue", name, v)
}

// breachFlags are the flags of the register's fields, by the field they fill.
var breachFlags = map[string]string{
	"title": "title", "aware_at": "aware", "detected_at": "detected", "occurred_at": "occurred", "ended_at": "ended",
	"nature": "nature", "origin": "origin", "cause": "cause", "description": "description", "data_categories": "data-categories",
	"people_categories": "people-categories", "people_count": "people", "records_count": "records", "consequences": "consequences",
	"measures_taken": "measures", "measures_proposed": "measures-proposed", "advice": "advice", "contact": "contact", "risk": "risk",
	"risk_reason": "risk-reason", "people_exemption": "exemption", "scope_department": "scope-department", "scope_table": "scope-table",
	"scope_from": "scope-from", "scope_to": "scope-to", "scope_persons": "scope-persons",
	"recipient": "to", "phase": "phase", "sent_at": "sent", "channel": "channel", "reference": "reference",
	"people_notified": "people", "late_reason": "late-reason", "note": "note",
}

// refused words a refusal of the register: each flag with its rule and why; nothing was written.
func refused(err error) error {
	ve, ok := breach.IsInput(err)
	if !ok {
		return err
	}
	var lines []string
	for _, is := range ve.Issues {
		flagName := breachFlags[is.Field]
		if flagName == "" {
			flagName = is.Field
		}
		lines = append(lines, fmt.Sprintf("--%s (règle %s) : %s", flagName, is.Rule, is.Message))
	}
	return errors.New(strings.Join(lines, "\n") + "\nrien n'a été enregistré")
}

type detailFlags struct {
	fs                                                       *flag.FlagSet
	title, aware, detected, occurred, ended                  *string
	nature, origin, cause, description, dataCats, peopleCats *string
	people, records                                          *string
	consequences, measures, proposed, advice, contact        *string
	risk, riskReason, exemption                              *string
	scopeDept, scopeTable, scopeFrom, scopeTo, scopePersons  *string
}

func newDetailFlags(fs *flag.FlagSet) *detailFlags {
	s := func(name, usage string) *string { return fs.String(name, "", usage) }
	return &detailFlags{fs: fs,
		title:        s("title", "a short title (3 to 200 characters)"),
		aware:        s("aware", "when the company became aware of the breach: the 72-hour clock starts there (required)"),
		detected:     s("detected", "when it was detected, by anyone (default: --aware)"),
		occurred:     s("occurred", "when it began, if known"),
		ended:        s("ended", "when it ended, if it has"),
		nature:       s("nature", "confidentiality, integrity, availability (comma-separated)"),
		origin:       s("origin", strings.Join(breach.Codes(breach.Origins), ", ")),
		cause:        s("cause", strings.Join(breach.Codes(breach.Causes), ", ")),
		description:  s("description", "what happened and how it was found"),
		dataCats:     s("data-categories", strings.Join(breach.Codes(breach.DataCategories), ", ")+" (default with a scope: the scope's)"),
		peopleCats:   s("people-categories", strings.Join(breach.Codes(breach.PeopleCategories), ", ")+" (default with a scope: those found)"),
		people:       s("people", "approximate number of people (default with a scope: those found)"),
		records:      s("records", "approximate number of records (default with a scope: those found)"),
		consequences: s("consequences", "likely consequences for the people"),
		measures:     s("measures", "measures taken"),
		proposed:     s("measures-proposed", "measures proposed"),
		advice:       s("advice", "what the people can do to protect themselves (in the letters)"),
		contact:      s("contact", "contact point (default: the DPO)"),
		risk:         s("risk", "none, low, risk (the CNIL is notified) or high (the CNIL and the people)"),
		riskReason:   s("risk-reason", "why this level: why the CNIL and the people must, or need not, be told"),
		exemption:    s("exemption", "art. 34(3) exception for a high risk: encrypted, mitigated, disproportionate"),
		scopeDept:    s("scope-department", "scope: the records this department's access reaches"),
		scopeTable:   s("scope-table", "scope: one table (persons, quotes, contracts…)"),
		scopeFrom:    s("scope-from", "scope: records created from this time"),
		scopeTo:      s("scope-to", "scope: records created before this time"),
		scopePersons: s("scope-persons", "scope: people by number, comma-separated"),
	}
}

// apply fills d from the flags given on the command line (all of them for a new breach).
func (f *detailFlags) apply(d *breach.Details, all bool) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	given := func(name string) bool { return all || set[name] }
	text := map[string]struct {
		v   *string
		dst *string
	}{"title": {f.title, &d.Title}, "origin": {f.origin, &d.Origin}, "cause": {f.cause, &d.Cause}, "description": {f.description, &d.Description},
		"consequences": {f.consequences, &d.Consequences}, "measures": {f.measures, &d.MeasuresTaken}, "measures-proposed": {f.proposed, &d.MeasuresProposed},
		"advice": {f.advice, &d.Advice}, "contact": {f.contact, &d.Contact}, "risk": {f.risk, &d.Risk}, "risk-reason": {f.riskReason, &d.RiskReason},
		"exemption": {f.exemption, &d.PeopleExemption}, "scope-department": {f.scopeDept, &d.Scope.Department}, "scope-table": {f.scopeTable, &d.Scope.Table}}
	for name, t := range text {
		if given(name) {
			*t.dst = *t.v
		}
	}
	lists := map[string]struct {
		v   *string
		dst *[]string
	}{"nature": {f.nature, &d.Nature}, "data-categories": {f.dataCats, &d.DataCategories}, "people-categories": {f.peopleCats, &d.PeopleCategories}}
	for name, l := range lists {
		if given(name) {
			*l.dst = strings.Split(*l.v, ",")
		}
	}
	times := map[string]struct {
		v   *string
		dst *time.Time
	}{"aware": {f.aware, &d.AwareAt}, "detected": {f.detected, &d.DetectedAt}, "occurred": {f.occurred, &d.OccurredAt},
		"ended": {f.ended, &d.EndedAt}, "scope-from": {f.scopeFrom, &d.Scope.From}, "scope-to": {f.scopeTo, &d.Scope.To}}
	for _, name := range []string{"aware", "detected", "occurred", "ended", "scope-from", "scope-to"} {
		if t := times[name]; given(name) {
			v, err := parseWhen(name, *t.v)
			if err != nil {
				return err
			}
			*t.dst = v
		}
	}
	numbers := map[string]struct {
		v   *string
		dst **int64
	}{"people": {f.people, &d.PeopleCount}, "records": {f.records, &d.RecordsCount}}
	for _, name := range []string{"people", "records"} {
		if n := numbers[name]; given(name) {
			*n.dst = nil
			if strings.TrimSpace(*n.v) != "" {
				v, err := strconv.ParseInt(strings.TrimSpace(*n.v), 10, 64)
				if err != nil || v < 0 {
					return fmt.Errorf("--%s %q : un nombre entier positif ou nul est attendu", name, *n.v)
				}
				*n.dst = &v
			}
		}
	}
	if given("scope-persons") && strings.TrimSpace(*f.scopePersons) != "" {
		d.Scope.PersonIDs = nil
		for _, part := range strings.Split(*f.scopePersons, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("--scope-persons : des numéros de personne (entiers positifs) séparés par des virgules sont attendus")
			}
			d.Scope.PersonIDs = append(d.Scope.PersonIDs, id)
		}
	}
	return nil
}

func checkBreach(id int64) error {
	if id <= 0 {
		return errors.New("--breach est obligatoire : le numéro de la violation (vigie breach list)")
	}
	return nil
}

// breachWrite records a breach, or updates one with the flags given.
func breachWrite(ctx context.Context, e env, update bool) error {
	var cfg app.Config
	fs := flags("breach", e, &cfg)
	id := fs.Int64("breach", 0, "the breach's number (update only)")
	f := newDetailFlags(fs)
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if update {
		if err := checkBreach(*id); err != nil {
			return err
		}
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	var d breach.Details
	if update {
		b, err := a.Breaches.Get(ctx, cliBreach, *id)
		if errors.Is(err, breach.ErrNotFound) {
			return fmt.Errorf("--breach %d : violation inconnue ; rien n'a été enregistré", *id)
		}
		if err != nil {
			return err
		}
		d = b.Details
	}
	if err := f.apply(&d, !update); err != nil {
		return err
	}
	if update {
		if err := a.Breaches.Update(ctx, cliBreach, *id, d); err != nil {
			return refused(err)
		}
		fmt.Fprintf(e.stdout, "violation n° %d mise à jour\n", *id)
		return nil
	}
	n, err := a.Breaches.Record(ctx, cliBreach, d)
	if err != nil {
		return refused(err)
	}
	b, err := a.Breaches.Get(ctx, cliBreach, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "violation n° %d inscrite au registre ; délai CNIL : %s\n", n, b.Clock(a.Now()).Text())
	if !b.Scope.IsZero() {
		fmt.Fprintf(e.stdout, "périmètre : %d personne(s) et %d enregistrement(s) trouvés dans les données\n", b.PeopleFound, b.RecordsFound)
	}
	return nil
}

// breachList prints the register with each clock; it exits with status 1 when a notification
// to the CNIL is overdue, so that it can gate a report or a monitoring probe.
func breachList(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "breach")
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.Breaches.List(ctx, cliBreach)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "aucune violation inscrite au registre")
		return nil
	}
	now := a.Now()
	overdue := 0
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "n°\tprise de connaissance\trisque\tpersonnes\tdélai CNIL (72 h)\tpersonnes concernées")
	for _, b := range list {
		c := b.Clock(now)
		if c.State == breach.ClockOverdue {
			overdue++
		}
		people := "?"
		if b.PeopleCount != nil {
			people = strconv.FormatInt(*b.PeopleCount, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", b.ID, breach.FrenchTime(b.AwareAt), breach.RiskShort[b.Risk], people, c.Short(), c.PeopleShort())
	}
	tw.Flush()
	if overdue > 0 {
		return fmt.Errorf("%d violation(s) à notifier à la CNIL ont dépassé le délai de 72 heures", overdue)
	}
	return nil
}

// breachShow prints one breach, its clock and its notifications.
func breachShow(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("breach", e, &cfg)
	id := fs.Int64("breach", 0, "the breach's number (required)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if err := checkBreach(*id); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Breaches.Get(ctx, cliBreach, *id)
	if errors.Is(err, breach.ErrNotFound) {
		return fmt.Errorf("--breach %d : violation inconnue", *id)
	}
	if err != nil {
		return err
	}
	printBreach(e.stdout, a, b)
	return nil
}

func printBreach(w io.Writer, a *app.App, b *breach.Breach) {
	c := b.Clock(a.Now())
	count := func(p *int64) string {
		if p == nil {
			return "inconnu"
		}
		return strconv.FormatInt(*p, 10)
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return breach.FrenchTime(t)
	}
	names := func(list []breach.Label, codes []string) string {
		out := make([]string, len(codes))
		for i, code := range codes {
			out[i] = breach.LabelOf(list, code)
		}
		return strings.Join(out, ", ")
	}
	fmt.Fprintf(w, "Violation n° %d : %s\n", b.ID, b.Title)
	fmt.Fprintf(w, "Délai CNIL : %s\nPersonnes : %s\n", c.Text(), c.PeopleText())
	fmt.Fprintf(w, "Début : %s ; détection : %s ; prise de connaissance : %s ; fin : %s\n", when(b.OccurredAt), when(b.DetectedAt), when(b.AwareAt), when(b.EndedAt))
	fmt.Fprintf(w, "Nature : %s\nOrigine : %s ; cause : %s\n", names(breach.Natures, b.Nature), breach.LabelOf(breach.Origins, b.Origin), breach.LabelOf(breach.Causes, b.Cause))
	fmt.Fprintf(w, "Circonstances : %s\n", b.Description)
	fmt.Fprintf(w, "Personnes : %s (%s) ; enregistrements : %s\n", count(b.PeopleCount), names(breach.PeopleCategories, b.PeopleCategories), count(b.RecordsCount))
	fmt.Fprintf(w, "Données : %s\n", names(breach.DataCategories, b.DataCategories))
	if scope := a.Breaches.ScopeText(b.Scope); scope != "" {
		fmt.Fprintf(w, "Périmètre : %s — %d personne(s), %d enregistrement(s) trouvés ; %d informée(s)\n", scope, b.PeopleFound, b.RecordsFound, b.PeopleNotified)
	}
	fmt.Fprintf(w, "Conséquences probables : %s\n", b.Consequences)
	fmt.Fprintf(w, "Mesures prises : %s\n", b.MeasuresTaken)
	if b.MeasuresProposed != "" {
		fmt.Fprintf(w, "Mesures envisagées : %s\n", b.MeasuresProposed)
	}
	fmt.Fprintf(w, "Risque : %s\nJustification : %s\n", breach.LabelOf(breach.Risks, b.Risk), b.RiskReason)
	if b.PeopleExemption != "" {
		fmt.Fprintf(w, "Exception : %s\n", breach.LabelOf(breach.Exemptions, b.PeopleExemption))
	}
	fmt.Fprintf(w, "Point de contact : %s\n", b.Contact)
	for _, n := range b.Notifications {
		fmt.Fprintf(w, "Notification : %s, %s, le %s par %s", breach.LabelOf(breach.Recipients, n.Recipient),
			strings.ToLower(breach.LabelOf(breach.Phases, n.Phase)), breach.FrenchTime(n.SentAt), strings.ToLower(breach.LabelOf(breach.Channels, n.Channel)))
		if n.Reference != "" {
			fmt.Fprintf(w, ", réf. %s", n.Reference)
		}
		if n.LateReason != "" {
			fmt.Fprintf(w, " ; motif du retard : %s", n.LateReason)
		}
		fmt.Fprintln(w)
	}
}

// breachNotify records a notification once sent.
func breachNotify(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("breach", e, &cfg)
	id := fs.Int64("breach", 0, "the breach's number (required)")
	to := fs.String("to", "", "cnil or people")
	phase := fs.String("phase", "initial", "initial or complementary")
	sent := fs.String("sent", "", "when it was sent (required; never before awareness)")
	channel := fs.String("channel", "", "teleservice, email or letter (CNIL); email, letter, phone or public (people)")
	reference := fs.String("reference", "", "the number the CNIL gave the notification")
	people := fs.String("people", "", "how many people were informed (default: all those concerned not yet informed)")
	lateReason := fs.String("late-reason", "", "why the initial notification to the CNIL comes after 72 hours (required then)")
	note := fs.String("note", "", "what was sent, or what the complementary notification adds")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if err := checkBreach(*id); err != nil {
		return err
	}
	when, err := parseWhen("sent", *sent)
	if err != nil {
		return err
	}
	n := breach.NotificationInput{Recipient: *to, Phase: *phase, SentAt: when, Channel: *channel, Reference: *reference,
		LateReason: *lateReason, Note: *note}
	if strings.TrimSpace(*people) != "" {
		v, err := strconv.ParseInt(strings.TrimSpace(*people), 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("--people %q : un nombre entier positif ou nul est attendu", *people)
		}
		n.PeopleNotified = &v
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	nid, err := a.Breaches.Notify(ctx, cliBreach, *id, n)
	if errors.Is(err, breach.ErrNotFound) {
		return fmt.Errorf("--breach %d : violation inconnue ; rien n'a été enregistré", *id)
	}
	if err != nil {
		return refused(err)
	}
	b, err := a.Breaches.Get(ctx, cliBreach, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "notification n° %d inscrite ; violation n° %d : %s ; %s\n", nid, *id, b.Clock(a.Now()).Text(), b.Clock(a.Now()).PeopleText())
	return nil
}

// breachDrafts prints the CNIL draft, or writes the letters to a file.
func breachDrafts(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("breach", e, &cfg)
	id := fs.Int64("breach", 0, "the breach's number (required)")
	letters := fs.Bool("letters", false, "write the letters of art. 34, one per person concerned, instead of the CNIL draft")
	out := fs.String("out", "", "file to write to (required with --letters: the letters name people; created with mode 0600)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if err := checkBreach(*id); err != nil {
		return err
	}
	if *letters && *out == "" {
		return errors.New("--out est obligatoire avec --letters : les courriers nomment des personnes, ils ne s'affichent pas dans le terminal")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Breaches.Get(ctx, cliBreach, *id); errors.Is(err, breach.ErrNotFound) {
		return fmt.Errorf("--breach %d : violation inconnue", *id)
	}
	if !*letters {
		d, err := a.Breaches.CNILDraft(ctx, cliBreach, *id)
		if err != nil {
			return err
		}
		text := "Objet : " + d.Subject + "\n\n" + d.Text
		if *out == "" {
			fmt.Fprint(e.stdout, text)
			return nil
		}
		return writeFileAtomically(*out, func(w io.Writer) error { _, err := io.WriteString(w, text); return err },
			func() error {
				fmt.Fprintf(e.stdout, "projet de notification à la CNIL écrit dans %s\n", *out)
				return nil
			})
	}
	written := 0
	err = writeFileAtomically(*out, func(w io.Writer) error {
		var after int64
		for {
			page, next, err := a.Breaches.Letters(ctx, cliBreach, *id, after, breach.MaxLetters)
			if err != nil {
				return err
			}
			for _, l := range page {
				if written > 0 {
					io.WriteString(w, "\f\n")
				}
				fmt.Fprintf(w, "=== Courrier à la personne n° %d ===\n%s", l.PersonID, l.Text)
				written++
			}
			if after = next; next == 0 {
				return nil
			}
		}
	}, func() error { return nil })
	if err != nil {
		return err
	}
	e.log.Info("breach letters written", "breach", *id, "letters", written)
	fmt.Fprintf(e.stdout, "%d courrier(s) de l'article 34 écrits dans %s (un saut de page entre chaque)\n", written, *out)
	return nil
}
