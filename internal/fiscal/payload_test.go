package fiscal

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func at(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      Payload
		canonical string
	}{
		// fiscal.md §2.4, real strings.
		{"valiotti", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1",
			Payload{Time: at(2020, 7, 9, 20, 8, 0), SumKopecks: 727300, FN: "9282440300688488", FD: 14186, FP: 1460060363, Operation: 1},
			"t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1"},
		{"zero seconds", "t=20200725T140000&s=1398.00&fn=9282000100386709&i=43134&fp=2379617251&n=1",
			Payload{Time: at(2020, 7, 25, 14, 0, 0), SumKopecks: 139800, FN: "9282000100386709", FD: 43134, FP: 2379617251, Operation: 1},
			"t=20200725T1400&s=1398.00&fn=9282000100386709&i=43134&fp=2379617251&n=1"},
		{"seconds", "t=20190418T211655&s=3943.26&fn=9282000100072197&i=64318&fp=2918241905&n=1",
			Payload{Time: at(2019, 4, 18, 21, 16, 55), SumKopecks: 394326, FN: "9282000100072197", FD: 64318, FP: 2918241905, Operation: 1},
			"t=20190418T211655&s=3943.26&fn=9282000100072197&i=64318&fp=2918241905&n=1"},
		{"plain", "t=20230306T1341&s=128.97&fn=9960440302156797&i=74284&fp=1765630299&n=1",
			Payload{Time: at(2023, 3, 6, 13, 41, 0), SumKopecks: 12897, FN: "9960440302156797", FD: 74284, FP: 1765630299, Operation: 1},
			"t=20230306T1341&s=128.97&fn=9960440302156797&i=74284&fp=1765630299&n=1"},
		{"8-digit fp", "t=20181203T0812&s=264.00&fn=9286000100105429&i=30651&fp=80362384&n=1",
			Payload{Time: at(2018, 12, 3, 8, 12, 0), SumKopecks: 26400, FN: "9286000100105429", FD: 30651, FP: 80362384, Operation: 1},
			"t=20181203T0812&s=264.00&fn=9286000100105429&i=30651&fp=80362384&n=1"},
		{"lower-case t", "t=20240917t1801&s=1285.21&fn=7281440500751551&i=30526&fp=1168453787&n=1",
			Payload{Time: at(2024, 9, 17, 18, 1, 0), SumKopecks: 128521, FN: "7281440500751551", FD: 30526, FP: 1168453787, Operation: 1},
			"t=20240917T1801&s=1285.21&fn=7281440500751551&i=30526&fp=1168453787&n=1"},
		{"FFD 1.2", "t=20250104T1931&s=619.00&fn=7380440801185382&i=169111&fp=3769337301&n=1",
			Payload{Time: at(2025, 1, 4, 19, 31, 0), SumKopecks: 61900, FN: "7380440801185382", FD: 169111, FP: 3769337301, Operation: 1},
			"t=20250104T1931&s=619.00&fn=7380440801185382&i=169111&fp=3769337301&n=1"},
		{"reordered", "fp=1234567890&t=20201226T121800&s=551.89&i=12345&fn=1234567890123456&n=1",
			Payload{Time: at(2020, 12, 26, 12, 18, 0), SumKopecks: 55189, FN: "1234567890123456", FD: 12345, FP: 1234567890, Operation: 1},
			"t=20201226T1218&s=551.89&fn=1234567890123456&i=12345&fp=1234567890&n=1"},
		// fiscal.md §2.4, derived cases.
		{"no decimals", "t=20240301T0915&s=1500&fn=7281440500123456&i=4521&fp=3012345678&n=1",
			Payload{Time: at(2024, 3, 1, 9, 15, 0), SumKopecks: 150000, FN: "7281440500123456", FD: 4521, FP: 3012345678, Operation: 1},
			"t=20240301T0915&s=1500.00&fn=7281440500123456&i=4521&fp=3012345678&n=1"},
		{"return of sale", "t=20240301T0915&s=1499.90&fn=7281440500123456&i=4522&fp=305667&n=2",
			Payload{Time: at(2024, 3, 1, 9, 15, 0), SumKopecks: 149990, FN: "7281440500123456", FD: 4522, FP: 305667, Operation: 2},
			"t=20240301T0915&s=1499.90&fn=7281440500123456&i=4522&fp=305667&n=2"},
		{"url-encoded", "t%3D20240301T0915%26s%3D99.90%26fn%3D7281440500123456%26i%3D4523%26fp%3D12345%26n%3D1",
			Payload{Time: at(2024, 3, 1, 9, 15, 0), SumKopecks: 9990, FN: "7281440500123456", FD: 4523, FP: 12345, Operation: 1},
			"t=20240301T0915&s=99.90&fn=7281440500123456&i=4523&fp=12345&n=1"},
		{"whitespace", " t=20240301T0915&s=99.90&fn=7281440500123456 &i=4524&fp=2999999999&n=1\n",
			Payload{Time: at(2024, 3, 1, 9, 15, 0), SumKopecks: 9990, FN: "7281440500123456", FD: 4524, FP: 2999999999, Operation: 1},
			"t=20240301T0915&s=99.90&fn=7281440500123456&i=4524&fp=2999999999&n=1"},
		// Other variants of §2.2.
		{"url-encoded real", "t%3D20240917T1801%26s%3D1285.21%26fn%3D7281440500751551%26i%3D30526%26fp%3D1168453787%26n%3D1",
			Payload{Time: at(2024, 9, 17, 18, 1, 0), SumKopecks: 128521, FN: "7281440500751551", FD: 30526, FP: 1168453787, Operation: 1},
			"t=20240917T1801&s=1285.21&fn=7281440500751551&i=30526&fp=1168453787&n=1"},
		{"stray spaces", "t=20220817t1644&s=431.94&fn=9960440302452937 &i=88432&fp=1230248284 &n=1",
			Payload{Time: at(2022, 8, 17, 16, 44, 0), SumKopecks: 43194, FN: "9960440302452937", FD: 88432, FP: 1230248284, Operation: 1},
			"t=20220817T1644&s=431.94&fn=9960440302452937&i=88432&fp=1230248284&n=1"},
		{"fd alias and extra key", "fn=9280440300770583&fd=33110&fp=4138469556&n=1&t=20210217T2028&qr=0&s=10.5",
			Payload{Time: at(2021, 2, 17, 20, 28, 0), SumKopecks: 1050, FN: "9280440300770583", FD: 33110, FP: 4138469556, Operation: 1},
			"t=20210217T2028&s=10.50&fn=9280440300770583&i=33110&fp=4138469556&n=1"},
		{"amp entity, BOM", "\ufefft=20200709T2008&amp;s=7273.00&amp;fn=9282440300688488&amp;i=14186&amp;fp=1460060363&amp;n=1",
			Payload{Time: at(2020, 7, 9, 20, 8, 0), SumKopecks: 727300, FN: "9282440300688488", FD: 14186, FP: 1460060363, Operation: 1},
			"t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1"},
		{"dashed ISO time", "t=2020-07-09T20:08:30&s=0.01&fn=9282440300688488&i=1&fp=1&n=4",
			Payload{Time: at(2020, 7, 9, 20, 8, 30), SumKopecks: 1, FN: "9282440300688488", FD: 1, FP: 1, Operation: 4},
			"t=20200709T200830&s=0.01&fn=9282440300688488&i=1&fp=1&n=4"},
		{"same duplicate, upper-case keys", "T=20200709T2008&S=7273.00&FN=9282440300688488&I=14186&FP=1460060363&N=1&n=1",
			Payload{Time: at(2020, 7, 9, 20, 8, 0), SumKopecks: 727300, FN: "9282440300688488", FD: 14186, FP: 1460060363, Operation: 1},
			"t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1"},
		{"link with payload", "https://example.nalog.ru/check?t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1",
			Payload{Time: at(2020, 7, 9, 20, 8, 0), SumKopecks: 727300, FN: "9282440300688488", FD: 14186, FP: 1460060363, Operation: 1},
			"t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1"},
		// A CloudPayments receipt link: the payload URL-encoded in "q".
		{"cloudpayments link", "https://qr.cloudpayments.ru/receipt?q=t%3D20190102T1012%26s%3D1500.00%26fn%3D9289000100361829%26i%3D1297%26fp%3D3513813562%26n%3D1",
			Payload{Time: at(2019, 1, 2, 10, 12, 0), SumKopecks: 150000, FN: "9289000100361829", FD: 1297, FP: 3513813562, Operation: 1},
			"t=20190102T1012&s=1500.00&fn=9289000100361829&i=1297&fp=3513813562&n=1"},
		// A copy where only '&' is encoded.
		{"only & encoded", "t=20190102T1012%26s=1500.00%26fn=9289000100361829%26i=1297%26fp=3513813562%26n=1",
			Payload{Time: at(2019, 1, 2, 10, 12, 0), SumKopecks: 150000, FN: "9289000100361829", FD: 1297, FP: 3513813562, Operation: 1},
			"t=20190102T1012&s=1500.00&fn=9289000100361829&i=1297&fp=3513813562&n=1"},
		{"cloudpayments link, lower-case escapes", "https://qr.cloudpayments.ru/receipt?q=t%3d20190102T1012%26s%3d1500.00%26fn%3d9289000100361829%26i%3d1297%26fp%3d3513813562%26n%3d1",
			Payload{Time: at(2019, 1, 2, 10, 12, 0), SumKopecks: 150000, FN: "9289000100361829", FD: 1297, FP: 3513813562, Operation: 1},
			"t=20190102T1012&s=1500.00&fn=9289000100361829&i=1297&fp=3513813562&n=1"},
		{"leap day, max sum", "t=20240229T2359&s=2814749767106.55&fn=0000000000000000&i=4294967295&fp=4294967295&n=3",
			Payload{Time: at(2024, 2, 29, 23, 59, 0), SumKopecks: MaxSumKopecks, FN: "0000000000000000", FD: 4294967295, FP: 4294967295, Operation: 3},
			"t=20240229T2359&s=2814749767106.55&fn=0000000000000000&i=4294967295&fp=4294967295&n=3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			tc.want.Raw = tc.in
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, d)
			}
			if c := got.Canonical(); c != tc.canonical {
				t.Errorf("Canonical() = %q, want %q", c, tc.canonical)
			}
			again, err := Parse(got.Canonical())
			if err != nil {
				t.Fatalf("Parse(Canonical()): %v", err)
			}
			if d := cmp.Diff(got, again, cmpopts.IgnoreFields(Payload{}, "Raw")); d != "" {
				t.Errorf("canonical round trip (-first +second):\n%s", d)
			}
			if id := got.Identity(); id != (Identity{FN: tc.want.FN, FD: tc.want.FD, FP: tc.want.FP}) {
				t.Errorf("Identity() = %+v", id)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		wantField string
		wantCode  string
	}{
		// fiscal.md §2.4 invalid strings.
		{"no s and n (shift report)", "t=20240115T1623&fn=9999078902003809&i=431&fp=2072038103", "s", CodeMissingField},
		{"minute 62", "t=20190613T1762&s=500&fn=9289000100394547&i=20537&fp=2249765782&n=1", "t", CodeBadTime},
		{"15-digit fn", "t=20240301T0915&s=1.00&fn=72814405001234&i=1&fp=1&n=1", "fn", CodeBadFN},
		{"fp > uint32", "t=20240301T0915&s=1.00&fn=7281440500123456&i=1&fp=4294967296&n=1", "fp", CodeBadFP},
		// fiscal.md §2.3.
		{"missing fp", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&n=1", "fp", CodeMissingField},
		{"ambiguous n", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1&n=2", "n", CodeAmbiguousField},
		{"ambiguous i/fd", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fd=14187&fp=1460060363&n=1", "i", CodeAmbiguousField},
		{"fn=123", "t=20200709T2008&s=7273.00&fn=123&i=14186&fp=1460060363&n=1", "fn", CodeBadFN},
		{"fn letters", "t=20200709T2008&s=7273.00&fn=92824403006884AB&i=14186&fp=1460060363&n=1", "fn", CodeBadFN},
		{"fp=0", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=0&n=1", "fp", CodeBadFP},
		{"i=abc", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=abc&fp=1460060363&n=1", "i", CodeBadFD},
		{"i too long", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=00000000001&fp=1460060363&n=1", "i", CodeBadFD},
		{"i negative", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=-1&fp=1460060363&n=1", "i", CodeBadFD},
		{"n=0", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=0", "n", CodeBadOperationType},
		{"n=5", "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=5", "n", CodeBadOperationType},
		{"Feb 30", "t=20190230T1200&s=500&fn=9289000100394547&i=20537&fp=2249765782&n=1", "t", CodeBadTime},
		{"hour 24", "t=20190228T2400&s=500&fn=9289000100394547&i=20537&fp=2249765782&n=1", "t", CodeBadTime},
		{"short time", "t=20190228T120&s=500&fn=9289000100394547&i=20537&fp=2249765782&n=1", "t", CodeBadTime},
		{"three decimals", "t=20240301T0915&s=12.345&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		{"negative sum", "t=20240301T0915&s=-12.34&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		{"sum not a number", "t=20240301T0915&s=12a&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		{"sum comma in QR", "t=20240301T0915&s=431,94&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		{"sum trailing dot", "t=20240301T0915&s=12.&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		{"sum too large", "t=20240301T0915&s=2814749767106.56&fn=7281440500123456&i=1&fp=1&n=1", "s", CodeBadSum},
		// Other kinds of QR codes.
		{"EGAIS", "http://check.egais.ru?id=38d02af6-bf7b-4c2b-8e5c-4e4d0a6c1f0a&dt=2101231445&cn=030000290346", "", CodeNotFiscalQR},
		{"EGAIS https", "https://check.egais.ru?id=1&dt=2&cn=3", "", CodeNotFiscalQR},
		{"payment QR", "ST00012|Name=ООО Ромашка|PersonalAcc=40702810000000000000|BankName=Банк|BIC=044525000", "", CodeNotFiscalQR},
		{"OFD permalink", "https://check.ofd.ru/rec/9282440300688488/14186/1460060363", "", CodeNotFiscalQR},
		{"OFD permalink long", "https://check.ofd.ru/rec/7814148471/0001234567012345/9282440300688488/14186/1460060363", "", CodeNotFiscalQR},
		{"other link", "https://example.com/promo", "", CodeNotFiscalQR},
		{"plain text", "hello world", "", CodeNotFiscalQR},
		{"empty", "  \n", "", CodeNotFiscalQR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.in)
			fe, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse(%q) error = %v (%T), want *Error", tc.in, err, err)
			}
			if fe.Field != tc.wantField || fe.Code != tc.wantCode {
				t.Errorf("Parse(%q) = {Field:%q Code:%q}, want {%q %q}", tc.in, fe.Field, fe.Code, tc.wantField, tc.wantCode)
			}
			if fe.Message == "" || fe.Detail == "" || CodeOf(err) != tc.wantCode {
				t.Errorf("incomplete error %#v", fe)
			}
		})
	}
}

func TestFromFields(t *testing.T) {
	t.Parallel()
	got, err := FromFields(Fields{T: "2024-03-01T09:15", S: "1 499,90", FN: "7281 4405 0012 3456", I: "0000004522", FP: "0000305667", N: "2"})
	if err != nil {
		t.Fatal(err)
	}
	want := Payload{Time: at(2024, 3, 1, 9, 15, 0), SumKopecks: 149990, FN: "7281440500123456", FD: 4522, FP: 305667, Operation: 2,
		Raw: "t=20240301T0915&s=1499.90&fn=7281440500123456&i=4522&fp=305667&n=2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("FromFields (-want +got):\n%s", d)
	}

	bad := []struct {
		f     Fields
		field string
		code  string
	}{
		{Fields{T: "20240301T0915", S: "1", FN: "7281440500123456", I: "1", FP: "1"}, "n", CodeMissingField},
		{Fields{T: "20240301T0915", S: "1.234", FN: "7281440500123456", I: "1", FP: "1", N: "1"}, "s", CodeBadSum},
		{Fields{T: "20240301T0915", S: "1", FN: "728144050012345", I: "1", FP: "1", N: "1"}, "fn", CodeBadFN},
		{Fields{T: "20240301T0915", S: "1", FN: "7281440500123456", I: "0", FP: "1", N: "1"}, "i", CodeBadFD},
		{Fields{T: "20240301T0915", S: "1", FN: "7281440500123456", I: "1", FP: "x", N: "1"}, "fp", CodeBadFP},
		{Fields{T: "20240301T0915", S: "1", FN: "7281440500123456", I: "1", FP: "1", N: "7"}, "n", CodeBadOperationType},
		{Fields{T: "01.03.2024 09:15", S: "1", FN: "7281440500123456", I: "1", FP: "1", N: "1"}, "t", CodeBadTime},
	}
	for _, tc := range bad {
		_, err := FromFields(tc.f)
		fe, ok := err.(*Error)
		if !ok || fe.Field != tc.field || fe.Code != tc.code {
			t.Errorf("FromFields(%+v) = %v, want %s/%s", tc.f, err, tc.field, tc.code)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1",
		"t=20190418T211655&s=3943.26&fn=9282000100072197&i=64318&fp=2918241905&n=1",
		"t=20240917t1801&s=1285.21&fn=7281440500751551&i=30526&fp=1168453787&n=1",
		"fp=1234567890&t=20201226T121800&s=551.89&i=12345&fn=1234567890123456&n=1",
		"t%3D20240301T0915%26s%3D99.90%26fn%3D7281440500123456%26i%3D4523%26fp%3D12345%26n%3D1",
		" t=20240301T0915&s=99.90&fn=7281440500123456 &i=4524&fp=2999999999&n=1\n",
		"fn=9280440300770583&fd=33110&fp=4138469556&n=1&t=20210217T2028&qr=0&s=1",
		"t=2020-07-09T20:08:30&s=0.01&fn=9282440300688488&i=1&fp=1&n=4",
		"https://check.ofd.ru/rec/9282440300688488/14186/1460060363",
		"ST00012|Name=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(in)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("Parse(%q) returned untyped error %v", in, err)
			}
			return
		}
		if p.Raw != in {
			t.Fatalf("Raw = %q, want %q", p.Raw, in)
		}
		c := p.Canonical()
		q, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, Parse(canonical %q): %v", in, c, err)
		}
		p.Raw, q.Raw = "", ""
		if p != q {
			t.Fatalf("round trip of %q via %q: %+v != %+v", in, c, p, q)
		}
		if q.Canonical() != c {
			t.Fatalf("canonical form not stable: %q -> %q", c, q.Canonical())
		}
	})
}
