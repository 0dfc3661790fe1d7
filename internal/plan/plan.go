// Package plan is the domain of sales plans and threshold bonuses (issue
// 20): each participant has a plan (target) for a period of a program, in
// roubles, units or receipts of the program's SKUs; a tier table says which
// share of the plan (threshold) pays what — a fixed amount, a percentage of
// the actual sales, or a multiplier on the points already earned — with an
// optional cap and a rounding rule. At period close every participant is
// settled: the highest tier whose threshold the actual reaches pays.
//
// Everything here is pure: amounts are integer kopecks (internal/money),
// shares are basis points (1 % = 100 bp) and every comparison is exact
// integer arithmetic, so 69,99 % never rounds up to 70 %.
package plan

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Measure is what a plan counts.
type Measure string

// Measures.
const (
	// Roubles: the sales sum of the program's SKUs, in kopecks.
	Roubles Measure = "roubles"
	// Units: the quantity of the program's SKUs sold, in thousandths of a
	// unit (receipt_items.quantity_milli), so weighed goods count.
	Units Measure = "units"
	// Receipts: the number of receipts with at least one program SKU.
	Receipts Measure = "receipts"
)

// Valid reports whether m is a known measure.
func (m Measure) Valid() bool { return m == Roubles || m == Units || m == Receipts }

// PayoutKind is how a tier pays.
type PayoutKind string

// Payout kinds.
const (
	// Fixed pays Tier.FixedKopecks.
	Fixed PayoutKind = "fixed"
	// PercentOfSales pays Tier.RateBP basis points of the actual sales sum
	// (whatever the plan's measure): 250 bp of 100 000,00 ₽ is 2 500,00.
	PercentOfSales PayoutKind = "percent_of_sales"
	// PointsMultiplier pays the points already earned in the period times
	// (Tier.FactorMilli/1000 − 1): with factor 1500 a participant who
	// earned 1 000 points gets 500 more, ending with ×1,5.
	PointsMultiplier PayoutKind = "points_multiplier"
)

// Rounding is how a computed payout is rounded to whole kopecks.
type Rounding string

// Roundings.
const (
	HalfUp Rounding = "half_up" // 0,5 kopeck and up rounds up (the default)
	Down   Rounding = "down"    // fractions of a kopeck are dropped
	Up     Rounding = "up"      // any fraction of a kopeck rounds up
)

// Tier is one row of a tier table.
type Tier struct {
	// ThresholdBP is the share of the plan to reach, in basis points
	// (7000 = 70 %); reached when actual × 10000 ≥ target × ThresholdBP.
	ThresholdBP int64      `json:"threshold_bp"`
	Kind        PayoutKind `json:"kind"`
	// FixedKopecks: the amount of a Fixed tier.
	FixedKopecks money.Kopecks `json:"fixed_kopecks,omitempty"`
	// RateBP: the rate of a PercentOfSales tier, basis points of sales.
	RateBP int64 `json:"rate_bp,omitempty"`
	// FactorMilli: the multiplier of a PointsMultiplier tier ×1000 (≥ 1000).
	FactorMilli int64 `json:"factor_milli,omitempty"`
	// CapKopecks bounds what the tier pays; 0: no cap.
	CapKopecks money.Kopecks `json:"cap_kopecks,omitempty"`
	// Name is shown to participants, e.g. «Минимальный».
	Name string `json:"name,omitempty"`
}

// Table is a program's tier table for a period.
type Table struct {
	Measure  Measure  `json:"measure"`
	Rounding Rounding `json:"rounding"`
	Tiers    []Tier   `json:"tiers"` // ascending thresholds
}

// Limits of a table.
const (
	MaxTiers       = 20
	MaxThresholdBP = 1_000_000 // 10 000 %
	MaxRateBP      = 10_000    // 100 % of sales
	MaxFactorMilli = 100_000   // ×100
	maxAmount      = money.Kopecks(1e15)
)

// ErrInvalidTable: the tier table is malformed.
func invalid(code, msg, field string) error {
	e := apperr.New(apperr.Invalid, code, msg)
	e.Field = field
	return e
}

// Validate checks t: a known measure and rounding, 1..MaxTiers tiers with
// strictly ascending positive thresholds, each paying something sane.
func (t Table) Validate() error {
	if !t.Measure.Valid() {
		return invalid("plan_bad_measure", "Единица плана: roubles, units или receipts.", "measure")
	}
	switch t.Rounding {
	case HalfUp, Down, Up:
	default:
		return invalid("plan_bad_rounding", "Округление: half_up, down или up.", "rounding")
	}
	if len(t.Tiers) == 0 || len(t.Tiers) > MaxTiers {
		return invalid("plan_bad_tiers", fmt.Sprintf("Нужно от 1 до %d порогов.", MaxTiers), "tiers")
	}
	var prev int64
	for i, tr := range t.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		if tr.ThresholdBP <= prev || tr.ThresholdBP > MaxThresholdBP {
			return invalid("plan_bad_threshold", "Пороги должны строго возрастать, от 0,01 % до 10 000 %.", f+".threshold_bp")
		}
		prev = tr.ThresholdBP
		if tr.CapKopecks < 0 || tr.CapKopecks > maxAmount {
			return invalid("plan_bad_cap", "Ограничение выплаты не может быть отрицательным.", f+".cap_kopecks")
		}
		if len(tr.Name) > 200 || !utf8.ValidString(tr.Name) || strings.ContainsRune(tr.Name, 0) {
			return invalid("plan_bad_name", "Название порога длиннее 200 символов.", f+".name")
		}
		switch tr.Kind {
		case Fixed:
			if tr.FixedKopecks <= 0 || tr.FixedKopecks > maxAmount || tr.RateBP != 0 || tr.FactorMilli != 0 {
				return invalid("plan_bad_payout", "Фиксированная выплата должна быть больше нуля.", f+".fixed_kopecks")
			}
		case PercentOfSales:
			if tr.RateBP <= 0 || tr.RateBP > MaxRateBP || tr.FixedKopecks != 0 || tr.FactorMilli != 0 {
				return invalid("plan_bad_payout", "Процент от продаж: от 0,01 % до 100 %.", f+".rate_bp")
			}
		case PointsMultiplier:
			if tr.FactorMilli <= 1000 || tr.FactorMilli > MaxFactorMilli || tr.FixedKopecks != 0 || tr.RateBP != 0 {
				return invalid("plan_bad_payout", "Множитель баллов: больше 1 и не больше 100.", f+".factor_milli")
			}
		default:
			return invalid("plan_bad_payout", "Вид выплаты: fixed, percent_of_sales или points_multiplier.", f+".kind")
		}
	}
	return nil
}

// Actual is what a participant did in the period.
type Actual struct {
	// Value is in the plan's measure: kopecks, milli-units or receipts.
	Value int64 `json:"value"`
	// SalesKopecks is the sales sum of the program's SKUs (for
	// PercentOfSales whatever the measure).
	SalesKopecks money.Kopecks `json:"sales_kopecks"`
	// PointsKopecks is the points earned in the period (for
	// PointsMultiplier).
	PointsKopecks money.Kopecks `json:"points_kopecks"`
}

// Next is the next threshold a participant has not reached yet.
type Next struct {
	Tier        int   `json:"tier"` // index into Table.Tiers
	ThresholdBP int64 `json:"threshold_bp"`
	// Remaining is how much more (in the plan's measure) reaches it.
	Remaining int64 `json:"remaining"`
	// PayoutKopecks is what the tier would pay on reaching it exactly with
	// today's sales and points (a percentage of sales pays on at least the
	// threshold's sales when the plan is in roubles).
	PayoutKopecks money.Kopecks `json:"payout_kopecks"`
}

// Settlement is one participant's result against a plan.
type Settlement struct {
	TargetValue int64  `json:"target"`
	Actual      Actual `json:"actual"`
	// AttainmentBP is actual/target in basis points, rounded down
	// (display only: tiers compare exactly).
	AttainmentBP int64 `json:"attainment_bp"`
	// Tier is the index of the highest tier reached; -1: none.
	Tier int `json:"tier"`
	// PayoutKopecks is what the reached tier pays (0 without one).
	PayoutKopecks money.Kopecks `json:"payout_kopecks"`
	// Capped: the tier's cap cut the payout.
	Capped bool  `json:"capped"`
	Next   *Next `json:"next,omitempty"`
}

// reached reports whether value reaches thresholdBP of target, exactly:
// value × 10000 ≥ target × thresholdBP, in big integers so no product
// overflows.
func reached(value, target, thresholdBP int64) bool {
	l := new(big.Int).Mul(big.NewInt(value), big.NewInt(10000))
	r := new(big.Int).Mul(big.NewInt(target), big.NewInt(thresholdBP))
	return l.Cmp(r) >= 0
}

// needed is the least value reaching thresholdBP of target:
// ceil(target × thresholdBP / 10000).
func needed(target, thresholdBP int64) int64 {
	n := new(big.Int).Mul(big.NewInt(target), big.NewInt(thresholdBP))
	q, m := new(big.Int).QuoRem(n, big.NewInt(10000), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 1<<63 - 1
	}
	return q.Int64()
}

// divRound returns num/den (den > 0, num ≥ 0) rounded by r.
func divRound(num, den *big.Int, r Rounding) money.Kopecks {
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	switch r {
	case Up:
		if m.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
	case Down:
	default: // HalfUp
		if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() || q.Int64() > int64(maxAmount) {
		return maxAmount
	}
	return money.Kopecks(q.Int64())
}

// Pay is what tier tr pays on a, rounded by r, capped; capped reports a
// cut. Negative sales or points (more returned than sold) pay nothing.
func Pay(tr Tier, a Actual, r Rounding) (pay money.Kopecks, capped bool) {
	switch tr.Kind {
	case Fixed:
		pay = tr.FixedKopecks
	case PercentOfSales:
		if a.SalesKopecks > 0 {
			pay = divRound(new(big.Int).Mul(big.NewInt(int64(a.SalesKopecks)), big.NewInt(tr.RateBP)), big.NewInt(10000), r)
		}
	case PointsMultiplier:
		if a.PointsKopecks > 0 {
			pay = divRound(new(big.Int).Mul(big.NewInt(int64(a.PointsKopecks)), big.NewInt(tr.FactorMilli-1000)), big.NewInt(1000), r)
		}
	}
	if tr.CapKopecks > 0 && pay > tr.CapKopecks {
		return tr.CapKopecks, true
	}
	return pay, false
}

// Settle computes a participant's settlement against target under t
// (which the caller has validated). A target ≤ 0 reaches nothing: a plan
// of zero is no plan.
func Settle(t Table, target int64, a Actual) Settlement {
	s := Settlement{TargetValue: target, Actual: a, Tier: -1}
	if target <= 0 {
		return s
	}
	if a.Value > 0 {
		q := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(a.Value), big.NewInt(10000)), big.NewInt(target))
		if q.IsInt64() {
			s.AttainmentBP = q.Int64()
		} else {
			s.AttainmentBP = 1<<63 - 1
		}
	}
	for i, tr := range t.Tiers {
		if !reached(a.Value, target, tr.ThresholdBP) {
			need := needed(target, tr.ThresholdBP)
			at := a
			if t.Measure == Roubles && money.Kopecks(need) > at.SalesKopecks {
				at.SalesKopecks = money.Kopecks(need)
			}
			pay, _ := Pay(tr, at, t.Rounding)
			s.Next = &Next{Tier: i, ThresholdBP: tr.ThresholdBP, Remaining: need - a.Value, PayoutKopecks: pay}
			break
		}
		s.Tier = i
	}
	if s.Tier >= 0 {
		s.PayoutKopecks, s.Capped = Pay(t.Tiers[s.Tier], a, t.Rounding)
	}
	return s
}

// PeriodKind is the length of a plan period.
type PeriodKind string

// Period kinds.
const (
	Month   PeriodKind = "month"
	Quarter PeriodKind = "quarter"
)

// Period is a calendar month ("2026-11") or quarter ("2026-Q4").
type Period struct {
	Kind PeriodKind
	Year int
	N    int // month 1..12 or quarter 1..4
}

// ErrBadPeriod: a period is not YYYY-MM or YYYY-Qn.
var ErrBadPeriod = invalid("plan_bad_period", "Период: ГГГГ-ММ (месяц) или ГГГГ-Qn (квартал).", "period")

// ParsePeriod reads "2026-11" or "2026-Q4".
func ParsePeriod(s string) (Period, error) {
	y, rest, ok := strings.Cut(s, "-")
	if !ok || len(y) != 4 {
		return Period{}, ErrBadPeriod
	}
	year, err := strconv.Atoi(y)
	if err != nil || year < 2000 || year > 2200 {
		return Period{}, ErrBadPeriod
	}
	if strings.HasPrefix(rest, "Q") && len(rest) == 2 {
		n := int(rest[1] - '0')
		if n < 1 || n > 4 {
			return Period{}, ErrBadPeriod
		}
		return Period{Kind: Quarter, Year: year, N: n}, nil
	}
	if len(rest) != 2 || rest[0] < '0' || rest[0] > '1' || rest[1] < '0' || rest[1] > '9' {
		return Period{}, ErrBadPeriod
	}
	n, _ := strconv.Atoi(rest)
	if n < 1 || n > 12 {
		return Period{}, ErrBadPeriod
	}
	return Period{Kind: Month, Year: year, N: n}, nil
}

// String is the period's canonical form.
func (p Period) String() string {
	if p.Kind == Quarter {
		return fmt.Sprintf("%04d-Q%d", p.Year, p.N)
	}
	return fmt.Sprintf("%04d-%02d", p.Year, p.N)
}

// Start is the period's first day (a date, UTC midnight).
func (p Period) Start() time.Time {
	m := p.N
	if p.Kind == Quarter {
		m = 3*(p.N-1) + 1
	}
	return time.Date(p.Year, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
}

// End is the first day after the period.
func (p Period) End() time.Time {
	if p.Kind == Quarter {
		return p.Start().AddDate(0, 3, 0)
	}
	return p.Start().AddDate(0, 1, 0)
}

// Contains reports whether the date of t (its wall clock) is in p.
func (p Period) Contains(t time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return !d.Before(p.Start()) && d.Before(p.End())
}

// Current is the period of kind k containing now's date.
func Current(k PeriodKind, now time.Time) Period {
	if k == Quarter {
		return Period{Kind: Quarter, Year: now.Year(), N: (int(now.Month())-1)/3 + 1}
	}
	return Period{Kind: Month, Year: now.Year(), N: int(now.Month())}
}

// Attainment is value/target in basis points, rounded down (0 for a
// target ≤ 0 or a negative value), without overflow.
func Attainment(value, target int64) int64 {
	if target <= 0 || value <= 0 {
		return 0
	}
	q := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(value), big.NewInt(10000)), big.NewInt(target))
	if !q.IsInt64() {
		return 1<<63 - 1
	}
	return q.Int64()
}

// ErrBadReason: a free-text reason is not valid text or too long.
var ErrBadReason = invalid("plan_bad_reason", "Комментарий: текст до 2000 символов.", "reason")

// CheckReason returns ErrBadReason unless s is valid UTF-8 without NUL of
// at most 2000 characters (what the audit log and the tables accept).
func CheckReason(s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || utf8.RuneCountInString(s) > 2000 {
		return ErrBadReason
	}
	return nil
}
