package dashboard

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"
)

// Cell types of an exported table. Money and quantities are integers
// (kopecks, thousandths) converted only when written.
type (
	money int64 // kopecks
	qty   int64 // thousandths of a unit
)

// table is one exportable table.
type table struct {
	Name string // file name without extension, latin
	Head []string
	Rows [][]any
}

func (m money) text() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

func (q qty) text() string {
	sign := ""
	if q < 0 {
		sign, q = "-", -q
	}
	s := fmt.Sprintf("%s%d.%03d", sign, q/1000, q%1000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func cellText(v any) string {
	switch x := v.(type) {
	case money:
		return x.text()
	case qty:
		return x.text()
	default:
		return fmt.Sprint(x)
	}
}

// send writes t as CSV (UTF-8 with a BOM, so Excel reads Cyrillic) or
// XLSX, as format says.
func sendTable(c *fiber.Ctx, t table, format string) error {
	var buf bytes.Buffer
	switch format {
	case "xlsx":
		f := excelize.NewFile()
		defer f.Close()
		sheet := "Sheet1"
		sw, err := f.NewStreamWriter(sheet)
		if err != nil {
			return err
		}
		head := make([]any, len(t.Head))
		for j, h := range t.Head {
			head[j] = h
		}
		if err := sw.SetRow("A1", head); err != nil {
			return err
		}
		for i, r := range t.Rows {
			row := make([]any, len(r))
			for j, v := range r {
				switch x := v.(type) {
				case money:
					row[j] = float64(x) / 100
				case qty:
					row[j] = float64(x) / 1000
				default:
					row[j] = x
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := sw.SetRow(cell, row); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		if err := f.Write(&buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	case "csv":
		buf.WriteString("\ufeff")
		w := csv.NewWriter(&buf)
		_ = w.Write(t.Head)
		for _, r := range t.Rows {
			rec := make([]string, len(r))
			for j, v := range r {
				rec[j] = cellText(v)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	default:
		return fiber.NewError(fiber.StatusBadRequest, "format must be csv or xlsx")
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, t.Name, format))
	return c.Send(buf.Bytes())
}
