package tax_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

var today = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func valid() tax.LegalData {
	return tax.LegalData{LastName: "Иванова", FirstName: "Мария", MiddleName: "Петровна", BirthDate: "1990-01-02",
		INN: "500100732259", Citizenship: "643", Residency: tax.Resident, DocType: "21", DocSeries: "4509",
		DocNumber: "123456", DocIssued: "2010-03-04", Address: "Москва"}
}

func TestLegalData(t *testing.T) {
	t.Parallel()
	d := valid()
	if err := d.Validate(today); err != nil || !d.Complete() || len(d.Missing()) != 0 {
		t.Fatalf("valid: %v %v %v", err, d.Complete(), d.Missing())
	}
	for name, mut := range map[string]func(*tax.LegalData){
		"inn checksum":   func(d *tax.LegalData) { d.INN = "500100732258" },
		"org inn":        func(d *tax.LegalData) { d.INN = "7707083893" },
		"birth future":   func(d *tax.LegalData) { d.BirthDate = "2030-01-01" },
		"birth format":   func(d *tax.LegalData) { d.BirthDate = "02.01.1990" },
		"citizenship":    func(d *tax.LegalData) { d.Citizenship = "RU" },
		"residency":      func(d *tax.LegalData) { d.Residency = "both" },
		"doc type":       func(d *tax.LegalData) { d.DocType = "passport" },
		"markup in name": func(d *tax.LegalData) { d.LastName = "<script>" },
		"long name":      func(d *tax.LegalData) { d.LastName = strings.Repeat("я", 101) },
	} {
		x := valid()
		mut(&x)
		if err := x.Validate(today); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	empty := tax.LegalData{}
	if err := empty.Validate(today); err != nil || empty.Complete() || len(empty.Missing()) != 8 {
		t.Errorf("empty: %v %v", err, empty.Missing())
	}
	m := d.Masked()
	if m.Name != "И***** М.П." || m.INN != "**********59" || m.Document != "********56" {
		t.Errorf("masked %+v", m)
	}
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", d), fmt.Sprintf("%#v", d)} {
		if strings.Contains(s, "Иванова") || strings.Contains(s, "500100732259") {
			t.Errorf("printed %s", s)
		}
	}
	req := tax.Requirements{PersonalData: true, Employer: true}
	if l := req.Lacking(tax.Held{PersonalData: true}); len(l) != 1 || l[0] != tax.ConsentEmployer {
		t.Errorf("lacking %v", l)
	}
}

// FuzzLegalData: whatever a participant sends, validation neither panics
// nor echoes the value in its error, and masking never reveals more than
// the tails it promises.
func FuzzLegalData(f *testing.F) {
	f.Add("Иванова", "500100732259", "1990-01-02", "123456")
	f.Add("", "", "", "")
	f.Add("\xff\xfe", "12345678901234", "9999-99-99", "<>")
	f.Fuzz(func(t *testing.T, name, inn, birth, doc string) {
		d := valid()
		d.LastName, d.INN, d.BirthDate, d.DocNumber = name, inn, birth, doc
		d = d.Normalize()
		if err := d.Validate(today); err != nil {
			for _, v := range []string{d.INN, d.DocNumber, d.BirthDate} {
				if len(v) >= 4 && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q echoes %q", err, v)
				}
			}
		}
		m := d.Masked()
		if n := utf8.RuneCountInString(d.INN); n > 2 {
			r := []rune(m.INN)
			if len(r) != n || strings.Trim(string(r[:n-2]), "*") != "" || string(r[n-2:]) != string([]rune(d.INN)[n-2:]) {
				t.Fatalf("masked INN %q of %q shows more than the last two", m.INN, d.INN)
			}
		}
	})
}

func TestParseProfiles(t *testing.T) {
	t.Parallel()
	csv := "\ufeffТелефон,Фамилия,Имя,Дата рождения,ИНН,Гражданство,Статус,Код документа,Номер,Дата выдачи\n" +
		"8 999 000-00-01,Иванова,Мария,02.01.1990,500100732259,643,нерезидент,21,123456,2010-01-01\n" +
		",,,,,,,,,\n" +
		"+79990000002,Петров,Пётр,1990-13-01,,643,,21,1,2010-01-01\n" +
		"+79990000001,Дубль,Дубль,1990-01-01,,643,,21,1,2010-01-01\n" +
		"не телефон,А,Б,1990-01-01,,643,,21,1,2010-01-01\n"
	rows, errs, err := tax.ParseProfiles([]byte(csv), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Phone != "+79990000001" || rows[0].Data.Residency != tax.NonResident || rows[0].Data.BirthDate != "1990-01-02" || !rows[0].Data.Complete() {
		t.Fatalf("rows %+v", rows)
	}
	want := []tax.RowError{{Line: 4, Field: "birth_date"}, {Line: 5, Field: "phone"}, {Line: 6, Field: "phone"}}
	if len(errs) != len(want) {
		t.Fatalf("errors %+v", errs)
	}
	for i, w := range want {
		if errs[i].Line != w.Line || errs[i].Field != w.Field {
			t.Errorf("error %d: %+v, want line %d field %s", i, errs[i], w.Line, w.Field)
		}
	}
	for _, bad := range []string{"", "Фамилия;Имя\nА;Б\n", "\xff\xfe\x00"} {
		if _, _, err := tax.ParseProfiles([]byte(bad), today); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
