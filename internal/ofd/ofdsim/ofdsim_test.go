package ofdsim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScenarioFromFN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fn   string
		want Scenario
	}{
		{"7380440801185382", Scenario{Name: ScenarioOK}},
		{"9999000000000001", Scenario{Name: ScenarioOK}},
		{"9999010003000001", Scenario{Name: ScenarioPendingCalls, Calls: 3}},
		{"9999010000000001", Scenario{Name: ScenarioPendingCalls, Calls: 2}},
		{"9999020120000001", Scenario{Name: ScenarioPendingFor, Duration: Duration(2 * time.Minute)}},
		{"9999030000000001", Scenario{Name: ScenarioInvalidFP}},
		{"9999080001000001", Scenario{Name: ScenarioServerError, SOAPFault: true}},
		{"9999090500000001", Scenario{Name: ScenarioSlow, Delay: Duration(500 * time.Millisecond)}},
		{"9999100000000001", Scenario{Name: ScenarioMalformed}},
		{"9999990000000001", Scenario{Name: ScenarioOK}},
		{"999901000300000", Scenario{Name: ScenarioOK}}, // 15 digits
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, ScenarioFromFN(tc.fn)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.fn, diff)
		}
	}
}

func TestGeneratedItemsHitTheSum(t *testing.T) {
	t.Parallel()
	products := DefaultAssortment()
	for i := 0; i < 2000; i++ {
		fn := fmt.Sprintf("72814405%08d", i)
		shop := generateShop(fn)
		total := int64(i*i*37) % 2_000_000
		r := generateReceipt(products, shop, q{FN: fn, FD: uint64(i + 1), FP: 1, Sum: total, HasSum: true, Time: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}, time.Now())
		var sum int64
		for _, it := range r.Items {
			sum += it.SumKopecks
			if it.SumKopecks < 0 || it.PriceKopecks < 0 || it.QuantityMilli <= 0 {
				t.Fatalf("%s: bad item %+v", fn, it)
			}
			if got := roundDiv(it.PriceKopecks*it.QuantityMilli, 1000); got != it.SumKopecks {
				t.Fatalf("%s: %s: price×qty %d != sum %d", fn, it.Name, got, it.SumKopecks)
			}
		}
		if sum != total || r.Total != total || r.Cash+r.ECash != total {
			t.Fatalf("%s: items %d, total %d, cash+ecash %d, want %d", fn, sum, r.Total, r.Cash+r.ECash, total)
		}
		if len(shop.INN) != 10 || len(shop.KKTRegID) != 16 {
			t.Fatalf("shop %+v", shop)
		}
	}
}

func TestAssortmentHoldsDemoSKUsAndOthers(t *testing.T) {
	t.Parallel()
	var demo, other int
	for _, p := range DefaultAssortment() {
		if strings.HasPrefix(p.GTIN, "4609871") || strings.HasPrefix(p.GTIN, "4609534") {
			demo++
		} else {
			other++
		}
	}
	if demo < 40 || other < 30 {
		t.Errorf("demo %d, other %d", demo, other)
	}
	if _, err := ParseAssortment(strings.NewReader("kind,name,price_kopecks,gtin,marked,weight,nds\nauto,x,-1,,0,0,1\n")); err == nil {
		t.Error("negative price accepted")
	}
}

func FuzzParseQR(f *testing.F) {
	f.Add("t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1")
	f.Add("t%3D20240301T0915%26s%3D99.90%26fn%3D7281440500123456%26i%3D4523%26fp%3D12345%26n%3D1")
	f.Fuzz(func(t *testing.T, s string) {
		if qr, ok := parseQR(s); ok && (len(qr.FN) != 16 || qr.FD == 0 || qr.FP == 0) {
			t.Errorf("accepted %q as %+v", s, qr)
		}
	})
}

// A negative amount (a discount line) is written with one leading minus:
// "-1.50", not "-1.-50" as the simulator's own formatter once did.
func TestReceiptHTMLNegativeAmount(t *testing.T) {
	t.Parallel()
	r := Receipt{Total: 9850, Items: []Item{
		{Name: "Товар", PriceKopecks: 10000, QuantityMilli: 1000, SumKopecks: 10000},
		{Name: "Скидка", PriceKopecks: -150, QuantityMilli: 1000, SumKopecks: -150},
	}}
	got := receiptHTML(r)
	for _, want := range []string{"<td>-1.50</td>", "<td>100.00</td>", "<td>98.50</td>"} {
		if !strings.Contains(got, want) {
			t.Errorf("receiptHTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, ".-") {
		t.Errorf("receiptHTML has a minus inside a number:\n%s", got)
	}
}
