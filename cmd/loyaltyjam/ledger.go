package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
)

func init() {
	register(command{name: "ledger", summary: "points ledger tools: check", run: runLedger})
}

// errLedgerDiscrepancy makes `ledger check` exit non-zero after printing
// what it found.
var errLedgerDiscrepancy = errors.New("ledger check found discrepancies")

func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "check" {
		return fmt.Errorf("%w: loyaltyjam ledger check", errUsage)
	}
	cfg, _, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	return checkLedger(ctx, cfg.DatabaseURL, stdout)
}

// checkLedger runs the reconciliation on the database at url.
func checkLedger(ctx context.Context, url string, stdout io.Writer) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := ledgerdb.New(db).Check(ctx)
	if err != nil {
		return err
	}
	return printLedgerReport(stdout, rep)
}

// printLedgerReport writes the summary and every discrepancy, and returns
// errLedgerDiscrepancy if there is any.
func printLedgerReport(w io.Writer, rep ledgerdb.Report) error {
	fmt.Fprintf(w, "transactions: %d\npostings:     %d\naccounts:     %d\n", rep.Transactions, rep.Postings, rep.Accounts)
	kinds := make([]string, 0, len(rep.BalanceByKind))
	for k := range rep.BalanceByKind {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	var total int64
	for _, k := range kinds {
		v := rep.BalanceByKind[ledger.AccountKind(k)]
		total += v
		fmt.Fprintf(w, "balance %-22s %d kopecks\n", k, v)
	}
	fmt.Fprintf(w, "sum of all balances: %d (must be 0)\n", total)
	for _, d := range rep.Discrepancies {
		fmt.Fprintln(w, "DISCREPANCY", d.String())
	}
	if !rep.OK() || total != 0 {
		return fmt.Errorf("%w: %d", errLedgerDiscrepancy, len(rep.Discrepancies))
	}
	fmt.Fprintln(w, "ok: every transaction balances and every balance equals its postings")
	return nil
}
