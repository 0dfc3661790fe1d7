package program

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Limits of a rules body an editor may save (beyond rules.Validate's):
// enough for any real program, small enough that a hostile body cannot
// make evaluation or the page heavy.
const (
	MaxEarnRules    = 200
	MaxBonuses      = 50
	MaxPromos       = 200
	MaxSelectorList = 2000
)

// RulesProblems lists, in Russian and in the editor's terms, every problem
// of r: the same checks as rules.Validate, plus size limits.
func RulesProblems(r rules.Rules) []string {
	var out []string
	add := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	if len(r.Earn) == 0 {
		add("Нужно хотя бы одно правило начисления (баллы за единицу или %% от суммы строки).")
	}
	if len(r.Earn) > MaxEarnRules || len(r.Bonuses) > MaxBonuses || len(r.Promos) > MaxPromos {
		add("Слишком много правил: не больше %d правил начисления, %d бонусов и %d акций.", MaxEarnRules, MaxBonuses, MaxPromos)
	}
	sel := func(what string, s rules.Selector) {
		if len(s.SKUs)+len(s.Categories)+len(s.Brands) > MaxSelectorList {
			add("%s: слишком длинный список товаров (больше %d).", what, MaxSelectorList)
		}
	}
	for i, e := range r.Earn {
		what := fmt.Sprintf("Правило начисления %d", i+1)
		switch {
		case (e.FixedPerUnitKopecks > 0) == (e.PercentBP > 0):
			add("%s: укажите либо баллы за единицу товара, либо процент от суммы строки — что-то одно.", what)
		case e.FixedPerUnitKopecks > 100_000_00:
			add("%s: баллов за единицу — не больше 100 000.", what)
		case e.PercentBP > 100_000:
			add("%s: процент от суммы строки — не больше 1000 %%.", what)
		case e.FixedPerUnitKopecks < 0 || e.PercentBP < 0:
			add("%s: ставка не может быть отрицательной.", what)
		}
		sel(what, e.Selector)
	}
	for i, b := range r.Bonuses {
		what := fmt.Sprintf("Бонус за чек %d", i+1)
		if b.MinDistinctSKUs < 1 {
			add("%s: минимальное число разных SKU в чеке — от 1.", what)
		}
		if b.Kopecks <= 0 || b.Kopecks > 1_000_000_00 {
			add("%s: размер бонуса — больше 0 и не больше 1 000 000 баллов.", what)
		}
	}
	for i, p := range r.Promos {
		what := fmt.Sprintf("Акция %d", i+1)
		if strings.TrimSpace(p.Name) == "" {
			add("%s: нужно название.", what)
		}
		if p.From.IsZero() || p.To.IsZero() || p.To.Before(p.From.Time) {
			add("%s: укажите даты начала и окончания, начало не позже окончания.", what)
		}
		if p.MultiplierBP < 1 || p.MultiplierBP > 100_000 {
			add("%s: множитель — от 0,0001 до 10.", what)
		}
		sel(what, p.Selector)
	}
	for _, role := range r.Roles {
		if !slices.Contains(knownRoles, role) {
			add("Неизвестная роль участника «%s».", clip(role))
		}
	}
	switch r.SellerCheck {
	case "", "shop", "kkt", "none":
	default:
		add("Проверка магазина: «shop» (касса или ИНН и адрес магазина), «kkt» (только касса) или «none» (не проверять).")
	}
	c := r.Caps
	if c.PerReceipt < 0 || c.ParticipantDay < 0 || c.ParticipantWeek < 0 || c.ParticipantPeriod < 0 || c.ShopDay < 0 {
		add("Лимиты не могут быть отрицательными (0 — без лимита).")
	}
	if len(out) == 0 {
		if err := r.Validate(); err != nil {
			add("Правила не прошли проверку: %s", err.Error())
		}
	}
	return out
}

// CheckRules returns an Invalid error listing every problem of r in
// Russian, or nil.
func CheckRules(r rules.Rules) error {
	if p := RulesProblems(r); len(p) > 0 {
		return &rulesError{problems: p}
	}
	return nil
}

type rulesError struct{ problems []string }

func (e *rulesError) Error() string { return strings.Join(e.problems, " ") }

// Problems returns the list of problems of a rules error from CheckRules.
func Problems(err error) []string {
	if e, ok := err.(*rulesError); ok {
		return e.problems
	}
	return nil
}
