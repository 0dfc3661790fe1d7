package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
)

// Columns of the catalog file, in the order WriteCSV writes them. aliases is
// optional on input and written only when some SKU has aliases.
var csvHeader = []string{"sku_id", "client", "brand", "name", "category", "volume", "unit", "gtin", "margin_weight"}

const aliasColumn = "aliases"

// listSep separates several GTINs or aliases inside one cell.
const listSep = "|"

// maxImportBytes bounds what ParseCSV reads, so a wrong file cannot exhaust
// memory. A catalog of 100k SKUs is far below it.
const maxImportBytes = 64 << 20

// ErrInvalidRows is returned (wrapped) by the parsers when at least one row is
// invalid; the []RowError says which and why, and no SKUs are returned.
var ErrInvalidRows = errors.New("catalog has invalid rows")

// RowError is one problem with one cell (or the whole row when Column is
// empty) of an imported file.
type RowError struct {
	// Line is the 1-based line (CSV) or row (XLSX) number in the file.
	Line int
	// Column is the header name of the offending column, empty for the row.
	Column string
	// Reason says what is wrong, in words a client can act on.
	Reason string
}

// Error formats the problem as "line 3, column gtin: check digit".
func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Reason)
}

// ParseCSV reads a catalog in the layout of catalog.csv. It accepts UTF-8 with
// or without a BOM and Windows-1251 (chosen when the input is not valid UTF-8),
// and ',' or ';' as the delimiter (whichever the header uses). Columns may come
// in any order; an optional aliases column holds '|'-separated aliases.
//
// It is all-or-nothing: if any row is invalid it returns nil SKUs, every row
// error found, and an error wrapping ErrInvalidRows. A non-nil error with no
// row errors means the file as a whole is unreadable (bad header, broken
// quoting, too large).
func ParseCSV(r io.Reader) ([]SKU, []RowError, error) {
	data, err := readLimited(r)
	if err != nil {
		return nil, nil, err
	}
	data = decodeText(data)
	cr := sheet.NewCSV(bytes.NewReader(data), detectDelimiter(data), sheet.Limits{})
	var records [][]string
	var lines []int
	for {
		rec, line, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, []RowError{{Line: pe.Line, Reason: pe.Err.Error()}}, fmt.Errorf("%w: %v", ErrInvalidRows, err)
			}
			return nil, nil, fmt.Errorf("read catalog: %w", err)
		}
		records = append(records, rec)
		lines = append(lines, line)
	}
	return parseRecords(records, lines)
}

// ErrFileTooLarge is returned by the parsers for a file over
// maxImportBytes.
var ErrFileTooLarge = apperr.New(apperr.TooLarge, "catalog_file_too_large",
	fmt.Sprintf("Файл каталога больше %d МБ: разделите его на несколько.", maxImportBytes>>20))

// readLimited reads a whole import file of at most maxImportBytes.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	if len(data) > maxImportBytes {
		return nil, ErrFileTooLarge
	}
	return data, nil
}

// decodeText strips a UTF-8 BOM and turns Windows-1251 bytes into UTF-8. Any
// input that is not valid UTF-8 is taken as Windows-1251, the encoding Excel
// uses for CSV on Russian Windows.
func decodeText(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if utf8.Valid(data) {
		return data
	}
	out, err := charmap.Windows1251.NewDecoder().Bytes(data)
	if err != nil {
		// Every byte is defined in Windows-1251; keep the input if not.
		return data
	}
	return out
}

// detectDelimiter picks ';' when the first line has more semicolons than
// commas outside quotes, else ','.
func detectDelimiter(data []byte) rune {
	commas, semis := 0, 0
	inQuote := false
	for _, b := range data {
		if b == '\n' && !inQuote {
			break
		}
		switch b {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				commas++
			}
		case ';':
			if !inQuote {
				semis++
			}
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// parseRecords validates a header row and data rows, shared by the CSV and
// XLSX readers. lines[i] is the file line of records[i].
func parseRecords(records [][]string, lines []int) ([]SKU, []RowError, error) {
	if len(records) == 0 {
		return nil, nil, errors.New("catalog is empty: no header row")
	}
	col := map[string]int{}
	for i, h := range records[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := col[h]; dup {
			return nil, nil, fmt.Errorf("header: column %q appears twice", h)
		}
		known := h == aliasColumn
		for _, c := range csvHeader {
			known = known || h == c
		}
		if !known {
			return nil, nil, fmt.Errorf("header: unknown column %q", h)
		}
		col[h] = i
	}
	var missing []string
	for _, c := range csvHeader {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("header: missing column(s) %s", strings.Join(missing, ", "))
	}

	var (
		skus    []SKU
		errs    []RowError
		seenID  = map[string]int{}
		seenGTN = map[string]int{}
	)
	for i := 1; i < len(records); i++ {
		rec, line := records[i], lines[i]
		if isBlank(rec) {
			continue
		}
		cell := func(name string) string {
			j, ok := col[name]
			if !ok || j >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[j])
		}
		bad := func(column, format string, args ...any) {
			errs = append(errs, RowError{Line: line, Column: column, Reason: fmt.Sprintf(format, args...)})
		}
		s := SKU{
			ID:       cell("sku_id"),
			Client:   cell("client"),
			Brand:    cell("brand"),
			Name:     cell("name"),
			Category: cell("category"),
			Unit:     cell("unit"),
		}
		for _, req := range []struct{ col, v string }{
			{"sku_id", s.ID}, {"client", s.Client}, {"brand", s.Brand}, {"name", s.Name}, {"category", s.Category},
		} {
			if req.v == "" {
				bad(req.col, "required")
			}
		}
		if s.ID != "" {
			if first, dup := seenID[s.ID]; dup {
				bad("sku_id", "%s already used on line %d", s.ID, first)
			} else {
				seenID[s.ID] = line
			}
		}
		if v := cell("volume"); v == "" {
			bad("volume", "required")
		} else if milli, err := parseMilli(v, 3); err != nil {
			bad("volume", "%v", err)
		} else if milli == 0 {
			bad("volume", "must be greater than zero")
		} else {
			s.Volume = milli
		}
		if s.Unit == "" {
			bad("unit", "required")
		} else if !validUnits[s.Unit] {
			bad("unit", "%q is not one of г, кг, мл, л, мм, см, м, шт", s.Unit)
		}
		for _, g := range splitList(cell("gtin")) {
			n, err := NormalizeGTIN(g)
			if err != nil {
				bad("gtin", "%s: %v", g, err)
				continue
			}
			if first, dup := seenGTN[n]; dup {
				bad("gtin", "%s already used on line %d", g, first)
				continue
			}
			seenGTN[n] = line
			s.GTINs = append(s.GTINs, n)
		}
		if v := cell("margin_weight"); v == "" {
			bad("margin_weight", "required")
		} else if bp, err := ParseMarginWeight(v); err != nil {
			bad("margin_weight", "%v", err)
		} else {
			s.MarginWeight = bp
		}
		s.Aliases = splitList(cell(aliasColumn))
		skus = append(skus, s)
	}
	if len(errs) > 0 {
		return nil, errs, fmt.Errorf("%w: %d problem(s)", ErrInvalidRows, len(errs))
	}
	return skus, nil, nil
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, listSep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// records renders SKUs as the rows WriteCSV and WriteXLSX write, header first.
func records(skus []SKU) [][]string {
	withAliases := false
	for _, s := range skus {
		withAliases = withAliases || len(s.Aliases) > 0
	}
	header := append([]string(nil), csvHeader...)
	if withAliases {
		header = append(header, aliasColumn)
	}
	out := [][]string{header}
	for _, s := range skus {
		row := []string{s.ID, s.Client, s.Brand, s.Name, s.Category, FormatVolume(s.Volume), s.Unit,
			strings.Join(s.GTINs, listSep), FormatMarginWeight(s.MarginWeight)}
		if withAliases {
			row = append(row, strings.Join(s.Aliases, listSep))
		}
		out = append(out, row)
	}
	return out
}

// WriteExcelCSV writes SKUs as Russian Excel opens a CSV in columns: the
// columns of WriteCSV, UTF-8 with a BOM, ';' between fields, a decimal
// comma in volume and margin_weight, CRLF line ends. ParseCSV reads it back
// (it detects the delimiter, strips the BOM and takes either decimal mark).
func WriteExcelCSV(w io.Writer, skus []SKU) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	rows := records(skus)
	for _, row := range rows[1:] {
		for _, j := range []int{5, 8} { // volume, margin_weight
			row[j] = strings.Replace(row[j], ".", ",", 1)
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}

// WriteCSV writes SKUs in the layout of catalog.csv: UTF-8 without a BOM, ','
// delimiter, RFC 4180 quoting, LF line ends. The aliases column is added only
// when some SKU has aliases, so a catalog without them round-trips byte for
// byte.
func WriteCSV(w io.Writer, skus []SKU) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(records(skus)); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}
