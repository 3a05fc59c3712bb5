// Package sensitivetest generates French free text for the benchmarks of the sensitive-data
// detectors: notes, ticket messages and quote comments as a broker's staff write them, with
// names, dates, phone numbers, amounts, plates and references, and about one line in a hundred
// carrying data Vigie must refuse. The text is invented; no value is real.
package sensitivetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Notes returns n lines of free text, the same for the same seed.
func Notes(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 0x5e75))
	out := make([]string, n)
	for i := range out {
		if r.IntN(100) == 0 {
			out[i] = pick(r, forbidden)(r)
			continue
		}
		var b strings.Builder
		for range 1 + r.IntN(3) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(pick(r, sentences)(r))
		}
		out[i] = b.String()
	}
	return out
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

type gen func(r *rand.Rand) string

func lit(s string) gen { return func(*rand.Rand) string { return s } }

func fmtGen(format string, args ...gen) gen {
	return func(r *rand.Rand) string {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a(r)
		}
		return fmt.Sprintf(format, vals...)
	}
}

var (
	names    = []string{"M. Martin", "Mme Bernard", "M. Lefèvre", "Mme Nguyen", "M. Benali", "Mme Da Silva", "M. Moreau", "Mme Chevallier", "M. Ó Briain", "Mme Leroy-Garnier"}
	insurers = []string{"Allianz", "AXA", "MAAF", "Matmut", "Groupama", "MACIF", "Generali", "Direct Assurance", "April", "Abeille Assurances"}
	vehicles = []string{"Clio V", "208", "Sandero", "Golf 8", "Zoé", "C3 Aircross", "Mégane", "Yaris hybride", "Model 3", "Duster"}
	cities   = []string{"75011 Paris", "69003 Lyon", "13008 Marseille", "33000 Bordeaux", "20000 Ajaccio", "59800 Lille", "44000 Nantes", "97400 Saint-Denis"}
	streets  = []string{"rue des Lilas", "avenue Jean-Jaurès", "boulevard Pasteur", "impasse du Moulin", "place de l'Église", "chemin des Vignes"}
)

func name(r *rand.Rand) string    { return pick(r, names) }
func insurer(r *rand.Rand) string { return pick(r, insurers) }
func vehicle(r *rand.Rand) string { return pick(r, vehicles) }
func city(r *rand.Rand) string    { return pick(r, cities) }
func date(r *rand.Rand) string {
	return fmt.Sprintf("%02d/%02d/%d", 1+r.IntN(28), 1+r.IntN(12), 2020+r.IntN(7))
}
func hour(r *rand.Rand) string { return fmt.Sprintf("%dh%02d", 8+r.IntN(11), 15*r.IntN(4)) }
func amount(r *rand.Rand) string {
	return fmt.Sprintf("%d %03d,%02d €", 1+r.IntN(2), r.IntN(1000), r.IntN(100))
}
func phone(r *rand.Rand) string {
	return fmt.Sprintf("0%d %02d %02d %02d %02d", 1+r.IntN(7), r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100))
}
func plate(r *rand.Rand) string {
	l := func() byte { return byte('A' + r.IntN(26)) }
	return fmt.Sprintf("%c%c-%03d-%c%c", l(), l(), r.IntN(1000), l(), l())
}
func policy(r *rand.Rand) string {
	return fmt.Sprintf("%s-%d-%07d", strings.ToUpper(insurer(r)[:3]), 2020+r.IntN(7), r.IntN(10_000_000))
}
func reference(r *rand.Rand) string { return fmt.Sprintf("%015d", r.Int64N(1e15)) }
func address(r *rand.Rand) string {
	return fmt.Sprintf("%d %s, %s", 1+r.IntN(120), pick(r, streets), city(r))
}

// sentences are what staff write about a person's file.
var sentences = []gen{
	fmtGen("Appel de %s le %s à %s, rappeler au %s.", name, date, hour, phone),
	fmtGen("Devis envoyé par e-mail pour sa %s, prime annuelle de %s.", vehicle, amount),
	fmtGen("Relance sur le devis en attente, compare avec %s.", insurer),
	fmtGen("Changement d'adresse : %s.", address),
	fmtGen("Nouveau véhicule immatriculé %s, mise en circulation le %s.", plate, date),
	fmtGen("Police n° %s résiliée à l'échéance du %s.", policy, date),
	fmtGen("Référence du sinistre chez l'assureur : %s.", reference),
	fmtGen("Bonus-malus 0,%d, franchise de %s, option bris de glace.", func(r *rand.Rand) string { return fmt.Sprint(50 + r.IntN(50)) }, amount),
	lit("Souhaite une franchise réduite et l'assistance zéro kilomètre."),
	lit("Messagerie, pas de message laissé."),
	lit("Conducteur secondaire occasionnel : son conjoint, permis depuis 2011."),
	lit("Demande si le bris de glace est inclus dans la formule tiers plus."),
	lit("Ne souhaite pas changer avant l'échéance de son contrat actuel."),
	lit("Rencontré au salon de l'automobile, intéressé par une offre tous risques."),
	lit("Bonjour, je n'ai toujours pas reçu mon attestation d'assurance. Merci d'avance."),
	lit("Votre demande a été transmise à l'assureur, nous revenons vers vous rapidement."),
	lit("Véhicule garé dans un garage fermé la nuit, pas de stationnement dans la rue."),
	lit("Carte verte non reçue, renvoyée par courrier ce jour."),
	lit("Le client préfère être rappelé en fin de journée, après 18 h."),
	lit("Retour positif sur la proposition, signature prévue la semaine prochaine."),
	lit("Voir avec le service RH de son employeur pour le véhicule de fonction."),
	fmtGen("Sinistre du %s : accrochage sur parking, tiers identifié, constat amiable reçu.", date),
	fmtGen("Échéancier mensuel de %s prélevé le 5 de chaque mois.", amount),
}

// forbidden lines carry data the detectors must find.
var forbidden = []gen{
	fmtGen("Client a donné son numéro de sécu %s au téléphone.", nirLike),
	lit("Groupe sanguin O+ noté lors du sinistre corporel."),
	lit("Cliente diabétique, prévoir un rendez-vous le matin."),
	lit("Syndiqué CGT, ne pas appeler pendant les heures de réunion."),
	lit("Payé par carte 4970 1012 3456 7893, expiration 12/27."),
	lit("RIB transmis : FR76 3000 6000 0112 3456 7890 189."),
	lit("Hospitalisé en mars après l'accident, dossier en attente."),
	lit("Pratiquant catholique, préfère ne pas être appelé le dimanche."),
}

// nirLike is a NIR with a valid key, so that the detector's full path is exercised.
func nirLike(r *rand.Rand) string {
	first := int64(1+r.IntN(2))*1e12 + int64(r.IntN(100))*1e10 + int64(1+r.IntN(12))*1e8 + int64(1+r.IntN(95))*1e6 + r.Int64N(1e6)
	return fmt.Sprintf("%013d%02d", first, 97-first%97)
}
