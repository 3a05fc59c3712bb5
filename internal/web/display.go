package web

import (
	"strings"
	"time"
	"unicode/utf8"

	"vigie/internal/dictionary"
)

// valueLabels words the dictionary's coded values in French for display; a value missing here is
// shown as stored.
var valueLabels = map[string]string{
	// persons.kind, persons.source
	"prospect": "Prospect", "customer": "Client", "former_customer": "Ancien client",
	"web_form": "Formulaire web", "phone": "Téléphone", "email": "E-mail", "agency": "Agence",
	"partner": "Partenaire", "legacy_import": "Import de l'ancien système", "demo": "Démonstration",
	"api": "API", "letter": "Courrier", "import": "Import",
	// quotes
	"draft": "Brouillon", "sent": "Envoyé", "accepted": "Accepté", "refused": "Refusé", "expired": "Expiré",
	"essence": "Essence", "diesel": "Diesel", "hybride": "Hybride", "electrique": "Électrique",
	"gpl": "GPL", "e85": "Superéthanol E85",
	"prive": "Privé", "trajet_travail": "Trajet domicile-travail", "professionnel": "Professionnel",
	"tiers": "Tiers", "tiers_plus": "Tiers plus", "tous_risques": "Tous risques",
	// contracts
	"active": "Actif", "suspended": "Suspendu", "terminated": "Résilié",
	// documents
	"contract": "Contrat", "certificate": "Attestation", "invoice": "Facture", "other": "Autre",
	"application/pdf": "PDF", "image/png": "Image PNG", "image/jpeg": "Image JPEG", "text/plain": "Texte",
	// interactions
	"sms": "SMS", "meeting": "Rendez-vous", "web": "Web",
	"prospection": "Prospection", "quotes": "Devis", "contracts": "Contrats", "support": "Support",
	// tickets
	"open": "Ouvert", "pending": "En attente", "closed": "Clôturé", "staff": "Conseiller",
}

// channelLabels words record.Channels for the "Canal de collecte" select.
var channelLabels = map[string]string{
	"web_form": "Formulaire web", "phone": "Téléphone", "email": "E-mail", "letter": "Courrier",
	"agency": "Agence", "api": "API", "import": "Import", "demo": "Démonstration", "portal": "Portail",
}

// enumLabel is a coded value in French; departments are named by the dictionary.
func (s *server) enumLabel(c *dictionary.Column, v string) string {
	if c.Name == "department" {
		if dep, ok := s.dict.Department(v); ok {
			return dep.Name
		}
	}
	if l, ok := valueLabels[v]; ok {
		return l
	}
	return v
}

// display is a value as a French reader expects it: JJ/MM/AAAA dates, times in Paris, decimal
// commas, Oui/Non, coded values in words.
func (s *server) display(c *dictionary.Column, v any) string {
	if v == nil {
		return "—"
	}
	switch c.Kind {
	case dictionary.KindBoolean:
		if b, _ := v.(bool); b {
			return "Oui"
		}
		return "Non"
	case dictionary.KindDate:
		if d, err := time.Parse(dictionary.DateLayout, string(c.Text(v))); err == nil {
			return d.Format("02/01/2006")
		}
	case dictionary.KindTimestamp:
		if t, ok := v.(time.Time); ok {
			return s.frenchTime(t)
		}
	case dictionary.KindNumeric:
		return strings.Replace(string(c.Text(v)), ".", ",", 1)
	case dictionary.KindBlob:
		return "(contenu binaire)"
	}
	text := string(c.Text(v))
	if len(c.Values) > 0 {
		return s.enumLabel(c, text)
	}
	if c.Format == "phone_fr" {
		return frenchPhone(text)
	}
	return text
}

// frenchPhone shows a metropolitan number stored as E.164 the way it is dialled: 06 12 34 56 78.
func frenchPhone(e164 string) string {
	rest, ok := strings.CutPrefix(e164, "+33")
	if !ok || len(rest) != 9 {
		return e164
	}
	digits := "0" + rest
	return digits[0:2] + " " + digits[2:4] + " " + digits[4:6] + " " + digits[6:8] + " " + digits[8:10]
}

func (s *server) frenchTime(t time.Time) string {
	return t.In(s.paris).Format("02/01/2006 à 15:04")
}

// truncate shortens free text for a list cell.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// formValue is a stored value as an input of a form shows it; formTimeLayout is what a
// datetime-local input sends, in Paris time.
func (s *server) formValue(c *dictionary.Column, v any) string {
	if v == nil {
		return ""
	}
	if t, ok := v.(time.Time); ok {
		return t.In(s.paris).Format(formTimeLayout)
	}
	return string(c.Text(v))
}

const formTimeLayout = "2006-01-02T15:04"

// storeTime turns what a datetime-local input sent (Paris time) into the RFC 3339 UTC text the
// store expects. Anything else is passed on for the store to refuse with its own message.
func (s *server) storeTime(v string) string {
	for _, layout := range []string{formTimeLayout, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, s.paris); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return v
}
