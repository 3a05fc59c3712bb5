package main

import (
	"context"
	"errors"
	"fmt"

	"vigie/internal/app"
	"vigie/internal/auth"
)

func userCmd(ctx context.Context, e env) error {
	if len(e.args) == 0 || (e.args[0] != "add" && e.args[0] != "token") {
		fmt.Fprintf(e.stderr, "Usage: %s\n", commands()["user"].usage)
		return errUsage
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
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	switch e.args[0] {
	case "add":
		password, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		display := *name
		if display == "" {
			display = displayNameOf(*email)
		}
		u, err := a.Auth.CreateUser(ctx, *email, display, *department, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %d created in department %s\n", u.ID, u.Department)
	case "token":
		u, err := a.Auth.UserByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("no user with that --email")
		}
		token, err := a.Auth.IssueToken(ctx, u, auth.KindScript)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, token)
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
