package receipt

// ReasonModeratorApproved is the reason of the event by which a moderator
// approves a receipt out of needs_review. Verification reads it: a receipt
// approved without fiscal data is not sent to review a second time.
const ReasonModeratorApproved = "moderator_approved"

// messages are the participant-facing explanations of reason codes, in
// Russian. A reason without an entry falls back to a generic text, so a new
// code never shows an empty line.
var messages = map[string]string{
	"uploaded_photo":        "Фото чека получено.",
	"uploaded_qr":           "QR-код чека получен.",
	"uploaded_manual":       "Данные чека введены вручную.",
	"qr_decoded":            "QR-код распознан.",
	"qr_not_found":          "На фото не найден QR-код чека. Сфотографируйте QR-код крупнее, без бликов.",
	"enqueued":              "Чек поставлен в очередь на проверку.",
	"requeued":              "Проверка чека запущена повторно.",
	"verifying":             "Проверяем чек в ФНС.",
	"ofd_not_yet":           "Чек ещё не поступил в ФНС. Проверим снова позже — обычно это занимает до нескольких часов.",
	"ofd_rate_limited":      "Сервис проверки чеков перегружен. Проверим снова чуть позже.",
	"ofd_unavailable":       "Сервис проверки чеков временно недоступен. Проверим снова позже.",
	"ofd_pending_expired":   "Чек так и не поступил в ФНС за отведённое время. Его проверит модератор.",
	"ofd_verified":          "Чек подтверждён ФНС.",
	"ofd_invalid":           "ФНС не подтвердила чек: фискальный признак неверен.",
	"ofd_not_found":         "Чек не найден в ФНС.",
	"ofd_standalone_kkt":    "Чек пробит на кассе в автономном режиме и не может быть проверен автоматически. Его проверит модератор.",
	"ofd_mismatch":          "Данные чека в ФНС не совпадают с QR-кодом.",
	"sum_mismatch":          "Сумма чека не совпадает с данными ФНС.",
	"ofd_operation_type":    "Это не чек продажи (расход или возврат расхода).",
	"ofd_no_data":           "Сервис проверки не получил данные этого чека (возможно, касса работает автономно). Чек проверит модератор.",
	"ofd_retries_exhausted": "Сервис проверки чеков долго недоступен. Чек проверит модератор.",
	"photo_missing":         "Фото чека не найдено в хранилище. Загрузите чек ещё раз.",
	"duplicate_claim":       "Этот чек уже зарегистрирован.",
	"items_matched":         "Товары чека сопоставлены с каталогом программы.",
	"no_eligible_items":     "В чеке нет товаров, участвующих в программе.",
	"points_credited":       "Баллы начислены.",
	"points_pending":        "Баллы начислены и станут доступны после закрытия периода.",
	"return_reversed":       "Возврат товара: баллы за исходную покупку списаны.",
	"anomaly_velocity":      "Необычно много чеков за короткое время. Чек проверит модератор.",
	"anomaly_kkt":           "Много чеков с одной кассы от одного продавца. Чек проверит модератор.",
	"moderator_approved":    "Модератор подтвердил чек.",
	"moderator_rejected":    "Модератор отклонил чек.",
	"receipt_too_old":       "Чек слишком старый для участия в программе.",
	"shop_mismatch":         "Чек пробит не в вашем магазине.",
	"program_not_active":    "Программа сейчас не действует.",

	// After a moderator's approval (internal/verify).
	"ofd_no_data_after_review": "Модератор подтвердил чек, но ФНС так и не передала его данные: без товаров чека баллы начислить нельзя.",
}

// Message returns the Russian explanation of a reason code.
func Message(reason string) string {
	if m, ok := messages[reason]; ok {
		return m
	}
	if reason == "" {
		return ""
	}
	return "Статус чека изменён."
}
