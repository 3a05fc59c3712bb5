package dictionary

// The legacy audit (DESIGN §4, seed 002 §2 "Évaluer la base de données actuelle", rule R07): it
// reads a CSV extract of the old CRM and classifies each column against the dictionary, so that
// the DPO knows, before any import, what is strictly necessary, what is only worth keeping as
// anonymous statistics, what is sensitive and must go, and what no purpose needs.
//
// Classification rules, in order of precedence:
//
//  1. Values first: a checksum-verified NIR, card number or IBAN, a blood group, or health or
//     art. 9 vocabulary found in the values makes the column sensitive whatever its header says
//     (a "commentaire" full of social-security numbers is sensitive).
//  2. The header, normalised (lower case, no accents, "_" between words) and looked up in a table
//     of the usual French and English legacy names:
//     - a name of sensitive data (num_secu, groupe_sanguin, religion…) → sensitive;
//     - a dictionary column (nom → persons.last_name) → strictly necessary, the values checked
//     against the column's type and format; a dictionary column whose category is "statistical"
//     (quotes.channel) → statistical only;
//     - a commercial indicator or a characteristic of the insured risk that no purpose needs
//     attached to the person but that describes the market (profession → socio-professional
//     category, vehicle category, appetence score, segment) → statistical only: it may feed
//     the anonymised statistics after generalisation (R09, R37), never the person's record;
//     - private-life data outside the insurance relationship (marital status, children,
//     hobbies, employer, income, civility) → unnecessary (R02).
//  3. An unknown header whose values are e-mail addresses, French phone numbers or registration
//     plates (80 % or more of them) → strictly necessary, mapped to that dictionary column.
//  4. Anything else is unknown: the DPO decides, and the import drops it meanwhile (R07).
//
// The audit streams the file record by record and keeps only counters, so its memory does not
// grow with the file. No cell value ever reaches the report or an error: counts and reasons only.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"vigie/internal/sensitive"
)

// Class is the audit's verdict on one legacy column (seed 002 §2).
type Class string

// The five classes; the JSON report uses these codes, the text report their French labels.
const (
	ClassNecessary   Class = "necessary"
	ClassStatistical Class = "statistical"
	ClassSensitive   Class = "sensitive"
	ClassUnnecessary Class = "unnecessary"
	ClassUnknown     Class = "unknown"
)

// Classes lists the classes in the order reports print them.
var Classes = []Class{ClassNecessary, ClassStatistical, ClassSensitive, ClassUnnecessary, ClassUnknown}

// Label is the class as the seed names it.
func (c Class) Label() string {
	switch c {
	case ClassNecessary:
		return "strictement nécessaire"
	case ClassStatistical:
		return "statistique uniquement"
	case ClassSensitive:
		return "sensible"
	case ClassUnnecessary:
		return "non nécessaire"
	}
	return "inconnue"
}

// AuditOptions tunes an audit.
type AuditOptions struct {
	// Delimiter forces the field separator; 0 detects it from the header among ',', ';' and tab.
	Delimiter rune
	// MaxRows stops after that many data rows; 0 reads the whole file.
	MaxRows int64
	// Now is the date values are checked against (a birth date must be 18 years old); zero means
	// the current time.
	Now time.Time
	// MaxRecordBytes bounds one record, so that an unclosed quote cannot pull a whole file into
	// memory; 0 means 16 MiB.
	MaxRecordBytes int64
}

// AuditReport is the inventory of a legacy extract. It holds counts and reasons, never a value.
type AuditReport struct {
	Dictionary string `json:"dictionary"`
	Version    string `json:"dictionary_version"`
	Delimiter  string `json:"delimiter"`
	BOM        bool   `json:"bom"`
	// Rows counts the data rows read (the header excluded).
	Rows int64 `json:"rows"`
	// Truncated is set when MaxRows stopped the audit before the end of the file.
	Truncated bool `json:"truncated"`
	// HeaderLooksLikeData is set when a header cell looked like personal data (a file exported
	// without its header line); such headers are replaced by "colonne N".
	HeaderLooksLikeData bool          `json:"header_looks_like_data"`
	Columns             []ColumnAudit `json:"columns"`
	Totals              map[Class]int `json:"totals"`
	// RaggedRows counts the rows whose number of fields differs from the header's; RaggedLines
	// lists the first of their line numbers. Malformed rows (a misplaced quote) are skipped.
	RaggedRows     int64   `json:"ragged_rows"`
	RaggedLines    []int64 `json:"ragged_lines"`
	MalformedRows  int64   `json:"malformed_rows"`
	MalformedLines []int64 `json:"malformed_lines"`
}

// scan is the state of one audit while the file streams by: a few counters per column.
type scan struct {
	rep    *AuditReport
	now    time.Time
	stats  []*columnStats
	rules  []*headerRule
	mapped []*Column
	probes map[string]*Column
}

// ColumnAudit is the verdict on one column.
type ColumnAudit struct {
	Index      int    `json:"index"`
	Header     string `json:"header"`
	Normalised string `json:"normalised"`
	Class      Class  `json:"class"`
	// Column is the dictionary column ("table.column") the legacy column maps to, if any.
	Column string `json:"column,omitempty"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Rows counts the rows that had a cell for this column, NonEmpty those whose cell was not
	// blank, Matches the values that support the verdict (detections, or values valid for the
	// mapped column).
	Rows     int64 `json:"rows"`
	NonEmpty int64 `json:"non_empty"`
	Matches  int64 `json:"matches"`
}

// ErrEmptyFile is returned for a file without even a header line.
var ErrEmptyFile = errors.New("the file is empty: no header line")

// ErrNotUTF8 is returned, with the line, for a file in another encoding.
var ErrNotUTF8 = errors.New("not valid UTF-8 (a Latin-1 or Windows-1252 export?); convert the file, e.g. iconv -f WINDOWS-1252 -t UTF-8")

// ErrRecordTooLarge is returned when one record exceeds AuditOptions.MaxRecordBytes.
var ErrRecordTooLarge = errors.New("record too large (an unclosed quote?)")

// lineListLimit bounds the line numbers a report lists; the counts stay exact.
const lineListLimit = 100

// Audit inventories a legacy CSV extract against the dictionary and classifies each column.
func (d *Dictionary) Audit(r io.Reader, opts AuditOptions) (*AuditReport, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 16 << 20
	}
	lim := &recordLimiter{r: r, max: opts.MaxRecordBytes}
	br := bufio.NewReaderSize(lim, 64<<10)
	rep := &AuditReport{Dictionary: d.Title, Version: d.Version, Totals: map[Class]int{}, RaggedLines: []int64{}, MalformedLines: []int64{}}
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
		rep.BOM = true
	}
	delim := opts.Delimiter
	if delim == 0 {
		delim = detectDelimiter(br)
	}
	rep.Delimiter = string(delim)
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("dictionary: audit: %w", ErrEmptyFile)
	case errors.Is(err, ErrRecordTooLarge):
		return nil, fmt.Errorf("dictionary: audit: line 1: %w", ErrRecordTooLarge)
	case err != nil:
		return nil, fmt.Errorf("dictionary: audit: header: %w", err)
	}
	for i, h := range header {
		if !utf8.ValidString(h) {
			line, _ := cr.FieldPos(i)
			return nil, fmt.Errorf("dictionary: audit: line %d: %w", line, ErrNotUTF8)
		}
	}
	sc := &scan{rep: rep, now: opts.Now}
	sc.startColumns(d, header)

	lastLine := 1
	for {
		if opts.MaxRows > 0 && rep.Rows >= opts.MaxRows {
			if _, err := cr.Read(); !errors.Is(err, io.EOF) {
				rep.Truncated = true
			}
			break
		}
		lim.n = 0
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			rep.MalformedRows++
			if len(rep.MalformedLines) < lineListLimit {
				rep.MalformedLines = append(rep.MalformedLines, int64(pe.StartLine))
			}
			lastLine = pe.Line
			continue
		case errors.Is(err, ErrRecordTooLarge):
			return nil, fmt.Errorf("dictionary: audit: after line %d: %w", lastLine, ErrRecordTooLarge)
		case err != nil:
			return nil, fmt.Errorf("dictionary: audit: after line %d: %w", lastLine, err)
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		for i, cell := range rec {
			if !utf8.ValidString(cell) {
				l, _ := cr.FieldPos(i)
				return nil, fmt.Errorf("dictionary: audit: line %d: %w", l, ErrNotUTF8)
			}
		}
		rep.Rows++
		if len(rec) != len(header) {
			rep.RaggedRows++
			if len(rep.RaggedLines) < lineListLimit {
				rep.RaggedLines = append(rep.RaggedLines, int64(line))
			}
		}
		for i := range min(len(rec), len(header)) {
			sc.observe(i, rec[i])
		}
	}
	sc.classify()
	return rep, nil
}

// recordLimiter counts the bytes read since the last record began and refuses to read on past
// the limit.
type recordLimiter struct {
	r      io.Reader
	n, max int64
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, ErrRecordTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// detectDelimiter counts ',', ';' and tabs outside quotes on the header line; the most frequent
// wins, ';' first on a tie (the French spreadsheet export), ',' when there is none.
func detectDelimiter(br *bufio.Reader) rune {
	head, _ := br.Peek(64 << 10)
	counts := map[byte]int{}
	quoted := false
	for _, c := range head {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted {
			counts[c]++
		}
	}
	best, most := byte(','), 0
	for _, c := range []byte{';', '\t', ','} {
		if counts[c] > most {
			best, most = c, counts[c]
		}
	}
	return rune(best)
}

// columnStats are the counters kept for one column while the file streams by.
type columnStats struct {
	rows, nonEmpty         int64
	nirShaped, nir         int64
	cardShaped, card       int64
	ibanShaped, iban       int64
	bloodValue, bloodText  int64
	healthText, healthWord int64
	beliefText, beliefWord int64
	valid                  int64 // values valid for the column the header maps to
	probe                  map[string]int64
}

// probeColumns are the dictionary columns whose format is distinctive enough to recognise values
// under an unknown header.
var probeColumns = []string{"persons.email", "persons.phone", "quotes.plate"}

func (sc *scan) startColumns(d *Dictionary, header []string) {
	sc.probes = map[string]*Column{}
	for _, ref := range probeColumns {
		if c := d.columnRef(ref); c != nil {
			sc.probes[ref] = c
		}
	}
	for i, h := range header {
		h = strings.TrimSpace(h)
		ca := ColumnAudit{Index: i + 1, Header: h}
		if looksLikeData(h) {
			ca.Header = "colonne " + strconv.Itoa(i+1)
			sc.rep.HeaderLooksLikeData = true
		} else {
			ca.Normalised = NormaliseHeader(h)
		}
		rule := lookupHeader(ca.Normalised)
		var mapped *Column
		if rule != nil && rule.column != "" {
			mapped = d.columnRef(rule.column)
			if mapped == nil {
				rule = nil // the dictionary no longer has the column: judge by the values
			}
		}
		sc.rep.Columns = append(sc.rep.Columns, ca)
		sc.rules = append(sc.rules, rule)
		sc.mapped = append(sc.mapped, mapped)
		st := &columnStats{}
		if mapped == nil {
			st.probe = map[string]int64{}
		}
		sc.stats = append(sc.stats, st)
	}
}

// looksLikeData tells a header cell that is in fact a value (an extract without its header line),
// so that it is not printed.
func looksLikeData(h string) bool {
	return len(h) > 80 || strings.Contains(h, "@") || countDigits(h) >= 5 || sensitive.IsBloodGroup(h) ||
		len(sensitive.Scan(h, false)) > 0
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func (d *Dictionary) columnRef(ref string) *Column {
	table, col, _ := strings.Cut(ref, ".")
	if t := d.Table(table); t != nil {
		return t.Column(col)
	}
	return nil
}

// observe updates the counters of column i with one cell. The cell itself is not kept.
func (sc *scan) observe(i int, cell string) {
	st := sc.stats[i]
	st.rows++
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return
	}
	st.nonEmpty++
	if s, v := sensitive.CountNIR(cell); s > 0 {
		st.nirShaped++
		if v > 0 {
			st.nir++
		}
	}
	if s, v := sensitive.CountCardNumbers(cell); s > 0 {
		st.cardShaped++
		if v > 0 {
			st.card++
		}
	}
	if s, v := sensitive.CountIBANs(cell); s > 0 {
		st.ibanShaped++
		if v > 0 {
			st.iban++
		}
	}
	var blood, health, belief bool
	for _, f := range sensitive.Scan(cell, true) {
		switch f.Kind {
		case sensitive.KindBloodGroup:
			blood = true
		case sensitive.KindHealth:
			health = true
		case sensitive.KindOpinion:
			belief = true
		}
	}
	switch {
	case len(cell) <= 60 && sensitive.IsBloodGroup(cell):
		st.bloodValue++
	case blood:
		st.bloodText++
	}
	// A single word ("Catholique") counts towards a column of such values; a word inside a
	// sentence is sensitive on its own. This keeps surnames and town names out of it.
	oneWord := !strings.ContainsFunc(cell, unicode.IsSpace)
	if health {
		if oneWord {
			st.healthWord++
		} else {
			st.healthText++
		}
	}
	if belief {
		if oneWord {
			st.beliefWord++
		} else {
			st.beliefText++
		}
	}
	if c := sc.mapped[i]; c != nil {
		if sc.rules[i].noCheck {
			st.valid++
		} else if _, fe := c.DecodeString(legacyValue(c, cell), sc.now); fe == nil {
			st.valid++
		}
		return
	}
	for ref, c := range sc.probes {
		if ref == "persons.phone" && (countDigits(cell) < 9 || countDigits(cell) > 13) {
			continue
		}
		if _, fe := c.DecodeString(legacyValue(c, cell), sc.now); fe == nil {
			st.probe[ref]++
		}
	}
}

// Thresholds of the classification.
const (
	// supportShare of the non-empty values must fit a format for the values to support a mapping
	// or to make a column of blood groups or of single sensitive words.
	supportShare = 0.8
	// keyShare of the numbers of the right shape must have a valid checksum for them to be taken
	// for NIRs, cards or IBANs: by chance only 1 in 97 (NIR, IBAN) or 1 in 10 (Luhn) would.
	keyShare = 0.5
)

func (sc *scan) classify() {
	for i := range sc.rep.Columns {
		ca := &sc.rep.Columns[i]
		st := sc.stats[i]
		ca.Rows, ca.NonEmpty = st.rows, st.nonEmpty
		classifyColumn(ca, st, sc.rules[i], sc.mapped[i], sc.probes)
		sc.rep.Totals[ca.Class]++
	}
}

func classifyColumn(ca *ColumnAudit, st *columnStats, rule *headerRule, mapped *Column, probes map[string]*Column) {
	set := func(class Class, ruleID string, matches int64, reason string) {
		ca.Class, ca.Rule, ca.Matches, ca.Reason = class, ruleID, matches, reason
	}
	// 1. Values that must not be held, whatever the header says.
	if ev := sensitiveEvidence(st); ev != nil {
		reason := ev.reason
		switch {
		case rule != nil && rule.class == ClassSensitive:
			reason += " ; confirmé par l'en-tête « " + ca.Normalised + " »"
		case ca.Normalised != "":
			reason += " ; l'en-tête « " + ca.Normalised + " » ne le laissait pas prévoir"
		}
		set(ClassSensitive, ev.rule, ev.matches, reason)
		return
	}
	// 2. The header.
	if rule != nil && mapped == nil {
		reason := rule.rule + " : " + rule.why
		if rule.class == ClassSensitive && st.nonEmpty > 0 {
			reason += fmt.Sprintf(" ; %d valeur(s) non vide(s) à supprimer", st.nonEmpty)
		}
		set(rule.class, rule.rule, 0, reason)
		return
	}
	if mapped != nil {
		ca.Column = rule.column
		ok := share(st.valid, st.nonEmpty) >= supportShare
		if rule.offence && st.nonEmpty > 0 && !ok {
			set(ClassSensitive, "R05", st.nonEmpty-st.valid, fmt.Sprintf(
				"R05 : la question de souscription %s n'admet que oui ou non ; %d valeur(s) sur %d donnent autre chose, des détails d'infraction (art. 10 RGPD, DESIGN §6)",
				rule.column, st.nonEmpty-st.valid, st.nonEmpty))
			return
		}
		what := fmt.Sprintf("correspond à %s (« %s », finalités : %s)", rule.column, mapped.Label, strings.Join(mapped.Purposes, ", "))
		if rule.why != "" {
			what = rule.why + " ; " + what
		}
		quality := ""
		switch {
		case rule.noCheck:
		case st.nonEmpty == 0:
			quality = " ; colonne vide"
		case ok:
			quality = fmt.Sprintf(" ; %d valeur(s) sur %d conformes au dictionnaire (%s)", st.valid, st.nonEmpty, percent(st.valid, st.nonEmpty))
		default:
			quality = fmt.Sprintf(" ; seules %d valeur(s) sur %d (%s) sont conformes au type et au format du dictionnaire : à corriger avant l'import", st.valid, st.nonEmpty, percent(st.valid, st.nonEmpty))
		}
		if mapped.Category == "statistical" {
			set(ClassStatistical, "R09", st.valid, "R09 : "+what+", donnée de catégorie statistique : utile agrégée dans les statistiques anonymes, pas rattachée à la personne"+quality)
			return
		}
		if len(mapped.Purposes) == 0 {
			set(ClassUnnecessary, "R02", 0, "R02 : "+what+", mais aucune finalité ne l'utilise")
			return
		}
		set(ClassNecessary, "R01", st.valid, "R01 : "+what+quality)
		return
	}
	// 3. Values recognisable without a header.
	for _, ref := range probeColumns {
		c := probes[ref]
		if c == nil || st.nonEmpty == 0 || share(st.probe[ref], st.nonEmpty) < supportShare {
			continue
		}
		ca.Column = ref
		set(ClassNecessary, "R01", st.probe[ref], fmt.Sprintf("R01 : en-tête non reconnu, mais %d valeur(s) sur %d (%s) sont valides pour %s (« %s », finalités : %s)",
			st.probe[ref], st.nonEmpty, percent(st.probe[ref], st.nonEmpty), ref, c.Label, strings.Join(c.Purposes, ", ")))
		return
	}
	// 4. Unknown.
	reason := "R07 : en-tête non reconnu et valeurs sans format identifiable : à examiner par le DPO ; sans finalité démontrée, la colonne est écartée à l'import"
	if st.nonEmpty == 0 {
		reason = "R07 : en-tête non reconnu et colonne vide : écartée à l'import"
	}
	set(ClassUnknown, "R07", 0, reason)
}

type evidence struct {
	rule    string
	matches int64
	reason  string
}

// sensitiveEvidence returns the strongest sign of forbidden data in the values, if any.
func sensitiveEvidence(st *columnStats) *evidence {
	in := func(n int64) string {
		return fmt.Sprintf("%s des valeurs non vides, %d sur %d", percent(n, st.nonEmpty), n, st.nonEmpty)
	}
	keyed := func(valid, shaped int64) bool { return valid > 0 && share(valid, shaped) >= keyShare }
	switch {
	case keyed(st.nir, st.nirShaped):
		return &evidence{"R03", st.nir, "R03 : numéro de sécurité sociale détecté dans " + in(st.nir) + " (clé mod 97 valide)"}
	case st.bloodValue > 0 && share(st.bloodValue, st.nonEmpty) >= supportShare:
		return &evidence{"R04", st.bloodValue, "R04 : groupe sanguin, donnée de santé, dans " + in(st.bloodValue)}
	case st.bloodText > 0:
		return &evidence{"R04", st.bloodText, "R04 : groupe sanguin ou rhésus mentionné dans " + in(st.bloodText)}
	case st.healthText > 0 || st.healthWord > 0 && share(st.healthWord, st.nonEmpty) >= supportShare:
		n := st.healthText + st.healthWord
		return &evidence{"R04", n, "R04 : vocabulaire de santé dans " + in(n)}
	case st.beliefText > 0 || st.beliefWord > 0 && share(st.beliefWord, st.nonEmpty) >= supportShare:
		n := st.beliefText + st.beliefWord
		return &evidence{"R05", n, "R05 : religion, opinion, appartenance syndicale ou vie sexuelle dans " + in(n)}
	case keyed(st.card, st.cardShaped):
		return &evidence{"R06", st.card, "R06 : numéro de carte bancaire détecté dans " + in(st.card) + " (clé de Luhn valide)"}
	case keyed(st.iban, st.ibanShaped):
		return &evidence{"R06", st.iban, "R06 : IBAN détecté dans " + in(st.iban) + " (clé mod 97 valide) : coordonnées bancaires qu'aucune finalité n'utilise (DESIGN §6)"}
	}
	return nil
}

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// percent writes a share the French way ("98 %"), never rounding a real occurrence down to 0.
func percent(n, of int64) string {
	if of == 0 {
		return "0 %"
	}
	p := n * 100 / of
	if p == 0 && n > 0 {
		return "moins de 1 %"
	}
	return strconv.FormatInt(p, 10) + " %"
}

// legacyValue rewrites the usual layouts of a French export into the form the dictionary reads:
// dates as AAAA-MM-JJ, numbers without spaces or currency sign, yes/no as true/false, allowed
// values compared without case or accents. Anything it does not recognise is passed unchanged.
func legacyValue(c *Column, s string) string {
	s = strings.TrimSpace(s)
	switch c.Kind {
	case KindDate:
		for _, layout := range []string{DateLayout, "02/01/2006", "2/1/2006", "02-01-2006", "02.01.2006", "2006/01/02", "2006-01-02 15:04:05", "02/01/2006 15:04"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.Format(DateLayout)
			}
		}
	case KindTimestamp:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04", "02/01/2006 15:04:05", "02/01/2006 15:04", "02/01/2006", DateLayout} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC().Format(time.RFC3339)
			}
		}
	case KindBigint, KindInteger, KindNumeric:
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || r == '€' {
				return -1
			}
			return r
		}, s)
	case KindBoolean:
		switch sensitive.Fold(s) {
		case "o", "oui", "y", "yes", "vrai", "x":
			return "true"
		case "n", "non", "no", "faux":
			return "false"
		}
	case KindChar, KindVarchar:
		if len(c.Values) > 0 {
			key := NormaliseHeader(s)
			for _, v := range c.Values {
				if NormaliseHeader(v) == key {
					return v
				}
			}
		}
	}
	return s
}

// WriteText prints the report as a French table, with the totals per class.
func (rep *AuditReport) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	delim := map[string]string{",": "virgule", ";": "point-virgule", "\t": "tabulation"}[rep.Delimiter]
	if delim == "" {
		delim = "« " + rep.Delimiter + " »"
	}
	bom := "sans BOM"
	if rep.BOM {
		bom = "avec BOM"
	}
	fmt.Fprintf(bw, "Audit d'un extrait de l'ancien CRM — %s, version %s\n", rep.Dictionary, rep.Version)
	fmt.Fprintf(bw, "Séparateur : %s · UTF-8 %s · %d ligne(s) de données · %d colonne(s)\n", delim, bom, rep.Rows, len(rep.Columns))
	if rep.Truncated {
		fmt.Fprintf(bw, "Audit limité aux %d premières lignes : le fichier en compte davantage.\n", rep.Rows)
	}
	if rep.HeaderLooksLikeData {
		fmt.Fprintln(bw, "Attention : la première ligne semble contenir des données et non des en-têtes ; les en-têtes concernés sont remplacés par « colonne N ».")
	}
	fmt.Fprintln(bw)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "N°\tEn-tête\tClassement\tColonne du dictionnaire\tNon vides\tConcordances\tMotif")
	for _, c := range rep.Columns {
		col := c.Column
		if col == "" {
			col = "—"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\t%s\n", c.Index, oneLine(c.Header), c.Class.Label(), col, c.NonEmpty, c.Rows, c.Matches, c.Reason)
	}
	tw.Flush()
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Totaux par classement")
	for _, class := range Classes {
		fmt.Fprintf(bw, "  %-24s %6d\n", class.Label(), rep.Totals[class])
	}
	fmt.Fprintf(bw, "  %-24s %6d\n", "total", len(rep.Columns))
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "Lignes irrégulières (nombre de champs différent de l'en-tête) : %d%s\n", rep.RaggedRows, lineList(rep.RaggedLines, rep.RaggedRows))
	fmt.Fprintf(bw, "Lignes illisibles (guillemets mal placés), ignorées : %d%s\n", rep.MalformedRows, lineList(rep.MalformedLines, rep.MalformedRows))
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "À l'import (R07), seules les colonnes « strictement nécessaire » sont reprises ; les colonnes sensibles,")
	fmt.Fprintln(bw, "non nécessaires et inconnues sont écartées et comptées ; les colonnes « statistique uniquement » ne")
	fmt.Fprintln(bw, "peuvent alimenter que la table de statistiques anonymes (R09, R37).")
	return bw.Flush()
}

func lineList(lines []int64, total int64) string {
	if len(lines) == 0 {
		return ""
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = strconv.FormatInt(l, 10)
	}
	more := ""
	if total > int64(len(lines)) {
		more = fmt.Sprintf(" et %d autre(s)", total-int64(len(lines)))
	}
	return " — ligne(s) " + strings.Join(parts, ", ") + more
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
