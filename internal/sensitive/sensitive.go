// Package sensitive recognises the data Vigie must never hold (DESIGN §6, rules R03–R06): French
// social-security numbers (NIR), blood groups and health vocabulary, art. 9 opinions (religion,
// politics, philosophy, union membership, sexual life), bank card numbers and IBANs. The governed
// store refuses a write that carries them, `vigie scan` looks for them in what is already stored,
// and the legacy audit counts them per CSV column.
//
// A checksum (NIR key, Luhn, IBAN mod 97) is what separates a real number from any string of
// digits of the right length; context words are used only where they lower false alarms without
// letting real data through (a NIR mistyped right after "sécu", a SIRET that passes Luhn).
//
// Scan is built for free text at volume: it reads the text once, folds each word into a small
// buffer and decides with one map lookup per word, and runs the checksum detectors only on text
// that can hold a number of theirs. Clean text allocates nothing.
package sensitive

import "math/bits"

// Kind is a kind of forbidden data.
type Kind string

// The kinds, in the order Scan reports them.
const (
	KindNIR        Kind = "nir"
	KindBloodGroup Kind = "blood_group"
	KindHealth     Kind = "health"
	KindOpinion    Kind = "opinion"
	KindCardNumber Kind = "card_number"
	KindIBAN       Kind = "iban"
	KindOffence    Kind = "offence"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{KindNIR, KindBloodGroup, KindHealth, KindOpinion, KindCardNumber, KindIBAN, KindOffence}

// Finding is one kind of forbidden data found in a text, and the rule it breaks.
type Finding struct {
	Kind Kind
	Rule string // "R03", "R04", "R05" or "R06" (RULES.md)
}

// kinds are indexes into Kinds, for a bit set of what a text carries.
const (
	iNIR = iota
	iBlood
	iHealth
	iOpinion
	iCard
	iIBAN
	iOffence
)

// Offence data (art. 10) is forbidden by DESIGN §6; RULES.md has no rule of its own for it, and R05
// (data never collected) is the nearest.
var rules = [...]string{iNIR: "R03", iBlood: "R04", iHealth: "R04", iOpinion: "R05", iCard: "R06", iIBAN: "R06", iOffence: "R05"}

var messages = map[Kind]string{
	KindNIR:        "ce champ semble contenir un numéro de sécurité sociale, qui ne doit pas être collecté",
	KindBloodGroup: "ce champ semble contenir un groupe sanguin, donnée de santé qui ne doit pas être collectée",
	KindHealth:     "ce champ semble contenir une information de santé, qui ne doit pas être collectée",
	KindOpinion:    "ce champ semble révéler une religion, une opinion politique ou philosophique, une appartenance syndicale ou la vie sexuelle, qui ne doivent pas être collectées",
	KindCardNumber: "ce champ semble contenir un numéro de carte bancaire, qui ne doit pas être collecté",
	KindIBAN:       "ce champ semble contenir un IBAN (coordonnées bancaires), qui ne doit pas être collecté",
	KindOffence:    "ce champ semble détailler une infraction ou une condamnation (art. 10 du RGPD), qui ne doit pas être collectée : seules les questions oui/non du devis sont prévues",
}

// Message is the French refusal shown to the person typing: it names what was recognised and
// that it must not be collected, never the value.
func (f Finding) Message() string { return messages[f.Kind] }

// Scan returns what text carries, at most one finding per kind, in the order of Kinds. freeText
// also applies the vocabulary detectors (health, opinion); structured fields (names, addresses,
// plates…) get only the checksum and blood-group detectors, because a surname or a street name
// can legitimately be a health or religious word ("Malade", "rue de l'Évangile").
func Scan(text string, freeText bool) []Finding {
	w := scanWords(text, freeText)
	found := w.found
	var numbers uint8
	if w.digits >= 13 {
		numbers |= 1<<numNIR | 1<<numCard
	}
	if w.ibanStart {
		numbers |= 1 << numIBAN
	}
	if numbers != 0 {
		_, valid := scanNumbers(text, numbers, true)
		for k, bit := range [numKinds]uint8{numNIR: 1 << iNIR, numCard: 1 << iCard, numIBAN: 1 << iIBAN} {
			if valid[k] > 0 {
				found |= bit
			}
		}
	}
	if found == 0 {
		return nil
	}
	out := make([]Finding, 0, bits.OnesCount8(found))
	for i, k := range Kinds {
		if found&(1<<i) != 0 {
			out = append(out, Finding{Kind: k, Rule: rules[i]})
		}
	}
	return out
}
