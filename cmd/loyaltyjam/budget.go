package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/user"

	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
)

func init() {
	register(command{name: "budget", summary: "program budgets: top-up --program ID --amount RUB --document TEXT --key KEY", run: runBudget})
}

func runBudget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "top-up" {
		return fmt.Errorf("%w: loyaltyjam budget top-up --program ID --amount RUB --document TEXT --key KEY [--comment TEXT]", errUsage)
	}
	cfg, _, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	return budgetTopUp(ctx, cfg.DatabaseURL, args[1:], stdout, stderr)
}

// budgetTopUp parses the top-up flags and funds the program as the
// operator at the terminal (audit actor "cli" named by the OS user). The
// --key makes a re-run fund once.
func budgetTopUp(ctx context.Context, url string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("budget top-up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	program := fs.Int64("program", 0, "program id")
	amount := fs.String("amount", "", `amount in roubles, e.g. "15000.50"`)
	document := fs.String("document", "", "the document of the top-up (contract, invoice, payment order)")
	comment := fs.String("comment", "", "comment")
	key := fs.String("key", "", "idempotency key: a re-run with the same key funds once")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	k, err := budget.ParseAmount("amount", *amount, budget.MaxTopUpKopecks)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	t, err := budgetdb.New(db, ledgerdb.Postings{}, auditdb.New(db), slog.New(slog.DiscardHandler)).TopUpCLI(ctx, name,
		budget.TopUpRequest{ProgramID: *program, AmountKopecks: k, Document: *document, Comment: *comment, IdempotencyKey: *key})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}
