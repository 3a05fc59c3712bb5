package dictionary

import (
	"fmt"
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
	switch s[5:7] {
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

func TestR03_IsNIR(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  bool
	}{
		{"public INSEE example", "2 55 08 14 168 025 38", true},
		{"man born in Yvelines, compact", withNIRKey("1850578006084"), true},
		{"same with dots", "1.85.05.78.006.084.91", true},
		{"same with dashes", "1-85-05-78-006-084-91", true},
		{"no-break spaces", "1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a091", true},
		{"woman born in Paris", withNIRKey("2690575115011"), true},
		{"Corse-du-Sud 2A", withNIRKey("176032A004123"), true},
		{"Corse-du-Sud, lower case", strings.ToLower(withNIRKey("176032A004123")), true},
		{"Haute-Corse 2B", withNIRKey("281112B123456"), true},
		{"2A with the key computed as if 2A were 20", "176032A00412350", false},
		{"2B with the key computed as if 2B were 20", "281112B12345654", false},
		{"unknown month 35", withNIRKey("1853575056047"), true},
		{"unknown month 99", withNIRKey("2850599350123"), true},
		{"provisional number (7)", withNIRKey("7950399123456"), true},
		{"foreign-born in process (3)", withNIRKey("3850578006084"), true},
		{"born abroad (département 99)", withNIRKey("2015199123321"), true},
		{"wrong key", "1 85 05 78 006 084 92", false},
		{"key 00 never exists", "185057800608400", false},
		{"month 13", withNIRKey("1851378006084"), false},
		{"month 00", withNIRKey("1850078006084"), false},
		{"month 45", withNIRKey("1854578006084"), false},
		{"sex 5", withNIRKey("5850578006084"), false},
		{"département 00", withNIRKey("1850500006084"), false},
		{"14 digits", "18505780060849", false},
		{"16 digits", "1850578006084910", false},
		{"letters elsewhere", "1850578006O8491", false},
		{"2C is not Corsica", "176032C00412377", false},
		{"phone number", "06 12 34 56 78", false},
		{"empty", "", false},
		{"text around", "NIR 185057800608491", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsNIR(tc.value); got != tc.want {
				t.Errorf("IsNIR(%q) = %t, want %t", tc.value, got, tc.want)
			}
		})
	}
}

func TestR06_ContainsNIR(t *testing.T) {
	nir := withNIRKey("2690575115011")
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"alone", nir, true},
		{"in a sentence", "Le client a donné son n° de sécu " + nir + " au téléphone.", true},
		{"spaced in a sentence", "sécu : 2 69 05 75 115 011 37, à supprimer", true},
		{"after a colon", "NIR:" + nir, true},
		{"after a phone number", "tel 06 12 34 56 78 puis " + nir, true},
		{"Corsica in text", "né à Ajaccio, " + withNIRKey("176032A004123") + ".", true},
		{"glued to letters", "ref" + nir, false},
		{"inside a longer number", "9" + nir + "9", false},
		{"wrong key", "sécu 2 69 05 75 115 011 38", false},
		{"no number", "Rappeler lundi pour le devis", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContainsNIR(tc.text); got != tc.want {
				t.Errorf("ContainsNIR(%q) = %t, want %t", tc.text, got, tc.want)
			}
		})
	}
}

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

func TestR04_ContainsBloodGroup(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Groupe sanguin O+ noté lors du sinistre", true},
		{"gs : AB-", true},
		{"client de groupe A négatif", true},
		{"rhésus négatif", true},
		{"a un rhésus +", true},
		{"le groupe A de prospects", false},
		{"voir avec le service RH - urgent", false},
		{"prime de 450 €, bonus 0,50", false},
	} {
		if got := ContainsBloodGroup(tc.text); got != tc.want {
			t.Errorf("ContainsBloodGroup(%q) = %t, want %t", tc.text, got, tc.want)
		}
	}
}

func TestR04_R05_SensitiveTerms(t *testing.T) {
	for _, tc := range []struct {
		text           string
		health, belief bool
	}{
		{"Client diabétique, attention", true, false},
		{"Hospitalisée en mars", true, false},
		{"Pratiquant catholique, ne pas appeler le dimanche", false, true},
		{"Syndiqué CGT", false, true},
		{"Véhicule de fonction, rappeler après 18 h", false, false},
		{"Traitement de la demande en cours", false, false},
	} {
		if got := ContainsHealthTerm(tc.text); got != tc.health {
			t.Errorf("ContainsHealthTerm(%q) = %t, want %t", tc.text, got, tc.health)
		}
		if got := ContainsOpinionTerm(tc.text); got != tc.belief {
			t.Errorf("ContainsOpinionTerm(%q) = %t, want %t", tc.text, got, tc.belief)
		}
	}
}

func TestR06_IsCardNumber(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  bool
	}{
		{"Visa 16", "4970101234567893", true},
		{"Visa grouped", "4970 1012 3456 7893", true},
		{"Visa dashes", "4970-1012-3456-7893", true},
		{"Visa 13", "4111111111119", true},
		{"Mastercard", "5370 1234 5678 9016", true},
		{"Amex 15", "3782 822463 10005", true},
		{"Discover", "6011000999900016", true},
		{"UnionPay 18", "621234567890123457", true},
		{"Luhn fails", "4970 1012 3456 7894", false},
		{"12 digits", "497010123456", false},
		{"20 digits", "49701012345678930000", false},
		{"prefix 1", "1234567890123452", false},
		{"prefix 9", "9970101234567891", false},
		{"all zeros pass Luhn but are no card", "0000000000000000", false},
		{"all fours", "4444444444444444", false},
		{"letters", "4970 1012 3456 789A", false},
		{"phone", "+33612345678", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsCardNumber(tc.value); got != tc.want {
				t.Errorf("IsCardNumber(%q) = %t, want %t", tc.value, got, tc.want)
			}
		})
	}
}

func TestR06_ContainsCardNumber(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"payé par carte 4970 1012 3456 7893 exp 12 27", true},
		{"CB:4970101234567893.", true},
		{"Amex 3782 822463 10005 du client", true},
		{"dossier 4970101234567894", false},
		{"tel 06 12 34 56 78 et 01 23 45 67 89", false},
		{"réf X4970101234567893", false},
	} {
		if got := ContainsCardNumber(tc.text); got != tc.want {
			t.Errorf("ContainsCardNumber(%q) = %t, want %t", tc.text, got, tc.want)
		}
	}
}

func TestR06_IsIBAN(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  bool
	}{
		{"French IBAN compact", "FR7630006000011234567890189", true},
		{"French IBAN grouped", "FR76 3000 6000 0112 3456 7890 189", true},
		{"French IBAN lower case", "fr76 3000 6000 0112 3456 7890 189", true},
		{"French IBAN with a letter in the account", "FR69 2004 1010 0505 0001 300M 026", true},
		{"German IBAN", "DE89 3704 0044 0532 0130 00", true},
		{"Belgian IBAN", "BE68 5390 0754 7034", true},
		{"wrong check digits", "FR7730006000011234567890189", false},
		{"one digit changed", "FR7630006000011234567890188", false},
		{"French IBAN too short", "FR763000600001123456789018", false},
		{"no country", "7630006000011234567890189", false},
		{"too short for any country", "FR7630006", false},
		{"punctuation", "FR76.3000.6000.0112.3456.7890.189", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsIBAN(tc.value); got != tc.want {
				t.Errorf("IsIBAN(%q) = %t, want %t", tc.value, got, tc.want)
			}
		})
	}
}

func TestR06_ContainsIBAN(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"IBAN : FR76 3000 6000 0112 3456 7890 189 merci", true},
		{"rib FR7630006000011234567890189.", true},
		{"IBAN FR76 3000 6000 0112 3456 7890 188", false},
		{"aucun rib", false},
	} {
		if got := ContainsIBAN(tc.text); got != tc.want {
			t.Errorf("ContainsIBAN(%q) = %t, want %t", tc.text, got, tc.want)
		}
	}
}

// The key is what tells NIRs from other numbers: among random 15-digit numbers of the right
// shape, about one in 97 has a valid key. scanNIR reports both counts so that the audit can tell.
func TestR03_ScanNIRCountsShapeAndKey(t *testing.T) {
	shaped, valid := scanNIR("1 85 05 78 006 084 91 / 1 85 05 78 006 084 92 / 06 12 34 56 78")
	if shaped != 2 || valid != 1 {
		t.Errorf("scanNIR: shaped %d valid %d, want 2 and 1", shaped, valid)
	}
}

func FuzzIsNIR(f *testing.F) {
	for _, s := range []string{"2 55 08 14 168 025 38", "176032A00412377", "", "2A2B", "1-85-05-78-006-084-91"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsNIR(s) {
			if c, _ := compactNIR(s); !ContainsNIR(c) {
				t.Errorf("IsNIR(%q) but not ContainsNIR(%q)", s, c)
			}
		}
	})
}

func FuzzIsBloodGroup(f *testing.F) {
	for _, s := range []string{"A+", "groupe O négatif", "", "ABBA", "Rh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		IsBloodGroup(s)
		ContainsBloodGroup(s)
		ContainsHealthTerm(s)
		ContainsOpinionTerm(s)
	})
}

func FuzzIsCardNumber(f *testing.F) {
	for _, s := range []string{"4970 1012 3456 7893", "", "0000000000000", "4-4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsCardNumber(s) {
			digits := strings.Map(func(r rune) rune {
				if r == ' ' || r == '-' {
					return -1
				}
				return r
			}, s)
			if !ContainsCardNumber(digits) {
				t.Errorf("IsCardNumber(%q) but not ContainsCardNumber(%q)", s, digits)
			}
		}
	})
}

func FuzzIsIBAN(f *testing.F) {
	for _, s := range []string{"FR76 3000 6000 0112 3456 7890 189", "", "ZZ00", "fr7630006000011234567890189"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		IsIBAN(s)
		ContainsIBAN(s)
	})
}
