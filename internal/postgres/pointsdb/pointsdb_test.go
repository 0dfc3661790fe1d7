package pointsdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestInTxJoinsTheContextTransaction: the points service's unit of work
// runs in the transaction the context carries (the receipt's), seeing its
// uncommitted rows and rolling back with it; without one it commits its
// own. The ledger port (ledgerdb.Postings), called with the context fn
// gets, writes in that same transaction. Were InTx to begin a transaction
// of its own inside a receipt update, a credit could commit while the
// receipt's status rolled back.
func TestInTxJoinsTheContextTransaction(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	ctx := context.Background()
	store := pointsdb.New(db)
	var postings ledgerdb.Postings
	var client int64
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client))
	newProgram := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}, code string) int64 {
		var id int64
		must(t, q.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
			VALUES ($1, $2, 'P', 'live', '2020-01-01', '2099-12-31', 0) RETURNING id`, client, code).Scan(&id))
		return id
	}
	budgetAccounts := func(program int64) int {
		var n int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM ledger_accounts WHERE program_id = $1 AND kind = 'program_budget'`, program).Scan(&n))
		return n
	}

	errRollback := errors.New("the receipt's update fails after points ran")
	var joined int64
	err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		joined = newProgram(tx, "uncommitted")
		return store.InTx(postgres.ContextWithTx(ctx, tx), func(ctx context.Context, ptx points.Tx) error {
			if _, ok, err := ptx.Program(ctx, client, &joined, time.Now()); err != nil || !ok {
				t.Errorf("unit of work does not see the caller's uncommitted program: ok=%v err=%v", ok, err)
			}
			if _, err := postings.LockBudget(ctx, client, joined); err != nil { // creates the budget account
				return err
			}
			return nil
		})
	})
	must(t, err)
	if n := budgetAccounts(joined); n != 1 {
		t.Fatalf("committed caller: %d budget accounts, want 1", n)
	}

	other := newProgram(db, "rolled-back")
	err = postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if err := store.InTx(postgres.ContextWithTx(ctx, tx), func(ctx context.Context, ptx points.Tx) error {
			_, err := postings.LockBudget(ctx, client, other)
			return err
		}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("err = %v, want the caller's", err)
	}
	if n := budgetAccounts(other); n != 0 {
		t.Fatalf("rolled-back caller: %d budget accounts, want 0 (the unit of work committed on its own)", n)
	}

	// No transaction in the context: InTx begins and commits its own.
	must(t, store.InTx(ctx, func(ctx context.Context, ptx points.Tx) error {
		_, err := postings.LockBudget(ctx, client, other)
		return err
	}))
	if n := budgetAccounts(other); n != 1 {
		t.Fatalf("own transaction: %d budget accounts, want 1", n)
	}
}
