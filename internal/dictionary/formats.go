package dictionary

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// A format checks and normalises a value beyond its SQL type. Formats are named in the dictionary
// ("format": "email"), so a new column gets its check by declaring it.
type format func(c *Column, v any, now time.Time) (any, *FieldError)

var formats = map[string]format{
	"email":            formatEmail,
	"phone_fr":         formatPhoneFR,
	"postal_code":      formatPostalCode,
	"departement":      formatDepartement,
	"plate":            formatPlate,
	"name":             formatName,
	"birth_date_adult": formatBirthDateAdult,
	"past_date":        formatPastDate,
	"past_time":        formatPastTime,
	"not_future_year":  formatNotFutureYear,
}

func knownFormat(name string) bool { _, ok := formats[name]; return ok }

func formatEmail(c *Column, v any, _ time.Time) (any, *FieldError) {
	s := v.(string)
	addr, err := mail.ParseAddress(s)
	local, domain, _ := strings.Cut(s, "@")
	if err != nil || addr.Name != "" || addr.Address != s || len(local) > 64 ||
		!strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(s, " <>\"") {
		return nil, fieldErr(c, "format.email", "adresse e-mail invalide (exemple : prenom.nom@exemple.fr)")
	}
	return local + "@" + strings.ToLower(domain), nil
}

// frenchNumber reads "06 12 34 56 78", "06.12.34.56.78", "0612345678" or "+33 6 12 34 56 78" as
// the national number 612345678; international tells whether it was written with +33. Anything
// else is left to Parse.
func frenchNumber(s string) (national uint64, international, ok bool) {
	var digits [12]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9' || ch == '+' && i == 0:
			if n == len(digits) {
				return 0, false, false
			}
			digits[n] = ch
			n++
		case ch != ' ' && ch != '.' && ch != '-':
			return 0, false, false
		}
	}
	var rest []byte
	switch {
	case n == 10 && digits[0] == '0' && digits[1] != '0':
		rest = digits[1:10]
	case n == 12 && string(digits[:3]) == "+33" && digits[3] != '0':
		rest, international = digits[3:12], true
	default:
		return 0, false, false
	}
	national, err := strconv.ParseUint(string(rest), 10, 64)
	return national, international, err == nil
}

// validFR tells whether libphonenumber deems a French national number of nine digits valid. Every
// French pattern of its metadata is decided by the number's first five digits
// (TestPhonePrefixDecidesValidity), so the answer is asked once per prefix and remembered: the
// regular expressions behind it were most of the time of a phone number's check in an import.
func validFR(national uint64) bool {
	prefix := national / 10000 // 100000000 ≤ national < 1000000000 (frenchNumber)
	word, bit := prefix/64, uint64(1)<<(prefix%64)
	if frPrefixKnown[word].Load()&bit != 0 {
		return frPrefixValid[word].Load()&bit != 0
	}
	cc, nn := int32(33), national
	valid := phonenumbers.IsValidNumberForRegion(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}, "FR")
	if valid {
		frPrefixValid[word].Or(bit)
	}
	frPrefixKnown[word].Or(bit)
	return valid
}

// frPrefixKnown and frPrefixValid are bit sets over the five-digit prefixes of validFR: whether
// the prefix was asked, and the answer. The answer is set before the prefix is marked known.
var frPrefixKnown, frPrefixValid [100000/64 + 1]atomic.Uint64

// frenchRegions are the numbering regions of metropolitan France and its overseas départements.
var frenchRegions = []string{"FR", "GP", "MQ", "GF", "RE", "YT"}

// formatPhoneFR accepts a French number in any usual writing: international (+33, +590…) or
// national, where an overseas number (0690…) is national to its own numbering region.
func formatPhoneFR(c *Column, v any, _ time.Time) (any, *FieldError) {
	// The usual spellings skip Parse, a chain of regular expressions that took a third of a
	// legacy import's validation; the number is checked the same way
	// (TestPhoneFastPathAgreesWithParse).
	if national, international, ok := frenchNumber(v.(string)); ok {
		if validFR(national) {
			return "+33" + strconv.FormatUint(national, 10), nil
		}
		// Written nationally, an overseas number has its own region's country code; written
		// with +33, it is not one.
		if !international {
			for _, region := range frenchRegions[1:] {
				cc, nn := int32(phonenumbers.GetCountryCodeForRegion(region)), national
				if phonenumbers.IsValidNumberForRegion(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}, region) {
					return "+" + strconv.Itoa(int(cc)) + strconv.FormatUint(national, 10), nil
				}
			}
		}
		return nil, phoneError(c)
	}
	for _, region := range frenchRegions {
		num, err := phonenumbers.Parse(v.(string), region)
		if err != nil {
			break
		}
		if phonenumbers.IsValidNumberForRegion(num, region) {
			return phonenumbers.Format(num, phonenumbers.E164), nil
		}
	}
	return nil, phoneError(c)
}

func phoneError(c *Column) *FieldError {
	return fieldErr(c, "format.phone_fr", "numéro de téléphone français invalide (exemple : 06 12 34 56 78)")
}

// Departements lists the codes of the French départements, Corsica and overseas included.
var Departements = func() map[string]bool {
	m := map[string]bool{"2A": true, "2B": true, "971": true, "972": true, "973": true, "974": true, "976": true}
	for i := 1; i <= 95; i++ {
		if i != 20 {
			m[twoDigits(i)] = true
		}
	}
	return m
}()

func twoDigits(i int) string { return string([]byte{byte('0' + i/10), byte('0' + i%10)}) }

func formatDepartement(c *Column, v any, _ time.Time) (any, *FieldError) {
	s := strings.ToUpper(v.(string))
	if len(s) == 1 {
		s = "0" + s
	}
	if !Departements[s] {
		return nil, fieldErr(c, "format.departement", "département inconnu (exemples : 01, 2A, 75, 974)")
	}
	return s, nil
}

var postalCode = regexp.MustCompile(`^\d{5}$`)

// DepartementOfPostalCode returns the département a postal code belongs to ("" when none does).
func DepartementOfPostalCode(pc string) string {
	if !postalCode.MatchString(pc) {
		return ""
	}
	switch {
	case pc[:2] == "20":
		if pc < "20200" {
			return "2A"
		}
		return "2B"
	case pc[:2] == "97":
		if Departements[pc[:3]] {
			return pc[:3]
		}
		return ""
	case Departements[pc[:2]]:
		return pc[:2]
	}
	return ""
}

func formatPostalCode(c *Column, v any, _ time.Time) (any, *FieldError) {
	if DepartementOfPostalCode(v.(string)) == "" {
		return nil, fieldErr(c, "format.postal_code", "code postal français invalide (5 chiffres, exemple : 69003)")
	}
	return v, nil
}

var (
	plateSIV = regexp.MustCompile(`^[A-HJ-NP-TV-Z]{2}[0-9]{3}[A-HJ-NP-TV-Z]{2}$`)
	plateFNI = regexp.MustCompile(`^([0-9]{1,4})([A-Z]{1,3})([0-9]{2}|2A|2B|97[1-6])$`)
)

// NormalisePlate returns a French registration plate in its canonical form (AB-123-CD for the SIV
// system since 2009, "1234 AB 56" for the older FNI), or "" when it is neither.
func NormalisePlate(s string) string {
	compact := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
	if plateSIV.MatchString(compact) {
		return compact[:2] + "-" + compact[2:5] + "-" + compact[5:]
	}
	if m := plateFNI.FindStringSubmatch(compact); m != nil {
		return m[1] + " " + m[2] + " " + m[3]
	}
	return ""
}

func formatPlate(c *Column, v any, _ time.Time) (any, *FieldError) {
	p := NormalisePlate(v.(string))
	if p == "" {
		return nil, fieldErr(c, "format.plate", "immatriculation invalide (exemple : AB-123-CD)")
	}
	return p, nil
}

func formatName(c *Column, v any, _ time.Time) (any, *FieldError) {
	s := v.(string)
	letters := 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.':
		default:
			return nil, fieldErr(c, "format.name", "seuls les lettres, espaces, traits d'union et apostrophes sont admis")
		}
	}
	if letters == 0 {
		return nil, fieldErr(c, "format.name", "au moins une lettre est attendue")
	}
	return s, nil
}

func formatBirthDateAdult(c *Column, v any, now time.Time) (any, *FieldError) {
	d, _ := time.Parse(DateLayout, v.(string))
	switch {
	case d.After(now):
		return nil, fieldErr(c, "format.birth_date_future", "la date de naissance est dans le futur")
	case d.AddDate(18, 0, 0).After(now):
		return nil, fieldErr(c, "format.birth_date_adult", "le conducteur ou souscripteur doit avoir au moins 18 ans")
	case d.Year() < now.Year()-120:
		return nil, fieldErr(c, "format.birth_date_range", "date de naissance invraisemblable (plus de 120 ans)")
	}
	return v, nil
}

func formatPastDate(c *Column, v any, now time.Time) (any, *FieldError) {
	d, _ := time.Parse(DateLayout, v.(string))
	if d.After(now) {
		return nil, fieldErr(c, "format.past_date", "la date ne peut pas être dans le futur")
	}
	if d.Year() < 1900 {
		return nil, fieldErr(c, "format.past_date", "date invraisemblable (avant 1900)")
	}
	return v, nil
}

func formatPastTime(c *Column, v any, now time.Time) (any, *FieldError) {
	if v.(time.Time).After(now.Add(5 * time.Minute)) {
		return nil, fieldErr(c, "format.past_time", "la date ne peut pas être dans le futur")
	}
	return v, nil
}

func formatNotFutureYear(c *Column, v any, now time.Time) (any, *FieldError) {
	if v.(int64) > int64(now.Year()+1) {
		return nil, fieldErr(c, "format.not_future_year", "l'année ne peut pas dépasser l'année prochaine")
	}
	return v, nil
}
