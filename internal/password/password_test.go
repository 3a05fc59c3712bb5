package password_test

import (
	"strings"
	"testing"

	"vigie/internal/password"
)

// TestR12_PasswordPolicy: a password is accepted only if it reaches the entropy CNIL deliberation
// 2022-100 asks of a password used alone (12 characters of four kinds, 14 of three, 16 of two, or
// a 20-character passphrase), is not common or predictable for a dictionary-based estimator, and
// does not contain the person's name or e-mail. Each refusal names its rule and says how to fix it
// in French, without repeating the password.
func TestR12_PasswordPolicy(t *testing.T) {
	const email, name = "camille.durand@courtier.example", "Camille Durand"
	cases := []struct {
		name, pw, rule string // rule "" = accepted
	}{
		// Length and kinds of characters.
		{"12 characters of four kinds", "jF7#kq9!Lm2@", ""},
		{"11 characters of four kinds", "jF7#kq9!Lm2", password.RuleLength},
		{"13 characters of three kinds", "jF7kq9xLm2wPz", password.RuleLength},
		{"14 characters of three kinds", "jF7kq9xLm2wPzT", ""},
		{"15 characters of two kinds", "jfkqxlmwpztrvbn", password.RuleLength},
		{"16 characters of two kinds", "jf7kq9xlm2wpz4tr", ""},
		{"19 characters of one kind", "jfkqxlmwpztrvbnhgsd", password.RuleLength},
		{"a passphrase of 20 characters or more", "girafe lampadaire ozone", ""},
		{"a long French passphrase", "il pleut sur le pont de Morlaix à midi", ""},
		{"empty", "", password.RuleLength},
		{"too long", strings.Repeat("aB3$", 33), password.RuleMaxLength},
		{"accented letters count as letters", "Été-Brûlant-Où-Ça-7", ""},

		// Long enough, but in an attacker's dictionary.
		{"common password with decorations", "Password123!", password.RuleGuessable},
		{"keyboard walk", "Azertyuiop123!", password.RuleGuessable},
		{"keyboard walk, qwerty", "Qwertyuiop1234!", password.RuleGuessable},
		{"French word and a year", "Motdepasse-2026!", password.RuleGuessable},
		{"French city and a year", "Marseille2024!!", password.RuleGuessable},
		{"repetition", "Soleil-Soleil-Soleil1", password.RuleGuessable},
		{"one character repeated", strings.Repeat("a", 24), password.RuleGuessable},
		{"the company's words", "Courtier.Vigie.2026", password.RuleGuessable},
		{"English words, l33t", "P@ssw0rd-P@ssw0rd", password.RuleGuessable},

		// The person's own name or e-mail.
		{"contains the first name", "Camille-Zèbre-Orage-88", password.RulePersonal},
		{"contains the last name, other case", "xyDURANDqv#Kz81", password.RulePersonal},
		{"contains the e-mail's local part", "camille.durand-2026!X", password.RulePersonal},
	}
	for _, c := range cases {
		fe := password.Check(c.pw, email, name)
		switch {
		case c.rule == "" && fe != nil:
			t.Errorf("%s: refused (%s), want accepted", c.name, fe.Rule)
		case c.rule != "" && fe == nil:
			t.Errorf("%s: accepted, want refused by %s", c.name, c.rule)
		case c.rule != "" && fe.Rule != c.rule:
			t.Errorf("%s: refused by %s, want %s", c.name, fe.Rule, c.rule)
		case fe != nil && (fe.Field != "password" || fe.Message == "" || strings.Contains(fe.Message, c.pw) && c.pw != ""):
			t.Errorf("%s: refusal must name the field and say why without the password", c.name)
		}
	}
}

// TestR12_RefusalsSayHowToFix: each message, in French, says what is wrong and what to do.
func TestR12_RefusalsSayHowToFix(t *testing.T) {
	cases := []struct{ pw, want string }{
		{"court", "au moins 12 caractères avec majuscules, minuscules, chiffres et caractères spéciaux"},
		{"court", "phrase de passe d'au moins 20 caractères"},
		{"Azertyuiop123!", "trop courant ou prévisible"},
		{"Azertyuiop123!", "suite de clavier"},
		{"Azertyuiop123!", "assemblez plusieurs mots sans rapport"},
		{"Dupont-Zèbre-Orage-88", "ni votre nom ni votre adresse e-mail"},
	}
	for _, c := range cases {
		fe := password.Check(c.pw, "marc.dupont@courtier.example", "Marc Dupont")
		if fe == nil || !strings.Contains(fe.Message, c.want) {
			t.Errorf("refusal of a %d-character password: message should contain %q", len(c.pw), c.want)
		}
	}
}
