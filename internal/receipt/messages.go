package receipt

// ReasonModeratorApproved is the reason of the event by which a moderator
// approves a receipt out of needs_review. Verification reads it: a receipt
// approved without fiscal data is not sent to review a second time.
const ReasonModeratorApproved = "moderator_approved"

// messages is the one table of participant-facing Russian explanations of
// every reason code a receipt or one of its lines carries: the receipt's
// status reasons (intake, the decoder, verification, the points service,
// moderation) and the lines' points reasons (the rules engine's codes).
// The API's status_message, the dashboard's lists and moderation column,
// notifications and the per-line explanations all read it through Message.
// TestEveryReasonHasAMessage fails when the code base can produce a code
// that is missing here.
var messages = map[string]string{
	// Intake and decoding.
	"uploaded_photo":  "Фото чека получено.",
	"uploaded_qr":     "QR-код чека получен.",
	"uploaded_manual": "Данные чека введены вручную.",
	"qr_decoded":      "QR-код распознан.",
	"qr_not_found":    "На фото не найден QR-код чека. Сфотографируйте QR-код ближе, чтобы он занимал большую часть кадра, без бликов и размытия, и загрузите чек ещё раз.",
	"photo_missing":   "Фото чека не сохранилось. Загрузите чек ещё раз.",
	"duplicate_claim": "Этот чек уже загружен. Повторно баллы за него не начисляются.",
	"enqueued":        "Чек поставлен в очередь на проверку.",
	"requeued":        "Проверка чека запущена повторно.",

	// Verification with the FNS.
	"verifying":             "Проверяем чек в ФНС.",
	"ofd_not_yet":           "Чек ещё не поступил в ФНС. Проверим снова позже — обычно это занимает до нескольких часов.",
	"ofd_rate_limited":      "Сервис проверки чеков перегружен. Проверим снова чуть позже.",
	"ofd_unavailable":       "Сервис проверки чеков временно недоступен. Проверим снова позже.",
	"ofd_pending_expired":   "Чек так и не поступил в ФНС за отведённое время. Его проверит модератор.",
	"ofd_verified":          "Чек подтверждён ФНС.",
	"ofd_invalid":           "ФНС не подтвердила чек: фискальный признак неверен. Проверьте, что загружен оригинальный чек, а не его копия.",
	"ofd_not_found":         "Чек не найден в ФНС. Проверьте, что загружен настоящий кассовый чек.",
	"ofd_standalone_kkt":    "Чек пробит на кассе в автономном режиме и не может быть проверен автоматически. Его проверит модератор.",
	"ofd_mismatch":          "Данные чека в ФНС не совпадают с QR-кодом. Сфотографируйте QR-код заново.",
	"ofd_operation_type":    "Это не чек продажи (расход или возврат расхода).",
	"ofd_no_data":           "Сервис проверки не получил данные этого чека (возможно, касса работает автономно). Чек проверит модератор.",
	"ofd_retries_exhausted": "Сервис проверки чеков долго недоступен. Чек проверит модератор.",
	"sum_mismatch":          "Сумма чека не совпадает с данными ФНС. Загрузите чек ещё раз, не меняя сумму.",

	// After a moderator's approval (internal/verify, internal/points).
	"ofd_no_data_after_review": "Модератор подтвердил чек, но ФНС так и не передала его данные: без товаров чека баллы начислить нельзя.",
	"program_rules_none":       "Модератор подтвердил чек, но у программы нет правил начисления: баллов за чек нет.",
	"return_points_spent":      "Возврат подтверждён модератором; баллы за покупку уже потрачены, списывать нечего.",

	// Points (internal/points, internal/rules: receipt-level outcomes).
	"items_matched":               "Товары чека сопоставлены с каталогом программы.",
	"no_eligible_items":           "В чеке нет товаров, участвующих в программе.",
	"points_credited":             "Баллы начислены.",
	"points_pending":              "Баллы начислены и станут доступны после закрытия периода.",
	"points_capped":               "Лимит баллов достигнут: за этот чек баллы не начислены.",
	"budget_paused":               "Начисления по программе приостановлены: бюджет программы исчерпан. Чек сохранён, баллы за него не начислены.",
	"budget_review":               "Бюджет программы исчерпан: чек передан на проверку и будет начислен после пополнения бюджета.",
	"return_reversed":             "Возврат товара: баллы за исходную покупку списаны.",
	"return_no_sale":              "Возврат: исходная покупка с начисленными баллами не найдена, списывать нечего.",
	"return_insufficient_balance": "Возврат: баллов на счёте недостаточно для списания. Чек проверит модератор.",
	"no_program":                  "У клиента нет действующей программы для этого чека.",
	"program_rules_missing":       "Для программы не заданы правила начисления. Чек проверит модератор.",
	"consent_required":            "Программа требует ваших согласий (на обработку персональных данных, с правилами или от работодателя), прежде чем начислять баллы. Дайте их в приложении — чек ждёт и будет начислен после проверки.",
	"not_a_sale":                  "Это не чек продажи.",
	"program_not_active":          "Программа сейчас не действует.",
	"participant_blocked":         "Участник заблокирован.",
	"role_not_eligible":           "Ваша роль не участвует в этой программе.",
	"outside_program_dates":       "Покупка совершена вне сроков программы.",
	"receipt_too_old":             "Чек слишком старый для участия в программе.",
	"purchase_in_future":          "Дата покупки в чеке ещё не наступила.",
	"no_shop":                     "Вы не привязаны к магазину — чек не с чем сверить. Обратитесь к менеджеру программы.",
	"shop_mismatch":               "Чек пробит не в вашем магазине.",
	"anomaly_velocity":            "Необычно много чеков за короткое время. Чек проверит модератор.",
	"anomaly_kkt":                 "Много чеков с одной кассы от одного продавца. Чек проверит модератор.",
	"not_eligible_shop":           "Ваш магазин не участвует в этой программе.",
	"not_eligible_chain":          "Ваша торговая сеть не участвует в этой программе.",
	"not_eligible_region":         "Ваш регион не участвует в этой программе.",
	"not_eligible_role":           "Ваша роль не участвует в этой программе.",

	// Lines (rules.LineResult.Reason, the caps).
	"earned":                 "Баллы начислены.",
	"earned_promo":           "Баллы начислены с акционным множителем.",
	"not_matched":            "Товар не распознан в каталоге программы.",
	"sku_not_in_program":     "Товар не участвует в программе.",
	"zero_quantity":          "Нулевое количество или сумма.",
	"rounded_to_zero":        "Баллов за позицию меньше копейки.",
	"bonus":                  "Бонус за разнообразие товаров в чеке.",
	"cap_per_receipt":        "Достигнут лимит баллов за один чек.",
	"cap_participant_day":    "Достигнут дневной лимит баллов.",
	"cap_participant_week":   "Достигнут недельный лимит баллов.",
	"cap_participant_period": "Достигнут лимит баллов за период программы.",
	"cap_shop_day":           "Достигнут дневной лимит баллов магазина.",
	"budget_exhausted":       "Бюджет программы исчерпан.",

	// Moderation.
	"moderator_approved": "Модератор подтвердил чек.",
	"moderator_rejected": "Модератор отклонил чек.",
}

// matchMessages explain why a line matched no SKU of the program
// (catalog.Result.Reason, and "sku_unknown" of the points service); they
// complete a sentence after «Товар не распознан: ».
var matchMessages = map[string]string{
	"empty":            "после служебных пометок от названия ничего не осталось",
	"gtin_not_ours":    "штрихкод из кода маркировки не из каталога программы",
	"no_brand":         "ни брендов, ни артикулов программы в названии",
	"code_not_ours":    "артикул серии клиента, которого нет в каталоге",
	"excluded_offer":   "подарочный набор, концентрат, розлив или пробник — не участвует",
	"not_an_item":      "это скидка, купон или услуга, а не товар",
	"size_mismatch":    "товар программы в объёме, которого нет в каталоге",
	"variant_mismatch": "вариант товара, которого нет ни у одного SKU",
	"unknown_product":  "в названии незнакомые слова вместо названия SKU",
	"unknown_word":     "в названии есть слово, которого нет в каталоге: возможно, это другой вариант товара",
	"no_candidate":     "бренд программы, но название не указывает ни на один её товар",
	"ambiguous":        "подходит к нескольким SKU — нужен псевдоним",
	"sku_unknown":      "SKU больше нет в каталоге",
}

// genericMessage is what Message says of a code missing from the table; a
// test keeps every code the code base produces in the table.
const genericMessage = "Статус чека изменён."

// Message returns the Russian explanation of a reason code ("" for "").
func Message(reason string) string {
	if m, ok := messages[reason]; ok {
		return m
	}
	if reason == "" {
		return ""
	}
	return genericMessage
}

// HasMessage reports whether reason has its own text in the table.
func HasMessage(reason string) bool {
	_, ok := messages[reason]
	return ok
}

// MatchMessage returns the Russian explanation of a line's match reason
// (a fragment, see matchMessages); an unknown code is returned as it is.
func MatchMessage(reason string) string {
	if m, ok := matchMessages[reason]; ok {
		return m
	}
	return reason
}

// HasMatchMessage reports whether a match reason has its own text.
func HasMatchMessage(reason string) bool {
	_, ok := matchMessages[reason]
	return ok
}
