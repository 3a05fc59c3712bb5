package sensitive

// The word detectors: health and art. 9 vocabulary (R04, R05) and blood groups (R04), on text
// folded to lower case without accents.

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// healthTerms reveal health data (R04) and hardly mean anything else in a car-insurance CRM.
// A statement of absence ("pas diabétique") or a vehicle fitted for a disability still says
// something about health: neither negation nor vehicle context exempts a word. "Invalidité" is
// left out: it names a cover of the driver's guarantee that brokers sell.
const healthTerms = `diabete diabetique epilepsie epileptique cancer tumeur chimiotherapie chimio
	radiotherapie seropositif vih sida hepatite alzheimer parkinson sclerose depression depressif
	handicap handicape grossesse enceinte hospitalise hospitalisation insuline dialyse infarctus avc
	asthme asthmatique allergie allergique pathologie maladie malade medicament psychiatrique
	psychiatre schizophrene schizophrenie bipolaire alcoolique alcoolisme toxicomane toxicomanie
	cardiaque autisme autiste myopathie mucoviscidose leucemie apnee obesite`

// opinionTerms reveal art. 9 data other than health (R05): religion, political or philosophical
// opinion, union membership, sexual life or orientation.
const opinionTerms = `catholique protestant musulman musulmane juif juive bouddhiste athee agnostique
	chretien chretienne evangelique islam judaisme hindou orthodoxe mormon jehovah scientologue
	ramadan syndique syndicaliste cgt cfdt cftc unsa homosexuel homosexuelle bisexuel bisexuelle
	lesbienne transgenre heterosexuel communiste socialiste ecologiste anarchiste trotskiste
	royaliste insoumis national macon maconne maconnerie`

// offenceTerms detail offences and convictions (art. 10, DESIGN §6). A quote asks two yes/no
// underwriting questions (licence suspension, cancellation by an insurer); anything more about an
// offence is refused. "Judiciaire" counts only after "casier".
const offenceTerms = `alcoolemie alcootest stupefiant delit delictueux condamnation condamne incarcere
	incarceration emprisonnement prison correctionnel correctionnelle judiciaire`

// bloodWords are the words a blood group is written with, and what each announces.
var bloodWords = map[string]bloodWord{
	"sanguin": bloodSanguin, "sanguine": bloodSanguin, "groupe": bloodGroupe, "gs": bloodGS,
	"rhesus": bloodRhesus, "rh": bloodRh, "positif": bloodSign, "negatif": bloodSign,
}

type bloodWord uint8

const (
	bloodNone    bloodWord = iota
	bloodSanguin           // "sanguin" then a group: "groupe sanguin O", "sanguin : AB"
	bloodGroupe            // "groupe" then a group and a rhesus: "groupe A+", "groupe O négatif"
	bloodGS                // "GS" likewise, or "GS:" and a group: "GS: B"
	bloodRhesus            // "rhésus" then a rhesus: "rhésus négatif", "rhésus +"
	bloodRh                // a group, "Rh" and a sign: "O Rh+"; a bare "RH" is human resources
	bloodSign              // a group then the word: "A négatif", "AB rh positif"
)

// onlyAfter: words that reveal an opinion only right after another word.
var onlyAfter = map[string][]string{
	"national":   {"front", "rassemblement"}, // a party; "national" alone is anything
	"macon":      {"franc", "francs"},        // "franc-maçon"; "Mâcon" is a town
	"maconne":    {"franc"},
	"maconnerie": {"franc"},
	"judiciaire": {"casier"},
}

// notAfter: words that do not count right after another word, where they mean something else.
var notAfter = map[string][]string{
	"enceinte":   {"l", "d", "une", "des", "les", "cette", "son", "ses", "mon", "ma", "votre"}, // a loudspeaker, a wall
	"protestant": {"en"},                                                                       // "en protestant": the verb
	"orthodoxe":  {"peu", "pas"},                                                               // "peu orthodoxe": unusual
}

// term is what a folded word means to the detectors.
type term struct {
	kinds    uint8 // bit of the kind the word reveals, 0 for none
	blood    bloodWord
	after    []string
	notAfter []string
}

// counts reports whether the word counts after the word prev.
func (t term) counts(prev []byte) bool {
	p := string(prev)
	return (t.after == nil || slices.Contains(t.after, p)) && !slices.Contains(t.notAfter, p)
}

var terms = func() map[string]term {
	m := map[string]term{}
	for _, l := range []struct {
		list  string
		kinds uint8
	}{{healthTerms, 1 << iHealth}, {opinionTerms, 1 << iOpinion}, {offenceTerms, 1 << iOffence}} {
		for _, w := range strings.Fields(l.list) {
			m[w] = term{kinds: l.kinds, after: onlyAfter[w], notAfter: notAfter[w]}
		}
	}
	for w, b := range bloodWords {
		t := m[w]
		t.blood = b
		m[w] = t
	}
	return m
}()

// firstAt and lastAt hold, for each word length, the first and last letters a term can have.
var firstAt, lastAt = func() (first, last [maxWord + 1]uint32) {
	for w := range terms {
		for _, form := range []string{w, w + "s", w + "e", w + "es"} {
			if len(form) <= maxWord {
				first[len(form)] |= 1 << (form[0] - 'a')
				last[len(form)] |= 1 << (form[len(form)-1] - 'a')
			}
		}
	}
	return first, last
}()

// maxWord bounds the folded words looked up: the longest term with a plural suffix fits.
const maxWord = 24

// wordScan is what one pass over a text found.
type wordScan struct {
	found     uint8 // kinds found by words: blood groups, and vocabulary in free text
	digits    int   // number of ASCII digits: fewer than 13 hold no NIR and no card number
	ibanStart bool  // two letters then two digits at the start of a run: an IBAN may begin here
}

// scanWords reads text once: it folds each word into a small buffer and looks it up, looks
// around the words blood groups are written with, counts digits, and notes where an IBAN may
// begin. Hyphens and apostrophes separate words ("franc-maçon", "l'enceinte"). It folds inline
// rather than through foldWord, so that each byte is read once.
func scanWords(text string, freeText bool) wordScan {
	var ws wordScan
	var a, b [maxWord]byte
	cur, prev := &a, &b
	prevN := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf && !isLetter(c) {
			if isDigit(c) {
				ws.digits++
			}
			i++
			continue
		}
		start, n := i, 0
		runStart := true // the next ASCII letter begins a run of ASCII letters and digits
		for i < len(text) {
			c := text[i]
			if c < utf8.RuneSelf {
				if !isLetter(c) {
					break
				}
				if runStart {
					runStart = false
					ws.ibanStart = ws.ibanStart || ibanStartAt(text, i)
				}
				if n < maxWord {
					cur[n] = c | 0x20
				}
				n++
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			base, ok := foldLetter(r)
			if !ok {
				break
			}
			i += size
			runStart = true
			if base == "" && !unicode.Is(unicode.Mn, r) {
				n = maxWord + 1 // a letter outside French: no term has it
			}
			for j := 0; j < len(base); j++ {
				if n < maxWord {
					cur[n] = base[j]
				}
				n++
			}
		}
		if i == start { // a symbol outside ASCII
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		if n >= 2 && n <= maxWord {
			if t, ok := lookup(cur[:n]); ok {
				if t.blood != bloodNone && bloodAt(text, start, i, t.blood) {
					ws.found |= 1 << iBlood
				}
				if freeText && t.kinds != 0 && t.counts(prev[:prevN]) {
					ws.found |= t.kinds
				}
			}
		}
		cur, prev = prev, cur
		prevN = n
		if n > maxWord {
			prevN = 0
		}
	}
	return ws
}

// ibanStartAt reports whether the run of ASCII letters and digits beginning at text[i] begins
// like an IBAN: two letters, two digits, and no digit glued before.
func ibanStartAt(text string, i int) bool {
	return (i == 0 || !isDigit(text[i-1])) && i+3 < len(text) &&
		isLetter(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3])
}

// lookup finds a folded word, tolerating a plural "s" and a feminine "e" ("diabétiques",
// "syndiquée"). Most words are no term: a bit set of the first and last letters that terms (and
// their plural and feminine) have at each length turns them away before the map is hashed.
func lookup(w []byte) (term, bool) {
	n := len(w)
	if firstAt[n]&(1<<(w[0]-'a')) == 0 || lastAt[n]&(1<<(w[n-1]-'a')) == 0 {
		return term{}, false
	}
	if t, ok := terms[string(w)]; ok {
		return t, true
	}
	if len(w) <= 3 {
		return term{}, false
	}
	if w[len(w)-1] == 's' {
		w = w[:len(w)-1]
		if t, ok := terms[string(w)]; ok {
			return t, true
		}
	}
	if w[len(w)-1] == 'e' {
		t, ok := terms[string(w[:len(w)-1])]
		return t, ok
	}
	return term{}, false
}

// foldLetter folds one non-ASCII rune of a word: its base letters ("é" → "e", "Œ" → "oe"), ""
// for a combining mark or a letter without a French base, and false for a rune that is not part
// of a word.
func foldLetter(r rune) (string, bool) {
	if base := accentBase(r); base != "" {
		return base, true
	}
	if lower := unicode.ToLower(r); lower != r {
		if base := accentBase(lower); base != "" {
			return base, true
		}
	}
	if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) {
		return "", true
	}
	return "", false
}

// accentBase is the base of a lower-case French letter with a diacritic.
func accentBase(r rune) string {
	switch r {
	case 'à', 'â', 'ä', 'á', 'ã', 'å':
		return "a"
	case 'ç':
		return "c"
	case 'é', 'è', 'ê', 'ë':
		return "e"
	case 'î', 'ï', 'í', 'ì':
		return "i"
	case 'ô', 'ö', 'ó', 'ò', 'õ':
		return "o"
	case 'ù', 'û', 'ü', 'ú':
		return "u"
	case 'ÿ':
		return "y"
	case 'ñ':
		return "n"
	case 'œ':
		return "oe"
	case 'æ':
		return "ae"
	}
	return ""
}

// Fold lowers s and removes French diacritics and combining marks, so that "Négatif", "NEGATIF"
// and "négatif" compare equal; "œ" and "æ" become "oe" and "ae". Text already folded is
// returned as is, without a copy.
func Fold(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s)+8)
	copy(b, s[:i])
	for _, r := range s[i:] {
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r)+'a'-'A')
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case unicode.Is(unicode.Mn, r):
		default:
			r = unicode.ToLower(r)
			if base := accentBase(r); base != "" {
				b = append(b, base...)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return string(b)
}

// IsBloodGroup reports whether a whole value states an ABO blood group (R04): with a rhesus
// ("A+", "O-", "AB positif", "0 Rh+") or introduced as a blood group ("groupe O négatif",
// "groupe sanguin B"). A bare letter ("A", "B") is not enough: it is as likely a licence or
// vehicle category. The legacy audit uses it on CSV cells; in a single field Scan requires the
// words of a blood group, since "A+" alone may be an energy class or a grade.
func IsBloodGroup(s string) bool {
	if len(s) > 60 {
		return false
	}
	f := Fold(s)
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

// bloodAt reports whether the word b, at text[start:end], belongs to a blood group written out.
// It reads the neighbouring characters instead of running a regular expression over the text:
// most notes hold no such word, and those that do ("retour positif", "service RH") are settled
// in a few comparisons. A "-" counts only glued to the group ("A-"), so that "groupe A - urgent"
// is no blood group, nor "groupe A" alone, a vehicle's or a team's.
func bloodAt(text string, start, end int, b bloodWord) bool {
	switch b {
	case bloodSanguin:
		i, _ := skipColon(text, end)
		_, ok := groupAt(text, i)
		return ok
	case bloodGroupe, bloodGS:
		i, colon := skipColon(text, end)
		e, ok := groupAt(text, i)
		return ok && (colon && b == bloodGS || rhesusAfterGroup(text, e))
	case bloodRhesus:
		i, _ := skipColon(text, end)
		return i < len(text) && (text[i] == '+' || text[i] == '-') || rhesusWordAt(text, i, false)
	case bloodRh:
		return end < len(text) && (text[end] == '+' || text[end] == '-') && groupBefore(text, start, 0, 1)
	case bloodSign:
		if groupBefore(text, start, 1, 2) {
			return true
		}
		rh := start - spacesBefore(text, start, 1)
		return rh >= 2 && strings.EqualFold(text[rh-2:rh], "rh") && groupBefore(text, rh-2, 0, 1)
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpaces(text string, i int) int {
	for i < len(text) && isSpace(text[i]) {
		i++
	}
	return i
}

// spacesBefore counts the spaces right before text[i], at most limit.
func spacesBefore(text string, i, limit int) int {
	n := 0
	for n < limit && i-n > 0 && isSpace(text[i-n-1]) {
		n++
	}
	return n
}

// skipColon skips spaces, a colon and spaces after it.
func skipColon(text string, i int) (int, bool) {
	i = skipSpaces(text, i)
	if i < len(text) && text[i] == ':' {
		return skipSpaces(text, i+1), true
	}
	return i, false
}

// isGroup reports whether a run of letters and digits is an ABO group ("0" is often typed for O).
func isGroup(run string) bool {
	switch len(run) {
	case 1:
		return strings.ContainsRune("aAbBoO0", rune(run[0]))
	case 2:
		return strings.EqualFold(run, "ab")
	}
	return false
}

// groupAt returns the end of the group whose word begins at text[i].
func groupAt(text string, i int) (int, bool) {
	e := runEnd(text, i)
	r, _ := utf8.DecodeRuneInString(text[e:])
	return e, e > i && isGroup(text[i:e]) && !unicode.IsLetter(r)
}

// groupBefore reports whether a group ends right before text[i], between min and max spaces
// before it, and begins a word.
func groupBefore(text string, i, minSpaces, maxSpaces int) bool {
	n := spacesBefore(text, i, maxSpaces)
	if n < minSpaces {
		return false
	}
	e := i - n
	s := e
	for s > 0 && isAlnum(text[s-1]) {
		s--
	}
	if s == e || !isGroup(text[s:e]) {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(text[:s])
	return s == 0 || !unicode.IsLetter(r)
}

// rhesusAfterGroup reports whether a rhesus follows a group ending at text[e]: a sign ("A+",
// "A +", "A-") or a word ("A positif", "O neg").
func rhesusAfterGroup(text string, e int) bool {
	switch {
	case e < len(text) && (text[e] == '+' || text[e] == '-'):
		return e+1 == len(text) || !isAlnum(text[e+1])
	case e+1 < len(text) && text[e] == ' ' && text[e+1] == '+':
		return e+2 == len(text) || !isAlnum(text[e+2])
	case e < len(text) && isSpace(text[e]):
		return rhesusWordAt(text, skipSpaces(text, e), true)
	}
	return false
}

// rhesusWordAt reports whether the word at text[i] is "positif" or "négatif" (or, when short,
// "pos" or "neg"), in any case or accents.
func rhesusWordAt(text string, i int, short bool) bool {
	var buf [8]byte
	w, ok := foldWord(text[i:wordEnd(text, i)], buf[:0])
	if !ok {
		return false
	}
	return string(w) == "positif" || string(w) == "negatif" || short && (string(w) == "pos" || string(w) == "neg")
}

// contextWords and contextBytes bound how far before a number context words are looked for.
const (
	contextWords = 4
	contextBytes = 48
)

// contextBefore reports whether one of words is among the last few words written right before
// text[pos:], with no other number in between ("n° de sécu : 2 69 …", "numéro de sécurité
// sociale 1 85…"). It looks back at most contextBytes.
func contextBefore(text string, pos int, words map[string]bool) bool {
	var buf [maxWord]byte
	limit := max(0, pos-contextBytes)
	i := pos
	for range contextWords {
		for i > limit {
			r, size := utf8.DecodeLastRuneInString(text[limit:i])
			if r < utf8.RuneSelf && isDigit(byte(r)) {
				return false
			}
			if isWordRune(r) {
				break
			}
			i -= size
		}
		end := i
		for i > limit {
			r, size := utf8.DecodeLastRuneInString(text[limit:i])
			if !isWordRune(r) {
				break
			}
			i -= size
		}
		if i == end || i == limit && limit > 0 {
			return false // nothing left, or a word cut by the limit
		}
		if w, ok := foldWord(text[i:end], buf[:0]); ok && words[string(w)] {
			return true
		}
	}
	return false
}

// isWordRune tells the runes words are made of: letters and combining marks.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isLetter(byte(r))
	}
	_, ok := foldLetter(r)
	return ok
}

// wordEnd returns the end of the word that begins at text[i].
func wordEnd(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}

// foldWord appends the folded word w to buf, within its capacity; false when it does not fit or
// holds a letter outside French.
func foldWord(w string, buf []byte) ([]byte, bool) {
	for _, r := range w {
		if r < utf8.RuneSelf {
			if len(buf) == cap(buf) {
				return buf, false
			}
			buf = append(buf, byte(r)|0x20)
			continue
		}
		base, _ := foldLetter(r)
		if base == "" && !unicode.Is(unicode.Mn, r) || len(buf)+len(base) > cap(buf) {
			return buf, false
		}
		buf = append(buf, base...)
	}
	return buf, true
}

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}
