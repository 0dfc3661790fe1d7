package sheet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet/sheettest"
)

func TestReadXLSX(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer f.Close()
	for cell, v := range map[string]any{"A1": "телефон", "B1": "баллы", "D1": "основание",
		"A2": "+79991234567", "B2": 100.5, "A4": "+79991234568", "B4": 7} {
		if err := f.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetCellFormula("Sheet1", "C4", "B4*2"); err != nil {
		t.Fatal(err)
	}
	if err := f.MergeCell("Sheet1", "D2", "D4"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var got []sheet.Row
	merged, err := sheet.ReadXLSX(buf.Bytes(), sheet.Limits{}, func(r sheet.Row) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sheet.Row{
		{Line: 1, Cells: []string{"телефон", "баллы", "", "основание"}, Numeric: []bool{false, false, false, false}},
		{Line: 2, Cells: []string{"+79991234567", "100.5"}, Numeric: []bool{false, true}},
		{Line: 4, Cells: []string{"+79991234568", "7", ""}, Numeric: []bool{false, true, false}, Formulas: []string{"", "", "B4*2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]sheet.Range{{From: "D2", To: "D4"}}, merged); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}

// TestBombs: hostile workbooks are refused with a code, and the heap stays
// within a few megabytes of where it was: nothing is inflated past the
// limits. (Before package sheet, excelize loaded the whole sheet as structs
// for cell types, formulas and merged cells: a 1 MB bomb took >11 GB.)
func TestBombs(t *testing.T) {
	small := sheet.Limits{MaxCells: 100_000}
	for _, tc := range []struct {
		name string
		bomb sheettest.Bomb
		lim  sheet.Limits
		want error
		code string
	}{
		{"sheet inflating to 1 GiB", sheettest.Bomb{Part: "sheet", Inflate: 1 << 30}, sheet.Limits{}, sheet.ErrTooLarge, "spreadsheet_too_large"},
		{"shared strings inflating to 1 GiB", sheettest.Bomb{Part: "sst", Inflate: 1 << 30}, sheet.Limits{}, sheet.ErrTooLarge, "spreadsheet_too_large"},
		{"sheet declared 1 KiB, inflating to 1 GiB", sheettest.Bomb{Part: "sheet", Inflate: 1 << 30, Lie: true}, sheet.Limits{}, sheet.ErrUnreadable, "spreadsheet_unreadable"},
		{"100 MiB of rows", sheettest.Bomb{Part: "sheet", Inflate: 100 << 20}, sheet.Limits{}, sheet.ErrTooManyRows, "spreadsheet_too_many_rows"},
		{"100 MiB of shared strings", sheettest.Bomb{Part: "sst", Inflate: 100 << 20}, small, sheet.ErrTooManyCells, "spreadsheet_too_many_cells"},
		{"one endless cell", sheettest.Bomb{Part: "sheet", Inflate: 100 << 20, Unit: "xxxxxxxxxxxxxxxx"}, sheet.Limits{}, sheet.ErrCellTooLarge, "spreadsheet_cell_too_large"},
		{"a row 16384 columns wide", sheettest.Bomb{Part: "sheet", Inflate: 1 << 20, Unit: `<row r="1"><c r="XFD1"><v>1</v></c></row>`}, sheet.Limits{}, sheet.ErrTooManyColumns, "spreadsheet_too_many_columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.bomb.XLSX(t)
			var err error
			rows := 0
			h := heaptest.Measure(func() {
				_, err = sheet.ReadXLSX(data, tc.lim, func(sheet.Row) error { rows++; return nil })
			})
			e, _ := apperr.As(err)
			if !errors.Is(err, tc.want) || e == nil || e.Code != tc.code {
				t.Fatalf("err = %v, want %v (%s)", err, tc.want, tc.code)
			}
			t.Logf("%d KiB file: %s after %d rows; peak heap +%d KiB, allocated %d MiB", len(data)>>10, e.Code, rows, h.PeakInuse>>10, h.Alloc>>20)
			if h.PeakInuse > 64<<20 && !heaptest.Race {
				t.Errorf("peak heap +%d MiB, want < 64 MiB", h.PeakInuse>>20)
			}
		})
	}
}

func TestCSVLimits(t *testing.T) {
	t.Parallel()
	lim := sheet.Limits{MaxRows: 3, MaxCols: 3, MaxCellBytes: 8, MaxLineBytes: 64}
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"fits", "a;b;c\n1;2;3\n", nil},
		{"too many rows", "a\nb\nc\nd\n", sheet.ErrTooManyRows},
		{"too many columns", "a;b;c;d\n", sheet.ErrTooManyColumns},
		{"cell too large", "a;123456789\n", sheet.ErrCellTooLarge},
		{"line too long", "a\n" + strings.Repeat("x", 100) + "\n", sheet.ErrLineTooLong},
		{"quoted field spanning a megabyte", "a\n\"" + strings.Repeat("x\n", 1<<19) + "\"\n", sheet.ErrCellTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sheet.NewCSV(strings.NewReader(tc.in), ';', lim)
			var err error
			for err == nil {
				_, _, err = r.Read()
			}
			if err == io.EOF {
				err = nil
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if e, ok := apperr.As(err); !ok || e.Code == "" {
					t.Errorf("err %v has no code", err)
				}
			}
		})
	}
}

func FuzzReadXLSX(f *testing.F) {
	f.Add(sheettest.Bomb{Part: "sheet", Inflate: 1 << 10}.XLSX(f))
	f.Add(sheettest.Bomb{Part: "sst", Inflate: 1 << 10}.XLSX(f))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := sheet.ReadXLSX(data, sheet.Limits{MaxUnzipBytes: 1 << 20}, func(r sheet.Row) error {
			if len(r.Cells) != len(r.Numeric) {
				return fmt.Errorf("cells %d numeric %d", len(r.Cells), len(r.Numeric))
			}
			return nil
		})
		if err != nil && strings.HasPrefix(err.Error(), "cells") {
			t.Fatal(err)
		}
	})
}
