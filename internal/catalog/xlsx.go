package catalog

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
)

// ParseXLSX reads a catalog from the first sheet of an XLSX workbook laid out
// like catalog.csv (header row first). Cells are read raw, so a GTIN stored as
// a number is not mangled into 4.6E+12. Errors follow ParseCSV: all-or-nothing,
// RowError.Line is the sheet row number. The workbook is read by package
// sheet within its limits: a file over them (a decompression bomb) gives an
// *apperr.Error of kind TooLarge or Invalid before it is inflated.
func ParseXLSX(r io.Reader) ([]SKU, []RowError, error) {
	data, err := readLimited(r)
	if err != nil {
		return nil, nil, err
	}
	var records [][]string
	var lines []int
	_, err = sheet.ReadXLSX(data, sheet.Limits{}, func(row sheet.Row) error {
		records = append(records, row.Cells)
		lines = append(lines, row.Line)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read workbook: %w", err)
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
