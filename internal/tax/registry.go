package tax

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/phone"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
)

// ProfileRow is one participant's legal data from a registry file.
type ProfileRow struct {
	Line  int
	Phone string // normalised, +7…
	Data  LegalData
}

// RowError is a problem of one line; it names the column, never the value.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// MaxProfileRows bounds one registry of legal data.
const MaxProfileRows = 20_000

// profileColumns maps a header (lower case) to the field it fills.
var profileColumns = map[string]string{
	"телефон": "phone", "phone": "phone",
	"фамилия": "last_name", "last_name": "last_name",
	"имя": "first_name", "first_name": "first_name",
	"отчество": "middle_name", "middle_name": "middle_name",
	"дата рождения": "birth_date", "birth_date": "birth_date",
	"инн": "inn", "inn": "inn",
	"гражданство": "citizenship", "citizenship": "citizenship",
	"статус": "residency", "residency": "residency",
	"код документа": "doc_type", "doc_type": "doc_type",
	"серия": "doc_series", "doc_series": "doc_series",
	"номер": "doc_number", "doc_number": "doc_number",
	"дата выдачи": "doc_issued", "doc_issued": "doc_issued",
	"адрес": "address", "address": "address",
}

// ErrProfileFile is a file that cannot be read as a registry of legal data.
var ErrProfileFile = apperr.New(apperr.Invalid, "tax_profile_file",
	"Файл: CSV (UTF-8, «;» или «,») или XLSX, первая строка — заголовки: Телефон, Фамилия, Имя, Отчество, Дата рождения, ИНН, Гражданство, Статус, Код документа, Серия, Номер, Дата выдачи, Адрес.")

// ParseProfiles reads a registry of legal data (CSV or XLSX, headers in
// the first row, Телефон required) and validates every row as of today.
// Rows with errors are reported and left out; the caller decides whether
// to save the rest. Limits bound the memory a hostile file can take.
func ParseProfiles(data []byte, today time.Time) ([]ProfileRow, []RowError, error) {
	lim := sheet.Limits{MaxRows: MaxProfileRows + 1, MaxCols: 40, MaxCellBytes: 1000, MaxCells: (MaxProfileRows + 1) * 20,
		MaxUnzipBytes: 64 << 20, MaxLineBytes: 16 << 10}
	var rows []sheet.Row
	if bytes.HasPrefix(data, []byte("PK")) {
		if _, err := sheet.ReadXLSX(data, lim, func(r sheet.Row) error { rows = append(rows, r); return nil }); err != nil {
			return nil, nil, err
		}
	} else {
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		if !utf8.Valid(data) {
			return nil, nil, ErrProfileFile
		}
		first, _, _ := bytes.Cut(data, []byte("\n"))
		comma := ','
		if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
			comma = ';'
		}
		r := sheet.NewCSV(bytes.NewReader(data), comma, lim)
		for {
			rec, line, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var ae *apperr.Error
				if errors.As(err, &ae) {
					return nil, nil, err
				}
				return nil, nil, ErrProfileFile
			}
			rows = append(rows, sheet.Row{Line: line, Cells: rec})
		}
	}
	if len(rows) == 0 {
		return nil, nil, ErrProfileFile
	}
	cols := map[int]string{}
	hasPhone := false
	for i, h := range rows[0].Cells {
		if f, ok := profileColumns[strings.ToLower(strings.TrimSpace(h))]; ok {
			cols[i] = f
			hasPhone = hasPhone || f == "phone"
		}
	}
	if !hasPhone {
		return nil, nil, ErrProfileFile
	}
	var out []ProfileRow
	var errs []RowError
	seen := map[string]int{}
	for _, r := range rows[1:] {
		blank := true
		for _, c := range r.Cells {
			blank = blank && strings.TrimSpace(c) == ""
		}
		if blank {
			continue
		}
		pr := ProfileRow{Line: r.Line}
		var rowErr *RowError
		for i, c := range r.Cells {
			f, ok := cols[i]
			if !ok {
				continue
			}
			numeric := i < len(r.Numeric) && r.Numeric[i]
			if err := setProfileField(&pr, f, strings.TrimSpace(c), numeric); err != nil && rowErr == nil {
				rowErr = &RowError{Line: r.Line, Field: f, Message: err.Error()}
			}
		}
		if rowErr == nil {
			pr.Data = pr.Data.Normalize()
			if err := pr.Data.Validate(today); err != nil {
				field, msg := "", err.Error()
				if rest, ok := strings.CutPrefix(msg, ErrInvalidProfile.Error()+": "); ok {
					field, msg, _ = strings.Cut(rest, ": ")
				}
				rowErr = &RowError{Line: r.Line, Field: field, Message: msg}
			}
		}
		if rowErr == nil {
			if prev, dup := seen[pr.Phone]; dup {
				rowErr = &RowError{Line: r.Line, Field: "phone", Message: fmt.Sprintf("телефон уже был в строке %d", prev)}
			}
		}
		if rowErr != nil {
			errs = append(errs, *rowErr)
			continue
		}
		seen[pr.Phone] = r.Line
		if pr.Data.Residency == "" {
			pr.Data.Residency = Resident
		}
		out = append(out, pr)
	}
	return out, errs, nil
}

func setProfileField(pr *ProfileRow, field, v string, numeric bool) error {
	d := &pr.Data
	switch field {
	case "phone":
		p, err := phone.Normalize(v)
		if err != nil {
			return errors.New("телефон не распознан")
		}
		pr.Phone = p
	case "birth_date", "doc_issued":
		date, err := parseDate(v, numeric)
		if err != nil {
			return err
		}
		if field == "birth_date" {
			d.BirthDate = date
		} else {
			d.DocIssued = date
		}
	case "residency":
		switch strings.ToLower(v) {
		case "", "резидент", "resident", "1":
			d.Residency = Resident
		case "нерезидент", "non_resident", "2":
			d.Residency = NonResident
		default:
			return errors.New("статус: резидент или нерезидент")
		}
	case "last_name":
		d.LastName = v
	case "first_name":
		d.FirstName = v
	case "middle_name":
		d.MiddleName = v
	case "inn":
		d.INN = v
	case "citizenship":
		d.Citizenship = v
	case "doc_type":
		d.DocType = v
	case "doc_series":
		d.DocSeries = v
	case "doc_number":
		d.DocNumber = v
	case "address":
		d.Address = v
	}
	return nil
}

// parseDate reads ДД.ММ.ГГГГ, ГГГГ-ММ-ДД or an Excel date serial.
func parseDate(v string, numeric bool) (string, error) {
	if v == "" {
		return "", nil
	}
	if numeric {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && f > 0 && f < 2958466 {
			return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(f)).Format(time.DateOnly), nil
		}
	}
	for _, layout := range []string{"02.01.2006", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", errors.New("дата: ДД.ММ.ГГГГ")
}
