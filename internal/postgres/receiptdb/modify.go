package receiptdb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Modify is Update for callers that see no driver (verify): fn changes the
// locked receipt, and whatever it writes through stores that join the
// transaction ctx carries (postgres.InTx: the points service's store)
// commits with the receipt or not at all. It returns receipt.ErrNotFound
// for an unknown id and receipt.ErrDuplicate when the receipt would claim a
// fiscal identity another receipt holds.
func (s *Store) Modify(ctx context.Context, id string, fn func(ctx context.Context, r *receipt.Receipt) error) error {
	return s.Update(ctx, id, func(ctx context.Context, _ pgx.Tx, r *receipt.Receipt) error { return fn(ctx, r) })
}

// Holder returns the id of the receipt holding the fiscal identity (fn, fd,
// fp), "" if none does. Within Modify it reads in the receipt's
// transaction.
func (s *Store) Holder(ctx context.Context, fn string, fd, fp int64) (string, error) {
	var q querier = s.db
	if tx, ok := postgres.TxFromContext(ctx); ok {
		q = tx
	}
	var id string
	err := q.QueryRow(ctx, `SELECT id::text FROM receipts WHERE fn = $1 AND fd = $2 AND fp = $3 AND NOT identity_released`,
		fn, fd, fp).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}
