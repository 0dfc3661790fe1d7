package ledgerdb

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Post writes t through tx and returns its id. If a transaction with t's
// idempotency key exists it writes nothing and returns that transaction's id
// with ledger.ErrAlreadyPosted: the movement is done. It returns
// ledger.ErrInsufficientBalance or ledger.ErrBudgetExhausted when a
// participant account or the program budget would go below zero. On any
// error nothing of t is written and tx remains usable (Post works inside a
// savepoint).
func Post(ctx context.Context, tx pgx.Tx, t ledger.Transaction) (int64, error) {
	if err := t.Validate(); err != nil {
		return 0, err
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger savepoint: %w", err)
	}
	id, err := post(ctx, sp, t)
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return id, errors.Join(err, rerr)
		}
		return id, err
	}
	return id, sp.Commit(ctx)
}

func nullID(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func post(ctx context.Context, tx pgx.Tx, t ledger.Transaction) (int64, error) {
	var occurred any
	if !t.OccurredOn.IsZero() {
		occurred = t.OccurredOn.Format("2006-01-02")
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO ledger_transactions
		(idempotency_key, kind, client_id, program_id, participant_id, receipt_id, memo, occurred_on)
		VALUES ($1, $2, $3, $4, $5, $6::uuid, $7, $8::date)
		ON CONFLICT ON CONSTRAINT ledger_transactions_idempotency_key DO NOTHING
		RETURNING id`,
		t.IdempotencyKey, t.Kind, t.ClientID, nullID(t.ProgramID), nullID(t.ParticipantID),
		nullText(t.ReceiptID), t.Memo, occurred).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := tx.QueryRow(ctx, `SELECT id FROM ledger_transactions WHERE idempotency_key = $1`,
			t.IdempotencyKey).Scan(&id); err != nil {
			return 0, fmt.Errorf("ledger: find posted %s: %w", t.IdempotencyKey, err)
		}
		return id, ledger.ErrAlreadyPosted
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: insert transaction: %w", err)
	}

	// Net the postings per account, then lock the accounts in id order.
	deltas := map[ledger.Account]int64{}
	for _, p := range t.Postings {
		deltas[p.Account] += p.AmountKopecks
	}
	accIDs := make(map[ledger.Account]int64, len(deltas))
	for a := range deltas {
		aid, err := ensureAccount(ctx, tx, a)
		if err != nil {
			return 0, err
		}
		accIDs[a] = aid
	}
	ids := make([]int64, 0, len(accIDs))
	for _, aid := range accIDs {
		ids = append(ids, aid)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	rows, err := tx.Query(ctx, `SELECT id, balance_kopecks FROM ledger_accounts
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return 0, fmt.Errorf("ledger: lock accounts: %w", err)
	}
	balances := map[int64]int64{}
	for rows.Next() {
		var aid, bal int64
		if err := rows.Scan(&aid, &bal); err != nil {
			rows.Close()
			return 0, err
		}
		balances[aid] = bal
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("ledger: lock accounts: %w", err)
	}
	// Budget first: when both a budget and a participant would overdraw,
	// the budget is the reason worth reporting.
	var overdraft error
	for a, d := range deltas {
		if !a.Kind.NonNegative() || balances[accIDs[a]]+d >= 0 {
			continue
		}
		if a.Kind == ledger.ProgramBudget {
			overdraft = ledger.ErrBudgetExhausted
		} else if overdraft == nil {
			overdraft = ledger.ErrInsufficientBalance
		}
	}
	if overdraft != nil {
		return 0, overdraft
	}

	pAcc := make([]int64, len(t.Postings))
	pAmt := make([]int64, len(t.Postings))
	for i, p := range t.Postings {
		pAcc[i], pAmt[i] = accIDs[p.Account], p.AmountKopecks
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount_kopecks)
		SELECT $1, a, m FROM unnest($2::bigint[], $3::bigint[]) AS u(a, m)`, id, pAcc, pAmt); err != nil {
		return 0, fmt.Errorf("ledger: insert postings: %w", err)
	}
	dAcc := make([]int64, 0, len(deltas))
	dAmt := make([]int64, 0, len(deltas))
	for a, d := range deltas {
		if d != 0 {
			dAcc, dAmt = append(dAcc, accIDs[a]), append(dAmt, d)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE ledger_accounts a SET balance_kopecks = a.balance_kopecks + u.d
		FROM unnest($1::bigint[], $2::bigint[]) AS u(id, d) WHERE a.id = u.id`, dAcc, dAmt); err != nil {
		if c := postgres.ConstraintViolated(err); c != "" {
			// Cannot happen under the row locks above; keep the cause.
			return 0, fmt.Errorf("ledger: balance constraint %s: %w", c, ledger.ErrInsufficientBalance)
		}
		return 0, fmt.Errorf("ledger: update balances: %w", err)
	}
	return id, nil
}

// ensureAccount returns the id of account a, creating it if it is new.
func ensureAccount(ctx context.Context, tx pgx.Tx, a ledger.Account) (int64, error) {
	id, err := accountID(ctx, tx, a)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return id, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO ledger_accounts (kind, client_id, program_id, participant_id)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, client_id, program_id, participant_id) DO NOTHING RETURNING id`,
		string(a.Kind), a.ClientID, nullID(a.ProgramID), nullID(a.ParticipantID)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Created concurrently by a transaction that has since committed.
		return accountID(ctx, tx, a)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: create account %s: %w", a, err)
	}
	return id, nil
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func accountID(ctx context.Context, q queryRower, a ledger.Account) (int64, error) {
	var id int64
	where, args := accountWhere(a)
	err := q.QueryRow(ctx, `SELECT id FROM ledger_accounts WHERE `+where, args...).Scan(&id)
	return id, err
}

// accountWhere selects account a by equality on every column it has and
// IS NULL on the others. "x IS NOT DISTINCT FROM $n" would say the same in
// one statement but no index serves it, so every look-up of a participant
// account scanned all of its client's accounts.
func accountWhere(a ledger.Account) (string, []any) {
	where := "kind = $1 AND client_id = $2"
	args := []any{string(a.Kind), a.ClientID}
	for _, c := range []struct {
		col string
		id  int64
	}{{"program_id", a.ProgramID}, {"participant_id", a.ParticipantID}} {
		if c.id == 0 {
			where += " AND " + c.col + " IS NULL"
			continue
		}
		args = append(args, c.id)
		where += fmt.Sprintf(" AND %s = $%d", c.col, len(args))
	}
	return where, args
}

// LockBudget creates the program's budget account if needed, locks it until
// tx ends and returns its balance: what the program can still pay. Holding
// it serializes everything that spends the program's budget (registry
// uploads hold it throughout; points takes it only when Post refused a
// credit for the budget, to evaluate the receipt again against what is left).
func LockBudget(ctx context.Context, tx pgx.Tx, clientID, programID int64) (int64, error) {
	id, err := ensureAccount(ctx, tx, ledger.BudgetAccount(clientID, programID))
	if err != nil {
		return 0, err
	}
	var bal int64
	err = tx.QueryRow(ctx, `SELECT balance_kopecks FROM ledger_accounts WHERE id = $1 FOR UPDATE`, id).Scan(&bal)
	return bal, err
}

// AccountBalance returns the balance of account a (0 if it does not exist).
func AccountBalance(ctx context.Context, q queryRower, a ledger.Account) (int64, error) {
	var bal int64
	where, args := accountWhere(a)
	err := q.QueryRow(ctx, `SELECT balance_kopecks FROM ledger_accounts WHERE `+where, args...).Scan(&bal)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return bal, err
}

// FundProgram moves amount from the client's funding account into the
// program's budget under key (e.g. "budget:<program>:<total>"). Posting the
// same key twice funds once (ErrAlreadyPosted is returned as nil).
func FundProgram(ctx context.Context, tx pgx.Tx, clientID, programID, amount int64, key string) error {
	if amount <= 0 {
		return fmt.Errorf("ledger: funding amount must be positive, got %d", amount)
	}
	_, err := Post(ctx, tx, ledger.Fund(clientID, programID, amount, key))
	if errors.Is(err, ledger.ErrAlreadyPosted) {
		return nil
	}
	return err
}

// SyncBudget funds a program's budget account up to programs.budget_kopecks:
// call it when a program is created or its budget raised. It posts the
// difference between the budget and what funding transactions have put in
// so far, under the key "budget:<program>:<budget>", so it is idempotent. A
// lowered budget is not taken back (points may already be paid); it
// returns the amount funded now.
func SyncBudget(ctx context.Context, tx pgx.Tx, programID int64) (int64, error) {
	var clientID, budget, funded int64
	err := tx.QueryRow(ctx, `SELECT p.client_id, p.budget_kopecks, COALESCE((
		    SELECT SUM(lp.amount_kopecks) FROM ledger_postings lp
		      JOIN ledger_transactions lt ON lt.id = lp.transaction_id
		      JOIN ledger_accounts la ON la.id = lp.account_id
		     WHERE lt.kind = $2 AND la.kind = 'program_budget' AND la.program_id = p.id), 0)
		FROM programs p WHERE p.id = $1`, programID, ledger.KindFunding).Scan(&clientID, &budget, &funded)
	if err != nil {
		return 0, fmt.Errorf("ledger: read program %d budget: %w", programID, err)
	}
	if budget <= funded {
		return 0, nil
	}
	amount := budget - funded
	return amount, FundProgram(ctx, tx, clientID, programID, amount, fmt.Sprintf("budget:%d:%d", programID, budget))
}
