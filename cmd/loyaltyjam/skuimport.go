package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
)

func init() {
	register(command{name: "catalog", summary: "a client's SKU catalog in the database: import | export (import also as sku import)", run: runCatalog})
}

const catalogUsage = "loyaltyjam catalog import --client CODE FILE.csv|FILE.xlsx | catalog export --client CODE [--format csv|xlsx]"

func runCatalog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return catalogCmd(ctx, "catalog", args, "", stdout, stderr)
}

// catalogCmd runs "<cmd> import|export ..." (cmd is catalog, or sku for
// sku import). args starts with the verb. dbURL overrides DATABASE_URL
// (tests); empty means the configuration.
func catalogCmd(ctx context.Context, cmd string, args []string, dbURL string, stdout, stderr io.Writer) error {
	usage := catalogUsage
	if cmd == "sku" {
		usage = skuImportUsage
	}
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") || (cmd == "sku" && args[0] != "import") {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	fs := flag.NewFlagSet(cmd+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "client code")
	format := fs.String("format", "csv", "export format: csv or xlsx")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *client == "" {
		return fmt.Errorf("%w: --client is required; %s", errUsage, usage)
	}
	if want := map[string]int{"import": 1, "export": 0}[args[0]]; fs.NArg() != want {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	if dbURL == "" {
		cfg, _, err := loadConfig(stderr)
		if err != nil {
			return err
		}
		dbURL = cfg.DatabaseURL
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	s := catalogdb.New(db)
	if args[0] == "export" {
		return exportCatalog(ctx, s, *client, *format, stdout)
	}
	return importCatalog(ctx, s, *client, fs.Arg(0), stdout, stderr)
}

// importCatalog parses path (CSV or XLSX by extension) and imports it all or
// nothing, listing every bad row on stderr.
func importCatalog(ctx context.Context, s *catalogdb.Store, client, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	parse := catalog.ParseCSV
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		parse = catalog.ParseXLSX
	}
	skus, rowErrs, err := parse(f)
	for _, re := range rowErrs {
		fmt.Fprintln(stderr, re.Error())
	}
	if err != nil {
		if errors.Is(err, catalog.ErrInvalidRows) {
			return fmt.Errorf("%s: %d bad rows, nothing imported", path, len(rowErrs))
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	res, err := s.Import(ctx, client, skus)
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", path, err)
	}
	fmt.Fprintf(stdout, "imported %d SKUs for %s: %d new, %d updated, %d deactivated; catalog version %d\n",
		len(skus), client, res.Inserted, res.Updated, res.Deactivated, res.Version)
	return nil
}

func exportCatalog(ctx context.Context, s *catalogdb.Store, client, format string, stdout io.Writer) error {
	skus, err := s.Export(ctx, client)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return catalog.WriteCSV(stdout, skus)
	case "xlsx":
		return catalog.WriteXLSX(stdout, skus)
	}
	return fmt.Errorf("%w: --format %q, want csv or xlsx", errUsage, format)
}
