package catalog

import (
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// ParseXLSX reads a catalog from the first sheet of an XLSX workbook laid out
// like catalog.csv (header row first). Cells are read raw, so a GTIN stored as
// a number is not mangled into 4.6E+12. Errors follow ParseCSV: all-or-nothing,
// RowError.Line is the sheet row number.
func ParseXLSX(r io.Reader) ([]SKU, []RowError, error) {
	f, err := excelize.OpenReader(io.LimitReader(r, maxImportBytes), excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, nil, fmt.Errorf("open workbook: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, errors.New("workbook has no sheets")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, nil, fmt.Errorf("read sheet %q: %w", sheets[0], err)
	}
	defer rows.Close()
	var records [][]string
	var lines []int
	for n := 1; rows.Next(); n++ {
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, fmt.Errorf("read row %d: %w", n, err)
		}
		records = append(records, cols)
		lines = append(lines, n)
	}
	return parseRecords(records, lines)
}

// WriteXLSX writes SKUs as a one-sheet workbook with the columns of WriteCSV.
// Every cell is a string, so GTINs and decimals keep their exact text.
func WriteXLSX(w io.Writer, skus []SKU) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "catalog"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	for i, row := range records(skus) {
		for j, v := range row {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return fmt.Errorf("write workbook: %w", err)
			}
			if err := f.SetCellStr(sheet, cell, v); err != nil {
				return fmt.Errorf("write workbook: %w", err)
			}
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}
