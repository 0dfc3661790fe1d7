package rules

import "testing"

func TestSKURate(t *testing.T) {
	r := Rules{Earn: []Earn{
		{Selector: Selector{SKUs: []string{"A1"}}, FixedPerUnitKopecks: 1000},
		{Selector: Selector{Brands: []string{"Ветлуга"}}, PercentBP: 500},
	}}
	for _, tc := range []struct {
		l    Line
		want string
	}{
		{Line{SKU: "A1", Brand: "Ветлуга", MarginBP: 10000}, "10\u00a0₽ за единицу товара"},
		{Line{SKU: "B2", Brand: "ветлуга", MarginBP: 13000}, "5\u00a0% от суммы строки ×\u00a01,3"},
		{Line{SKU: "C3", Brand: "Другой", MarginBP: 10000}, ""},
	} {
		if got := r.SKURate(tc.l); got != tc.want {
			t.Errorf("SKURate(%+v) = %q, want %q", tc.l, got, tc.want)
		}
	}
}
