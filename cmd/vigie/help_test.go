package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestEveryCommandHelpHasAnExample: `vigie COMMAND --help`, `vigie COMMAND -h` and `vigie help
// COMMAND` print, on the standard output and with exit status 0, the command's usage and at least
// one concrete example of it, for every command of the table.
func TestEveryCommandHelpHasAnExample(t *testing.T) {
	c := newCLI(t)
	for name := range commands() {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, _ := c.run("", args...)
				if code != 0 {
					t.Errorf("exit %d, want 0", code)
				}
				if !strings.Contains(out, "Usage: vigie "+name) {
					t.Errorf("no usage on the standard output:\n%s", out)
				}
				if !hasExample(out, "vigie "+name) {
					t.Errorf("no example (e.g. vigie %s …):\n%s", name, out)
				}
			})
		}
	}
	assertNothingCreated(t, c.dir, nil)
}

// TestEverySubcommandHelpHasItsExample: `vigie COMMAND SUBCOMMAND --help` prints the command's
// help with the subcommand's flags, and an example of that very subcommand.
func TestEverySubcommandHelpHasItsExample(t *testing.T) {
	c := newCLI(t)
	subcommands := map[string][]string{
		"audit":      {"verify", "checkpoint", "purge", "retention"},
		"rights":     subcommandNames(rightsSubcommands()),
		"lifecycle":  subcommandNames(lifecycleSubcommands()),
		"breach":     subcommandNames(breachSubcommands()),
		"user":       userSubcommands,
		"charter":    subcommandNames(charterSubcommands()),
		"export":     {"stats", "stats-refresh"},
		"import":     {"legacy"},
		"dictionary": {"audit"},
		"register":   {"versions"},
	}
	for name, subs := range subcommands {
		for _, sub := range subs {
			t.Run(name+" "+sub, func(t *testing.T) {
				code, out, _ := c.run("", name, sub, "--help")
				if code != 0 {
					t.Errorf("exit %d, want 0", code)
				}
				if !hasExample(out, "vigie "+name+" "+sub) {
					t.Errorf("no example of vigie %s %s:\n%s", name, sub, out)
				}
				if !strings.Contains(out, "Flags:") {
					t.Errorf("no flags listed:\n%s", out)
				}
			})
		}
	}
	assertNothingCreated(t, c.dir, nil)
}

// TestUsageErrorsExitWithStatus2: a wrong command line is a usage error (exit status 2, the usage
// on the standard error), never a help (0) nor a failure (1).
func TestUsageErrorsExitWithStatus2(t *testing.T) {
	c := newCLI(t)
	for _, s := range []struct {
		args []string
		want string
	}{
		{[]string{"lifecycle"}, "Usage: vigie lifecycle"},
		{[]string{"lifecycle", "frobnicate"}, "Usage: vigie lifecycle"},
		{[]string{"rights"}, "Usage: vigie rights"},
		{[]string{"audit", "nope"}, "Usage: vigie audit"},
		{[]string{"serve", "--nope"}, "flag provided but not defined"},
		{[]string{"config", "extra"}, `unexpected argument "extra"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
	} {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			code, out, errOut := c.run("", s.args...)
			if code != 2 || !strings.Contains(errOut, s.want) {
				t.Errorf("exit %d (want 2), stderr has %q: %v\n%s", code, s.want, strings.Contains(errOut, s.want), errOut)
			}
			if strings.Contains(out, "Usage") {
				t.Errorf("a usage error printed its usage on the standard output")
			}
		})
	}
	assertNothingCreated(t, c.dir, nil)
}

// TestExamplesNameKnownCommands: every example runs a command of the table (and the table has no
// examples for a command it does not have).
func TestExamplesNameKnownCommands(t *testing.T) {
	cmds := commands()
	for name, list := range examples() {
		if _, ok := cmds[name]; !ok {
			t.Errorf("examples for %q, which is not a command", name)
		}
		for _, x := range list {
			fields := strings.Fields(x)
			i := slices.Index(fields, "vigie")
			if i < 0 || i+1 >= len(fields) || fields[i+1] != name {
				t.Errorf("%s: example %q does not run vigie %s", name, x, name)
			}
		}
	}
}

// hasExample tells whether help holds an example line ("e.g. …") that runs command.
func hasExample(help, command string) bool {
	for _, line := range strings.Split(help, "\n") {
		if (strings.HasPrefix(line, "e.g. ") || strings.Contains(line, "Exemple")) && strings.Contains(line+" ", command+" ") {
			return true
		}
	}
	return false
}

// assertNothingCreated fails when dir holds anything but the files named in keep.
func assertNothingCreated(t *testing.T, dir string, keep []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			t.Errorf("%s was created", e.Name())
		}
	}
}
