package ledger

import (
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// AccountKind is the kind of a ledger account.
type AccountKind string

// Account kinds (ledger_accounts.kind).
const (
	Funding              AccountKind = "funding"               // per client; goes negative
	ProgramBudget        AccountKind = "program_budget"        // per program; never negative
	ParticipantPending   AccountKind = "participant_pending"   // per participant and program
	ParticipantAvailable AccountKind = "participant_available" // per participant and program
	ParticipantHold      AccountKind = "participant_hold"      // per participant and program: ordered, not yet delivered
	Redemption           AccountKind = "redemption"            // per client: spent on prizes
	Tax                  AccountKind = "tax"                   // per client: withheld tax
)

// NonNegative reports whether balances of kind k may never go below zero.
func (k AccountKind) NonNegative() bool {
	return k == ProgramBudget || k == ParticipantPending || k == ParticipantAvailable || k == ParticipantHold
}

// Account names one ledger account. ProgramID and ParticipantID are 0 when
// the kind has none (a funding account has neither).
type Account struct {
	Kind          AccountKind
	ClientID      int64
	ProgramID     int64
	ParticipantID int64
}

func (a Account) String() string {
	return fmt.Sprintf("%s(client=%d program=%d participant=%d)", a.Kind, a.ClientID, a.ProgramID, a.ParticipantID)
}

// FundingAccount is the client's funding account.
func FundingAccount(clientID int64) Account { return Account{Kind: Funding, ClientID: clientID} }

// BudgetAccount is a program's budget account.
func BudgetAccount(clientID, programID int64) Account {
	return Account{Kind: ProgramBudget, ClientID: clientID, ProgramID: programID}
}

// AvailableAccount is a participant's available account in a program.
func AvailableAccount(clientID, programID, participantID int64) Account {
	return Account{Kind: ParticipantAvailable, ClientID: clientID, ProgramID: programID, ParticipantID: participantID}
}

// PendingAccount is a participant's pending account in a program.
func PendingAccount(clientID, programID, participantID int64) Account {
	return Account{Kind: ParticipantPending, ClientID: clientID, ProgramID: programID, ParticipantID: participantID}
}

// HoldAccount is a participant's hold account in a program: points of
// redemption orders not yet delivered or failed.
func HoldAccount(clientID, programID, participantID int64) Account {
	return Account{Kind: ParticipantHold, ClientID: clientID, ProgramID: programID, ParticipantID: participantID}
}

// RedemptionAccount is the client's redemption account: points spent on
// delivered prizes.
func RedemptionAccount(clientID int64) Account { return Account{Kind: Redemption, ClientID: clientID} }

// Posting moves AmountKopecks into Account (negative: out of it).
type Posting struct {
	Account       Account
	AmountKopecks int64
}

// Transaction kinds.
const (
	KindFunding        = "program_funding"   // funding → program budget
	KindReceiptCredit  = "receipt_credit"    // budget → participant, for a receipt
	KindReversal       = "receipt_reversal"  // participant → budget, a returned sale
	KindRelease        = "pending_release"   // pending → available at period close
	KindTaskReward     = "task_reward"       // budget → participant, for an approved task report
	KindRegistryCredit = "registry_credit"   // budget → participant, a points registry line
	KindRegistryDebit  = "registry_debit"    // participant → budget, a corrected registry
	KindManualCredit   = "manual_credit"     // budget → participant, by staff with a reason and document
	KindManualDebit    = "manual_debit"      // participant → budget, by staff with a reason and document
	KindRedemptionHold = "redemption_hold"   // available → hold, a prize ordered
	KindRedemption     = "redemption"        // hold → redemption, the prize delivered
	KindRedemptionVoid = "redemption_void"   // hold → available, the order failed
	KindRedemptionBack = "redemption_refund" // redemption → available, a delivered prize refunded
)

// Transaction is one balanced movement of points.
type Transaction struct {
	// IdempotencyKey makes posting the same movement twice a no-op, e.g.
	// "receipt:<id>:v<rule version>".
	IdempotencyKey string
	Kind           string
	ClientID       int64
	ProgramID      int64  // 0: none
	ParticipantID  int64  // 0: none
	ReceiptID      string // "": none
	Memo           string
	// OccurredOn is the business date (purchase date); zero: none.
	OccurredOn time.Time
	Postings   []Posting
}

// Errors of posting.
var (
	// ErrAlreadyPosted: a transaction with this idempotency key exists; the
	// movement is done and the caller treats it as success.
	ErrAlreadyPosted = apperr.New(apperr.Conflict, "ledger_already_posted", "Операция уже проведена.")
	// ErrInsufficientBalance: a participant account would go below zero.
	ErrInsufficientBalance = apperr.New(apperr.Conflict, "insufficient_balance", "Недостаточно баллов на счёте.")
	// ErrBudgetExhausted: the program budget would go below zero.
	ErrBudgetExhausted = apperr.New(apperr.Conflict, "budget_exhausted", "Бюджет программы исчерпан.")
	// ErrUnbalanced: the postings do not sum to zero (a bug in the caller).
	ErrUnbalanced = apperr.New(apperr.Internal, "ledger_unbalanced", "Проводка не сбалансирована.")
)

// Validate checks that t can be posted: a key, a kind, at least two
// postings, no zero amounts, every account of t's client, and a zero sum.
func (t Transaction) Validate() error {
	if t.IdempotencyKey == "" || t.Kind == "" || t.ClientID <= 0 {
		return fmt.Errorf("ledger: transaction needs an idempotency key, a kind and a client")
	}
	if len(t.Postings) < 2 {
		return fmt.Errorf("ledger: transaction %s has %d postings, want at least 2", t.IdempotencyKey, len(t.Postings))
	}
	var sum int64
	for _, p := range t.Postings {
		if p.AmountKopecks == 0 {
			return fmt.Errorf("ledger: transaction %s has a zero posting", t.IdempotencyKey)
		}
		if p.Account.ClientID != t.ClientID {
			return fmt.Errorf("ledger: transaction %s posts to another client's account", t.IdempotencyKey)
		}
		if p.Account.Kind.NonNegative() && p.Account.Kind != ProgramBudget && p.Account.ParticipantID == 0 {
			return fmt.Errorf("ledger: %s needs a participant", p.Account.Kind)
		}
		if p.Account.Kind == ProgramBudget && p.Account.ProgramID == 0 {
			return fmt.Errorf("ledger: program budget needs a program")
		}
		sum += p.AmountKopecks
	}
	if sum != 0 {
		return fmt.Errorf("%w: %s sums to %d", ErrUnbalanced, t.IdempotencyKey, sum)
	}
	return nil
}

// Fund moves amount from the client's funding account into a program's
// budget.
func Fund(clientID, programID, amount int64, key string) Transaction {
	return Transaction{
		IdempotencyKey: key, Kind: KindFunding, ClientID: clientID, ProgramID: programID,
		Memo: "Пополнение бюджета программы",
		Postings: []Posting{
			{Account: FundingAccount(clientID), AmountKopecks: -amount},
			{Account: BudgetAccount(clientID, programID), AmountKopecks: amount},
		},
	}
}

// ReceiptKey is the idempotency key of a receipt's credit under a rule
// version: one receipt is credited once per version it was evaluated with,
// and Process evaluates it once.
func ReceiptKey(receiptID string, ruleVersion int) string {
	return fmt.Sprintf("receipt:%s:v%d", receiptID, ruleVersion)
}

// ReversalKey is the prefix of the idempotency keys of a credited sale's
// reversals: package points appends ":return:<return receipt id>", so each
// return receipt reverses once and a sale may be returned in several.
func ReversalKey(saleReceiptID string) string { return "reversal:" + saleReceiptID }

// Credit moves amount from a program's budget to a participant, into the
// pending account when pending is true.
func Credit(clientID, programID, participantID, amount int64, pending bool) []Posting {
	to := AvailableAccount(clientID, programID, participantID)
	if pending {
		to = PendingAccount(clientID, programID, participantID)
	}
	return []Posting{
		{Account: BudgetAccount(clientID, programID), AmountKopecks: -amount},
		{Account: to, AmountKopecks: amount},
	}
}

// Entry is one line of a participant's history: one transaction's effect on
// the participant's accounts.
type Entry struct {
	TransactionID    int64
	At               time.Time
	Kind             string
	ProgramID        int64
	ReceiptID        string
	AvailableKopecks int64 // change of the available balance
	PendingKopecks   int64 // change of the pending balance
	Memo             string
	// Reason explains the line to the participant, in Russian.
	Reason string
}

// reasons are the participant-facing explanations of transaction kinds.
var reasons = map[string]string{
	KindReceiptCredit:  "Начисление за чек",
	KindReversal:       "Списание: возврат товара по чеку",
	KindRelease:        "Баллы за закрытый период стали доступны",
	KindFunding:        "Пополнение бюджета программы",
	KindTaskReward:     "Начисление за задание",
	KindRegistryCredit: "Начисление по реестру",
	KindRegistryDebit:  "Корректировка реестра: списание",
	KindManualCredit:   "Начисление организатором",
	KindManualDebit:    "Списание организатором",
	KindRedemptionHold: "Заказ приза: баллы зарезервированы",
	KindRedemption:     "Приз выдан",
	KindRedemptionVoid: "Заказ приза не выполнен: баллы возвращены",
	KindRedemptionBack: "Возврат баллов за приз",
	// Plan bonuses (internal/plan.KindBonus, KindBonusDebit; issue 20).
	"plan_bonus":       "Бонус за выполнение плана",
	"plan_bonus_debit": "Пересчёт бонуса за план: списание",
}

// Reason returns the Russian explanation of a transaction kind, with memo
// appended when there is one.
func Reason(kind, memo string) string {
	r, ok := reasons[kind]
	if !ok {
		r = "Операция по счёту"
	}
	if memo != "" && memo != r {
		r += ": " + memo
	}
	return r
}

// Balance is a participant's points.
type Balance struct {
	AvailableKopecks int64
	PendingKopecks   int64
	// HeldKopecks are points of prize orders not yet delivered or failed.
	HeldKopecks int64
}

// HistoryPage is one page of a participant's ledger history.
type HistoryPage struct {
	Entries []Entry
	// NextCursor fetches the next (older) page; empty on the last.
	NextCursor string
}
