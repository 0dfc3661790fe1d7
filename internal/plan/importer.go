package plan

import (
	"fmt"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/phone"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// ImportRow is one plan of an imported file.
type ImportRow struct {
	Line  int    `json:"line"`
	Phone string `json:"phone"`
	Value int64  `json:"target"` // in the table's measure
}

// header names of the two columns, folded like registry headers.
var (
	phoneHeaders = []string{"телефон", "phone", "номер телефона", "мобильный телефон"}
	planHeaders  = []string{"план", "plan", "target", "цель", "план продаж"}
)

func fold(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.ReplaceAll(h, "ё", "е")
	return strings.Join(strings.FieldsFunc(h, func(r rune) bool {
		return r == ' ' || r == '_' || r == '-' || r == '.' || r == '*' || r == ',' || r == '\u00a0' || r == '(' || r == ')'
	}), " ")
}

func find(header []string, names []string) (int, bool) {
	for i, h := range header {
		f := fold(h)
		for _, n := range names {
			if f == n || strings.HasPrefix(f, n+" ") {
				return i, true
			}
		}
	}
	return -1, false
}

// ParseImport reads plans from a file read by registry.ReadTable (the
// registries' bounds on size, rows, cells, encodings and zip bombs): a
// phone column and a plan column whose value is in m — roubles as money
// ("150 000,00"), units with up to three decimals, receipts whole. Every
// problem is a row error; a phone listed twice is one.
func ParseImport(t registry.Table, m Measure) ([]ImportRow, []registry.RowError) {
	pc, ok1 := find(t.Header, phoneHeaders)
	vc, ok2 := find(t.Header, planHeaders)
	if !ok1 || !ok2 {
		return nil, []registry.RowError{{Line: t.HeaderLine, Code: "bad_header",
			Reason: "в заголовке нужны колонки «Телефон» и «План» (найдено: " + strings.Join(t.Header, " | ") + ")"}}
	}
	var rows []ImportRow
	var errs []registry.RowError
	seen := map[string]int{}
	for _, r := range t.Rows {
		get := func(j int) (string, bool) {
			if j >= len(r.Cells) {
				return "", false
			}
			return strings.TrimSpace(r.Cells[j]), j < len(r.Numeric) && r.Numeric[j]
		}
		ph, _ := get(pc)
		p, err := phone.Normalize(ph)
		if err != nil {
			errs = append(errs, registry.RowError{Line: r.Line, Column: "phone", Code: "bad_phone", Reason: "неверный номер телефона"})
			continue
		}
		if first, dup := seen[p]; dup {
			errs = append(errs, registry.RowError{Line: r.Line, Column: "phone", Code: "duplicate_phone",
				Reason: fmt.Sprintf("телефон уже указан в строке %d", first)})
			continue
		}
		seen[p] = r.Line
		raw, numeric := get(vc)
		v, err := parseValue(raw, numeric, m)
		if err != nil {
			errs = append(errs, registry.RowError{Line: r.Line, Column: "plan", Code: "bad_plan", Reason: err.Error()})
			continue
		}
		rows = append(rows, ImportRow{Line: r.Line, Phone: p, Value: v})
	}
	return rows, errs
}

func parseValue(s string, numeric bool, m Measure) (int64, error) {
	switch m {
	case Roubles:
		v, err := registry.ParseKopecks(s, numeric)
		if err != nil {
			return 0, fmt.Errorf("план в рублях: %v", err)
		}
		return v, nil
	case Units:
		// Units as thousandths: reuse the kopeck parser at a scale of 10
		// (x,yz → kopecks) would lose the third decimal, so parse here.
		return parseMilli(s)
	default:
		v, err := parseMilli(s)
		if err != nil || v%1000 != 0 {
			return 0, fmt.Errorf("план в чеках — целое число")
		}
		return v / 1000, nil
	}
}

// parseMilli reads a non-negative decimal with at most three decimals as
// thousandths ("12", "12,5", "1 000.125").
func parseMilli(s string) (int64, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '\u2009':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	whole, frac, _ := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if whole == "" || len(whole) > 12 || len(frac) > 3 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, fmt.Errorf("нужно неотрицательное число, не больше трёх знаков после запятой")
	}
	var v int64
	for _, c := range whole {
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < 3; i++ {
		v *= 10
		if i < len(frac) {
			v += int64(frac[i] - '0')
		}
	}
	return v, nil
}
