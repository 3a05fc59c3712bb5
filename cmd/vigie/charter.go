package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"vigie/internal/app"
	"vigie/internal/charter"
)

// `vigie charter`: the data-governance charter and the staff's training (R43) on the command line.
// Nobody signs in to a command: it acts as the DPO's department with no user (user 0), and the
// audit trail and the rows it writes (published_by, recorded_by empty) say so. `status` exits with
// 1 when a staff member misses the charter in force or a mandatory module, so a report can gate
// on it.

var cliCharter = charter.Staff{Department: "dpo"}

func charterSubcommands() []subcommand {
	return []subcommand{{"publish", charterPublish}, {"status", charterStatus}, {"training", charterTraining},
		{"show", charterShow}, {"modules", charterModules}}
}

const charterUsage = "vigie charter publish --file F --version V   (a new version: every staff member accepts it at their next page)\n" +
	"       vigie charter status [--format text|json]   (who accepted the charter in force, who misses a module; exit status 1 when someone does)\n" +
	"       vigie charter training --email E --module CODE --date AAAA-MM-JJ   (a completed training)\n" +
	"       vigie charter show [--version V]   (the text of the version in force, or of V; its SHA-256 on standard error)\n" +
	"       vigie charter modules   (the catalogue of training modules)"

func charterCmd(ctx context.Context, e env) error {
	return dispatch(ctx, e, "charter", cliCharter.Department, charterSubcommands())
}

// charterRefused words a refusal: each flag with its rule and why; nothing was written.
func charterRefused(err error, flags map[string]string) error {
	ve, ok := charter.IsInput(err)
	if !ok {
		return err
	}
	var lines []string
	for _, is := range ve.Issues {
		name := flags[is.Field]
		if name == "" {
			name = is.Field
		}
		lines = append(lines, fmt.Sprintf("--%s (règle %s) : %s", name, is.Rule, is.Message))
	}
	return errors.New(strings.Join(lines, "\n") + "\nrien n'a été enregistré")
}

func charterPublish(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("charter", e, &cfg)
	file := fs.String("file", "", "the text of the new version, a UTF-8 file (required)")
	label := fs.String("version", "", "the label of the new version, e.g. 1.1 or 2027-01 (required)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--file est obligatoire : le texte de la nouvelle version (UTF-8)")
	}
	info, err := os.Stat(*file)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	if info.Size() > 4*charter.MaxBody {
		return fmt.Errorf("--file (règle max_length) : le texte de la charte est trop long (au plus %d caractères)\nrien n'a été enregistré", charter.MaxBody)
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Charter.Publish(ctx, cliCharter, *label, string(body))
	if err != nil {
		return charterRefused(err, map[string]string{"version": "version", "body": "file"})
	}
	fmt.Fprintf(e.stdout, "charte version %s publiée (SHA-256 %s, %d caractères) : chaque membre du personnel devra l'accepter à sa prochaine page\n",
		v.Label, v.SHA256, utf8.RuneCountInString(v.Body))
	return nil
}

// statusJSON is `charter status --format json`: the staff by name and e-mail, nothing else.
type statusJSON struct {
	AsOf           string        `json:"as_of"`
	Version        string        `json:"version"`
	SHA256         string        `json:"sha256"`
	PublishedAt    time.Time     `json:"published_at"`
	Staff          int           `json:"staff"`
	Acknowledged   int           `json:"acknowledged"`
	Trained        int           `json:"trained"`
	Missing        int           `json:"missing"`
	StaffMembers   []staffJSON   `json:"staff_members"`
	MandatoryByDep []moduleByDep `json:"modules"`
}

type staffJSON struct {
	Email          string     `json:"email"`
	Name           string     `json:"name"`
	Department     string     `json:"department"`
	SecondFactor   bool       `json:"second_factor"`
	Acknowledged   bool       `json:"acknowledged"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	LastVersion    string     `json:"last_version_acknowledged,omitempty"`
	Completed      []string   `json:"modules_completed"`
	Missing        []string   `json:"modules_missing"`
}

type moduleByDep struct {
	Code        string   `json:"code"`
	Title       string   `json:"title"`
	Departments []string `json:"mandatory_for"`
	ValidMonths int      `json:"valid_months"`
}

func charterStatus(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("charter", e, &cfg)
	format := fs.String("format", "text", "text or json")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q : text ou json attendu", *format)
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.Charter.Status(ctx)
	if err != nil {
		return err
	}
	missing := len(r.Incomplete())
	if *format == "json" {
		out := statusJSON{AsOf: r.AsOf.Format(charter.DateLayout), Version: r.Version.Label, SHA256: r.Version.SHA256,
			PublishedAt: r.Version.PublishedAt, Staff: len(r.Staff), Acknowledged: r.Acknowledged(), Trained: r.Trained(), Missing: missing,
			StaffMembers: []staffJSON{}, MandatoryByDep: []moduleByDep{}}
		for _, m := range r.Modules {
			deps := m.Departments
			if len(deps) == 0 {
				deps = []string{"*"}
			}
			out.MandatoryByDep = append(out.MandatoryByDep, moduleByDep{Code: m.Code, Title: m.Title, Departments: deps, ValidMonths: m.ValidMonths})
		}
		for _, st := range r.Staff {
			sj := staffJSON{Email: st.Email, Name: st.Name, Department: st.Department, SecondFactor: st.SecondFactor,
				Acknowledged: st.Acknowledged, LastVersion: st.LastVersion, Completed: []string{}, Missing: []string{}}
			if st.Acknowledged {
				at := st.AcknowledgedAt
				sj.AcknowledgedAt = &at
			}
			for _, ms := range st.Modules {
				if ms.Done {
					sj.Completed = append(sj.Completed, ms.Module.Code)
				}
			}
			sj.Missing = append(sj.Missing, st.Missing...)
			out.StaffMembers = append(out.StaffMembers, sj)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "charte en vigueur : version %s du %s (SHA-256 %s)\n", r.Version.Label,
			a.Charter.Day(r.Version.PublishedAt), r.Version.SHA256)
		fmt.Fprintf(e.stdout, "au %s : charte acceptée par %d sur %d ; formations obligatoires à jour : %d sur %d\n\n",
			r.AsOf.Format("02/01/2006"), r.Acknowledged(), len(r.Staff), r.Trained(), len(r.Staff))
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "membre du personnel\tservice\tcharte\tmodules manquants")
		for _, st := range r.Staff {
			ack := "à accepter"
			if st.Acknowledged {
				ack = "acceptée le " + a.Charter.Day(st.AcknowledgedAt)
			}
			miss := "aucun"
			if len(st.Missing) > 0 {
				miss = strings.Join(st.Missing, ", ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Email, st.Department, ack, miss)
		}
		tw.Flush()
	}
	if missing > 0 {
		return fmt.Errorf("%d membre(s) du personnel à relancer : charte en vigueur non acceptée ou formation obligatoire manquante", missing)
	}
	return nil
}

func charterTraining(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("charter", e, &cfg)
	email := fs.String("email", "", "the staff member's e-mail (required)")
	module := fs.String("module", "", "the module's code, see `vigie charter modules` (required)")
	date := fs.String("date", "", "the day the training was completed, AAAA-MM-JJ (required; not in the future)")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.Charter.RecordTraining(ctx, cliCharter, charter.TrainingInput{Email: *email, Module: *module, Date: *date})
	if err != nil {
		return charterRefused(err, map[string]string{"email": "email", "module": "module", "date": "date"})
	}
	fmt.Fprintf(e.stdout, "formation %s du %s inscrite pour l'utilisateur %d\n", c.Module, c.CompletedAt.Format("02/01/2006"), c.UserID)
	return nil
}

func charterShow(ctx context.Context, e env) error {
	var cfg app.Config
	fs := flags("charter", e, &cfg)
	label := fs.String("version", "", "a version's label; default the version in force")
	if err := parse(fs, e.args[1:], 0); err != nil {
		return err
	}
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Charter.Current(ctx)
	if err == nil && *label != "" && *label != v.Label {
		v, err = a.Charter.VersionByLabel(ctx, *label)
	}
	if errors.Is(err, charter.ErrNotFound) {
		return fmt.Errorf("--version %q : version inconnue", *label)
	}
	if err != nil {
		return err
	}
	// The text alone on standard output, so that `show > F`, edited, can be published.
	fmt.Fprintf(e.stderr, "version %s du %s — SHA-256 %s\n", v.Label, a.Charter.Day(v.PublishedAt), v.SHA256)
	fmt.Fprint(e.stdout, v.Body)
	return nil
}

func charterModules(ctx context.Context, e env) error {
	a, err := openSubcommand(ctx, e, "charter")
	if err != nil {
		return err
	}
	defer a.Close()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "code\tmodule\tobligatoire pour\tà renouveler")
	for _, m := range a.Charter.Modules() {
		deps := "tous les services"
		if len(m.Departments) > 0 {
			deps = strings.Join(m.Departments, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\ttous les %d mois\n", m.Code, m.Title, deps, m.ValidMonths)
	}
	return tw.Flush()
}
