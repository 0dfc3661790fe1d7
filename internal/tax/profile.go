package tax

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/inn"
)

// LegalData is what the reporting forms need of a participant. It is sealed
// at rest, masked to staff and never logged: its String, GoString and
// LogValue print nothing of it.
type LegalData struct {
	LastName    string    `json:"last_name"`
	FirstName   string    `json:"first_name"`
	MiddleName  string    `json:"middle_name,omitempty"`
	BirthDate   string    `json:"birth_date"` // YYYY-MM-DD
	INN         string    `json:"inn"`        // 12 digits
	Citizenship string    `json:"citizenship"`
	Residency   Residency `json:"residency"`
	DocType     string    `json:"doc_type"` // code of the «Справочник видов документов»: 21 = Russian passport
	DocSeries   string    `json:"doc_series,omitempty"`
	DocNumber   string    `json:"doc_number"`
	DocIssued   string    `json:"doc_issued"` // YYYY-MM-DD
	Address     string    `json:"address,omitempty"`
}

// String hides the data from fmt.
func (LegalData) String() string { return "tax.LegalData{…}" }

// GoString hides the data from %#v.
func (LegalData) GoString() string { return "tax.LegalData{…}" }

// LogValue hides the data from slog.
func (LegalData) LogValue() slog.Value { return slog.StringValue("tax.LegalData{…}") }

// ErrInvalidProfile wraps every validation error of legal data; its text
// names the field, never the value.
var ErrInvalidProfile = errors.New("tax profile")

var (
	citizenshipRe = regexp.MustCompile(`^[0-9]{3}$`) // ОКСМ digital code, 643 = Russia
	docTypeRe     = regexp.MustCompile(`^[0-9]{2}$`)
	docNumberRe   = regexp.MustCompile(`^[0-9A-Za-zА-Яа-яЁё -]{1,25}$`)
)

// Normalize trims every field.
func (d LegalData) Normalize() LegalData {
	for _, f := range []*string{&d.LastName, &d.FirstName, &d.MiddleName, &d.BirthDate, &d.INN, &d.Citizenship,
		&d.DocType, &d.DocSeries, &d.DocNumber, &d.DocIssued, &d.Address} {
		*f = strings.TrimSpace(*f)
	}
	return d
}

// Validate checks the fields a participant may save. Missing fields are
// allowed (Complete tells whether the profile is enough for reports); a
// present field must be well formed.
func (d LegalData) Validate(today time.Time) error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s: %s", ErrInvalidProfile, field, why) }
	for name, v := range map[string]string{"last_name": d.LastName, "first_name": d.FirstName, "middle_name": d.MiddleName} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, "<>\"\\\x00\n\r\t") {
			return bad(name, "до 100 букв")
		}
	}
	if !utf8.ValidString(d.Address) || utf8.RuneCountInString(d.Address) > 300 || strings.ContainsAny(d.Address, "\x00<>") {
		return bad("address", "до 300 символов")
	}
	for name, v := range map[string]string{"birth_date": d.BirthDate, "doc_issued": d.DocIssued} {
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil || t.Year() < 1900 || t.After(today) {
			return bad(name, "дата ГГГГ-ММ-ДД не позже сегодняшней")
		}
	}
	if d.INN != "" {
		if err := inn.Validate(d.INN, inn.Person); err != nil {
			return bad("inn", err.Error())
		}
	}
	if d.Citizenship != "" && !citizenshipRe.MatchString(d.Citizenship) {
		return bad("citizenship", "код страны по ОКСМ, три цифры (643 — Россия)")
	}
	if d.Residency != "" && !d.Residency.Valid() {
		return bad("residency", "resident или non_resident")
	}
	if d.DocType != "" && !docTypeRe.MatchString(d.DocType) {
		return bad("doc_type", "код вида документа, две цифры (21 — паспорт РФ)")
	}
	for name, v := range map[string]string{"doc_series": d.DocSeries, "doc_number": d.DocNumber} {
		if v != "" && !docNumberRe.MatchString(v) {
			return bad(name, "до 25 букв и цифр")
		}
	}
	return nil
}

// Complete reports whether the data is enough for the annual statement:
// name, birth date, residency, citizenship and an identity document (the
// ИНН is optional in the statement when the document is given; a Russian
// passport holder without an ИНН is still reportable).
func (d LegalData) Complete() bool {
	return d.LastName != "" && d.FirstName != "" && d.BirthDate != "" && d.Residency.Valid() &&
		d.Citizenship != "" && d.DocType != "" && d.DocNumber != "" && d.DocIssued != ""
}

// Missing lists the fields Complete needs that are empty.
func (d LegalData) Missing() []string {
	var out []string
	for name, v := range map[string]string{"last_name": d.LastName, "first_name": d.FirstName, "birth_date": d.BirthDate,
		"residency": string(d.Residency), "citizenship": d.Citizenship, "doc_type": d.DocType, "doc_number": d.DocNumber,
		"doc_issued": d.DocIssued} {
		if v == "" {
			out = append(out, name)
		}
	}
	sortStrings(out)
	return out
}

// Masked is the data as staff without the full-read right see it: the
// last name's first letter, initials, the ИНН's last two digits, the
// document's last two characters; no birth date, no address.
func (d LegalData) Masked() MaskedData {
	return MaskedData{
		Name:        maskName(d.LastName) + " " + initial(d.FirstName) + initial(d.MiddleName),
		INN:         maskTail(d.INN, 2),
		Document:    maskTail(d.DocSeries+d.DocNumber, 2),
		Residency:   d.Residency,
		Citizenship: d.Citizenship,
		HasAddress:  d.Address != "",
		HasBirth:    d.BirthDate != "",
	}
}

// MaskedData is LegalData masked.
type MaskedData struct {
	Name        string    `json:"name"`
	INN         string    `json:"inn"`
	Document    string    `json:"document"`
	Residency   Residency `json:"residency"`
	Citizenship string    `json:"citizenship"`
	HasAddress  bool      `json:"has_address"`
	HasBirth    bool      `json:"has_birth_date"`
}

func maskName(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return ""
	}
	return string(r) + strings.Repeat("*", min(utf8.RuneCountInString(s)-1, 5))
}

func initial(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return ""
	}
	return string(r) + "."
}

func maskTail(s string, keep int) string {
	if s == "" {
		return ""
	}
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	runes := []rune(s)
	if len(runes) <= keep {
		return strings.Repeat("*", len(runes))
	}
	return strings.Repeat("*", len(runes)-keep) + string(runes[len(runes)-keep:])
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// ConsentKind is a kind of consent.
type ConsentKind string

// Consent kinds.
const (
	ConsentPersonalData ConsentKind = "personal_data" // 152-ФЗ ст. 9: processing of personal data
	ConsentOffer        ConsentKind = "offer"         // acceptance of the program's rules (ГК РФ ст. 438)
	ConsentEmployer     ConsentKind = "employer"      // the employer allows its staff to take part (УК РФ ст. 204)
)

// Valid reports whether k is a known kind.
func (k ConsentKind) Valid() bool {
	return k == ConsentPersonalData || k == ConsentOffer || k == ConsentEmployer
}

// Requirements are the consents a program requires, and when they are
// enforced: before redeeming (an order is refused) and before crediting (a
// receipt waits in review). With neither stage on, nothing is enforced.
type Requirements struct {
	PersonalData    bool `json:"personal_data"`
	Offer           bool `json:"offer"`
	Employer        bool `json:"employer"`
	BeforeRedeeming bool `json:"before_redeeming"`
	BeforeCrediting bool `json:"before_crediting"`
}

// Stage is the act a consent requirement guards.
type Stage string

// The stages.
const (
	Redeeming Stage = "redeeming"
	Crediting Stage = "crediting"
)

// LackingFor is Lacking when the requirements are enforced at stage, and
// nothing otherwise.
func (r Requirements) LackingFor(stage Stage, h Held) []ConsentKind {
	if (stage == Redeeming && !r.BeforeRedeeming) || (stage == Crediting && !r.BeforeCrediting) {
		return nil
	}
	return r.Lacking(h)
}

// Held is which consents a participant has in force (employer: for the
// participant or for their shop).
type Held struct {
	PersonalData bool
	Offer        bool
	Employer     bool
}

// Lacking returns the required consents that are not held, in a fixed
// order; empty means the program may credit and redeem.
func (r Requirements) Lacking(h Held) []ConsentKind {
	var out []ConsentKind
	if r.PersonalData && !h.PersonalData {
		out = append(out, ConsentPersonalData)
	}
	if r.Offer && !h.Offer {
		out = append(out, ConsentOffer)
	}
	if r.Employer && !h.Employer {
		out = append(out, ConsentEmployer)
	}
	return out
}
