package registry

import (
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
	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
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

// limits bound what one registry file may make the readers hold: rows
// counted by the sheet reader include blank ones, so they get room above
// MaxRows (data rows, checked here).
var limits = sheet.Limits{MaxRows: 2 * MaxRows}

// sheetErr keeps the registry's own codes for what it already named.
func sheetErr(err error) error {
	switch {
	case errors.Is(err, sheet.ErrTooManyRows):
		return ErrTooManyRows
	case errors.Is(err, sheet.ErrUnreadable):
		msg := "Не удалось открыть файл XLSX: он повреждён или защищён паролем."
		if e, ok := apperr.As(err); ok {
			msg = e.Message
		}
		return apperr.Wrap(err, apperr.Unsupported, "registry_file_unreadable", msg)
	}
	return err
}

func readCSV(data []byte) (Table, []RowError, error) {
	text, enc, err := decodeText(data)
	if err != nil {
		return Table{}, nil, err
	}
	t := Table{Format: FormatCSV, Encoding: enc, Delimiter: detectDelimiter(text)}
	cr := sheet.NewCSV(bytes.NewReader(text), t.Delimiter, limits)
	for {
		rec, line, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Table{}, []RowError{{Line: pe.Line, Code: "bad_csv_quote", Reason: "кавычки не закрыты или стоят внутри значения: " +
					"проверьте строку (значение с разделителем берётся в кавычки целиком)"}}, nil
			}
			if _, ok := apperr.As(err); ok {
				return Table{}, nil, sheetErr(err)
			}
			return Table{}, nil, ErrFileBinary
		}
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

// readXLSX reads the first sheet with the bounded streaming reader of
// package sheet: a workbook that inflates past its limits is refused before
// it is inflated, and no more than one row is decoded at a time.
func readXLSX(data []byte) (Table, []RowError, error) {
	t := Table{Format: FormatXLSX}
	var errs []RowError
	merged, err := sheet.ReadXLSX(data, limits, func(r sheet.Row) error {
		for j, f := range r.Formulas {
			if f != "" {
				cell, _ := excelize.CoordinatesToCellName(j+1, r.Line)
				// A formula without a saved result reads as an empty cell.
				errs = append(errs, RowError{Line: r.Line, Code: "formula", Reason: fmt.Sprintf(
					"ячейка %s содержит формулу =%s — вставьте значения (Специальная вставка → Значения)", cell, f)})
			}
		}
		if isBlank(r.Cells) {
			return nil
		}
		row := Row{Line: r.Line, Cells: r.Cells, Numeric: make([]bool, len(r.Cells))}
		for j, c := range r.Cells {
			row.Numeric[j] = r.Numeric[j] && isNumberText(c)
		}
		if t.Header == nil {
			t.Header, t.HeaderLine = r.Cells, r.Line
			return nil
		}
		if len(t.Rows) >= MaxRows {
			return ErrTooManyRows
		}
		t.Rows = append(t.Rows, row)
		return nil
	})
	if err != nil {
		return Table{}, nil, sheetErr(err)
	}
	// Merged ranges come after the rows in the sheet; list them first, as
	// before.
	var mergeErrs []RowError
	for _, m := range merged {
		_, row, err := excelize.CellNameToCoordinates(m.From)
		if err != nil {
			continue
		}
		mergeErrs = append(mergeErrs, RowError{Line: row, Code: "merged_cells", Reason: fmt.Sprintf(
			"объединённые ячейки %s:%s — отмените объединение и заполните значение в каждой строке", m.From, m.To)})
	}
	errs = append(mergeErrs, errs...)
	if t.Header == nil {
		return Table{}, errs, ErrFileEmpty
	}
	return t, errs, nil
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
