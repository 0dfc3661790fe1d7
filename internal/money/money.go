// Package money holds the one representation of money and points in the
// program — integer kopecks (1 point = 1 rouble = 100 kopecks) — and every
// way it is written: the machine form of fiscal data and exports
// ("1234.50"), the Russian form people read ("1 234,50 ₽", "−1,50") and
// points with the noun in the right case ("1 балл", "1,5 балла"). Pure: no
// floating point anywhere.
package money

import (
	"errors"
	"strconv"
	"strings"
)

// Kopecks is an amount of money or points in hundredths.
type Kopecks int64

// Cents says how a Format writes the hundredths.
type Cents int

const (
	// CentsAlways writes two digits, zeros included: "5,00".
	CentsAlways Cents = iota
	// CentsNonzero writes two digits unless both are zero: "5", "5,50".
	CentsNonzero
	// CentsTrim drops trailing zeros: "5", "5,5", "5,05".
	CentsTrim
)

// Typographic characters of the Russian forms.
const (
	NBSP       = "\u00a0" // no-break space: keeps "1 234 ₽" on one line
	NarrowNBSP = "\u202f" // narrow no-break space: thousands in rule texts
	Minus      = "−"      // U+2212, the true minus of Russian typography
)

// Format describes one way of writing a fixed-point amount.
type Format struct {
	Group string // between groups of three integer digits; "" for none
	Point string // decimal separator
	Minus string // sign of a negative amount
	Cents Cents  // how the fraction is written
	Unit  string // appended as is, e.g. NBSP+"₽"
}

// The formats of the program.
var (
	// Machine is the form of fiscal QR codes, operator APIs and JSON:
	// "1234.50", "-1.50".
	Machine = Format{Point: ".", Minus: "-", Cents: CentsAlways}
	// Sheet is the form a Russian spreadsheet reads as a number: "1234,50".
	Sheet = Format{Point: ",", Minus: "-", Cents: CentsAlways}
	// Russian is money in a message: "1 234,50 ₽", "99 ₽", "−1,50 ₽".
	Russian = Format{Group: NBSP, Point: ",", Minus: Minus, Cents: CentsNonzero, Unit: NBSP + "₽"}
	// PointsNumber is the number of an amount of points in a message,
	// without the noun: "1 500", "1,5".
	PointsNumber = Format{Group: NBSP, Point: ",", Minus: Minus, Cents: CentsTrim}
)

// String writes k in the Machine form: "1234.50".
func (k Kopecks) String() string { return Machine.Format(k) }

// Roubles writes k in the Russian form: "1 234,50 ₽".
func (k Kopecks) Roubles() string { return Russian.Format(k) }

// Points writes k as points with the noun: "1 балл", "2 балла",
// "5 баллов", "1 500 баллов", "1,5 балла", "−2 балла".
func (k Kopecks) Points() string { return PointsNumber.Format(k) + " " + PointsNoun(k) }

// Format writes the kopecks k in f.
func (f Format) Format(k Kopecks) string { return f.Fixed(int64(k), 2) }

// Fixed writes n / 10^scale in f (scale 2 for kopecks, 3 for thousandths
// of a unit, 4 for basis points of a factor). f.Cents applies to all the
// scale digits: CentsNonzero drops them when all are zero.
func (f Format) Fixed(n int64, scale int) string {
	var b strings.Builder
	u := uint64(n)
	if n < 0 {
		b.WriteString(f.Minus)
		u = -u // two's complement: correct for math.MinInt64 too
	}
	div := uint64(1)
	for range scale {
		div *= 10
	}
	whole, frac := u/div, u%div
	writeGrouped(&b, strconv.FormatUint(whole, 10), f.Group)
	if scale > 0 {
		digits := strconv.FormatUint(frac+div, 10)[1:]
		switch f.Cents {
		case CentsNonzero:
			if frac == 0 {
				digits = ""
			}
		case CentsTrim:
			digits = strings.TrimRight(digits, "0")
		}
		if digits != "" {
			b.WriteString(f.Point)
			b.WriteString(digits)
		}
	}
	b.WriteString(f.Unit)
	return b.String()
}

func writeGrouped(b *strings.Builder, digits, sep string) {
	if sep == "" || len(digits) <= 3 {
		b.WriteString(digits)
		return
	}
	pre := len(digits) % 3
	if pre == 0 {
		pre = 3
	}
	b.WriteString(digits[:pre])
	for i := pre; i < len(digits); i += 3 {
		b.WriteString(sep)
		b.WriteString(digits[i : i+3])
	}
}

// Plural picks the Russian form of a noun for an integer n: one ("балл")
// for 1, 21, 101…; few ("балла") for 2–4, 22–24…; many ("баллов") for 0,
// 5–20, 25–30, 111… (the teens are always "many").
func Plural(n int64, one, few, many string) string {
	if n < 0 {
		n = -n
	}
	switch n10, n100 := n%10, n%100; {
	case n10 == 1 && n100 != 11:
		return one
	case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
		return few
	default:
		return many
	}
}

// PointsNoun is "балл", "балла" or "баллов" as the number k/100 takes it.
// A fractional amount takes "балла" whatever its digits: Russian reads a
// decimal fraction as "of a point", the genitive singular.
func PointsNoun(k Kopecks) string {
	if k%100 != 0 {
		return "балла"
	}
	return Plural(int64(k/100), "балл", "балла", "баллов")
}

// Errors of Parse.
var (
	ErrSyntax    = errors.New("money: not an amount")
	ErrPrecision = errors.New("money: more than two decimals")
	ErrRange     = errors.New("money: amount out of range")
)

// maxWholeDigits bounds the integer part so that every parsed amount and
// its negation fit in int64 with room: 10^16 roubles.
const maxWholeDigits = 16

// Parse reads an amount of roubles into kopecks without floating point.
// It accepts the machine form ("1234.5", "-1.50") and the Russian one
// ("1 234,50", "−1,50"): an optional sign ('-' or '−'), digits grouped by
// spaces, no-break, narrow or thin spaces, and at most one decimal
// separator ('.' or ',') followed by at most two digits. A unit is not
// accepted; callers that read people's input strip it first.
//
// It returns ErrSyntax for anything else, ErrPrecision for more than two
// decimals and ErrRange for more than 16 integer digits.
func Parse(s string) (Kopecks, error) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, Minus):
		neg, s = true, s[len(Minus):]
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '\u2009':
			return -1
		}
		return r
	}, s)
	whole, frac, hasPoint := strings.Cut(s, ".")
	if !hasPoint {
		whole, frac, hasPoint = strings.Cut(s, ",")
	}
	if !digits(whole) || whole == "" && !hasPoint || hasPoint && (frac == "" || !digits(frac)) {
		return 0, ErrSyntax
	}
	if len(frac) > 2 {
		return 0, ErrPrecision
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > maxWholeDigits {
		return 0, ErrRange
	}
	for len(frac) < 2 {
		frac += "0"
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, ErrRange
	}
	if neg {
		v = -v
	}
	return Kopecks(v), nil
}

// digits reports whether s is empty or all ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
