package dictionary

// The legacy header vocabulary of the audit: how a header is normalised, and what the usual French
// and English names found in old CRM exports mean — a dictionary column, or a class on their own.
// Adding a synonym here is how a new legacy export is taught to the audit.

import (
	"slices"
	"strings"
	"unicode"

	"vigie/internal/sensitive"
)

// NormaliseHeader is how legacy headers are compared: camelCase split, lower case, accents
// removed, "n°" read as "no", every run of other characters made one "_".
func NormaliseHeader(h string) string {
	var spaced strings.Builder
	var prev rune
	for _, r := range h {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			spaced.WriteByte('_')
		}
		spaced.WriteRune(r)
		prev = r
	}
	var b strings.Builder
	under := false
	for _, r := range sensitive.Fold(spaced.String()) {
		switch {
		case r == '°' || r == 'º':
			r = 'o'
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
		default:
			if b.Len() > 0 {
				under = true
			}
			continue
		}
		if under {
			b.WriteByte('_')
			under = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// headerRule is what a known legacy header means.
type headerRule struct {
	column  string // the dictionary column ("table.column") it holds, if any
	class   Class  // otherwise, the class the header gives
	rule    string // the rule the verdict rests on
	why     string // a French reason
	noCheck bool   // values are not checked against the column (a legacy identifier)
	offence bool   // a yes/no underwriting question: any other answer is offence data
}

// lookupHeader finds what a normalised header means: the exact name, then the name without the
// words legacy exports add ("email_client", "date_naissance_conducteur"), then a word that names
// sensitive data anywhere in it ("num_secu_conjoint").
func lookupHeader(norm string) *headerRule {
	if norm == "" {
		return nil
	}
	if r, ok := headerSynonyms[norm]; ok {
		return &r
	}
	words := strings.Split(norm, "_")
	kept := slices.DeleteFunc(slices.Clone(words), func(w string) bool { return headerNoise[w] })
	if len(kept) > 0 && len(kept) < len(words) {
		if r, ok := headerSynonyms[strings.Join(kept, "_")]; ok {
			return &r
		}
	}
	for _, w := range words {
		if r, ok := sensitiveWords[w]; ok {
			return &r
		}
	}
	return nil
}

// headerNoise are words that legacy exports add around a field name without changing its meaning.
var headerNoise = map[string]bool{
	"client": true, "cli": true, "assure": true, "souscripteur": true, "conducteur": true, "principal": true,
	"prospect": true, "contact": true, "personne": true, "du": true, "de": true, "des": true, "la": true,
	"le": true, "l": true, "d": true, "customer": true, "clt": true,
}

var (
	whyNIR     = "l'en-tête désigne le numéro de sécurité sociale (NIR), interdit pour cette activité"
	whyBlood   = "l'en-tête désigne le groupe sanguin, donnée de santé"
	whyHealth  = "l'en-tête désigne une donnée de santé"
	whyBelief  = "l'en-tête désigne une religion, une opinion, une appartenance syndicale, la vie sexuelle, l'origine ethnique ou une donnée biométrique (art. 9 RGPD)"
	whyOffence = "l'en-tête désigne des infractions ou condamnations (art. 10 RGPD, DESIGN §6) ; seules les questions oui/non de souscription du devis sont admises"
	whyCard    = "l'en-tête désigne un numéro de carte bancaire : aucune finalité ne l'utilise, interdit par défaut (DESIGN §6)"
	whyIBAN    = "l'en-tête désigne des coordonnées bancaires (IBAN, RIB) : aucune finalité du dictionnaire ne les utilise, interdites par défaut (DESIGN §6)"
)

// sensitiveWords flag a header by any of its words.
var sensitiveWords = func() map[string]headerRule {
	m := map[string]headerRule{}
	add := func(rule, why, words string) {
		for _, w := range strings.Fields(words) {
			m[w] = headerRule{class: ClassSensitive, rule: rule, why: why}
		}
	}
	add("R03", whyNIR, "nir secu ssn vitale insee")
	add("R04", whyBlood, "sanguin rhesus")
	add("R04", whyHealth, "sante medical medicale medicaux maladie maladies pathologie pathologies handicap invalidite allergie allergies health")
	add("R05", whyBelief, "religion religieuse confession culte croyance croyances politique politiques syndicat syndicale syndique sexuelle sexualite biometrie biometrique biometriques ethnique ethnie empreinte empreintes convictions")
	add("R05", whyOffence, "infraction infractions casier condamnation condamnations delit delits contravention contraventions judiciaire")
	return m
}()

// headerSynonyms are the legacy headers Vigie knows, after NormaliseHeader.
var headerSynonyms = func() map[string]headerRule {
	m := map[string]headerRule{}
	col := func(column, names string) {
		for _, n := range strings.Fields(names) {
			m[n] = headerRule{column: column}
		}
	}
	class := func(c Class, rule, why, names string) {
		for _, n := range strings.Fields(names) {
			m[n] = headerRule{class: c, rule: rule, why: why}
		}
	}
	for _, n := range strings.Fields("id id_client client_id idclient identifiant identifiant_client num_client numero_client no_client code_client ref_client reference_client customer_id") {
		m[n] = headerRule{column: "persons.id", noCheck: true,
			why: "identifiant de l'ancien CRM : sert à relier les extraits pendant l'import, Vigie attribue le sien"}
	}
	col("persons.last_name", "nom last_name lastname nom_famille nom_de_famille surname family_name nom_usage nom_d_usage")
	col("persons.first_name", "prenom prenoms first_name firstname given_name")
	col("persons.birth_date", "date_naissance date_de_naissance naissance ne_le nee_le birth_date birthdate date_of_birth dob ddn dt_naissance date_nais")
	col("persons.email", "email e_mail mail courriel adresse_mail adresse_email adresse_electronique mel email_address")
	col("persons.phone", "tel telephone portable mobile phone phone_number tel_portable tel_mobile tel_fixe gsm numero_telephone num_tel no_tel telephone_portable telephone_mobile telephone_fixe fixe")
	col("persons.address_line", "adresse adresse_postale address adresse1 adresse_1 adresse_ligne_1 rue voie street")
	col("persons.postal_code", "cp code_postal codepostal postal_code zip zip_code zipcode postcode")
	col("persons.city", "ville commune city localite town")
	col("persons.departement", "departement dept dep num_departement code_departement")
	col("persons.kind", "type_client statut_client")
	col("persons.last_contact_at", "dernier_contact date_dernier_contact last_contact")
	col("persons.created_at", "date_creation date_entree date_collecte created_at")
	col("quotes.vehicle_make", "marque marque_vehicule make brand constructeur")
	col("quotes.vehicle_model", "modele modele_vehicule model")
	col("quotes.vehicle_year", "annee annee_vehicule annee_modele year millesime annee_fabrication")
	col("quotes.vehicle_energy", "energie carburant motorisation fuel energy")
	col("quotes.vehicle_usage", "usage usage_vehicule")
	col("quotes.registration_date", "date_mise_en_circulation mise_en_circulation date_mec dmec date_1ere_immat date_premiere_immatriculation date_1ere_mise_en_circulation date_mise_circulation")
	col("quotes.plate", "immat immatriculation plaque plaque_immatriculation num_immat numero_immatriculation plate registration")
	col("quotes.licence_date", "date_permis date_obtention_permis date_du_permis permis_date licence_date license_date date_permis_b obtention_permis")
	col("quotes.bonus_malus", "bonus malus crm coef_bonus_malus bonus_malus coefficient_bonus_malus coef_crm coefficient_crm coef_bm")
	col("quotes.claims_3y", "nb_sinistres sinistres nombre_sinistres nb_sinistres_3_ans sinistres_3_ans claims")
	col("quotes.cancelled_by_insurer_3y", "resiliation_assureur resilie_par_assureur resiliation_par_assureur resilie")
	col("quotes.coverage", "garantie formule couverture coverage formule_garantie niveau_garantie")
	col("quotes.insurer", "assureur compagnie compagnie_assurance insurer")
	col("quotes.premium_quoted", "prime prime_proposee tarif prix premium montant_prime cotisation prime_devis")
	col("quotes.comment", "commentaire commentaires comment comments remarque remarques observation observations")
	col("quotes.status", "statut_devis etat_devis")
	col("quotes.channel", "canal canal_acquisition channel origine source provenance")
	col("interactions.note", "note notes note_appel compte_rendu")
	col("contracts.policy_number", "num_police numero_police no_police police policy_number num_contrat numero_contrat no_contrat ref_contrat")
	col("contracts.start_date", "date_debut date_effet date_souscription debut_contrat start_date date_debut_contrat")
	col("contracts.end_date", "date_fin date_resiliation end_date fin_contrat date_fin_contrat date_echeance")
	col("contracts.annual_premium", "prime_annuelle cotisation_annuelle")
	col("contracts.broker_commission", "commission commission_courtier")
	for _, n := range strings.Fields("suspension_permis retrait_permis annulation_permis") {
		m[n] = headerRule{column: "quotes.licence_suspension_5y", offence: true}
	}

	class(ClassSensitive, "R03", whyNIR, "num_secu no_secu numero_secu securite_sociale num_securite_sociale numero_securite_sociale no_securite_sociale no_ss num_ss n_ss nss numero_ss ss num_insee numero_insee matricule_secu social_security_number social_security carte_vitale num_carte_vitale")
	class(ClassSensitive, "R04", whyBlood, "groupe_sanguin gs groupe_sang blood_group blood_type sang")
	class(ClassSensitive, "R04", whyHealth, "etat_sante etat_de_sante antecedents antecedents_medicaux traitement_medical medecin medecin_traitant diabete grossesse taux_invalidite")
	class(ClassSensitive, "R05", whyBelief, "opinion_politique opinions_politiques parti parti_politique orientation_politique vote appartenance_syndicale orientation_sexuelle vie_sexuelle reconnaissance_faciale origine_ethnique origine_raciale philosophie opinion_philosophique")
	class(ClassSensitive, "R05", whyOffence, "points_permis solde_points retrait_points")
	class(ClassSensitive, "R06", whyCard, "carte_bancaire num_carte numero_carte no_carte cb carte_bleue card_number credit_card pan cryptogramme cvv cvc date_expiration_cb")
	class(ClassSensitive, "R06", whyIBAN, "iban rib bic coordonnees_bancaires compte_bancaire releve_identite_bancaire")

	class(ClassStatistical, "R09", "à généraliser en catégorie socio-professionnelle (PCS de l'INSEE) pour les statistiques anonymes ; aucune finalité ne l'exige rattachée à la personne",
		"profession csp categorie_socio_professionnelle categorie_socioprofessionnelle pcs metier categorie_professionnelle occupation job")
	class(ClassStatistical, "R09", "indicateur commercial calculé, sans usage pour traiter la personne : utile seulement agrégé dans les statistiques anonymes (un profilage rattaché à la personne demanderait une base légale et une information, art. 21–22)",
		"score score_appetence appetence scoring segment segmentation potentiel propension note_commerciale")
	class(ClassStatistical, "R09", "caractéristique du véhicule que le dictionnaire ne déclare pas : utile agrégée (catégorie de véhicule des statistiques anonymes), pas rattachée à la personne",
		"categorie_vehicule cat_vehicule classe_vehicule groupe_vehicule groupe_sra classe_sra puissance_fiscale cv chevaux_fiscaux")
	class(ClassStatistical, "R09", "donnée dérivée utile seulement agrégée (tranche d'âge, région, suivi de campagne) ; la personne n'en a pas besoin sur sa fiche",
		"age tranche_age region campagne code_campagne nb_visites nb_clics taux_ouverture converti conversion transforme")

	class(ClassUnnecessary, "R02", "aucune finalité n'utilise la civilité ; le sexe ne peut pas servir à la tarification (CJUE, Test-Achats, 2011)",
		"civilite civ titre title sexe genre gender")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie la situation familiale",
		"situation_familiale situation_maritale etat_civil statut_marital marital_status conjoint nom_conjoint prenom_conjoint")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie le nombre d'enfants",
		"nb_enfants nombre_enfants enfants enfants_a_charge children")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie les loisirs ou centres d'intérêt",
		"loisirs hobbies hobby centres_interet centres_d_interet passions sports")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie l'employeur",
		"employeur entreprise societe employer")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie les revenus",
		"salaire revenu revenus revenus_annuels salary income")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie cette donnée d'état civil",
		"nationalite lieu_naissance ville_naissance pays_naissance nom_jeune_fille nom_naissance")
	class(ClassUnnecessary, "R02", "code INSEE de la commune : redondant avec le code postal et la commune que le dictionnaire déclare",
		"code_insee code_commune code_commune_insee insee_commune")
	class(ClassUnnecessary, "R02", "aucune finalité du dictionnaire ne justifie la situation de logement",
		"proprietaire locataire statut_logement logement")
	return m
}()
