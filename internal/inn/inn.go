// Package inn validates Russian taxpayer numbers (ИНН): ten digits for an
// organisation, twelve for a person or sole trader, with the check digits
// the Federal Tax Service defines (приказ ФНС ММВ-7-6/435@, приложение 2).
package inn

import (
	"errors"
	"strings"
)

// Errors of Validate.
var (
	ErrLength   = errors.New("ИНН должен состоять из 10 (организация) или 12 (физическое лицо) цифр")
	ErrDigits   = errors.New("ИНН должен состоять только из цифр")
	ErrChecksum = errors.New("неверные контрольные цифры ИНН")
	ErrKind     = errors.New("ИНН не того вида")
)

// Kind tells an organisation's number from a person's.
type Kind int

// Kinds of ИНН.
const (
	Any          Kind = iota
	Organisation      // 10 digits
	Person            // 12 digits (a person or a sole trader)
)

var (
	w10  = []int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	w12a = []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
	w12b = []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
)

// Normalize trims spaces around s; the number itself is never rewritten.
func Normalize(s string) string { return strings.TrimSpace(s) }

// Validate checks s (already normalised) as an ИНН of kind k.
func Validate(s string, k Kind) error {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ErrDigits
		}
	}
	switch len(s) {
	case 10:
		if k == Person {
			return ErrKind
		}
		if check(s, w10) != s[9]-'0' {
			return ErrChecksum
		}
	case 12:
		if k == Organisation {
			return ErrKind
		}
		if check(s, w12a) != s[10]-'0' || check(s, w12b) != s[11]-'0' {
			return ErrChecksum
		}
	default:
		return ErrLength
	}
	if strings.Trim(s, "0") == "" {
		return ErrChecksum
	}
	return nil
}

// Valid reports whether s is a valid ИНН of kind k.
func Valid(s string, k Kind) bool { return Validate(s, k) == nil }

func check(s string, weights []int) byte {
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return byte(sum % 11 % 10)
}
