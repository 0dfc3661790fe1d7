package rules

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	const nb, th = "\u00a0", "\u202f"
	for _, tc := range []struct {
		name  string
		rules Rules
		want  Description
	}{
		{"percent of every SKU, nothing else", Rules{Earn: []Earn{{PercentBP: 500}}}, Description{
			Earn: []string{"5" + nb + "% от суммы строки × вес SKU — все SKU программы."}, Caps: []string{"Лимитов нет."},
			Roles: "Участвуют все роли.", Seller: "Чек должен быть пробит в магазине участника: на его кассе или с его ИНН по его адресу."}},
		{"earn kinds and selectors", Rules{Earn: []Earn{
			{Selector: Selector{SKUs: []string{"VT-1001", "VT-1002"}}, PercentBP: 250},
			{Selector: Selector{Categories: []string{"Антифризы"}}, FixedPerUnitKopecks: 1050},
			{Selector: Selector{Brands: []string{"Термокс", "Ветлуга"}}, FixedPerUnitKopecks: 150000},
			{Selector: Selector{Categories: []string{"Масла", "Жидкости"}, Brands: []string{"Термокс"}}, PercentBP: 1},
		}, SellerCheck: "kkt", Roles: []string{"seller", "merchandiser"}}, Description{
			Earn: []string{
				"2,5" + nb + "% от суммы строки × вес SKU — SKU VT-1001, VT-1002.",
				"10,50" + nb + "₽ за единицу товара × вес SKU — категория «Антифризы».",
				"1" + th + "500" + nb + "₽ за единицу товара × вес SKU — бренды «Термокс», «Ветлуга».",
				"0,01" + nb + "% от суммы строки × вес SKU — категории «Масла», «Жидкости»; бренд «Термокс».",
			},
			Caps: []string{"Лимитов нет."}, Roles: "Участвуют: продавцы, мерчендайзеры.",
			Seller: "Чек должен быть пробит на кассе магазина участника."}},
		{"bonuses, promos and every cap", Rules{Earn: []Earn{{PercentBP: 500}},
			Bonuses: []Bonus{{Name: "Два SKU в чеке", MinDistinctSKUs: 2, Kopecks: 2000}, {Name: "Пять", MinDistinctSKUs: 5, Kopecks: 150}},
			Promos: []Promo{{Name: "Весна", From: MustDate("2026-03-01"), To: MustDate("2026-03-31"), MultiplierBP: 20000},
				{Name: "Антифриз", From: MustDate("2026-04-01"), To: MustDate("2026-04-07"), MultiplierBP: 15000,
					Selector: Selector{Categories: []string{"Антифризы"}}}},
			Caps:        Caps{PerReceipt: 15000, ParticipantDay: 50000, ParticipantWeek: 200000, ParticipantPeriod: 1234567, ShopDay: 100000050},
			SellerCheck: "none"}, Description{
			Earn: []string{"5" + nb + "% от суммы строки × вес SKU — все SKU программы."},
			Bonuses: []string{"«Два SKU в чеке»: +20" + nb + "баллов за чек, в котором не меньше 2 разных SKU с баллами.",
				"«Пять»: +1,5" + nb + "балла за чек, в котором не меньше 5 разных SKU с баллами."},
			Promos: []string{"«Весна»: баллы ×" + nb + "2 за покупки с 01.03.2026 по 31.03.2026 — все SKU программы.",
				"«Антифриз»: баллы ×" + nb + "1,5 за покупки с 01.04.2026 по 07.04.2026 — категория «Антифризы»."},
			Caps: []string{"Не больше 150" + nb + "₽ за один чек.", "Не больше 500" + nb + "₽ участнику в день.",
				"Не больше 2" + th + "000" + nb + "₽ участнику в неделю (пн–вс).", "Не больше 12" + th + "345,67" + nb + "₽ участнику за всю программу.",
				"Не больше 1" + th + "000" + th + "000,50" + nb + "₽ магазину в день."},
			Roles: "Участвуют все роли.", Seller: "Магазин, где пробит чек, не проверяется."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Describe(tc.rules)); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDescribeEveryCap: a cap added to Caps must be described too.
func TestDescribeEveryCap(t *testing.T) {
	t.Parallel()
	v := reflect.ValueOf(&Caps{}).Elem()
	for i := range v.NumField() {
		var c Caps
		reflect.ValueOf(&c).Elem().Field(i).SetInt(100)
		d := Describe(Rules{Earn: []Earn{{PercentBP: 1}}, Caps: c})
		if len(d.Caps) != 1 || d.Caps[0] == "Лимитов нет." {
			t.Errorf("cap %s is not described: %q", v.Type().Field(i).Name, d.Caps)
		}
	}
}
