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
			cc, nn := int32(33), national
			fast := phonenumbers.IsValidNumberForRegion(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}, "FR")
			num, err := phonenumbers.Parse(s, "FR")
			slow := err == nil && phonenumbers.IsValidNumberForRegion(num, "FR")
			if fast != slow || slow && phonenumbers.Format(num, phonenumbers.E164) != fmt.Sprintf("+33%d", national) {
				t.Fatalf("%s: shortcut says %v, Parse says %v", s, fast, slow)
			}
		}
	}
}
