// Package password decides whether a staff password is strong enough (rule R12), following the
// CNIL's deliberation 2022-100: a password used alone must reach about 80 bits of entropy, and
// must not be common or predictable. Check returns the refusal as a field error whose message says
// why in French and how to do better; it never repeats the password.
package password

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"

	"vigie/internal/dictionary"
)

// MaxLength bounds a password: long enough for any passphrase, short enough that estimating its
// strength and hashing it stay cheap.
const MaxLength = 128

// MinScore is the zxcvbn score a password must reach: 4, "very unguessable" (about 10^8 s of
// guessing at zxcvbn's rate), the top of the scale. The length rules already guarantee the
// entropy of a random password; this refuses the long ones an attacker's dictionary finds first.
const MinScore = 4

// Field is the name refusals carry.
const Field = "password"

// Refusal rules, stable codes for API clients and tests.
const (
	RuleLength    = "password.length"
	RuleMaxLength = "password.max_length"
	RuleGuessable = "password.guessable"
	RulePersonal  = "password.personal"
)

// Messages in French: why, and how to fix.
const (
	msgLength = "trop court ou pas assez varié : au moins 12 caractères avec majuscules, minuscules, chiffres et caractères spéciaux, " +
		"ou 14 avec trois de ces types, ou 16 avec deux, ou une phrase de passe d'au moins 20 caractères"
	msgMaxLength = "trop long : 128 caractères au plus"
	msgGuessable = "mot de passe trop courant ou prévisible (suite de clavier, mot du dictionnaire, prénom, date, répétition) : " +
		"assemblez plusieurs mots sans rapport entre eux, ou des caractères tirés au hasard"
	msgPersonal = "le mot de passe ne doit contenir ni votre nom ni votre adresse e-mail"
)

//go:embed common_fr.txt
var commonFrench string

// frenchWords are common French passwords and words, most frequent first; zxcvbn's own lists are
// English, so they are given to it as extra dictionary words.
var frenchWords = func() []string {
	var out []string
	for _, line := range strings.Split(commonFrench, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}()

// Check accepts a password or says why not. userInputs are what an attacker would try first for
// this person: their e-mail address and display name; a password containing them is refused.
func Check(pw string, userInputs ...string) *dictionary.FieldError {
	n := utf8.RuneCountInString(pw)
	if n > MaxLength {
		return &dictionary.FieldError{Field: Field, Rule: RuleMaxLength, Message: msgMaxLength}
	}
	if !longEnough(n, kinds(pw)) {
		return &dictionary.FieldError{Field: Field, Rule: RuleLength, Message: msgLength}
	}
	personal := personalWords(userInputs)
	lower := strings.ToLower(pw)
	for _, w := range personal {
		if strings.Contains(lower, w) {
			return &dictionary.FieldError{Field: Field, Rule: RulePersonal, Message: msgPersonal}
		}
	}
	words := append(personal, frenchWords...)
	if zxcvbn.PasswordStrength(pw, words).Score < MinScore {
		return &dictionary.FieldError{Field: Field, Rule: RuleGuessable, Message: msgGuessable}
	}
	return nil
}

// longEnough is the deliberation's table for a password used alone (≈ 80 bits): 12 characters of
// four kinds, 14 of three, 16 of two, or a passphrase of 20.
func longEnough(length, kinds int) bool {
	switch {
	case length >= 20:
		return true
	case length >= 16:
		return kinds >= 2
	case length >= 14:
		return kinds >= 3
	case length >= 12:
		return kinds >= 4
	}
	return false
}

// kinds counts the kinds of characters used: upper case, lower case, digits, others.
func kinds(pw string) int {
	var upper, lower, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			n++
		}
	}
	return n
}

// personalWords splits the user's e-mail and name into the words a password must not contain:
// the e-mail's local part and its pieces, the name's words, each of 4 characters or more.
func personalWords(inputs []string) []string {
	var out []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= 4 {
			out = append(out, w)
		}
	}
	for _, in := range inputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if local, _, ok := strings.Cut(in, "@"); ok {
			add(local)
			in = local
		}
		for _, w := range strings.FieldsFunc(in, func(r rune) bool { return !unicode.IsLetter(r) }) {
			add(w)
		}
	}
	return out
}
