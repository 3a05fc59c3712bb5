package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"vigie/internal/app"
)

// configUsage is the usage of `vigie config`.
const configUsage = "vigie config [--config FILE] [--database-url URL]   (every setting, its effective value and where it came from; secrets masked)\n" +
	"       vigie config --reference > docs/configuration.md        (the reference page, generated from the settings table)"

// loadSettings reads the configuration file (--config, before or after the command, else
// VIGIE_CONFIG_FILE) and the environment, and checks every setting: what run refuses before any
// command starts.
func loadSettings(args []string, environ []string) (*app.Settings, error) {
	return app.LoadSettings(app.Sources{Environ: environ, ConfigFile: configFlag(args)})
}

// configFlag finds --config FILE (or --config=FILE) among the arguments, before "--": the file is
// read before the command parses its own flags, since it may set the log format.
func configFlag(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// withoutLeadingConfig removes a --config given before the command ("vigie --config F serve"),
// which the command's own flags would not see.
func withoutLeadingConfig(args []string) []string {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if name != "config" {
			break
		}
		if hasValue || len(args) == 1 {
			args = args[1:]
		} else {
			args = args[2:]
		}
	}
	return args
}

// config resolves a command's configuration: the flags it parsed into cfg over the loaded
// settings. A flag's value is checked by the same rule as the variable it overrides.
func (e env) config(cfg app.Config) (app.Config, error) {
	s := e.settings
	if s == nil {
		var err error
		if s, err = loadSettings(nil, os.Environ()); err != nil {
			return cfg, err
		}
	}
	return s.Apply(cfg)
}

// configCmd is `vigie config`: every setting with its effective value and where it came from,
// then what is wrong; or, with --reference, the reference page generated from the table.
func configCmd(_ context.Context, e env) error {
	var cfg app.Config
	fs := flags("config", e, &cfg)
	reference := fs.Bool("reference", false, "print the reference page of every setting (Markdown), generated from the code, and nothing else")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	if *reference {
		return app.WriteReference(e.stdout)
	}
	s := e.settings
	if s == nil {
		s, _ = loadSettings(e.args, os.Environ())
	}
	resolved, err := s.Resolve(cfg)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "setting\tvalue\tfrom")
	for _, v := range resolved.Values {
		from := v.Origin()
		if v.Refused != "" {
			from += "  REFUSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Setting.Env, v.Display(resolved.Config), from)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var refused *app.ConfigError
	if errors.As(err, &refused) {
		fmt.Fprintf(e.stdout, "\n%d problem(s): every other command refuses to start until they are fixed\n", len(refused.Problems))
		for _, p := range refused.Problems {
			fmt.Fprintf(e.stdout, "  %s\n", p.Message)
		}
		return errors.New("the configuration is refused (reference: docs/configuration.md)")
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nthe configuration is valid")
	return nil
}
