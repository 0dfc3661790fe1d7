package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// A unit of work that spans stores (a receipt saved together with the
// points and ledger postings it earned) is one transaction that several
// stores join. The transaction travels in the context, so the domain
// packages between the stores (verify, points) never see a driver type:
// the store that begins it puts it in the context it hands on
// (ContextWithTx), and every store that runs in it joins it (InTx).

type txKey struct{}

// ContextWithTx returns ctx carrying tx, for the stores called with it to
// join tx rather than begin their own.
func ContextWithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFromContext returns the transaction ctx carries, if any.
func TxFromContext(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok && tx != nil
}

// InTx runs fn in the transaction ctx carries, leaving its commit (and its
// retries) to whoever began it; without one it runs fn in a new
// transaction with WithTx's retries. fn gets a context carrying the
// transaction, so stores it calls join it too.
func InTx(ctx context.Context, db TxBeginner, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if tx, ok := TxFromContext(ctx); ok {
		return fn(ctx, tx)
	}
	return WithTx(ctx, db, func(tx pgx.Tx) error { return fn(ContextWithTx(ctx, tx), tx) })
}
