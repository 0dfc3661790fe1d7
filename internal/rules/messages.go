package rules

// messages are the Russian explanations of the reason codes of Evaluate
// and CheckAnomaly.
var messages = map[string]string{
	ReasonNotASale:         "Это не чек продажи.",
	ReasonProgramNotActive: "Программа сейчас не действует.",
	ReasonParticipantBlock: "Участник заблокирован.",
	ReasonRoleNotEligible:  "Ваша роль не участвует в этой программе.",
	ReasonOutsideProgram:   "Покупка совершена вне сроков программы.",
	ReasonTooOld:           "Чек слишком старый для участия в программе.",
	ReasonInFuture:         "Дата покупки в чеке ещё не наступила.",
	ReasonNoShop:           "Вы не привязаны к магазину — чек не с чем сверить.",
	ReasonShopMismatch:     "Чек пробит не в вашем магазине.",
	ReasonEarned:           "Баллы начислены.",
	ReasonEarnedPromo:      "Баллы начислены с акционным множителем.",
	ReasonNotMatched:       "Товар не распознан в каталоге программы.",
	ReasonNotInProgram:     "Товар не участвует в программе.",
	ReasonZeroQuantity:     "Нулевое количество или сумма.",
	ReasonRoundedToZero:    "Баллов за позицию меньше копейки.",
	ReasonBonus:            "Бонус за разнообразие товаров в чеке.",
	CapPerReceipt:          "Достигнут лимит баллов за один чек.",
	CapParticipantDay:      "Достигнут дневной лимит баллов.",
	CapParticipantWeek:     "Достигнут недельный лимит баллов.",
	CapParticipantPeriod:   "Достигнут лимит баллов за период программы.",
	CapShopDay:             "Достигнут дневной лимит баллов магазина.",
	CapBudget:              "Бюджет программы исчерпан.",
	AnomalyVelocity:        "Необычно много чеков за короткое время. Чек проверит модератор.",
	AnomalyKKT:             "Много чеков с одной кассы от одного продавца. Чек проверит модератор.",
}

// Message returns the Russian explanation of a reason code ("" for an
// unknown one).
func Message(code string) string { return messages[code] }
