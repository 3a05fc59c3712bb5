package quoting

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigie/internal/consent"
	"vigie/internal/db"
	"vigie/internal/dictionary"
	"vigie/internal/keys"
	"vigie/internal/record"
)

// Public is who writes when a person fills the public form themselves: no staff member, the
// quotes department's purpose (the data is collected for a quote, nothing else).
var Public = record.Actor{UserID: 0, Department: "devis", Purposes: []string{"quotes"}}

// Service takes quote requests from the public form.
type Service struct {
	db      *db.DB
	dict    *dictionary.Dictionary
	records *record.Store
	consent *consent.Service
	keys    *keys.Keyring
	now     func() time.Time
}

// New builds the service.
func New(d *db.DB, dict *dictionary.Dictionary, rs *record.Store, cs *consent.Service, kr *keys.Keyring, now func() time.Time) *Service {
	return &Service{db: d, dict: dict, records: rs, consent: cs, keys: kr, now: now}
}

// Request is a submitted form: the typed values of the person and of the quote (only the
// dictionary's public_form fields are taken), the optional purposes ticked, the Global Privacy
// Control signal, and the notice shown beside the form.
type Request struct {
	Person, Quote map[string]string
	Ticked        map[string]bool
	GPC           bool
	Notice        consent.Notice
}

// Result is what the person is shown: their quote, its price and how the price was reached.
type Result struct {
	PersonID, QuoteID int64
	Price             Price
	Token             string
}

// FormColumns are the columns the public form asks, in dictionary order: the person's, then the
// quote's.
func FormColumns(d *dictionary.Dictionary) (person, quote []*dictionary.Column) {
	for _, c := range d.Table("persons").Columns {
		if c.PublicForm != "" {
			person = append(person, c)
		}
	}
	for _, c := range d.Table("quotes").Columns {
		if c.PublicForm != "" {
			quote = append(quote, c)
		}
	}
	return person, quote
}

// Submit validates everything first — every refused field of the person and the quote reported
// at once — then writes the person, the priced quote and the consent choices in one transaction:
// a refusal or a failure leaves nothing behind.
func (s *Service) Submit(ctx context.Context, req Request) (Result, error) {
	personCols, quoteCols := FormColumns(s.dict)
	person := pick(req.Person, personCols)
	quote := pick(req.Quote, quoteCols)
	// The département follows from the postal code; asking both would only invite a mismatch.
	if dep := dictionary.DepartementOfPostalCode(strings.TrimSpace(person["postal_code"])); dep != "" {
		person["departement"] = dep
	}
	personIn := record.Input{Text: person, Channel: "web_form", Purpose: "quotes"}
	var errs []*dictionary.FieldError
	collect := func(err error, skip string) error {
		var ve *record.ValidationError
		if err == nil {
			return nil
		}
		if !errors.As(err, &ve) {
			return err
		}
		for _, fe := range ve.Fields {
			if fe.Field != skip {
				errs = append(errs, fe)
			}
		}
		return nil
	}
	if err := collect(s.records.Validate(Public, "persons", personIn), ""); err != nil {
		return Result{}, err
	}
	// What the store may leave empty for staff, the form needs: the tariff prices from the birth
	// date and the postal code, and the quote is sent by e-mail.
	for _, c := range personCols {
		if c.PublicForm == "required" && strings.TrimSpace(person[c.Name]) == "" && !slices.ContainsFunc(errs, func(fe *dictionary.FieldError) bool { return fe.Field == c.Name }) {
			errs = append(errs, &dictionary.FieldError{Field: c.Name, Rule: "required", Message: "ce champ est obligatoire pour établir un devis"})
		}
	}
	probe := record.Input{Text: withPerson(quote, "1"), Channel: "web_form", Purpose: "quotes"}
	if err := collect(s.records.Validate(Public, "quotes", probe), "person_id"); err != nil {
		return Result{}, err
	}
	if len(errs) > 0 {
		return Result{}, &record.ValidationError{Fields: errs}
	}
	price := Quote(s.facts(person, quote))
	quote["premium_quoted"] = strconv.FormatFloat(price.Premium, 'f', 2, 64)
	quote["insurer"] = price.Insurer
	quote["automated_decision"] = "true"
	quote["status"] = "sent"
	quote["channel"] = "web_form"

	suppressed, err := s.consent.Suppressed(ctx, canonical(s.dict, "email", person["email"]), canonical(s.dict, "phone", person["phone"]))
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res.PersonID, err = s.records.CreateTx(ctx, tx, Public, "persons", personIn); err != nil {
			return err
		}
		quoteIn := record.Input{Text: withPerson(quote, strconv.FormatInt(res.PersonID, 10)), Channel: "web_form", Purpose: "quotes"}
		if res.QuoteID, err = s.records.CreateTx(ctx, tx, Public, "quotes", quoteIn); err != nil {
			return err
		}
		if err := s.recordChoices(ctx, tx, res.PersonID, req); err != nil {
			return err
		}
		// Someone who objected to prospection before does not come back into it through a new
		// form, unless they now ask for it themselves by ticking a prospection box (R28).
		if suppressed && !ticksMarketing(req) {
			return s.consent.ObjectTx(ctx, tx, res.PersonID, "prospection",
				consent.Proof{Channel: "web_form", Method: consent.MethodSuppression, Department: Public.Department})
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	res.Price, res.Token = price, s.ResultToken(res.QuoteID)
	return res, nil
}

// recordChoices writes one line per optional purpose: granted when ticked, refused otherwise —
// and refused, by the GPC signal, for the marketing purposes when the browser sends it (R18).
func (s *Service) recordChoices(ctx context.Context, tx *sql.Tx, personID int64, req Request) error {
	var boxes, gpc []consent.Choice
	for _, p := range consent.Purposes {
		if req.GPC && p.Marketing {
			gpc = append(gpc, consent.Choice{Purpose: p.Code})
			continue
		}
		boxes = append(boxes, consent.Choice{Purpose: p.Code, Granted: req.Ticked[p.Code]})
	}
	proof := consent.Proof{Channel: "web_form", Method: consent.MethodCheckbox, NoticeID: req.Notice.ID, Department: Public.Department}
	if err := s.consent.RecordTx(ctx, tx, personID, boxes, proof); err != nil {
		return err
	}
	if len(gpc) == 0 {
		return nil
	}
	proof.Method = consent.MethodGPC
	return s.consent.RecordTx(ctx, tx, personID, gpc, proof)
}

func ticksMarketing(req Request) bool {
	return slices.ContainsFunc(consent.Purposes, func(p consent.Purpose) bool { return p.Marketing && req.Ticked[p.Code] && !req.GPC })
}

// pick keeps only the form's own fields: anything else posted is ignored, never stored (R02).
func pick(values map[string]string, cols []*dictionary.Column) map[string]string {
	out := map[string]string{}
	for _, c := range cols {
		if v, ok := values[c.Name]; ok {
			out[c.Name] = v
		} else if c.Kind == dictionary.KindBoolean {
			out[c.Name] = "false"
		}
	}
	return out
}

func withPerson(quote map[string]string, personID string) map[string]string {
	out := make(map[string]string, len(quote)+1)
	for k, v := range quote {
		out[k] = v
	}
	out["person_id"] = personID
	return out
}

// canonical is a contact value as the dictionary stores it (a phone in E.164), "" when invalid.
func canonical(d *dictionary.Dictionary, field, text string) string {
	v, fe := d.Table("persons").Column(field).DecodeString(text, time.Now())
	if fe != nil || v == nil {
		return ""
	}
	return strings.ToLower(string(d.Table("persons").Column(field).Text(v)))
}

// Explain recomputes how a stored quote's automated price was reached, as of the quote's date.
func (s *Service) Explain(ctx context.Context, q *record.Record) (Price, error) {
	p, err := s.records.Get(ctx, Public, "persons", q.PersonID)
	if err != nil {
		return Price{}, err
	}
	text := func(r *record.Record, cols []string) map[string]string {
		out := map[string]string{}
		for _, c := range cols {
			out[c] = r.Text(c)
		}
		return out
	}
	at, _ := q.Get("created_at").(time.Time)
	person := text(p, []string{"birth_date", "departement"})
	quote := text(q, []string{"coverage", "bonus_malus", "vehicle_year", "licence_date", "vehicle_energy", "vehicle_usage",
		"claims_3y", "licence_suspension_5y", "cancelled_by_insurer_3y"})
	return Quote(factsAt(person, quote, at)), nil
}

// facts reads the validated form for the tariff.
func (s *Service) facts(person, quote map[string]string) Facts {
	return factsAt(person, quote, s.now())
}

func factsAt(person, quote map[string]string, now time.Time) Facts {
	date := func(v string) time.Time { t, _ := time.Parse(dictionary.DateLayout, strings.TrimSpace(v)); return t }
	num := func(v string) float64 {
		f, _ := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(v), ",", "."), 64)
		return f
	}
	year, _ := strconv.Atoi(strings.TrimSpace(quote["vehicle_year"]))
	claims, _ := strconv.Atoi(strings.TrimSpace(quote["claims_3y"]))
	return Facts{
		Coverage: quote["coverage"], BonusMalus: num(quote["bonus_malus"]),
		DriverAge: yearsBetween(date(person["birth_date"]), now), LicenceYears: yearsBetween(date(quote["licence_date"]), now),
		VehicleAge: max(now.Year()-year, 0), Energy: quote["vehicle_energy"], Usage: quote["vehicle_usage"], Claims: claims,
		Suspension: quote["licence_suspension_5y"] == "true", Cancelled: quote["cancelled_by_insurer_3y"] == "true",
		Departement: person["departement"],
	}
}

// ResultToken lets the person who submitted the form come back to their result and ask for a
// human review, without an account: an HMAC of the quote id under a key of its own.
func (s *Service) ResultToken(quoteID int64) string {
	return s.keys.LinkToken("quote-result", []byte(strconv.FormatInt(quoteID, 10)))
}

// CheckResultToken verifies a result link in constant time.
func (s *Service) CheckResultToken(quoteID int64, token string) bool {
	return s.keys.CheckLinkToken("quote-result", []byte(strconv.FormatInt(quoteID, 10)), token)
}

// ErrBadToken is a result link that was not issued by Vigie for this quote.
var ErrBadToken = errors.New("quoting: invalid link")

// Get reads a quote for the person holding its link.
func (s *Service) Get(ctx context.Context, quoteID int64, token string) (*record.Record, error) {
	if !s.CheckResultToken(quoteID, token) {
		return nil, ErrBadToken
	}
	return s.records.Get(ctx, Public, "quotes", quoteID)
}

// RequestReview is the person's request that a human re-examine an automated price (art. 22(3),
// R31): a rights request of type human_review, which only the quotes department sees, due in one
// month. A second request for the same quote while one is open returns the open one.
func (s *Service) RequestReview(ctx context.Context, quoteID int64, token, details string) (int64, error) {
	q, err := s.Get(ctx, quoteID, token)
	if err != nil {
		return 0, err
	}
	var open int64
	err = s.db.QueryRowContext(ctx, `SELECT id FROM rights_requests WHERE quote_id = $1 AND type = 'human_review' AND status IN ('open', 'in_progress')`,
		quoteID).Scan(&open)
	if err == nil {
		return open, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	in := record.Input{Text: map[string]string{"person_id": strconv.FormatInt(q.PersonID, 10), "quote_id": strconv.FormatInt(quoteID, 10),
		"type": "human_review", "channel": "web_form", "details": details}, Channel: "web_form", Purpose: "quotes"}
	r, err := s.records.Create(ctx, Public, "rights_requests", in)
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}
