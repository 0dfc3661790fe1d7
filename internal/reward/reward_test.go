package reward

import (
	"errors"
	"fmt"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

func TestPrice(t *testing.T) {
	for _, tc := range []struct {
		face money.Kopecks
		bp   int
		want money.Kopecks
	}{
		{100000, 0, 100000},   // 1 point = 1 ₽
		{100000, 500, 105000}, // +5 % markup
		{100000, -2000, 80000},
		{333, 100, 337}, // 336.33 rounds up: the participant never pays less than the price
		{1, -9000, 1},
	} {
		if got := Price(tc.face, tc.bp); got != tc.want {
			t.Errorf("Price(%d, %d) = %d, want %d", tc.face, tc.bp, got, tc.want)
		}
	}
}

func TestFaceAllowed(t *testing.T) {
	fixed := Offer{FixedFaces: []money.Kopecks{50000, 100000}}
	free := Offer{FaceMin: 10000, FaceMax: 500000}
	for _, tc := range []struct {
		o    Offer
		face money.Kopecks
		want bool
	}{
		{fixed, 50000, true}, {fixed, 70000, false}, {fixed, 0, false},
		{free, 10000, true}, {free, 500000, true}, {free, 9999, false}, {free, 500001, false}, {free, -5, false},
	} {
		if got := tc.o.FaceAllowed(tc.face); got != tc.want {
			t.Errorf("%+v FaceAllowed(%d) = %v", tc.o, tc.face, got)
		}
	}
}

func TestCheckLimits(t *testing.T) {
	l := Limits{PerOrder: 300, PerDay: 500, PerMonth: 800, Moderation: 200}
	for _, tc := range []struct {
		price, today, month money.Kopecks
		want                error
	}{
		{300, 0, 0, nil}, {301, 0, 0, ErrPerOrder}, {300, 201, 201, ErrPerDay}, {300, 200, 501, ErrPerMonth},
	} {
		if got := CheckLimits(l, tc.price, tc.today, tc.month); !errors.Is(got, tc.want) && got != tc.want {
			t.Errorf("CheckLimits(%d, %d, %d) = %v, want %v", tc.price, tc.today, tc.month, got, tc.want)
		}
	}
	if CheckLimits(Limits{}, 1<<40, 1<<40, 1<<40) != nil {
		t.Error("zero limits limit")
	}
	if !l.NeedsModeration(201) || l.NeedsModeration(200) || (Limits{}).NeedsModeration(1<<40) {
		t.Error("moderation threshold")
	}
}

func TestFailureCode(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("x: %w", provider.ErrOutOfStock):  "out_of_stock",
		provider.ErrBadRecipient:                     "bad_recipient",
		fmt.Errorf("%w: face", provider.ErrRejected): "rejected",
	} {
		if got, ok := FailureCode(err); !ok || got != want {
			t.Errorf("FailureCode(%v) = %q %v", err, got, ok)
		}
	}
	for _, err := range []error{provider.ErrUnknownOutcome, provider.ErrNotSent, errors.New("timeout")} {
		if _, ok := FailureCode(err); ok {
			t.Errorf("%v taken for a definite failure", err)
		}
	}
}
