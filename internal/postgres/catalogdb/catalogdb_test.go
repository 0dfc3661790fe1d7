package catalogdb_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

func loadSmall(t *testing.T, client string) []catalog.SKU {
	t.Helper()
	f, err := os.Open("../../catalog/testdata/catalog_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skus, rowErrs, err := catalog.ParseCSV(f)
	if err != nil {
		t.Fatal(err, rowErrs)
	}
	var out []catalog.SKU
	for _, k := range skus {
		if k.Client == client {
			out = append(out, k)
		}
	}
	return out
}

func TestImportLoadExportAlias(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var clientID int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга') RETURNING id`).Scan(&clientID); err != nil {
		t.Fatal(err)
	}
	s := catalogdb.New(db)
	skus := loadSmall(t, "vetluga")
	sort.Slice(skus, func(i, j int) bool { return skus[i].ID < skus[j].ID })
	if len(skus) < 5 {
		t.Fatalf("fixture has %d vetluga SKUs", len(skus))
	}
	res, err := s.Import(ctx, "vetluga", skus)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(skus) || res.Updated != 0 || res.Version != 1 {
		t.Fatalf("first import %+v", res)
	}
	c, err := catalogdb.Load(ctx, db, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(skus, c.SKUs, cmp.Transformer("nilEmpty", func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	})); diff != "" {
		t.Fatalf("loaded catalog differs (-imported +loaded):\n%s", diff)
	}
	m := catalog.NewMatcher(c.SKUs)
	if r := m.Match("что угодно", skus[0].GTINs[0]); r.SKUID != skus[0].ID {
		t.Fatalf("gtin match: %+v", r)
	}

	// Export round trip.
	exported, err := s.Export(ctx, "vetluga")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := catalog.WriteCSV(&buf, exported); err != nil {
		t.Fatal(err)
	}
	again, _, err := catalog.ParseCSV(&buf)
	if err != nil || len(again) != len(skus) {
		t.Fatalf("re-parse export: %d SKUs, %v", len(again), err)
	}

	// All or nothing: one bad SKU and nothing changes, not even the version.
	bad := append([]catalog.SKU(nil), skus...)
	bad[0].Name = "Переименован"
	bad[len(bad)-1].Brand = ""
	if _, err := s.Import(ctx, "vetluga", bad); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("bad import: %v", err)
	}
	c2, err := catalogdb.Load(ctx, db, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Version != 1 || c2.SKUs[0].Name != skus[0].Name {
		t.Fatalf("a failed import changed the catalog: version %d, name %q", c2.Version, c2.SKUs[0].Name)
	}
	if _, err := s.Import(ctx, "vetluga", loadSmall(t, "krasnodol")); !errors.Is(err, catalogdb.ErrOtherClient) && apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("other client's rows: %v", err)
	}

	// Confirm an alias: version bumps, the matcher learns it; another SKU
	// cannot take it.
	alias := "АНТИФР ТРМКС ЗЕЛ 1КГ АКЦИЯ"
	if err := s.ConfirmAlias(ctx, clientID, skus[0].ID, alias); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmAlias(ctx, clientID, skus[0].ID, alias); err != nil {
		t.Fatalf("confirming twice: %v", err)
	}
	if err := s.ConfirmAlias(ctx, clientID, skus[1].ID, alias); !errors.Is(err, catalogdb.ErrAliasTaken) {
		t.Fatalf("alias of another SKU: %v", err)
	}
	if err := s.ConfirmAlias(ctx, clientID, "NOPE", "x"); !errors.Is(err, catalogdb.ErrSKUNotFound) {
		t.Fatalf("unknown SKU: %v", err)
	}
	c3, err := catalogdb.Load(ctx, db, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if c3.Version != 3 {
		t.Fatalf("version %d after two confirmations, want 3", c3.Version)
	}
	if r := catalog.NewMatcher(c3.SKUs).Match(alias, ""); r.SKUID != skus[0].ID || r.How != catalog.HowAlias {
		t.Fatalf("alias match: %+v", r)
	}

	// Re-import without the first SKU: it is deactivated, the confirmed
	// alias of a kept SKU survives.
	res, err = s.Import(ctx, "vetluga", skus[1:])
	if err != nil {
		t.Fatal(err)
	}
	if res.Deactivated != 1 || res.Updated != len(skus)-1 || res.Inserted != 0 {
		t.Fatalf("re-import %+v", res)
	}
	c4, err := catalogdb.Load(ctx, db, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c4.SKUs) != len(skus)-1 || c4.IDs[skus[0].ID] != 0 {
		t.Fatalf("deactivated SKU still loaded")
	}
}
