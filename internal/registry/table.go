package registry

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// DefaultMaxFileBytes bounds an uploaded file (below httpapi's 16 MiB body
// limit). A 100 000-row points
// registry is about 4 MB as CSV and 3 MB as XLSX.
const DefaultMaxFileBytes = 15 << 20

// MaxRows bounds the data rows of one file.
const MaxRows = 200_000

// Format is the format a file was read as.
type Format string

// Formats of registry files.
const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// Table is a registry file read into text cells: the header (the first
// non-empty row) and the data rows after it. Empty rows are dropped.
type Table struct {
	Format Format
	// Encoding of a CSV file: "utf-8", "utf-8-bom", "utf-16", "windows-1251".
	Encoding string
	// Delimiter of a CSV file.
	Delimiter  rune
	HeaderLine int
	Header     []string
	Rows       []Row
}

// Row is one data row; Line is its 1-based line (CSV) or row (XLSX) number.
type Row struct {
	Line  int
	Cells []string
	// Numeric marks cells that were numbers in a workbook: their text is
	// the raw binary double ("100.49999999999999"), see ParseKopecks.
	Numeric []bool
}

// File-level errors: the file as a whole cannot be read.
var (
	ErrFileTooLarge = apperr.New(apperr.TooLarge, "registry_file_too_large",
		"Файл слишком большой: разделите реестр на несколько файлов.")
	ErrFileEmpty = apperr.New(apperr.Invalid, "registry_file_empty",
		"Файл пуст: нет ни заголовка, ни строк.")
	ErrFileBinary = apperr.New(apperr.Unsupported, "registry_file_unreadable",
		"Файл не похож ни на CSV, ни на XLSX. Сохраните реестр в Excel как «Книга Excel (*.xlsx)» или «CSV (разделители — точка с запятой)».")
	ErrFileXLS = apperr.New(apperr.Unsupported, "registry_file_xls",
		"Старый формат XLS не поддерживается: сохраните файл как XLSX или CSV.")
	ErrTooManyRows = apperr.New(apperr.TooLarge, "registry_too_many_rows",
		fmt.Sprintf("В файле больше %d строк: разделите реестр на несколько файлов.", MaxRows))
)

func fileErr(code, format string, args ...any) *apperr.Error {
	return apperr.New(apperr.Invalid, code, fmt.Sprintf(format, args...))
}

// ReadTable reads a CSV or XLSX registry (chosen by content, not by name)
// of at most maxBytes (DefaultMaxFileBytes when 0).
//
// CSV may be UTF-8 (with or without BOM), UTF-16 with BOM ("Unicode text"
// from Excel) or Windows-1251 (any input that is not valid UTF-8); the
// delimiter is ',', ';' or tab, whichever the header row has most of.
//
// XLSX is read from its first sheet. Merged cells and formulas are refused
// with the cell named, because a merged value belongs to its first cell only
// (the rows below would silently lose it) and a formula's saved result may be
// stale or missing when the file was produced by a program other than Excel;
// money must not depend on either. Row errors about them come back in the
// []RowError; a file-level problem is an *apperr.Error.
func ReadTable(data []byte, maxBytes int) (Table, []RowError, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	if len(data) > maxBytes {
		return Table{}, nil, ErrFileTooLarge
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return Table{}, nil, ErrFileEmpty
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readXLSX(data)
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return Table{}, nil, ErrFileXLS
	}
	return readCSV(data)
}

// decodeText returns data as UTF-8 and the name of the encoding it had.
func decodeText(data []byte) ([]byte, string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data = data[3:]
		if !utf8.Valid(data) {
			return nil, "", ErrFileBinary
		}
		return data, "utf-8-bom", nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, "", ErrFileBinary
		}
		return out, "utf-16", nil
	}
	// Control bytes other than tab and line ends do not occur in text in
	// either encoding: this is a binary file (an image, an archive, a PDF).
	bad := 0
	for _, b := range data[:min(len(data), 8192)] {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			bad++
		}
	}
	if bad > 0 {
		return nil, "", ErrFileBinary
	}
	if utf8.Valid(data) {
		return data, "utf-8", nil
	}
	out, err := charmap.Windows1251.NewDecoder().Bytes(data)
	if err != nil {
		return nil, "", ErrFileBinary
	}
	// 0x98 is the one byte Windows-1251 leaves undefined.
	if bytes.ContainsRune(out, utf8.RuneError) {
		return nil, "", ErrFileBinary
	}
	return out, "windows-1251", nil
}

// detectDelimiter counts ',', ';' and tabs outside quotes on the first
// non-empty line and picks the most frequent; ';' wins ties over ',' because
// Russian Excel writes ';' and uses ',' as the decimal separator.
func detectDelimiter(data []byte) rune {
	counts := map[rune]int{}
	inQuote, seen := false, false
	for _, r := range string(data) {
		if r == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if r == '\n' {
			if seen {
				break
			}
			continue
		}
		if r != '\r' && r != ' ' {
			seen = true
		}
		if r == ',' || r == ';' || r == '\t' {
			counts[r]++
		}
	}
	best := ';'
	for _, r := range []rune{'\t', ','} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func readCSV(data []byte) (Table, []RowError, error) {
	text, enc, err := decodeText(data)
	if err != nil {
		return Table{}, nil, err
	}
	t := Table{Format: FormatCSV, Encoding: enc, Delimiter: detectDelimiter(text)}
	cr := csv.NewReader(bytes.NewReader(text))
	cr.Comma = t.Delimiter
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Table{}, []RowError{{Line: pe.Line, Code: "bad_csv_quote", Reason: "кавычки не закрыты или стоят внутри значения: " +
					"проверьте строку (значение с разделителем берётся в кавычки целиком)"}}, nil
			}
			return Table{}, nil, ErrFileBinary
		}
		line, _ := cr.FieldPos(0)
		if isBlank(rec) {
			continue
		}
		if t.Header == nil {
			t.Header, t.HeaderLine = rec, line
			continue
		}
		if len(t.Rows) >= MaxRows {
			return Table{}, nil, ErrTooManyRows
		}
		t.Rows = append(t.Rows, Row{Line: line, Cells: rec})
	}
	if t.Header == nil {
		return Table{}, nil, ErrFileEmpty
	}
	return t, nil, nil
}

func readXLSX(data []byte) (Table, []RowError, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true})
	if err != nil {
		return Table{}, nil, apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable",
			"Не удалось открыть файл XLSX: он повреждён или защищён паролем.")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Table{}, nil, ErrFileEmpty
	}
	sheet := sheets[0]
	t := Table{Format: FormatXLSX}
	var errs []RowError
	merged, err := f.GetMergeCells(sheet)
	if err != nil {
		return Table{}, nil, apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable", "Не удалось прочитать лист книги XLSX.")
	}
	for _, m := range merged {
		_, row, err := excelize.CellNameToCoordinates(m.GetStartAxis())
		if err != nil {
			continue
		}
		errs = append(errs, RowError{Line: row, Code: "merged_cells", Reason: fmt.Sprintf(
			"объединённые ячейки %s:%s — отмените объединение и заполните значение в каждой строке",
			m.GetStartAxis(), m.GetEndAxis())})
	}
	formulas := hasFormulas(data)
	rows, err := f.Rows(sheet)
	if err != nil {
		return Table{}, nil, apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable", "Не удалось прочитать лист книги XLSX.")
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return Table{}, nil, apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable",
				fmt.Sprintf("Не удалось прочитать строку %d книги XLSX.", n))
		}
		if isBlank(cols) {
			continue
		}
		r := Row{Line: n, Cells: cols, Numeric: make([]bool, len(cols))}
		for j := range max(len(cols), len(t.Header)) {
			cell, _ := excelize.CoordinatesToCellName(j+1, n)
			if formulas {
				// A formula without a saved result reads as an empty cell.
				if formula, _ := f.GetCellFormula(sheet, cell); formula != "" {
					errs = append(errs, RowError{Line: n, Code: "formula", Reason: fmt.Sprintf(
						"ячейка %s содержит формулу =%s — вставьте значения (Специальная вставка → Значения)", cell, formula)})
				}
			}
			if j < len(cols) && isNumberText(cols[j]) {
				if ct, _ := f.GetCellType(sheet, cell); ct == excelize.CellTypeNumber || ct == excelize.CellTypeUnset {
					r.Numeric[j] = true
				}
			}
		}
		if t.Header == nil {
			t.Header, t.HeaderLine = cols, n
			continue
		}
		if len(t.Rows) >= MaxRows {
			return Table{}, nil, ErrTooManyRows
		}
		t.Rows = append(t.Rows, r)
	}
	if err := rows.Error(); err != nil {
		return Table{}, nil, apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable", "Не удалось прочитать лист книги XLSX.")
	}
	if t.Header == nil {
		return Table{}, errs, ErrFileEmpty
	}
	return t, errs, nil
}

// hasFormulas reports whether any worksheet of the workbook has a formula
// element, so the per-cell formula look-up runs only when it can find one.
func hasFormulas(data []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return true
	}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") || !strings.HasSuffix(zf.Name, ".xml") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return true
		}
		b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
		rc.Close()
		if err != nil || bytes.Contains(b, []byte("<f>")) || bytes.Contains(b, []byte("<f ")) || bytes.Contains(b, []byte(":f>")) {
			return true
		}
	}
	return false
}

func isNumberText(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' && r != '-' && r != 'E' && r != 'e' && r != '+' {
			return false
		}
	}
	return true
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
