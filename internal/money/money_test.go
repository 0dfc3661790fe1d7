package money

import (
	"errors"
	"math"
	"testing"
)

func TestFormats(t *testing.T) {
	t.Parallel()
	kpiLike := Format{Group: " ", Point: ",", Minus: Minus, Cents: CentsAlways, Unit: " ₽"}
	tests := []struct {
		name string
		f    Format
		k    Kopecks
		want string
	}{
		{"machine", Machine, 123450, "1234.50"},
		{"machine zero", Machine, 0, "0.00"},
		{"machine cents", Machine, 5, "0.05"},
		{"machine negative", Machine, -250, "-2.50"},
		{"machine negative below a rouble", Machine, -50, "-0.50"},
		{"machine one kopeck", Machine, 1, "0.01"},
		{"machine ten kopecks", Machine, 10, "0.10"},
		{"machine whole", Machine, 727300, "7273.00"},
		{"machine negative", Machine, -150, "-1.50"},
		{"machine negative cents", Machine, -5, "-0.05"},
		{"machine min", Machine, math.MinInt64, "-92233720368547758.08"},
		{"machine max", Machine, math.MaxInt64, "92233720368547758.07"},
		{"sheet", Sheet, 123456, "1234,56"},
		{"sheet negative", Sheet, -150, "-1,50"},
		{"russian", Russian, 123450, "1\u00a0234,50\u00a0₽"},
		{"russian whole", Russian, 9900, "99\u00a0₽"},
		{"russian zero", Russian, 0, "0\u00a0₽"},
		{"russian cents", Russian, 5, "0,05\u00a0₽"},
		{"russian negative", Russian, -150, "−1,50\u00a0₽"},
		{"russian million", Russian, 100000000, "1\u00a0000\u00a0000\u00a0₽"},
		{"russian three digits", Russian, 99900, "999\u00a0₽"},
		{"russian six digits", Russian, 12345600, "123\u00a0456\u00a0₽"},
		{"points number", PointsNumber, 150, "1,5"},
		{"custom group", kpiLike, -123456789, "−1 234 567,89 ₽"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.f.Format(tc.k); got != tc.want {
				t.Errorf("Format(%d) = %q, want %q", tc.k, got, tc.want)
			}
		})
	}
}

func TestFixed(t *testing.T) {
	t.Parallel()
	trim := Format{Group: NBSP, Point: ",", Minus: Minus, Cents: CentsTrim}
	tests := []struct {
		n     int64
		scale int
		want  string
	}{
		{12500, 3, "12,5"},
		{13000, 4, "1,3"},
		{10000, 4, "1"},
		{1234567, 0, "1\u00a0234\u00a0567"},
		{-1250, 2, "−12,5"},
		{-5, 3, "−0,005"},
	}
	for _, tc := range tests {
		if got := trim.Fixed(tc.n, tc.scale); got != tc.want {
			t.Errorf("Fixed(%d, %d) = %q, want %q", tc.n, tc.scale, got, tc.want)
		}
	}
}

func TestRoublesAndString(t *testing.T) {
	t.Parallel()
	if got := Kopecks(123450).Roubles(); got != "1\u00a0234,50\u00a0₽" {
		t.Errorf("Roubles = %q", got)
	}
	if got := Kopecks(-150).String(); got != "-1.50" {
		t.Errorf("String = %q", got)
	}
}

func TestPoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kopecks Kopecks
		want    string
	}{
		{0, "0 баллов"},
		{100, "1 балл"},
		{200, "2 балла"},
		{400, "4 балла"},
		{500, "5 баллов"},
		{1100, "11 баллов"},
		{1200, "12 баллов"},
		{1400, "14 баллов"},
		{2100, "21 балл"},
		{2200, "22 балла"},
		{2500, "25 баллов"},
		{10100, "101 балл"},
		{11100, "111 баллов"},
		{11200, "112 баллов"},
		{150000, "1\u00a0500 баллов"},
		{100000000, "1\u00a0000\u00a0000 баллов"},
		{150, "1,5 балла"},  // a fraction always takes "балла"
		{125, "1,25 балла"}, // trailing zeros dropped, both digits kept
		{5, "0,05 балла"},
		{50, "0,5 балла"},
		{2110, "21,1 балла"},
		{-150, "−1,5 балла"},
		{-100, "−1 балл"},
		{-200, "−2 балла"},
	}
	for _, tc := range tests {
		if got := tc.kopecks.Points(); got != tc.want {
			t.Errorf("Points(%d) = %q, want %q", tc.kopecks, got, tc.want)
		}
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "many", 1: "one", 2: "few", 4: "few", 5: "many", 11: "many", 12: "many",
		14: "many", 21: "one", 22: "few", 101: "one", 111: "many", 112: "many", 122: "few", -1: "one", -3: "few"} {
		if got := Plural(n, "one", "few", "many"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Kopecks
		wantErr error
	}{
		{"1234.50", 123450, nil},
		{"1234.5", 123450, nil},
		{"1234", 123400, nil},
		{"1 234,50", 123450, nil},
		{"1\u00a0234,50", 123450, nil},
		{"1\u202f234,5", 123450, nil},
		{"-1.50", -150, nil},
		{"−1,50", -150, nil},
		{"0.05", 5, nil},
		{",5", 50, nil},
		{"007", 700, nil},
		{"9999999999999999.99", 999999999999999999, nil},
		{"", 0, ErrSyntax},
		{"-", 0, ErrSyntax},
		{".", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"--1", 0, ErrSyntax},
		{"1.2.3", 0, ErrSyntax},
		{"1,2.3", 0, ErrSyntax},
		{"1.2,3", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{"1 234,50 ₽", 0, ErrSyntax},
		{"١٢", 0, ErrSyntax}, // non-ASCII digits
		{"1.234", 0, ErrPrecision},
		{"10000000000000000", 0, ErrRange},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if !errors.Is(err, tc.wantErr) || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzParse checks that every amount Parse accepts is written back by
// each format in a text Parse reads as the same amount, and that Parse
// never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1234.50", "1 234,50", "-1.50", "−1,50", "0", ",5", "9999999999999999.99", "1.234", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			return
		}
		for _, fm := range []Format{Machine, Sheet, PointsNumber, {Group: NBSP, Point: ",", Minus: Minus, Cents: CentsNonzero}} {
			out := fm.Format(k)
			back, err := Parse(out)
			if err != nil || back != k {
				t.Fatalf("Parse(%q) = %d; Format = %q; Parse again = %d, %v", s, k, out, back, err)
			}
		}
	})
}

// FuzzFormat checks the round trip from the other side: any amount within
// Parse's range survives Format then Parse.
func FuzzFormat(f *testing.F) {
	for _, k := range []int64{0, 1, -1, 150, -150, 123450, 999999999999999999, -999999999999999999} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k int64) {
		if k > 999999999999999999 || k < -999999999999999999 {
			return
		}
		for _, fm := range []Format{Machine, Sheet, PointsNumber, Russian} {
			out := fm.Format(Kopecks(k))
			if fm.Unit != "" {
				out = out[:len(out)-len(fm.Unit)]
			}
			back, err := Parse(out)
			if err != nil || back != Kopecks(k) {
				t.Fatalf("Format(%d) = %q; Parse = %d, %v", k, out, back, err)
			}
		}
	})
}
