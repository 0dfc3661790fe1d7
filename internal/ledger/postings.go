package ledger

import (
	"context"
	"time"
)

// Postings is the ledger as the other units of work post to it: points
// crediting or reversing a receipt, a points registry paying its lines, an
// approved task report paying its reward. Every method runs in the
// database transaction ctx carries — the caller's unit of work began it
// (postgres.InTx, postgres.ContextWithTx) — so the postings commit or roll
// back together with everything else the caller writes; a ctx without a
// transaction is an error, never a transaction of its own. The stores and
// services that post take it as a dependency instead of importing the
// ledger's store; *ledgerdb.Postings implements it.
type Postings interface {
	// Post posts t and returns its id. If t's idempotency key was posted
	// before it writes nothing and returns that transaction's id with
	// ErrAlreadyPosted: the movement is done. It returns
	// ErrInsufficientBalance or ErrBudgetExhausted when a participant
	// account or the program budget would go below zero. On any error
	// nothing of t is written and the transaction remains usable.
	Post(ctx context.Context, t Transaction) (int64, error)
	// PostBatch posts b's transfers, one ledger transaction each under its
	// key, in set-based statements (a registry of 100 000 lines is one
	// call per batch, not 100 000 Posts). The caller holds the program
	// budget lock (LockBudget) and has checked the budget and every debit;
	// the database's balance constraints still guard the result. It
	// returns the keys that were posted before (nothing is written for
	// them).
	PostBatch(ctx context.Context, b Batch) (already map[string]bool, err error)
	// LockBudget creates the program's budget account if needed, locks it
	// until the transaction ends and returns its balance: what the program
	// can still pay. Holding it serializes everything that spends the
	// program's budget.
	LockBudget(ctx context.Context, clientID, programID int64) (int64, error)
	// Balance returns the balance of account a (0 if it does not exist).
	Balance(ctx context.Context, a Account) (int64, error)
}

// Batch is a set of transfers between one program's budget and its
// participants' accounts of one kind, posted by PostBatch.
type Batch struct {
	ClientID, ProgramID int64
	// Accounts is the kind of the participant accounts
	// (ParticipantAvailable, or ParticipantPending when the program
	// credits at period close).
	Accounts   AccountKind
	OccurredOn time.Time
	Transfers  []Transfer
}

// Transfer is one transaction of a Batch: AmountKopecks from the program
// budget to the participant (negative: from the participant back to the
// budget).
type Transfer struct {
	Key           string // idempotency key
	Kind          string // transaction kind (KindRegistryCredit, ...)
	Memo          string
	ParticipantID int64
	AmountKopecks int64
}
