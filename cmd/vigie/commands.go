package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"vigie/internal/app"
	"vigie/internal/dictionary"
)

// env is what every command is handed: its arguments and the process's streams.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// settings are the configuration file's and the environment's, checked by run.
	settings *app.Settings
}

type command struct {
	summary string
	usage   string
	run     func(context.Context, env) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":      {"start the server (API, web interface)", "vigie serve [--addr 127.0.0.1:8080] [--demo [--persons N]] [--tls-cert F --tls-key F | --tls-self-signed] [--trusted-proxies LIST] [--database-url URL]", serve},
		"migrate":    {"apply pending database migrations, or list them", "vigie migrate [--database-url URL]\n       vigie migrate --status   (every migration, applied and when, or pending; changes nothing)", migrate},
		"demo":       {"fill the database with deterministic French demo data and one user per department", "vigie demo [--persons N] [--seed S] [--database-url URL]", demoCmd},
		"dictionary": {"print the data dictionary, or audit a legacy CSV extract against it", "vigie dictionary [--format md|html]\n       vigie dictionary audit FILE.csv [--format text|json] [--delimiter ';']", dictionaryCmd},
		"import": {"bring in a legacy CRM extract: forbidden and unknown columns dropped, cells scanned, a report of what was kept and why",
			"vigie import legacy FILE.csv --mapping MAP.json [--dry-run] [--now AAAA-MM-JJ] [--format text|json] [--database-url URL]\n" +
				"       e.g. vigie import legacy ancien_crm.csv --mapping ancien_crm.json --dry-run   (mapping format: DEVELOPERS.md, \"Legacy import\")", importCmd},
		"scan": {"look for sensitive data already stored (NIR, health, opinions, offences, card numbers, IBANs) and report it",
			"vigie scan [--format text|json] [--database-url URL]   (exit status 1 when something is found)", scanCmd},
		"audit": {"verify the audit trail, export a signed checkpoint, apply its retention",
			"vigie audit verify [--from-checkpoint FILE] [--format text|json]\n       vigie audit checkpoint --out FILE\n       vigie audit purge\n       vigie audit retention [--months N]", auditCmd},
		"rights": {"answer data-subject rights as the DPO: the queue of requests, the access archive, erasure",
			"vigie rights list [--all]   (the DPO's queue, latest deadlines first: no personal data)\n" +
				"       vigie rights export --person N --out FILE [--format zip|json|csv|html]\n" +
				"       vigie rights erase --person N [--request R] [--yes]   (asks for confirmation on standard input without --yes)\n" +
				"       Nobody signs in to a command: these act as the DPO's department with no user (user 0), and the audit trail records it so.", rightsCmd},
		"lifecycle": {"apply the retention rules: archive, anonymise, delete, ask prospects to renew; legal holds; the DPO's rules",
			"vigie lifecycle run [--dry-run] [--now AAAA-MM-JJ] [--batch N]   (resumes a run cut off; --now may not precede the last run)\n" +
				"       vigie lifecycle check [--now AAAA-MM-JJ]   (what is due now, in 30 and 90 days; exit status 1 when something is overdue)\n" +
				"       vigie lifecycle rules\n" +
				"       vigie lifecycle set-rule --rule CODE --months N [--action A] --reason TEXT\n" +
				"       vigie lifecycle hold --person N [--contract C] --until AAAA-MM-JJ --reason TEXT\n" +
				"       vigie lifecycle lift --hold N\n" +
				"       vigie lifecycle holds | runs", lifecycleCmd},
		"export": {"the anonymised statistics extract for the performance team: k-anonymous, with the k reached and the suppression rate",
			"vigie export stats --out FILE.csv [--k 10] [--l 2] [--from AAAA-MM --to AAAA-MM] [--format rfc4180|excel-fr] [--columns month,zone,price] [--pseudonymise]\n" +
				"       e.g. vigie export stats --out stats.csv --format excel-fr --columns month,zone,price\n" +
				"       vigie export stats-refresh   (rebuild the snapshot of the live quotes now; an extract does it when the data changed)", exportCmd},
		"report": {"the evidence pack for the CNIL: every rule checked on the live data, with its result and when it ran",
			"vigie report --out FILE [--format html|pdf]   (exit status 1 when a check fails; the report says which)\n" +
				"       e.g. vigie report --out preuves-cnil.pdf", reportCmd},
		"breach": {"the breach register (art. 33-34): record, 72-hour clocks, notifications, drafts to the CNIL and letters to the people", breachUsage, breachCmd},
		"register": {"the register of processing activities (art. 30): CNIL layout as CSV, HTML, PDF or JSON; its kept versions",
			registerUsage, registerCmd},
		"charter": {"the staff's data-governance charter (versions, acknowledgements) and training: who is missing",
			charterUsage, charterCmd},
		"config": {"print every setting, its effective value and where it came from (secrets masked), or the reference page", configUsage, configCmd},
		"backup": {"write an encrypted backup of the data (no subject key), export the key store apart, or check a backup",
			backupUsage, backupCmd},
		"restore": {"restore a backup into a new, empty database with the current keys, re-applying every erasure made since",
			restoreUsage, restoreCmd},
		"keys": {"rotate the master key (every subject key re-wrapped, resumable, the server kept running), or list its versions",
			keysUsage, keysCmd},
		"user": {"manage staff users", "vigie user add --email E --department D [--name N]   (password read from standard input)\n" +
			"       vigie user token --email E          (a script token: no second factor)\n" +
			"       vigie user passwd --email E         (new password read from standard input; unlocks the account)\n" +
			"       vigie user force-change --email E   (a new password is required at the next sign-in)\n" +
			"       vigie user unlock --email E         (after repeated failed sign-ins)\n" +
			"       vigie user reset-totp --email E     (lost phone: the next sign-in enrols a new second factor)", userCmd},
	}
}

// errUsage is returned for a wrong command line; the message has already been printed.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	configFile := configFlag(args)
	args = withoutLeadingConfig(args)
	if len(args) >= 2 && args[0] == "help" {
		args = []string{args[1], "--help"} // vigie help lifecycle = vigie lifecycle --help
	}
	if len(args) == 0 || args[0] == "help" || isHelpArg(args[0]) {
		usage(stdout, cmds)
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vigie: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	// Every setting is checked before the command does anything: a wrong one stops it here,
	// having changed nothing. `vigie config` shows them anyway, and help needs none.
	settings, err := app.LoadSettings(app.Sources{Environ: os.Environ(), ConfigFile: configFile})
	if err != nil && args[0] != "config" && !wantsHelp(args[1:]) {
		fmt.Fprintf(stderr, "vigie: %v\nNothing was done. Every setting and where its value comes from: vigie config; reference: docs/configuration.md\n", err)
		return 1
	}
	format := ""
	if err == nil {
		format = settings.Config().LogFormat
	}
	log, err := newLogger(stderr, format)
	if err != nil {
		fmt.Fprintf(stderr, "vigie: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// "vigie COMMAND --help": a command with flags prints its help itself; one with subcommands
	// that does not know --help answers with a usage error, replaced here by its help.
	helpOnly := len(args) > 1 && isHelpArg(args[1])
	cmdStderr := stderr
	if helpOnly {
		cmdStderr = io.Discard
	}
	err = cmd.run(ctx, env{args: args[1:], stdin: stdin, stdout: stdout, stderr: cmdStderr, log: log, settings: settings})
	if helpOnly && errors.Is(err, errUsage) {
		writeHelp(stdout, args[0], cmd)
		return 0
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "vigie %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Vigie — CRM where the GDPR is enforced by the software.")
	fmt.Fprintln(w, "\nUsage: vigie <command> [flags]   (vigie help <command>, or vigie <command> --help: its flags and examples)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nConfiguration: VIGIE_* environment variables, an optional file of VIGIE_NAME=value lines")
	fmt.Fprintln(w, "(--config FILE or VIGIE_CONFIG_FILE; the environment overrides it) and a few flags, all checked at")
	fmt.Fprintln(w, "start. vigie config prints them; the reference is docs/configuration.md, deployment docs/deploiement.md.")
	fmt.Fprintln(w, "\nExit status: 0 done (or help), 1 failed or configuration refused, 2 wrong command line.")
	fmt.Fprintln(w, "\ne.g. vigie serve --demo")
	fmt.Fprintln(w, "     vigie help lifecycle")
}

// flags returns a flag set for a command, with the database flag when the command uses data.
func flags(name string, e env, cfg *app.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("vigie "+name, flag.ContinueOnError)
	out := e.stderr
	if wantsHelp(e.args) {
		out = e.stdout // asked for: the help is the output
	}
	fs.SetOutput(out)
	if cfg != nil {
		fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://…) or SQLite file; default $VIGIE_DATABASE_URL, then vigie.db")
	}
	// Read by run before the command starts (it may set the log format); defined here so that
	// every command accepts it.
	fs.String("config", "", "file of VIGIE_NAME=value settings, under the environment; default $VIGIE_CONFIG_FILE")
	fs.Usage = func() {
		writeHelp(out, name, commands()[name])
		fmt.Fprintln(out, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and refuses stray arguments beyond the allowed positional count.
func parse(fs *flag.FlagSet, args []string, positional int) error {
	// Flags may come before or after the positional arguments ("audit FILE --format json"): the
	// flag package stops at the first non-flag, so parsing resumes after each one.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	fs.Parse(append([]string{"--"}, rest...))
	if fs.NArg() > positional {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(positional))
		fs.Usage()
		return errUsage
	}
	return nil
}

// open opens the app for a command that works on existing data: it refuses pending migrations.
// openSubcommand opens the app for a subcommand that takes no flag of its own but the database's.
func openSubcommand(ctx context.Context, e env, name string) (*app.App, error) {
	var cfg app.Config
	if err := parse(flags(name, e, &cfg), e.args[1:], 0); err != nil {
		return nil, err
	}
	return open(ctx, e, cfg)
}

func open(ctx context.Context, e env, cfg app.Config) (*app.App, error) {
	cfg, err := e.config(cfg)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, cfg, e.log)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func migrate(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("migrate", e, &cfg)
	status := fs.Bool("status", false, "list every migration, applied (with when) or pending, and change nothing")
	if err := parse(fs, e.args, 0); err != nil {
		return err
	}
	cfg, err := e.config(cfg)
	if err != nil {
		return err
	}
	if *status {
		return migrateStatus(ctx, e, cfg)
	}
	a, err := app.Open(ctx, cfg, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	applied, err := a.DB.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "schema up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	return a.Unlock(ctx)
}

// readPassword reads one line from standard input, so that a password never appears in the
// process list or the shell history.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// personalFields names the dictionary's personal fields, for the log redaction.
func personalFields() []string {
	d, err := dictionary.Load()
	if err != nil {
		return nil
	}
	var names []string
	for _, t := range d.Tables {
		for _, c := range t.Columns {
			if c.Personal {
				names = append(names, c.Name)
			}
		}
	}
	return names
}
