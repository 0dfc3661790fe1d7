package tenant

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/inn"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet"
)

// Shop is a point of sale of a client's goods. The fiscal identifiers
// (the shop's ИНН, its cash registers' KKT registration numbers and
// fiscal drive numbers) are what receipt attribution checks.
type Shop struct {
	ID          int64     `json:"id"`
	ClientID    int64     `json:"client_id"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	INN         string    `json:"inn"`
	KKT         []string  `json:"kkt_reg_numbers"`
	FN          []string  `json:"fn_numbers"`
	Address     string    `json:"address"`
	Chain       string    `json:"chain"`
	Region      string    `json:"region"`
	Distributor string    `json:"distributor"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Errors about shops.
var (
	ErrShopNotFound  = apperr.New(apperr.NotFound, "shop_not_found", "Магазин не найден.")
	ErrShopRows      = apperr.New(apperr.Invalid, "shop_rows_invalid", "В файле магазинов есть ошибки в строках; ничего не загружено.")
	ErrShopFileEmpty = apperr.New(apperr.Invalid, "shop_file_empty", "В файле нет ни одного магазина.")
	ErrShopHeader    = apperr.New(apperr.Invalid, "shop_file_header",
		"Первая строка файла — заголовки; нужны столбцы «код» и «название» (необязательные: ИНН, ККТ, ФН, адрес, сеть, регион, дистрибьютор).")
	ErrShopFileTooLarge = apperr.New(apperr.TooLarge, "shop_file_too_large", "Файл магазинов больше 10 МБ: разделите его.")
)

// MaxShopFileBytes bounds an uploaded shops file.
const MaxShopFileBytes = 10 << 20

// RowError is one refused row of an import.
type RowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// ShopRowsError is ErrShopRows with the rows.
type ShopRowsError struct{ Rows []RowError }

func (e *ShopRowsError) Error() string { return ErrShopRows.Error() }

// Unwrap returns ErrShopRows.
func (e *ShopRowsError) Unwrap() error { return ErrShopRows }

// fiscalNumbers splits a cell of 16-digit numbers (separated by spaces,
// commas, semicolons or '|').
func fiscalNumbers(v string) ([]string, bool) {
	out := []string{}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '|' || r == '\n' }) {
		if len(f) != 16 || strings.Trim(f, "0123456789") != "" {
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

// Validate checks and normalises s.
func (s *Shop) Validate() error {
	var err error
	if s.Code, err = text(s.Code, "code", 64, true); err != nil {
		return err
	}
	if s.Name, err = text(s.Name, "name", 300, true); err != nil {
		return err
	}
	if !utf8.ValidString(s.INN) {
		return invalid("invalid_utf8", "inn", "Поле содержит недопустимые символы (ожидается UTF-8).")
	}
	if s.INN = inn.Normalize(s.INN); s.INN != "" {
		if err := inn.Validate(s.INN, inn.Any); err != nil {
			return invalid("bad_inn", "inn", "ИНН: "+err.Error()+".")
		}
	}
	for _, f := range []struct {
		v     *string
		field string
		max   int
	}{{&s.Address, "address", 500}, {&s.Chain, "chain", 200}, {&s.Region, "region", 200}, {&s.Distributor, "distributor", 300}} {
		if *f.v, err = text(*f.v, f.field, f.max, false); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		v     *[]string
		field string
		what  string
	}{{&s.KKT, "kkt_reg_numbers", "Регистрационный номер ККТ"}, {&s.FN, "fn_numbers", "Номер фискального накопителя"}} {
		nums, ok := fiscalNumbers(strings.Join(*f.v, " "))
		if !ok || len(nums) > 100 {
			return invalid("bad_fiscal_number", f.field, f.what+" — 16 цифр; несколько номеров разделяйте запятой.")
		}
		*f.v = nums
	}
	return nil
}

// shopColumns maps the header names an import accepts to fields.
var shopColumns = map[string]string{
	"код": "code", "code": "code", "код магазина": "code",
	"название": "name", "name": "name", "магазин": "name",
	"инн": "inn", "inn": "inn",
	"ккт": "kkt", "kkt": "kkt", "рн ккт": "kkt", "регистрационный номер ккт": "kkt", "kkt_reg_numbers": "kkt",
	"фн": "fn", "fn": "fn", "номер фн": "fn", "fn_numbers": "fn",
	"адрес": "address", "address": "address",
	"сеть": "chain", "chain": "chain",
	"регион": "region", "region": "region",
	"дистрибьютор": "distributor", "distributor": "distributor",
}

// ParseShops reads a shops file: XLSX (by its zip signature) or CSV
// (UTF-8, ';' or ','), header row first, within package sheet's bounds.
// It is all-or-nothing: any bad row gives a *ShopRowsError listing every
// bad row (up to 1 000).
func ParseShops(data []byte) ([]Shop, error) {
	if len(data) > MaxShopFileBytes {
		return nil, ErrShopFileTooLarge
	}
	var rows []sheet.Row
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		if _, err := sheet.ReadXLSX(data, sheet.Limits{}, func(r sheet.Row) error {
			rows = append(rows, sheet.Row{Line: r.Line, Cells: r.Cells})
			return nil
		}); err != nil {
			return nil, err
		}
	} else {
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		if !utf8.Valid(data) {
			return nil, invalid("invalid_utf8", "file", "Файл CSV должен быть в кодировке UTF-8.")
		}
		comma := ','
		if first, _, _ := bytes.Cut(data, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
			comma = ';'
		}
		cr := sheet.NewCSV(bytes.NewReader(data), comma, sheet.Limits{})
		for {
			rec, line, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &ShopRowsError{Rows: []RowError{{Line: pe.Line, Reason: "ошибка разметки CSV: " + pe.Err.Error()}}}
			}
			if err != nil {
				return nil, err
			}
			rows = append(rows, sheet.Row{Line: line, Cells: rec})
		}
	}
	if len(rows) == 0 {
		return nil, ErrShopFileEmpty
	}
	cols := map[int]string{}
	seenCol := map[string]bool{}
	for i, h := range rows[0].Cells {
		if f, ok := shopColumns[strings.ToLower(strings.TrimSpace(h))]; ok && !seenCol[f] {
			cols[i], seenCol[f] = f, true
		}
	}
	if !seenCol["code"] || !seenCol["name"] {
		return nil, ErrShopHeader
	}
	var shops []Shop
	var bad []RowError
	codes := map[string]int{}
	for _, r := range rows[1:] {
		blank := true
		for _, c := range r.Cells {
			blank = blank && strings.TrimSpace(c) == ""
		}
		if blank {
			continue
		}
		var s Shop
		for i, c := range r.Cells {
			switch cols[i] {
			case "code":
				s.Code = c
			case "name":
				s.Name = c
			case "inn":
				s.INN = c
			case "kkt":
				s.KKT = []string{c}
			case "fn":
				s.FN = []string{c}
			case "address":
				s.Address = c
			case "chain":
				s.Chain = c
			case "region":
				s.Region = c
			case "distributor":
				s.Distributor = c
			}
		}
		if err := s.Validate(); err != nil {
			e, _ := apperr.As(err)
			bad = append(bad, RowError{Line: r.Line, Field: e.Field, Reason: e.Message})
		} else if prev, dup := codes[s.Code]; dup {
			bad = append(bad, RowError{Line: r.Line, Field: "code", Reason: fmt.Sprintf("код %s уже был в строке %d", s.Code, prev)})
		} else {
			codes[s.Code] = r.Line
			shops = append(shops, s)
		}
		if len(bad) >= 1000 {
			break
		}
	}
	if len(bad) > 0 {
		return nil, &ShopRowsError{Rows: bad}
	}
	if len(shops) == 0 {
		return nil, ErrShopFileEmpty
	}
	return shops, nil
}

// ShopPatch changes some fields of a shop; nil fields stay.
type ShopPatch struct {
	Name        *string   `json:"name"`
	INN         *string   `json:"inn"`
	KKT         *[]string `json:"kkt_reg_numbers"`
	FN          *[]string `json:"fn_numbers"`
	Address     *string   `json:"address"`
	Chain       *string   `json:"chain"`
	Region      *string   `json:"region"`
	Distributor *string   `json:"distributor"`
}

// Apply applies p to s and validates the result.
func (p ShopPatch) Apply(s *Shop) error {
	for _, f := range []struct{ dst, v *string }{{&s.Name, p.Name}, {&s.INN, p.INN}, {&s.Address, p.Address},
		{&s.Chain, p.Chain}, {&s.Region, p.Region}, {&s.Distributor, p.Distributor}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if p.KKT != nil {
		s.KKT = *p.KKT
	}
	if p.FN != nil {
		s.FN = *p.FN
	}
	return s.Validate()
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}
