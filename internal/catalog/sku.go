package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SKU is one article of a client's catalog.
type SKU struct {
	// ID is the client's article id (VT-1001), unique within a catalog.
	ID string
	// Client is the manufacturer code (vetluga).
	Client string
	// Brand is the brand as the client spells it (ТЕРМОКС).
	Brand string
	// Name is the full catalog name, pack size included.
	Name string
	// Category is the product category (Антифриз).
	Category string
	// Volume is the pack size in thousandths of Unit: 1.5 л is 1500, 455 г is
	// 455000. Integers keep sizes exact and comparable.
	Volume int64
	// Unit is the unit of Volume: г, кг, мл, л, мм, см, м or шт.
	Unit string
	// GTINs are the SKU's barcodes as 13 digits (GTIN-14 with a leading zero is
	// stored without it).
	GTINs []string
	// Aliases are receipt spellings the client confirmed for this SKU.
	Aliases []string
	// MarginWeight is the client's points multiplier in basis points of a unit
	// weight: 1.25 is 12500. It is never handled as a float.
	MarginWeight int64
}

// Active is a client's active catalog as the matcher needs it.
type Active struct {
	ClientID int64
	// Version moves with every change of the client's SKUs (0: never
	// imported), so a cached matcher knows when to rebuild.
	Version int64
	SKUs    []SKU
	// IDs maps an article code to the database id receipt items refer to.
	IDs map[string]int64
}

// Units accepted in the unit column.
var validUnits = map[string]bool{"г": true, "кг": true, "мл": true, "л": true, "мм": true, "см": true, "м": true, "шт": true}

// Margin weight bounds in basis points: 0 < w ≤ 10.
const (
	marginScale     = 10000
	maxMarginWeight = 10 * marginScale
)

// ErrGTIN is returned by NormalizeGTIN for a code that is not a GTIN.
var ErrGTIN = errors.New("not a valid GTIN")

// NormalizeGTIN checks a GTIN-8, -12, -13 or -14 and returns it in the form the
// catalog stores: a GTIN-14 with a leading zero and a 12-digit UPC-A become 13
// digits. It returns ErrGTIN when the code has the wrong length, holds a
// non-digit or fails its check digit.
func NormalizeGTIN(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "", fmt.Errorf("%w: %d digits, want 8, 12, 13 or 14", ErrGTIN, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("%w: non-digit %q", ErrGTIN, s[i])
		}
	}
	if !gtinCheckOK(s) {
		return "", fmt.Errorf("%w: check digit", ErrGTIN)
	}
	switch {
	case len(s) == 14 && s[0] == '0':
		s = s[1:]
	case len(s) == 12:
		s = "0" + s
	}
	return s, nil
}

// gtinCheckOK verifies the GS1 mod-10 check digit of an all-digit string.
func gtinCheckOK(s string) bool {
	sum := 0
	// Weights alternate 3,1,3,… from the digit left of the check digit.
	for i, w := len(s)-2, 3; i >= 0; i, w = i-1, 4-w {
		sum += int(s[i]-'0') * w
	}
	return (10-sum%10)%10 == int(s[len(s)-1]-'0')
}

// parseMilli parses a non-negative decimal ("1", "0.5", "0,5") into thousandths,
// refusing more than maxFrac fraction digits.
func parseMilli(s string, maxFrac int) (int64, error) {
	return parseScaled(s, 3, maxFrac)
}

// parseScaled parses a non-negative decimal with '.' or ',' into an integer
// scaled by 10^scale, with at most maxFrac fraction digits.
func parseScaled(s string, scale, maxFrac int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	intPart, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if intPart == "" || (hasFrac && frac == "") {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("%q is not a decimal number", s)
			}
		}
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > maxFrac {
		return 0, fmt.Errorf("%q has more than %d decimals", s, maxFrac)
	}
	if len(intPart) > 12 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	for i := 0; i < scale; i++ {
		n *= 10
	}
	var f int64
	mult := int64(1)
	for i := len(frac); i < scale; i++ {
		mult *= 10
	}
	if frac != "" {
		fv, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
		f = fv * mult
	}
	return n + f, nil
}

// formatScaled prints n/10^scale with at least minFrac fraction digits and no
// trailing zeros beyond them.
func formatScaled(n int64, scale, minFrac int) string {
	div := int64(1)
	for i := 0; i < scale; i++ {
		div *= 10
	}
	ip, fp := n/div, n%div
	frac := fmt.Sprintf("%0*d", scale, fp)
	frac = strings.TrimRight(frac, "0")
	for len(frac) < minFrac {
		frac += "0"
	}
	if frac == "" {
		return strconv.FormatInt(ip, 10)
	}
	return strconv.FormatInt(ip, 10) + "." + frac
}

// ParseMarginWeight parses a margin weight such as "1.25" into basis points
// (12500). It accepts '.' or ',' as the decimal separator, at most two
// decimals, and 0 < w ≤ 10.
func ParseMarginWeight(s string) (int64, error) {
	bp, err := parseScaled(s, 4, 2)
	if err != nil {
		return 0, err
	}
	if bp <= 0 || bp > maxMarginWeight {
		return 0, fmt.Errorf("%s is out of range, want 0 < weight ≤ 10", strings.TrimSpace(s))
	}
	return bp, nil
}

// FormatMarginWeight prints basis points as the catalog writes them: 12500 →
// "1.25", 10000 → "1.00".
func FormatMarginWeight(bp int64) string { return formatScaled(bp, 4, 2) }

// FormatVolume prints a Volume in thousandths as a plain decimal: 1500 → "1.5".
func FormatVolume(milli int64) string { return formatScaled(milli, 3, 0) }
