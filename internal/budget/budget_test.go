package budget_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/people"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	ok := map[string]money.Kopecks{"1": 100, "15000.50": 1500050, "15 000,50": 1500050, " 7 ": 700, "0.01": 1, "10000000000": budget.MaxTopUpKopecks}
	for in, want := range ok {
		if got, err := budget.ParseAmount("amount", in, budget.MaxTopUpKopecks); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0.00", "-1", "−1", "1e3", "1E3", "0x10", "NaN", "Inf", "1.001", "10000000000.01",
		"99999999999999999999", "1,2,3", "1.2.3", "₽100", "100₽", "+-1", "１００"} {
		if _, err := budget.ParseAmount("amount", in, budget.MaxTopUpKopecks); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%q accepted or wrong error: %v", in, err)
		}
	}
	signed := map[string]money.Kopecks{"500": 50000, "+500": 50000, "-150.50": -15050, "−2": -200}
	for in, want := range signed {
		if got, err := people.ParseSignedAmount(in); err != nil || got != want {
			t.Errorf("signed %q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-0", "--5", "+-5", "-+5", "++5", "-1e3", "-100000001"} {
		if _, err := people.ParseSignedAmount(in); err == nil {
			t.Errorf("signed %q accepted", in)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "15 000,50", "-1", "1e3", "0.001", "99999999999999999999", "+-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := budget.ParseAmount("amount", s, budget.MaxTopUpKopecks)
		if err == nil && (k <= 0 || k > budget.MaxTopUpKopecks) {
			t.Fatalf("%q parsed to %d, out of range", s, k)
		}
		if err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("%q: error of kind %v", s, apperr.KindOf(err))
		}
		if err == nil {
			// What parses writes back to the same amount.
			if again, err := budget.ParseAmount("amount", k.String(), budget.MaxTopUpKopecks); err != nil || again != k {
				t.Fatalf("%q → %d → %q → %d %v", s, k, k.String(), again, err)
			}
		}
		sk, err := people.ParseSignedAmount(s)
		if err == nil && (sk == 0 || sk > people.MaxAdjustKopecks || sk < -people.MaxAdjustKopecks) {
			t.Fatalf("signed %q parsed to %d", s, sk)
		}
	})
}

func TestKeyAndTexts(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", " ", "a b", "ключ", strings.Repeat("k", 201), "a\x00"} {
		if err := budget.CheckKey(k); !errors.Is(err, budget.ErrKeyMissing) {
			t.Errorf("key %q accepted", k)
		}
	}
	if err := budget.CheckKey("order-2026-12-07/1"); err != nil {
		t.Error(err)
	}
	if budget.CheckText("ok\x00", 10, true) || budget.CheckText(string([]byte{0xff}), 10, true) || budget.CheckText("  ", 10, true) ||
		budget.CheckText(strings.Repeat("я", 11), 10, false) || !budget.CheckText(strings.Repeat("я", 10), 10, true) {
		t.Error("CheckText")
	}
	r := budget.TopUpRequest{AmountKopecks: 100, Document: "  Счёт  ", IdempotencyKey: "k"}
	if err := r.Validate(); err != nil || r.Document != "Счёт" || !utf8.ValidString(r.Hash()) {
		t.Errorf("validate: %v %q", err, r.Document)
	}
	if (budget.TopUpRequest{AmountKopecks: 100, Document: "a"}).Hash() == (budget.TopUpRequest{AmountKopecks: 101, Document: "a"}).Hash() {
		t.Error("hash ignores the amount")
	}
}

func TestSettingsNormalize(t *testing.T) {
	t.Parallel()
	s := budget.Settings{AtZero: budget.Review, AlertPercents: []int{100, 80, 80}, AlertRunwayDays: 14}
	if err := s.Normalize(); err != nil || len(s.AlertPercents) != 2 || s.AlertPercents[0] != 80 {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []budget.Settings{{AtZero: "x"}, {AtZero: budget.Pause, AlertPercents: []int{0}}, {AtZero: budget.Pause, AlertRunwayDays: 366}} {
		if err := bad.Normalize(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestNeedsSecondApproval(t *testing.T) {
	t.Parallel()
	cases := []struct {
		threshold int64
		amount    money.Kopecks
		recent    int64
		want      bool
	}{
		{0, 1 << 40, 0, false}, {1000, 999, 0, false}, {1000, 1000, 0, true}, {1000, -1000, 0, true},
		{1000, 500, 499, false}, {1000, 500, 500, true}, {1000, -1, 999, true},
	}
	for _, c := range cases {
		if got := people.NeedsSecondApproval(c.threshold, c.amount, c.recent); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
}
