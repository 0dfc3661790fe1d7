package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// RowError is one problem with one row (and one column when Column is set)
// of a registry file.
type RowError struct {
	// Line is the 1-based line (CSV) or row (XLSX) number; 0 for the header.
	Line int `json:"line"`
	// Column is the canonical column name (phone, points, …), if any.
	Column string `json:"column,omitempty"`
	// Code is a stable machine code of the problem (required, bad_phone, …).
	Code string `json:"code"`
	// Reason says what is wrong in Russian, in words a client can act on.
	Reason string `json:"reason"`
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("строка %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("строка %d, колонка %s: %s", e.Line, e.Column, e.Reason)
}

// MaxKopecks bounds one amount: a billion roubles is no registry line.
const MaxKopecks = 100_000_000_000

var errAmount = errors.New("amount")

// ParseKopecks reads a non-negative amount of roubles (= points) as
// kopecks, without floating point: "1 234,56", "1234.5", "1 234" (spaces,
// no-break spaces and a trailing "₽"/"руб" are ignored; ',' or '.' is the
// decimal separator, at most two decimals). numeric marks the raw text of a
// workbook number, whose binary double may print as "100.49999999999999":
// such a value is accepted when it is within a millionth of a kopeck-exact
// amount, and rounded to it.
func ParseKopecks(s string, numeric bool) (int64, error) {
	s = strings.TrimSpace(s)
	for _, suf := range []string{"₽", "руб.", "руб", "р.", "rub"} {
		s = strings.TrimSpace(strings.TrimSuffix(strings.ToLower(s), suf))
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '\u2009', '\'':
			return -1
		}
		return r
	}, s)
	if s == "" {
		return 0, fmt.Errorf("%w: пусто", errAmount)
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%w: отрицательная сумма; чтобы уменьшить начисление, загрузите исправленный реестр с новой суммой", errAmount)
	}
	if strings.Contains(s, ",") && strings.Contains(s, ".") {
		return 0, fmt.Errorf("%w: %q — непонятно, что здесь десятичный разделитель; пишите 1234,56", errAmount, s)
	}
	s = strings.ReplaceAll(s, ",", ".")
	if strings.HasPrefix(s, money.Minus) {
		return 0, fmt.Errorf("%w: %q не число", errAmount, s)
	}
	if intPart, frac, _ := strings.Cut(s, "."); numeric && len(frac) >= 8 &&
		(intPart == "" || digitsOnly(intPart)) && digitsOnly(frac) {
		// A binary double one ulp off a kopeck-exact amount.
		switch tail := frac[2:8]; {
		case strings.Trim(tail, "0") == "":
			s = intPart + "." + frac[:2]
		case strings.Trim(tail, "9") == "":
			k, err := ParseKopecks(intPart+"."+frac[:2], false)
			if err != nil {
				return 0, err
			}
			return k + 1, nil
		}
	}
	v, err := money.Parse(s)
	switch {
	case errors.Is(err, money.ErrSyntax):
		return 0, fmt.Errorf("%w: %q не число", errAmount, s)
	case errors.Is(err, money.ErrPrecision):
		return 0, fmt.Errorf("%w: %q — больше двух знаков после запятой", errAmount, s)
	case err != nil || v > MaxKopecks:
		return 0, fmt.Errorf("%w: %q — слишком большая сумма", errAmount, s)
	}
	return int64(v), nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// normHeader folds a header cell for matching: lower case, ё→е, no
// punctuation or repeated spaces ("Эл. почта*" → "эл почта").
func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.ReplaceAll(h, "ё", "е")
	var b strings.Builder
	space := false
	for _, r := range h {
		switch {
		case r == ' ' || r == '_' || r == '-' || r == '.' || r == '*' || r == '(' || r == ')' || r == ',' || r == '\u00a0':
			space = b.Len() > 0
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// columns maps the header to canonical column indexes using aliases
// (canonical name → accepted header texts, already normalised). Unknown
// columns are ignored (clients keep "№ п/п" and notes); a known column twice
// is an error.
func columns(header []string, aliases map[string][]string) (map[string]int, []RowError) {
	lookup := map[string]string{}
	for canon, names := range aliases {
		lookup[canon] = canon
		for _, n := range names {
			lookup[n] = canon
		}
	}
	col := map[string]int{}
	var errs []RowError
	for i, h := range header {
		canon, ok := lookup[normHeader(h)]
		if !ok {
			continue
		}
		if first, dup := col[canon]; dup {
			errs = append(errs, RowError{Column: canon, Code: "duplicate_column", Reason: fmt.Sprintf(
				"колонка %q встречается дважды (колонки %d и %d)", h, first+1, i+1)})
			continue
		}
		col[canon] = i
	}
	return col, errs
}

// missingColumns reports required columns absent from col, with a hint when
// the header looks like it was split with another delimiter.
func missingColumns(t Table, col map[string]int, required ...string) []RowError {
	var missing []string
	for _, c := range required {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	reason := fmt.Sprintf("в заголовке нет колонок: %s (найдено: %s)", strings.Join(missing, ", "), strings.Join(t.Header, " | "))
	if t.Format == FormatCSV && len(t.Header) == 1 {
		reason += "; похоже, в файле другой разделитель — используйте «;», «,» или табуляцию"
	}
	return []RowError{{Line: t.HeaderLine, Code: "bad_header", Reason: reason}}
}

// cell returns the trimmed text of column name in r.
func cell(r Row, col map[string]int, name string) (string, bool) {
	j, ok := col[name]
	if !ok || j >= len(r.Cells) {
		return "", false
	}
	numeric := j < len(r.Numeric) && r.Numeric[j]
	return strings.TrimSpace(r.Cells[j]), numeric
}
