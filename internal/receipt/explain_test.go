package receipt_test

import (
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// The explanation a seller reads under each line of a receipt.
func TestLineExplanation(t *testing.T) {
	t.Parallel()
	pct := receipt.Rate{PercentBP: 500, FactorBP: 13_000, RawKopecks: 3250}
	tests := []struct {
		name string
		it   receipt.Item
		rate receipt.Rate
		want string
	}{
		{"percent with weight", receipt.Item{SumKopecks: 50_000, PointsKopecks: 3250, PointsReason: "earned"}, pct,
			"5 % от 500,00 ₽ × 1,3 = 32,50."},
		{"percent, weight 1", receipt.Item{SumKopecks: 123_456, PointsKopecks: 6173, PointsReason: "earned"},
			receipt.Rate{PercentBP: 500, FactorBP: 10_000, RawKopecks: 6173}, "5 % от 1\u00a0234,56 ₽ = 61,73."},
		{"fractional percent", receipt.Item{SumKopecks: 10_000, PointsKopecks: 250, PointsReason: "earned"},
			receipt.Rate{PercentBP: 250, FactorBP: 10_000, RawKopecks: 250}, "2,5 % от 100,00 ₽ = 2,50."},
		{"promo", receipt.Item{SumKopecks: 50_000, PointsKopecks: 6500, PointsReason: "earned_promo"},
			receipt.Rate{PercentBP: 500, FactorBP: 26_000, Promo: "Весна", RawKopecks: 6500},
			"5 % от 500,00 ₽ × 2,6 = 65,00 (акция «Весна»)."},
		{"fixed per unit", receipt.Item{QuantityMilli: 2000, SumKopecks: 90_000, PointsKopecks: 2600, PointsReason: "earned"},
			receipt.Rate{FixedPerUnitKopecks: 1000, FactorBP: 13_000, RawKopecks: 2600}, "10,00 за шт. × 2 × 1,3 = 26,00."},
		{"capped", receipt.Item{SumKopecks: 50_000, PointsKopecks: 1000, PointsReason: "cap_participant_day"}, pct,
			"5 % от 500,00 ₽ × 1,3 = 32,50, начислено 10,00: достигнут дневной лимит баллов."},
		{"budget", receipt.Item{SumKopecks: 50_000, PointsReason: "budget_exhausted"}, pct,
			"5 % от 500,00 ₽ × 1,3 = 32,50, начислено 0,00: бюджет программы исчерпан."},
		{"rounded to zero", receipt.Item{SumKopecks: 10, PointsReason: "rounded_to_zero"},
			receipt.Rate{PercentBP: 500, FactorBP: 10_000}, "5 % от 0,10 ₽ = 0,00: меньше копейки, баллов нет."},
		{"not matched, with why", receipt.Item{PointsReason: "not_matched", MatchReason: "gtin_not_ours"}, receipt.Rate{},
			"Товар не распознан: штрихкод из кода маркировки не из каталога программы."},
		{"not matched", receipt.Item{PointsReason: "not_matched"}, receipt.Rate{}, "Товар не распознан в каталоге программы."},
		{"not in program", receipt.Item{PointsReason: "sku_not_in_program"}, receipt.Rate{}, "Товар не участвует в программе."},
		{"receipt-level", receipt.Item{PointsReason: "outside_program_dates"}, receipt.Rate{}, "Покупка совершена вне сроков программы."},
		{"return", receipt.Item{PointsKopecks: -3250, PointsReason: "return_reversed"}, receipt.Rate{},
			"Возврат товара: списано 32,50 за исходную покупку."},
		{"earned, rate unknown (older data)", receipt.Item{PointsKopecks: 100, PointsReason: "earned"}, receipt.Rate{}, "Баллы начислены."},
		{"not evaluated", receipt.Item{}, receipt.Rate{}, ""},
	}
	for _, tc := range tests {
		if got := receipt.LineExplanation(tc.it, tc.rate); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
