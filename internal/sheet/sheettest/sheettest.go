// Package sheettest builds hostile spreadsheets for tests: XLSX
// decompression bombs that are a few kilobytes to a few megabytes on the
// wire and inflate to gigabytes.
package sheettest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"strings"
	"testing"
)

// Bomb describes a workbook whose sheet or shared strings part repeats
// Unit until it holds about Inflate bytes.
type Bomb struct {
	// Part is "sheet" (rows in the first sheet) or "sst" (strings in the
	// shared string table, the sheet referencing the first).
	Part string
	// Inflate is the inflated size of the part, about.
	Inflate int64
	// Unit is the repeated XML (a row, or an <si>); a default when empty.
	Unit string
	// Lie declares the part 1 KiB in the archive's headers, whatever it
	// inflates to.
	Lie bool
}

const (
	contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`
	rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	workbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>`
	workbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	sheetTail = `</sheetData></worksheet>`
	sstHead   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`
	sstTail = `</sst>`
)

// XLSX returns the bomb as an XLSX file. The repeated part is written as
// one deflate segment of 1 MiB of units, copied: building a 1 GiB bomb
// costs a CRC pass, not a compression of 1 GiB.
func (b Bomb) XLSX(tb testing.TB) []byte {
	tb.Helper()
	unit := b.Unit
	if unit == "" {
		unit = `<row><c t="s"><v>0</v></c><c><v>100</v></c></row>`
		if b.Part == "sst" {
			unit = `<si><t>+79991234567</t></si>`
		}
	}
	head, tail := sheetHead, sheetTail
	if b.Part == "sst" {
		head, tail = sstHead, sstTail
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	put := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			tb.Fatal(err)
		}
	}
	put("[Content_Types].xml", contentTypes)
	put("_rels/.rels", rootRels)
	put("xl/workbook.xml", workbook)
	put("xl/_rels/workbook.xml.rels", workbookRels)
	if b.Part == "sst" {
		put("xl/worksheets/sheet1.xml", sheetHead+`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`+sheetTail)
	} else {
		put("xl/sharedStrings.xml", sstHead+`<si><t>телефон</t></si>`+sstTail)
	}
	chunk := strings.Repeat(unit, max(1, int(min(1<<20, b.Inflate))/len(unit)))
	n := max(1, (b.Inflate-int64(len(head)+len(tail)))/int64(len(chunk)))
	seg := func(s string, final bool) []byte {
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestCompression)
		fw.Write([]byte(s))
		if final {
			fw.Close()
		} else {
			fw.Flush()
		}
		return buf.Bytes()
	}
	h, c, t := seg(head, false), seg(chunk, false), seg(tail, true)
	crc := crc32.Update(0, crc32.IEEETable, []byte(head))
	for range n {
		crc = crc32.Update(crc, crc32.IEEETable, []byte(chunk))
	}
	crc = crc32.Update(crc, crc32.IEEETable, []byte(tail))
	size := uint64(len(head)+len(tail)) + uint64(n)*uint64(len(chunk))
	if b.Lie {
		size = 1 << 10
	}
	name := "xl/worksheets/sheet1.xml"
	if b.Part == "sst" {
		name = "xl/sharedStrings.xml"
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(h)+len(t)) + uint64(n)*uint64(len(c)), UncompressedSize64: size})
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(h)
	for range n {
		w.Write(c)
	}
	w.Write(t)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
