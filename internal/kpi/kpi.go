// Package kpi defines every dashboard indicator once: its Russian title, the
// formula shown on hover, and the pure function that computes it from
// counts the report store reads out of the rollups. Pages and exports take
// titles and formulas from here, so a definition cannot drift between them.
package kpi

import (
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Def is one indicator's definition.
type Def struct {
	Key     string
	Title   string
	Formula string // shown on hover (title attribute)
}

// The indicators of the overview, in display order.
var (
	VerifiedUnits = Def{"verified_units", "Продано единиц (подтверждено ФНС)",
		"Σ количества в строках чеков, сопоставленных с SKU программы, по чекам в статусах «начислено» и «нет товаров программы» (чек подтверждён ФНС и не отклонён), за вычетом строк чеков возврата (признак расчёта 2 — «возврат прихода»); дата — дата покупки или возврата"}
	VerifiedSum = Def{"verified_sum", "Продажи SKU программы, ₽",
		"Σ сумм строк чеков, сопоставленных с SKU программы, по подтверждённым ФНС и не отклонённым чекам (статусы «начислено», «нет товаров программы»), за вычетом сумм таких строк в чеках возврата"}
	Receipts = Def{"receipts", "Чеков загружено",
		"Число чеков программы с датой покупки (для нераспознанных — датой загрузки) в периоде, в любом статусе"}
	CreditedShare = Def{"credited_share", "Доля чеков с начислением",
		"чеки в статусе «начислено» ÷ все загруженные чеки периода × 100 %"}
	Participation = Def{"participation", "Доля активных участников",
		"участники хотя бы с одним подтверждённым чеком продаж (не возврата) в периоде ÷ зарегистрированные участники клиента (не заблокированные, не тестовые) × 100 %"}
	PointsCredited = Def{"points_credited", "Начислено баллов за период",
		"Σ баллов по чекам в статусе «начислено» с датой покупки в периоде за вычетом баллов, списанных чеками возврата с датой в периоде (1 балл = 1 ₽)"}
	PointsPending = Def{"points_pending", "Баллы в ожидании (сейчас)",
		"Σ остатков счетов participant_pending программы на текущий момент (баллы до закрытия периода)"}
	PointsRedeemed = Def{"points_redeemed", "Потрачено баллов (всего)",
		"Σ баллов, которые участники программы потратили на призы (проводки на счёт redemption в журнале баллов), за всё время"}
	RedemptionRate = Def{"redemption_rate", "Доля потраченных баллов",
		"потрачено баллов ÷ выдано баллов за всё время × 100 %; выдано — всё, что ушло участникам из бюджета программы по журналу баллов: за чеки, задания и реестры, за вычетом возвратов и корректировок"}
	RepeatUpload = Def{"repeat_upload", "Повторные загрузки",
		"участники, загрузившие ≥ 2 чеков в периоде ÷ участники, загрузившие ≥ 1 чек в периоде × 100 %"}
	Churn = Def{"churn", "Отток участников м/м",
		"участники, активные в предпоследнем месяце и не активные в последнем ÷ активные в предпоследнем месяце × 100 % (активный — хотя бы один подтверждённый чек продаж); если последний месяц периода ещё не закончился, сравниваются два последних полных месяца"}
	BurnRate = Def{"burn_rate", "Расход бюджета в день",
		"Σ баллов, ушедших из бюджета программы по журналу баллов (за чеки, задания, реестры, за вычетом возвратов и корректировок реестров; возврат датируется днём исходной покупки) с датой за последние 30 дней ÷ 30 (программа идёт меньше 30 дней — ÷ число её дней); те же данные, что «Израсходовано» и помесячный расход"}
	Forecast = Def{"forecast", "Бюджет закончится",
		"сегодня + остаток на счёте бюджета программы (пополнено − израсходовано) ÷ расход бюджета в день; если остатка хватает дольше срока программы — «хватит до окончания программы»; при расходе меньше 1 балла в день прогноза нет"}
)

// Overview lists the indicators of the overview page in display order.
var Overview = []Def{VerifiedUnits, VerifiedSum, Receipts, CreditedShare, Participation,
	PointsCredited, PointsPending, PointsRedeemed, RedemptionRate, RepeatUpload, Churn}

// SalesStatuses are the receipt statuses whose SKU lines count as verified
// sales: confirmed by the fiscal data operator and not rejected.
var SalesStatuses = []string{"credited", "no_eligible_items"}

// IsSales reports whether a receipt in status counts as a verified sale.
func IsSales(status string) bool {
	for _, s := range SalesStatuses {
		if s == status {
			return true
		}
	}
	return false
}

// Inputs are the counts the indicators are computed from.
type Inputs struct {
	UnitsMilli       int64
	SKUSumKopecks    int64
	ReceiptsByStatus map[string]int64
	Registered       int64
	Active           int64 // ≥1 verified sales receipt in the period
	PointsCredited   int64 // kopecks, period
	PointsPending    int64 // kopecks, now
	PointsAvailable  int64 // kopecks, now
	PointsIssuedAll  int64 // kopecks, all time: paid out of the program budget (ledger)
	PointsRedeemed   int64 // kopecks, all time: spent into redemption (ledger)
	Uploaders        int64
	RepeatUploaders  int64
	ActivePrevMonth  int64
	ChurnedPrevMonth int64 // active in ChurnPrevMonth, not in ChurnMonth
	// ChurnPrevMonth and ChurnMonth are the months churn compares (first
	// days; zero: the period's last two); ChurnShifted says they are the
	// last two complete months because the period's last month is still
	// running.
	ChurnPrevMonth, ChurnMonth time.Time
	ChurnShifted               bool
}

// Value is a computed indicator.
type Value struct {
	Def
	Display string
	// Raw is the number behind Display: a count, kopecks, thousandths of a
	// unit or basis points for rates (exports use it).
	Raw int64
}

// Ratio returns num/den in basis points (1 % = 100), 0 when den is 0.
func Ratio(num, den int64) int64 {
	if den <= 0 {
		return 0
	}
	return (num*10000 + den/2) / den
}

// Redeemed is the points spent (kopecks), never negative.
func Redeemed(in Inputs) int64 {
	return max(in.PointsRedeemed, 0)
}

// monthsIn are Russian month names in the prepositional case ("в марте").
var monthsIn = []string{"январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре",
	"октябре", "ноябре", "декабре"}

func monthIn(t time.Time) string { return fmt.Sprintf("%s %d", monthsIn[t.Month()-1], t.Year()) }

// churnFormula is the churn formula naming the months compared.
func churnFormula(in Inputs) string {
	if in.ChurnMonth.IsZero() {
		return Churn.Formula
	}
	f := fmt.Sprintf("участники, активные в %s и не активные в %s ÷ активные в %s × 100 %% (активный — хотя бы один подтверждённый чек продаж)",
		monthIn(in.ChurnPrevMonth), monthIn(in.ChurnMonth), monthIn(in.ChurnPrevMonth))
	if in.ChurnShifted {
		f += "; последний месяц периода ещё не закончился, поэтому сравниваются два последних полных месяца"
	}
	return f
}

// TotalReceipts sums receipts of every status.
func TotalReceipts(byStatus map[string]int64) int64 {
	var n int64
	for _, v := range byStatus {
		n += v
	}
	return n
}

// Compute returns the overview indicators in Overview order.
func Compute(in Inputs) []Value {
	total := TotalReceipts(in.ReceiptsByStatus)
	redeemed := Redeemed(in)
	vals := []int64{
		in.UnitsMilli, in.SKUSumKopecks, total,
		Ratio(in.ReceiptsByStatus["credited"], total),
		Ratio(in.Active, in.Registered),
		in.PointsCredited, in.PointsPending, redeemed,
		Ratio(redeemed, in.PointsIssuedAll),
		Ratio(in.RepeatUploaders, in.Uploaders),
		Ratio(in.ChurnedPrevMonth, in.ActivePrevMonth),
	}
	disp := []string{
		Units(in.UnitsMilli), Roubles(in.SKUSumKopecks), Int(total),
		Percent(vals[3]), Percent(vals[4]) + fmt.Sprintf(" (%s из %s)", Int(in.Active), Int(in.Registered)),
		Points(in.PointsCredited), Points(in.PointsPending), Points(redeemed),
		Percent(vals[8]), Percent(vals[9]), Percent(vals[10]),
	}
	if !in.ChurnMonth.IsZero() {
		disp[10] += fmt.Sprintf(" (%s → %s)", shortMonth(in.ChurnPrevMonth), shortMonth(in.ChurnMonth))
	}
	out := make([]Value, len(Overview))
	for i, d := range Overview {
		out[i] = Value{Def: d, Raw: vals[i], Display: disp[i]}
		if d.Key == Churn.Key {
			out[i].Formula = churnFormula(in)
		}
	}
	return out
}

var shortMonths = []string{"янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}

func shortMonth(t time.Time) string { return fmt.Sprintf("%s %d", shortMonths[t.Month()-1], t.Year()) }

// BurnPerDay is the average budget spend per day (kopecks) over days.
func BurnPerDay(spentKopecks int64, days int) int64 {
	if days <= 0 {
		return 0
	}
	return spentKopecks / int64(days)
}

// DaysLeft is how many days the remaining budget lasts at burn per day;
// -1 when nothing is being spent (no forecast).
func DaysLeft(remainingKopecks, burnPerDay int64) int64 {
	if burnPerDay <= 0 {
		return -1
	}
	if remainingKopecks <= 0 {
		return 0
	}
	return remainingKopecks / burnPerDay
}

// MinBurnPerDay is the burn rate (kopecks a day) below which there is no
// forecast: under one point a day the budget is not really being spent.
const MinBurnPerDay = 100

// BudgetForecast says when a budget of balance kopecks runs out at burn
// kopecks a day from today, for a program ending on endsOn: no forecast
// when the burn is under MinBurnPerDay, "enough until the end" when it
// lasts past endsOn, otherwise the date.
func BudgetForecast(today, endsOn time.Time, balance, burn int64) string {
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(endsOn.Year(), endsOn.Month(), endsOn.Day(), 0, 0, 0, 0, time.UTC)
	if balance <= 0 {
		return "бюджет исчерпан"
	}
	if burn < MinBurnPerDay {
		return "расход почти не идёт (меньше 1 балла в день) — прогноза нет"
	}
	toEnd := int64(end.Sub(day).Hours() / 24)
	if !endsOn.IsZero() && toEnd < 0 {
		return "программа закончилась " + end.Format("02.01.2006")
	}
	days := DaysLeft(balance, burn)
	if !endsOn.IsZero() && days > toEnd {
		return fmt.Sprintf("хватит до окончания программы %s (останется ≈ %s балл.)", end.Format("02.01.2006"),
			Points(balance-burn*toEnd))
	}
	return fmt.Sprintf("%s (через %s дн.)", day.AddDate(0, 0, int(days)).Format("02.01.2006"), Int(days))
}

// Change is the relative change from prev to cur in basis points and
// whether it is defined (prev ≠ 0).
func Change(cur, prev int64) (int64, bool) {
	if prev == 0 {
		return 0, false
	}
	d := cur - prev
	return (d*10000 + sign(d)*abs(prev)/2) / abs(prev), true
}

func sign(n int64) int64 {
	if n < 0 {
		return -1
	}
	return 1
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// The dashboard's number forms: ASCII-space thousands (the page's font
// sets them narrow), a true minus and a decimal comma.
var (
	intForm    = money.Format{Group: " ", Point: ",", Minus: money.Minus}
	roubleForm = money.Format{Group: " ", Point: ",", Minus: money.Minus, Cents: money.CentsAlways, Unit: " ₽"}
	pointForm  = money.Format{Group: " ", Point: ",", Minus: money.Minus, Cents: money.CentsNonzero}
	unitForm   = money.Format{Group: " ", Point: ",", Minus: money.Minus, Cents: money.CentsTrim}
)

// Int formats n with thousands groups: 1 234 567.
func Int(n int64) string { return intForm.Fixed(n, 0) }

// Roubles formats kopecks as roubles with kopecks: 1 234,50 ₽.
func Roubles(k int64) string { return roubleForm.Format(money.Kopecks(k)) }

// Points formats kopecks of points as points (1 point = 1 rouble):
// 1 234, 1 234,50.
func Points(k int64) string { return pointForm.Format(money.Kopecks(k)) }

// Units formats thousandths of a unit: 12 500 → "12,5".
func Units(milli int64) string { return unitForm.Fixed(milli, 3) }

// Percent formats basis points: 1234 → "12,3 %".
func Percent(bp int64) string {
	sign := ""
	if bp < 0 {
		sign, bp = "−", -bp
	}
	tenths := (bp + 5) / 10
	return fmt.Sprintf("%s%d,%d %%", sign, tenths/10, tenths%10)
}
