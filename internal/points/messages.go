package points

import (
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Reason codes this package uses in receipt transitions that
// internal/receipt/messages.go does not know yet.
const (
	ReasonNoProgram       = "no_program"
	ReasonRulesMissing    = "program_rules_missing"
	ReasonReturnNoSale    = "return_no_sale"
	ReasonReturnNoBalance = "return_insufficient_balance"
	ReasonPointsCapped    = "points_capped"
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

// Messages are the Russian texts of the receipt reason codes this package
// introduces. Until internal/receipt/messages.go holds them, receipt.Message
// falls back to a generic text; Process also puts the text in the event's
// data under "message".
var Messages = map[string]string{
	ReasonNoProgram:              "У клиента нет действующей программы для этого чека.",
	ReasonRulesMissing:           "Для программы не заданы правила начисления. Чек проверит модератор.",
	ReasonNoRules:                "Модератор подтвердил чек, но у программы нет правил начисления: баллов за чек нет.",
	ReasonReturnNoSale:           "Возврат: исходная покупка с начисленными баллами не найдена.",
	ReasonReturnNoBalance:        "Возврат: баллов на счёте недостаточно для списания. Чек проверит модератор.",
	ReasonReturnNothingLeft:      "Возврат подтверждён модератором; баллы за покупку уже потрачены, списывать нечего.",
	ReasonPointsCapped:           "Лимит баллов достигнут: за этот чек баллы не начислены.",
	rules.ReasonNotASale:         rules.Message(rules.ReasonNotASale),
	rules.ReasonParticipantBlock: rules.Message(rules.ReasonParticipantBlock),
	rules.ReasonRoleNotEligible:  rules.Message(rules.ReasonRoleNotEligible),
	rules.ReasonOutsideProgram:   rules.Message(rules.ReasonOutsideProgram),
	rules.ReasonInFuture:         rules.Message(rules.ReasonInFuture),
	rules.ReasonNoShop:           rules.Message(rules.ReasonNoShop),
	rules.CapBudget:              rules.Message(rules.CapBudget),
	rules.CapPerReceipt:          rules.Message(rules.CapPerReceipt),
	rules.CapParticipantDay:      rules.Message(rules.CapParticipantDay),
	rules.CapParticipantWeek:     rules.Message(rules.CapParticipantWeek),
	rules.CapParticipantPeriod:   rules.Message(rules.CapParticipantPeriod),
	rules.CapShopDay:             rules.Message(rules.CapShopDay),
}

// message returns the Russian text of a reason code, from this package or
// from internal/receipt.
func message(code string) string {
	if m, ok := Messages[code]; ok {
		return m
	}
	return receipt.Message(code)
}
