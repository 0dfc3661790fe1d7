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
)

// message returns the Russian text of a reason code.
func message(code string) string { return receipt.Message(code) }
