package points

import (
	"context"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Store gives the service its unit of work; *pointsdb.Store implements it.
type Store interface {
	// InTx runs fn with the reads and writes of one database transaction:
	// the one ctx carries when the caller began it (the transaction that
	// saves the receipt: verification or a moderator's approval), so the
	// receipt's new status and its ledger postings commit together; else a
	// new one, committed when fn returns nil. An error of fn rolls back
	// everything written through tx.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is what one evaluation of a receipt reads and writes of its own, all
// inside one transaction (Store.InTx). The catalog (Catalogs) and the
// ledger (ledger.Postings) are ports of their own, called with the context
// fn gets, so they join the same transaction. Methods return the driver's
// errors as they come, except where said.
type Tx interface {
	// Participant returns the participant and the id of their shop (0:
	// none).
	Participant(ctx context.Context, id int64) (p rules.Participant, shopID int64, err error)
	// Shop returns the shop as the seller check sees it.
	Shop(ctx context.Context, id int64) (*rules.Shop, error)
	// Program returns the receipt's program: the one programID names (if
	// it is the client's), else the client's program running on the
	// purchase date (live before test, oldest first), else the client's
	// latest program so the receipt can be told why it earns nothing. ok
	// is false when there is no such program.
	Program(ctx context.Context, clientID int64, programID *int64, purchased time.Time) (p Program, ok bool, err error)
	// ReceiptPrograms lists, oldest first, the client's programs that take
	// receipts (mechanic "receipts") and run on the purchase date: live
	// ones, and those in test too when tester. Eligibility is not applied.
	ReceiptPrograms(ctx context.Context, clientID int64, purchased time.Time, tester bool) ([]Program, error)
	// SaveResults stores what evaluating the sale r against each program
	// gave (one row per receipt and program, replacing an earlier one):
	// the caps of a program count its credited rows.
	SaveResults(ctx context.Context, r *receipt.Receipt, results []ProgramResult) error
	// Rules returns the version and stored body of the program's rules in
	// force on day, or, with first, of the version that took effect first
	// (for a day before any took effect). ok is false when there is none.
	Rules(ctx context.Context, programID int64, day time.Time, first bool) (version int, body []byte, ok bool, err error)
	// LockCaps takes, until the transaction ends, the locks under which
	// the cap windows of a credit to participantID (and, if shopCap, of
	// its shop) in programID are read and spent. They are taken in one
	// order (participant, then shop) before any ledger row lock, so they
	// cannot deadlock with each other or with Post.
	LockCaps(ctx context.Context, programID, participantID, shopID int64, shopCap bool) error
	// Earned returns the points already credited in the cap windows of
	// day (the shop's day only when shopID is not 0).
	Earned(ctx context.Context, programID, participantID, shopID int64, day time.Time) (rules.Earned, error)
	// Activity counts what the anomaly check looks at, relative to the
	// receipt's upload time: the participant's uploads in the hour and the
	// day before, their receipts of the KKT kkt on the purchase day and
	// (shopID not 0) the shop's median receipts per participant and day.
	Activity(ctx context.Context, participantID, shopID int64, kkt string, uploaded, day time.Time) (rules.Activity, error)
	// ReturnCandidates lists, newest first, the participant's credited
	// sales, with their lines, from the same seller (KKT kkt, else INN
	// inn) purchased within window before returned that still have points
	// to take back. A sale reversed under the old one-per-sale key
	// (ledger.ReversalKey) counts as fully reversed.
	ReturnCandidates(ctx context.Context, participantID int64, kkt, inn string, returned time.Time, window time.Duration) ([]Sale, error)
	// Sale returns one sale receipt with its lines.
	Sale(ctx context.Context, id string) (Sale, error)
	// LockSale locks the sale's row until the transaction ends, so returns
	// of one sale are decided one after another.
	LockSale(ctx context.Context, id string) error
	// Returns lists the reversals that earlier return receipts of sale
	// saleID posted for the participant (only those before ledger
	// transaction beforeTx when it is not 0), in posting order, each with
	// the return's sum and lines.
	Returns(ctx context.Context, participantID int64, saleID string, beforeTx int64) ([]Return, error)
	// PriorReversal returns the first reversal the return receipt returnID
	// posted, if it did (ok).
	PriorReversal(ctx context.Context, participantID int64, returnID string) (r Reversal, ok bool, err error)
	// SalePrograms lists the programs that credited the sale (from
	// SaveResults), with their points; more than one when several live
	// programs credited it.
	SalePrograms(ctx context.Context, saleID string) ([]SaleProgram, error)
	// CreditedTo returns the kind of the participant account the sale's
	// credit went to ("" if none).
	CreditedTo(ctx context.Context, saleID string) (ledger.AccountKind, error)
}

// Catalogs reads clients' active catalogs for the matcher, in the
// transaction ctx carries (the one Store.InTx runs fn in);
// *catalogdb.Store implements it.
type Catalogs interface {
	// Version returns the version of the client's catalog, which moves
	// with every change of its SKUs (0: no catalog yet).
	Version(ctx context.Context, clientID int64) (int64, error)
	// Active returns the client's active catalog.
	Active(ctx context.Context, clientID int64) (catalog.Active, error)
}

// ConsentChecker answers which consents a participant lacks that a
// program requires before crediting (the tax domain's consents,
// docs/tax.md; *taxdb.Store implements it), in the transaction ctx
// carries. A sale of a participant lacking any is not credited in that
// program: it waits in needs_review with ReasonConsentRequired.
type ConsentChecker interface {
	LackingForCrediting(ctx context.Context, clientID, programID, participantID int64) ([]string, error)
}

// Program is a program with what Process needs.
type Program struct {
	rules.Program
	ClientID    int64
	Name        string
	Crediting   string
	Eligibility program.Eligibility
	// AtZero is what happens when the budget cannot pay a receipt:
	// AtZeroPause (credit what is left, nothing at zero) or AtZeroReview
	// (the receipt waits for a moderator). "" is AtZeroPause.
	AtZero string
}

// ProgramResult is what one program gave a sale: its status (credited,
// no_eligible_items, rejected or needs_review), reason, rules version,
// points and the evaluation line by line.
type ProgramResult struct {
	ProgramID     int64
	Status        receipt.Status
	Reason        string
	RuleVersion   int
	PointsKopecks int64
	Pending       bool
	Evaluation    *rules.Result
}

// Sale is a credited sale a return may undo.
type Sale struct {
	ID          string
	Points      int64
	SumKopecks  int64
	PurchasedAt time.Time
	ProgramID   int64
	Items       []SaleItem

	// What earlier returns of this sale took back (the service fills
	// these from Tx.Returns).
	ReturnedQty []int64 // per sale line, thousandths
	ReturnedSum int64   // the earlier returns' receipt sums
	Reversed    int64   // points already reversed
}

// SaleProgram is one program's credit of a sale.
type SaleProgram struct {
	ProgramID, ClientID int64
	Points              int64
	Pending             bool
}

// SaleItem is one line of a sale (or of a return).
type SaleItem struct {
	SKUID         *int64
	GTIN, Name    string
	QuantityMilli int64
	Points        int64
}

// Return is the reversal an earlier return receipt posted against a sale.
type Return struct {
	ReceiptID  string
	Amount     int64 // points taken back
	SumKopecks int64 // the return receipt's sum
	Lines      []SaleItem
}

// Reversal is a reversal posted by a return receipt.
type Reversal struct {
	TxID   int64  // ledger transaction
	Key    string // its idempotency key
	Amount int64
}

// ErrInvalidRules: the rules body does not validate.
var ErrInvalidRules = apperr.New(apperr.Invalid, "rules_invalid", "Правила программы заданы с ошибкой.")

// ValidateRules checks r before a store saves it as a new version;
// failures are ErrInvalidRules with the validation's reason.
func ValidateRules(r rules.Rules) error {
	if err := r.Validate(); err != nil {
		return apperr.Wrap(err, apperr.Invalid, ErrInvalidRules.Code, ErrInvalidRules.Message)
	}
	return nil
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
