package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExcelCSVRoundTrip: the Russian Excel CSV (BOM, ';', decimal comma)
// reads back into the same SKUs.
func TestExcelCSVRoundTrip(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "catalog_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	skus, rowErrs, err := ParseCSV(bytes.NewReader(orig))
	if err != nil {
		t.Fatalf("%v %v", err, rowErrs)
	}
	skus[0].Aliases = []string{"ТЕРМОКС; зелёный"} // a ';' in a field is quoted
	var out bytes.Buffer
	if err := WriteExcelCSV(&out, skus); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	first := strings.SplitN(text, "\r\n", 3)
	if !strings.HasPrefix(text, "\ufeffsku_id;client;") || len(first) < 3 || !strings.Contains(first[1], ";1,00") {
		t.Fatalf("not Russian Excel's CSV: %q", first)
	}
	back, rowErrs, err := ParseCSV(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%v %v", err, rowErrs)
	}
	if diff := cmp.Diff(skus, back); diff != "" {
		t.Errorf("Excel CSV round trip (-written +read):\n%s", diff)
	}
}
