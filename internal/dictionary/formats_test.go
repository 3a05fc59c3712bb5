package dictionary

import (
	"encoding/json"
	"testing"
	"time"
)

// TestFrenchPhoneNumbers: the French numbering plan, metropolitan and overseas, in the ways people
// write it, normalised to E.164; anything else is refused (libphonenumber, not a regular expression).
func TestFrenchPhoneNumbers(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	phone := d.Table("persons").Column("phone")
	cases := []struct {
		in, want string
	}{
		{"06 12 34 56 78", "+33612345678"},
		{"06.12.34.56.78", "+33612345678"},
		{"+33 6 12 34 56 78", "+33612345678"},
		{"0033612345678", "+33612345678"},
		{"01 42 68 53 00", "+33142685300"},
		{"0690 12 34 56", "+590690123456"},
		{"+262 692 12 34 56", "+262692123456"},
		{"06 12 34", ""},
		{"+1 202 555 0143", ""},
		{"+44 20 7946 0958", ""},
		{"0812345678901", ""},
		{"téléphone", ""},
	}
	for _, c := range cases {
		raw, _ := json.Marshal(c.in)
		got, fe := phone.Decode(raw, time.Now())
		switch {
		case c.want == "" && fe == nil:
			t.Errorf("%q accepted as %v, want refused", c.in, got)
		case c.want != "" && (fe != nil || got != c.want):
			t.Errorf("%q: got %v (%v), want %s", c.in, got, fe, c.want)
		}
	}
}
