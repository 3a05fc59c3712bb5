package consent

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"vigie/internal/dictionary"
)

// Controller is who the notice names as responsible for the processing, and how to reach the DPO.
type Controller struct {
	Name     string
	Address  string
	DPOEmail string
}

// Notice is one version of the privacy notice, exactly as shown (R21). Its hash is what a consent
// refers to; the text is kept so that the DPO can show what a person read.
type Notice struct {
	ID      int64
	Hash    string
	Version string
	Body    string
}

// QuoteNotice writes the notice shown beside the online quote form (arts. 13 and 21(4)): who,
// which data, for which purposes on which legal basis, recipients, transfers, how long, the
// automated pricing, the rights and how to use them. Everything that can come from the dictionary
// does, so the notice changes — and gets a new version — when the dictionary does.
func QuoteNotice(d *dictionary.Dictionary, c Controller, collected []string, quoteMonths int) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Information sur vos données personnelles\n\n")
	p("Responsable du traitement : %s, %s. Délégué à la protection des données : %s.\n\n", c.Name, c.Address, c.DPOEmail)
	p("Données demandées : %s. Elles sont toutes nécessaires pour établir votre devis ; nous ne demandons ni numéro de sécurité sociale, ni donnée de santé.\n\n", strings.Join(collected, ", "))
	p("Finalités et bases légales :\n")
	quotes := purpose(d, "quotes")
	p("- %s — %s (obligatoire pour obtenir un devis).\n", quotes.Name, quotes.LegalBasis)
	for _, cp := range Purposes {
		p("- %s — consentement, facultatif (case à cocher, jamais précochée) : %s\n", cp.Label, cp.Detail)
	}
	p("\nDestinataires : le service devis de Dev'Immédiat et, si vous le demandez, les compagnies d'assurance auxquelles votre demande est transmise pour obtenir leur tarif. Aucune donnée n'est vendue ni transférée hors de l'Union européenne.\n\n")
	p("Durées de conservation :\n")
	for _, code := range []string{"quote_no_contract", "prospect", "contract", "consent_proof"} {
		r := retention(d, code)
		p("- %s : %s à compter de %s.\n", retentionLabel[code], r.Keep, r.From)
	}
	p("- Les données servant à un devis ne sont réutilisées pour un nouveau devis qu'avec votre confirmation si elles ont plus de %d mois, et jamais depuis des données de prospection.\n\n", quoteMonths)
	p("Décision automatisée : le prix de votre devis est calculé automatiquement à partir des informations que vous donnez (véhicule, conducteur, garantie). Vous pouvez demander qu'une personne du service devis le réexamine, donner votre point de vue et contester le résultat (art. 22 du RGPD).\n\n")
	p("Vos droits : accès, rectification, effacement, limitation, portabilité, opposition (absolue pour la prospection), directives sur le sort de vos données après votre décès, et retrait de votre consentement à tout moment, aussi simplement que vous l'avez donné (lien dans chaque message ou espace « Mes données »). Écrivez à %s ; nous répondons sous un mois. Vous pouvez aussi adresser une réclamation à la CNIL (www.cnil.fr).\n", c.DPOEmail)
	return b.String()
}

var retentionLabel = map[string]string{
	"quote_no_contract": "Demande de devis sans contrat (puis anonymisée)",
	"prospect":          "Prospect (puis supprimé, après vous avoir demandé si vous souhaitez rester en contact)",
	"contract":          "Contrat signé",
	"consent_proof":     "Preuve de vos choix",
}

func purpose(d *dictionary.Dictionary, code string) dictionary.Purpose {
	for _, p := range d.Purposes {
		if p.Code == code {
			return p
		}
	}
	return dictionary.Purpose{Code: code, Name: code}
}

func retention(d *dictionary.Dictionary, code string) dictionary.Retention {
	for _, r := range d.Retention {
		if r.Code == code {
			return r
		}
	}
	return dictionary.Retention{Code: code, Keep: "?", From: "?"}
}

// Publish stores a notice text the first time it is shown and returns its version; the same text
// always gets the same row.
func (s *Service) Publish(ctx context.Context, body string) (Notice, error) {
	sum := sha256.Sum256([]byte(body))
	n := Notice{Hash: hex.EncodeToString(sum[:]), Body: body}
	err := s.db.QueryRowContext(ctx, `SELECT id, version FROM notices WHERE hash = $1`, n.Hash).Scan(&n.ID, &n.Version)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("consent: find notice: %w", err)
	}
	n.Version = s.now().UTC().Format("2006-01-02") + "-" + n.Hash[:8]
	if _, err := s.db.ExecContext(ctx, `INSERT INTO notices (hash, version, body, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		n.Hash, n.Version, n.Body, s.now().UTC()); err != nil {
		return n, fmt.Errorf("consent: publish notice: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT id, version FROM notices WHERE hash = $1`, n.Hash).Scan(&n.ID, &n.Version)
	if err != nil {
		return n, fmt.Errorf("consent: publish notice: %w", err)
	}
	return n, nil
}

// NoticeByHash returns a published notice: what a person was shown, for the DPO.
func (s *Service) NoticeByHash(ctx context.Context, hash string) (Notice, error) {
	n := Notice{Hash: hash}
	err := s.db.QueryRowContext(ctx, `SELECT id, version, body FROM notices WHERE hash = $1`, hash).Scan(&n.ID, &n.Version, &n.Body)
	if err != nil {
		return n, fmt.Errorf("consent: notice: %w", err)
	}
	return n, nil
}
