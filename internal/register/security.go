package register

import (
	"fmt"
	"time"

	"vigie/internal/auth"
	"vigie/internal/keys"
)

// MeasureHeadings are the headings of the security measures in the CNIL's model, in order.
var MeasureHeadings = []string{"Contrôle d'accès des utilisateurs", "Mesures de traçabilité", "Mesures de protection des logiciels", "Sauvegarde des données", "Chiffrement des données", "Contrôle des sous-traitants", "Autres mesures"}

// securityMeasures describes the technical and organisational measures (art. 30(1)(g), 32(1))
// under the headings of the CNIL's model. Each sentence says what the code does: the numbers come
// from the packages that enforce them (auth, keys, the audit trail's setting), the antivirus line
// from this installation's configuration, so the register cannot claim a measure that is off.
func securityMeasures(accessLogMonths int, antivirus bool) []Measure {
	access := fmt.Sprintf("Comptes nominatifs, un service par compte ; droits par service, finalité et champ, tirés du dictionnaire de données "+
		"et vérifiés à chaque lecture et écriture, dans l'API comme dans l'interface. Mots de passe conformes à la délibération CNIL 2022-100, "+
		"hachés en argon2id, les %d derniers non réutilisables, expiration réglable par service (par défaut 180 jours pour l'administration et le DPO). "+
		"Second facteur TOTP obligatoire pour tout le personnel, avec codes de secours à usage unique. Connexions ralenties après des échecs, "+
		"compte verrouillé %s après %d échecs. Sessions de %s au plus, fermées après %s d'inactivité ; jetons de script révocables.",
		auth.HistorySize, duration(auth.LockDuration), auth.LockAfter, duration(auth.SessionTTL), duration(auth.SessionIdle))
	trace := "Journal d'audit en ajout seul, chaîné par SHA-256, avec des points de contrôle signés (Ed25519) vérifiables hors ligne " +
		"(vigie audit verify) : chaque écriture, chaque lecture de donnée personnelle (qui, quels champs, pour quelle finalité), " +
		"les connexions, les exports, les changements de réglage, les demandes de droits et les violations. Les personnes n'y figurent " +
		"que sous un pseudonyme à clé."
	if accessLogMonths > 0 {
		trace += fmt.Sprintf(" Lectures conservées %s, le reste 5 ans.", MonthsText(accessLogMonths))
	}
	software := "Chaque saisie est contrôlée par le dictionnaire (type, taille, format) ; les données interdites (NIR, santé, opinions, " +
		"cartes bancaires, IBAN) sont détectées et refusées dans les champs, les textes libres et les imports. En-têtes de sécurité stricts " +
		"(politique de contenu sans script ni ressource tierce), protection contre la falsification de requêtes (CSRF). "
	if antivirus {
		software += "Documents déposés analysés par l'antivirus ClamAV (clamd) : un fichier infecté est refusé, et un antivirus injoignable refuse le dépôt."
	} else {
		software += "Analyse antivirus des documents déposés (ClamAV) disponible mais non configurée sur cette installation (VIGIE_CLAMD_ADDR)."
	}
	return []Measure{
		{Heading: MeasureHeadings[0], Text: access},
		{Heading: MeasureHeadings[1], Text: trace},
		{Heading: MeasureHeadings[2], Text: software},
		{Heading: MeasureHeadings[3], Text: "Sauvegardes de la base par l'exploitant (sqlite3 .backup ou pg_dump, guide de déploiement § 7), " +
			"sans les clés : la clé maîtresse et la clé de signature du journal sont sauvegardées à part, si bien que les données personnelles " +
			"restent chiffrées dans les sauvegardes. Durée de vie courte conseillée (35 jours) ; après une restauration, le DPO refait les " +
			"effacements clos depuis la date de la sauvegarde."},
		{Heading: MeasureHeadings[4], Text: fmt.Sprintf("Champs personnels chiffrés en AES-256-GCM sous une clé propre à chaque personne "+
			"(%d octets), elle-même chiffrée par une clé maîtresse gardée hors de la base : effacer une personne détruit sa clé, ce qui rend "+
			"illisible chacune de ses copies, sauvegardes comprises (crypto-effacement). Recherche exacte par index aveugles HMAC à clé. "+
			"Transport chiffré en TLS 1.2 au moins, suites AEAD seulement (par Vigie, ou par le mandataire inverse qui le sert), HSTS, "+
			"cookies Secure, HttpOnly et SameSite=Strict.", keys.MasterKeySize)},
		{Heading: MeasureHeadings[5], Text: "Le logiciel n'appelle aucun tiers (ni CDN, ni police de caractères, ni télémétrie) ; ses seules connexions " +
			"sortantes sont celles que l'exploitant configure (messagerie SMTP, antivirus, PostgreSQL). Les contrats (art. 28) de l'hébergeur " +
			"et de la messagerie sont tenus par le DPO."},
		{Heading: MeasureHeadings[6], Text: "Journaux techniques expurgés de toute donnée personnelle. Minimisation : les formulaires ne demandent que " +
			"ce que la finalité exige et une donnée de prospection ou trop ancienne ne sert pas un devis sans confirmation de la personne. " +
			"Cycle de vie automatique (suppression, anonymisation, archivage) selon les durées ci-dessus ; gels juridiques ; archives lisibles " +
			"par le seul DPO sur justification écrite, journalisée."},
	}
}

// duration says a duration in French hours or minutes.
func duration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d min", int(d/time.Minute))
}
