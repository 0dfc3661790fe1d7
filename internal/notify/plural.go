package notify

import (
	"strconv"
	"strings"
)

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

// Points renders an amount of points given in kopecks with the noun in the
// right form: "1 балл", "2 балла", "5 баллов", "21 балл", "1 500 баллов".
// A fractional amount is written with a decimal comma and trailing zeros
// dropped ("1,5 балла", "0,05 балла", "2,25 балла"): Russian reads a
// decimal fraction as "of a point", which takes the genitive singular
// "балла" whatever the digits. Negative amounts get a minus sign.
func Points(kopecks int64) string {
	whole, frac := kopecks/100, kopecks%100
	sign := ""
	if kopecks < 0 {
		sign, whole, frac = "−", -whole, -frac
	}
	if frac == 0 {
		return sign + groupThousands(whole) + " " + Plural(whole, "балл", "балла", "баллов")
	}
	f := strconv.FormatInt(frac+100, 10)[1:] // two digits
	f = strings.TrimRight(f, "0")
	return sign + groupThousands(whole) + "," + f + " балла"
}

// Roubles renders kopecks as money: "1 234,50 ₽", "99 ₽".
func Roubles(kopecks int64) string {
	sign := ""
	if kopecks < 0 {
		sign, kopecks = "−", -kopecks
	}
	s := sign + groupThousands(kopecks/100)
	if k := kopecks % 100; k != 0 {
		s += "," + strconv.FormatInt(k+100, 10)[1:]
	}
	return s + "\u00a0₽"
}

// groupThousands writes n with a no-break space between groups of three
// digits from 1 000 on, as Russian typography does; the no-break space
// keeps a number on one line of a notification.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteString("\u00a0")
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
