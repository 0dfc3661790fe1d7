package plandb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
)

// entry is one close line's ledger transaction: d kopecks from the program
// budget to the participant's available account (negative d: back).
type entry struct {
	key           string
	participantID int64
	d             int64
	memo          string
	kind          string
}

// postBatch writes entries as ledger transactions in set-based statements,
// the rows ledgerdb.Post would write (a transaction per entry under its
// idempotency key, two postings, cached balances) without a savepoint and
// account look-ups per entry — the technique of registrydb's postBatch
// (docs/registries.md), which a 10 000-participant close needs too. The
// caller holds the program budget lock (ledgerdb.LockBudget) and has
// checked the budget; the balance CHECK constraints and the deferred
// balanced-postings trigger still guard the result. It returns the keys
// that were already posted (nothing is written for them).
func postBatch(ctx context.Context, tx pgx.Tx, clientID, programID int64, occurred time.Time, es []entry) (map[string]bool, error) {
	if len(es) == 0 {
		return nil, nil
	}
	kind := ledger.ParticipantAvailable
	pids := make([]int64, len(es))
	for i, e := range es {
		pids[i] = e.participantID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_accounts (kind, client_id, program_id, participant_id)
		SELECT $1, $2, $3, pid FROM unnest($4::bigint[]) AS pid
		ON CONFLICT (kind, client_id, program_id, participant_id) DO NOTHING`,
		string(kind), clientID, programID, pids); err != nil {
		return nil, fmt.Errorf("plandb: ensure accounts: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, participant_id FROM ledger_accounts
		WHERE kind = $1 AND client_id = $2 AND program_id = $3 AND participant_id = ANY($4)
		ORDER BY id FOR UPDATE`, string(kind), clientID, programID, pids)
	if err != nil {
		return nil, fmt.Errorf("plandb: lock accounts: %w", err)
	}
	acc := make(map[int64]int64, len(es))
	var aid, pid int64
	if _, err := pgx.ForEachRow(rows, []any{&aid, &pid}, func() error { acc[pid] = aid; return nil }); err != nil {
		return nil, fmt.Errorf("plandb: lock accounts: %w", err)
	}
	var budgetID int64
	if err := tx.QueryRow(ctx, `SELECT id FROM ledger_accounts WHERE kind = 'program_budget' AND client_id = $1 AND program_id = $2
		AND participant_id IS NULL`, clientID, programID).Scan(&budgetID); err != nil {
		return nil, fmt.Errorf("plandb: budget account: %w", err)
	}
	keys, kinds, memos := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	for i, e := range es {
		keys[i], kinds[i], memos[i] = e.key, e.kind, e.memo
	}
	rows, err = tx.Query(ctx, `INSERT INTO ledger_transactions
		(idempotency_key, kind, client_id, program_id, participant_id, memo, occurred_on)
		SELECT k, kd, $1, $2, pid, m, $3::date FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) AS u(k, kd, pid, m)
		ON CONFLICT ON CONSTRAINT ledger_transactions_idempotency_key DO NOTHING
		RETURNING id, idempotency_key`,
		clientID, programID, occurred.Format("2006-01-02"), keys, kinds, pids, memos)
	if err != nil {
		return nil, fmt.Errorf("plandb: insert transactions: %w", err)
	}
	txID := make(map[string]int64, len(es))
	var id int64
	var key string
	if _, err := pgx.ForEachRow(rows, []any{&id, &key}, func() error { txID[key] = id; return nil }); err != nil {
		return nil, fmt.Errorf("plandb: insert transactions: %w", err)
	}
	var (
		pTx, pAcc, pAmt []int64
		uAcc, uAmt      []int64
		budgetDelta     int64
		already         map[string]bool
	)
	for _, e := range es {
		id, ok := txID[e.key]
		if !ok {
			if already == nil {
				already = map[string]bool{}
			}
			already[e.key] = true
			continue
		}
		a := acc[e.participantID]
		pTx = append(pTx, id, id)
		pAcc = append(pAcc, budgetID, a)
		pAmt = append(pAmt, -e.d, e.d)
		uAcc, uAmt = append(uAcc, a), append(uAmt, e.d)
		budgetDelta -= e.d
	}
	if len(pTx) == 0 {
		return already, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount_kopecks)
		SELECT t, a, m FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(t, a, m)`, pTx, pAcc, pAmt); err != nil {
		return nil, fmt.Errorf("plandb: insert postings: %w", err)
	}
	uAcc, uAmt = append(uAcc, budgetID), append(uAmt, budgetDelta)
	if _, err := tx.Exec(ctx, `UPDATE ledger_accounts a SET balance_kopecks = a.balance_kopecks + u.d
		FROM (SELECT id, sum(d) AS d FROM unnest($1::bigint[], $2::bigint[]) AS x(id, d) GROUP BY id) u
		WHERE a.id = u.id`, uAcc, uAmt); err != nil {
		return nil, fmt.Errorf("plandb: update balances: %w", err)
	}
	return already, nil
}
