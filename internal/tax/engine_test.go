package tax_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

const rub = money.Kopecks(100)

func rules(t *testing.T, year int) tax.Rules {
	t.Helper()
	r, err := tax.Defaults().For(year)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAssess(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		year int
		pos  tax.Position
		res  tax.Residency
		want money.Kopecks
	}{
		{"nothing", 2025, tax.Position{}, tax.Resident, 0},
		{"exactly the exemption", 2025, tax.Position{Standard: 4000 * rub}, tax.Resident, 0},
		{"one kopeck over", 2025, tax.Position{Standard: 4000*rub + 1}, tax.Resident, 0},
		// 3.84 ₽ × 13 % = 0.4992 ₽ → 0; 3.85 ₽ × 13 % = 0.5005 ₽ → 1 ₽ (ст. 52 п. 6)
		{"rounds down under 50 kopecks", 2025, tax.Position{Standard: 4003*rub + 84}, tax.Resident, 0},
		{"rounds up from 50 kopecks", 2025, tax.Position{Standard: 4003*rub + 85}, tax.Resident, 1 * rub},
		{"resident 13 %", 2025, tax.Position{Standard: 10000 * rub}, tax.Resident, 780 * rub},
		{"non-resident 30 %", 2025, tax.Position{Standard: 10000 * rub}, tax.NonResident, 1800 * rub},
		{"advertising 35 %", 2025, tax.Position{Advertising: 10000 * rub}, tax.Resident, 2100 * rub},
		{"advertising non-resident 30 %", 2025, tax.Position{Advertising: 10000 * rub}, tax.NonResident, 1800 * rub},
		// the exemption goes to the 35 % base first: 2000 × 13 % + 0
		{"exemption to advertising first", 2025, tax.Position{Standard: 5000 * rub, Advertising: 3000 * rub}, tax.Resident, 520 * rub},
		{"first band's top", 2025, tax.Position{Standard: 2_404_000 * rub}, tax.Resident, 312_000 * rub},
		{"into the 15 % band", 2025, tax.Position{Standard: 2_414_000 * rub}, tax.Resident, 313_500 * rub},
		{"same income under the 2024 scale", 2024, tax.Position{Standard: 2_414_000 * rub}, tax.Resident, 313_300 * rub},
		{"2024 above 5 million", 2024, tax.Position{Standard: 5_104_000 * rub}, tax.Resident, 650_000*rub + 15_000*rub},
		{"18 % band", 2025, tax.Position{Standard: 5_104_000 * rub}, tax.Resident, 702_000*rub + 18_000*rub},
		{"20 % band", 2025, tax.Position{Standard: 20_104_000 * rub}, tax.Resident, 3_402_000*rub + 20_000*rub},
		{"22 % band", 2025, tax.Position{Standard: 50_104_000 * rub}, tax.Resident, 9_402_000*rub + 22_000*rub},
		{"2026 keeps the 2025 scale", 2026, tax.Position{Standard: 2_414_000 * rub}, tax.Resident, 313_500 * rub},
	} {
		got := rules(t, c.year).Assess(c.pos, c.res).Tax()
		if got != c.want {
			t.Errorf("%s: tax = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRuleVersions(t *testing.T) {
	t.Parallel()
	if _, err := tax.Defaults().For(2020); !errors.Is(err, tax.ErrNoRules) {
		t.Errorf("2020: err = %v", err)
	}
	for year, want := range map[int]string{2021: "2021", 2024: "2021", 2025: "2025", 2031: "2025"} {
		if r := rules(t, year); r.Version != want {
			t.Errorf("%d: version %s, want %s", year, r.Version, want)
		}
	}
	bad := tax.Rules2025
	bad.WithholdCapBP = 3000 // below the 35 % rate: a gross-up would never converge
	if bad.Validate() == nil {
		t.Error("a cap under a rate validated")
	}
	bad = tax.Rules2025
	bad.Resident = []tax.Band{{0, 1300}, {0, 1500}}
	if bad.Validate() == nil {
		t.Error("bands not ascending validated")
	}
}

func TestDeliverNotify(t *testing.T) {
	t.Parallel()
	r := rules(t, 2025)
	var pos tax.Position
	// 3 000 ₽: under the exemption
	o, err := r.Deliver(pos, tax.Resident, tax.Delivery{Value: 3000 * rub, Kind: tax.Standard, Mode: tax.Notify})
	if err != nil || o.Tax != 0 || o.Cash != 0 {
		t.Fatalf("under the exemption: %+v %v", o, err)
	}
	pos = o.After
	// 2 000 ₽ more crosses it: 1 000 ₽ taxable, 130 ₽
	o, _ = r.Deliver(pos, tax.Resident, tax.Delivery{Value: 2000 * rub, Kind: tax.Standard, Mode: tax.Notify})
	if o.Tax != 130*rub || o.NotWithheld != 130*rub || o.Withheld != 0 {
		t.Fatalf("crossing: %+v", o)
	}
	pos = o.After
	// the participant becomes a non-resident: 1 000 ₽ more reassesses the
	// year at 30 %: 2 000 × 30 % = 600, less the 130 computed
	o, _ = r.Deliver(pos, tax.NonResident, tax.Delivery{Value: 1000 * rub, Kind: tax.Standard, Mode: tax.Notify})
	if o.Tax != 470*rub || o.After.Computed != 600*rub {
		t.Fatalf("residency change: %+v", o)
	}
	pos = o.After
	// reversing the last reward: back to 1 000 ₽ taxable at 30 %
	o, err = r.Reverse(pos, tax.NonResident, tax.Reversal{Value: 1000 * rub, Kind: tax.Standard, Mode: tax.Notify})
	if err != nil || o.Tax != -300*rub || o.NotWithheld != -300*rub || o.After.Computed != 300*rub {
		t.Fatalf("reversal: %+v %v", o, err)
	}
	if _, err := r.Reverse(o.After, tax.NonResident, tax.Reversal{Value: 1_000_000 * rub, Kind: tax.Standard, Mode: tax.Notify}); err == nil {
		t.Error("reversing more than the income passed")
	}
	if _, err := r.Deliver(pos, tax.Resident, tax.Delivery{Value: 0, Kind: tax.Standard, Mode: tax.Notify}); !errors.Is(err, tax.ErrBadDelivery) {
		t.Errorf("zero value: %v", err)
	}
}

func TestGrossUp(t *testing.T) {
	t.Parallel()
	r := rules(t, 2025)
	for _, c := range []struct {
		name     string
		res      tax.Residency
		kind     tax.RateKind
		value    money.Kopecks
		cap      int64
		wantCash money.Kopecks
	}{
		{"under the exemption", tax.Resident, tax.Standard, 4000 * rub, 10000, 0},
		// cash = round(13 % × (6 000 + cash)): 896 ₽ (13 % of 6 896 is 896.48 → 896)
		{"resident gift", tax.Resident, tax.Standard, 10000 * rub, 10000, 896 * rub},
		// 35 % × (6 000 + cash) = cash → 3 230.77; whole roubles make it 3 231
		{"advertising prize", tax.Resident, tax.Advertising, 10000 * rub, 10000, 3231 * rub},
		{"non-resident", tax.NonResident, tax.Standard, 10000 * rub, 10000, 2571 * rub},
		// half of the cash at most (ст. 226 п. 4): cash = 2 × tax
		{"50 % cap", tax.Resident, tax.Standard, 10000 * rub, 5000, 0},
	} {
		rr := r
		rr.WithholdCapBP = c.cap
		o, err := rr.Deliver(tax.Position{}, c.res, tax.Delivery{Value: c.value, Kind: c.kind, Mode: tax.GrossUp})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.wantCash != 0 && o.Cash != c.wantCash {
			t.Errorf("%s: cash %s, want %s", c.name, o.Cash, c.wantCash)
		}
		checkGrossUp(t, c.name, rr, tax.Position{}, c.res, tax.Delivery{Value: c.value, Kind: c.kind, Mode: tax.GrossUp}, o)
	}
}

// checkGrossUp checks the gross-up's promise: the whole tax is withheld
// from the cash part within the cap, and one kopeck less cash would not
// carry its own tax.
func checkGrossUp(t *testing.T, name string, r tax.Rules, before tax.Position, res tax.Residency, d tax.Delivery, o tax.Outcome) {
	t.Helper()
	if o.NotWithheld != 0 || o.Withheld != o.Tax {
		t.Errorf("%s: withheld %s of %s", name, o.Withheld, o.Tax)
	}
	if int64(o.Tax)*10000 > int64(o.Cash)*r.WithholdCapBP {
		t.Errorf("%s: tax %s over the cap of cash %s", name, o.Tax, o.Cash)
	}
	if o.Tax%100 != 0 {
		t.Errorf("%s: tax %s not in whole roubles", name, o.Tax)
	}
	if o.Cash > 0 {
		less := before
		if d.Kind == tax.Advertising {
			less.Advertising += d.Value + o.Cash - 1
		} else {
			less.Standard += d.Value + o.Cash - 1
		}
		t1 := r.Assess(less, res).Tax() - before.Computed
		if int64(t1)*10000 <= int64(o.Cash-1)*r.WithholdCapBP {
			t.Errorf("%s: cash %s is not the least (one kopeck less carries tax %s)", name, o.Cash, t1)
		}
	}
}

func TestGrossUpRandom(t *testing.T) {
	t.Parallel()
	r := rules(t, 2025)
	rng := rand.New(rand.NewPCG(7, 18))
	for i := 0; i < 3000; i++ {
		var pos tax.Position
		res := tax.Resident
		if i%5 == 0 {
			res = tax.NonResident
		}
		rr := r
		if i%3 == 0 {
			rr.WithholdCapBP = 5000
		}
		for j := 0; j < 5; j++ {
			kind := tax.Standard
			if rng.IntN(3) == 0 {
				kind = tax.Advertising
			}
			d := tax.Delivery{Value: money.Kopecks(1 + rng.Int64N(int64(3_000_000*rub))), Kind: kind, Mode: tax.GrossUp}
			if rng.IntN(2) == 0 {
				d.Value = money.Kopecks(1 + rng.Int64N(int64(3000*rub)))
			}
			o, err := rr.Deliver(pos, res, d)
			if err != nil {
				t.Fatal(err)
			}
			checkGrossUp(t, "random", rr, pos, res, d, o)
			if o.After.Computed != rr.Assess(o.After, res).Tax() {
				t.Fatalf("computed %s drifts from the assessment", o.After.Computed)
			}
			pos = o.After
		}
	}
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	msk := time.FixedZone("MSK", 3*3600)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, msk) }
	for _, c := range []struct {
		withheld, pay, notice time.Time
	}{
		{day(2025, 3, 5), day(2025, 3, 28), day(2025, 3, 25)},
		{day(2025, 3, 22), day(2025, 3, 28), day(2025, 3, 25)},
		{day(2025, 3, 23), day(2025, 4, 28), day(2025, 4, 25)},
		// 28 June 2025 is a Saturday: Monday 30 June; 25 June is a Wednesday
		{day(2025, 6, 10), day(2025, 6, 30), day(2025, 6, 25)},
		{day(2025, 12, 22), day(2025, 12, 29), day(2025, 12, 25)},
		// 28 February 2026 is a Saturday: payment Monday 2 March, the notice still by 25 February
		{day(2026, 2, 10), day(2026, 3, 2), day(2026, 2, 25)},
		// 31 December 2026 is a Thursday
		{day(2026, 12, 23), day(2026, 12, 31), day(2026, 12, 31)},
		// 31 December 2027 is a Friday, 2028's a Sunday → Friday 29th
		{day(2028, 12, 30), day(2028, 12, 29), day(2028, 12, 29)},
	} {
		if got := tax.PaymentDeadline(c.withheld); !got.Equal(c.pay) {
			t.Errorf("withheld %s: pay by %s, want %s", c.withheld.Format(time.DateOnly), got.Format(time.DateOnly), c.pay.Format(time.DateOnly))
		}
		if got := tax.NoticeDeadline(c.withheld); !got.Equal(c.notice) {
			t.Errorf("withheld %s: notice by %s, want %s", c.withheld.Format(time.DateOnly), got.Format(time.DateOnly), c.notice.Format(time.DateOnly))
		}
	}
	// 25 February 2029 is a Sunday
	if got := tax.NotWithheldDeadline(2028, msk); !got.Equal(day(2029, 2, 26)) {
		t.Errorf("not withheld 2028: %s", got.Format(time.DateOnly))
	}
}

func TestBands(t *testing.T) {
	t.Parallel()
	r := rules(t, 2025)
	for _, base := range []money.Kopecks{0, 1, 1000*rub + 37, 2_400_000 * rub, 2_400_000*rub + 3, 7_777_777*rub + 77, 60_000_000*rub + 1} {
		parts := r.Bands(base)
		var b, tx money.Kopecks
		for _, p := range parts {
			b += p.Base
			tx += p.Tax
		}
		want := r.Assess(tax.Position{Standard: base + r.Exemption}, tax.Resident)
		if b != base || tx != want.TaxStandard {
			t.Errorf("base %s: parts %+v add to %s / %s, want %s / %s", base, parts, b, tx, base, want.TaxStandard)
		}
	}
	if p := r.Bands(2_500_000 * rub); len(p) != 2 || p[0].Tax != 312_000*rub || p[1].Base != 100_000*rub || p[1].Tax != 15_000*rub {
		t.Errorf("2.5 M: %+v", p)
	}
}
