package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"vigie/internal/app"
	"vigie/internal/audit"
	"vigie/internal/auth"
)

// userSubcommands are the actions of `vigie user`, run by an operator on the server.
var userSubcommands = []string{"add", "token", "passwd", "force-change", "unlock", "reset-totp"}

func userCmd(ctx context.Context, e env) error {
	if len(e.args) == 0 || !slices.Contains(userSubcommands, e.args[0]) {
		return subcommandUsage(e, "user")
	}
	var cfg app.Config
	fs := flags("user", e, &cfg)
	email := fs.String("email", "", "the user's e-mail address (their login)")
	department := fs.String("department", "", "add: prospection, devis, contrats, support, performance, dpo or admin")
	name := fs.String("name", "", "add: display name (default: the part of the e-mail before @)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	// What the operator does on the command line is recorded as the IT administration's.
	ctx = audit.WithActor(ctx, 0, "admin")
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if e.args[0] == "add" {
		password, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		display := *name
		if display == "" {
			display = displayNameOf(*email)
		}
		u, err := a.Auth.ProvisionUser(ctx, *email, display, *department, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %d created in department %s; the second factor is enrolled at the first web sign-in\n", u.ID, u.Department)
		return nil
	}
	u, err := a.Auth.UserByEmail(ctx, *email)
	if err != nil {
		return fmt.Errorf("no user with that --email")
	}
	switch e.args[0] {
	case "token":
		token, err := a.Auth.IssueToken(ctx, u, auth.KindScript)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, token)
	case "passwd":
		password, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		if err := a.Auth.SetPassword(ctx, u, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password of user %d changed; the account is unlocked and its sessions ended\n", u.ID)
	case "force-change":
		if err := a.Auth.ForceChange(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %d must choose a new password at the next sign-in; their sessions ended\n", u.ID)
	case "unlock":
		if err := a.Auth.Unlock(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %d unlocked\n", u.ID)
	case "reset-totp":
		if err := a.Auth.ResetSecondFactor(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "second factor of user %d reset: the next sign-in enrols a new one; their sessions ended\n", u.ID)
	}
	return nil
}

func displayNameOf(email string) string {
	for i, r := range email {
		if r == '@' {
			return email[:i]
		}
	}
	return email
}
