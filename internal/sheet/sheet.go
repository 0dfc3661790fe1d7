// Package sheet reads spreadsheets that come from outside — XLSX workbooks
// and CSV text — within fixed bounds, so that a hostile file costs at most
// a known amount of memory and time.
//
// An XLSX file is a zip archive: a 1 MB upload can inflate to gigabytes
// (a decompression bomb), and a DOM-style reader multiplies the inflated XML
// again by the size of its structs. Every reader of an uploaded spreadsheet
// (registries, catalog imports) goes through this package, which
//
//   - refuses an archive whose parts it would read declare more than
//     Limits.MaxUnzipBytes before inflating anything (archive/zip refuses a
//     part that inflates past its declared size, so the declaration is a
//     bound, not a hint);
//   - streams the sheet's XML row by row (encoding/xml tokens), never holding
//     more than one row plus the shared strings;
//   - counts rows, columns, cells and cell bytes (and, for CSV, line bytes)
//     and stops at the first one over its limit.
//
// Errors are *apperr.Error with stable codes (spreadsheet_too_large,
// spreadsheet_too_many_rows, …) wrapping the sentinels below, so callers
// can tell them apart with errors.Is and transports answer 413 or 422.
package sheet

import (
	"errors"
	"fmt"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Limits bounds what one file may make a reader hold or do. Zero fields
// take the value of DefaultLimits.
type Limits struct {
	// MaxUnzipBytes bounds the inflated size of the XLSX parts read
	// (workbook, relationships, shared strings, the first sheet).
	MaxUnzipBytes int64
	// MaxRows bounds the rows (XLSX rows, CSV records), blank ones included.
	MaxRows int
	// MaxCols bounds the columns of a row.
	MaxCols int
	// MaxCells bounds the non-empty cells of the sheet, and the shared
	// strings of a workbook.
	MaxCells int
	// MaxCellBytes bounds the text of one cell.
	MaxCellBytes int
	// MaxLineBytes bounds one physical line of CSV text.
	MaxLineBytes int
}

// DefaultLimits fit a 200 000-row registry or catalog of a few dozen
// columns with room to spare (such a workbook inflates to about 40 MB).
var DefaultLimits = Limits{
	MaxUnzipBytes: 128 << 20,
	MaxRows:       250_000,
	MaxCols:       256,
	MaxCells:      4_000_000,
	MaxCellBytes:  32 << 10, // Excel's own limit is 32 767 characters
	MaxLineBytes:  1 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxUnzipBytes <= 0 {
		l.MaxUnzipBytes = d.MaxUnzipBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxCols <= 0 {
		l.MaxCols = d.MaxCols
	}
	if l.MaxCells <= 0 {
		l.MaxCells = d.MaxCells
	}
	if l.MaxCellBytes <= 0 {
		l.MaxCellBytes = d.MaxCellBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	return l
}

// Sentinels wrapped by the *apperr.Error values the readers return.
var (
	ErrTooLarge       = errors.New("sheet: inflated size over the limit")
	ErrTooManyRows    = errors.New("sheet: too many rows")
	ErrTooManyColumns = errors.New("sheet: too many columns")
	ErrTooManyCells   = errors.New("sheet: too many cells")
	ErrCellTooLarge   = errors.New("sheet: cell too large")
	ErrLineTooLong    = errors.New("sheet: line too long")
	ErrUnreadable     = errors.New("sheet: not a readable workbook")
)

func tooLarge(limit int64) error {
	return apperr.Wrap(ErrTooLarge, apperr.TooLarge, "spreadsheet_too_large", fmt.Sprintf(
		"Книга XLSX после распаковки больше %d МБ: разделите файл на несколько или сохраните его как CSV.", limit>>20))
}

func tooManyRows(limit int) error {
	return apperr.Wrap(ErrTooManyRows, apperr.TooLarge, "spreadsheet_too_many_rows", fmt.Sprintf(
		"В файле больше %d строк: разделите его на несколько файлов.", limit))
}

func tooManyColumns(line, limit int) error {
	return apperr.Wrap(ErrTooManyColumns, apperr.Invalid, "spreadsheet_too_many_columns", fmt.Sprintf(
		"В строке %d больше %d столбцов: оставьте в файле только нужные столбцы.", line, limit))
}

func tooManyCells(limit int) error {
	return apperr.Wrap(ErrTooManyCells, apperr.TooLarge, "spreadsheet_too_many_cells", fmt.Sprintf(
		"В файле больше %d заполненных ячеек: разделите его на несколько файлов.", limit))
}

func cellTooLarge(line, limit int) error {
	where := "В файле"
	if line > 0 {
		where = fmt.Sprintf("В строке %d", line)
	}
	return apperr.Wrap(ErrCellTooLarge, apperr.Invalid, "spreadsheet_cell_too_large", fmt.Sprintf(
		"%s есть ячейка длиннее %d КБ.", where, limit>>10))
}

func lineTooLong(line, limit int) error {
	return apperr.Wrap(ErrLineTooLong, apperr.Invalid, "spreadsheet_line_too_long", fmt.Sprintf(
		"Строка %d длиннее %d КБ: файл не похож на таблицу CSV.", line, limit>>10))
}

func unreadable(err error, msg string) error {
	return apperr.Wrap(fmt.Errorf("%w: %v", ErrUnreadable, err), apperr.Unsupported, "spreadsheet_unreadable", msg)
}
