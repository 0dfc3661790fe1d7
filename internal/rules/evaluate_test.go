package rules

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

var now = time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)

func baseInput() Input {
	return Input{
		Now: now,
		Rules: Rules{
			Earn: []Earn{
				{Selector: Selector{SKUs: []string{"A"}}, FixedPerUnitKopecks: 500},
				{Selector: Selector{Categories: []string{"Кетчуп"}}, PercentBP: 500},
			},
		},
		Program:     Program{ID: 1, Status: "live", StartsOn: day("2025-01-01"), EndsOn: day("2025-12-31"), MaxReceiptAgeDays: 30},
		Participant: Participant{ID: 7, Role: "seller", Status: "active"},
		Shop:        &Shop{ID: 3, INN: "7701234567", KKTRegNumbers: []string{"0001234567012345"}, Address: "Москва, ул. Ленина, д. 5"},
		Receipt: Receipt{Operation: 1, PurchasedAt: day("2025-03-18").Add(15 * time.Hour), UploadedAt: now,
			SellerINN: "7701234567", KKTRegNumber: "0001234567012345", Address: "125009, г. Москва, ул. Ленина, д.5"},
		Lines: []Line{
			{LineNo: 1, SKU: "A", Category: "Антифриз", MarginBP: 11000, QuantityMilli: 2000, SumKopecks: 100000},
			{LineNo: 2, SKU: "B", Category: "Кетчуп", MarginBP: 10000, QuantityMilli: 1000, SumKopecks: 19999},
			{LineNo: 3, Category: "", QuantityMilli: 1000, SumKopecks: 5000},
		},
		BudgetKopecks: 1_000_000,
	}
}

func day(s string) time.Time { return MustDate(s).Time }

// want is the part of a Result a case checks.
type want struct {
	reason  string // receipt-level; "" when eligible
	points  []int64
	reasons []string
	bonus   int64
	caps    []string
	total   int64
}

func got(r Result) want {
	w := want{reason: r.Reason, total: r.TotalKopecks}
	for _, l := range r.Lines {
		w.points = append(w.points, l.PointsKopecks)
		w.reasons = append(w.reasons, l.Reason)
	}
	if r.Bonus != nil {
		w.bonus = r.Bonus.PointsKopecks
	}
	for _, c := range r.Caps {
		w.caps = append(w.caps, c.Cap)
	}
	return w
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	ineligible := func(reason string) want {
		return want{reason: reason, points: []int64{0, 0, 0}, reasons: []string{reason, reason, reason}}
	}
	// Base: 500 × 2 units × 1.10 = 1100; 5 % of 199.99 = 999.95 → 1000.
	base := want{points: []int64{1100, 1000, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 2100}
	tests := []struct {
		name string
		edit func(*Input)
		want want
	}{
		{"fixed and percent with margin", func(*Input) {}, base},
		{"first earn rule wins", func(in *Input) {
			in.Rules.Earn = append([]Earn{{Selector: Selector{Brands: []string{"ЕДА"}}, FixedPerUnitKopecks: 1}}, in.Rules.Earn...)
			in.Lines[1].Brand = "еда"
		}, want{points: []int64{1100, 1, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 1101}},
		{"sku not in program", func(in *Input) { in.Lines[1].Category = "Майонез" },
			want{points: []int64{1100, 0, 0}, reasons: []string{"earned", "sku_not_in_program", "not_matched"}, total: 1100}},
		{"zero quantity", func(in *Input) { in.Lines[0].QuantityMilli = 0 },
			want{points: []int64{0, 1000, 0}, reasons: []string{"zero_quantity", "earned", "not_matched"}, total: 1000}},
		{"weighed goods pro rata", func(in *Input) { in.Lines[0].QuantityMilli, in.Lines[0].MarginBP = 1500, 10000 },
			want{points: []int64{750, 1000, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 1750}},
		// Rounding: half down. 5 % of 10 kopecks = 0.5 → 0; of 30 = 1.5 → 1;
		// of 31 = 1.55 → 2; 1 kopeck × 1.5 weight = 1.5 → 1.
		{"exact half rounds down to zero", func(in *Input) { in.Lines[1].SumKopecks = 10 },
			want{points: []int64{1100, 0, 0}, reasons: []string{"earned", "rounded_to_zero", "not_matched"}, total: 1100}},
		{"one and a half rounds down", func(in *Input) { in.Lines[1].SumKopecks = 30 },
			want{points: []int64{1100, 1, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 1101}},
		{"above half rounds up", func(in *Input) { in.Lines[1].SumKopecks = 31 },
			want{points: []int64{1100, 2, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 1102}},
		{"margin half rounds down", func(in *Input) {
			in.Rules.Earn[0].FixedPerUnitKopecks = 1
			in.Lines[0].QuantityMilli, in.Lines[0].MarginBP = 1000, 15000
		}, want{points: []int64{1, 1000, 0}, reasons: []string{"earned", "earned", "not_matched"}, total: 1001}},
		{"promo doubles inside window", func(in *Input) {
			in.Rules.Promos = []Promo{{Name: "март", From: MustDate("2025-03-18"), To: MustDate("2025-03-18"), MultiplierBP: 20000, Selector: Selector{SKUs: []string{"A"}}}}
		}, want{points: []int64{2200, 1000, 0}, reasons: []string{"earned_promo", "earned", "not_matched"}, total: 3200}},
		{"promo outside window", func(in *Input) {
			in.Rules.Promos = []Promo{{Name: "после", From: MustDate("2025-03-19"), To: MustDate("2025-03-31"), MultiplierBP: 20000}}
		}, base},
		{"overlapping promos: highest multiplier", func(in *Input) {
			in.Rules.Promos = []Promo{
				{Name: "x3", From: MustDate("2025-03-01"), To: MustDate("2025-03-31"), MultiplierBP: 30000, Selector: Selector{Categories: []string{"кетчуп"}}},
				{Name: "x1.5", From: MustDate("2025-03-01"), To: MustDate("2025-03-31"), MultiplierBP: 15000},
			}
		}, want{points: []int64{1650, 3000, 0}, reasons: []string{"earned_promo", "earned_promo", "not_matched"}, total: 4650}},
		{"bonus tiers: the highest reached", func(in *Input) {
			in.Rules.Bonuses = []Bonus{{Name: "два", MinDistinctSKUs: 2, Kopecks: 100}, {Name: "три", MinDistinctSKUs: 3, Kopecks: 300}}
		}, want{points: []int64{1100, 1000, 0}, reasons: []string{"earned", "earned", "not_matched"}, bonus: 100, total: 2200}},
		{"bonus counts distinct skus, not lines", func(in *Input) {
			in.Rules.Bonuses = []Bonus{{Name: "три", MinDistinctSKUs: 3, Kopecks: 300}}
			in.Lines[2] = in.Lines[0]
			in.Lines[2].LineNo = 3
		}, want{points: []int64{1100, 1000, 1100}, reasons: []string{"earned", "earned", "earned"}, total: 3200}},
		{"cap per receipt cuts in line order", func(in *Input) { in.Rules.Caps.PerReceipt = 1500 },
			want{points: []int64{1100, 400, 0}, reasons: []string{"earned", "cap_per_receipt", "not_matched"}, caps: []string{"cap_per_receipt"}, total: 1500}},
		{"cap participant day counts earlier receipts", func(in *Input) {
			in.Rules.Caps.ParticipantDay, in.Earned.ParticipantDay = 2000, 1500
		}, want{points: []int64{500, 0, 0}, reasons: []string{"cap_participant_day", "cap_participant_day", "not_matched"}, caps: []string{"cap_participant_day"}, total: 500}},
		{"cap participant week", func(in *Input) {
			in.Rules.Caps.ParticipantWeek, in.Earned.ParticipantWeek = 10000, 9000
		}, want{points: []int64{1000, 0, 0}, reasons: []string{"cap_participant_week", "cap_participant_week", "not_matched"}, caps: []string{"cap_participant_week"}, total: 1000}},
		{"cap participant period already reached", func(in *Input) {
			in.Rules.Caps.ParticipantPeriod, in.Earned.ParticipantPeriod = 5000, 7000
		}, want{points: []int64{0, 0, 0}, reasons: []string{"cap_participant_period", "cap_participant_period", "not_matched"}, caps: []string{"cap_participant_period"}, total: 0}},
		{"cap shop day", func(in *Input) { in.Rules.Caps.ShopDay, in.Earned.ShopDay = 3000, 1000 },
			want{points: []int64{1100, 900, 0}, reasons: []string{"earned", "cap_shop_day", "not_matched"}, caps: []string{"cap_shop_day"}, total: 2000}},
		{"tightest cap is the one reported", func(in *Input) {
			in.Rules.Caps.PerReceipt = 2000
			in.Rules.Caps.ShopDay, in.Earned.ShopDay = 3000, 1500
		}, want{points: []int64{1100, 400, 0}, reasons: []string{"earned", "cap_shop_day", "not_matched"}, caps: []string{"cap_shop_day"}, total: 1500}},
		{"caps cut the bonus too", func(in *Input) {
			in.Rules.Bonuses = []Bonus{{Name: "два", MinDistinctSKUs: 2, Kopecks: 500}}
			in.Rules.Caps.PerReceipt = 2300
		}, want{points: []int64{1100, 1000, 0}, reasons: []string{"earned", "earned", "not_matched"}, bonus: 200, caps: []string{"cap_per_receipt"}, total: 2300}},
		{"budget", func(in *Input) { in.BudgetKopecks = 1200 },
			want{points: []int64{1100, 100, 0}, reasons: []string{"earned", "budget_exhausted", "not_matched"}, caps: []string{"budget_exhausted"}, total: 1200}},
		{"budget empty", func(in *Input) { in.BudgetKopecks = 0 },
			want{points: []int64{0, 0, 0}, reasons: []string{"budget_exhausted", "budget_exhausted", "not_matched"}, caps: []string{"budget_exhausted"}, total: 0}},
		// Eligibility.
		{"return is not a sale", func(in *Input) { in.Receipt.Operation = 2 }, ineligible(ReasonNotASale)},
		{"draft program", func(in *Input) { in.Program.Status = "draft" }, ineligible(ReasonProgramNotActive)},
		{"closed program", func(in *Input) { in.Program.Status = "closed" }, ineligible(ReasonProgramNotActive)},
		{"test program, real participant", func(in *Input) { in.Program.Status = "test" }, ineligible(ReasonProgramNotActive)},
		{"test program, test participant", func(in *Input) { in.Program.Status, in.Participant.IsTest = "test", true }, base},
		{"blocked participant", func(in *Input) { in.Participant.Status = "blocked" }, ineligible(ReasonParticipantBlock)},
		{"role not in program", func(in *Input) { in.Rules.Roles = []string{"merchandiser"} }, ineligible(ReasonRoleNotEligible)},
		{"role in program", func(in *Input) { in.Rules.Roles = []string{"merchandiser", "seller"} }, base},
		{"before the program", func(in *Input) { in.Program.StartsOn = day("2025-03-19") }, ineligible(ReasonOutsideProgram)},
		{"after the program", func(in *Input) { in.Program.EndsOn = day("2025-03-17") }, ineligible(ReasonOutsideProgram)},
		{"last day of the program", func(in *Input) { in.Program.EndsOn = day("2025-03-18") }, base},
		{"too old at upload", func(in *Input) { in.Receipt.UploadedAt = day("2025-04-18").Add(time.Hour) }, ineligible(ReasonTooOld)},
		{"exactly max age at upload", func(in *Input) {
			in.Receipt.UploadedAt = day("2025-04-17").Add(23 * time.Hour)
			in.Now = in.Receipt.UploadedAt
		}, base},
		{"age counts at upload, not now", func(in *Input) { in.Now = day("2025-06-01") }, base},
		{"purchase in the future", func(in *Input) { in.Receipt.PurchasedAt = day("2025-03-22") }, ineligible(ReasonInFuture)},
		{"participant without shop", func(in *Input) { in.Shop = nil }, ineligible(ReasonNoShop)},
		{"other seller", func(in *Input) { in.Receipt.SellerINN, in.Receipt.KKTRegNumber = "7799999999", "1" }, ineligible(ReasonShopMismatch)},
		{"own KKT under another INN", func(in *Input) { in.Receipt.SellerINN = "7799999999" }, base},
		{"own INN, other address", func(in *Input) {
			in.Receipt.KKTRegNumber, in.Receipt.Address = "1", "г. Москва, ул. Ленина, д. 7"
		}, ineligible(ReasonShopMismatch)},
		{"own INN, same address in other words", func(in *Input) {
			in.Receipt.KKTRegNumber, in.Receipt.Address = "1", "Россия, 125009, Москва г, Ленина ул, дом 5"
		}, base},
		{"seller check kkt: INN is not enough", func(in *Input) {
			in.Rules.SellerCheck, in.Receipt.KKTRegNumber = "kkt", "1"
		}, ineligible(ReasonShopMismatch)},
		{"seller check none", func(in *Input) { in.Rules.SellerCheck, in.Shop = "none", nil }, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := baseInput()
			tc.edit(&in)
			if err := in.Rules.Validate(); err != nil {
				t.Fatal(err)
			}
			res := Evaluate(in)
			if diff := cmp.Diff(tc.want, got(res), cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			var sum int64
			for _, l := range res.Lines {
				sum += l.PointsKopecks
				if l.Reason == "" || !receipt.HasMessage(l.Reason) {
					t.Errorf("line %d: reason %q without a message", l.LineNo, l.Reason)
				}
			}
			if res.Bonus != nil {
				sum += res.Bonus.PointsKopecks
			}
			if sum != res.TotalKopecks {
				t.Errorf("lines and bonus sum to %d, total %d", sum, res.TotalKopecks)
			}
			if res.Reason != "" && !receipt.HasMessage(res.Reason) {
				t.Errorf("reason %q has no message", res.Reason)
			}
			// Deterministic: the same input, the same result.
			if diff := cmp.Diff(res, Evaluate(in)); diff != "" {
				t.Errorf("second evaluation differs:\n%s", diff)
			}
		})
	}
}

func TestMulDivHalfDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, d, want int64 }{
		{1, 1, 2, 0}, {3, 1, 2, 1}, {5, 1, 2, 2}, {7, 1, 2, 3}, {51, 1, 100, 1}, {50, 1, 100, 0}, {149, 1, 100, 1},
		{151, 1, 100, 2}, {0, 5, 3, 0},
		// Largest fixed rule × largest quantity × weights: no overflow.
		{maxFixedKopecks * (1 << 30), maxMarginBP * maxMultiplierBP, quantityScale * basisPoints * basisPoints, 1073741824000000},
	} {
		if got := mulDivHalfDown(tc.a, tc.b, tc.d); got != tc.want {
			t.Errorf("mulDivHalfDown(%d, %d, %d) = %d, want %d", tc.a, tc.b, tc.d, got, tc.want)
		}
	}
}

func TestParseValidate(t *testing.T) {
	t.Parallel()
	good := `{"earn":[{"skus":["A"],"fixed_per_unit_kopecks":500},{"categories":["Кетчуп"],"percent_bp":300}],
		"bonuses":[{"name":"три","min_distinct_skus":3,"kopecks":5000}],
		"promos":[{"name":"март","from":"2025-03-01","to":"2025-03-31","multiplier_bp":20000,"brands":["ТЕРМОКС"]}],
		"roles":["seller"],"seller_check":"shop","caps":{"per_receipt":100000,"participant_day":300000}}`
	r, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	r2, err := Parse(b)
	if err != nil || !cmp.Equal(r, r2) {
		t.Fatalf("round trip: %v\n%s", err, cmp.Diff(r, r2))
	}
	for name, body := range map[string]string{
		"no earn":         `{}`,
		"both ways":       `{"earn":[{"fixed_per_unit_kopecks":1,"percent_bp":1}]}`,
		"neither way":     `{"earn":[{"skus":["A"]}]}`,
		"huge percent":    `{"earn":[{"percent_bp":100001}]}`,
		"typo in a cap":   `{"earn":[{"percent_bp":1}],"caps":{"per_reciept":1}}`,
		"bad date":        `{"earn":[{"percent_bp":1}],"promos":[{"from":"01.03.2025","to":"2025-03-31","multiplier_bp":2}]}`,
		"reversed window": `{"earn":[{"percent_bp":1}],"promos":[{"from":"2025-04-01","to":"2025-03-31","multiplier_bp":2}]}`,
		"zero multiplier": `{"earn":[{"percent_bp":1}],"promos":[{"from":"2025-03-01","to":"2025-03-31"}]}`,
		"bad bonus":       `{"earn":[{"percent_bp":1}],"bonuses":[{"min_distinct_skus":0,"kopecks":1}]}`,
		"unknown role":    `{"earn":[{"percent_bp":1}],"roles":["boss"]}`,
		"bad check":       `{"earn":[{"percent_bp":1}],"seller_check":"inn"}`,
		"negative cap":    `{"earn":[{"percent_bp":1}],"caps":{"shop_day":-1}}`,
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted %s", name, body)
		}
	}
}

func TestCheckAnomaly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a    Activity
		th   Thresholds
		want string
	}{
		{"normal", Activity{UploadsLastHour: 3, UploadsLastDay: 10, ShopMedianDailyMilli: 4000, SameKKTSameDay: 5}, Thresholds{}, ""},
		{"hour burst", Activity{UploadsLastHour: 13, UploadsLastDay: 13}, Thresholds{}, AnomalyVelocity},
		{"day far above a quiet shop", Activity{UploadsLastHour: 2, UploadsLastDay: 31, ShopMedianDailyMilli: 2000}, Thresholds{}, AnomalyVelocity},
		{"busy shop raises the bar", Activity{UploadsLastHour: 2, UploadsLastDay: 31, ShopMedianDailyMilli: 8000}, Thresholds{}, ""},
		{"just at 5x a busy shop", Activity{UploadsLastDay: 40, ShopMedianDailyMilli: 8000}, Thresholds{}, ""},
		{"above 5x a busy shop", Activity{UploadsLastDay: 41, ShopMedianDailyMilli: 8000}, Thresholds{}, AnomalyVelocity},
		{"one kkt", Activity{UploadsLastDay: 21, ShopMedianDailyMilli: 10000, SameKKTSameDay: 21}, Thresholds{}, AnomalyKKT},
		{"configured", Activity{UploadsLastHour: 3}, Thresholds{HourMax: 2}, AnomalyVelocity},
	} {
		if got := CheckAnomaly(tc.a, tc.th); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
