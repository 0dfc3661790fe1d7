package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

// An operator tops up a budget from the command line: funded once per
// --key, recorded in the audit log as the CLI actor, the ledger clean; a
// hostile amount funds nothing.
func TestBudgetTopUpCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var client, program int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on)
		VALUES ($1, 'p1', 'P', '2025-01-01', '2025-12-31') RETURNING id`, client).Scan(&program); err != nil {
		t.Fatal(err)
	}
	args := []string{"--program", itoa(program), "--amount", "1 500,25", "--document", "Договор 7", "--key", "cli-1"}
	for range 2 {
		var out, errOut bytes.Buffer
		if err := budgetTopUp(ctx, url, args, &out, &errOut); err != nil {
			t.Fatalf("top-up: %v %s", err, &errOut)
		}
		if !strings.Contains(out.String(), `"amount_kopecks": 150025`) {
			t.Fatalf("output: %s", &out)
		}
	}
	var out, errOut bytes.Buffer
	if err := budgetTopUp(ctx, url, []string{"--program", itoa(program), "--amount", "1e3", "--document", "d", "--key", "cli-2"}, &out, &errOut); err == nil {
		t.Fatal("1e3 accepted")
	}
	var balance int64
	var actor string
	if err := db.QueryRow(ctx, `SELECT balance_kopecks FROM ledger_accounts WHERE kind = 'program_budget' AND program_id = $1`, program).Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT string_agg(actor_kind, ',') FROM audit_log WHERE action = 'budget.top_up'`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	if balance != 150025 || actor != "cli" {
		t.Fatalf("balance %d, audit actors %q", balance, actor)
	}
	out.Reset()
	if err := checkLedger(ctx, url, &out); err != nil {
		t.Fatalf("ledger check: %v\n%s", err, &out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
