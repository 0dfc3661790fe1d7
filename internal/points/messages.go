package points

import "github.com/loyaltyjam/loyaltyjam/internal/receipt"

// Reason codes this package uses in receipt transitions; their texts are
// in internal/receipt's one table (receipt.Message).
const (
	ReasonNoProgram       = "no_program"
	ReasonRulesMissing    = "program_rules_missing"
	ReasonReturnNoSale    = "return_no_sale"
	ReasonReturnNoBalance = "return_insufficient_balance"
	ReasonPointsCapped    = "points_capped"
	// ReasonBudgetPaused: the budget could pay nothing of the receipt and
	// the program pauses crediting at zero (budget_at_zero = pause).
	ReasonBudgetPaused = "budget_paused"
	// ReasonBudgetReview: the budget could not pay the receipt in full and
	// the program queues such receipts for review (budget_at_zero =
	// review); a moderator credits it after a top-up.
	ReasonBudgetReview = "budget_review"
	// ReasonConsentRequired: the program requires consents before
	// crediting that the participant does not hold in force (never given
	// or withdrawn); the receipt waits for a moderator, who credits it once
	// they are given (ErrConsentRequired until then).
	ReasonConsentRequired = "consent_required"
)

// What a program does when its budget cannot pay (programs.budget_at_zero).
const (
	AtZeroPause  = "pause"
	AtZeroReview = "review"
)

// Reason codes of a moderator's approval that settles a receipt instead of
// sending it back to the moderation queue.
const (
	// ReasonNoRules: the receipt's program has no rules at all; it ends
	// without points.
	ReasonNoRules = "program_rules_none"
	// ReasonReturnNothingLeft: a return whose sale's points were all
	// spent; nothing is taken back.
	ReasonReturnNothingLeft = "return_points_spent"
)

// message returns the Russian text of a reason code.
func message(code string) string { return receipt.Message(code) }
