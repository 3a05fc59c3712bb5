package demo

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	"vigie/internal/dictionary"
)

// The French lists the generator draws from. The long ones are embedded text files so that they
// read as data; the short ones, whose rows carry several fields, are Go tables below.
//
//go:embed data/first_names.txt data/last_names.txt data/communes.tsv data/streets.txt
var dataFiles embed.FS

// commune is a real French commune with its real postal code and département.
type commune struct {
	name, postalCode, departement string
	// phone holds how numbers of the commune's numbering zone start: mobile and landline
	// prefixes, in E.164 without the trailing random digits.
	mobile, landline []string
	// priceFactor is the tarification zone, in percent.
	priceFactor int64
}

// name is a first or last name with its form for an e-mail address ("Le Goff" → "legoff").
type name struct{ text, slug string }

// vehicleModel is a car model sold in France, with the energies it came in and its first year.
type vehicleModel struct {
	make, model string
	from        int
	energies    []string
}

// insurer is a French car insurer and the prefix of its policy numbers.
type insurer struct {
	name, policyPrefix string
	weight             int
}

// lists is everything drawn from, parsed once.
type lists struct {
	firstNames, lastNames []name
	communes              []commune
	streets               []string
}

func loadLists() (*lists, error) {
	var l lists
	var err error
	read := func(file string, fn func(fields []string) error) {
		if err != nil {
			return
		}
		var data []byte
		if data, err = dataFiles.ReadFile(file); err != nil {
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if ferr := fn(strings.Split(line, "\t")); ferr != nil {
				err = fmt.Errorf("demo: %s:%d: %w", file, n, ferr)
				return
			}
		}
	}
	read("data/first_names.txt", func(f []string) error {
		l.firstNames = append(l.firstNames, name{f[0], slug(f[0])})
		return nil
	})
	read("data/last_names.txt", func(f []string) error {
		l.lastNames = append(l.lastNames, name{f[0], slug(f[0])})
		return nil
	})
	read("data/streets.txt", func(f []string) error {
		l.streets = append(l.streets, f[0])
		return nil
	})
	read("data/communes.tsv", func(f []string) error {
		if len(f) != 3 {
			return fmt.Errorf("want name, postal code and département")
		}
		c := commune{name: f[0], postalCode: f[1], departement: f[2]}
		if dictionary.DepartementOfPostalCode(c.postalCode) != c.departement {
			return fmt.Errorf("postal code %s is not in département %s", c.postalCode, c.departement)
		}
		c.mobile, c.landline = phonePrefixes(c.departement)
		c.priceFactor = zoneFactor(c.departement)
		l.communes = append(l.communes, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// slug is a name as it appears in an e-mail address: lower case, no accents, no spaces or
// apostrophes ("N'Diaye" → "ndiaye", "Kœnig" → "koenig").
func slug(s string) string {
	s = strings.NewReplacer("œ", "oe", "Œ", "oe", "æ", "ae", "Æ", "ae").Replace(s)
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		// ASCII letters and hyphens stay; accents (combining marks once decomposed), spaces and
		// apostrophes go.
		if r >= 'a' && r <= 'z' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Numbering zones of the French telephone plan (ARCEP): 01 Île-de-France, 02 North-West, 03
// North-East, 04 South-East and Corsica, 05 South-West. Overseas départements have their own
// country codes (+590, +596, +594, +262). The landline prefixes avoid the blocks the plan gives to
// overseas numbers (026x, 059x) or leaves unassigned (040).
var landlineZone = func() map[string]string {
	zones := map[string]string{
		"1": "75 77 78 91 92 93 94 95",
		"2": "14 18 22 27 28 29 35 36 37 41 44 45 49 50 53 56 61 72 76 85",
		"3": "02 08 10 21 25 39 51 52 54 55 57 58 59 60 62 67 68 70 71 80 88 89 90",
		"4": "01 03 04 05 06 07 11 13 15 26 30 34 38 42 43 48 63 66 69 73 74 83 84 2A 2B",
		"5": "09 12 16 17 19 23 24 31 32 33 40 46 47 64 65 79 81 82 86 87",
	}
	m := map[string]string{}
	for zone, deps := range zones {
		for _, d := range strings.Fields(deps) {
			m[d] = zone
		}
	}
	return m
}()

// phonePrefixes returns the mobile and landline prefixes (E.164) for a département.
func phonePrefixes(dep string) (mobile, landline []string) {
	switch dep {
	case "971": // Guadeloupe
		return []string{"+590690"}, []string{"+5905909"}
	case "972": // Martinique
		return []string{"+596696", "+596697"}, []string{"+5965960", "+5965963", "+5965964", "+5965965"}
	case "973": // Guyane
		return []string{"+5946940", "+5946941", "+5946942", "+5946944"}, []string{"+5945940", "+5945942", "+5945943", "+5945944"}
	case "974": // La Réunion
		return []string{"+262692"}, []string{"+262262"}
	case "976": // Mayotte
		return []string{"+2626392", "+2626396", "+2626397"}, []string{"+2622696"}
	}
	mobile = []string{"+3360", "+3361", "+3362", "+3364", "+3365", "+3366", "+3367", "+3368",
		"+3373", "+3374", "+3375", "+3376", "+3377", "+3378", "+3379"}
	zone := landlineZone[dep]
	for d := '0'; d <= '9'; d++ {
		if zone == "2" && d == '6' || zone == "4" && d == '0' || zone == "5" && d == '9' {
			continue
		}
		landline = append(landline, "+33"+zone+string(d))
	}
	return mobile, landline
}

// zoneFactor is a rough tarification zone: dense cities cost more to insure.
func zoneFactor(dep string) int64 {
	switch dep {
	case "75", "92", "93", "94", "13", "06", "69":
		return 125
	case "971", "972", "973", "974", "976", "2A", "2B":
		return 115
	case "23", "15", "48", "46", "12", "19", "32", "36", "58", "52", "55", "70", "43", "09":
		return 88
	}
	return 100
}

// streetTypes are drawn with their weights: most addresses are "rue".
var streetTypes = []string{
	"rue", "rue", "rue", "rue", "rue", "rue", "avenue", "avenue", "boulevard", "impasse", "allée",
	"chemin", "place", "route", "quai", "cours", "square",
}

// vehicleModels are popular cars in France; energies are what the model was sold with.
var vehicleModels = []vehicleModel{
	{"Renault", "Clio", 1990, []string{"essence", "diesel", "hybride", "gpl"}},
	{"Renault", "Mégane", 1995, []string{"essence", "diesel", "hybride", "electrique"}},
	{"Renault", "Captur", 2013, []string{"essence", "diesel", "hybride", "gpl"}},
	{"Renault", "Zoé", 2013, []string{"electrique"}},
	{"Renault", "Twingo", 1993, []string{"essence", "electrique"}},
	{"Renault", "Austral", 2022, []string{"hybride", "essence"}},
	{"Renault", "Scénic", 1996, []string{"essence", "diesel", "electrique"}},
	{"Renault", "Kangoo", 1998, []string{"diesel", "essence", "electrique"}},
	{"Peugeot", "208", 2012, []string{"essence", "diesel", "electrique"}},
	{"Peugeot", "308", 2007, []string{"essence", "diesel", "hybride"}},
	{"Peugeot", "2008", 2013, []string{"essence", "diesel", "electrique"}},
	{"Peugeot", "3008", 2009, []string{"essence", "diesel", "hybride"}},
	{"Peugeot", "5008", 2009, []string{"essence", "diesel"}},
	{"Peugeot", "108", 2014, []string{"essence"}},
	{"Citroën", "C3", 2002, []string{"essence", "diesel", "electrique"}},
	{"Citroën", "C4", 2004, []string{"essence", "diesel", "electrique"}},
	{"Citroën", "C5 Aircross", 2018, []string{"essence", "diesel", "hybride"}},
	{"Citroën", "Berlingo", 1996, []string{"diesel", "essence", "electrique"}},
	{"Citroën", "C1", 2005, []string{"essence"}},
	{"Dacia", "Sandero", 2008, []string{"essence", "gpl"}},
	{"Dacia", "Duster", 2010, []string{"essence", "diesel", "gpl", "hybride"}},
	{"Dacia", "Spring", 2021, []string{"electrique"}},
	{"Dacia", "Jogger", 2022, []string{"essence", "gpl", "hybride"}},
	{"Dacia", "Logan", 2005, []string{"essence", "diesel", "gpl"}},
	{"Volkswagen", "Golf", 1990, []string{"essence", "diesel", "hybride", "electrique"}},
	{"Volkswagen", "Polo", 1990, []string{"essence", "diesel"}},
	{"Volkswagen", "T-Roc", 2017, []string{"essence", "diesel"}},
	{"Volkswagen", "Tiguan", 2007, []string{"essence", "diesel", "hybride"}},
	{"Volkswagen", "ID.3", 2020, []string{"electrique"}},
	{"Toyota", "Yaris", 1999, []string{"essence", "hybride"}},
	{"Toyota", "Corolla", 2019, []string{"hybride"}},
	{"Toyota", "C-HR", 2016, []string{"hybride"}},
	{"Toyota", "RAV4", 1994, []string{"essence", "diesel", "hybride"}},
	{"Toyota", "Aygo X", 2022, []string{"essence"}},
	{"Tesla", "Model 3", 2019, []string{"electrique"}},
	{"Tesla", "Model Y", 2022, []string{"electrique"}},
	{"Ford", "Fiesta", 1990, []string{"essence", "diesel"}},
	{"Ford", "Puma", 2019, []string{"essence", "hybride"}},
	{"Ford", "Kuga", 2008, []string{"essence", "diesel", "e85", "hybride"}},
	{"Ford", "Focus", 1998, []string{"essence", "diesel", "e85"}},
	{"Fiat", "500", 2007, []string{"essence", "hybride", "electrique"}},
	{"Fiat", "Panda", 2003, []string{"essence", "hybride"}},
	{"Fiat", "Tipo", 2016, []string{"essence", "diesel"}},
	{"Opel", "Corsa", 1993, []string{"essence", "diesel", "electrique"}},
	{"Opel", "Astra", 1991, []string{"essence", "diesel"}},
	{"Opel", "Mokka", 2012, []string{"essence", "electrique"}},
	{"Nissan", "Qashqai", 2007, []string{"essence", "diesel", "hybride"}},
	{"Nissan", "Juke", 2010, []string{"essence", "hybride"}},
	{"Nissan", "Leaf", 2011, []string{"electrique"}},
	{"Nissan", "Micra", 1992, []string{"essence"}},
	{"BMW", "Série 1", 2004, []string{"essence", "diesel"}},
	{"BMW", "Série 3", 1990, []string{"essence", "diesel", "hybride"}},
	{"BMW", "X1", 2009, []string{"essence", "diesel", "hybride"}},
	{"Mercedes-Benz", "Classe A", 1997, []string{"essence", "diesel", "hybride"}},
	{"Mercedes-Benz", "Classe C", 1993, []string{"essence", "diesel", "hybride"}},
	{"Mercedes-Benz", "GLA", 2014, []string{"essence", "diesel"}},
	{"Audi", "A3", 1996, []string{"essence", "diesel", "hybride"}},
	{"Audi", "A4", 1994, []string{"essence", "diesel"}},
	{"Audi", "Q3", 2011, []string{"essence", "diesel"}},
	{"Kia", "Sportage", 1993, []string{"essence", "diesel", "hybride"}},
	{"Kia", "Niro", 2016, []string{"hybride", "electrique"}},
	{"Kia", "Picanto", 2004, []string{"essence"}},
	{"Hyundai", "Tucson", 2004, []string{"essence", "diesel", "hybride"}},
	{"Hyundai", "i20", 2008, []string{"essence"}},
	{"Hyundai", "Kona", 2017, []string{"essence", "hybride", "electrique"}},
	{"Skoda", "Octavia", 1996, []string{"essence", "diesel"}},
	{"Skoda", "Fabia", 1999, []string{"essence"}},
	{"Skoda", "Kodiaq", 2016, []string{"essence", "diesel"}},
	{"Seat", "Ibiza", 1990, []string{"essence", "diesel", "gpl"}},
	{"Seat", "Leon", 1999, []string{"essence", "diesel", "e85"}},
	{"MG", "MG4", 2022, []string{"electrique"}},
	{"MG", "ZS", 2017, []string{"essence", "electrique"}},
	{"Volvo", "XC40", 2017, []string{"essence", "hybride", "electrique"}},
	{"Mini", "Cooper", 2001, []string{"essence", "diesel", "electrique"}},
	{"Suzuki", "Swift", 2005, []string{"essence", "hybride"}},
	{"DS", "DS 7", 2017, []string{"diesel", "hybride"}},
}

// insurers are French car insurers; weight is a rough market share.
var insurers = []insurer{
	{"AXA", "AXA", 14},
	{"Allianz", "ALZ", 8},
	{"MAIF", "MAIF", 12},
	{"MACIF", "MACIF", 12},
	{"Groupama", "GPA", 10},
	{"Generali", "GEN", 6},
	{"Matmut", "MAT", 8},
	{"MMA", "MMA", 9},
	{"GMF", "GMF", 7},
	{"Direct Assurance", "DA", 6},
	{"Abeille Assurances", "ABL", 4},
	{"April", "APR", 4},
}

// Free texts. They are plain business notes: nothing a sensitive-data scanner would refuse.
var (
	quoteComments = []string{
		"Souhaite une franchise réduite.",
		"Compare avec son assureur actuel avant de se décider.",
		"Véhicule garé dans un garage fermé la nuit.",
		"Demande l'option assistance zéro kilomètre.",
		"Conducteur secondaire occasionnel : son conjoint.",
		"Souhaite un paiement mensuel.",
		"Demande si le bris de glace est inclus.",
		"Premier véhicule, jeune conducteur accompagné.",
	}
	prospectionNotes = []string{
		"Appel de prospection, rappeler dans un mois.",
		"Intéressé par une offre tous risques, à relancer.",
		"Ne souhaite pas changer avant l'échéance de son contrat actuel.",
		"Envoi de la plaquette commerciale par e-mail.",
		"A répondu à l'e-mail de relance, demande à être rappelé.",
		"Rencontré au salon de l'automobile.",
		"Messagerie, pas de message laissé.",
		"Contact transmis par un partenaire concessionnaire.",
	}
	quoteNotes = []string{
		"Devis envoyé par e-mail.",
		"Relance sur le devis en attente.",
		"Demande de précisions sur les garanties.",
		"Souhaite comparer deux niveaux de garantie.",
	}
	contractNotes = []string{
		"Envoi des conditions particulières.",
		"Avenant signé : changement d'adresse.",
		"Rappel de l'échéance annuelle.",
		"Confirmation de la résiliation à l'échéance.",
		"Relevé d'information envoyé.",
	}
	supportNotes = []string{
		"Appel au sujet de son ticket, réponse apportée.",
		"Rappel du client, dossier en cours chez l'assureur.",
		"Explication de l'échéancier de paiement.",
	}
	ticketSubjects = []string{
		"Demande d'attestation d'assurance",
		"Changement d'adresse",
		"Question sur l'échéancier",
		"Déclaration de sinistre : bris de glace",
		"Ajout d'un conducteur secondaire",
		"Changement de véhicule",
		"Demande de relevé d'information",
		"Carte verte non reçue",
		"Question sur la franchise",
		"Résiliation du contrat",
	}
	customerMessages = []string{
		"Bonjour, pourriez-vous m'aider sur ce point ? Merci d'avance.",
		"Bonjour, je n'ai toujours pas reçu le document demandé.",
		"Merci pour votre retour rapide, tout est en ordre.",
		"Bonjour, je vous relance au sujet de ma demande.",
		"Pouvez-vous me rappeler en fin de journée ?",
	}
	staffMessages = []string{
		"Bonjour, nous avons bien reçu votre demande et la traitons.",
		"Bonjour, le document vous a été envoyé par e-mail ce jour.",
		"Votre demande a été transmise à l'assureur, nous revenons vers vous.",
		"C'est corrigé dans votre dossier. Bonne journée.",
	}
)
