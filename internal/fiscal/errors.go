package fiscal

import (
	"errors"
	"fmt"
)

// Reason codes carried by Error.Code. They are stable and safe to expose to
// API clients.
const (
	CodeMissingField     = "missing_field"
	CodeAmbiguousField   = "ambiguous_field"
	CodeBadFN            = "bad_fn"
	CodeBadFD            = "bad_fd"
	CodeBadFP            = "bad_fp"
	CodeBadOperationType = "bad_operation_type"
	CodeBadTime          = "bad_time"
	CodeBadSum           = "bad_sum"
	CodeNotFiscalQR      = "not_fiscal_qr"
)

// Error explains why a payload was rejected.
type Error struct {
	// Field is the payload key at fault ("t", "s", "fn", "i", "fp", "n"), or
	// "" when the text as a whole is rejected (CodeNotFiscalQR).
	Field string
	// Code is one of the Code* constants.
	Code string
	// Message is a Russian sentence for the end user.
	Message string
	// Detail is an English explanation for logs and developers.
	Detail string
}

// Error implements error with the English detail.
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("fiscal: %s: %s", e.Code, e.Detail)
	}
	return fmt.Sprintf("fiscal: %s: %s: %s", e.Field, e.Code, e.Detail)
}

// CodeOf returns the reason code of err if it is (or wraps) an *Error, else "".
func CodeOf(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

// fieldNames are the Russian names of the payload keys, in the genitive case
// where they follow "значение".
var fieldNames = map[string]string{
	"t":  "дата и время покупки",
	"s":  "сумма чека",
	"fn": "номер ФН",
	"i":  "номер ФД",
	"fp": "ФП (фискальный признак)",
	"n":  "тип операции",
}

func newError(field, code, detail string) *Error {
	return &Error{Field: field, Code: code, Message: russian(field, code), Detail: detail}
}

func russian(field, code string) string {
	name := fieldNames[field]
	switch code {
	case CodeMissingField:
		return "В QR-коде чека не хватает поля: " + name + "."
	case CodeAmbiguousField:
		return "Поле «" + name + "» указано дважды с разными значениями."
	case CodeBadFN:
		return "Номер ФН должен состоять ровно из 16 цифр."
	case CodeBadFD:
		return "Номер ФД должен быть целым числом от 1 до 4294967295."
	case CodeBadFP:
		return "ФП должен быть целым числом от 1 до 4294967295."
	case CodeBadOperationType:
		return "Тип операции должен быть от 1 до 4 (1 — приход, 2 — возврат прихода, 3 — расход, 4 — возврат расхода)."
	case CodeBadTime:
		return "Неверная дата или время покупки."
	case CodeBadSum:
		return "Неверная сумма чека: нужно неотрицательное число рублей, не более двух знаков после точки."
	case CodeNotFiscalQR:
		return "Это не QR-код кассового чека. Сфотографируйте QR-код на чеке (не ЕГАИС и не QR для оплаты)."
	}
	return "Неверные данные чека."
}
