package kpi

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCompute(t *testing.T) {
	t.Parallel()
	in := Inputs{
		UnitsMilli: 12500, SKUSumKopecks: 123456,
		ReceiptsByStatus: map[string]int64{"credited": 3, "rejected": 1},
		Registered:       10, Active: 4, PointsCredited: 5000, PointsPending: 1000, PointsAvailable: 3000,
		PointsIssuedAll: 10000, PointsRedeemed: 6000, Uploaders: 5, RepeatUploaders: 2, ActivePrevMonth: 4, ChurnedPrevMonth: 1,
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
		{"redeemed never negative", Redeemed(Inputs{PointsRedeemed: -5}), int64(0)},
		{"redeemed is the ledger's, not issued − held", Redeemed(Inputs{PointsIssuedAll: 100, PointsRedeemed: 30}), int64(30)},
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

func TestChurnNamesItsMonths(t *testing.T) {
	t.Parallel()
	in := Inputs{ActivePrevMonth: 4, ChurnedPrevMonth: 1,
		ChurnPrevMonth: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ChurnMonth: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		ChurnShifted: true}
	for _, v := range Compute(in) {
		if v.Key != Churn.Key {
			continue
		}
		if v.Display != "25,0 % (янв 2026 → фев 2026)" {
			t.Errorf("churn display %q", v.Display)
		}
		for _, want := range []string{"активные в январе 2026 и не активные в феврале 2026", "два последних полных месяца"} {
			if !strings.Contains(v.Formula, want) {
				t.Errorf("churn formula %q lacks %q", v.Formula, want)
			}
		}
	}
	in.ChurnShifted = false
	for _, v := range Compute(in) {
		if v.Key == Churn.Key && strings.Contains(v.Formula, "полных месяца") {
			t.Errorf("complete months labelled shifted: %q", v.Formula)
		}
	}
}

func TestBudgetForecast(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	ends := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		balance, burn int64
		ends          time.Time
		want          string
	}{
		{"no burn", 500000000, 0, ends, "прогноза нет"},
		{"burn under a point a day", 500000000, 99, ends, "прогноза нет"},
		// 5 000 000 points at 100 a day would be 49 940+ days: past the end.
		{"lasts past the end", 500000000, 10000, ends, "хватит до окончания программы 31.12.2026"},
		{"runs out first", 100000, 10000, ends, "25.03.2026 (через 10 дн.)"},
		{"exhausted", 0, 10000, ends, "бюджет исчерпан"},
		{"program over", 100000, 10000, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "программа закончилась 01.03.2026"},
	}
	for _, tc := range tests {
		got := BudgetForecast(today, tc.ends, tc.balance, tc.burn)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want it to contain %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "49 ") {
			t.Errorf("%s: absurd forecast %q", tc.name, got)
		}
	}
}
