package receipt

import (
	"strconv"
	"strings"
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
		return "Возврат товара: списано " + formatPoints(-it.PointsKopecks) + " за исходную покупку."
	case !rate.known():
		return Message(code)
	}
	formula := rateFormula(it, rate)
	switch code {
	case "earned":
		return formula + " = " + formatPoints(rate.RawKopecks) + "."
	case "earned_promo":
		return formula + " = " + formatPoints(rate.RawKopecks) + " (акция «" + rate.Promo + "»)."
	case "rounded_to_zero":
		return formula + " = " + formatPoints(rate.RawKopecks) + ": меньше копейки, баллов нет."
	}
	// A cap or the budget cut the line.
	return formula + " = " + formatPoints(rate.RawKopecks) + ", начислено " + formatPoints(it.PointsKopecks) +
		": " + lowerFirst(strings.TrimSuffix(Message(code), ".")) + "."
}

// rateFormula is «5 % от 500,00 ₽ × 1,3» or «10,00 за шт. × 2 × 1,3».
func rateFormula(it Item, r Rate) string {
	var b strings.Builder
	if r.FixedPerUnitKopecks > 0 {
		b.WriteString(formatPoints(r.FixedPerUnitKopecks) + " за шт. × " + formatDecimal(it.QuantityMilli, 3))
	} else {
		b.WriteString(formatDecimal(r.PercentBP, 2) + " % от " + formatPoints(it.SumKopecks) + " ₽")
	}
	if r.FactorBP > 0 && r.FactorBP != 10_000 {
		b.WriteString(" × " + formatDecimal(r.FactorBP, 4))
	}
	return b.String()
}

// formatPoints writes kopecks (of roubles or points) with two decimals
// and a decimal comma: 3250 → "32,50", 123456 → "1 234,56" (no-break space).
func formatPoints(k int64) string {
	neg := k < 0
	if neg {
		k = -k
	}
	s := group(strconv.FormatInt(k/100, 10)) + "," + strconv.FormatInt(100+k%100, 10)[1:]
	if neg {
		return "−" + s
	}
	return s
}

// formatDecimal writes v/10^scale with a decimal comma and no trailing
// zeros: (500, 2) → "5", (1250, 2) → "12,5", (13000, 4) → "1,3".
func formatDecimal(v int64, scale int) string {
	p := int64(1)
	for range scale {
		p *= 10
	}
	s := group(strconv.FormatInt(v/p, 10))
	if frac := v % p; frac != 0 {
		f := strconv.FormatInt(p+frac, 10)[1:]
		s += "," + strings.TrimRight(f, "0")
	}
	return s
}

// group puts a no-break space between thousands: "1234567" → "1 234 567".
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func lowerFirst(s string) string {
	for i, r := range s {
		return strings.ToLower(string(r)) + s[i+len(string(r)):]
	}
	return s
}
