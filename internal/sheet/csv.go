package sheet

import (
	"encoding/csv"
	"errors"
	"io"
)

// CSV reads the records of CSV text within Limits. Use NewCSV.
type CSV struct {
	r     *csv.Reader
	lines *lineLimit
	lim   Limits
	rows  int
	cells int
}

// NewCSV returns a reader of text (already UTF-8) with the given delimiter.
// Records may have any number of fields up to Limits.MaxCols; quotes are
// strict (RFC 4180).
func NewCSV(text io.Reader, comma rune, lim Limits) *CSV {
	lim = lim.withDefaults()
	ll := &lineLimit{r: text, max: lim.MaxLineBytes, line: 1}
	cr := csv.NewReader(ll)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	return &CSV{r: cr, lines: ll, lim: lim}
}

// Read returns the next record and the line it starts on. It returns
// io.EOF after the last record, a *csv.ParseError for broken quoting, and
// an *apperr.Error wrapping ErrLineTooLong, ErrTooManyRows,
// ErrTooManyColumns, ErrTooManyCells or ErrCellTooLarge over a limit.
func (c *CSV) Read() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, errLineTooLong) {
			return nil, 0, lineTooLong(c.lines.line, c.lim.MaxLineBytes)
		}
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	if c.rows++; c.rows > c.lim.MaxRows {
		return nil, 0, tooManyRows(c.lim.MaxRows)
	}
	if len(rec) > c.lim.MaxCols {
		return nil, 0, tooManyColumns(line, c.lim.MaxCols)
	}
	for _, f := range rec {
		if len(f) > c.lim.MaxCellBytes {
			return nil, 0, cellTooLarge(line, c.lim.MaxCellBytes)
		}
		if f != "" {
			if c.cells++; c.cells > c.lim.MaxCells {
				return nil, 0, tooManyCells(c.lim.MaxCells)
			}
		}
	}
	return rec, line, nil
}

var errLineTooLong = errors.New("sheet: line too long")

// lineLimit fails the stream at a physical line longer than max bytes, so
// the CSV reader never buffers one; line counts the lines seen.
type lineLimit struct {
	r    io.Reader
	max  int
	run  int
	line int
}

func (l *lineLimit) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	for _, c := range b[:n] {
		if c == '\n' {
			l.run = 0
			l.line++
			continue
		}
		if l.run++; l.run > l.max {
			return 0, errLineTooLong
		}
	}
	return n, err
}
