package main

import (
	"context"
	"fmt"

	"vigie/internal/app"
	"vigie/internal/demo"
)

func demoCmd(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("demo", e, &cfg)
	persons := fs.Int("persons", 2000, "how many demo persons to generate")
	seed := fs.Int64("seed", 1, "seed of the generator: the same seed gives the same data")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *persons < 0 || *persons > 10_000_000 {
		return fmt.Errorf("--persons: want a number between 0 and 10000000")
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return fillDemo(ctx, e, a, *persons, *seed)
}

// demoOnEmpty is `serve --demo`: a new database is migrated and filled; a database that already
// holds persons is left as it is (a restart must not add a second demo population).
func demoOnEmpty(ctx context.Context, e env, a *app.App, persons int) error {
	if _, err := a.DB.Migrate(ctx); err != nil {
		return err
	}
	if err := a.Unlock(ctx); err != nil {
		return err
	}
	var n int
	if err := a.DB.QueryRowContext(ctx, `SELECT count(*) FROM persons`).Scan(&n); err != nil {
		return fmt.Errorf("count persons: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "la base contient déjà %d personnes : pas de nouvelles données de démonstration\n", n)
		return printLogins(ctx, e, a)
	}
	return fillDemo(ctx, e, a, persons, 1)
}

func fillDemo(ctx context.Context, e env, a *app.App, persons int, seed int64) error {
	sum, err := demo.Generate(ctx, a, demo.Options{Persons: persons, Seed: seed, Now: a.Now(), Progress: e.stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "données de démonstration : %d personnes, %d devis, %d contrats, %d documents, %d interactions, %d tickets (%d messages), %d choix de consentement en %s\n",
		sum.Persons, sum.Quotes, sum.Contracts, sum.Documents, sum.Interactions, sum.Tickets, sum.TicketMessages, sum.Consents, sum.Elapsed.Round(1e7))
	if persons >= demo.MinPersonsForRights {
		if err := demo.Rights(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "portail de confidentialité : essayez /portail avec l'adresse %s (le code arrive par e-mail)\n", demo.PortalEmail)
	}
	return printLogins(ctx, e, a)
}

func printLogins(ctx context.Context, e env, a *app.App) error {
	logins, err := demo.CreateUsers(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "comptes de démonstration (un par service) :")
	for _, l := range logins {
		password := l.Password
		if password == "" {
			password = "(modifié depuis la création)"
		}
		fmt.Fprintf(e.stdout, "  %-12s %-34s mot de passe : %s\n", l.Department, l.Email, password)
	}
	fmt.Fprintln(e.stdout, "second facteur obligatoire : à la première connexion, scannez le code QR affiché avec une application")
	fmt.Fprintln(e.stdout, "d'authentification (TOTP) et gardez les codes de secours ; les scripts utilisent `vigie user token`.")
	return nil
}
