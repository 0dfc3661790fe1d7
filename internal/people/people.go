// Package people is what client staff do to one participant: block and
// unblock with a reason the seller sees, move to another shop, flag as a
// tester, and credit or debit points by hand with a reason and a document
// under the registries' maker-checker threshold (at or above it a second
// staff member, never the maker, approves).
//
// Pure: types, validation and the threshold rule; the store is
// internal/postgres/peopledb, the routes internal/adminapi.
package people

import (
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Limits.
const (
	MaxReasonRunes = 500
	// MaxAdjustKopecks bounds one manual credit or debit (100 000 000 ₽).
	MaxAdjustKopecks = 10_000_000_000
	// ApprovalWindow is how far back a participant's manual adjustments
	// count towards the threshold, so a large amount split into small ones
	// still needs a second person.
	ApprovalWindow = 30 * 24 * time.Hour
)

// Errors.
var (
	ErrParticipantNotFound = apperr.New(apperr.NotFound, "participant_not_found", "Участник не найден.")
	ErrShopNotFound        = &apperr.Error{Kind: apperr.Invalid, Code: "shop_not_found", Message: "Магазин не найден у этого клиента.", Field: "shop_id"}
	ErrProgramNotFound     = &apperr.Error{Kind: apperr.Invalid, Code: "program_not_found", Message: "Программа не найдена у этого клиента.", Field: "program_id"}
	ErrAdjustmentNotFound  = apperr.New(apperr.NotFound, "adjustment_not_found", "Корректировка не найдена.")
	ErrReason              = &apperr.Error{Kind: apperr.Invalid, Code: "reason_required", Message: "Укажите причину (до 500 символов).", Field: "reason"}
	ErrAlreadyBlocked      = apperr.New(apperr.Conflict, "participant_already_blocked", "Участник уже заблокирован.")
	ErrNotBlocked          = apperr.New(apperr.Conflict, "participant_not_blocked", "Участник не заблокирован.")
	ErrMakerCannotApprove  = apperr.New(apperr.Forbidden, "maker_cannot_approve", "Корректировку подтверждает другой сотрудник, не автор.")
	ErrNotPending          = apperr.New(apperr.Conflict, "adjustment_not_pending", "Корректировка уже проведена или отклонена.")
)

// CheckReason validates a required reason.
func CheckReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !budget.CheckText(s, MaxReasonRunes, true) {
		return s, ErrReason
	}
	return s, nil
}

// Participant is a participant as staff see them on the participant page.
type Participant struct {
	ID            int64      `json:"id"`
	ClientID      int64      `json:"client_id"`
	Name          string     `json:"name"`
	Phone         string     `json:"phone"`
	Role          string     `json:"role"`
	Status        string     `json:"status"`
	BlockedReason string     `json:"blocked_reason"`
	BlockedAt     *time.Time `json:"blocked_at"`
	ShopID        *int64     `json:"shop_id"`
	ShopName      string     `json:"shop_name"`
	IsTester      bool       `json:"is_tester"`
	// Balances per program.
	Balances    []Balance    `json:"balances"`
	Adjustments []Adjustment `json:"adjustments"`
}

// Balance is a participant's points in one program.
type Balance struct {
	ProgramID        int64         `json:"program_id"`
	ProgramName      string        `json:"program_name"`
	AvailableKopecks money.Kopecks `json:"available_kopecks"`
	PendingKopecks   money.Kopecks `json:"pending_kopecks"`
}

// State is the part of a participant an audited change touches.
type State struct {
	Status        string `json:"status"`
	BlockedReason string `json:"blocked_reason,omitempty"`
	ShopID        *int64 `json:"shop_id"`
	IsTester      bool   `json:"is_tester"`
}

// Adjustment statuses.
const (
	Pending  = "pending"
	Applied  = "applied"
	Rejected = "rejected"
)

// AdjustRequest is a manual credit (amount > 0) or debit (< 0).
type AdjustRequest struct {
	ParticipantID  int64
	ProgramID      int64
	AmountKopecks  money.Kopecks
	Reason         string
	Document       string
	IdempotencyKey string
}

// Validate checks r.
func (r *AdjustRequest) Validate() error {
	if err := budget.CheckKey(r.IdempotencyKey); err != nil {
		return err
	}
	if r.AmountKopecks == 0 || r.AmountKopecks > MaxAdjustKopecks || r.AmountKopecks < -MaxAdjustKopecks {
		return budget.AmountError("amount", "вне допустимого диапазона")
	}
	var err error
	if r.Reason, err = CheckReason(r.Reason); err != nil {
		return err
	}
	r.Document = strings.TrimSpace(r.Document)
	if !budget.CheckText(r.Document, budget.MaxDocumentRunes, true) {
		return budget.ErrDocument
	}
	return nil
}

// Hash is r's fingerprint for its Idempotency-Key.
func (r AdjustRequest) Hash() string {
	return budget.Hash("adjust", r.ParticipantID, r.ProgramID, int64(r.AmountKopecks), r.Reason, r.Document)
}

// ParseSignedAmount reads a manual adjustment's amount: "+1500", "1500.50"
// credit, "-200" debit; a JSON string only, never zero.
func ParseSignedAmount(s string) (money.Kopecks, error) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, money.Minus):
		neg, s = true, s[len(money.Minus):]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, money.Minus) {
		return 0, budget.AmountError("amount", "не число")
	}
	k, err := budget.ParseAmount("amount", s, MaxAdjustKopecks)
	if neg {
		k = -k
	}
	return k, err
}

// Adjustment is a recorded manual credit or debit.
type Adjustment struct {
	ID            int64         `json:"id"`
	ParticipantID int64         `json:"participant_id"`
	ProgramID     int64         `json:"program_id"`
	AmountKopecks money.Kopecks `json:"amount_kopecks"`
	Amount        string        `json:"amount"`
	Reason        string        `json:"reason"`
	Document      string        `json:"document"`
	Status        string        `json:"status"`
	MakerID       int64         `json:"maker_id"`
	CheckerID     int64         `json:"checker_id"`
	DecisionNote  string        `json:"decision_note"`
	LedgerTxID    int64         `json:"ledger_transaction_id"`
	CreatedAt     time.Time     `json:"created_at"`
	DecidedAt     *time.Time    `json:"decided_at"`
	// NeedsSecondApproval: at or above the threshold, waiting for (or
	// approved by) a second staff member.
	NeedsSecondApproval bool `json:"needs_second_approval"`
	Replayed            bool `json:"replayed"`
}

// NeedsSecondApproval reports whether an adjustment of amount, with what
// the participant's manual adjustments moved within ApprovalWindow
// (absolute sum, debits included: a debit is as sensitive as a credit),
// reaches threshold (0 disables).
func NeedsSecondApproval(threshold int64, amount money.Kopecks, recentAbs int64) bool {
	if threshold <= 0 {
		return false
	}
	a := int64(amount)
	if a < 0 {
		a = -a
	}
	return a >= threshold || recentAbs+a >= threshold
}
