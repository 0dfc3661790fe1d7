package registry_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

func win1251(t testing.TB, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xlsx builds a workbook from rows; cells starting with "=" are formulas,
// merge lists ranges to merge.
func xlsx(t testing.TB, rows [][]any, merge ...[2]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if s, ok := v.(string); ok && strings.HasPrefix(s, "=") {
				if err := f.SetCellFormula("Sheet1", cell, s[1:]); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := f.SetCellValue("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range merge {
		if err := f.MergeCell("Sheet1", m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var people = map[string]registry.ExistingParticipant{
	"+79991234567": {ID: 1, Phone: "+79991234567", Name: "Иванов Иван", Role: "seller", Status: "active"},
	"+79991234568": {ID: 2, Phone: "+79991234568", Name: "Петров Пётр", Role: "seller", Status: "invited"},
	"+79991234569": {ID: 3, Phone: "+79991234569", Name: "Сидоров", Role: "seller", Status: "blocked"},
}

func TestReadTableEncodingsAndDelimiters(t *testing.T) {
	t.Parallel()
	utf := "Телефон;Баллы;Комментарий\n8 (999) 123-45-67;1 234,56;за март\n\n;;\n+79991234568;10;\n"
	tests := []struct {
		name     string
		data     []byte
		encoding string
		delim    rune
	}{
		{"utf-8 semicolon", []byte(utf), "utf-8", ';'},
		{"utf-8 bom", append([]byte("\xef\xbb\xbf"), utf...), "utf-8-bom", ';'},
		{"windows-1251", win1251(t, utf), "windows-1251", ';'},
		{"comma with quoted decimals", []byte("phone,points,comment\n+79991234567,\"1234,56\",за март\n+79991234568,10,\n"), "utf-8", ','},
		{"tab", []byte("телефон\tбаллы\n+79991234567\t1234,56\n+79991234568\t10\n"), "utf-8", '\t'},
		{"crlf", []byte(strings.ReplaceAll(utf, "\n", "\r\n")), "utf-8", ';'},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tab, rowErrs, err := registry.ReadTable(tc.data, 0)
			if err != nil || len(rowErrs) > 0 {
				t.Fatalf("ReadTable: %v %v", err, rowErrs)
			}
			if tab.Encoding != tc.encoding || tab.Delimiter != tc.delim {
				t.Errorf("encoding %q delimiter %q, want %q %q", tab.Encoding, tab.Delimiter, tc.encoding, tc.delim)
			}
			if len(tab.Rows) != 2 {
				t.Fatalf("rows %d, want 2 (empty rows dropped)", len(tab.Rows))
			}
			lines, pv, errs := registry.ParsePoints(tab, people, nil)
			if len(errs) > 0 {
				t.Fatalf("row errors: %v", errs)
			}
			if pv.TotalKopecks != 123456+1000 || len(lines) != 2 || lines[0].AmountKopecks != 123456 {
				t.Errorf("total %d lines %+v", pv.TotalKopecks, lines)
			}
		})
	}
}

func codes(errs []registry.RowError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Code)
	}
	return out
}

func TestMalformedFilesGiveClearErrors(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("+79991234567;1\n"), 2<<20/15)
	tests := []struct {
		name     string
		data     []byte
		max      int
		fileCode string   // a file-level *apperr.Error code
		rowCodes []string // else row error codes (ReadTable + ParsePoints)
	}{
		{"empty", []byte("  \n\n"), 0, "registry_file_empty", nil},
		{"binary garbage", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0, "registry_file_unreadable", nil},
		{"old xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}, 0, "registry_file_xls", nil},
		{"broken zip", []byte("PK\x03\x04garbage"), 0, "registry_file_unreadable", nil},
		{"over the size limit", append([]byte("телефон;баллы\n"), big...), 1 << 20, "registry_file_too_large", nil},
		{"wrong delimiter", []byte("телефон|баллы\n+79991234567|10\n"), 0, "", []string{"bad_header"}},
		{"wrong header", []byte("фамилия;сумма баллов\nИванов;10\n"), 0, "", []string{"bad_header"}},
		{"both units", []byte("телефон;баллы;сумма\n+79991234567;10;10\n"), 0, "", []string{"bad_header"}},
		{"row errors", []byte("телефон;баллы\nабв;10\n+79991234567;-5\n+79991234568;1,234\n+79990000000;5\n+79991234569;5\n;\n+79991234567;\n"), 0, "",
			[]string{"bad_phone", "bad_amount", "bad_amount", "unknown_participant", "blocked_participant", "required"}},
		{"unclosed quote", []byte("телефон;баллы\n\"+79991234567;10\n"), 0, "", []string{"bad_csv_quote"}},
		{"merged cells", xlsx(t, [][]any{{"телефон", "баллы"}, {"+79991234567", 10}, {"", 10}}, [2]string{"A2", "A3"}), 0, "",
			[]string{"merged_cells", "required"}},
		{"formula", xlsx(t, [][]any{{"телефон", "баллы"}, {"+79991234567", "=5*2"}}), 0, "", []string{"formula", "required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tab, rowErrs, err := registry.ReadTable(tc.data, tc.max)
			if tc.fileCode != "" {
				e, ok := apperr.As(err)
				if !ok || e.Code != tc.fileCode {
					t.Fatalf("err %v, want code %s", err, tc.fileCode)
				}
				if e.Message == "" || e.Kind == apperr.Internal {
					t.Errorf("file error without message or kind: %+v", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadTable: %v", err)
			}
			if len(rowErrs) == 0 {
				_, _, rowErrs = registry.ParsePoints(tab, people, nil)
			} else if tab.Header != nil {
				_, _, more := registry.ParsePoints(tab, people, nil)
				rowErrs = append(rowErrs, more...)
			}
			if diff := cmp.Diff(tc.rowCodes, codes(rowErrs)); diff != "" {
				t.Errorf("row error codes (-want +got):\n%s\n%v", diff, rowErrs)
			}
			for _, e := range rowErrs {
				if e.Reason == "" {
					t.Errorf("row error without a reason: %+v", e)
				}
			}
		})
	}
}

func TestParseKopecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		numeric bool
		want    int64
		wantErr bool
	}{
		{"0", false, 0, false},
		{"10", false, 1000, false},
		{"1 234,56", false, 123456, false},
		{"1\u00a0234.5", false, 123450, false},
		{"12,5 ₽", false, 1250, false},
		{"100 руб", false, 10000, false},
		{",5", false, 50, false},
		{"100.49999999999999", true, 10050, false},
		{"100.50000000000001", true, 10050, false},
		{"0.30000000000000004", true, 30, false},
		{"100.499", false, 0, true},
		{"100.499", true, 0, true},
		{"1,234.56", false, 0, true},
		{"-5", false, 0, true},
		{"1e5", false, 0, true},
		{"abc", false, 0, true},
		{"", false, 0, true},
		{"5.", false, 0, true},
		{"99999999999999999999", false, 0, true},
		{"1000000000", false, 100000000000, false},
		{"1000000001", false, 0, true},
	}
	for _, tc := range tests {
		got, err := registry.ParseKopecks(tc.in, tc.numeric)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseKopecks(%q, %v) = %d, %v; want %d, err %v", tc.in, tc.numeric, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParsePointsSumsAndDiffs(t *testing.T) {
	t.Parallel()
	tab, _, err := registry.ReadTable([]byte("телефон;сумма, руб;основание\n+79991234567;100;план\n89991234567;50,5;\n+79991234568;20\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	prev := map[int64]int64{1: 10000, 2: 2000, 9: 700}
	lines, pv, errs := registry.ParsePoints(tab, people, prev)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []registry.PointLine{
		{ParticipantID: 1, Phone: "+79991234567", Name: "Иванов Иван", AmountKopecks: 15050, PreviousKopecks: 10000, Lines: 2, FirstLine: 2, Comment: "план"},
		{ParticipantID: 2, Phone: "+79991234568", Name: "Петров Пётр", AmountKopecks: 2000, PreviousKopecks: 2000, Lines: 1, FirstLine: 4},
		{ParticipantID: 9, PreviousKopecks: 700},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	wantPV := registry.PointsPreview{Rows: 3, Participants: 2, Unit: "roubles", TotalKopecks: 17050, PreviousTotalKopecks: 12700,
		CreditKopecks: 5050, DebitKopecks: 700, Changed: 1, Unchanged: 1, Removed: 1}
	if diff := cmp.Diff(wantPV, pv); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
}

func TestParseParticipants(t *testing.T) {
	t.Parallel()
	shops := []registry.Shop{{ID: 7, Code: "M-1", INN: "7701234567", Address: "Москва, ул. Ленина, д. 1"}}
	csv := "ФИО;Телефон;E-mail;Роль;Код точки;ИНН;Адрес;Регион\n" +
		"Иванов Иван;+7 999 123-45-67;;продавец;m-1;;;\n" + // update: gets shop 7 (code matched case-insensitively)
		"Петров Пётр;8-999-123-45-68;p@example.ru;Торговый представитель;;7701234567;москва ул ленина д 1;Москва\n" + // update
		"Новая Анна;9991112233;anna@example.ru;мерчендайзер;;;;\n" + // new
		"Новый Олег;+79991112234;;seller;X-9;;;\n" + // unknown shop
		"Дубль;+79991112233;;продавец;;;;\n" + // duplicate in file
		";+79991112235;bad-mail;кассир;;7701;;\n"
	tab, _, err := registry.ReadTable([]byte(csv), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, errs := registry.ParseParticipants(tab, people, shops, registry.UnknownShopsReport, 1)
	wantCodes := []string{"unknown_shop", "duplicate_in_file", "required", "bad_email", "bad_role", "bad_inn", "incomplete_shop"}
	if diff := cmp.Diff(wantCodes, codes(errs)); diff != "" {
		t.Errorf("codes (-want +got):\n%s\n%v", diff, errs)
	}
	// Without the bad rows, creating unknown shops.
	tab.Rows = tab.Rows[:4]
	rows, pv, errs := registry.ParseParticipants(tab, people, shops, registry.UnknownShopsCreate, 1)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	wantPV := registry.ParticipantPreview{Rows: 4, New: 2, Updated: 2, Unchanged: 0, NewShops: 1, Invitations: 2}
	if diff := cmp.Diff(wantPV, pv); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
	if rows[1].ShopID != 7 || rows[1].Role != "sales_rep" || rows[2].Phone != "+79991112233" || rows[3].ShopCode != "X-9" {
		t.Errorf("rows: %+v", rows)
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"2026-03": true, "2026-03-1": true, "2026-03-2": true, "2026-13": false, "2026-3": false, "2026-03-3": false, "": false} {
		if _, err := registry.ParsePeriod(in); (err == nil) != ok {
			t.Errorf("ParsePeriod(%q) err %v", in, err)
		}
	}
}

// A period reads as a month in Russian wherever people see it
// (notifications, ledger memos): «за декабрь 2026», not «за 2026-12».
func TestPeriodName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2026-12":   "декабрь 2026",
		"2026-01":   "январь 2026",
		"2026-05":   "май 2026",
		"2026-03-1": "1–15 марта 2026",
		"2026-03-2": "16–31 марта 2026",
		"2026-02-2": "16–28 февраля 2026",
		"2028-02-2": "16–29 февраля 2028",
		"2026-09-2": "16–30 сентября 2026",
		"2026-13":   "2026-13",
		"":          "",
	} {
		if got := registry.PeriodName(in); got != want {
			t.Errorf("PeriodName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzReadTable(f *testing.F) {
	f.Add([]byte("телефон;баллы\n+79991234567;10\n"))
	f.Add([]byte("phone,points\n\"+7999\"\"1\",1,5\n"))
	f.Add(win1251(f, "Телефон;Баллы\n89991234567;1 234,56\n"))
	f.Add([]byte("\xef\xbb\xbfphone\tpoints\n+79991234567\t0,01\n"))
	f.Add([]byte("\xff\xfe\x00\x00"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, rowErrs, err := registry.ReadTable(data, 1<<20)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("file error is not an apperr: %v", err)
			}
			return
		}
		_ = rowErrs
		lines, pv, errs := registry.ParsePoints(tab, people, map[int64]int64{2: 100})
		if len(errs) == 0 {
			var sum int64
			for _, l := range lines {
				if l.AmountKopecks < 0 {
					t.Fatalf("negative amount %+v", l)
				}
				sum += l.AmountKopecks
			}
			if sum != pv.TotalKopecks {
				t.Fatalf("total %d, lines sum %d", pv.TotalKopecks, sum)
			}
		}
		_, _, _ = registry.ParseParticipants(tab, people, nil, registry.UnknownShopsCreate, 1)
	})
}

func FuzzParseKopecks(f *testing.F) {
	for _, s := range []string{"1 234,56", "0.30000000000000004", "-1", "1e9", "99999999999"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, numeric bool) {
		k, err := registry.ParseKopecks(s, numeric)
		if err == nil && (k < 0 || k > registry.MaxKopecks) {
			t.Fatalf("ParseKopecks(%q) = %d", s, k)
		}
		if err != nil && !errors.Is(err, err) {
			t.Fatal("unreachable")
		}
	})
}
