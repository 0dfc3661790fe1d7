package catalog

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// sharedSKU is the labelled data set kept next to the repository
// (../shared/testdata/sku relative to the repo root).
var sharedSKU = filepath.Join("..", "..", "..", "shared", "testdata", "sku")

func loadShared(t *testing.T) *Matcher {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedSKU, "catalog.csv"))
	if os.IsNotExist(err) {
		t.Skipf("labelled SKU data not found at %s (it lives outside the repository, in ../shared); skipping the scored evaluation", sharedSKU)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skus, rowErrs, err := ParseCSV(f)
	if err != nil {
		t.Fatalf("parse shared catalog: %v %v", err, rowErrs)
	}
	return NewMatcher(skus)
}

// score is the README's scoring: a wrong SKU counts as FP and FN.
type score struct{ TP, FP, FN int }

func (s *score) add(got, want string) {
	switch {
	case got != "" && got == want:
		s.TP++
	case got != "":
		s.FP++
		if want != "" {
			s.FN++
		}
	case want != "":
		s.FN++
	}
}

func (s score) precision() float64 {
	if s.TP+s.FP == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FP)
}

func (s score) recall() float64 {
	if s.TP+s.FN == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FN)
}

func readLabelled(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedSKU, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		out = append(out, row)
	}
	return out
}

func TestScoreLabelledSets(t *testing.T) {
	m := loadShared(t)
	for _, file := range []string{"lines.csv", "gtin_lines.csv"} {
		t.Run(file, func(t *testing.T) {
			var sc score
			how := map[string]int{}
			for _, row := range readLabelled(t, file) {
				res := m.Match(row["line"], row["gtin"])
				sc.add(res.SKUID, row["expected_sku_id"])
				how[res.String()]++
				if res.SKUID != row["expected_sku_id"] {
					t.Logf("MISS %-60q want %-8s got %-8s %s", row["line"], row["expected_sku_id"], res.SKUID, res)
				}
			}
			t.Logf("%s: TP=%d FP=%d FN=%d precision=%.4f recall=%.4f by method %v",
				file, sc.TP, sc.FP, sc.FN, sc.precision(), sc.recall(), how)
			if sc.precision() < 0.995 {
				t.Errorf("precision %.4f < 0.995", sc.precision())
			}
			if sc.recall() < 0.97 {
				t.Errorf("recall %.4f < 0.97", sc.recall())
			}
		})
	}
}
