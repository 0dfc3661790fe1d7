package rules

import (
	"fmt"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Description is a version of the rules in Russian, as the client's
// manager reads it on the settings page: one sentence per rule.
type Description struct {
	Earn    []string // how lines earn, in order of precedence
	Bonuses []string
	Promos  []string
	Caps    []string // "Лимитов нет." when there are none
	Roles   string
	Seller  string // how the receipt's seller is checked
}

// Describe renders r in Russian: rates as percentages and roubles with
// Russian number formatting, multipliers and weights as "× 1,5", caps in
// roubles (1 point = 1 ₽).
func Describe(r Rules) Description {
	var d Description
	for _, e := range r.Earn {
		var rate string
		if e.PercentBP > 0 {
			rate = percent(e.PercentBP) + " от суммы строки × вес SKU"
		} else {
			rate = ruleMoney.Format(money.Kopecks(e.FixedPerUnitKopecks)) + " за единицу товара × вес SKU"
		}
		d.Earn = append(d.Earn, rate+" — "+selector(e.Selector)+".")
	}
	for _, b := range r.Bonuses {
		d.Bonuses = append(d.Bonuses, fmt.Sprintf("«%s»: +%s за чек, в котором не меньше %d %s с баллами.",
			b.Name, points(b.Kopecks), b.MinDistinctSKUs, money.Plural(int64(b.MinDistinctSKUs), "разного SKU", "разных SKU", "разных SKU")))
	}
	for _, p := range r.Promos {
		d.Promos = append(d.Promos, fmt.Sprintf("«%s»: баллы %s за покупки с %s по %s — %s.", p.Name, multiplier(p.MultiplierBP),
			p.From.Format("02.01.2006"), p.To.Format("02.01.2006"), selector(p.Selector)))
	}
	for _, c := range []struct {
		kopecks int64
		what    string
	}{
		{r.Caps.PerReceipt, "за один чек"},
		{r.Caps.ParticipantDay, "участнику в день"},
		{r.Caps.ParticipantWeek, "участнику в неделю (пн–вс)"},
		{r.Caps.ParticipantPeriod, "участнику за всю программу"},
		{r.Caps.ShopDay, "магазину в день"},
	} {
		if c.kopecks > 0 {
			d.Caps = append(d.Caps, "Не больше "+ruleMoney.Format(money.Kopecks(c.kopecks))+" "+c.what+".")
		}
	}
	if len(d.Caps) == 0 {
		d.Caps = []string{"Лимитов нет."}
	}
	if len(r.Roles) == 0 {
		d.Roles = "Участвуют все роли."
	} else {
		names := make([]string, len(r.Roles))
		for i, role := range r.Roles {
			names[i] = roleName(role)
		}
		d.Roles = "Участвуют: " + strings.Join(names, ", ") + "."
	}
	switch r.SellerCheck {
	case "kkt":
		d.Seller = "Чек должен быть пробит на кассе магазина участника."
	case "none":
		d.Seller = "Магазин, где пробит чек, не проверяется."
	default:
		d.Seller = "Чек должен быть пробит в магазине участника: на его кассе или с его ИНН по его адресу."
	}
	return d
}

var roleNames = map[string]string{"seller": "продавцы", "sales_rep": "торговые представители",
	"merchandiser": "мерчендайзеры", "dealer": "дилеры", "manager": "менеджеры"}

func roleName(role string) string {
	if n, ok := roleNames[role]; ok {
		return n
	}
	return role
}

// selector says which SKUs a rule takes.
func selector(s Selector) string {
	if s.empty() {
		return "все SKU программы"
	}
	var parts []string
	if len(s.SKUs) > 0 {
		parts = append(parts, "SKU "+strings.Join(s.SKUs, ", "))
	}
	quote := func(list []string) string { return "«" + strings.Join(list, "», «") + "»" }
	if len(s.Categories) > 0 {
		parts = append(parts, money.Plural(int64(len(s.Categories)), "категория ", "категории ", "категории ")+quote(s.Categories))
	}
	if len(s.Brands) > 0 {
		parts = append(parts, money.Plural(int64(len(s.Brands)), "бренд ", "бренды ", "бренды ")+quote(s.Brands))
	}
	return strings.Join(parts, "; ")
}

// ruleNumber is how the description writes numbers: a decimal comma,
// trailing zeros dropped and narrow no-break thousands: 12345 kopecks →
// "123,45", 500 basis points → "5".
var ruleNumber = money.Format{Group: money.NarrowNBSP, Point: ",", Minus: money.Minus, Cents: money.CentsTrim}

// ruleMoney writes kopecks as money: 150000 → "1 500 ₽", 150 → "1,50 ₽".
var ruleMoney = money.Format{Group: money.NarrowNBSP, Point: ",", Minus: money.Minus, Cents: money.CentsNonzero, Unit: money.NBSP + "₽"}

// percent writes basis points: 500 → "5 %", 250 → "2,5 %".
func percent(bp int64) string { return ruleNumber.Fixed(bp, 2) + "\u00a0%" }

// multiplier writes basis points as a factor: 20000 → "× 2", 15000 → "× 1,5".
func multiplier(bp int64) string { return "×\u00a0" + ruleNumber.Fixed(bp, 4) }

// points writes kopecks as points with the noun: "20 баллов", "1,5 балла".
func points(k int64) string {
	return ruleNumber.Format(money.Kopecks(k)) + "\u00a0" + money.PointsNoun(money.Kopecks(k))
}
