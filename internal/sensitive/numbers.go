package sensitive

// The checksum detectors: NIR (R03), card numbers and IBANs (R06). Numbers are written in groups
// ("2 55 08 14 168 025 38", "4970 1012 3456 7893", "FR76 3000 6000 0112 3456 7890 189"), so they
// are looked for across runs of letters and digits joined by a single separator.

// CountNIR counts the NIR-shaped numbers in text and those whose key is valid. Comparing the two
// tells a column of NIRs (keys valid) from one of other 15-digit numbers (1 key in 97 valid).
func CountNIR(text string) (shaped, valid int) {
	if countDigits(text) < 13 {
		return 0, 0
	}
	s, v := scanNumbers(text, 1<<numNIR, false)
	return s[numNIR], v[numNIR]
}

// CountCardNumbers counts the card-shaped numbers in text (an issuer's prefix and length) and
// those whose Luhn digit is valid.
func CountCardNumbers(text string) (shaped, valid int) {
	if countDigits(text) < 13 {
		return 0, 0
	}
	s, v := scanNumbers(text, 1<<numCard, false)
	return s[numCard], v[numCard]
}

// CountIBANs counts the IBAN-shaped strings in text (a country and its IBAN length) and those
// whose mod-97 check is valid.
func CountIBANs(text string) (shaped, valid int) {
	if len(text) < 15 {
		return 0, 0
	}
	s, v := scanNumbers(text, 1<<numIBAN, false)
	return s[numIBAN], v[numIBAN]
}

type numberKind uint8

const (
	numNIR numberKind = iota
	numCard
	numIBAN
	numKinds
)

// maxLen is the longest candidate of each kind, separators removed.
var maxLen = [numKinds]int{numNIR: 15, numCard: 19, numIBAN: 34}

// scanNumbers looks for numbers of the kinds in the bit set inside text, in one pass. Text is cut
// into runs of ASCII letters and digits; from each run that can begin a number of a kind,
// consecutive runs joined by exactly one separator (space, dot, dash, no-break space) are
// concatenated, upper-cased, up to the kind's longest, and checked at each group boundary. It
// returns, per kind, how many places held a candidate of the right shape, and how many a valid
// one. Because runs are maximal, a number glued to letters or digits is never taken for a shorter
// one; because each start is tried, a candidate is not lost inside a longer one ("tel 06 12 34
// 56 78 185…").
//
// detect is Scan's mode: it stops looking for a kind at its first valid number and applies the
// context rules (a mistyped NIR after "sécu", a SIRET); the counting mode of the legacy audit
// goes by checksums alone, since it judges a whole column.
func scanNumbers(text string, kinds uint8, detect bool) (shaped, valid [numKinds]int) {
	// Counting skips, for a kind, the runs a shaped candidate used, so that a number is counted
	// once; detecting tries every run, so that a number is not lost after an invalid one that
	// swallowed its first groups.
	var resume [numKinds]int
	for i := 0; i < len(text) && kinds != 0; {
		if !isAlnum(text[i]) {
			i++
			continue
		}
		start, end := i, runEnd(text, i)
		for k := range numKinds {
			if kinds&(1<<k) == 0 || start < resume[k] || !canStart(k, text[start:end]) {
				continue
			}
			s, v, next := candidateAt(text, start, end, k, detect)
			if s {
				shaped[k]++
			}
			if v {
				valid[k]++
				if detect {
					kinds &^= 1 << k
				}
			}
			if !detect {
				resume[k] = next
			}
		}
		i = end
	}
	return shaped, valid
}

// candidateAt assembles the candidates of kind k that begin with the run text[start:end] and
// checks each: whether one had the shape of the kind, whether one was valid, and where the
// shaped candidate ended (end when none).
func candidateAt(text string, start, end int, k numberKind, detect bool) (gotShape, gotValid bool, next int) {
	var arr [34]byte
	buf := arr[:0]
	next = end
	for js, je := start, end; ; {
		if len(buf)+je-js > maxLen[k] {
			return gotShape, false, next
		}
		for p := js; p < je; p++ {
			c := text[p]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			buf = append(buf, c)
		}
		shaped, valid := check(k, buf, text, start, detect)
		if shaped {
			gotShape, next = true, je
		}
		if valid {
			return gotShape, true, next
		}
		n := separatorLen(text, je)
		if n == 0 || je+n >= len(text) || !isAlnum(text[je+n]) {
			return gotShape, false, next
		}
		js = je + n
		je = runEnd(text, js)
	}
}

// canStart tells a run that can begin a number of the kind: a NIR begins with its sex digit, a card
// number with an issuer digit, an IBAN with a country code and its check digits.
func canStart(k numberKind, run string) bool {
	switch k {
	case numNIR:
		return run[0] >= '1' && run[0] <= '8'
	case numCard:
		return run[0] >= '2' && run[0] <= '6'
	}
	return len(run) >= 4 && isLetter(run[0]) && isLetter(run[1]) && isDigit(run[2]) && isDigit(run[3])
}

// check judges one candidate; start is where it begins in text, for the context rules.
func check(k numberKind, c []byte, text string, start int, detect bool) (shaped, valid bool) {
	switch k {
	case numNIR:
		switch len(c) {
		case 15:
			if !nirShape(c) {
				return false, false
			}
			// People mistype keys: after "sécu" or "NIR" a NIR-shaped number is a NIR anyway.
			return true, nirKeyValid(c) || detect && contextBefore(text, start, nirContext)
		case 13:
			// The 13 digits without their key, when the text says what they are.
			if detect && nirShape(c) && contextBefore(text, start, nirContext) {
				return true, true
			}
		}
		return false, false
	case numCard:
		if !cardShape(c) {
			return false, false
		}
		// A SIRET (14 digits) passes Luhn by construction and may begin like a Diners card.
		return true, luhn(c) && !(detect && contextBefore(text, start, siretContext))
	}
	if !ibanShape(c) {
		return false, false
	}
	return true, ibanMod97(c)
}

// nirContext are the words that say a number is a social-security number ("n° de sécu", "sécurité
// sociale", "n° SS", "NIR", "INSEE", "carte Vitale"), folded.
var nirContext = wordSet(`secu sociale social ss nss nir insee vitale`)

// siretContext are the words that label a company number, which Luhn alone would take for a card.
var siretContext = wordSet(`siret siren`)

// nirShape checks the structure of a compact NIR of 13 or 15 characters, without its key: sex (1,
// 2, or 3, 4, 7, 8 for temporary numbers), year, month (01–12, or 20–42 and 50–99 for births
// whose month is unknown), département (01–99, 2A and 2B for Corsica), commune, order number.
func nirShape(c []byte) bool {
	switch c[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return false
	}
	for i := range c {
		if (i < 5 || i > 6) && !isDigit(c[i]) {
			return false
		}
	}
	month := int(c[3]-'0')*10 + int(c[4]-'0')
	if !(month >= 1 && month <= 12 || month >= 20 && month <= 42 || month >= 50 && month <= 99) {
		return false
	}
	d0, d1 := c[5], c[6]
	if d0 == '2' && (d1 == 'A' || d1 == 'B') {
		return true
	}
	return isDigit(d0) && isDigit(d1) && !(d0 == '0' && d1 == '0')
}

// nirKeyValid checks the key of a compact, NIR-shaped 15-character number: 97 − (the first 13
// digits mod 97). For Corsica, INSEE reads 2A as 19 and 2B as 18.
func nirKeyValid(c []byte) bool {
	var n int64
	for i := 0; i < 13; i++ {
		d := int64(c[i] - '0')
		if corsica := c[6] == 'A' || c[6] == 'B'; corsica && i == 5 {
			d = 1
		} else if corsica && i == 6 {
			d = 9 - int64(c[6]-'A')
		}
		n = n*10 + d
	}
	return int64(c[13]-'0')*10+int64(c[14]-'0') == 97-n%97
}

// cardShape checks that digits look like a payment card number: an issuer's prefix with a
// length that issuer uses, and not one digit repeated. Requiring the issuer's length, not just
// 13 to 19 digits, keeps out most references and policy numbers that pass Luhn by chance (1 in 10).
func cardShape(d []byte) bool {
	n := len(d)
	if n < 13 || n > 19 {
		return false
	}
	same := true
	for _, c := range d {
		if !isDigit(c) {
			return false
		}
		same = same && c == d[0]
	}
	if same {
		return false
	}
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa, and the French CB co-badged on it
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55 || p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p2 == 36 || p2 == 38 || p2 == 39 || p4 >= 3000 && p4 <= 3059: // Diners Club
		return n >= 14
	case p4 >= 3528 && p4 <= 3589, p2 == 62, p4 == 6011, p2 == 65, p4 >= 6440 && p4 <= 6499: // JCB, UnionPay, Discover
		return n >= 16
	case p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 || p4 >= 6761 && p4 <= 6763: // Maestro
		return true
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

// ibanLengths is the IBAN length of each country of the SWIFT IBAN registry. An unknown country
// or another length is no IBAN, which keeps out references that merely start with two letters.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

func ibanShape(b []byte) bool {
	if len(b) < 15 || !isLetter(b[0]) || !isLetter(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) {
		return false
	}
	return ibanLengths[string(b[:2])] == len(b)
}

// ibanMod97 reads the number with its first four characters moved to the end and letters as
// 10–35, and checks that it is 1 modulo 97, digit by digit so that it never overflows.
func ibanMod97(b []byte) bool {
	rem := 0
	for i := range b {
		c := b[(i+4)%len(b)]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

func runEnd(text string, i int) int {
	for i < len(text) && isAlnum(text[i]) {
		i++
	}
	return i
}

// separatorLen is the length of the separator people type between the groups of a number at
// text[i:] (space, dot, dash, no-break or narrow no-break space), 0 if there is none.
func separatorLen(text string, i int) int {
	switch {
	case i >= len(text):
		return 0
	case text[i] == ' ' || text[i] == '.' || text[i] == '-':
		return 1
	case len(text) >= i+2 && text[i:i+2] == "\u00a0":
		return 2
	case len(text) >= i+3 && text[i:i+3] == "\u202f":
		return 3
	}
	return 0
}
