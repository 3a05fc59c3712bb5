package register

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The register's exports follow the CNIL's model of the "registre des activités de traitement":
// a summary of the activities, then one record sheet (fiche) per activity, section after section —
// description, actors, purposes, subjects, data, recipients, transfers, retention, security. CSV,
// HTML and PDF all print the same sheets, built once here, so no format can leave a field out.

// Formats are the export formats.
var Formats = []string{"csv", "html", "pdf", "json"}

// ContentTypes are the formats' media types.
var ContentTypes = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"html": "text/html; charset=utf-8",
	"pdf":  "application/pdf",
	"json": "application/json; charset=utf-8",
}

// FileName is the name a download of the version takes.
func FileName(v *Version, format string) string {
	return fmt.Sprintf("registre-traitements-v%d.%s", v.Number, format)
}

// Render writes a version of the register in one of Formats.
func Render(v *Version, format string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch format {
	case "csv":
		err = WriteCSV(&b, v)
	case "html":
		err = WriteHTML(&b, v)
	case "pdf":
		err = WritePDF(&b, v)
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err = enc.Encode(v)
	default:
		return nil, fmt.Errorf("register: format %q: valeurs admises %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("register: render %s: %w", format, err)
	}
	return b.Bytes(), nil
}

// Point is a point of art. 30(1) and the fields of a sheet that answer it.
type Point struct {
	Letter, Label string
	// Fields are the fields every sheet must fill for this point.
	Fields []string
}

// Art30 lists the points of art. 30(1) and the sheet's fields that answer them; every export has
// them, filled, for every activity (R38).
var Art30 = []Point{
	{"a", "nom et coordonnées du responsable du traitement et du délégué à la protection des données",
		[]string{"Responsable du traitement", "Coordonnées du responsable", "Délégué à la protection des données (DPO)"}},
	{"b", "finalités du traitement", []string{"Finalité principale", "Base légale"}},
	{"c", "catégories de personnes concernées et de données à caractère personnel", []string{"Personnes concernées", "Données sensibles (art. 9 et 10)"}},
	{"d", "catégories de destinataires", []string{"Services internes habilités", "Destinataires"}},
	{"e", "transferts vers un pays tiers et garanties", []string{"Transferts", "Garanties"}},
	{"f", "délais prévus pour l'effacement des catégories de données", nil},
	{"g", "description générale des mesures de sécurité techniques et organisationnelles", MeasureHeadings},
}

// Sheet is an activity's record sheet: its rows, section by section, in the CNIL's order.
type Sheet struct {
	Ref, Code, Name string
	Rows            []Row
}

// Row is one field of a sheet; Art30 is the letter of the point of art. 30(1) it answers, if any.
type Row struct {
	Section, Field, Value, Art30 string
}

// Sections of a sheet, in order.
const (
	SecDescription = "Description du traitement"
	SecActors      = "Acteurs"
	SecPurposes    = "Finalité(s) du traitement"
	SecSubjects    = "Catégories de personnes concernées"
	SecData        = "Catégories de données personnelles"
	SecRecipients  = "Destinataires des données"
	SecTransfers   = "Transferts hors de l'Union européenne"
	SecRetention   = "Durées de conservation"
	SecSecurity    = "Mesures de sécurité"
)

// Sheets lays the version out as the CNIL's record sheets, one per activity.
func (v *Version) Sheets() []Sheet {
	r := v.Register
	var sheets []Sheet
	for _, a := range r.Activities {
		s := Sheet{Ref: a.Ref, Code: a.Code, Name: a.Name}
		add := func(section, field, value, point string) {
			s.Rows = append(s.Rows, Row{Section: section, Field: field, Value: value, Art30: point})
		}
		add(SecDescription, "Nom / sigle", a.Name+" ("+a.Code+")", "")
		add(SecDescription, "N° / référence", a.Ref, "")
		add(SecDescription, "Version du registre", v.Label(), "")
		add(SecDescription, "Dernière mise à jour", frenchTime(v.GeneratedAt), "")

		add(SecActors, "Responsable du traitement", r.Actors.Controller, "a")
		add(SecActors, "Coordonnées du responsable", r.Actors.Address, "a")
		add(SecActors, "Délégué à la protection des données (DPO)", r.Actors.DPO, "a")
		add(SecActors, "Représentant", r.Actors.Representative, "a")
		add(SecActors, "Responsables conjoints", r.Actors.JointControllers, "a")

		add(SecPurposes, "Finalité principale", a.Name, "b")
		add(SecPurposes, "Base légale", a.LegalBasis, "b")
		add(SecPurposes, "Services qui le mettent en œuvre", strings.Join(a.Departments, " ; "), "")

		add(SecSubjects, "Personnes concernées", strings.Join(a.Subjects, " ; "), "c")

		for _, dc := range a.Data {
			add(SecData, dc.Label, dataText(dc, a.Retention), "c")
		}
		add(SecData, "Données sensibles (art. 9 et 10)", a.Sensitive, "c")

		add(SecRecipients, "Services internes habilités", strings.Join(a.Departments, " ; ")+" (droits champ par champ : dictionnaire de données)", "d")
		add(SecRecipients, "Destinataires", a.Recipients, "d")

		if len(a.Transfers) == 0 {
			add(SecTransfers, "Transferts", noTransfer, "e")
			add(SecTransfers, "Garanties", "Sans objet : aucun transfert.", "e")
		} else {
			var to, guards []string
			for _, t := range a.Transfers {
				to = append(to, t.Recipient+" ("+t.Country+")")
				guards = append(guards, t.Recipient+" : "+t.Safeguards)
			}
			add(SecTransfers, "Transferts", strings.Join(to, " ; "), "e")
			add(SecTransfers, "Garanties", strings.Join(guards, " ; "), "e")
		}

		for _, rt := range a.Retention {
			text := rt.Text()
			if len(rt.AppliesTo) > 0 {
				text += " S'applique à : " + strings.Join(rt.AppliesTo, ", ") + "."
			}
			add(SecRetention, rt.Label, text, "f")
		}

		for _, m := range r.Security {
			add(SecSecurity, m.Heading, m.Text, "g")
		}
		sheets = append(sheets, s)
	}
	return sheets
}

// When is when the version was generated, Paris time, in French: "23/11/2026 à 00:38".
func (v *Version) When() string { return frenchTime(v.GeneratedAt) }

// Label names the version in the exports: its number, date and SHA-256.
func (v *Version) Label() string {
	return "n° " + strconv.Itoa(v.Number) + " du " + frenchDate(v.GeneratedAt) + " (SHA-256 " + v.SHA256 + ")"
}

// dataText is a data category's line: its fields, how many are encrypted, and how long they are
// kept, by the activity's rules as in force.
func dataText(dc DataCategory, rules []Retention) string {
	s := strings.Join(dc.Fields, ", ")
	switch {
	case dc.Encrypted == len(dc.Fields):
		s += " — chiffrées"
	case dc.Encrypted > 0:
		s += fmt.Sprintf(" — %d sur %d chiffrées", dc.Encrypted, len(dc.Fields))
	}
	var keep []string
	for _, code := range dc.Retention {
		for _, rt := range rules {
			if rt.Rule == code {
				keep = append(keep, rt.Label+" : "+rt.Duration)
			}
		}
	}
	if len(keep) > 0 {
		s += " — conservation : " + strings.Join(keep, " ; ")
	}
	return s
}
