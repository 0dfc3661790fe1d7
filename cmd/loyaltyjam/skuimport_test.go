package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

func TestCatalogImportAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	if _, err := db.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга')`); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("../../internal/catalog/testdata/catalog_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, l := range strings.Split(strings.TrimSpace(string(good)), "\n") {
		if i == 0 || strings.Contains(l, ",vetluga,") {
			lines = append(lines, l)
		}
	}
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
