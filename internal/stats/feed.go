package stats

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vigie/internal/dictionary"
	"vigie/internal/keys"
)

// Row is what a quote gives the performance team: bands and a month, never an identifier, a date
// finer than the month or a detailed price.
type Row struct {
	Month, AgeBand, Departement, Energy, Usage, VehicleAgeBand, Coverage, BonusMalusBand string
	PriceBand                                                                            sql.NullInt64
	Channel, Insurer                                                                     string
	Converted                                                                            bool
	DurationBand                                                                         string
}

// Origins of a statistics row: a quote the lifecycle anonymised (kept), or the snapshot of the
// live quotes (rebuilt).
const (
	OriginArchive = "archive"
	OriginLive    = "live"
)

// Eligible is the SQL condition on a person (alias p) for their quotes to be counted: their latest
// choice on the performance purpose is a consent, they did not object to it, and their data is
// not restricted (R37, DESIGN §10).
const Eligible = `(SELECT g.granted FROM consents g WHERE g.person_id = p.id AND g.purpose = 'performance' ORDER BY g.id DESC LIMIT 1) = TRUE
	AND NOT p.restricted
	AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.person_id = p.id AND o.purpose = 'performance')
	AND NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = p.id AND r.lifted_at IS NULL)`

// Querier is a database or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Reader turns quotes into rows: it opens the few encrypted values the bands need, in memory.
type Reader struct {
	dict *dictionary.Dictionary
	keys *keys.Keyring
}

// NewReader reads quotes with the dictionary's formats and the subject keys.
func NewReader(dict *dictionary.Dictionary, kr *keys.Keyring) *Reader {
	return &Reader{dict: dict, keys: kr}
}

// sealedPlaces are the encrypted values a row is banded from, in the order of the query.
var sealedPlaces = []string{"quotes.vehicle_energy", "quotes.vehicle_usage", "quotes.vehicle_year", "quotes.coverage", "quotes.bonus_malus",
	"quotes.premium_quoted", "quotes.insurer", "persons.birth_date", "persons.departement"}

// Quotes calls fn with each quote matching where (a condition on q, the quote, and p, its
// person) whose person is Eligible, in person order.
func (rd *Reader) Quotes(ctx context.Context, q Querier, where string, fn func(personID int64, r Row) error) error {
	rows, err := q.QueryContext(ctx, `SELECT q.person_id, q.created_at, q.channel, q.vehicle_energy, q.vehicle_usage, q.vehicle_year,
		q.coverage, q.bonus_malus, q.premium_quoted, q.insurer, p.birth_date, p.departement, k.wrapped_key,
		c.start_date, c.end_date, c.id IS NOT NULL
		FROM quotes q JOIN persons p ON p.id = q.person_id JOIN subject_keys k ON k.person_id = q.person_id
		LEFT JOIN contracts c ON c.id = (SELECT MIN(c2.id) FROM contracts c2 WHERE c2.quote_id = q.id)
		WHERE (`+where+`) AND `+Eligible+`
		ORDER BY q.person_id, q.id`)
	if err != nil {
		return fmt.Errorf("read quotes for statistics: %w", err)
	}
	defer rows.Close()
	createdAt := rd.dict.Table("quotes").Column("created_at")
	var sk *keys.SubjectKey
	var keyOf int64
	sealed := make([][]byte, len(sealedPlaces))
	plain := make([]string, len(sealedPlaces))
	for rows.Next() {
		var personID int64
		var created, start, end any
		var channel string
		var converted bool
		var wrapped []byte
		dest := []any{&personID, &created, &channel}
		for i := range sealed {
			dest = append(dest, &sealed[i])
		}
		if err := rows.Scan(append(dest, &wrapped, &start, &end, &converted)...); err != nil {
			return fmt.Errorf("read quotes for statistics: %w", err)
		}
		if sk == nil || keyOf != personID {
			if sk, err = rd.keys.Unwrap(personID, wrapped); err != nil {
				return fmt.Errorf("statistics: %w", err)
			}
			keyOf = personID
		}
		for i, place := range sealedPlaces {
			plain[i] = ""
			if sealed[i] == nil {
				continue
			}
			b, _, err := sk.Open(place, sealed[i])
			if err != nil {
				return fmt.Errorf("statistics: open %s: %w", place, err)
			}
			plain[i] = string(b)
		}
		at, err := createdAt.FromDB(created)
		if err != nil {
			return fmt.Errorf("statistics: %w", err)
		}
		quoted := at.(time.Time)
		r := Row{Month: quoted.Format("2006-01"), Channel: channel, Energy: plain[0], Usage: plain[1], Coverage: plain[3],
			Insurer: plain[6], Departement: plain[8], Converted: converted,
			AgeBand: ageBand(plain[7], quoted), VehicleAgeBand: vehicleAgeBand(plain[2], quoted),
			BonusMalusBand: bonusMalusBand(plain[4]), PriceBand: priceBand(plain[5])}
		if converted {
			r.DurationBand = durationBand(start, end)
		}
		if err := fn(personID, r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read quotes for statistics: %w", err)
	}
	return nil
}

// Writer inserts rows with their cells, numbering new insurers on the way.
type Writer struct {
	q        Querier
	table    string
	origin   string
	insurers map[string]uint64
	pending  []Row
}

// NewWriter writes rows of an origin through q (a transaction).
func NewWriter(ctx context.Context, q Querier, origin string) (*Writer, error) {
	return newWriterInto(ctx, q, "statistics", origin)
}

// newWriterInto writes rows into table, statistics or statistics_building.
func newWriterInto(ctx context.Context, q Querier, table, origin string) (*Writer, error) {
	codes, err := insurerCodes(ctx, q)
	if err != nil {
		return nil, err
	}
	index := make(map[string]uint64, len(codes))
	for i, name := range codes {
		index[name] = uint64(i + 1)
	}
	return &Writer{q: q, table: table, origin: origin, insurers: index}, nil
}

// Add queues a row, writing a batch when enough are queued.
func (w *Writer) Add(ctx context.Context, r Row) error {
	w.pending = append(w.pending, r)
	if len(w.pending) >= 500 {
		return w.Flush(ctx)
	}
	return nil
}

// Flush writes what is queued, insertRows rows a statement.
func (w *Writer) Flush(ctx context.Context) error {
	for i := 0; i < len(w.pending); i += insertRows {
		if err := w.insert(ctx, w.pending[i:min(i+insertRows, len(w.pending))]); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// insertRows is how many rows an INSERT carries: SQLite's driver finds each placeholder by a
// search through all of the statement's, so a statement of thousands of them costs the square.
const insertRows = 32

// insertColumns is the number of values a row inserts.
const insertColumns = 15

// insert writes rows in one statement.
func (w *Writer) insert(ctx context.Context, rows []Row) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + w.table + ` (month, age_band, departement, vehicle_energy, vehicle_usage, vehicle_age_band, coverage,
		bonus_malus_band, price_band, channel, insurer, converted, contract_duration_band, origin, cell) VALUES `)
	args := make([]any, 0, len(rows)*insertColumns)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range insertColumns {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(i*insertColumns+j+1))
		}
		b.WriteByte(')')
		insurer, err := w.insurer(ctx, r.Insurer)
		if err != nil {
			return err
		}
		args = append(args, r.Month, null(r.AgeBand), null(r.Departement), null(r.Energy), null(r.Usage), null(r.VehicleAgeBand),
			null(r.Coverage), null(r.BonusMalusBand), r.PriceBand, null(r.Channel), null(r.Insurer), r.Converted, null(r.DurationBand),
			w.origin, int64(r.cell(insurer)))
	}
	if _, err := w.q.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("write statistics: %w", err)
	}
	return nil
}

// insurer is an insurer's code, numbering it on first sight; past maxInsurers they share the last.
func (w *Writer) insurer(ctx context.Context, name string) (uint64, error) {
	if name == "" {
		return 0, nil
	}
	if code, ok := w.insurers[name]; ok {
		return code, nil
	}
	code := uint64(len(w.insurers) + 1)
	if code > maxInsurers {
		return maxInsurers, nil
	}
	if _, err := w.q.ExecContext(ctx, "INSERT INTO statistics_insurers (code, name) VALUES ($1, $2)", int64(code), name); err != nil {
		return 0, fmt.Errorf("number an insurer for the statistics: %w", err)
	}
	w.insurers[name] = code
	return code, nil
}

// insurerCodes lists the insurers' names, code 1 first.
func insurerCodes(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM statistics_insurers ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("read the statistics' insurers: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read the statistics' insurers: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// cell packs the row's bands, the month in the highest bits.
func (r Row) cell(insurer uint64) uint64 {
	var c uint64
	set := func(a int, code uint64) { c = withField(c, a, code) }
	set(attrMonth, monthCode(r.Month))
	set(attrAge, attributes[attrAge].encode(r.AgeBand))
	set(attrPlace, attributes[attrPlace].encode(r.Departement))
	set(attrEnergy, attributes[attrEnergy].encode(r.Energy))
	set(attrUsage, attributes[attrUsage].encode(r.Usage))
	set(attrVehicleAge, attributes[attrVehicleAge].encode(r.VehicleAgeBand))
	set(attrCoverage, attributes[attrCoverage].encode(r.Coverage))
	set(attrBonusMalus, attributes[attrBonusMalus].encode(r.BonusMalusBand))
	if r.PriceBand.Valid {
		set(attrPrice, attributes[attrPrice].encode(strconv.FormatInt(r.PriceBand.Int64, 10)))
	}
	set(attrChannel, attributes[attrChannel].encode(r.Channel))
	set(attrInsurer, insurer)
	set(attrDuration, attributes[attrDuration].encode(r.DurationBand))
	if r.Converted {
		set(quasiIdentifiers, 1)
	}
	return c
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ageBand is the driver's age band when quoted: 18–24, 25–34, … 65+.
func ageBand(birth string, at time.Time) string {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return ""
	}
	age := at.Year() - b.Year()
	if at.YearDay() < b.YearDay() {
		age--
	}
	switch {
	case age < 18:
		return ""
	case age < 25:
		return "18-24"
	case age >= 65:
		return "65+"
	}
	lo := 25 + (age-25)/10*10
	return strconv.Itoa(lo) + "-" + strconv.Itoa(lo+9)
}

// vehicleAgeBand is the vehicle's age when quoted: 0–2, 3–5, 6–10, 11+ years.
func vehicleAgeBand(year string, at time.Time) string {
	y, err := strconv.Atoi(year)
	if err != nil {
		return ""
	}
	switch age := at.Year() - y; {
	case age <= 2:
		return "0-2"
	case age <= 5:
		return "3-5"
	case age <= 10:
		return "6-10"
	default:
		return "11+"
	}
}

// bonusMalusBand groups the coefficient: the bonus levels, the neutral 1.00, the malus.
func bonusMalusBand(coef string) string {
	f, err := strconv.ParseFloat(coef, 64)
	if err != nil {
		return ""
	}
	switch {
	case f < 0.70:
		return "0.50-0.69"
	case f < 0.90:
		return "0.70-0.89"
	case f < 1.00:
		return "0.90-0.99"
	case f == 1.00:
		return "1.00"
	default:
		return "1.01+"
	}
}

// priceBand is the premium rounded down to the hundred euros: never the price itself.
func priceBand(premium string) sql.NullInt64 {
	f, err := strconv.ParseFloat(premium, 64)
	if err != nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(f) / 100 * 100, Valid: true}
}

// durationBand is how long the contract the quote became ran (or has run so far).
func durationBand(start, end any) string {
	s, ok := dateOf(start)
	if !ok {
		return ""
	}
	e, ok := dateOf(end)
	if !ok {
		return "en cours"
	}
	switch years := e.Sub(s).Hours() / 24 / 365.25; {
	case years < 1:
		return "<1 an"
	case years < 2:
		return "1-2 ans"
	case years < 5:
		return "2-5 ans"
	default:
		return "5+ ans"
	}
}

func dateOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse("2006-01-02", x[:min(len(x), 10)])
		return t, err == nil
	case []byte:
		return dateOf(string(x))
	}
	return time.Time{}, false
}
