package phone_test

import (
	"errors"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/phone"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"+7 999 123-45-67", "+79991234567"},
		{"8 (999) 123-45-67", "+79991234567"},
		{"9991234567", "+79991234567"},
		{"79991234567", "+79991234567"},
		{" +375 29 123-45-67 ", "+375291234567"},
		{"", ""}, {"abc", ""}, {"+7", ""}, {"123", ""},
		{"+7 999 123-45-67                 ", "+79991234567"}, // trimmed before the length bound
		{"+7 (999) 123-45-67 доб. 1234567890123", ""},         // longer than 32
	} {
		got, err := phone.Normalize(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") || err != nil && !errors.Is(err, phone.ErrInvalid) {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+79991234567", "8 (999) 123-45-67", "abc", "+375291234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := phone.Normalize(s)
		if err != nil {
			return
		}
		// E.164 is a fixed point.
		if q, err := phone.Normalize(p); err != nil || q != p {
			t.Fatalf("Normalize(%q) = %q; again = %q, %v", s, p, q, err)
		}
	})
}
