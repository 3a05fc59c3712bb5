package app

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteReference writes the reference page of the configuration (docs/configuration.md) from
// SettingTable: `vigie config --reference` prints it, and a test fails when the page in the
// repository differs, so that the documentation cannot drift from the code.
func WriteReference(out io.Writer) error {
	w := bufio.NewWriter(out)
	table := SettingTable()
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Configuration reference\n\n")
	p("<!-- Generated from internal/app/settings.go by `vigie config --reference > docs/configuration.md`\n")
	p("     (or `go generate ./internal/app`). Do not edit: TestConfigurationReferenceIsCurrent fails when\n")
	p("     this page differs from what the code generates. -->\n\n")
	p("Every setting has a `VIGIE_` environment variable; a few also have a flag. Each value comes from,\n")
	p("in increasing precedence:\n\n")
	p("1. its **default**;\n")
	p("2. the **configuration file**, when `VIGIE_CONFIG_FILE` or `--config FILE` names one: one\n")
	p("   `VIGIE_NAME=value` line per setting, blank lines and `#` comment lines skipped, a value in\n")
	p("   double quotes (with `\\\"` and `\\\\` escapes) or single quotes when it holds spaces. It is the\n")
	p("   format of `/etc/vigie/vigie.env` (docs/deploiement.md), which systemd and `sh` read too;\n")
	p("3. the **environment**;\n")
	p("4. the **flag**, on the command line.\n\n")
	p("An empty value is no value: the next source down applies.\n\n")
	p("Every command checks the whole configuration at start, before it opens or creates anything (no\n")
	p("database file, no key file). An unknown `VIGIE_` variable or file key (with the closest known\n")
	p("name suggested), a value against its rule below, an unreadable key file or configuration file:\n")
	p("each is reported with the setting to fix and where its value came from, and the command exits\n")
	p("with status 1 having changed nothing. `vigie serve` also makes sure it can listen on its address\n")
	p("before it touches the database.\n\n")
	p("`vigie config` prints every setting's effective value and where it came from (default, file and\n")
	p("line, environment, flag), secrets masked, then what is wrong, if anything (exit status 1):\n\n")
	p("```sh\n")
	p("vigie config\n")
	p("vigie config --config /etc/vigie/vigie.env\n")
	p("```\n\n")
	p("## Settings\n\n")
	p("| variable | flag | default | secret |\n|---|---|---|---|\n")
	for _, s := range table {
		secret := ""
		if s.Secret {
			secret = "yes"
		}
		p("| [`%s`](#%s) | %s | %s | %s |\n", s.Env, strings.ToLower(s.Env), code(s.Flag), cell(defaultDoc(s)), secret)
	}
	var groups []string
	for _, s := range table {
		if !slices.Contains(groups, s.Group) {
			groups = append(groups, s.Group)
		}
	}
	for _, g := range groups {
		p("\n## %s\n", g)
		for _, s := range table {
			if s.Group != g {
				continue
			}
			p("\n### %s\n\n%s\n\n", s.Env, s.Doc)
			if s.Flag != "" {
				p("- Flag: `%s`\n", s.Flag)
			}
			p("- Default: %s\n", defaultDoc(s))
			if s.Rule != "" {
				p("- Rule: %s\n", s.Rule)
			}
			if s.Secret {
				p("- Secret: never printed; `vigie config` shows only whether it is set.\n")
			}
		}
	}
	p("\n## Variables that are not settings\n\n")
	p("These `VIGIE_` variables may be in the environment without being refused; vigie does not read them.\n\n")
	ignored := IgnoredVariables()
	names := make([]string, 0, len(ignored))
	for n := range ignored {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p("- `%s`: %s.\n", n, ignored[n])
	}
	return w.Flush()
}

func defaultDoc(s Setting) string {
	switch {
	case s.DefaultDoc != "":
		return s.DefaultDoc
	case s.Default != "":
		return "`" + s.Default + "`"
	}
	return "none"
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

// cell keeps a value inside its Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", "\\|")
}
