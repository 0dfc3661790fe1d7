package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Row is one row of a sheet.
type Row struct {
	// Line is the 1-based row number (XLSX) or the line the record starts
	// on (CSV).
	Line int
	// Cells holds the text of each column, trailing empty cells dropped.
	// XLSX cells are raw: a number is the text of the stored double
	// ("100.49999999999999"), a shared or inline string its text.
	Cells []string
	// Numeric marks the XLSX cells stored as numbers (nil for CSV).
	Numeric []bool
	// Formulas holds the formula of each XLSX cell that has one, "" for the
	// others; nil when the row has none.
	Formulas []string
}

// Range is a merged range of cells, such as A2 to A3.
type Range struct{ From, To string }

// ReadXLSX streams the rows of the first sheet of an XLSX workbook to fn,
// in order, and returns the sheet's merged ranges (known only once the whole
// sheet was read). It stops at fn's first error and returns it. Over a
// limit it returns an *apperr.Error wrapping ErrTooLarge, ErrTooManyRows,
// ErrTooManyColumns, ErrTooManyCells or ErrCellTooLarge; a file that is not
// a workbook gives one wrapping ErrUnreadable.
func ReadXLSX(data []byte, lim Limits, fn func(Row) error) ([]Range, error) {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, unreadable(err, "Не удалось открыть файл XLSX: он повреждён или защищён паролем.")
	}
	p := &pkg{lim: lim, budget: lim.MaxUnzipBytes, files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		p.files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))] = f
	}
	sheetPart, sstPart, err := p.locate()
	if err != nil {
		return nil, err
	}
	sheetFile := p.files[strings.ToLower(sheetPart)]
	if sheetFile == nil {
		return nil, unreadable(fmt.Errorf("no part %s", sheetPart), "В книге XLSX нет листов.")
	}
	sstFile := p.files[strings.ToLower(sstPart)]
	// Both big parts are weighed before either is inflated.
	need := sheetFile.UncompressedSize64
	if sstFile != nil {
		need += sstFile.UncompressedSize64
	}
	if need > uint64(p.budget) {
		return nil, tooLarge(lim.MaxUnzipBytes)
	}
	var sst []string
	if sstFile != nil {
		if sst, err = p.sharedStrings(sstFile); err != nil {
			return nil, err
		}
	}
	return p.sheet(sheetFile, sst, fn)
}

// pkg reads parts of one archive, charging their declared sizes to budget.
type pkg struct {
	lim    Limits
	budget int64
	files  map[string]*zip.File
}

// open inflates a part whose declared size fits the remaining budget.
// archive/zip fails a part that inflates past its declared size, and
// tokenLimit keeps the XML decoder's buffer to one bounded token.
func (p *pkg) open(f *zip.File) (*xml.Decoder, io.Closer, error) {
	if f.UncompressedSize64 > uint64(p.budget) {
		return nil, nil, tooLarge(p.lim.MaxUnzipBytes)
	}
	p.budget -= int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return nil, nil, unreadable(err, "Не удалось открыть файл XLSX: он повреждён или защищён паролем.")
	}
	d := xml.NewDecoder(&tokenLimit{r: io.LimitReader(rc, int64(f.UncompressedSize64)), max: 8*p.lim.MaxCellBytes + 4096})
	return d, rc, nil
}

// locate finds the first sheet and the shared strings through the
// package's relationships, falling back to the usual names.
func (p *pkg) locate() (sheetPart, sstPart string, err error) {
	workbook := "xl/workbook.xml"
	if f := p.files["_rels/.rels"]; f != nil {
		rels, err := p.rels(f)
		if err != nil {
			return "", "", err
		}
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				workbook = strings.TrimPrefix(r.target, "/")
				break
			}
		}
	}
	wb := p.files[strings.ToLower(workbook)]
	if wb == nil {
		return "", "", unreadable(errors.New("no workbook part"), "Файл не похож на книгу XLSX.")
	}
	firstID, err := p.firstSheetID(wb)
	if err != nil {
		return "", "", err
	}
	dir := path.Dir(workbook)
	resolve := func(target string) string {
		if strings.HasPrefix(target, "/") {
			return strings.TrimPrefix(target, "/")
		}
		return path.Join(dir, target)
	}
	sheetPart, sstPart = path.Join(dir, "worksheets/sheet1.xml"), path.Join(dir, "sharedStrings.xml")
	if f := p.files[strings.ToLower(path.Join(dir, "_rels", path.Base(workbook)+".rels"))]; f != nil {
		rels, err := p.rels(f)
		if err != nil {
			return "", "", err
		}
		for _, r := range rels {
			switch {
			case r.id == firstID && firstID != "":
				sheetPart = resolve(r.target)
			case strings.HasSuffix(r.typ, "/sharedStrings"):
				sstPart = resolve(r.target)
			}
		}
	}
	return sheetPart, sstPart, nil
}

type rel struct{ id, typ, target string }

func (p *pkg) rels(f *zip.File) ([]rel, error) {
	d, c, err := p.open(f)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []rel
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, p.xmlErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" {
			if len(out) >= 10_000 {
				return nil, tooLarge(p.lim.MaxUnzipBytes)
			}
			out = append(out, rel{id: attr(se, "Id"), typ: attr(se, "Type"), target: attr(se, "Target")})
		}
	}
}

// firstSheetID returns the relationship id of the workbook's first sheet.
func (p *pkg) firstSheetID(f *zip.File) (string, error) {
	d, c, err := p.open(f)
	if err != nil {
		return "", err
	}
	defer c.Close()
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return "", unreadable(errors.New("no sheet"), "В книге XLSX нет листов.")
		}
		if err != nil {
			return "", p.xmlErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sheet" {
			return attr(se, "id"), nil
		}
	}
}

// sharedStrings reads the shared string table: each <si> is the text of
// its <t> runs, phonetic runs (<rPh>) left out.
func (p *pkg) sharedStrings(f *zip.File) ([]string, error) {
	d, c, err := p.open(f)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var (
		out      []string
		cur      strings.Builder
		inSI, rp bool
		inT      bool
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, p.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI = true
				cur.Reset()
			case "rPh":
				rp = true
			case "t":
				inT = inSI && !rp
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if len(out) >= p.lim.MaxCells {
					return nil, tooManyCells(p.lim.MaxCells)
				}
				out = append(out, cur.String())
				inSI = false
			case "rPh":
				rp = false
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				if cur.Len()+len(t) > p.lim.MaxCellBytes {
					return nil, cellTooLarge(0, p.lim.MaxCellBytes)
				}
				cur.Write(t)
			}
		}
	}
}

// sheet streams the rows of a worksheet part.
func (p *pkg) sheet(f *zip.File, sst []string, fn func(Row) error) ([]Range, error) {
	d, c, err := p.open(f)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var (
		merged  []Range
		row     Row
		inRow   bool
		rows    int
		cells   int
		col     int // 0-based column of the current cell
		typ     string
		val     strings.Builder
		formula strings.Builder
		shareID string
		text    *strings.Builder // where character data goes, nil outside v/f/t
		inIS    bool
		inCell  bool // RawToken does not match end tags to start tags
		hasF    bool
		shared  = map[string]string{}
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return merged, nil
		}
		if err != nil {
			return nil, p.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				if rows++; rows > p.lim.MaxRows {
					return nil, tooManyRows(p.lim.MaxRows)
				}
				n := row.Line + 1
				if r, err := strconv.Atoi(attr(t, "r")); err == nil && r > 0 {
					n = r
				}
				row, inRow, inCell, col = Row{Line: n}, true, false, -1
			case "c":
				if !inRow {
					continue
				}
				inCell = true
				col++
				if ref := attr(t, "r"); ref != "" {
					if j, ok := columnIndex(ref); ok {
						col = j
					}
				}
				if col >= p.lim.MaxCols {
					return nil, tooManyColumns(row.Line, p.lim.MaxCols)
				}
				typ, hasF, shareID = attr(t, "t"), false, ""
				val.Reset()
				formula.Reset()
			case "v":
				text = &val
			case "f":
				text, hasF = &formula, true
				if attr(t, "t") == "shared" {
					shareID = attr(t, "si")
				}
			case "is":
				inIS = true
			case "t":
				if inIS {
					text = &val
				}
			case "rPh":
				inIS = false // phonetic runs are not part of the text
			case "mergeCell":
				if len(merged) >= p.lim.MaxCells {
					return nil, tooManyCells(p.lim.MaxCells)
				}
				from, to, _ := strings.Cut(attr(t, "ref"), ":")
				merged = append(merged, Range{From: from, To: to})
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				text = nil
			case "f":
				text = nil
				if shareID != "" {
					if formula.Len() > 0 {
						if len(shared) < p.lim.MaxCells {
							shared[shareID] = formula.String()
						}
					} else {
						formula.WriteString(shared[shareID])
					}
				}
			case "is":
				inIS = false
			case "c":
				if !inRow || !inCell {
					continue
				}
				inCell = false
				v := val.String()
				if typ == "s" {
					i, err := strconv.Atoi(strings.TrimSpace(v))
					if err != nil || i < 0 || i >= len(sst) {
						return nil, unreadable(fmt.Errorf("shared string %q of %d", v, len(sst)),
							fmt.Sprintf("Строка %d книги XLSX ссылается на несуществующий текст: файл повреждён.", row.Line))
					}
					v = sst[i]
				}
				if v == "" && !hasF {
					continue
				}
				if cells++; cells > p.lim.MaxCells {
					return nil, tooManyCells(p.lim.MaxCells)
				}
				for len(row.Cells) <= col {
					row.Cells = append(row.Cells, "")
					row.Numeric = append(row.Numeric, false)
				}
				row.Cells[col] = v
				row.Numeric[col] = typ == "" || typ == "n"
				if hasF {
					for len(row.Formulas) <= col {
						row.Formulas = append(row.Formulas, "")
					}
					row.Formulas[col] = formula.String()
					if row.Formulas[col] == "" {
						row.Formulas[col] = "…"
					}
				}
			case "row":
				if !inRow {
					continue
				}
				inRow = false
				for len(row.Formulas) > 0 && len(row.Formulas) < len(row.Cells) {
					row.Formulas = append(row.Formulas, "")
				}
				if err := fn(row); err != nil {
					return nil, err
				}
				row = Row{Line: row.Line}
			}
		case xml.CharData:
			if text != nil {
				if text.Len()+len(t) > p.lim.MaxCellBytes {
					return nil, cellTooLarge(row.Line, p.lim.MaxCellBytes)
				}
				text.Write(t)
			}
		}
	}
}

// xmlErr turns a decoding failure into the file's error: a limit hit
// inside the reader keeps its own.
func (p *pkg) xmlErr(err error) error {
	if errors.Is(err, errTokenTooLong) {
		return cellTooLarge(0, p.lim.MaxCellBytes)
	}
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		return unreadable(err, "Файл XLSX повреждён: часть архива не распаковывается.")
	}
	return unreadable(err, "Файл XLSX повреждён: не удалось прочитать его XML.")
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// columnIndex returns the 0-based column of a cell reference such as
// "AB12"; ok is false when ref does not start with letters.
func columnIndex(ref string) (int, bool) {
	n, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		if n > 1<<20 {
			return 0, false
		}
		n = n*26 + int(c-'a'+1)
	}
	if i == 0 {
		return 0, false
	}
	return n - 1, true
}

var errTokenTooLong = errors.New("sheet: XML token too long")

// tokenLimit fails a stream with more than max bytes between two markup
// delimiters: encoding/xml buffers a whole token (a text node, a tag with
// its attributes) before returning it, so one endless text node would
// otherwise be held whole.
type tokenLimit struct {
	r   io.Reader
	max int
	run int
}

func (t *tokenLimit) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	for _, c := range b[:n] {
		if c == '<' || c == '>' {
			t.run = 0
			continue
		}
		if t.run++; t.run > t.max {
			return 0, errTokenTooLong
		}
	}
	return n, err
}
