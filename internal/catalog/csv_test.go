package catalog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet/sheettest"
)

const header = "sku_id,client,brand,name,category,volume,unit,gtin,margin_weight\n"

func TestParseCSVGood(t *testing.T) {
	t.Parallel()
	in := header +
		"VT-1001,vetluga,ТЕРМОКС,Антифриз ТЕРМОКС G11 зелёный -40 1 кг,Антифриз,1,кг,4609871001121,1.00\n" +
		"VT-7002,vetluga,Ветлуга,\"Фильтр масляный Ветлуга ВФМ-205 (Hyundai, Kia)\",Фильтры,1,шт,04609871062054,2\n"
	got, rowErrs, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseCSV: %v %v", err, rowErrs)
	}
	want := []SKU{
		{ID: "VT-1001", Client: "vetluga", Brand: "ТЕРМОКС", Name: "Антифриз ТЕРМОКС G11 зелёный -40 1 кг", Category: "Антифриз",
			Volume: 1000, Unit: "кг", GTINs: []string{"4609871001121"}, MarginWeight: 10000},
		{ID: "VT-7002", Client: "vetluga", Brand: "Ветлуга", Name: "Фильтр масляный Ветлуга ВФМ-205 (Hyundai, Kia)", Category: "Фильтры",
			Volume: 1000, Unit: "шт", GTINs: []string{"4609871062054"}, MarginWeight: 20000},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseCSV (-want +got):\n%s", diff)
	}
}

func TestParseCSVEncodings(t *testing.T) {
	t.Parallel()
	row := "KD-1103;krasnodol;Тётушка Марфа;Майонез Тётушка Марфа Провансаль 50,5% 380 г дой-пак;Майонез;0,38;кг;4609534111198;1,25;майонез тм 50,5|МАЙОНЕЗ Т.МАРФА 50.5\n"
	semi := strings.ReplaceAll(header, ",", ";")
	semi = strings.TrimSuffix(semi, "\n") + ";aliases\n"
	cp1251, err := charmap.Windows1251.NewEncoder().String(semi + row)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"utf8 semicolon": semi + row,
		"bom":            "\xef\xbb\xbf" + semi + row,
		"windows-1251":   cp1251,
	} {
		t.Run(name, func(t *testing.T) {
			got, rowErrs, err := ParseCSV(strings.NewReader(in))
			if err != nil {
				t.Fatalf("ParseCSV: %v %v", err, rowErrs)
			}
			want := []SKU{{ID: "KD-1103", Client: "krasnodol", Brand: "Тётушка Марфа",
				Name: "Майонез Тётушка Марфа Провансаль 50,5% 380 г дой-пак", Category: "Майонез",
				Volume: 380, Unit: "кг", GTINs: []string{"4609534111198"}, MarginWeight: 12500,
				Aliases: []string{"майонез тм 50,5", "МАЙОНЕЗ Т.МАРФА 50.5"}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCSVRowErrors(t *testing.T) {
	t.Parallel()
	in := header +
		"VT-1,vetluga,ТЕРМОКС,Антифриз,Антифриз,1,кг,4609871001121,1.00\n" + // fine
		"VT-1,vetluga,ТЕРМОКС,Антифриз,Антифриз,1,кг,4609871001122,1.00\n" + // dup id, bad check digit
		"VT-3,,ТЕРМОКС,Антифриз,Антифриз,x,бочка,4609871001121,1.001\n" + // no client, volume, unit, dup gtin, 3 decimals
		"VT-4,vetluga,ТЕРМОКС,Антифриз,Антифриз,1,кг,,0\n" + // weight 0
		"VT-5,vetluga,ТЕРМОКС,Антифриз,Антифриз,1,кг,,10.01\n" // weight > 10
	skus, rowErrs, err := ParseCSV(strings.NewReader(in))
	if !errors.Is(err, ErrInvalidRows) {
		t.Fatalf("err = %v, want ErrInvalidRows", err)
	}
	if skus != nil {
		t.Errorf("got %d SKUs from an invalid file, want none (all-or-nothing)", len(skus))
	}
	type key struct {
		Line   int
		Column string
	}
	var got []key
	for _, e := range rowErrs {
		got = append(got, key{e.Line, e.Column})
	}
	want := []key{
		{3, "sku_id"}, {3, "gtin"},
		{4, "client"}, {4, "volume"}, {4, "unit"}, {4, "gtin"}, {4, "margin_weight"},
		{5, "margin_weight"}, {6, "margin_weight"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row errors (-want +got):\n%s\n%v", diff, rowErrs)
	}
}

func TestParseCSVBadFile(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "sku_id,client,brand\nVT-1,vetluga,X\n",
		"unknown column": strings.TrimSuffix(header, "\n") + ",colour\n",
	} {
		if _, _, err := ParseCSV(strings.NewReader(in)); err == nil || errors.Is(err, ErrInvalidRows) {
			t.Errorf("%s: err = %v, want a file-level error", name, err)
		}
	}
	// broken quoting is reported with its line
	_, rowErrs, err := ParseCSV(strings.NewReader(header + "VT-1,\"unterminated\n"))
	if !errors.Is(err, ErrInvalidRows) || len(rowErrs) != 1 {
		t.Errorf("broken quote: %v %v", err, rowErrs)
	}
}

func TestMarginWeight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1.25", 12500, true}, {"1,25", 12500, true}, {"0.01", 100, true}, {"10", 100000, true},
		{"2.50", 25000, true}, {"0", 0, false}, {"10.01", 0, false}, {"1.255", 0, false},
		{"-1", 0, false}, {"1e2", 0, false}, {"", 0, false}, {".5", 0, false},
	} {
		got, err := ParseMarginWeight(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMarginWeight(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got := FormatMarginWeight(12500); got != "1.25" {
		t.Errorf("FormatMarginWeight(12500) = %q", got)
	}
}

func TestNormalizeGTIN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"4609871001121":  "4609871001121",
		"04609871001121": "4609871001121",
		"4609871001122":  "",
		"460987100112":   "",
		"14609871001128": "14609871001128",
		"46098710011x1":  "",
	} {
		got, err := NormalizeGTIN(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeGTIN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestSharedCatalogRoundTrip reads the shared catalog.csv and writes it back
// byte for byte, through CSV and through XLSX.
func TestSharedCatalogRoundTrip(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(sharedSKU, "catalog.csv"))
	if os.IsNotExist(err) {
		orig, err = os.ReadFile(filepath.Join("testdata", "catalog_small.csv"))
	}
	if err != nil {
		t.Fatal(err)
	}
	skus, rowErrs, err := ParseCSV(bytes.NewReader(orig))
	if err != nil {
		t.Fatalf("%v %v", err, rowErrs)
	}
	var out bytes.Buffer
	if err := WriteCSV(&out, skus); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(orig), out.String()); diff != "" {
		t.Errorf("CSV round trip (-orig +written):\n%s", diff)
	}
	var x bytes.Buffer
	if err := WriteXLSX(&x, skus); err != nil {
		t.Fatal(err)
	}
	back, rowErrs, err := ParseXLSX(&x)
	if err != nil {
		t.Fatalf("%v %v", err, rowErrs)
	}
	if diff := cmp.Diff(skus, back); diff != "" {
		t.Errorf("XLSX round trip (-csv +xlsx):\n%s", diff)
	}
}

func TestAliasesRoundTrip(t *testing.T) {
	t.Parallel()
	skus := []SKU{{ID: "A", Client: "c", Brand: "B", Name: "N, \"q\"", Category: "K", Volume: 1500, Unit: "л",
		MarginWeight: 12500, Aliases: []string{"x y", "z"}}}
	var out bytes.Buffer
	if err := WriteCSV(&out, skus); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(header, "\n") + ",aliases\nA,c,B,\"N, \"\"q\"\"\",K,1.5,л,,1.25,x y|z\n"
	if out.String() != want {
		t.Errorf("WriteCSV = %q, want %q", out.String(), want)
	}
	back, _, err := ParseCSV(&out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(skus, back); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzParseCSV: no input makes the parser panic, and whatever it accepts
// writes back into something it accepts unchanged.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(header + "VT-1,v,B,N,C,1,кг,4609871001121,1.00\n"))
	f.Add([]byte("\xef\xbb\xbfsku_id;client;brand;name;category;volume;unit;gtin;margin_weight;aliases\nA;b;c;d;e;0,5;л;;2;x|y\n"))
	f.Add([]byte("sku_id,client\n\"a\"\"b,c\n"))
	f.Add([]byte{0xcf, 0xf0, 0xe8, ',', '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		skus, rowErrs, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			if skus != nil {
				t.Fatalf("SKUs returned with an error: %v", err)
			}
			return
		}
		if len(rowErrs) > 0 {
			t.Fatalf("row errors without an error")
		}
		var out bytes.Buffer
		if err := WriteCSV(&out, skus); err != nil {
			t.Fatal(err)
		}
		back, rowErrs, err := ParseCSV(&out)
		if err != nil {
			t.Fatalf("re-parse of written catalog: %v %v\n%q", err, rowErrs, out.String())
		}
		if diff := cmp.Diff(skus, back); diff != "" && len(skus) > 0 {
			t.Fatalf("round trip changed the catalog:\n%s", diff)
		}
	})
}

// TestImportBombs: the catalog import (CLI and dashboard) reads workbooks
// and CSV through package sheet: a decompression bomb and an endless line
// are refused with codes, not inflated.
func TestImportBombs(t *testing.T) {
	t.Parallel()
	_, _, err := ParseXLSX(bytes.NewReader(sheettest.Bomb{Part: "sheet", Inflate: 1 << 30}.XLSX(t)))
	if e, ok := apperr.As(err); !ok || e.Code != "spreadsheet_too_large" || e.Kind != apperr.TooLarge {
		t.Errorf("XLSX bomb: %v", err)
	}
	_, _, err = ParseCSV(strings.NewReader(strings.Join(csvHeader, ",") + "\n" + strings.Repeat("x", 2<<20)))
	if e, ok := apperr.As(err); !ok || e.Code != "spreadsheet_line_too_long" {
		t.Errorf("endless line: %v", err)
	}
}
