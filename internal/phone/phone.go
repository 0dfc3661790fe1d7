// Package phone reads a person's phone number into the one form the
// program stores and compares: E.164 ("+79991234567"). Sign-in and the
// client's registry uploads both use it, so a participant signs in with
// whatever form the registry had.
package phone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is returned for text that is not a possible phone number.
var ErrInvalid = errors.New("phone: not a possible number")

// Normalize returns phone in E.164 (+79991234567). Russian national forms
// (8 999 …, 999 …) are read as +7; a workbook number ("79991234567" stored
// as a number) is accepted. It returns ErrInvalid for anything that is not
// a possible number, and for more than 32 characters of input.
func Normalize(phone string) (string, error) {
	phone = strings.TrimSpace(phone)
	if phone == "" || len(phone) > 32 {
		return "", ErrInvalid
	}
	num, err := phonenumbers.Parse(phone, "RU")
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", ErrInvalid
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) < 8 || len(e164) > 16 {
		return "", ErrInvalid
	}
	return e164, nil
}
