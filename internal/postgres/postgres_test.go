package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

// The schema, not Go code, keeps a ledger transaction balanced and a
// receipt's fiscal identity unique; these tests prove the constraints bite.
func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	mustExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustExec(`INSERT INTO clients (code, name) VALUES ('acme', 'Acme')`)
	mustExec(`INSERT INTO participants (client_id, phone, role) VALUES (1, '+79990000001', 'seller'), (1, '+79990000002', 'seller')`)

	insertReceipt := `INSERT INTO receipts (client_id, participant_id, status, source, fn, fd, fp, operation, purchased_at, sum_kopecks)
		VALUES (1, $1, 'queued', 'qr', '9282440300688488', 14186, 1460060363, 1, '2020-07-09 20:08', 727300)`
	mustExec(insertReceipt, 1)
	_, err := pool.Exec(ctx, insertReceipt, 2)
	if !postgres.IsUniqueViolation(err, "receipts_fiscal_identity_key") {
		t.Fatalf("second claim of one fiscal identity: got %v, want receipts_fiscal_identity_key violation", err)
	}

	// A ledger transaction whose postings do not sum to zero cannot commit.
	mustExec(`INSERT INTO ledger_accounts (kind, client_id) VALUES ('funding', 1)`)
	mustExec(`INSERT INTO ledger_accounts (kind, client_id, participant_id) VALUES ('participant_available', 1, 1)`)
	err = postgres.WithTx(ctx, pool, func(tx pgx.Tx) error {
		var txID int64
		if err := tx.QueryRow(ctx, `INSERT INTO ledger_transactions (idempotency_key, kind, client_id) VALUES ('k1', 'test', 1) RETURNING id`).Scan(&txID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount_kopecks) VALUES ($1, 1, -100), ($1, 2, 99)`, txID)
		return err
	})
	if got := postgres.ConstraintViolated(err); got != "ledger_postings_balanced" {
		t.Fatalf("unbalanced transaction: got %v, want ledger_postings_balanced", err)
	}
	// A participant balance cannot go negative.
	_, err = pool.Exec(ctx, `UPDATE ledger_accounts SET balance_kopecks = -1 WHERE id = 2`)
	if postgres.ConstraintViolated(err) == "" {
		t.Fatalf("negative participant balance accepted: %v", err)
	}
}
