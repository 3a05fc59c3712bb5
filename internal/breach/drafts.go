package breach

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
)

// Drafts (R39, R40): the notification to the CNIL, section by section as its online form asks,
// and the letters of art. 34 to the people concerned, in plain French, generated from the
// register. A draft is reviewed and sent by the DPO, who then records the notification.

// Draft is a text ready to be reviewed: a subject and a body, in French.
type Draft struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// CNILNotificationURL is the CNIL's online notification service.
const CNILNotificationURL = "https://notifications.cnil.fr/notifications/index"

// CNILDraft drafts the notification to the CNIL from the record: the initial one until it is
// recorded, a complementary one after. Producing it is recorded in the audit trail.
func (s *Service) CNILDraft(ctx context.Context, by Staff, id int64) (*Draft, error) {
	b, err := s.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	d := s.cnilDraft(b, s.now())
	if err := s.audit.Record(ctx, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionExport,
		Table: "breaches", RowID: id, Purpose: "compliance", Detail: "draft=cnil"}); err != nil {
		return nil, err
	}
	return d, nil
}

func labels(list []Label, codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = LabelOf(list, c)
	}
	return out
}

func count(p *int64, unknown string) string {
	if p == nil {
		return unknown
	}
	return strconv.FormatInt(*p, 10)
}

// section writes a numbered heading and its lines.
type writer struct{ strings.Builder }

func (w *writer) line(parts ...string) {
	w.WriteString(strings.Join(parts, ""))
	w.WriteByte('\n')
}

func (w *writer) heading(title string) {
	w.WriteByte('\n')
	w.line(title)
	w.line(strings.Repeat("-", len([]rune(title))))
}

func (w *writer) block(text string) {
	for _, l := range strings.Split(text, "\n") {
		w.line("  ", strings.TrimRight(l, " \r"))
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func timeOr(t time.Time, unknown string) string {
	if t.IsZero() {
		return unknown
	}
	return FrenchTime(t)
}

// ScopeText words a breach's scope, or "" without one.
func (s *Service) ScopeText(sc Scope) string {
	var parts []string
	if sc.Department != "" {
		name := sc.Department
		if d, ok := s.dict.Department(sc.Department); ok {
			name = d.Name
		}
		parts = append(parts, "les données accessibles au service « "+name+" »")
	}
	if sc.Table != "" {
		label := sc.Table
		if t := s.dict.Table(sc.Table); t != nil {
			label = t.Label
		}
		parts = append(parts, "la table « "+label+" »")
	}
	switch {
	case !sc.From.IsZero() && !sc.To.IsZero():
		parts = append(parts, "les enregistrements créés du "+FrenchTime(sc.From)+" au "+FrenchTime(sc.To))
	case !sc.From.IsZero():
		parts = append(parts, "les enregistrements créés depuis le "+FrenchTime(sc.From))
	case !sc.To.IsZero():
		parts = append(parts, "les enregistrements créés avant le "+FrenchTime(sc.To))
	}
	if len(sc.PersonIDs) > 0 {
		parts = append(parts, fmt.Sprintf("%d personne(s) nommée(s)", len(sc.PersonIDs)))
	}
	return strings.Join(parts, " ; ")
}

func (s *Service) cnilDraft(b *Breach, now time.Time) *Draft {
	w := &writer{}
	c := b.Clock(now)
	initial, notified := b.Initial()
	kind := "initiale"
	if notified {
		kind = "complémentaire"
	}
	w.line("PROJET DE NOTIFICATION À LA CNIL D'UNE VIOLATION DE DONNÉES PERSONNELLES (RGPD, ARTICLE 33)")
	w.line("Violation n° ", strconv.FormatInt(b.ID, 10), " : ", b.Title)
	w.line("Établi le ", FrenchTime(now), " à partir du registre des violations de Vigie, à relire puis à reporter dans le")
	w.line("téléservice de notification de la CNIL : ", CNILNotificationURL)
	if !b.CNILRequired() {
		w.line("")
		w.line("NB : le niveau de risque retenu (« ", LabelOf(Risks, b.Risk), " ») ne rend pas la notification obligatoire")
		w.line("(art. 33(1)) ; ce projet ne sert que si le DPO décide de notifier malgré tout.")
	}

	w.heading("1. Type de notification")
	if notified {
		ref := ""
		if initial.Reference != "" {
			ref = ", n° " + initial.Reference
		}
		w.line("Notification complémentaire à la notification initiale du ", FrenchTime(initial.SentAt), ref, " (art. 33(4)).")
	} else {
		partial := b.PeopleCount == nil || b.RecordsCount == nil || b.EndedAt.IsZero()
		if partial {
			w.line("Notification initiale, partielle : des informations complémentaires suivront (art. 33(4)).")
		} else {
			w.line("Notification initiale, complète.")
		}
	}

	w.heading("2. Responsable du traitement et point de contact")
	w.line("Organisme : ", s.controller.Name)
	w.line("Adresse : ", s.controller.Address)
	w.line("Point de contact (délégué à la protection des données) : ", b.Contact)

	w.heading("3. Chronologie")
	w.line("Début de la violation : ", timeOr(b.OccurredAt, "inconnu à ce stade"))
	w.line("Détection : ", FrenchTime(b.DetectedAt))
	w.line("Prise de connaissance par le responsable du traitement : ", FrenchTime(b.AwareAt))
	w.line("Fin de la violation : ", timeOr(b.EndedAt, "en cours, ou fin inconnue à ce stade"))
	w.line("Échéance de la notification (72 heures après la prise de connaissance) : ", FrenchTime(c.Deadline))
	switch {
	case notified && c.Late:
		w.line("Notification initiale envoyée le ", FrenchTime(initial.SentAt), ", au-delà du délai de 72 heures.")
		w.line("Motifs du retard :")
		w.block(initial.LateReason)
	case notified:
		w.line("Notification initiale envoyée le ", FrenchTime(initial.SentAt), ", dans le délai de 72 heures.")
	case c.State == ClockOverdue:
		w.line("Le délai de 72 heures est dépassé : la notification doit être accompagnée des motifs du retard (art. 33(1)).")
		w.line("Motifs du retard : [À COMPLÉTER]")
	}

	w.heading("4. Nature de la violation")
	for _, l := range labels(Natures, b.Nature) {
		w.line("- ", l)
	}
	w.line("Origine de l'incident : ", LabelOf(Origins, b.Origin))
	w.line("Cause : ", LabelOf(Causes, b.Cause))
	w.line("Circonstances :")
	w.block(b.Description)

	w.heading("5. Personnes et données concernées")
	w.line("Catégories de personnes : ", strings.Join(labels(PeopleCategories, b.PeopleCategories), ", "))
	found := ""
	if scope := s.ScopeText(b.Scope); scope != "" {
		found = fmt.Sprintf(" (%d trouvée(s) dans les données de Vigie pour le périmètre : %s)", b.PeopleFound, scope)
	}
	w.line("Nombre approximatif de personnes concernées : ", count(b.PeopleCount, "inconnu à ce stade, précisé dans une notification complémentaire"), found)
	w.line("Catégories de données : ", strings.Join(labels(DataCategories, b.DataCategories), ", "))
	w.line("Nombre approximatif d'enregistrements concernés : ", count(b.RecordsCount, "inconnu à ce stade, précisé dans une notification complémentaire"))
	w.line("Aucune donnée sensible (art. 9), numéro de sécurité sociale ni donnée d'infraction n'est conservée par Vigie (règles R03 à R06).")

	w.heading("6. Conséquences probables pour les personnes")
	w.block(b.Consequences)
	w.line("Niveau de risque retenu : ", LabelOf(Risks, b.Risk))
	w.line("Justification :")
	w.block(b.RiskReason)

	w.heading("7. Mesures prises et envisagées")
	w.line("Mesures prises pour remédier à la violation et en atténuer les conséquences :")
	w.block(b.MeasuresTaken)
	w.line("Mesures envisagées :")
	w.block(orDash(b.MeasuresProposed))

	w.heading("8. Information des personnes concernées (article 34)")
	var told []Notification
	for _, n := range b.Notifications {
		if n.Recipient == "people" {
			told = append(told, n)
		}
	}
	switch {
	case len(told) > 0:
		for _, n := range told {
			w.line("Personnes informées le ", FrenchTime(n.SentAt), " par ", strings.ToLower(LabelOf(Channels, n.Channel)),
				" (", count(n.PeopleNotified, "nombre non précisé"), " personne(s)).")
		}
	case b.Risk == RiskHigh && b.PeopleExemption != "":
		w.line("Les personnes ne sont pas informées individuellement : ", LabelOf(Exemptions, b.PeopleExemption), ".")
	case b.Risk == RiskHigh:
		w.line("Le risque étant élevé, les personnes concernées seront informées sans délai, par un courrier")
		w.line("décrivant en termes clairs la violation, ses conséquences probables, les mesures prises et le contact du DPO.")
	default:
		w.line("Les personnes ne sont pas informées : la violation n'est pas susceptible d'engendrer un risque élevé")
		w.line("pour leurs droits et libertés (art. 34(1)).")
	}

	if len(b.Notifications) > 0 {
		w.heading("9. Notifications déjà envoyées")
		for _, n := range b.Notifications {
			ref := ""
			if n.Reference != "" {
				ref = ", réf. " + n.Reference
			}
			w.line("- ", FrenchTime(n.SentAt), " : ", LabelOf(Recipients, n.Recipient), ", ", strings.ToLower(LabelOf(Phases, n.Phase)),
				", ", strings.ToLower(LabelOf(Channels, n.Channel)), ref)
		}
	}
	return &Draft{
		Subject: strings.Replace(fmt.Sprintf("Notification %s d'une violation de données personnelles — %s (violation n° %d)", kind, s.controller.Name, b.ID), " —  (", " (", 1),
		Text:    w.String(),
	}
}

// Letter is the art. 34 letter to one person concerned, with where to send it.
type Letter struct {
	PersonID int64    `json:"person_id"`
	Name     string   `json:"name"`
	Address  []string `json:"address"`
	Email    string   `json:"email,omitempty"`
	Draft
}

// LetterModel is the letter without a recipient: what every person will read. It holds no one's
// data, so reading it is not recorded.
func (s *Service) LetterModel(b *Breach) Draft {
	return s.letter(b, "Madame, Monsieur,", nil, s.now())
}

func (s *Service) letter(b *Breach, greeting string, header []string, now time.Time) Draft {
	w := &writer{}
	for _, l := range header {
		w.line(l)
	}
	if len(header) > 0 {
		w.line("")
	}
	w.line("Le ", FrenchDate(now))
	w.line("")
	w.line("Objet : violation de données personnelles vous concernant")
	w.line("")
	w.line(greeting)
	w.line("")
	where := ""
	if s.controller.Name != "" {
		where = " chez " + s.controller.Name
	}
	w.line("Nous devons vous informer qu'une violation de données personnelles vous concernant s'est produite", where,
		". Nous en avons eu connaissance le ", FrenchDate(b.AwareAt), ".")
	para := func(title, text string) {
		if text == "" {
			return
		}
		w.line("")
		w.line(title)
		w.line(text)
	}
	var nature []string
	for _, l := range labels(Natures, b.Nature) {
		head, _, _ := strings.Cut(l, " (")
		nature = append(nature, strings.ToLower(head[:1])+head[1:])
	}
	para("Ce qui s'est passé", b.Title+".\n"+b.Description+"\nIl s'agit d'une "+strings.Join(nature, " et d'une ")+
		".\nLes données concernées sont : "+strings.ToLower(strings.Join(labels(DataCategories, b.DataCategories), ", "))+".")
	para("Les conséquences possibles pour vous", b.Consequences)
	para("Ce que nous avons fait", b.MeasuresTaken)
	para("Ce que nous allons faire", b.MeasuresProposed)
	para("Ce que vous pouvez faire", b.Advice)
	if initial, ok := b.Initial(); ok {
		w.line("")
		w.line("Nous avons notifié cette violation à la Commission nationale de l'informatique et des libertés (CNIL) le ", FrenchDate(initial.SentAt), ".")
	}
	para("Pour toute question", "Vous pouvez joindre notre délégué à la protection des données : "+b.Contact+".\n"+
		"Vous pouvez aussi adresser une réclamation à la CNIL (www.cnil.fr ; 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07).")
	w.line("")
	w.line("Nous vous prions de bien vouloir nous excuser pour cette situation.")
	w.line("")
	w.line(s.controller.Name)
	w.line(s.controller.Address)
	return Draft{Subject: strings.TrimSuffix("Violation de données personnelles vous concernant — "+s.controller.Name, " — "), Text: w.String()}
}

// personFields are what a letter reads of a person: their name, postal address and e-mail.
var personFields = []string{"first_name", "last_name", "address_line", "postal_code", "city", "email"}

// MaxLetters bounds a page of letters.
const MaxLetters = 500

// Letters drafts the art. 34 letter to each person the breach concerns (R40), by person number
// after the cursor; next is 0 on the last page. Each person's name and addresses are decrypted
// under their key for their letter only, and every such reading is recorded in the audit trail
// (purpose compliance, detail breach=N letter) before the letters are returned. Erased people
// have nothing left to write to and are skipped.
func (s *Service) Letters(ctx context.Context, by Staff, breachID, after int64, limit int) ([]Letter, int64, error) {
	b, err := s.Get(ctx, by, breachID)
	if err != nil {
		return nil, 0, err
	}
	limit = min(max(limit, 1), MaxLetters)
	cols := "p." + strings.Join(personFields, ", p.")
	rows, err := s.db.QueryContext(ctx, `SELECT b.person_id, `+cols+`, k.wrapped_key FROM breach_persons b
		JOIN persons p ON p.id = b.person_id JOIN subject_keys k ON k.person_id = p.id
		WHERE b.breach_id = $1 AND b.person_id > $2 AND p.erased_at IS NULL ORDER BY b.person_id LIMIT $3`, breachID, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("breach: read the people to write to: %w", err)
	}
	type sealedPerson struct {
		id      int64
		values  [][]byte
		wrapped []byte
	}
	var people []sealedPerson
	for rows.Next() {
		p := sealedPerson{values: make([][]byte, len(personFields))}
		dst := []any{&p.id}
		for i := range p.values {
			dst = append(dst, &p.values[i])
		}
		dst = append(dst, &p.wrapped)
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("breach: read the people to write to: %w", err)
		}
		people = append(people, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("breach: read the people to write to: %w", err)
	}
	var next int64
	if len(people) > limit {
		people = people[:limit]
		next = people[limit-1].id
	}
	now := s.now()
	letters := make([]Letter, 0, len(people))
	events := make([]audit.Event, 0, len(people))
	for _, p := range people {
		sk, err := s.keys.Unwrap(p.id, p.wrapped)
		if err != nil {
			return nil, 0, fmt.Errorf("breach: letter %d: %w", p.id, err)
		}
		v := map[string]string{}
		var read []string
		for i, f := range personFields {
			if p.values[i] == nil {
				continue
			}
			plain, _, err := sk.Open("persons."+f, p.values[i])
			if err != nil {
				return nil, 0, fmt.Errorf("breach: letter %d: open persons.%s: %w", p.id, f, err)
			}
			v[f] = strings.TrimSpace(string(plain))
			read = append(read, f)
		}
		name := strings.TrimSpace(v["first_name"] + " " + v["last_name"])
		greeting := "Madame, Monsieur,"
		if name != "" {
			greeting = "Bonjour " + name + ","
		}
		var address []string
		for _, l := range []string{name, v["address_line"], strings.TrimSpace(v["postal_code"] + " " + v["city"])} {
			if l != "" {
				address = append(address, l)
			}
		}
		header := address
		if len(address) < 3 && v["email"] != "" {
			// Without a full postal address, the letter goes by e-mail.
			header = append(append([]string{}, address...), "Par courriel : "+v["email"])
		}
		letters = append(letters, Letter{PersonID: p.id, Name: name, Address: address, Email: v["email"], Draft: s.letter(b, greeting, header, now)})
		events = append(events, audit.Event{UserID: by.UserID, Department: by.Department, Action: audit.ActionRead, Table: "persons",
			RowID: p.id, Subject: s.audit.Subject(p.id), Fields: strings.Join(read, ","), Purpose: "compliance",
			Detail: "breach=" + strconv.FormatInt(breachID, 10) + " letter"})
	}
	// The reads are recorded before the letters leave: a letter whose reading cannot be recorded
	// is not given.
	if err := s.audit.Append(ctx, events...); err != nil {
		return nil, 0, fmt.Errorf("breach: record the reading of the letters: %w", err)
	}
	s.log.Info("breach letters drafted", "breach", breachID, "letters", len(letters))
	return letters, next, nil
}

// CNILDraftOf drafts the notification to the CNIL from a breach already read, to show it on the
// breach's page: reading the register is not recorded, so neither is this; CNILDraft, which
// produces the draft to send, is.
func (s *Service) CNILDraftOf(b *Breach) Draft { return *s.cnilDraft(b, s.now()) }
