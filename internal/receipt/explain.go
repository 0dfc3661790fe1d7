package receipt

import (
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Rate is the earning rule that applied to a line, as the rules engine
// recorded it with the receipt's evaluation: PercentBP of the line's sum
// (500 = 5 %) or FixedPerUnitKopecks per unit, times FactorBP (the SKU's
// weight times a promo multiplier, 10000 = ×1), giving RawKopecks before
// caps. The zero Rate means no rule applied (or it is not known).
type Rate struct {
	PercentBP           int64
	FixedPerUnitKopecks int64
	FactorBP            int64
	Promo               string
	RawKopecks          int64
}

func (r Rate) known() bool { return r.PercentBP > 0 || r.FixedPerUnitKopecks > 0 }

// LineExplanation says in Russian why a line earned the points it did, or
// none: the rate and the arithmetic for an earning line («5 % от 500,00 ₽
// × 1,3 = 32,50»), what cut it (a cap), why nothing matched (the match
// reason), or the reason's text. "" for a line that has not been evaluated.
func LineExplanation(it Item, rate Rate) string {
	code := it.PointsReason
	switch {
	case code == "":
		return ""
	case code == "not_matched" && it.MatchReason != "" && HasMatchMessage(it.MatchReason):
		return "Товар не распознан: " + MatchMessage(it.MatchReason) + "."
	case code == "return_reversed":
		return "Возврат товара: списано " + explainAmount.Format(money.Kopecks(-it.PointsKopecks)) + " за исходную покупку."
	case !rate.known():
		return Message(code)
	}
	formula := rateFormula(it, rate)
	switch code {
	case "earned":
		return formula + " = " + explainAmount.Format(money.Kopecks(rate.RawKopecks)) + "."
	case "earned_promo":
		return formula + " = " + explainAmount.Format(money.Kopecks(rate.RawKopecks)) + " (акция «" + rate.Promo + "»)."
	case "rounded_to_zero":
		return formula + " = " + explainAmount.Format(money.Kopecks(rate.RawKopecks)) + ": меньше копейки, баллов нет."
	}
	// A cap or the budget cut the line.
	return formula + " = " + explainAmount.Format(money.Kopecks(rate.RawKopecks)) + ", начислено " + explainAmount.Format(money.Kopecks(it.PointsKopecks)) +
		": " + lowerFirst(strings.TrimSuffix(Message(code), ".")) + "."
}

// rateFormula is «5 % от 500,00 ₽ × 1,3» or «10,00 за шт. × 2 × 1,3».
func rateFormula(it Item, r Rate) string {
	var b strings.Builder
	if r.FixedPerUnitKopecks > 0 {
		b.WriteString(explainAmount.Format(money.Kopecks(r.FixedPerUnitKopecks)) + " за шт. × " + explainNumber.Fixed(it.QuantityMilli, 3))
	} else {
		b.WriteString(explainNumber.Fixed(r.PercentBP, 2) + " % от " + explainAmount.Format(money.Kopecks(it.SumKopecks)) + " ₽")
	}
	if r.FactorBP > 0 && r.FactorBP != 10_000 {
		b.WriteString(" × " + explainNumber.Fixed(r.FactorBP, 4))
	}
	return b.String()
}

// explainAmount writes kopecks (of roubles or points) with two decimals
// and a decimal comma: 3250 → "32,50", 123456 → "1 234,56" (no-break space).
var explainAmount = money.Format{Group: money.NBSP, Point: ",", Minus: money.Minus, Cents: money.CentsAlways}

// explainNumber writes a rate, quantity or factor with a decimal comma
// and no trailing zeros: 500 bp → "5", 1250 bp → "12,5", 13000 → "1,3".
var explainNumber = money.Format{Group: money.NBSP, Point: ",", Minus: money.Minus, Cents: money.CentsTrim}

func lowerFirst(s string) string {
	for i, r := range s {
		return strings.ToLower(string(r)) + s[i+len(string(r)):]
	}
	return s
}
