// Package demo fills a Vigie database with realistic, deterministic French data — persons with
// real communes, postal codes and départements, quotes with vehicles and bonus-malus, contracts
// with French insurers, documents, interactions and support tickets — spread over the six years
// before a given day, so that the retention rules have work to do; and it creates one demo user
// per department. Everything goes through the governed store's bulk loader: demo data is
// encrypted, indexed and provenance-stamped exactly like real data.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"vigie/internal/app"
	"vigie/internal/auth"
	"vigie/internal/record"
)

// Options says what to generate.
type Options struct {
	// Persons is how many data subjects to create.
	Persons int
	// Seed makes the data reproducible: the same seed and the same Now give the same values (the
	// encryption keys and nonces are random, as they must be).
	Seed int64
	// Now is the day the data is generated for; dates go back six years from it. Zero means a.Now().
	Now time.Time
	// Progress, when set, receives a line every 5 %; it never carries personal data.
	Progress io.Writer
}

// Summary counts what Generate wrote.
type Summary struct {
	Persons, Quotes, Contracts, Documents, Interactions, Tickets, TicketMessages, Consents int
	// PastRetention counts the persons with data past a retention period of DESIGN §5 at
	// Options.Now: prospects not contacted for three years, quotes without contract older than two
	// years, customers whose relationship ended three years ago, tickets closed five years ago.
	// It is the work the lifecycle engine finds on a fresh demo database (about 45 %).
	PastRetention int
	// Users is left for the caller, which creates them with CreateUsers.
	Users   []Login
	Elapsed time.Duration
}

// Login is a demo user's credentials, to print for whoever tries Vigie.
type Login struct {
	Department, Email string
	// Password is DemoPassword, or empty when the account already existed with another password.
	Password string
}

// DemoPassword is the password of every demo user. It is printed by `vigie demo`: demo accounts
// are for trying Vigie out, never for real data.
const DemoPassword = "Mouette-Rouge-Balise-26"

// DemoEmailDomain is the domain of the demo users' e-mail addresses (a reserved-style .local name).
const DemoEmailDomain = "demo.vigie.local"

// demoUserNames are the demo users' display names, by department.
var demoUserNames = map[string]string{
	"prospection": "Camille Laurent",
	"devis":       "Julien Moreau",
	"contrats":    "Sophie Garnier",
	"support":     "Karim Benali",
	"performance": "Léa Fontaine",
	"dpo":         "Hélène Marchand",
	"admin":       "Thomas Girard",
}

// Generate writes opt.Persons persons and their records through the store's bulk loader, in
// batches that are committed as they fill: on error or cancellation, what was committed stays
// (the loader's batches are not one transaction). Ids continue after the rows already there.
func Generate(ctx context.Context, a *app.App, opt Options) (Summary, error) {
	began := time.Now()
	var s Summary
	if a.Records == nil {
		return s, errors.New("demo: the application is not unlocked")
	}
	if opt.Persons < 0 {
		return s, fmt.Errorf("demo: persons must be positive (got %d)", opt.Persons)
	}
	if opt.Now.IsZero() {
		opt.Now = a.Now()
	}
	l, err := loadLists()
	if err != nil {
		return s, err
	}
	g := newGenerator(l, opt.Seed, opt.Now)
	ld, err := a.Records.NewLoader(ctx)
	if err != nil {
		return s, err
	}
	w := writer{ld: ld, s: &s}
	progress := newProgress(opt.Progress, opt.Persons)
	// The generator runs in its own goroutine, a few plans ahead of the loader, which encrypts and
	// writes: on two cores they overlap. Plans are recycled, so the pair allocates little.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	plans, free := make(chan *plan, pipelineDepth), make(chan *plan, pipelineDepth)
	for range pipelineDepth {
		free <- new(plan)
	}
	go func() {
		defer close(plans)
		for range opt.Persons {
			var p *plan
			select {
			case p = <-free:
			case <-ctx.Done():
				return
			}
			g.next(p)
			select {
			case plans <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	written := 0
	for p := range plans {
		if written%1000 == 0 && ctx.Err() != nil {
			break
		}
		if err := w.write(p); err != nil {
			cancel()
			ld.Rollback()
			return s, fmt.Errorf("demo: %w", err)
		}
		free <- p
		written++
		progress.done(written)
	}
	if err := ctx.Err(); err != nil {
		ld.Rollback()
		return s, fmt.Errorf("demo: %w", err)
	}
	if err := ld.Commit(); err != nil {
		return s, fmt.Errorf("demo: %w", err)
	}
	s.Elapsed = time.Since(began)
	return s, nil
}

// pipelineDepth is how many persons the generator may run ahead of the loader.
const pipelineDepth = 256

// writer hands plans to the loader, resolving the links between a person's rows to the ids the
// loader allocates, and counts what it wrote.
type writer struct {
	ld  *record.Loader
	s   *Summary
	ids []int64
}

func (w *writer) write(p *plan) error {
	personID, sk, err := w.ld.AddPerson(p.person.vals, p.person.prov)
	if err != nil {
		return err
	}
	w.s.Persons++
	if p.due {
		w.s.PastRetention++
	}
	w.ids = w.ids[:0]
	for i := range p.rows[:p.n] {
		r := &p.rows[i]
		if r.ref != "" {
			r.vals[r.ref] = w.ids[r.refIdx]
		}
		id, err := w.ld.Add(r.table, personID, r.vals, sk, r.prov)
		if err != nil {
			return err
		}
		w.ids = append(w.ids, id)
		switch r.table {
		case "quotes":
			w.s.Quotes++
		case "contracts":
			w.s.Contracts++
		case "documents":
			w.s.Documents++
		case "interactions":
			w.s.Interactions++
		case "tickets":
			w.s.Tickets++
		case "ticket_messages":
			w.s.TicketMessages++
		case "consents":
			w.s.Consents++
		}
	}
	return nil
}

// progress prints "demo: 250000/1000000 personnes (25%)" every 5 %.
type progress struct {
	w           io.Writer
	total, step int
	buf         []byte
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, step: max(1, total/20)}
}

func (p *progress) done(n int) {
	if p.w == nil || n%p.step != 0 && n != p.total {
		return
	}
	b := append(p.buf[:0], "demo: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(p.total), 10)
	b = append(b, " personnes ("...)
	b = strconv.AppendInt(b, int64(n*100/p.total), 10)
	b = append(b, "%)\n"...)
	p.buf = b
	p.w.Write(b)
}

// CreateUsers creates one demo user per department of the dictionary, named
// <department>@demo.vigie.local with DemoPassword. It is idempotent: an existing account is left
// as it is, and its Login carries the password only if DemoPassword still opens it.
func CreateUsers(ctx context.Context, a *app.App) ([]Login, error) {
	if a.Auth == nil {
		return nil, errors.New("demo: the application is not unlocked")
	}
	var logins []Login
	for _, dep := range a.Dict.Departments {
		email := dep.Code + "@" + DemoEmailDomain
		display := demoUserNames[dep.Code]
		if display == "" {
			display = "Utilisateur de démonstration"
		}
		login := Login{Department: dep.Code, Email: email, Password: DemoPassword}
		_, err := a.Auth.CreateUser(ctx, email, display, dep.Code, DemoPassword)
		switch {
		case errors.Is(err, auth.ErrUserExists):
			opens, err := a.Auth.PasswordOpens(ctx, email, DemoPassword)
			switch {
			case err != nil:
				return logins, fmt.Errorf("demo: check user for %s: %w", dep.Code, err)
			case !opens:
				login.Password = "" // changed since, or disabled
			}
		case err != nil:
			return logins, fmt.Errorf("demo: create user for %s: %w", dep.Code, err)
		}
		logins = append(logins, login)
	}
	return logins, nil
}
