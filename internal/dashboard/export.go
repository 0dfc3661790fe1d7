package dashboard

import (
	"bufio"
	"encoding/csv"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	amount "github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Cell types of an exported table. Money and quantities are integers
// (kopecks, thousandths) converted only when written: in CSV as Russian
// Excel reads numbers (decimal comma), in XLSX as numbers with a format.
type (
	money int64 // kopecks
	qty   int64 // thousandths of a unit
	// percent is a relative change in basis points (kpi.Change), with
	// the page's text of it (change), which is also what a cell without a
	// ratio says («новое», «—»).
	percent struct {
		bp   int64
		ok   bool
		text string
	}
)

// table is one exportable table.
type table struct {
	Name string // file name without extension, latin
	Head []string
	Rows [][]any
}

// sheetQty is a quantity as Excel reads it: "12,5", "-1".
var sheetQty = amount.Format{Point: ",", Minus: "-", Cents: amount.CentsTrim}

func (m money) text() string { return amount.Sheet.Format(amount.Kopecks(m)) }

func (q qty) text() string { return sheetQty.Fixed(int64(q), 3) }

func cellText(v any) string {
	switch x := v.(type) {
	case money:
		return x.text()
	case qty:
		return x.text()
	case percent:
		return x.text
	default:
		return fmt.Sprint(x)
	}
}

// sendTable writes t as CSV or XLSX, as format says (see streamTable).
func sendTable(c *fiber.Ctx, t table, format string) error {
	return streamTable(c, t.Name, t.Head, format, func(emit func([]any) error) error {
		for _, r := range t.Rows {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// rowSource produces the rows of a table one by one, calling emit for
// each, and stops at the first error emit returns.
type rowSource func(emit func(row []any) error) error

// streamTable sends the rows rows produces as CSV or XLSX without keeping
// them, or the file, in memory. The CSV is the one Excel opens in columns
// on a Russian Windows: UTF-8 with a BOM (so it reads Cyrillic), ';'
// between fields, a decimal comma, CRLF line ends. In XLSX money,
// quantities and percentages are numeric cells with a number format. CSV goes out as it is written (Fiber's
// body stream writer: rows runs after the handler has returned, so it must
// not touch c); a failure then can no longer change the status, so the
// file ends with a line saying it is incomplete. XLSX is a zip that needs
// every row before it is complete: the rows go through excelize's stream
// writer (which spills to a temporary file) within the handler, so an
// error is still an error page, and only the finished file is streamed.
func streamTable(c *fiber.Ctx, name string, head []string, format string, rows rowSource) error {
	switch format {
	case "xlsx":
		f := excelize.NewFile()
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			_ = f.Close()
			return err
		}
		hrow := make([]any, len(head))
		for j, h := range head {
			hrow[j] = h
		}
		if err := sw.SetRow("A1", hrow); err != nil {
			_ = f.Close()
			return err
		}
		// Built-in number formats: 4 "#,##0.00", 10 "0.00%".
		moneyStyle, err := f.NewStyle(&excelize.Style{NumFmt: 4})
		if err != nil {
			_ = f.Close()
			return err
		}
		qtyFmt := "#,##0.###"
		qtyStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &qtyFmt})
		if err != nil {
			_ = f.Close()
			return err
		}
		pctStyle, err := f.NewStyle(&excelize.Style{NumFmt: 10})
		if err != nil {
			_ = f.Close()
			return err
		}
		n := 1
		err = rows(func(r []any) error {
			n++
			row := make([]any, len(r))
			for j, v := range r {
				switch x := v.(type) {
				case money:
					row[j] = excelize.Cell{StyleID: moneyStyle, Value: float64(x) / 100}
				case qty:
					row[j] = excelize.Cell{StyleID: qtyStyle, Value: float64(x) / 1000}
				case percent:
					if x.ok {
						row[j] = excelize.Cell{StyleID: pctStyle, Value: float64(x.bp) / 10000}
					} else {
						row[j] = x.text
					}
				default:
					row[j] = x
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1, n)
			return sw.SetRow(cell, row)
		})
		if err == nil {
			err = sw.Flush()
		}
		if err != nil {
			_ = f.Close()
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer f.Close()
			_ = f.Write(w)
		})
		return nil
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			_, _ = w.WriteString("\ufeff")
			cw := csv.NewWriter(w)
			cw.Comma, cw.UseCRLF = ';', true
			_ = cw.Write(head)
			err := rows(func(r []any) error {
				rec := make([]string, len(r))
				for j, v := range r {
					rec[j] = cellText(v)
				}
				return cw.Write(rec)
			})
			if err != nil {
				_ = cw.Write([]string{"Выгрузка прервана из-за ошибки: файл неполный"})
			}
			cw.Flush()
		})
		return nil
	default:
		return fiber.NewError(fiber.StatusBadRequest, "format must be csv or xlsx")
	}
}
