package sensitive

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets: run with go test -fuzz=FuzzScan -fuzztime=30s ./internal/sensitive (one target
// at a time). Without -fuzz they run their seeds as ordinary tests.

var fuzzSeeds = []string{
	"", "2 55 08 14 168 025 38", "sécu : 2 69 05 75 115 011 38", "176032A00412350", "1-85-05-78-006-084-91",
	"Groupe sanguin O+", "gs : AB-", "A négatif", "rhésus +", "franc-maçon", "l'enceinte", "DIABÈTE",
	"4970 1012 3456 7893", "SIRET 362 521 879 00035", "FR76 3000 6000 0112 3456 7890 189",
	"éFR7630006000011234567890189", "de\u0301ja\u0300", "\xff\xfe groupe", "n° SS 1850578006084",
	strings.Repeat("1 ", 200), strings.Repeat("FR76 ", 100), strings.Repeat("é", 300),
}

// FuzzScan: Scan never panics and keeps its promises on any input — at most one finding per kind,
// in the order of Kinds, each with its rule and message; vocabulary only for free text; a
// structured field's findings are a subset of the same text's as free text; what the legacy
// audit counts as a valid NIR or IBAN, Scan finds too.
func FuzzScan(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, freeText bool) {
		got := Scan(text, freeText)
		last := -1
		for _, fd := range got {
			i := slices.Index(Kinds, fd.Kind)
			if i <= last {
				t.Fatalf("Scan(%q) = %v: kinds out of order or repeated", text, got)
			}
			last = i
			if fd.Rule != rules[i] || fd.Message() == "" {
				t.Fatalf("Scan(%q): finding %v has the wrong rule or no message", text, fd)
			}
			if !freeText && (fd.Kind == KindHealth || fd.Kind == KindOpinion || fd.Kind == KindOffence) {
				t.Fatalf("Scan(%q, structured) = %v: vocabulary on a structured field", text, got)
			}
		}
		asFree := Scan(text, true)
		for _, fd := range Scan(text, false) {
			if !slices.Contains(asFree, fd) {
				t.Fatalf("Scan(%q): %v found in a structured field but not in free text", text, fd)
			}
		}
		for _, c := range []struct {
			kind  Kind
			count func(string) (int, int)
		}{{KindNIR, CountNIR}, {KindCardNumber, CountCardNumbers}, {KindIBAN, CountIBANs}} {
			shaped, valid := c.count(text)
			if valid > shaped {
				t.Fatalf("%s: %d valid of %d shaped in %q", c.kind, valid, shaped, text)
			}
			// A SIRET label may clear a card number; nothing clears a NIR or an IBAN.
			if valid > 0 && c.kind != KindCardNumber && !slices.Contains(asFree, Finding{c.kind, rules[slices.Index(Kinds, c.kind)]}) {
				t.Fatalf("%s counted valid but not found by Scan in %q", c.kind, text)
			}
		}
	})
}

// FuzzNIRInText: a NIR with a valid key, built from fuzzed parts (temporary numbers and Corsica
// included), is found wherever it stands between other words.
func FuzzNIRInText(f *testing.F) {
	f.Add(uint8(0), uint8(85), uint8(5), uint16(78), uint16(6), uint16(84), "tel", "merci", true)
	f.Add(uint8(1), uint8(76), uint8(3), uint16(200), uint16(4), uint16(123), "", "", false)
	f.Add(uint8(5), uint8(1), uint8(99), uint16(201), uint16(999), uint16(1), "06 12 34 56 78", "12 27", true)
	f.Fuzz(func(t *testing.T, sex, year, month uint8, dept, commune, order uint16, before, after string, grouped bool) {
		d := fmt.Sprintf("%02d", 1+int(dept)%99)
		switch dept % 101 {
		case 99:
			d = "2A"
		case 100:
			d = "2B"
		}
		months := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 35, 42, 50, 63, 99}
		first := fmt.Sprintf("%c%02d%02d%s%03d%03d", "123478"[int(sex)%6], int(year)%100, months[int(month)%len(months)], d,
			int(commune)%1000, int(order)%1000)
		nir := withNIRKey(first)
		if grouped {
			nir = strings.Join([]string{nir[:1], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]}, " ")
		}
		text := before + " " + nir + " " + after
		if !utf8.ValidString(text) {
			return
		}
		if !slices.ContainsFunc(Scan(text, false), func(f Finding) bool { return f.Kind == KindNIR }) {
			t.Fatalf("NIR not found in %q", text)
		}
	})
}

// FuzzCardInText: a card number with a valid Luhn digit is found between other words, unless
// it is labelled as a SIRET.
func FuzzCardInText(f *testing.F) {
	f.Add(uint64(497010123456789), uint8(0), "payé par carte", "exp 12/27")
	f.Add(uint64(537012345678901), uint8(1), "", "")
	f.Add(uint64(378282246310005), uint8(2), "CB:", ".")
	f.Fuzz(func(t *testing.T, body uint64, brand uint8, before, after string) {
		var digits string
		switch brand % 3 {
		case 0: // Visa 16
			digits = fmt.Sprintf("4%014d", body%1e14)
		case 1: // Mastercard
			digits = fmt.Sprintf("5%d%013d", 1+body%5, (body/5)%1e13)
		default: // Amex 15
			digits = fmt.Sprintf("37%012d", body%1e12)
		}
		card := digits + luhnDigit(digits)
		if strings.Count(card, card[:1]) == len(card) {
			return
		}
		text := before + " " + card + " " + after
		if folded := Fold(text); strings.Contains(folded, "siret") || strings.Contains(folded, "siren") {
			return
		}
		if !slices.ContainsFunc(Scan(text, false), func(f Finding) bool { return f.Kind == KindCardNumber }) {
			t.Fatalf("card number not found in %q", text)
		}
	})
}

// luhnDigit computes the check digit to append, apart from the detector.
func luhnDigit(s string) string {
	sum := 0
	for i := 0; i < len(s); i++ {
		n := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return fmt.Sprint((10 - sum%10) % 10)
}

// FuzzFold: folding is idempotent and leaves no ASCII capital; IsBloodGroup does not depend on
// case or accents.
func FuzzFold(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Fold(s)
		if twice := Fold(once); twice != once {
			t.Fatalf("Fold(Fold(%q)) = %q, Fold = %q", s, twice, once)
		}
		if strings.ContainsFunc(once, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
			t.Fatalf("Fold(%q) = %q keeps a capital", s, once)
		}
		if IsBloodGroup(s) != IsBloodGroup(once) {
			t.Fatalf("IsBloodGroup(%q) differs from IsBloodGroup of its folded form", s)
		}
	})
}
