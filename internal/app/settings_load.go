package app

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Source is where the value of a setting came from; each overrides the one before it.
type Source string

const (
	SourceDefault Source = "default"
	SourceFile    Source = "file"
	SourceEnv     Source = "environment"
	SourceFlag    Source = "flag"
)

// Value is a setting's value and where it came from.
type Value struct {
	Setting Setting
	// Raw is the value as given; empty when the setting is unset and has no default.
	Raw    string
	Source Source
	// Where is, for the configuration file, its path and the line ("/etc/vigie/vigie.env:7").
	Where string
	// Refused holds what is wrong with Raw, when something is.
	Refused string
}

// Display is the value as `vigie config` prints it: a secret masked, a password in a URL hidden,
// an unset setting's derived default computed from c.
func (v Value) Display(c Config) string {
	switch {
	case v.Raw == "" && v.Setting.derive != nil:
		return v.Setting.derive(c)
	case v.Raw == "":
		return "(none)"
	case v.Setting.Secret:
		return "******** (set)"
	}
	return v.shown()
}

// shown is the value as a message may repeat it.
func (v Value) shown() string {
	if v.Setting.mask != nil {
		return v.Setting.mask(v.Raw)
	}
	return v.Raw
}

// Origin says where the value came from, as `vigie config` prints it.
func (v Value) Origin() string {
	switch {
	case v.Where != "":
		return string(v.Source) + " " + v.Where
	case v.Source == SourceFlag:
		return "flag " + flagOnly(v.Setting.Flag)
	case v.Raw == "" && v.Setting.derive != nil:
		return "default (derived)"
	}
	return string(v.Source)
}

// describe names the setting and its value for a message, by where it came from: the message
// says what to change, and where.
func (v Value) describe() string {
	name := v.Setting.Env
	if v.Source == SourceFlag {
		name = flagOnly(v.Setting.Flag)
	}
	var b strings.Builder
	b.WriteString(name)
	if !v.Setting.Secret {
		if v.Source == SourceFlag {
			fmt.Fprintf(&b, " %q", v.shown())
		} else {
			fmt.Fprintf(&b, "=%q", v.shown())
		}
	}
	switch {
	case v.Source == SourceFlag:
		fmt.Fprintf(&b, " (%s)", v.Setting.Env)
	case v.Where != "":
		fmt.Fprintf(&b, " (%s)", v.Where)
	case v.Source == SourceDefault:
		b.WriteString(" (default)")
	}
	return b.String()
}

// flagOnly is the flag without its command ("serve --addr" → "--addr").
func flagOnly(flag string) string {
	if i := strings.LastIndex(flag, " "); i >= 0 {
		return flag[i+1:]
	}
	return flag
}

// Problem is one thing wrong with the configuration, naming the setting to fix.
type Problem struct {
	Setting string
	Message string
}

// ConfigError is a refused configuration: every problem found, not only the first.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Message
	}
	return "configuration refused:\n  " + strings.Join(lines, "\n  ")
}

// Sources are where settings come from besides their defaults.
type Sources struct {
	// Environ is the process's environment, NAME=value strings (os.Environ()).
	Environ []string
	// ConfigFile is --config on the command line; it overrides VIGIE_CONFIG_FILE.
	ConfigFile string
}

// Settings are the loaded values of every setting of SettingTable, with where each came from,
// and the problems found: the default, then the configuration file, then the environment. The
// command line's flags come on top of them in Resolve.
type Settings struct {
	values   []Value
	problems []Problem
}

// LoadSettings reads the configuration file and the environment, and checks every value,
// defaults included: an unknown VIGIE_ variable or file key, a value against its rule, or a rule
// between settings broken is a problem, and the error (a *ConfigError) lists them all. The
// Settings are returned even then, for `vigie config` to show them.
func LoadSettings(src Sources) (*Settings, error) {
	table := SettingTable()
	index := make(map[string]int, len(table))
	names := make([]string, len(table))
	s := &Settings{values: make([]Value, len(table))}
	for i, st := range table {
		index[st.Env], names[i] = i, st.Env
		s.values[i] = Value{Setting: st, Raw: st.Default, Source: SourceDefault}
	}
	ignored := IgnoredVariables()
	for _, kv := range src.Environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "VIGIE_") {
			continue
		}
		if _, ok := ignored[name]; ok {
			continue
		}
		i, ok := index[name]
		if !ok {
			s.problem(name, fmt.Sprintf("%s (environment): unknown setting%s", name, suggest(name, names)))
			continue
		}
		if value != "" {
			s.values[i] = Value{Setting: table[i], Raw: value, Source: SourceEnv}
		}
	}
	file := &s.values[index[ConfigFileEnv]]
	if src.ConfigFile != "" {
		*file = Value{Setting: file.Setting, Raw: src.ConfigFile, Source: SourceFlag}
	}
	if file.Raw != "" {
		if err := checkReadableFile(file.Raw); err != nil {
			s.refuse(file, err)
		} else {
			s.readFile(file.Raw, table, index, names)
		}
	}
	for i := range s.values {
		if v := &s.values[i]; v.Refused == "" && v.Raw != "" && v.Setting.check != nil && v.Setting.Env != ConfigFileEnv {
			if err := v.Setting.check(v.Raw); err != nil {
				s.refuse(v, err)
			}
		}
	}
	for _, p := range crossChecks(s.apply(Config{})) {
		s.problem(p.Setting, p.Message)
	}
	return s, s.err(nil)
}

// readFile loads the configuration file under the environment: a key the environment also sets
// keeps the environment's value.
func (s *Settings) readFile(path string, table []Setting, index map[string]int, names []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		s.problem(ConfigFileEnv, fmt.Sprintf("%s=%q: cannot read it (%v)", ConfigFileEnv, path, errors.Unwrap(err)))
		return
	}
	seen := make(map[string]int)
	text := strings.TrimPrefix(string(data), "\ufeff")
	for n, line := range strings.Split(text, "\n") {
		where := path + ":" + strconv.Itoa(n+1)
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, raw, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			s.problem(ConfigFileEnv, fmt.Sprintf("%s: want NAME=value, such as VIGIE_LOG_FORMAT=json", where))
			continue
		}
		value, err := unquote(strings.TrimSpace(raw))
		if err != nil {
			s.problem(name, fmt.Sprintf("%s (%s): %v", name, where, err))
			continue
		}
		i, known := index[name]
		switch {
		case !known:
			s.problem(name, fmt.Sprintf("%s (%s): unknown setting%s", name, where, suggest(name, names)))
			continue
		case name == ConfigFileEnv:
			s.problem(name, fmt.Sprintf("%s (%s): a configuration file cannot name another one; remove the line", name, where))
			continue
		case seen[name] != 0:
			s.problem(name, fmt.Sprintf("%s (%s): already set on line %d; keep one of the two", name, where, seen[name]))
			continue
		}
		seen[name] = n + 1
		if value != "" && s.values[i].Source != SourceEnv {
			s.values[i] = Value{Setting: table[i], Raw: value, Source: SourceFile, Where: where}
		}
	}
}

// unquote reads a value of the file as sh and systemd do for the simple cases: in double quotes
// with backslash escapes, in single quotes as it is, or bare.
func unquote(v string) (string, error) {
	if v == "" || (v[0] != '"' && v[0] != '\'') {
		return v, nil
	}
	q := v[0]
	if len(v) < 2 || v[len(v)-1] != q {
		return "", fmt.Errorf("the quote %c opened is not closed at the end of the line", q)
	}
	body := v[1 : len(v)-1]
	if q == '\'' {
		if strings.ContainsRune(body, '\'') {
			return "", errors.New("a single quote inside single quotes")
		}
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			b.WriteByte(body[i])
		case c == '"':
			return "", errors.New(`a double quote inside double quotes: write \"`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func (s *Settings) problem(setting, message string) {
	for _, p := range s.problems {
		if p.Message == message {
			return
		}
	}
	s.problems = append(s.problems, Problem{Setting: setting, Message: message})
}

func (s *Settings) refuse(v *Value, err error) {
	v.Refused = err.Error()
	s.problem(v.Setting.Env, v.describe()+": "+err.Error())
}

func (s *Settings) err(more []Problem) error {
	all := append(append([]Problem(nil), s.problems...), more...)
	if len(all) == 0 {
		return nil
	}
	return &ConfigError{Problems: all}
}

// Config is the configuration the loaded settings give, before any flag.
func (s *Settings) Config() Config { return s.apply(Config{}) }

// Problems are what LoadSettings found wrong.
func (s *Settings) Problems() []Problem { return s.problems }

// apply fills what c leaves empty with the loaded values that were not refused.
func (s *Settings) apply(c Config) Config {
	for _, v := range s.values {
		st := v.Setting
		if st.set == nil || v.Raw == "" || v.Refused != "" || st.get(c) != "" {
			continue
		}
		st.set(&c, v.Raw)
	}
	return c
}

// Resolved is the effective configuration of a command, and every setting's value with its
// origin (for `vigie config`).
type Resolved struct {
	Config Config
	Values []Value
}

// Resolve puts the command line over the loaded settings: what c already holds was given by a
// flag (or by the caller) and is checked like the rest; everything c leaves empty is filled from
// the configuration file, the environment and the defaults. The error lists every problem,
// those found by LoadSettings included.
func (s *Settings) Resolve(c Config) (Resolved, error) {
	r := Resolved{Values: make([]Value, len(s.values))}
	var more []Problem
	for i, v := range s.values {
		if st := v.Setting; st.get != nil && st.get(c) != "" {
			v = Value{Setting: st, Raw: st.get(c), Source: SourceFlag}
			if st.check != nil {
				if err := st.check(v.Raw); err != nil {
					v.Refused = err.Error()
					more = append(more, Problem{Setting: st.Env, Message: v.describe() + ": " + err.Error()})
				}
			}
		}
		r.Values[i] = v
	}
	r.Config = s.apply(c)
	known := make(map[string]bool)
	for _, p := range s.problems {
		known[p.Message] = true
	}
	for _, p := range crossChecks(r.Config) {
		if !known[p.Message] {
			more = append(more, p)
		}
	}
	return r, s.err(more)
}

// Apply is Resolve for a command that needs only the configuration.
func (s *Settings) Apply(c Config) (Config, error) {
	r, err := s.Resolve(c)
	return r.Config, err
}

// Validate checks every setting c holds by its rule, and the rules between settings: Open
// refuses a configuration, however it was made, that LoadSettings would have refused.
func (c Config) Validate() error {
	var problems []Problem
	for _, st := range SettingTable() {
		if st.get == nil || st.check == nil {
			continue
		}
		if raw := st.get(c); raw != "" {
			if err := st.check(raw); err != nil {
				v := Value{Setting: st, Raw: raw}
				problems = append(problems, Problem{Setting: st.Env, Message: v.describe() + ": " + err.Error()})
			}
		}
	}
	problems = append(problems, crossChecks(c)...)
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// suggest names the known setting closest to an unknown name.
func suggest(name string, known []string) string {
	best, bestDistance := "", -1
	for _, k := range known {
		if d := editDistance(name, k); bestDistance < 0 || d < bestDistance {
			best, bestDistance = k, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
