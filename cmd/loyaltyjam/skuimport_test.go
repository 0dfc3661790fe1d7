package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

// vetlugaCatalog creates the client vetluga in db and returns the header and
// vetluga's rows of the small test catalog, as CSV lines.
func vetlugaCatalog(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	if _, err := db.Exec(context.Background(), `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга')`); err != nil {
		t.Fatal(err)
	}
	all, err := os.ReadFile("../../internal/catalog/testdata/catalog_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, l := range strings.Split(strings.TrimSpace(string(all)), "\n") {
		if i == 0 || strings.Contains(l, ",vetluga,") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestCatalogImportAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	lines := vetlugaCatalog(t, db)
	dir := t.TempDir()
	badPath := filepath.Join(dir, "bad.csv")
	// The last row has a broken GTIN check digit.
	bad := strings.Join(lines, "\n") + "\nVT-9999,vetluga,ТЕРМОКС,Антифриз ТЕРМОКС G11 тест 1 кг,Антифриз,1,кг,4609871001122,1.00\n"
	if err := os.WriteFile(badPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	s := catalogdb.New(db)
	var out, errOut bytes.Buffer
	if err := importCatalog(ctx, s, "vetluga", badPath, &out, &errOut); err == nil {
		t.Fatal("a file with a bad row was imported")
	}
	if !strings.Contains(errOut.String(), "column gtin") {
		t.Fatalf("row errors: %q", errOut.String())
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM skus`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d SKUs after a failed import (%v)", n, err)
	}
	goodPath := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(goodPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := importCatalog(ctx, s, "vetluga", goodPath, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM skus`).Scan(&n); err != nil || n != len(lines)-1 {
		t.Fatalf("%d SKUs imported, want %d (%v)", n, len(lines)-1, err)
	}
	out.Reset()
	if err := exportCatalog(ctx, s, "vetluga", "csv", &out); err != nil || strings.Count(out.String(), "\n") != len(lines) {
		t.Fatalf("export: %v\n%s", err, &out)
	}
}

// TestSKUImport: "sku import" is the catalog import under the name the
// issue asks for; "catalog import" keeps working on the same code.
func TestSKUImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"sku", "import"},
		{"sku", "import", "--client", "vetluga"},
		{"sku", "import", "a.csv"},
		{"sku", "import", "--client", "vetluga", "a.csv", "b.csv"},
	} {
		if err := run(ctx, args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	db, url := pgtest.New(t)
	lines := vetlugaCatalog(t, db)
	path := filepath.Join(t.TempDir(), "vetluga.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := catalogCmd(ctx, "sku", []string{"import", "--client", "vetluga", path}, url, &out, &errOut); err != nil {
		t.Fatalf("sku import: %v\n%s", err, &errOut)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("imported %d SKUs for vetluga: %d new", len(lines)-1, len(lines)-1)) {
		t.Fatalf("sku import output: %q", out.String())
	}
	out.Reset()
	if err := catalogCmd(ctx, "catalog", []string{"import", "--client", "vetluga", path}, url, &out, &errOut); err != nil {
		t.Fatalf("catalog import: %v\n%s", err, &errOut)
	}
	if !strings.Contains(out.String(), "0 new") {
		t.Fatalf("catalog import output: %q", out.String())
	}
	if err := catalogCmd(ctx, "sku", []string{"export", "--client", "vetluga"}, url, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("sku export: err %v, want a usage error (export is catalog export)", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM skus`).Scan(&n); err != nil || n != len(lines)-1 {
		t.Fatalf("%d SKUs, want %d (%v)", n, len(lines)-1, err)
	}
}
