package kpi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompute(t *testing.T) {
	t.Parallel()
	in := Inputs{
		UnitsMilli: 12500, SKUSumKopecks: 123456,
		ReceiptsByStatus: map[string]int64{"credited": 3, "rejected": 1},
		Registered:       10, Active: 4, PointsCredited: 5000, PointsPending: 1000, PointsAvailable: 3000,
		PointsIssuedAll: 10000, Uploaders: 5, RepeatUploaders: 2, ActivePrevMonth: 4, ChurnedPrevMonth: 1,
	}
	got := map[string]string{}
	for _, v := range Compute(in) {
		if v.Formula == "" || v.Title == "" {
			t.Errorf("%s has no formula or title", v.Key)
		}
		got[v.Key] = v.Display
	}
	want := map[string]string{
		"verified_units": "12,5", "verified_sum": "1 234,56 ₽", "receipts": "4",
		"credited_share": "75,0 %", "participation": "40,0 % (4 из 10)", "points_credited": "50",
		"points_pending": "10", "points_redeemed": "60", "redemption_rate": "60,0 %",
		"repeat_upload": "40,0 %", "churn": "25,0 %",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Compute (-want +got):\n%s", d)
	}
}

func TestRatesAndFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"ratio zero den", Ratio(5, 0), int64(0)},
		{"ratio rounds", Ratio(1, 3), int64(3333)},
		{"redeemed never negative", Redeemed(Inputs{PointsIssuedAll: 1, PointsAvailable: 5}), int64(0)},
		{"days left no burn", DaysLeft(100, 0), int64(-1)},
		{"days left", DaysLeft(1000, 30), int64(33)},
		{"days left exhausted", DaysLeft(-5, 30), int64(0)},
		{"int groups", Int(1234567), "1 234 567"},
		{"int negative", Int(-1000), "−1 000"},
		{"roubles", Roubles(5), "0,05 ₽"},
		{"points fraction", Points(12345), "123,45"},
		{"units", Units(1500), "1,5"},
		{"percent", Percent(1234), "12,3 %"},
		{"is sales", IsSales("credited") && !IsSales("rejected"), true},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, tc.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	if c, ok := Change(150, 100); !ok || c != 5000 {
		t.Errorf("Change(150,100) = %d %v", c, ok)
	}
	if c, ok := Change(50, 100); !ok || c != -5000 {
		t.Errorf("Change(50,100) = %d %v", c, ok)
	}
	if _, ok := Change(1, 0); ok {
		t.Error("Change from 0 defined")
	}
}
