package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// seedTable is the second seed's mechanic: nothing below 70 %, a rate at
// 70–100 %, more at plan, more again over 120 %.
var seedTable = Table{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{
	{ThresholdBP: 7000, Kind: Fixed, FixedKopecks: 100000, Name: "Минимальный"},
	{ThresholdBP: 10000, Kind: PercentOfSales, RateBP: 250, Name: "План"},
	{ThresholdBP: 12000, Kind: PercentOfSales, RateBP: 400, CapKopecks: 500000, Name: "Перевыполнение"},
}}

func TestSettleThresholdEdges(t *testing.T) {
	if err := seedTable.Validate(); err != nil {
		t.Fatal(err)
	}
	const target = 10_000_000 // 100 000,00 ₽
	tests := []struct {
		name      string
		value     int64
		tier      int
		pay       money.Kopecks
		capped    bool
		attain    int64
		nextTier  int // -1: no next
		remaining int64
		nextPay   money.Kopecks
	}{
		{"nothing", 0, -1, 0, false, 0, 0, 7_000_000, 100000},
		{"69,99 %", 6_999_000, -1, 0, false, 6999, 0, 1000, 100000},
		{"one kopeck short of 70 %", 6_999_999, -1, 0, false, 6999, 0, 1, 100000},
		{"70 % exactly", 7_000_000, 0, 100000, false, 7000, 1, 3_000_000, 250000},
		{"99,99 %", 9_999_000, 0, 100000, false, 9999, 1, 1000, 250000},
		{"100 % exactly", 10_000_000, 1, 250000, false, 10000, 2, 2_000_000, 480000},
		{"100 % + 1 kopeck rounds half up", 10_000_020, 1, 250001, false, 10000, 2, 1_999_980, 480000},
		{"119,99 %", 11_999_000, 1, 299975, false, 11999, 2, 1000, 480000},
		{"120 %", 12_000_000, 2, 480000, false, 12000, -1, 0, 0},
		{"over with cap", 20_000_000, 2, 500000, true, 20000, -1, 0, 0},
		{"just under cap", 12_499_999, 2, 500000, false, 12499, -1, 0, 0},
		{"far over", 1 << 50, 2, 500000, true, (1 << 50) * 10000 / target, -1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Settle(seedTable, target, Actual{Value: tt.value, SalesKopecks: money.Kopecks(tt.value)})
			if s.Tier != tt.tier || s.PayoutKopecks != tt.pay || s.Capped != tt.capped || s.AttainmentBP != tt.attain {
				t.Fatalf("got tier %d pay %d capped %v attainment %d, want %d %d %v %d",
					s.Tier, s.PayoutKopecks, s.Capped, s.AttainmentBP, tt.tier, tt.pay, tt.capped, tt.attain)
			}
			if tt.nextTier < 0 {
				if s.Next != nil {
					t.Fatalf("next = %+v, want none", *s.Next)
				}
				return
			}
			if s.Next == nil || s.Next.Tier != tt.nextTier || s.Next.Remaining != tt.remaining || s.Next.PayoutKopecks != tt.nextPay {
				t.Fatalf("next = %+v, want tier %d remaining %d pay %d", s.Next, tt.nextTier, tt.remaining, tt.nextPay)
			}
		})
	}
}

func TestJustBelow(t *testing.T) {
	// 69,99...% with a target that does not divide: 70 % of 333 is 233,1,
	// so 233 is short and 234 reaches.
	tb := Table{Measure: Units, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 7000, Kind: Fixed, FixedKopecks: 1}}}
	if s := Settle(tb, 333, Actual{Value: 233}); s.Tier != -1 || s.Next.Remaining != 1 {
		t.Fatalf("233/333: %+v", s)
	}
	if s := Settle(tb, 333, Actual{Value: 234}); s.Tier != 0 {
		t.Fatalf("234/333: %+v", s)
	}
	// No plan, no bonus; a negative actual (more returned) none either.
	if s := Settle(tb, 0, Actual{Value: 1000}); s.Tier != -1 || s.Next != nil {
		t.Fatalf("zero target: %+v", s)
	}
	if s := Settle(tb, 10, Actual{Value: -5}); s.Tier != -1 || s.AttainmentBP != 0 {
		t.Fatalf("negative actual: %+v", s)
	}
}

func TestRounding(t *testing.T) {
	// 1,5 % of 333 kopecks is 4,995 kopecks.
	tr := Tier{ThresholdBP: 1, Kind: PercentOfSales, RateBP: 150}
	a := Actual{SalesKopecks: 333}
	for r, want := range map[Rounding]money.Kopecks{HalfUp: 5, Down: 4, Up: 5} {
		if got, _ := Pay(tr, a, r); got != want {
			t.Errorf("%s: %d, want %d", r, got, want)
		}
	}
	// Exactly half a kopeck: 50 bp of 100 = 0,5.
	tr.RateBP = 50
	a.SalesKopecks = 100
	for r, want := range map[Rounding]money.Kopecks{HalfUp: 1, Down: 0, Up: 1} {
		if got, _ := Pay(tr, a, r); got != want {
			t.Errorf("half %s: %d, want %d", r, got, want)
		}
	}
	// Multiplier ×1,5 on 1 001 kopecks pays 500,5 → 501 / 500.
	m := Tier{ThresholdBP: 1, Kind: PointsMultiplier, FactorMilli: 1500}
	if got, _ := Pay(m, Actual{PointsKopecks: 1001}, HalfUp); got != 501 {
		t.Errorf("multiplier half up: %d", got)
	}
	if got, _ := Pay(m, Actual{PointsKopecks: 1001}, Down); got != 500 {
		t.Errorf("multiplier down: %d", got)
	}
	// Caps apply to every kind; returns beyond sales pay nothing.
	m.CapKopecks = 100
	if got, capped := Pay(m, Actual{PointsKopecks: 1001}, Down); got != 100 || !capped {
		t.Errorf("multiplier cap: %d %v", got, capped)
	}
	if got, _ := Pay(tr, Actual{SalesKopecks: -500}, Up); got != 0 {
		t.Errorf("negative sales: %d", got)
	}
	f := Tier{ThresholdBP: 1, Kind: Fixed, FixedKopecks: 300, CapKopecks: 200}
	if got, capped := Pay(f, Actual{}, HalfUp); got != 200 || !capped {
		t.Errorf("fixed cap: %d", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Tier{ThresholdBP: 7000, Kind: Fixed, FixedKopecks: 1}
	bad := []Table{
		{Measure: "kpi", Rounding: HalfUp, Tiers: []Tier{ok}},
		{Measure: Roubles, Rounding: "bankers", Tiers: []Tier{ok}},
		{Measure: Roubles, Rounding: HalfUp},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{ok, ok}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 0, Kind: Fixed, FixedKopecks: 1}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: Fixed}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: PercentOfSales, RateBP: 10001}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: PointsMultiplier, FactorMilli: 1000}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: Fixed, FixedKopecks: 1, CapKopecks: -1}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: "gift"}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: Fixed, FixedKopecks: 1, Name: "a\x00b"}}},
		{Measure: Roubles, Rounding: HalfUp, Tiers: []Tier{{ThresholdBP: 1, Kind: Fixed, FixedKopecks: 1, Name: "\xff"}}},
	}
	for _, r := range []string{"\x00", "\xff", strings.Repeat("я", 2001)} {
		if CheckReason(r) == nil {
			t.Errorf("reason %q accepted", r[:1])
		}
	}
	if CheckReason(strings.Repeat("я", 2000)) != nil {
		t.Error("2000 characters refused")
	}
	for i, tb := range bad {
		if tb.Validate() == nil {
			t.Errorf("table %d validated: %+v", i, tb)
		}
	}
}

func TestPeriod(t *testing.T) {
	for _, s := range []string{"2026-11", "2026-Q4", "2027-01", "2026-Q1"} {
		p, err := ParsePeriod(s)
		if err != nil || p.String() != s {
			t.Fatalf("%s: %v %v", s, p, err)
		}
	}
	for _, s := range []string{"", "2026", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-11", "2026-1", "2026-1a", "1999-01", "2026-11-01"} {
		if _, err := ParsePeriod(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	q, _ := ParsePeriod("2026-Q4")
	if !q.Start().Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || !q.End().Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("Q4: %v..%v", q.Start(), q.End())
	}
	m, _ := ParsePeriod("2026-12")
	if !m.Contains(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)) || m.Contains(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("December bounds")
	}
	if c := Current(Quarter, time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)); c.String() != "2026-Q2" {
		t.Fatal(c)
	}
}

func TestDelta(t *testing.T) {
	s := Settlement{PayoutKopecks: 1000}
	if l := Delta(1, 1, 1, s, Paid{}, 0); l.DeltaKopecks != 1000 || l.Reason != reasonFirst {
		t.Fatalf("first: %+v", l)
	}
	if l := Delta(1, 1, 1, s, Paid{Kopecks: 1000, PlanVersion: 1, TableVer: 1}, 0); l.DeltaKopecks != 0 || l.Reason != "" {
		t.Fatalf("same: %+v", l)
	}
	if l := Delta(1, 1, 1, s, Paid{Kopecks: 600, PlanVersion: 1, TableVer: 1}, 0); l.DeltaKopecks != 400 || l.Reason != reasonActual {
		t.Fatalf("late receipts: %+v", l)
	}
	if l := Delta(1, 2, 1, s, Paid{Kopecks: 600, PlanVersion: 1, TableVer: 1}, 0); l.DeltaKopecks != 400 || l.Reason == reasonActual {
		t.Fatalf("plan change: %+v", l)
	}
	// A return after close shrinks the bonus: debit, cut to the balance.
	if l := Delta(1, 1, 1, Settlement{}, Paid{Kopecks: 1000, PlanVersion: 1, TableVer: 1}, 5000); l.DeltaKopecks != -1000 {
		t.Fatalf("debit: %+v", l)
	}
	if l := Delta(1, 1, 1, Settlement{}, Paid{Kopecks: 1000, PlanVersion: 1, TableVer: 1}, 300); l.DeltaKopecks != -300 {
		t.Fatalf("debit cut: %+v", l)
	}
	c, d := Totals([]Line{{DeltaKopecks: 5}, {DeltaKopecks: -3}, {DeltaKopecks: 7}})
	if c != 12 || d != 3 {
		t.Fatal(c, d)
	}
	if CheckApprover(100, 100, 7, 7) == nil || CheckApprover(100, 99, 7, 7) != nil || CheckApprover(100, 100, 7, 8) != nil || CheckApprover(0, 1e9, 7, 7) != nil {
		t.Fatal("maker-checker")
	}
}

func TestParseImport(t *testing.T) {
	data := []byte("№;Телефон;План, ₽\n1;+7 999 000-00-01;150 000,50\n2;89990000002;abc\n3;+79990000001;1\n4;not a phone;1\n5;+79990000003;-5\n")
	tb, _, err := registry.ReadTable(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := ParseImport(tb, Roubles)
	if len(rows) != 1 || rows[0].Phone != "+79990000001" || rows[0].Value != 15_000_050 {
		t.Fatalf("rows %+v", rows)
	}
	codes := map[int]string{}
	for _, e := range errs {
		codes[e.Line] = e.Code
	}
	if codes[3] != "bad_plan" || codes[4] != "duplicate_phone" || codes[5] != "bad_phone" || codes[6] != "bad_plan" {
		t.Fatalf("errors %+v", errs)
	}
	tb, _, _ = registry.ReadTable([]byte("Телефон;План\n+79990000001;12,5\n+79990000002;3\n"), 0)
	rows, errs = ParseImport(tb, Units)
	if len(errs) != 0 || rows[0].Value != 12500 || rows[1].Value != 3000 {
		t.Fatalf("units %+v %+v", rows, errs)
	}
	rows, errs = ParseImport(tb, Receipts)
	if len(errs) != 1 || len(rows) != 1 || rows[0].Value != 3 {
		t.Fatalf("receipts %+v %+v", rows, errs)
	}
	tb, _, _ = registry.ReadTable([]byte("Имя;Сумма\nx;1\n"), 0)
	if _, errs := ParseImport(tb, Roubles); len(errs) != 1 || errs[0].Code != "bad_header" {
		t.Fatalf("header %+v", errs)
	}
}

func TestLedgerReasons(t *testing.T) {
	if r := ledger.Reason(KindBonus, "период 2026-11"); r != "Бонус за выполнение плана: период 2026-11" {
		t.Fatal(r)
	}
	if r := ledger.Reason(KindBonusDebit, ""); r != "Пересчёт бонуса за план: списание" {
		t.Fatal(r)
	}
}
