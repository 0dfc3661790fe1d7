package ledgerdb_test

import (
	"context"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
)

// TestPostingsNeedTheCallersTransaction: the ledger port never opens a
// transaction of its own. A posting made outside the caller's unit of work
// could commit while the caller's writes roll back, so a context without a
// transaction is an error on every method.
func TestPostingsNeedTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	var p ledger.Postings = ledgerdb.Postings{}
	if _, err := p.Post(ctx, ledger.Fund(1, 1, 100, "k")); err == nil {
		t.Error("Post without a transaction: no error")
	}
	if _, err := p.PostBatch(ctx, ledger.Batch{ClientID: 1, ProgramID: 1, Transfers: []ledger.Transfer{{Key: "k", ParticipantID: 1, AmountKopecks: 1}}}); err == nil {
		t.Error("PostBatch without a transaction: no error")
	}
	if _, err := p.LockBudget(ctx, 1, 1); err == nil {
		t.Error("LockBudget without a transaction: no error")
	}
	if _, err := p.Balance(ctx, ledger.BudgetAccount(1, 1)); err == nil {
		t.Error("Balance without a transaction: no error")
	}
}
