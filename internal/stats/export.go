package stats

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/audit"
)

// Formats of the extract.
const (
	FormatRFC4180 = "rfc4180"  // commas, UTF-8, CRLF: standard tools
	FormatExcelFR = "excel-fr" // semicolons, decimal commas, UTF-8 BOM: a French spreadsheet
)

// DefaultK is the k of k-anonymity unless the caller asks more (DESIGN §10, R37).
const DefaultK = 10

// Options choose an extract.
type Options struct {
	K      int    // every combination of quasi-identifiers shown is shared by at least K rows; ≥ 2 (DefaultK)
	L      int    // 2: each class also holds converted and not converted rows; 0 or 1: no such rule
	From   string // first month (AAAA-MM), or empty for the first there is
	To     string // last month (AAAA-MM), or empty for the last there is
	Format string
	// Columns are the quasi-identifiers the analyst needs (Columns()); empty means all. Each one
	// left out makes the rest less generalised; converted is always there.
	Columns []string
	// Pseudonymise adds a column that follows each person across their quotes, keyed with a
	// fresh random key that is forgotten when the extract is written: two extracts cannot be
	// joined. Only the live quotes can be followed; the anonymised ones name no one.
	Pseudonymise bool
	// Progress, when set, hears how far the extract is (stage, rows done, rows in all).
	Progress func(stage string, done, total int64)
	By       Actor

	omitted [quasiIdentifiers]bool
}

// Columns are the extract's quasi-identifier columns, in their order.
func Columns() []string {
	var out []string
	for a := range quasiIdentifiers {
		out = append(out, attributes[a].column)
	}
	return out
}

// Actor is who asks for the extract, for the audit trail.
type Actor struct {
	UserID     int64
	Department string
}

// InputError is a refused option: the field and the rule it breaks.
type InputError struct{ Field, Rule, Message string }

func (e *InputError) Error() string { return "statistics: " + e.Field + ": " + e.Message }

// Level is how far one attribute was generalised.
type Level struct {
	Column, Label, Level string
	Generalised          bool
}

// Report is what the extract states about itself (R37): the k asked and reached, the levels, the
// suppression rate.
type Report struct {
	K, L         int
	KReached     int64
	Levels       []Level
	Rows         int64 // in the period
	Written      int64
	Suppressed   int64
	From, To     string
	Pseudonymous bool
	Snapshot     time.Time
}

// SuppressionRate is the share of the period's rows left out, in percent.
func (r Report) SuppressionRate() float64 {
	if r.Rows == 0 {
		return 0
	}
	return 100 * float64(r.Suppressed) / float64(r.Rows)
}

// Summary is the statement in French, one line per fact, as printed with the extract.
func (r Report) Summary() string {
	var b strings.Builder
	period := "toute la période"
	if r.From != "" || r.To != "" {
		period = "de " + orDash(r.From) + " à " + orDash(r.To)
	}
	fmt.Fprintf(&b, "Extrait %s, %s : %d lignes écrites sur %d.\n", map[bool]string{true: "pseudonymisé", false: "anonymisé"}[r.Pseudonymous], period, r.Written, r.Rows)
	fmt.Fprintf(&b, "k demandé : %d ; k atteint : %d (plus petit groupe de lignes identiques sur les quasi-identifiants).\n", r.K, r.KReached)
	if r.L >= 2 {
		fmt.Fprintf(&b, "l-diversité : chaque groupe compte des devis transformés et non transformés.\n")
	}
	fmt.Fprintf(&b, "Taux de suppression : %s %% (%d lignes).\n", strconv.FormatFloat(r.SuppressionRate(), 'f', 2, 64), r.Suppressed)
	b.WriteString("Niveaux de généralisation :")
	for _, l := range r.Levels {
		fmt.Fprintf(&b, " %s = %s ;", strings.ToLower(l.Label), l.Level)
	}
	b.WriteString("\n")
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "…"
	}
	return s
}

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// validate checks the options; the error names the field and its rule.
func (o *Options) validate() error {
	if o.Format == "" {
		o.Format = FormatRFC4180
	}
	switch {
	case o.K < 2:
		return &InputError{"k", "k_min", fmt.Sprintf("k doit valoir au moins 2 (reçu %d) : avec k = 1 une ligne peut désigner une personne", o.K)}
	case o.L < 0 || o.L > 2:
		return &InputError{"l", "l_range", fmt.Sprintf("l vaut 0 (sans l-diversité) ou 2 (transformé et non transformé dans chaque groupe), reçu %d", o.L)}
	case o.Format != FormatRFC4180 && o.Format != FormatExcelFR:
		return &InputError{"format", "format_known", fmt.Sprintf("format inconnu %q : rfc4180 ou excel-fr", o.Format)}
	case o.From != "" && !monthPattern.MatchString(o.From):
		return &InputError{"from", "month_format", fmt.Sprintf("mois de début %q : attendu AAAA-MM", o.From)}
	case o.To != "" && !monthPattern.MatchString(o.To):
		return &InputError{"to", "month_format", fmt.Sprintf("mois de fin %q : attendu AAAA-MM", o.To)}
	case o.From != "" && o.To != "" && o.From > o.To:
		return &InputError{"from", "period_not_empty", fmt.Sprintf("période vide : le début %s est après la fin %s", o.From, o.To)}
	}
	if len(o.Columns) == 0 {
		return nil
	}
	for a := range quasiIdentifiers {
		o.omitted[a] = !slices.Contains(o.Columns, attributes[a].column)
	}
	for _, c := range o.Columns {
		if !slices.Contains(Columns(), c) {
			return &InputError{"columns", "column_known", fmt.Sprintf("colonne inconnue %q ; colonnes possibles : %s", c, strings.Join(Columns(), ", "))}
		}
	}
	return nil
}

// cellRange is the range of cells of the period: the month is the cell's highest bits.
func (o *Options) cellRange() (lo, hi uint64) {
	lo, hi = 0, 1<<63-1
	if o.From != "" {
		lo = monthCode(o.From) << offsets[attrMonth]
	}
	if o.To != "" {
		hi = (monthCode(o.To)+1)<<offsets[attrMonth] - 1
	}
	return lo, hi
}

// Export writes the extract to w and says what it is. The snapshot of the live quotes is rebuilt
// first if what it comes from changed, so that whoever withdrew their consent, objected or was
// restricted is not in it. Nothing is written to w when the options are refused or the period holds
// nothing that may be shown. The extract is recorded in the audit trail.
func (s *Service) Export(ctx context.Context, w io.Writer, opt Options) (Report, error) {
	pr, err := s.prepare(ctx, opt)
	if err != nil {
		return pr.rep, err
	}
	rep := pr.rep
	out := newCSV(w, pr.opt.Format, pr.opt.Pseudonymise, pr.opt.omitted)
	if pr.opt.Pseudonymise {
		rep.Written, err = out.followed(&pr.plan, pr.people, pr.insurers, opt.Progress)
	} else {
		rep.Written, err = out.classes(&pr.plan, pr.insurers, opt.Progress)
	}
	if err != nil {
		return rep, err
	}
	detail := fmt.Sprintf("k=%d reached=%d l=%d rows=%d written=%d suppressed=%d pseudonymous=%t format=%s", rep.K, rep.KReached, rep.L,
		rep.Rows, rep.Written, rep.Suppressed, rep.Pseudonymous, pr.opt.Format)
	err = s.audit.Record(ctx, audit.Event{UserID: opt.By.UserID, Department: opt.By.Department, Action: audit.ActionExport,
		Table: "statistics", Purpose: "performance", Detail: detail})
	if err != nil {
		return rep, fmt.Errorf("statistics: audit the extract: %w", err)
	}
	return rep, nil
}

// Plan says what an extract with these options would be — k reached, levels, suppression — and
// writes nothing.
func (s *Service) Plan(ctx context.Context, opt Options) (Report, error) {
	pr, err := s.prepare(ctx, opt)
	pr.rep.Written = pr.rep.Rows - pr.rep.Suppressed
	return pr.rep, err
}

// prepared is an extract searched and ready to write.
type prepared struct {
	opt      Options
	rep      Report
	plan     plan
	people   []followed
	insurers []string
}

func (s *Service) prepare(ctx context.Context, opt Options) (prepared, error) {
	pr := prepared{opt: opt}
	if err := pr.opt.validate(); err != nil {
		return pr, err
	}
	opt = pr.opt
	pr.rep = Report{K: opt.K, L: opt.L, From: opt.From, To: opt.To, Pseudonymous: opt.Pseudonymise}
	var base *classes
	var err error
	if opt.Pseudonymise {
		pr.people, base, err = s.followLive(ctx, &opt)
	} else if pr.rep.Snapshot, err = s.ensureFresh(ctx); err == nil {
		base, err = s.readCells(ctx, &opt)
	}
	if err != nil {
		return pr, err
	}
	pr.plan = anonymise(base, opt.K, opt.L, opt.omitted)
	p := &pr.plan
	pr.rep.Rows, pr.rep.Suppressed, pr.rep.KReached = p.rows, p.suppressed, p.kReached
	for a := range quasiIdentifiers {
		if opt.omitted[a] {
			continue
		}
		at := attributes[a]
		pr.rep.Levels = append(pr.rep.Levels, Level{Column: at.column, Label: at.label, Level: at.levels[p.levels[a]], Generalised: p.levels[a] > 0})
	}
	if p.rows == 0 {
		return pr, &InputError{"from", "period_not_empty", "aucune statistique dans la période choisie"}
	}
	if p.classes.len() == 0 {
		return pr, &InputError{"k", "k_reachable", fmt.Sprintf("aucune ligne ne peut être montrée avec k = %d : la période compte %d lignes", opt.K, p.rows)}
	}
	pr.insurers, err = insurerCodes(ctx, s.db)
	return pr, err
}

// readCells counts the period's rows by cell, reading one integer per row.
func (s *Service) readCells(ctx context.Context, opt *Options) (*classes, error) {
	lo, hi := opt.cellRange()
	var total int64
	if opt.Progress != nil {
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM statistics WHERE cell BETWEEN $1 AND $2", int64(lo), int64(hi)).Scan(&total); err != nil {
			return nil, fmt.Errorf("statistics: count the period: %w", err)
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT cell FROM statistics WHERE cell BETWEEN $1 AND $2", int64(lo), int64(hi))
	if err != nil {
		return nil, fmt.Errorf("statistics: read the period: %w", err)
	}
	defer rows.Close()
	c := newClasses(1 << 10)
	var n int64
	for rows.Next() {
		var cell int64
		if err := rows.Scan(&cell); err != nil {
			return nil, fmt.Errorf("statistics: read the period: %w", err)
		}
		c.add(uint64(cell), 1)
		if n++; opt.Progress != nil && n%100000 == 0 {
			opt.Progress("lecture", n, total)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("statistics: read the period: %w", err)
	}
	return c, nil
}

// followed is a live quote's cell with its person's pseudonym for this extract.
type followed struct {
	cell      uint64
	pseudonym string
}

// followLive reads the period's live quotes with a pseudonym per person: HMAC-SHA-256 under a key
// drawn for this extract and dropped when it returns.
func (s *Service) followLive(ctx context.Context, opt *Options) ([]followed, *classes, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("statistics: draw the extract's key: %w", err)
	}
	defer clear(key)
	w, err := NewWriter(ctx, s.db, OriginLive) // numbers insurers only; writes nothing
	if err != nil {
		return nil, nil, err
	}
	lo, hi := opt.cellRange()
	var people []followed
	base := newClasses(1 << 10)
	var lastPerson int64 = -1
	var pseudonym string
	err = s.reader.Quotes(ctx, s.db, "1 = 1", func(personID int64, r Row) error {
		code, err := w.insurer(ctx, r.Insurer)
		if err != nil {
			return err
		}
		cell := r.cell(code)
		if cell < lo || cell > hi {
			return nil
		}
		if personID != lastPerson {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte("person:" + strconv.FormatInt(personID, 10)))
			pseudonym, lastPerson = hex.EncodeToString(mac.Sum(nil)[:10]), personID
		}
		people = append(people, followed{cell, pseudonym})
		base.add(cell, 1)
		if opt.Progress != nil && len(people)%10000 == 0 {
			opt.Progress("lecture", int64(len(people)), 0)
		}
		return nil
	})
	return people, base, err
}

// csvOut writes the extract's lines in one of the formats.
type csvOut struct {
	w       *bufio.Writer
	format  string
	omitted [quasiIdentifiers]bool
	line    bytes.Buffer
	enc     *csv.Writer
}

func newCSV(w io.Writer, format string, pseudonymous bool, omitted [quasiIdentifiers]bool) *csvOut {
	o := &csvOut{w: bufio.NewWriterSize(w, 1<<16), format: format, omitted: omitted}
	o.enc = csv.NewWriter(&o.line)
	o.enc.UseCRLF = true
	if format == FormatExcelFR {
		o.enc.Comma = ';'
		o.w.WriteString("\uFEFF")
	}
	var header []string
	if pseudonymous {
		header = append(header, map[bool]string{true: "Pseudonyme", false: "pseudonym"}[format == FormatExcelFR])
	}
	for i, a := range attributes {
		if i < quasiIdentifiers && omitted[i] {
			continue
		}
		if format == FormatExcelFR {
			header = append(header, a.label)
		} else {
			header = append(header, a.column)
		}
	}
	o.render(header)
	o.w.Write(o.line.Bytes())
	return o
}

// render puts one line in o.line.
func (o *csvOut) render(fields []string) {
	o.line.Reset()
	o.enc.Write(fields)
	o.enc.Flush()
}

// values are a generalised cell's fields as written.
func (o *csvOut) values(p *plan, cell uint64, insurers []string) []string {
	out := make([]string, 0, len(attributes)+1)
	for a := range attributes {
		level := 0
		if a < quasiIdentifiers {
			if o.omitted[a] {
				continue
			}
			level = p.levels[a]
		}
		v := attributes[a].text(level, field(cell, a), insurers)
		switch {
		case o.format != FormatExcelFR || a == attrMonth:
		case a == attrPlace && level == 0 && v != "":
			v += " " + departementNames[v]
		default:
			v = frenchNumbers(v)
		}
		out = append(out, v)
	}
	return out
}

// classes writes each shown class's rows: rows of a class with the same outcome are identical,
// so each line is rendered once and written as many times as it counts.
func (o *csvOut) classes(p *plan, insurers []string, progress func(string, int64, int64)) (int64, error) {
	total := p.rows - p.suppressed
	var n int64
	for _, key := range p.sortedKeys() {
		v, _ := p.classes.get(key)
		for converted, count := range v {
			if count == 0 {
				continue
			}
			o.render(o.values(p, key|uint64(converted), insurers))
			for range count {
				if _, err := o.w.Write(o.line.Bytes()); err != nil {
					return n, fmt.Errorf("statistics: write the extract: %w", err)
				}
			}
			if progress != nil && (n+int64(count))/100000 > n/100000 {
				progress("écriture", n+int64(count), total)
			}
			n += int64(count)
		}
	}
	if progress != nil {
		progress("écriture", n, total)
	}
	return n, o.flush()
}

// followed writes the pseudonymised rows of the shown classes, grouped by class then person.
func (o *csvOut) followed(p *plan, people []followed, insurers []string, progress func(string, int64, int64)) (int64, error) {
	for i := range people {
		people[i].cell = p.generalised(people[i].cell)
	}
	slices.SortFunc(people, func(a, b followed) int {
		if c := strings.Compare(a.pseudonym, b.pseudonym); c != 0 {
			return c
		}
		return int(a.cell>>1) - int(b.cell>>1)
	})
	var n int64
	for _, f := range people {
		if _, ok := p.classes.get(f.cell &^ 1); !ok {
			continue
		}
		o.render(append([]string{f.pseudonym}, o.values(p, f.cell, insurers)...))
		if _, err := o.w.Write(o.line.Bytes()); err != nil {
			return n, fmt.Errorf("statistics: write the extract: %w", err)
		}
		if n++; progress != nil && n%10000 == 0 {
			progress("écriture", n, int64(len(people)))
		}
	}
	return n, o.flush()
}

func (o *csvOut) flush() error {
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("statistics: write the extract: %w", err)
	}
	return nil
}

var numberRange = regexp.MustCompile(`^([0-9.]+)-([0-9.]+)$`)

// frenchNumbers writes a value the way a French spreadsheet reads it: decimal commas, and ranges
// as "18 à 24", which it cannot take for a date.
func frenchNumbers(v string) string {
	if m := numberRange.FindStringSubmatch(v); m != nil {
		v = m[1] + " à " + m[2]
	}
	return strings.ReplaceAll(v, ".", ",")
}
