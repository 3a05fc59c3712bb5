package dictionary

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// TestPhoneFastPathAgreesWithParse: the shortcut of formatPhoneFR for the usual spellings gives
// what libphonenumber's Parse gives, tried region after region of frenchRegions, number for
// number, valid or not — metropolitan and overseas, written nationally or with +33.
func TestPhoneFastPathAgreesWithParse(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	phone := d.Table("persons").Column("phone")
	viaParse := func(s string) string {
		for _, region := range frenchRegions {
			num, err := phonenumbers.Parse(s, region)
			if err != nil {
				break
			}
			if phonenumbers.IsValidNumberForRegion(num, region) {
				return phonenumbers.Format(num, phonenumbers.E164)
			}
		}
		return ""
	}
	r := rand.New(rand.NewPCG(1, 2))
	// Every first digit, and the overseas ranges (0262, 0269, 0590, 0594, 0596, 0639, 069x)
	// often, where the regions after FR decide.
	overseas := []string{"262", "263", "269", "590", "594", "596", "639", "690", "691", "692", "693", "694", "696", "697"}
	overseasValid := 0
	for i := range 12000 {
		digits := fmt.Sprintf("0%d%08d", 1+r.IntN(9), r.IntN(100_000_000))
		if i%2 == 0 {
			digits = "0" + overseas[r.IntN(len(overseas))] + digits[4:]
		}
		for _, s := range []string{digits, "+33" + digits[1:], digits[:2] + " " + digits[2:4] + " " + digits[4:6] + " " + digits[6:8] + " " + digits[8:]} {
			if _, _, ok := frenchNumber(s); !ok {
				t.Fatalf("%s: not read by the shortcut", s)
			}
			got, fe := formatPhoneFR(phone, s, time.Time{})
			want := viaParse(s)
			if want == "" && fe == nil || want != "" && got != want {
				t.Fatalf("%s: shortcut gives %v (%v), Parse gives %q", s, got, fe, want)
			}
			if want != "" && !strings.HasPrefix(want, "+33") {
				overseasValid++
			}
		}
	}
	if overseasValid < 1000 {
		t.Errorf("only %d valid overseas numbers drawn: the regions after FR are hardly checked", overseasValid)
	}
}

// TestPhonePrefixDecidesValidity: libphonenumber's verdict on a French number of nine digits
// depends on its first five digits only, which lets validFR remember it per prefix. Checked for
// every prefix, with suffixes that differ in each of the last four digits.
func TestPhonePrefixDecidesValidity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for prefix := uint64(10000); prefix < 100000; prefix++ {
		var first bool
		for i, suffix := range []uint64{0, 9999, 5050, 1919, uint64(r.IntN(10000))} {
			cc, nn := int32(33), prefix*10000+suffix
			valid := phonenumbers.IsValidNumberForRegion(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}, "FR")
			if i == 0 {
				first = valid
			} else if valid != first {
				t.Fatalf("prefix %d: %04d is %v, 0000 is %v", prefix, suffix, valid, first)
			}
		}
		if got := validFR(prefix*10000 + uint64(r.IntN(10000))); got != first {
			t.Fatalf("prefix %d: validFR says %v, libphonenumber %v", prefix, got, first)
		}
	}
}
