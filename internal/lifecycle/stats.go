package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vigie/internal/keys"
)

// statRow is what an anonymised quote leaves for the performance team (DESIGN §10): bands and a
// month, never an identifier, a date finer than the month or a detailed price. The extract
// generalises further until it is k-anonymous.
type statRow struct {
	month, ageBand, departement, energy, usage, vehicleAgeBand, coverage, bonusMalusBand string
	priceBand                                                                            sql.NullInt64
	channel, insurer                                                                     string
	converted                                                                            bool
	durationBand                                                                         string
}

// feedStatistics writes a statistics row for each quote whose person consented to the
// performance purpose (their latest choice): the others are simply not counted. The values are
// decrypted in memory, banded, and only the bands are written.
func (e *Engine) feedStatistics(ctx context.Context, tx *sql.Tx, quoteIDs []int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT q.id, q.person_id, q.created_at, q.channel, q.vehicle_energy, q.vehicle_usage, q.vehicle_year,
		q.coverage, q.bonus_malus, q.premium_quoted, q.insurer, p.birth_date, p.departement, k.wrapped_key,
		(SELECT c.start_date FROM contracts c WHERE c.quote_id = q.id ORDER BY c.id LIMIT 1),
		(SELECT c.end_date FROM contracts c WHERE c.quote_id = q.id ORDER BY c.id LIMIT 1),
		EXISTS (SELECT 1 FROM contracts c WHERE c.quote_id = q.id)
		FROM quotes q JOIN persons p ON p.id = q.person_id JOIN subject_keys k ON k.person_id = q.person_id
		WHERE q.id IN `+idList(quoteIDs)+`
		AND (SELECT g.granted FROM consents g WHERE g.person_id = q.person_id AND g.purpose = 'performance' ORDER BY g.id DESC LIMIT 1) = TRUE
		ORDER BY q.person_id, q.id`)
	if err != nil {
		return fmt.Errorf("read quotes for statistics: %w", err)
	}
	defer rows.Close()
	quotes := e.dict.Table("quotes")
	var out []statRow
	var sk *keys.SubjectKey
	var keyOf int64
	for rows.Next() {
		var id, personID int64
		var created, start, end any
		var channel string
		var converted bool
		var wrapped []byte
		sealed := make([][]byte, 9)
		if err := rows.Scan(&id, &personID, &created, &channel, &sealed[0], &sealed[1], &sealed[2], &sealed[3], &sealed[4], &sealed[5],
			&sealed[6], &sealed[7], &sealed[8], &wrapped, &start, &end, &converted); err != nil {
			return fmt.Errorf("read quotes for statistics: %w", err)
		}
		if sk == nil || keyOf != personID {
			if sk, err = e.keys.Unwrap(personID, wrapped); err != nil {
				return fmt.Errorf("statistics: %w", err)
			}
			keyOf = personID
		}
		places := []string{"quotes.vehicle_energy", "quotes.vehicle_usage", "quotes.vehicle_year", "quotes.coverage", "quotes.bonus_malus",
			"quotes.premium_quoted", "quotes.insurer", "persons.birth_date", "persons.departement"}
		plain := make([]string, len(places))
		for i, place := range places {
			if sealed[i] == nil {
				continue
			}
			b, _, err := sk.Open(place, sealed[i])
			if err != nil {
				return fmt.Errorf("statistics: open %s: %w", place, err)
			}
			plain[i] = string(b)
		}
		at, err := quotes.Column("created_at").FromDB(created)
		if err != nil {
			return fmt.Errorf("statistics: %w", err)
		}
		quoted := at.(time.Time)
		r := statRow{month: quoted.Format("2006-01"), channel: channel, energy: plain[0], usage: plain[1], coverage: plain[3],
			insurer: plain[6], departement: plain[8], converted: converted}
		r.ageBand = ageBand(plain[7], quoted)
		r.vehicleAgeBand = vehicleAgeBand(plain[2], quoted)
		r.bonusMalusBand = bonusMalusBand(plain[4])
		r.priceBand = priceBand(plain[5])
		if converted {
			r.durationBand = durationBand(start, end)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read quotes for statistics: %w", err)
	}
	return insertStatistics(ctx, tx, out)
}

// insertStatistics writes the rows in a few multi-row statements.
func insertStatistics(ctx context.Context, tx *sql.Tx, rows []statRow) error {
	const cols = 13
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 500)]
		rows = rows[len(chunk):]
		var b strings.Builder
		b.WriteString(`INSERT INTO statistics (month, age_band, departement, vehicle_energy, vehicle_usage, vehicle_age_band, coverage,
			bonus_malus_band, price_band, channel, insurer, converted, contract_duration_band) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, r := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString("$" + strconv.Itoa(i*cols+j+1))
			}
			b.WriteByte(')')
			args = append(args, r.month, null(r.ageBand), null(r.departement), null(r.energy), null(r.usage), null(r.vehicleAgeBand),
				null(r.coverage), null(r.bonusMalusBand), r.priceBand, null(r.channel), null(r.insurer), r.converted, null(r.durationBand))
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("write statistics: %w", err)
		}
	}
	return nil
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
