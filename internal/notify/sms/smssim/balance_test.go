package smssim

import "testing"

// A balance below zero keeps its sign in the answer even under a rouble:
// -0,50 ₽ is "-0.50" (it was "0.50").
func TestBalanceNumberNegative(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	for k, want := range map[int64]string{-50: "-0.50", -150: "-1.50", 100000: "1000.00", 5: "0.05"} {
		s.SetBalance(k)
		if got := s.balanceNumber().String(); got != want {
			t.Errorf("balance %d: %q, want %q", k, got, want)
		}
	}
}
