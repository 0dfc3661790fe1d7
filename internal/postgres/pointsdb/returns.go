package pointsdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
)

const saleColumns = `r.id, r.points_kopecks, r.sum_kopecks, r.purchased_at, r.program_id`

// reversedOf sums the points the return reversals of sale r (a receipts
// alias) took back; $1 is the participant, $2 the reversal kind.
const reversedOf = `(SELECT COALESCE(SUM(p.amount_kopecks), 0) FROM ledger_transactions t
	JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
	WHERE t.participant_id = $1 AND t.kind = $2 AND t.idempotency_key LIKE 'reversal:' || r.id::text || ':return:%')`

// ReturnCandidates implements points.Tx.
func (t Tx) ReturnCandidates(ctx context.Context, participantID int64, kkt, inn string, returned time.Time, window time.Duration) ([]points.Sale, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+saleColumns+`
		FROM receipts r
		WHERE r.participant_id = $1 AND r.operation = 1 AND r.status = 'credited' AND r.program_id IS NOT NULL
		  AND (($3 <> '' AND r.kkt_reg_number = $3) OR ($3 = '' AND $4 <> '' AND r.seller_inn = $4))
		  AND r.purchased_at <= $5 AND r.purchased_at >= $5::timestamp - $6::interval
		  AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.idempotency_key = 'reversal:' || r.id::text)
		  AND r.points_kopecks > `+reversedOf+`
		ORDER BY r.purchased_at DESC, r.id LIMIT 20`, participantID, ledger.KindReversal, kkt, inn, returned, window)
	if err != nil {
		return nil, err
	}
	sales, err := pgx.CollectRows(rows, scanSale)
	if err != nil {
		return nil, err
	}
	for i := range sales {
		if sales[i].Items, err = t.lines(ctx, sales[i].ID); err != nil {
			return nil, err
		}
	}
	return sales, nil
}

func scanSale(row pgx.CollectableRow) (points.Sale, error) {
	var s points.Sale
	err := row.Scan(&s.ID, &s.Points, &s.SumKopecks, &s.PurchasedAt, &s.ProgramID)
	return s, err
}

// Sale implements points.Tx.
func (t Tx) Sale(ctx context.Context, id string) (points.Sale, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+saleColumns+` FROM receipts r WHERE r.id = $1`, id)
	if err != nil {
		return points.Sale{}, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanSale)
	if err != nil {
		return points.Sale{}, fmt.Errorf("sale %s: %w", id, err)
	}
	s.Items, err = t.lines(ctx, id)
	return s, err
}

// LockSale implements points.Tx.
func (t Tx) LockSale(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `SELECT 1 FROM receipts WHERE id = $1 FOR UPDATE`, id)
	return err
}

// lines reads a receipt's lines in line order.
func (t Tx) lines(ctx context.Context, receiptID string) ([]points.SaleItem, error) {
	rows, err := t.tx.Query(ctx, `SELECT sku_id, COALESCE(gtin, ''), name, quantity_milli, points_kopecks
		FROM receipt_items WHERE receipt_id = $1 ORDER BY line_no`, receiptID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (points.SaleItem, error) {
		var it points.SaleItem
		err := row.Scan(&it.SKUID, &it.GTIN, &it.Name, &it.QuantityMilli, &it.Points)
		return it, err
	})
}

// Returns implements points.Tx.
func (t Tx) Returns(ctx context.Context, participantID int64, saleID string, beforeTx int64) ([]points.Return, error) {
	// One row per return receipt: a return of a sale credited in several
	// programs posts one reversal per program.
	rows, err := t.tx.Query(ctx, `SELECT t.receipt_id::text, SUM(p.amount_kopecks)::bigint, min(ret.sum_kopecks)
		FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
		JOIN receipts ret ON ret.id = t.receipt_id
		WHERE t.participant_id = $1 AND t.kind = $2 AND t.idempotency_key LIKE 'reversal:' || $3::text || ':return:%'
		  AND ($4::bigint = 0 OR t.id < $4::bigint)
		GROUP BY t.receipt_id ORDER BY min(t.id)`, participantID, ledger.KindReversal, saleID, beforeTx)
	if err != nil {
		return nil, err
	}
	prev, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (points.Return, error) {
		var e points.Return
		err := row.Scan(&e.ReceiptID, &e.Amount, &e.SumKopecks)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	for i := range prev {
		if prev[i].Lines, err = t.lines(ctx, prev[i].ReceiptID); err != nil {
			return nil, err
		}
	}
	return prev, nil
}

// PriorReversal implements points.Tx.
func (t Tx) PriorReversal(ctx context.Context, participantID int64, returnID string) (points.Reversal, bool, error) {
	var r points.Reversal
	// The first reversal's id and key, and the amount of all of them (one
	// per program of a sale credited in several).
	err := t.tx.QueryRow(ctx, `SELECT t.id, t.idempotency_key,
			(SELECT SUM(p.amount_kopecks)::bigint FROM ledger_transactions t2
			   JOIN ledger_postings p ON p.transaction_id = t2.id AND p.amount_kopecks > 0
			  WHERE t2.participant_id = $1 AND t2.receipt_id = $2 AND t2.kind = $3)
		FROM ledger_transactions t
		WHERE t.participant_id = $1 AND t.receipt_id = $2 AND t.kind = $3
		ORDER BY t.id LIMIT 1`, participantID, returnID, ledger.KindReversal).Scan(&r.TxID, &r.Key, &r.Amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// CreditedTo implements points.Tx.
func (t Tx) CreditedTo(ctx context.Context, saleID string) (ledger.AccountKind, error) {
	var kind string
	err := t.tx.QueryRow(ctx, `SELECT a.kind FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
		WHERE t.receipt_id = $1 AND t.kind = 'receipt_credit'
		  AND a.kind IN ('participant_available', 'participant_pending')
		ORDER BY t.id DESC LIMIT 1`, saleID).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return ledger.AccountKind(kind), err
}

// SalePrograms implements points.Tx.
func (t Tx) SalePrograms(ctx context.Context, saleID string) ([]points.SaleProgram, error) {
	rows, err := t.tx.Query(ctx, `SELECT x.program_id, x.points_kopecks, x.pending, p.client_id
		FROM receipt_program_results x JOIN programs p ON p.id = x.program_id
		WHERE x.receipt_id = $1 AND x.status = 'credited' AND x.points_kopecks > 0 ORDER BY x.program_id`, saleID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (points.SaleProgram, error) {
		var sp points.SaleProgram
		err := row.Scan(&sp.ProgramID, &sp.Points, &sp.Pending, &sp.ClientID)
		return sp, err
	})
}
