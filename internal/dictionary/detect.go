package dictionary

// Detectors for the data Vigie must never hold (DESIGN §6, rules R03–R06): social-security numbers
// (NIR), blood groups and health vocabulary, art. 9 opinions, bank card numbers and IBANs. They
// are self-contained (standard library only) so that they can move to a package of their own and
// serve free text (notes, tickets) as well as legacy imports.
//
// Each "Is" function answers for a whole value (a CSV cell); each "Contains" function looks inside
// free text. A checksum (NIR key, Luhn, IBAN mod 97) is what separates a real number from any
// string of digits of the right length, so the detectors never flag a number whose key is wrong.

import (
	"regexp"
	"strings"
	"unicode"
)

// IsNIR reports whether s is a French social-security number (NIR, R03): 15 characters, spaces,
// dots and dashes allowed between them — sex (1, 2, or 3, 4, 7, 8 for provisional numbers), year,
// month (01–12, or 20–42 and 50–99 for births whose month is unknown), département (2A and 2B for
// Corsica), commune, order number, and a key equal to 97 − (the first 13 digits mod 97).
func IsNIR(s string) bool {
	c, ok := compactNIR(s)
	return ok && nirShape(c) && nirKeyValid(c)
}

// ContainsNIR reports whether free text holds a NIR with a valid key.
func ContainsNIR(text string) bool { _, valid := scanNIR(text); return valid > 0 }

// compactNIR removes the separators people type inside a NIR.
func compactNIR(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case isSeparator(r):
		case r >= '0' && r <= '9', r == 'A', r == 'B', r == 'a', r == 'b':
			b.WriteRune(unicode.ToUpper(r))
		default:
			return "", false
		}
		if b.Len() > 15 {
			return "", false
		}
	}
	return b.String(), b.Len() == 15
}

func isSeparator(r rune) bool {
	return r == ' ' || r == '.' || r == '-' || r == '\u00a0' || r == '\u202f'
}

// nirShape checks the structure of a compact 15-character NIR, without its key.
func nirShape(c string) bool {
	if len(c) != 15 || !strings.ContainsRune("123478", rune(c[0])) {
		return false
	}
	for i := 0; i < 15; i++ {
		if (i < 5 || i > 6) && (c[i] < '0' || c[i] > '9') {
			return false
		}
	}
	month := int(c[3]-'0')*10 + int(c[4]-'0')
	if !(month >= 1 && month <= 12 || month >= 20 && month <= 42 || month >= 50 && month <= 99) {
		return false
	}
	dept := c[5:7]
	if dept == "2A" || dept == "2B" {
		return true
	}
	return dept[0] >= '0' && dept[0] <= '9' && dept[1] >= '0' && dept[1] <= '9' && dept != "00"
}

// nirKeyValid computes the key. For Corsica, INSEE replaces 2A by 19 and 2B by 18 in the number.
func nirKeyValid(c string) bool {
	digits := c[:13]
	switch c[5:7] {
	case "2A":
		digits = c[:5] + "19" + c[7:13]
	case "2B":
		digits = c[:5] + "18" + c[7:13]
	}
	var n int64
	for i := 0; i < 13; i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	key := int64(c[13]-'0')*10 + int64(c[14]-'0')
	return key == 97-n%97
}

// scanNIR counts the NIR-shaped numbers in text and those whose key is valid. Comparing the two
// tells a column of NIRs (keys valid) from one of other 15-digit numbers (1 key in 97 valid).
func scanNIR(text string) (shaped, valid int) {
	if countDigits(text) < 13 {
		return 0, 0
	}
	return scanRuns(text, 15, func(run []byte) (bool, bool) {
		if len(run) != 15 || !nirShape(string(run)) {
			return false, false
		}
		return true, nirKeyValid(string(run))
	})
}

// IsCardNumber reports whether s is a payment card number: 13 to 19 digits (spaces or dashes
// allowed), an issuer prefix from 2 to 6 (Mastercard, Amex, Diners, JCB, Visa, CB, Maestro,
// Discover, UnionPay), a valid Luhn check digit, and not one digit repeated.
func IsCardNumber(s string) bool {
	var digits []byte
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == ' ' || r == '-':
		default:
			return false
		}
		if len(digits) > 19 {
			return false
		}
	}
	return cardShape(digits) && luhn(digits)
}

// ContainsCardNumber reports whether free text holds a card number with a valid Luhn digit.
func ContainsCardNumber(text string) bool { _, valid := scanCard(text); return valid > 0 }

func cardShape(d []byte) bool {
	if len(d) < 13 || len(d) > 19 || d[0] < '2' || d[0] > '6' {
		return false
	}
	for _, c := range d {
		if c != d[0] {
			return true
		}
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// scanCard counts card-shaped numbers in text and those passing Luhn. Card numbers are written
// in groups ("4970 1012 3456 7890", Amex "3782 822463 10005"); each group boundary is tried, so a
// card number followed by another number ("… 7890 12 27") is still found.
func scanCard(text string) (shaped, valid int) {
	if countDigits(text) < 13 {
		return 0, 0
	}
	return scanRuns(text, 19, func(run []byte) (bool, bool) {
		for _, c := range run {
			if c < '0' || c > '9' {
				return false, false
			}
		}
		if !cardShape(run) {
			return false, false
		}
		return true, luhn(run)
	})
}

// ibanLengths are the lengths of the IBANs a French broker meets; other countries are checked with
// the general bounds (15 to 34 characters).
var ibanLengths = map[string]int{
	"FR": 27, "MC": 27, "DE": 22, "BE": 16, "ES": 24, "IT": 27, "LU": 20, "CH": 21, "NL": 18,
	"PT": 25, "GB": 22, "IE": 22, "AT": 20,
}

// IsIBAN reports whether s is an IBAN (ISO 13616): country code, two check digits and an account
// number, spaces allowed, whose mod-97 check gives 1. French IBANs (FR, 27 characters) are the
// usual case.
func IsIBAN(s string) bool {
	var b []byte
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '-':
		case r < 128 && (unicode.IsDigit(r) || unicode.IsLetter(r)):
			b = append(b, byte(unicode.ToUpper(r)))
		default:
			return false
		}
		if len(b) > 34 {
			return false
		}
	}
	return ibanShape(b) && ibanMod97(b)
}

// ContainsIBAN reports whether free text holds an IBAN with a valid check.
func ContainsIBAN(text string) bool { _, valid := scanIBAN(text); return valid > 0 }

func ibanShape(b []byte) bool {
	if len(b) < 15 || len(b) > 34 {
		return false
	}
	if b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' || b[2] < '0' || b[2] > '9' || b[3] < '0' || b[3] > '9' {
		return false
	}
	if n, ok := ibanLengths[string(b[:2])]; ok && len(b) != n {
		return false
	}
	return true
}

// ibanMod97 moves the first four characters to the end, reads letters as 10–35, and checks that
// the number is 1 modulo 97, computed digit by digit so that it never overflows.
func ibanMod97(b []byte) bool {
	rearranged := append(append([]byte{}, b[4:]...), b[:4]...)
	rem := 0
	for _, c := range rearranged {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// scanIBAN counts IBAN-shaped strings in text and those with a valid check, trying each group
// boundary so that a word written after the IBAN is not taken as part of it.
func scanIBAN(text string) (shaped, valid int) {
	if len(text) < 15 {
		return 0, 0
	}
	return scanRuns(text, 34, func(run []byte) (bool, bool) {
		if !ibanShape(run) {
			return false, false
		}
		return true, ibanMod97(run)
	})
}

// IsBloodGroup reports whether s states an ABO blood group (R04): with a rhesus ("A+", "O-",
// "AB positif", "0 Rh+") or introduced as a blood group ("groupe O négatif", "groupe sanguin B").
// A bare letter ("A", "B") is not enough: it is as likely a licence or vehicle category.
func IsBloodGroup(s string) bool {
	if len(s) > 60 {
		return false
	}
	return bloodGroupFolded(fold(s))
}

// bloodGroupFolded is IsBloodGroup on text already folded.
func bloodGroupFolded(f string) bool {
	if t := strings.TrimLeft(f, " \t("); t == "" || !strings.ContainsRune("abo0g", rune(t[0])) {
		return false // every blood group starts with its letter, "groupe", "gs" or "blood"
	}
	f = strings.Join(strings.Fields(bloodPunctuation.Replace(f)), " ")
	if len(f) > 40 {
		return false
	}
	introduced := false
	for _, prefix := range []string{"groupe sanguin ", "groupe ", "gs ", "blood group ", "blood type "} {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			f, introduced = rest, true
			break
		}
	}
	if f == "" || !strings.ContainsRune("abo0", rune(f[0])) {
		return false
	}
	m := bloodValue.FindStringSubmatch(f)
	return m != nil && (introduced || m[1] != "")
}

var bloodPunctuation = strings.NewReplacer(":", " ", "(", " ", ")", " ")

var bloodValue = regexp.MustCompile(`^(?:ab|a|b|o|0)(?: ?(?:rh ?)?(\+|-|positif|negatif|pos|neg))?$`)

// bloodInText finds a blood group stated in text: after "sanguin" or "GS", as "groupe" followed
// by a group and a rhesus, or as a rhesus ("rhésus négatif", "O Rh+"). A bare "RH" is left alone:
// it is far more often human resources. Text is folded (lower case, no accents) first.
var bloodInText = regexp.MustCompile(`\b(?:sanguin|gs)\s*:?\s*(?:ab|a|b|o|0)(?:$|[^a-z0-9])|\bgroupe\s+(?:ab|a|b|o|0)\s*(?:\+|-|\b(?:positif|negatif)\b)|\brhesus\s*:?\s*(?:\+|-|\b(?:positif|negatif)\b)|\b(?:ab|a|b|o|0)\s*rh\s*(?:\+|-)`)

// ContainsBloodGroup reports whether free text states a blood group or a rhesus (R04).
func ContainsBloodGroup(text string) bool { return bloodInFolded(fold(text)) }

// bloodInFolded is ContainsBloodGroup on text already folded. Every pattern needs one of these
// words, and looking for them first spares the regular expression most text.
func bloodInFolded(f string) bool {
	if !strings.Contains(f, "sanguin") && !strings.Contains(f, "gs") && !strings.Contains(f, "groupe") && !strings.Contains(f, "rh") {
		return false
	}
	return bloodInText.MatchString(f)
}

// healthTerms are words that reveal health data in free text (R04) and hardly mean anything else
// in a car-insurance CRM. Matched on whole folded words; a trailing "s" or "e" is tolerated.
var healthTerms = wordSet(`diabete diabetique epilepsie epileptique cancer chimiotherapie
	seropositif vih sida hepatite alzheimer parkinson sclerose depression depressif handicap
	handicape invalidite grossesse enceinte hospitalise hospitalisation insuline dialyse infarctus
	avc asthme asthmatique allergie allergique pathologie maladie malade medicament medicaments
	psychiatrique schizophrene bipolaire alcoolique alcoolisme toxicomane cardiaque`)

// opinionTerms are words that reveal art. 9 data other than health (R05): religion, political or
// philosophical opinion, union membership, sexual life.
var opinionTerms = wordSet(`catholique protestant musulman juif juive bouddhiste athee agnostique
	chretien chretienne evangelique pratiquant pratiquante islam judaisme hindou orthodoxe
	syndique syndiquee syndicaliste cgt cfdt homosexuel homosexuelle bisexuel bisexuelle
	lesbienne communiste socialiste ecologiste anarchiste franc-macon`)

// ContainsHealthTerm reports whether free text holds a word that reveals health data (R04).
func ContainsHealthTerm(text string) bool { return containsTerm(fold(text), healthTerms) }

// ContainsOpinionTerm reports whether free text holds a word revealing a religion, an opinion,
// union membership or sexual life (R05).
func ContainsOpinionTerm(text string) bool { return containsTerm(fold(text), opinionTerms) }

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

// containsTerm looks for whole words of terms in folded text.
func containsTerm(folded string, terms map[string]bool) bool {
	for _, w := range strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) {
		w = strings.Trim(w, "-")
		if terms[w] || len(w) > 3 && (terms[strings.TrimSuffix(w, "s")] || terms[strings.TrimSuffix(strings.TrimSuffix(w, "s"), "e")]) {
			return true
		}
	}
	return false
}

// fold lowers s and removes French diacritics, so that "Négatif", "NEGATIF" and "négatif" compare
// equal; "œ" and "æ" become "oe" and "ae".
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'à', 'â', 'ä', 'á', 'ã', 'å':
			b.WriteByte('a')
		case 'ç':
			b.WriteByte('c')
		case 'é', 'è', 'ê', 'ë':
			b.WriteByte('e')
		case 'î', 'ï', 'í', 'ì':
			b.WriteByte('i')
		case 'ô', 'ö', 'ó', 'ò', 'õ':
			b.WriteByte('o')
		case 'ù', 'û', 'ü', 'ú':
			b.WriteByte('u')
		case 'ÿ':
			b.WriteByte('y')
		case 'ñ':
			b.WriteByte('n')
		case 'œ':
			b.WriteString("oe")
		case 'æ':
			b.WriteString("ae")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scanRuns looks for numbers written in groups inside text. Text is cut into runs of ASCII letters
// and digits; from each run, consecutive runs joined by exactly one separator (space, dot, dash,
// no-break space) are concatenated, upper-cased, up to maxLen characters, and check is called at
// each group boundary. It returns how many places had a candidate of the right shape, and how
// many a valid one. Because runs are maximal, a number glued to letters or digits is never taken
// for a shorter one; because each start is tried, a candidate is not lost inside a longer one.
func scanRuns(text string, maxLen int, check func(run []byte) (shaped, valid bool)) (nShaped, nValid int) {
	type span struct{ start, end int }
	var runs []span
	for i := 0; i < len(text); {
		if !isAlnum(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		runs = append(runs, span{i, j})
		i = j
	}
	buf := make([]byte, 0, maxLen+8)
	for i := 0; i < len(runs); {
		buf = buf[:0]
		next := i + 1
		gotShape, gotValid := false, false
		for j := i; j < len(runs); j++ {
			if j > i && !isSeparatorGap(text[runs[j-1].end:runs[j].start]) {
				break
			}
			for k := runs[j].start; k < runs[j].end; k++ {
				c := text[k]
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				buf = append(buf, c)
			}
			if len(buf) > maxLen {
				break
			}
			shaped, valid := check(buf)
			if shaped {
				gotShape, next = true, j+1
			}
			if valid {
				gotValid = true
				break
			}
		}
		if gotShape {
			nShaped++
		}
		if gotValid {
			nValid++
		}
		i = next
	}
	return nShaped, nValid
}

func isSeparatorGap(gap string) bool {
	return gap == " " || gap == "." || gap == "-" || gap == "\u00a0" || gap == "\u202f"
}
