package sensitive

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// withNIRKey appends the key INSEE computes to the first 13 characters of a NIR: 97 minus the
// number mod 97, Corsica's 2A and 2B read as 19 and 18. Written apart from the detector so that
// the test does not check the code against itself.
func withNIRKey(first13 string) string {
	s := strings.ReplaceAll(first13, " ", "")
	num := s
	switch strings.ToUpper(s[5:7]) {
	case "2A":
		num = s[:5] + "19" + s[7:]
	case "2B":
		num = s[:5] + "18" + s[7:]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%02d", s, 97-n%97)
}

// has reports whether Scan finds kind in text.
func has(text string, freeText bool, kind Kind) bool {
	return slices.ContainsFunc(Scan(text, freeText), func(f Finding) bool { return f.Kind == kind })
}

type scanCase struct {
	name string
	text string
	want bool
}

// checkKind runs cases through Scan, as free text and as a structured field: the checksum and
// blood-group detectors answer the same for both.
func checkKind(t *testing.T, kind Kind, cases []scanCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, freeText := range []bool{true, false} {
				if got := has(tc.text, freeText, kind); got != tc.want {
					t.Errorf("Scan(%q, freeText=%t) finds %s: %t, want %t", tc.text, freeText, kind, got, tc.want)
				}
			}
		})
	}
}

func TestR03_NIR(t *testing.T) {
	nir := withNIRKey("2690575115011")
	checkKind(t, KindNIR, []scanCase{
		{"public INSEE example", "2 55 08 14 168 025 38", true},
		{"man born in Yvelines, compact", withNIRKey("1850578006084"), true},
		{"with dots", "1.85.05.78.006.084.91", true},
		{"with dashes", "1-85-05-78-006-084-91", true},
		{"no-break spaces", "1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a091", true},
		{"narrow no-break spaces", "1\u202f85\u202f05\u202f78\u202f006\u202f084\u202f91", true},
		{"Corse-du-Sud 2A", withNIRKey("176032A004123"), true},
		{"Corse-du-Sud, lower case", strings.ToLower(withNIRKey("176032A004123")), true},
		{"Haute-Corse 2B", withNIRKey("281112B123456"), true},
		{"unknown month 35", withNIRKey("1853575056047"), true},
		{"unknown month 99", withNIRKey("2850599350123"), true},
		{"temporary number (7)", withNIRKey("7950399123456"), true},
		{"temporary number (8)", withNIRKey("8950399123456"), true},
		{"foreign-born in process (3)", withNIRKey("3850578006084"), true},
		{"foreign-born in process (4)", withNIRKey("4850578006084"), true},
		{"born abroad (département 99)", withNIRKey("2015199123321"), true},
		{"in a sentence", "Le client a donné son numéro " + nir + " au téléphone.", true},
		{"after a colon", "NIR:" + nir, true},
		{"after a phone number", "tel 06 12 34 56 78 puis " + nir, true},
		{"Corsica in text", "né à Ajaccio, " + withNIRKey("176032A004123") + ".", true},
		{"wrong key right after sécu", "sécu : 2 69 05 75 115 011 38, à supprimer", true},
		{"wrong key after NIR", "NIR 1 85 05 78 006 084 92", true},
		{"13 digits after sécurité sociale", "numéro de sécurité sociale : 1 85 05 78 006 084", true},
		{"13 digits after n° SS", "n° SS 1850578006084", true},
		{"13 digits after INSEE", "numéro INSEE 2690575115011", true},
		{"13 digits after carte Vitale", "carte Vitale 2690575115011", true},

		{"policy number with a wrong key", "Police n° 185057800608492", false},
		{"wrong key without context", "1 85 05 78 006 084 92", false},
		{"key 00 never exists", "185057800608400", false},
		{"2A with the key computed as if 2A were 20", "176032A00412350", false},
		{"2B with the key computed as if 2B were 20", "281112B12345654", false},
		{"month 13", withNIRKey("1851378006084"), false},
		{"month 00", withNIRKey("1850078006084"), false},
		{"month 45", withNIRKey("1854578006084"), false},
		{"sex 5", withNIRKey("5850578006084"), false},
		{"département 00", withNIRKey("1850500006084"), false},
		{"14 digits", "18505780060849", false},
		{"16 digits", "1850578006084910", false},
		{"letter elsewhere", "1850578006O8491", false},
		{"2C is not Corsica", "176032C00412377", false},
		{"glued to letters", "ref" + nir, false},
		{"inside a longer number", "9" + nir + "9", false},
		{"13 digits without context", "dossier 1850578006084", false},
		{"sécu too far before", "sécu non communiquée, le client rappellera demain pour le dossier 1850578006084", false},
		{"another number between sécu and the digits", "sécu refusée, tel 06 12 34 56 78 1850578006084", false},
		{"phone number", "06 12 34 56 78", false},
		{"international phone numbers", "+33 6 12 34 56 78 / +33 1 23 45 67 89", false},
		{"postal code and city", "12 rue des Lilas 75011 Paris", false},
		{"dates", "du 12/03/2024 au 11/03/2025, signé le 2024-03-12", false},
		{"amounts", "prime annuelle 1 234,56 €, franchise 300 €, bonus 0,50", false},
		{"plate", "AB-123-CD", false},
		{"no number", "Rappeler lundi pour le devis", false},
	})
}

// The key is what tells NIRs from other numbers: among random 15-digit numbers of the right
// shape, about one in 97 has a valid key. CountNIR reports both counts so that the legacy audit
// can tell a column of NIRs from one of references.
func TestR03_CountNIRShapeAndKey(t *testing.T) {
	for _, tc := range []struct {
		text          string
		shaped, valid int
	}{
		{"1 85 05 78 006 084 91 / 1 85 05 78 006 084 92 / 06 12 34 56 78", 2, 1},
		{"sécu 1 85 05 78 006 084 92", 1, 0}, // the audit goes by keys alone
		{"06 12 34 56 78", 0, 0},
		{"", 0, 0},
	} {
		if shaped, valid := CountNIR(tc.text); shaped != tc.shaped || valid != tc.valid {
			t.Errorf("CountNIR(%q) = %d, %d; want %d, %d", tc.text, shaped, valid, tc.shaped, tc.valid)
		}
	}
}

func TestR04_BloodGroup(t *testing.T) {
	checkKind(t, KindBloodGroup, []scanCase{
		{"groupe sanguin with rhesus", "Groupe sanguin O+ noté lors du sinistre", true},
		{"groupe sanguin without rhesus", "groupe sanguin : B", true},
		{"upper case", "GROUPE SANGUIN AB", true},
		{"GS with rhesus", "gs : AB-", true},
		{"GS with a colon", "GS: O", true},
		{"groupe and rhesus word", "client de groupe A négatif", true},
		{"groupe and rhesus sign", "groupe A+", true},
		{"groupe and abbreviated rhesus", "groupe O pos", true},
		{"group and rhesus word", "il est A négatif", true},
		{"AB positif", "AB positif", true},
		{"zero for O", "0 négatif", true},
		{"rhésus alone", "rhésus négatif", true},
		{"rhésus and sign", "a un rhésus +", true},
		{"Rh and sign", "O Rh+", true},
		{"rh and word", "AB rh négatif", true},

		{"groupe A of prospects", "le groupe A de prospects", false},
		{"vehicle group A", "véhicule classé groupe A par l'assureur", false},
		{"SRA group number", "classement SRA groupe 32", false},
		{"groupe A then a dash", "groupe A - à rappeler", false},
		{"human resources", "voir avec le service RH - urgent", false},
		{"human resources and a plus", "transmis à RH + copie au client", false},
		{"Citroën GS", "la GS a été réparée au garage", false},
		{"positive feedback", "retour positif du client", false},
		{"bare A+ grade", "note A+", false},
		{"energy class", "classe énergie A+", false},
		{"plate", "AB-123-CD", false},
		{"amounts", "prime de 450 €, bonus 0,50", false},
	})
}

// IsBloodGroup judges a whole CSV cell, where a column of "A+", "O-" is a column of blood groups.
func TestR04_IsBloodGroup(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"A+", true}, {"O-", true}, {"AB+", true}, {"ab-", true}, {"B +", true}, {"0+", true},
		{"AB positif", true}, {"O négatif", true}, {"A NEGATIF", true}, {"B pos", true},
		{"O Rh+", true}, {"A Rh négatif", true}, {"groupe O négatif", true}, {"Groupe A", true},
		{"groupe sanguin : B", true}, {"GS AB", true}, {"Groupe sanguin AB (positif)", true},
		{"A", false}, {"B", false}, {"AB", false}, {"O", false}, {"C+", false}, {"A++", false},
		{"groupe C", false}, {"Peugeot", false}, {"", false}, {"positif", false},
		{"AB positif mais pas sûr, à vérifier avec le client", false},
	} {
		if got := IsBloodGroup(tc.value); got != tc.want {
			t.Errorf("IsBloodGroup(%q) = %t, want %t", tc.value, got, tc.want)
		}
	}
}

// checkVocabulary runs cases through Scan: want is the answer for free text; a structured field
// never gets the vocabulary detectors.
func checkVocabulary(t *testing.T, kind Kind, cases []scanCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := has(tc.text, true, kind); got != tc.want {
				t.Errorf("Scan(%q, free text) finds %s: %t, want %t", tc.text, kind, got, tc.want)
			}
			if has(tc.text, false, kind) {
				t.Errorf("Scan(%q, structured) finds %s: vocabulary applies to free text only", tc.text, kind)
			}
		})
	}
}

func TestR04_HealthVocabulary(t *testing.T) {
	checkVocabulary(t, KindHealth, []scanCase{
		{"diabetic", "Client diabétique, attention", true},
		{"feminine past participle", "Hospitalisée en mars", true},
		{"plural", "prend des médicaments le matin", true},
		{"upper case with accents", "DIABÈTE DE TYPE 2", true},
		{"decomposed accents", "client diabe\u0301tique", true},
		{"sick leave", "en arrêt maladie jusqu'au 15", true},
		{"negated is still health", "n'est pas diabétique", true},
		{"vehicle context is still health", "véhicule aménagé pour son handicap", true},
		{"pregnant", "elle est enceinte de six mois", true},
		{"pregnant, after a noun", "cliente enceinte, rappeler en juin", true},
		{"sleep apnoea", "apnée du sommeil déclarée", true},

		{"loudspeaker", "une enceinte bluetooth oubliée dans le véhicule", false},
		{"enclosure", "stationné dans l'enceinte du parking", false},
		{"disability cover of the driver", "souhaite la garantie invalidité du conducteur", false},
		{"ordinary note", "Véhicule de fonction, rappeler après 18 h", false},
		{"processing", "Traitement de la demande en cours", false},
		{"glass breakage", "Déclaration de sinistre : bris de glace", false},
		{"plural, mixed case", "malaDIEs", true},
		{"prefix of a term", "cancérologue", false},
	})
}

func TestR05_OpinionVocabulary(t *testing.T) {
	checkVocabulary(t, KindOpinion, []scanCase{
		{"religion", "Pratiquant catholique, ne pas appeler le dimanche", true},
		{"feminine", "cliente musulmane", true},
		{"union", "Syndiqué CGT", true},
		{"union, feminine", "syndiquée", true},
		{"party", "militant au Rassemblement national", true},
		{"party, other name", "ancien du Front National", true},
		{"freemason", "franc-maçon", true},
		{"freemasons", "ses amis francs-maçons", true},
		{"religious practice", "rappeler après le ramadan", true},
		{"sexual orientation", "son compagnon, homosexuel", true},
		{"philosophy", "athée", true},

		{"town of Mâcon", "agence de Mâcon", false},
		{"verb protester", "a écrit en protestant contre la hausse de prime", false},
		{"unusual", "une méthode peu orthodoxe", false},
		{"national alone", "permis national", false},
		{"franc alone", "100 francs suisses", false},
		{"ordinary note", "Souhaite un paiement mensuel.", false},
	})
}

// TestR05_OffenceDetails: a quote asks two yes/no questions about the driver's record; details
// of an offence or a conviction in free text are refused (art. 10, DESIGN §6).
func TestR05_OffenceDetails(t *testing.T) {
	checkVocabulary(t, KindOffence, []scanCase{
		{"drink-driving", "Retrait de permis suite à une alcoolémie de 0,9 g/l", true},
		{"drugs", "contrôlé positif aux stupéfiants", true},
		{"hit and run", "Délit de fuite en 2021", true},
		{"conviction", "condamné en 2019", true},
		{"criminal record", "casier judiciaire chargé", true},
		{"prison", "sort de prison", true},
		{"court", "convoqué au tribunal correctionnel", true},

		{"yes/no question", "suspension de permis déclarée au devis", false},
		{"locker", "casier du vestiaire", false},
		{"judicial alone", "une procédure judiciaire de recouvrement", false},
		{"ordinary note", "Rappeler après 18 h.", false},
	})
}

func TestR06_CardNumber(t *testing.T) {
	checkKind(t, KindCardNumber, []scanCase{
		{"Visa 16", "4970101234567893", true},
		{"Visa grouped", "4970 1012 3456 7893", true},
		{"Visa dashes", "4970-1012-3456-7893", true},
		{"Visa 13", "4111111111119", true},
		{"Mastercard", "5370 1234 5678 9016", true},
		{"Mastercard 2-series", "2221 0000 0000 0009", true},
		{"Amex 15", "3782 822463 10005", true},
		{"Discover", "6011000999900016", true},
		{"UnionPay 18", "621234567890123457", true},
		{"Maestro", "6759 6498 2643 8453", true},
		{"in a sentence, with expiry", "payé par carte 4970 1012 3456 7893 exp 12 27", true},
		{"after CB and a colon", "CB:4970101234567893.", true},
		{"Diners without label", "36252187900035", true},

		{"Luhn fails", "4970 1012 3456 7894", false},
		{"12 digits", "497010123456", false},
		{"20 digits", "49701012345678930000", false},
		{"prefix 1", "1234567890123452", false},
		{"prefix 9", "9970101234567891", false},
		{"no issuer starts with 31", "3123456789012341", false},
		{"no issuer starts with 67 but Maestro's 6759 and 6761–6763", "6712345678901237", false},
		{"Visa prefix, 15 digits", "411111111111116", false},
		{"all zeros pass Luhn but are no card", "0000000000000000", false},
		{"all fours", "4444444444444444", false},
		{"letters", "4970 1012 3456 789A", false},
		{"glued to letters", "réf X4970101234567893", false},
		{"SIRET passes Luhn", "SIRET : 362 521 879 00035", false},
		{"SIRET compact", "siret 36252187900035", false},
		{"phone numbers", "tel 06 12 34 56 78 et 01 23 45 67 89", false},
		{"date and phone", "rappel le 12/03/2024 au 06 12 34 56 78", false},
		{"policy number", "Police n° AXA-2024-1234567", false},
	})
}

func TestR06_IBAN(t *testing.T) {
	checkKind(t, KindIBAN, []scanCase{
		{"French IBAN compact", "FR7630006000011234567890189", true},
		{"French IBAN grouped", "FR76 3000 6000 0112 3456 7890 189", true},
		{"French IBAN lower case", "fr76 3000 6000 0112 3456 7890 189", true},
		{"letter in the account", "FR14 2004 1010 0505 0001 3M02 606", true},
		{"German IBAN", "DE89 3704 0044 0532 0130 00", true},
		{"Belgian IBAN", "BE68 5390 0754 7034", true},
		{"British IBAN with letters", "GB82 WEST 1234 5698 7654 32", true},
		{"Norwegian, the shortest", "NO93 8601 1117 947", true},
		{"in a sentence", "IBAN : FR76 3000 6000 0112 3456 7890 189 merci", true},
		{"after a colon", "rib:FR7630006000011234567890189.", true},

		{"wrong check digits", "FR7730006000011234567890189", false},
		{"one digit changed", "FR7630006000011234567890188", false},
		{"French IBAN too short", "FR763000600001123456789018", false},
		{"no country", "7630006000011234567890189", false},
		{"unknown country, valid check", "ZZ591234567890123456", false},
		{"too short for any country", "FR7630006", false},
		{"dots", "FR76.3000.6000.0112.3456.7890.189x", false},
		{"glued to digits", "1FR7630006000011234567890189", false},
		{"plate and postal code", "AB-123-CD 75011", false},
	})
}

// R06: free text is checked for everything; the findings come once per kind, in a stable order,
// each with its rule and a message that names what was found.
func TestR06_ScanReportsEachKindOnceInOrder(t *testing.T) {
	all := "Groupe sanguin O+, diabétique, catholique ; sécu " + withNIRKey("1850578006084") +
		" ; carte 4970 1012 3456 7893 ; IBAN FR76 3000 6000 0112 3456 7890 189 ; autre carte 5370 1234 5678 9016"
	for _, tc := range []struct {
		name     string
		text     string
		freeText bool
		want     []Finding
	}{
		{"free text", all, true, []Finding{{KindNIR, "R03"}, {KindBloodGroup, "R04"}, {KindHealth, "R04"}, {KindOpinion, "R05"}, {KindCardNumber, "R06"}, {KindIBAN, "R06"}}},
		{"structured field", all, false, []Finding{{KindNIR, "R03"}, {KindBloodGroup, "R04"}, {KindCardNumber, "R06"}, {KindIBAN, "R06"}}},
		{"surname that is a health word", "Malade", false, nil},
		{"street that is a religious word", "12 rue des Protestants", false, nil},
		{"clean note", "Devis envoyé par e-mail, relance le 12/03.", true, nil},
		{"empty", "", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Scan(tc.text, tc.freeText); !slices.Equal(got, tc.want) {
				t.Errorf("Scan = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestR06_MessagesNameWhatWasFound(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		want string
	}{
		{KindNIR, "ce champ semble contenir un numéro de sécurité sociale, qui ne doit pas être collecté"},
		{KindBloodGroup, "groupe sanguin"},
		{KindHealth, "santé"},
		{KindOpinion, "religion"},
		{KindCardNumber, "carte bancaire"},
		{KindIBAN, "IBAN"},
	} {
		if got := (Finding{Kind: tc.kind}).Message(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: message %q does not say %q", tc.kind, got, tc.want)
		}
	}
	if len(messages) != len(Kinds) {
		t.Errorf("%d messages for %d kinds", len(messages), len(Kinds))
	}
}

// R04/R05: words compare without case or accents, as people type them.
func TestR04_FoldComparesWithoutCaseOrAccents(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Négatif", "negatif"},
		{"NÉGATIF", "negatif"},
		{"Cœur Æ", "coeur ae"},
		{"Franc-Maçon", "franc-macon"},
		{"de\u0301ja\u0300", "deja"},
		{"déjà plié", "deja plie"},
		{"already folded", "already folded"},
		{"", ""},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
