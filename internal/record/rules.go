package record

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"vigie/internal/dictionary"
)

// indexTerms returns what the blind index stores for a value: the lower-cased canonical value for
// exact search, or each word (accents removed) for a tokenised field, so that "Le Goff-Martin" is
// found by "goff" or by "Le Goff".
func indexTerms(c *dictionary.Column, v any) []string {
	if v == nil {
		return nil
	}
	text := strings.ToLower(string(c.Text(v)))
	if c.Searchable == "exact" {
		return []string{text}
	}
	var terms []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(foldAccents(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if !seen[w] {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	return terms
}

func foldAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// crossChecks are the rules that involve more than one field of a row. merged is the row as it
// will be; changed is what this request sets, so an update is only refused for what it touches.
func crossChecks(t *dictionary.Table, merged, changed map[string]any) []*dictionary.FieldError {
	var errs []*dictionary.FieldError
	touched := func(names ...string) bool {
		for _, n := range names {
			if _, ok := changed[n]; ok {
				return true
			}
		}
		return false
	}
	str := func(name string) string { s, _ := merged[name].(string); return s }
	switch t.Name {
	case "persons":
		pc, dep := str("postal_code"), str("departement")
		if pc != "" && dep != "" && touched("postal_code", "departement") && dictionary.DepartementOfPostalCode(pc) != dep {
			errs = append(errs, &dictionary.FieldError{Field: "postal_code", Rule: "postal_code_departement",
				Message: "le code postal ne correspond pas au département"})
		}
	case "contracts":
		start, end := str("start_date"), str("end_date")
		if start != "" && end != "" && touched("start_date", "end_date") && end < start {
			errs = append(errs, &dictionary.FieldError{Field: "end_date", Rule: "date_order",
				Message: "la fin du contrat précède son début"})
		}
	case "quotes":
		year, _ := merged["vehicle_year"].(int64)
		reg := str("registration_date")
		if year != 0 && reg != "" && touched("vehicle_year", "registration_date") && reg[:4] < fmt.Sprintf("%04d", year-1) {
			errs = append(errs, &dictionary.FieldError{Field: "registration_date", Rule: "date_order",
				Message: "la mise en circulation précède l'année du véhicule"})
		}
	}
	return errs
}
