package tenant

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/inn"
	"github.com/loyaltyjam/loyaltyjam/internal/phone"
)

// Client is a manufacturer the platform runs programs for.
type Client struct {
	ID           int64     `json:"id"`
	Code         string    `json:"code"`       // short latin id, used by the CLI and in URLs
	Name         string    `json:"legal_name"` // the legal name, «ООО «Ромашка»»
	INN          string    `json:"inn"`
	ContactName  string    `json:"contact_name"`
	ContactEmail string    `json:"contact_email"`
	ContactPhone string    `json:"contact_phone"` // E.164
	TimeZone     string    `json:"time_zone"`     // IANA name
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Errors about clients. Their codes are part of the staff API.
var (
	ErrClientNotFound = apperr.New(apperr.NotFound, "client_not_found", "Клиент не найден.")
	ErrClientExists   = &apperr.Error{Kind: apperr.Conflict, Code: "client_code_taken", Message: "Клиент с таким кодом уже есть.", Field: "code"}
)

func invalid(code, field, msg string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: code, Field: field, Message: msg}
}

var (
	codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,62}$`)
	zoneRe = regexp.MustCompile(`^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$`)
)

// DefaultTimeZone is a new client's zone when none is given.
const DefaultTimeZone = "Europe/Moscow"

// Field limits (in characters).
const (
	MaxNameRunes    = 500
	MaxContactRunes = 300
	MaxEmailBytes   = 254
)

// text checks one free-text field: valid UTF-8, no control characters,
// at most max characters, not empty when required. It returns the value
// trimmed.
func text(v, field string, max int, required bool) (string, error) {
	if !utf8.ValidString(v) {
		return "", invalid("invalid_utf8", field, "Поле содержит недопустимые символы (ожидается UTF-8).")
	}
	v = strings.TrimSpace(v)
	if required && v == "" {
		return "", invalid("required", field, "Заполните поле.")
	}
	if utf8.RuneCountInString(v) > max {
		return "", invalid("too_long", field, "Слишком длинное значение поля.")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", invalid("invalid_characters", field, "Поле содержит управляющие символы.")
		}
	}
	return v, nil
}

// Email checks and normalises an e-mail address (a bare address, no
// display name), or returns an Invalid error on field.
func Email(v, field string) (string, error) {
	v, err := text(v, field, MaxEmailBytes, true)
	if err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > MaxEmailBytes || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return "", invalid("invalid_email", field, "Неверный адрес e-mail.")
	}
	return v, nil
}

// TimeZone checks an IANA zone name the way clients.timezone does.
func TimeZone(z string) error {
	if !zoneRe.MatchString(z) {
		return invalid("bad_time_zone", "time_zone", "Часовой пояс — название из базы IANA, например Europe/Moscow или Asia/Novosibirsk.")
	}
	if _, err := time.LoadLocation(z); err != nil {
		return invalid("bad_time_zone", "time_zone", "Часовой пояс — название из базы IANA, например Europe/Moscow или Asia/Novosibirsk.")
	}
	return nil
}

// Validate checks and normalises c for storage (ID and times are not
// looked at): the code, the legal name, the ИНН with its check digits, the
// contacts (e-mail and phone optional, phone normalised to E.164) and the
// time zone (default Europe/Moscow).
func (c *Client) Validate() error {
	if !codeRe.MatchString(c.Code) {
		return invalid("bad_client_code", "code", "Код клиента — 2–63 строчные латинские буквы, цифры, «-» или «_», например «romashka».")
	}
	var err error
	if c.Name, err = text(c.Name, "legal_name", MaxNameRunes, true); err != nil {
		return err
	}
	if !utf8.ValidString(c.INN) {
		return invalid("invalid_utf8", "inn", "Поле содержит недопустимые символы (ожидается UTF-8).")
	}
	c.INN = inn.Normalize(c.INN)
	if err := inn.Validate(c.INN, inn.Any); err != nil {
		return invalid("bad_inn", "inn", "ИНН: "+err.Error()+".")
	}
	if c.ContactName, err = text(c.ContactName, "contact_name", MaxContactRunes, false); err != nil {
		return err
	}
	if c.ContactEmail != "" {
		if c.ContactEmail, err = Email(c.ContactEmail, "contact_email"); err != nil {
			return err
		}
	}
	if c.ContactPhone, err = text(c.ContactPhone, "contact_phone", 32, false); err != nil {
		return err
	}
	if c.ContactPhone != "" {
		p, err := phone.Normalize(c.ContactPhone)
		if err != nil {
			return invalid("invalid_phone", "contact_phone", "Неверный номер телефона. Укажите номер в формате +7 999 123-45-67.")
		}
		c.ContactPhone = p
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	return TimeZone(c.TimeZone)
}

// ClientPatch changes some fields of a client; nil fields stay. The code
// is the client's identity and does not change.
type ClientPatch struct {
	Name         *string `json:"legal_name"`
	INN          *string `json:"inn"`
	ContactName  *string `json:"contact_name"`
	ContactEmail *string `json:"contact_email"`
	ContactPhone *string `json:"contact_phone"`
	TimeZone     *string `json:"time_zone"`
}

// Apply applies p to c and validates the result.
func (p ClientPatch) Apply(c *Client) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Name, p.Name)
	set(&c.INN, p.INN)
	set(&c.ContactName, p.ContactName)
	set(&c.ContactEmail, p.ContactEmail)
	set(&c.ContactPhone, p.ContactPhone)
	set(&c.TimeZone, p.TimeZone)
	if p.TimeZone != nil && *p.TimeZone == "" {
		return TimeZone("")
	}
	return c.Validate()
}
