package ledgerdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Postings implements ledger.Postings in the transaction the context
// carries (postgres.ContextWithTx): the points service, the registry store
// and the task store post through it inside their own units of work
// without importing this package. The zero value is ready to use.
type Postings struct{}

var _ ledger.Postings = Postings{}

// errNoTx: a Postings method was called outside a unit of work.
var errNoTx = errors.New("ledgerdb: no transaction in the context: ledger postings join the caller's transaction (postgres.InTx)")

func txOf(ctx context.Context) (pgx.Tx, error) {
	tx, ok := postgres.TxFromContext(ctx)
	if !ok {
		return nil, errNoTx
	}
	return tx, nil
}

// Post implements ledger.Postings (Post).
func (Postings) Post(ctx context.Context, t ledger.Transaction) (int64, error) {
	tx, err := txOf(ctx)
	if err != nil {
		return 0, err
	}
	return Post(ctx, tx, t)
}

// PostBatch implements ledger.Postings (postBatch).
func (Postings) PostBatch(ctx context.Context, b ledger.Batch) (map[string]bool, error) {
	tx, err := txOf(ctx)
	if err != nil {
		return nil, err
	}
	return postBatch(ctx, tx, b)
}

// LockBudget implements ledger.Postings (LockBudget).
func (Postings) LockBudget(ctx context.Context, clientID, programID int64) (int64, error) {
	tx, err := txOf(ctx)
	if err != nil {
		return 0, err
	}
	return LockBudget(ctx, tx, clientID, programID)
}

// Balance implements ledger.Postings (AccountBalance).
func (Postings) Balance(ctx context.Context, a ledger.Account) (int64, error) {
	tx, err := txOf(ctx)
	if err != nil {
		return 0, err
	}
	return AccountBalance(ctx, tx, a)
}

// postBatch writes b's transfers as ledger transactions in set-based
// statements: the rows Post would write (a transaction per transfer under
// its idempotency key, two postings, cached balances), without a savepoint
// and an account look-up per transfer, which made 100 000 Posts in one
// transaction take hours (see docs/registries.md). The caller holds the
// program budget lock (LockBudget) and has checked the budget and every
// debit; the CHECK constraints on balances and the deferred balance
// trigger still guard the result. It returns the keys that were already
// posted (nothing is written for them).
func postBatch(ctx context.Context, tx pgx.Tx, b ledger.Batch) (map[string]bool, error) {
	es := b.Transfers
	if len(es) == 0 {
		return nil, nil
	}
	clientID, programID, kind := b.ClientID, b.ProgramID, b.Accounts
	pids := make([]int64, len(es))
	for i, e := range es {
		pids[i] = e.ParticipantID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_accounts (kind, client_id, program_id, participant_id)
		SELECT $1, $2, $3, pid FROM unnest($4::bigint[]) AS pid
		ON CONFLICT (kind, client_id, program_id, participant_id) DO NOTHING`,
		string(kind), clientID, programID, pids); err != nil {
		return nil, fmt.Errorf("ledgerdb: ensure accounts: %w", err)
	}
	// Lock the participants' accounts in id order (as Post does).
	rows, err := tx.Query(ctx, `SELECT id, participant_id FROM ledger_accounts
		WHERE kind = $1 AND client_id = $2 AND program_id = $3 AND participant_id = ANY($4)
		ORDER BY id FOR UPDATE`, string(kind), clientID, programID, pids)
	if err != nil {
		return nil, fmt.Errorf("ledgerdb: lock accounts: %w", err)
	}
	acc := make(map[int64]int64, len(es))
	var aid, pid int64
	if _, err := pgx.ForEachRow(rows, []any{&aid, &pid}, func() error { acc[pid] = aid; return nil }); err != nil {
		return nil, fmt.Errorf("ledgerdb: lock accounts: %w", err)
	}
	budget := ledger.BudgetAccount(clientID, programID)
	budgetID, err := accountID(ctx, tx, budget)
	if err != nil {
		return nil, fmt.Errorf("ledgerdb: %s account: %w", budget, err)
	}
	keys, kinds, memos := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	for i, e := range es {
		keys[i], kinds[i], memos[i] = e.Key, e.Kind, e.Memo
	}
	rows, err = tx.Query(ctx, `INSERT INTO ledger_transactions
		(idempotency_key, kind, client_id, program_id, participant_id, memo, occurred_on)
		SELECT k, kd, $1, $2, pid, m, $3::date FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) AS u(k, kd, pid, m)
		ON CONFLICT ON CONSTRAINT ledger_transactions_idempotency_key DO NOTHING
		RETURNING id, idempotency_key`,
		clientID, programID, b.OccurredOn.Format("2006-01-02"), keys, kinds, pids, memos)
	if err != nil {
		return nil, fmt.Errorf("ledgerdb: insert transactions: %w", err)
	}
	txID := make(map[string]int64, len(es))
	var id int64
	var key string
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error { txID[key] = id; return nil }); err != nil {
		return nil, fmt.Errorf("ledgerdb: insert transactions: %w", err)
	}
	var (
		pTx, pAcc, pAmt []int64
		uAcc, uAmt      []int64
		budgetDelta     int64
		already         map[string]bool
	)
	for _, e := range es {
		id, ok := txID[e.Key]
		if !ok {
			if already == nil {
				already = map[string]bool{}
			}
			already[e.Key] = true
			continue
		}
		a := acc[e.ParticipantID]
		pTx = append(pTx, id, id)
		pAcc = append(pAcc, budgetID, a)
		pAmt = append(pAmt, -e.AmountKopecks, e.AmountKopecks)
		uAcc, uAmt = append(uAcc, a), append(uAmt, e.AmountKopecks)
		budgetDelta -= e.AmountKopecks
	}
	if len(pTx) == 0 {
		return already, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount_kopecks)
		SELECT t, a, m FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(t, a, m)`, pTx, pAcc, pAmt); err != nil {
		return nil, fmt.Errorf("ledgerdb: insert postings: %w", err)
	}
	uAcc, uAmt = append(uAcc, budgetID), append(uAmt, budgetDelta)
	if _, err := tx.Exec(ctx, `UPDATE ledger_accounts a SET balance_kopecks = a.balance_kopecks + u.d
		FROM (SELECT id, sum(d) AS d FROM unnest($1::bigint[], $2::bigint[]) AS x(id, d) GROUP BY id) u
		WHERE a.id = u.id`, uAcc, uAmt); err != nil {
		return nil, fmt.Errorf("ledgerdb: update balances: %w", err)
	}
	return already, nil
}
