package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

func TestLedgerCheckDetectsTamperedBalance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var client, program int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P', '2025-01-01', '2025-12-31', 5000) RETURNING id`, client).Scan(&program); err != nil {
		t.Fatal(err)
	}
	if err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, program)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := checkLedger(ctx, url, &out); err != nil {
		t.Fatalf("clean ledger: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "ok:") {
		t.Fatalf("output:\n%s", &out)
	}
	if _, err := db.Exec(ctx, `UPDATE ledger_accounts SET balance_kopecks = 4999 WHERE kind = $1`, string(ledger.ProgramBudget)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := checkLedger(ctx, url, &out)
	if !errors.Is(err, errLedgerDiscrepancy) || !strings.Contains(out.String(), "DISCREPANCY balance_mismatch") {
		t.Fatalf("tampered ledger: err %v\n%s", err, &out)
	}
}
