package rights

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"vigie/internal/dictionary"
)

// PortabilityFormat names the layout of the portability export; docs/rights-exports.md
// describes it.
const PortabilityFormat = "vigie-portabilite/1"

// Portable is the data the person provided (art. 20): for each table the dictionary marks
// portable, the personal fields of each record that came from the person — not what the broker
// derived (the relationship's kind, a computed premium).
type Portable struct {
	Format      string                      `json:"format"`
	GeneratedAt time.Time                   `json:"generated_at"`
	Controller  string                      `json:"controller"`
	Tables      map[string][]map[string]any `json:"tables"`
}

// derivedCategories are the categories of what the broker works out rather than receives.
var derivedCategories = map[string]bool{"relationship": true, "pricing": true, "technical": true}

func providedByPerson(c *dictionary.Column) bool {
	return c.Personal && !derivedCategories[c.Category] && c.Kind != dictionary.KindBlob
}

// Portability gathers the portable data of one person.
func (s *Service) Portability(ctx context.Context, st Staff, personID int64) (*Portable, error) {
	state, err := s.state(ctx, s.db, personID)
	if err != nil {
		return nil, err
	}
	if state.erasedAt.Valid {
		return nil, ErrErased
	}
	out := &Portable{Format: PortabilityFormat, GeneratedAt: s.now().UTC().Truncate(time.Second), Controller: s.controller.Name,
		Tables: map[string][]map[string]any{}}
	for _, t := range s.dict.Tables {
		if !t.Portable {
			continue
		}
		recs, err := s.records.PersonRows(ctx, st.actor(), t.Name, personID, false)
		if err != nil {
			return nil, fmt.Errorf("rights: portability %s: %w", t.Name, err)
		}
		for _, rec := range recs {
			row := map[string]any{}
			for _, c := range t.Columns {
				if v := rec.Values[c.Name]; v != nil && providedByPerson(c) {
					row[c.Name] = c.JSON(v)
				}
			}
			if len(row) > 0 {
				out.Tables[t.Name] = append(out.Tables[t.Name], row)
			}
		}
	}
	return out, nil
}

// WriteJSON writes the export as indented JSON.
func (p *Portable) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
