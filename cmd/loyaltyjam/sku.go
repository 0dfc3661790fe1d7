package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
)

func init() {
	register(command{name: "sku", summary: "SKU catalog tools: import into the database, match receipt lines, convert CSV ⇄ XLSX", run: runSKU})
}

// skuImportUsage is the usage line of sku import (catalogCmd prints it).
const skuImportUsage = "loyaltyjam sku import --client CODE FILE.csv|FILE.xlsx"

const skuUsage = `usage:
  loyaltyjam sku import --client CODE FILE
      Import a client's catalog (.csv or .xlsx) into the database (DATABASE_URL),
      all or nothing: every bad row is listed (line, column, why) and nothing
      is written. The same as catalog import.
  loyaltyjam sku match --catalog FILE --lines FILE
      Match receipt lines (CSV with a "line" column, optional "gtin" and
      "expected_sku_id") against a catalog (.csv or .xlsx). Writes CSV
      "line,sku_id,how" to stdout, one row per input line in input order; with
      expected_sku_id, precision and recall go to stderr.
  loyaltyjam sku convert --in FILE --out FILE
      Validate a catalog and rewrite it as CSV or XLSX (by extension).`

func runSKU(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, skuUsage)
		return fmt.Errorf("%w: sku needs a subcommand", errUsage)
	}
	switch args[0] {
	case "import":
		return catalogCmd(ctx, "sku", args, "", stdout, stderr)
	case "match":
		return runSKUMatch(ctx, args[1:], stdout, stderr)
	case "convert":
		return runSKUConvert(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stderr, skuUsage)
		return nil
	default:
		fmt.Fprintln(stderr, skuUsage)
		return fmt.Errorf("%w: unknown sku subcommand %q", errUsage, args[0])
	}
}

// parseFlags parses a flag set and turns every problem into a usage error.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("%w: --%s is required", errUsage, name)
		}
	}
	return nil
}

// loadCatalog reads a catalog file as XLSX or CSV by its extension and
// reports row errors one per line.
func loadCatalog(path string, stderr io.Writer) ([]catalog.SKU, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		skus    []catalog.SKU
		rowErrs []catalog.RowError
	)
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		skus, rowErrs, err = catalog.ParseXLSX(f)
	} else {
		skus, rowErrs, err = catalog.ParseCSV(f)
	}
	for _, re := range rowErrs {
		fmt.Fprintf(stderr, "%s: %v\n", path, re)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return skus, nil
}

func runSKUMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sku match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	catPath := fs.String("catalog", "", "catalog file (.csv or .xlsx)")
	linesPath := fs.String("lines", "", "receipt lines CSV with a line column")
	if err := parseFlags(fs, args, "catalog", "lines"); err != nil {
		return err
	}
	skus, err := loadCatalog(*catPath, stderr)
	if err != nil {
		return err
	}
	m := catalog.NewMatcher(skus)

	data, err := os.ReadFile(*linesPath)
	if err != nil {
		return err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("lines %s: header: %w", *linesPath, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	lineCol, ok := col["line"]
	if !ok {
		return fmt.Errorf("lines %s: no \"line\" column in the header", *linesPath)
	}
	gtinCol, hasGTIN := col["gtin"]
	expCol, hasExp := col["expected_sku_id"]
	field := func(rec []string, i int, present bool) string {
		if !present || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}

	w := csv.NewWriter(stdout)
	if err := w.Write([]string{"line", "sku_id", "how"}); err != nil {
		return err
	}
	var tp, fp, fn, total int
	byHow := map[string]int{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("lines %s: %w", *linesPath, err)
		}
		line := field(rec, lineCol, true)
		res := m.Match(line, field(rec, gtinCol, hasGTIN))
		if err := w.Write([]string{line, res.SKUID, res.String()}); err != nil {
			return err
		}
		total++
		byHow[res.How]++
		if hasExp {
			want := field(rec, expCol, true)
			switch {
			case res.SKUID != "" && res.SKUID == want:
				tp++
			case res.SKUID != "":
				fp++
				if want != "" {
					fn++
				}
			case want != "":
				fn++
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	hows := make([]string, 0, len(byHow))
	for h, n := range byHow {
		hows = append(hows, fmt.Sprintf("%s=%d", h, n))
	}
	sort.Strings(hows)
	fmt.Fprintf(stderr, "lines=%d %s\n", total, strings.Join(hows, " "))
	if hasExp {
		fmt.Fprintf(stderr, "TP=%d FP=%d FN=%d precision=%s recall=%s\n", tp, fp, fn, ratio(tp, tp+fp), ratio(tp, tp+fn))
	}
	return nil
}

// ratio prints a share as a percentage with two decimals, or n/a.
func ratio(num, den int) string {
	if den == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(num)/float64(den))
}

func runSKUConvert(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sku convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "catalog to read (.csv or .xlsx)")
	out := fs.String("out", "", "catalog to write (.csv or .xlsx)")
	if err := parseFlags(fs, args, "in", "out"); err != nil {
		return err
	}
	skus, err := loadCatalog(*in, stderr)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if strings.EqualFold(filepath.Ext(*out), ".xlsx") {
		err = catalog.WriteXLSX(&buf, skus)
	} else {
		err = catalog.WriteCSV(&buf, skus)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d SKUs to %s\n", len(skus), *out)
	return nil
}
