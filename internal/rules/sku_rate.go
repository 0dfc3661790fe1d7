package rules

import "github.com/loyaltyjam/loyaltyjam/internal/money"

// SKURate is how one SKU earns under r, in Russian, as a participant reads
// it on the program screen: "5 % от суммы строки × 1,3" or "10 ₽ за единицу
// × 1,3" (the SKU's margin weight applied), or "" when no earning rule
// takes the SKU (it earns nothing). The rule is the first whose selector
// takes the SKU, as in Evaluate.
func (r Rules) SKURate(l Line) string {
	for _, e := range r.Earn {
		if !e.takes(l) {
			continue
		}
		var rate string
		if e.PercentBP > 0 {
			rate = percent(e.PercentBP) + " от суммы строки"
		} else {
			rate = ruleMoney.Format(money.Kopecks(e.FixedPerUnitKopecks)) + " за единицу товара"
		}
		if l.MarginBP > 0 && l.MarginBP != 10000 {
			rate += " " + multiplier(l.MarginBP)
		}
		return rate
	}
	return ""
}
