package dictionary

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestPhoneFastPathAgreesWithParse: the shortcut of formatPhoneFR for metropolitan spellings gives
// what libphonenumber's Parse gives, number for number, valid or not.
func TestPhoneFastPathAgreesWithParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		digits := fmt.Sprintf("0%d%08d", 1+r.IntN(9), r.IntN(100_000_000))
		for _, s := range []string{digits, "+33" + digits[1:], digits[:2] + " " + digits[2:4] + " " + digits[4:6] + " " + digits[6:8] + " " + digits[8:]} {
			national, ok := metropolitanNumber(s)
			if !ok {
				t.Fatalf("%s: not read by the shortcut", s)
			}
			fast := validFR(national)
			num, err := phonenumbers.Parse(s, "FR")
			slow := err == nil && phonenumbers.IsValidNumberForRegion(num, "FR")
			if fast != slow || slow && phonenumbers.Format(num, phonenumbers.E164) != fmt.Sprintf("+33%d", national) {
				t.Fatalf("%s: shortcut says %v, Parse says %v", s, fast, slow)
			}
		}
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
