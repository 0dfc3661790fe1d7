package catalog

import (
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// MaxAliasRunes bounds a confirmed alias. A receipt line's name (fiscal tag
// 1030) has at most 128 characters; twice that leaves room for spellings
// typed by hand, and keeps the (client_id, alias) index key far below
// PostgreSQL's B-tree limit (about 2.7 KB), which a longer alias broke
// with a 500.
const MaxAliasRunes = 256

// ErrAliasTooLong is an alias over MaxAliasRunes characters.
var ErrAliasTooLong = &apperr.Error{Kind: apperr.Invalid, Code: "too_long",
	Message: "Написание товара длиннее 256 символов.", Field: "alias"}

// CheckAliasLength returns ErrAliasTooLong when alias is over MaxAliasRunes
// characters.
func CheckAliasLength(alias string) error {
	if len(alias) > MaxAliasRunes && utf8.RuneCountInString(alias) > MaxAliasRunes {
		return ErrAliasTooLong
	}
	return nil
}
