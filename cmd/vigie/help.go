package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"vigie/internal/audit"
)

// examples are concrete command lines for each command, printed by `vigie help COMMAND` and
// `vigie COMMAND --help`, with what each does. TestEveryCommandHelpHasAnExample fails for a
// command without one.
func examples() map[string][]string {
	return map[string][]string{
		"serve": {
			"vigie serve --demo   (a trial: migrates an empty vigie.db, fills it with demo data, listens on 127.0.0.1:8080)",
			"vigie serve --addr 127.0.0.1:8080 --trusted-proxies 127.0.0.1   (behind nginx on the same machine)",
			"vigie serve --addr 0.0.0.0:8443 --tls-cert /etc/vigie/tls/cert.pem --tls-key /etc/vigie/tls/key.pem",
		},
		"migrate": {
			"vigie migrate --status   (what an upgrade will apply; changes nothing)",
			"vigie migrate --database-url 'postgres://vigie@db.internal:5432/vigie?sslmode=verify-full'",
		},
		"demo": {
			"vigie demo --persons 500 --seed 7   (after vigie migrate; the same seed gives the same data)",
		},
		"dictionary": {
			"vigie dictionary --format html > dictionnaire.html",
			"vigie dictionary audit ancien_crm.csv --delimiter ';'   (what each column of a legacy extract is, before an import)",
		},
		"import": {
			"vigie import legacy internal/importer/testdata/legacy_crm.csv --mapping internal/importer/testdata/legacy_crm.mapping.json --dry-run",
		},
		"scan": {
			"vigie scan --format json > scan.json   (exit status 1 when something is found)",
		},
		"audit": {
			"vigie audit verify",
			"vigie audit checkpoint --out /srv/coffre/checkpoint.json",
			"vigie audit verify --from-checkpoint /srv/coffre/checkpoint.json   (also detects a truncated tail)",
			"vigie audit purge",
			"vigie audit retention --months 24",
		},
		"rights": {
			"vigie rights list --all",
			"vigie rights export --person 42 --out acces-42.zip",
			"vigie rights erase --person 42 --request 7",
		},
		"lifecycle": {
			"vigie lifecycle run --dry-run   (exactly what a run would do; changes nothing)",
			"vigie lifecycle check --now 2027-01-31",
			"vigie lifecycle rules",
			"vigie lifecycle set-rule --rule quote_no_contract --months 18 --reason \"Décision du comité RGPD\"",
			"vigie lifecycle hold --person 42 --until 2028-01-01 --reason \"Contentieux sinistre 2026-118\"",
			"vigie lifecycle lift --hold 3",
			"vigie lifecycle holds",
			"vigie lifecycle runs",
		},
		"report": {
			"vigie report --out preuves-cnil.pdf   (exit status 1 when a check fails; the report says which)",
			"vigie report --out preuves-cnil.html",
		},
		"export": {
			"vigie export stats --out stats.csv --format excel-fr --columns month,zone,price --k 10",
			"vigie export stats-refresh",
		},
		"breach": {
			"vigie breach record --title \"Ordinateur volé\" --aware \"2026-11-03 09:30\" --nature confidentiality --origin lost_device " +
				"--cause external_malicious --description \"Portable non chiffré volé.\" --consequences \"Hameçonnage ciblé.\" " +
				"--measures \"Plainte, comptes révoqués.\" --risk high --risk-reason \"Identité et contrats en clair.\" --scope-department contrats",
			"vigie breach update --breach 1 --measures-proposed \"Chiffrement des portables\"",
			"vigie breach list",
			"vigie breach show --breach 1",
			"vigie breach notify --breach 1 --to cnil --phase initial --sent \"2026-11-04 17:00\" --channel teleservice --reference 2026-123",
			"vigie breach drafts --breach 1 --letters --out courriers.txt",
		},
		"user": {
			"printf '%s\\n' 'Un-mot-de-passe-long-2026' | vigie user add --email marie@courtier.example --department devis",
			"vigie user token --email marie@courtier.example",
			"vigie user passwd --email marie@courtier.example < nouveau-mot-de-passe.txt",
			"vigie user force-change --email marie@courtier.example",
			"vigie user unlock --email marie@courtier.example",
			"vigie user reset-totp --email marie@courtier.example",
		},
		"register": {
			"vigie register --out registre.pdf   (the register in force, in the CNIL layout; a new version when it changed)",
			"vigie register --out registre-v2.csv --version 2",
			"vigie register versions",
		},
		"charter": {
			"vigie charter publish --file charte-1.1.txt --version 1.1",
			"vigie charter status   (exit status 1 when someone has not accepted it or misses a module)",
			"vigie charter training --email marie@courtier.example --module rgpd-fondamentaux --date 2026-11-15",
			"vigie charter show --version 1.0",
			"vigie charter modules",
		},
		"config": {
			"vigie config --config /etc/vigie/vigie.env   (what the service would run with, and what is wrong)",
			"vigie config --reference > docs/configuration.md",
		},
		"backup": {
			"vigie backup --out /srv/sauvegardes/vigie-$(date +%F).vbk   (the data, encrypted; no subject key inside)",
			"vigie backup keys --out /srv/coffre/cles-$(date +%F).vks   (the key store, kept apart, copies deleted within 30 days)",
			"vigie backup check --in /srv/sauvegardes/vigie-2026-11-20.vbk",
		},
		"restore": {
			"vigie restore --in vigie-2026-11-20.vbk --keys cles-2026-11-22.vks --database-url /srv/vigie/restaure.db",
			"vigie restore --in vigie-2026-11-20.vbk --keys-from-database /srv/vigie/vigie.db --database-url 'postgres://vigie@db.internal/vigie_restaure'",
		},
		"keys": {
			"vigie keys rotate   (a new master key drawn; run it again if it was interrupted)",
			"vigie keys rotate --new-key /etc/vigie/nouvelle.key --batch 1000",
			"vigie keys status",
		},
	}
}

// isHelpArg is an argument asking for help instead of a run.
func isHelpArg(a string) bool {
	return a == "-h" || a == "-help" || a == "--help"
}

// wantsHelp tells whether the arguments ask for help (before "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpArg(a) {
			return true
		}
	}
	return false
}

// writeHelp prints a command's usage, what it does and its examples.
func writeHelp(w io.Writer, name string, c command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n\n", c.usage, strings.ToUpper(c.summary[:1])+c.summary[1:])
	for _, x := range examples()[name] {
		fmt.Fprintf(w, "e.g. %s\n", x)
	}
}

// subcommand is one action of a command that has several (vigie lifecycle run, vigie breach list…).
type subcommand struct {
	name string
	run  func(context.Context, env) error
}

// subcommandNames lists a command's subcommands in their order.
func subcommandNames(subs []subcommand) []string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return names
}

// dispatch runs the subcommand named by the first argument, what it does recorded in the audit
// trail as the department's; without a subcommand it knows, the command's usage.
func dispatch(ctx context.Context, e env, name, department string, subs []subcommand) error {
	for _, s := range subs {
		if len(e.args) > 0 && e.args[0] == s.name {
			return s.run(audit.WithActor(ctx, 0, department), e)
		}
	}
	return subcommandUsage(e, name)
}

// subcommandUsage answers a command with subcommands called with none it knows: its help on the
// standard output and exit status 0 when help was asked for, else its usage on the standard error
// and exit status 2.
func subcommandUsage(e env, name string) error {
	c := commands()[name]
	if wantsHelp(e.args) {
		writeHelp(e.stdout, name, c)
		fmt.Fprintf(e.stdout, "\nThe flags of each: vigie %s <subcommand> --help\n", name)
		return flag.ErrHelp
	}
	fmt.Fprintf(e.stderr, "Usage: %s\n\n(examples: vigie %s --help)\n", c.usage, name)
	return errUsage
}
