// Package budget is the staff side of a program's budget: topping it up
// (a funding transaction of the ledger with a document), its history and
// figures, the alerts at configurable thresholds (percent spent, days of
// runway left at the recent spending) raised once per crossing, and the
// program's choice of what happens when the budget cannot pay a receipt.
//
// Pure: the rules and types live here, the store is
// internal/postgres/budgetdb, the routes internal/adminapi and the pages
// internal/dashboard.
package budget

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// AtZero is what a program does when its budget cannot pay a receipt.
type AtZero string

const (
	// Pause: crediting stops; the receipt settles without points and the
	// seller reads that crediting is paused until the budget is topped up.
	Pause AtZero = "pause"
	// Review: the receipt goes to the moderation queue with the points it
	// would earn; a moderator credits it after a top-up.
	Review AtZero = "review"
)

// Valid reports whether z is a known choice.
func (z AtZero) Valid() bool { return z == Pause || z == Review }

// Limits of a top-up.
const (
	// MaxTopUpKopecks bounds one top-up (10 000 000 000 ₽), far below what
	// would overflow the client's funding account over many top-ups.
	MaxTopUpKopecks  = 1_000_000_000_000
	MaxDocumentRunes = 500
	MaxCommentRunes  = 2000
	MaxKeyLen        = 200
	// RunwayWindowDays is the window of recent spending the runway
	// forecast is measured on.
	RunwayWindowDays = 14
)

// Errors.
var (
	ErrProgramNotFound = apperr.New(apperr.NotFound, "program_not_found", "Программа не найдена.")
	ErrClientNotFound  = apperr.New(apperr.NotFound, "client_not_found", "Клиент не найден.")
	ErrKeyMissing      = &apperr.Error{Kind: apperr.Invalid, Code: "idempotency_key_required",
		Message: "Укажите заголовок Idempotency-Key (1–200 видимых символов ASCII): повтор запроса с тем же ключом не пополнит бюджет дважды.", Field: "Idempotency-Key"}
	ErrKeyReused = apperr.New(apperr.Conflict, "idempotency_key_reused",
		"Этот Idempotency-Key уже использован для другого запроса.")
	ErrDocument = &apperr.Error{Kind: apperr.Invalid, Code: "document_required",
		Message: "Укажите документ-основание (номер и дата договора, счёта или платёжного поручения), до 500 символов.", Field: "document"}
	ErrComment = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_comment",
		Message: "Комментарий длиннее 2000 символов или не в UTF-8.", Field: "comment"}
	ErrSettings = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_budget_settings",
		Message: "Пороги: до 10 процентов от 1 до 100, прогноз от 0 до 365 дней, при нуле — pause или review."}
)

// AmountError is the error of a hostile or malformed amount.
func AmountError(field, why string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_amount", Field: field,
		Message: "Сумма " + why + ": укажите рубли строкой, например \"15000\" или \"15000.50\"."}
}

// ParseAmount reads a positive amount of roubles from a JSON value that
// must be a string ("15000.50", "15 000,50"): numbers are refused, because
// a JSON number may be 1e3 or 0.1 and go through floating point on the
// way. It refuses zero, negatives, more than two decimals and more than
// max kopecks.
func ParseAmount(field, s string, max int64) (money.Kopecks, error) {
	k, err := money.Parse(strings.TrimSpace(s))
	switch {
	case errors.Is(err, money.ErrPrecision):
		return 0, AmountError(field, "с более чем двумя знаками после запятой")
	case errors.Is(err, money.ErrRange):
		return 0, AmountError(field, "слишком велика")
	case err != nil:
		return 0, AmountError(field, "не число")
	case k <= 0:
		return 0, AmountError(field, "должна быть больше нуля")
	case int64(k) > max:
		return 0, AmountError(field, "больше предела "+money.Kopecks(max).Roubles())
	}
	return k, nil
}

// CheckKey validates an Idempotency-Key: 1–200 printable ASCII characters.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return ErrKeyMissing
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return ErrKeyMissing
		}
	}
	return nil
}

// CheckText validates a free text of at most max runes; required refuses
// an empty one.
func CheckText(s string, max int, required bool) bool {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return false
	}
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsRune(s, 0)
}

// Hash is the fingerprint of a request's content, stored with its
// Idempotency-Key: the same key with other content is ErrKeyReused.
func Hash(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TopUpRequest is a staff member's top-up of one program.
type TopUpRequest struct {
	ProgramID      int64
	AmountKopecks  money.Kopecks
	Document       string
	Comment        string
	IdempotencyKey string
}

// Validate checks r's texts and key (the amount is checked when parsed).
func (r *TopUpRequest) Validate() error {
	r.Document, r.Comment = strings.TrimSpace(r.Document), strings.TrimSpace(r.Comment)
	if err := CheckKey(r.IdempotencyKey); err != nil {
		return err
	}
	if r.AmountKopecks <= 0 || r.AmountKopecks > MaxTopUpKopecks {
		return AmountError("amount", "вне допустимого диапазона")
	}
	if !CheckText(r.Document, MaxDocumentRunes, true) {
		return ErrDocument
	}
	if !CheckText(r.Comment, MaxCommentRunes, false) {
		return ErrComment
	}
	return nil
}

// Hash is r's fingerprint for its Idempotency-Key.
func (r TopUpRequest) Hash() string {
	return Hash("topup", r.ProgramID, int64(r.AmountKopecks), r.Document, r.Comment)
}

// TopUp is a recorded top-up.
type TopUp struct {
	ID            int64         `json:"id"`
	ProgramID     int64         `json:"program_id"`
	AmountKopecks money.Kopecks `json:"amount_kopecks"`
	Amount        string        `json:"amount"`
	Document      string        `json:"document"`
	Comment       string        `json:"comment"`
	LedgerTxID    int64         `json:"ledger_transaction_id"`
	CreatedBy     int64         `json:"created_by"`
	CreatedByName string        `json:"created_by_name"`
	CreatedAt     time.Time     `json:"created_at"`
	// Replayed: an earlier request with the same Idempotency-Key did it.
	Replayed bool `json:"replayed"`
}

// Settings are a program's budget settings.
type Settings struct {
	AtZero        AtZero `json:"at_zero"`
	AlertPercents []int  `json:"alert_percents"`
	// AlertRunwayDays: alert when the balance lasts fewer days than this at
	// the last RunwayWindowDays' spending; 0: off.
	AlertRunwayDays int `json:"alert_runway_days"`
}

// Normalize sorts and de-duplicates the percents and validates s.
func (s *Settings) Normalize() error {
	if !s.AtZero.Valid() || len(s.AlertPercents) > 10 || s.AlertRunwayDays < 0 || s.AlertRunwayDays > 365 {
		return ErrSettings
	}
	for _, p := range s.AlertPercents {
		if p < 1 || p > 100 {
			return ErrSettings
		}
	}
	slices.Sort(s.AlertPercents)
	s.AlertPercents = slices.Compact(s.AlertPercents)
	if s.AlertPercents == nil {
		s.AlertPercents = []int{}
	}
	return nil
}

// Figures are a program's budget as of now, from the ledger.
type Figures struct {
	FundedKopecks  money.Kopecks `json:"funded_kopecks"`  // Σ funding into the budget account
	SpentKopecks   money.Kopecks `json:"spent_kopecks"`   // funded − balance
	BalanceKopecks money.Kopecks `json:"balance_kopecks"` // what it can still pay
	// RecentKopecks is what the last RunwayWindowDays days spent.
	RecentKopecks money.Kopecks `json:"recent_kopecks"`
	// RunwayDays is how many days the balance lasts at the recent
	// spending; -1 when nothing was spent recently (no forecast).
	RunwayDays int `json:"runway_days"`
}

// NewFigures derives spent and runway from funded, balance and recent.
func NewFigures(funded, balance, recent int64) Figures {
	f := Figures{FundedKopecks: money.Kopecks(funded), BalanceKopecks: money.Kopecks(balance),
		SpentKopecks: money.Kopecks(funded - balance), RecentKopecks: money.Kopecks(recent), RunwayDays: -1}
	if recent > 0 {
		// Integer days: balance / (recent / window), rounded down.
		f.RunwayDays = int(min(balance*RunwayWindowDays/recent, 100_000))
	}
	return f
}

// SpentPercent is the share of the funded budget spent, rounded down; 0
// for a budget never funded.
func (f Figures) SpentPercent() int {
	if f.FundedKopecks <= 0 {
		return 0
	}
	return int(int64(f.SpentKopecks) * 100 / int64(f.FundedKopecks))
}

// Alert kinds.
const (
	KindSpentPercent = "spent_percent"
	KindRunwayDays   = "runway_days"
	KindExhausted    = "exhausted"
)

// Condition is an alert condition that holds now.
type Condition struct {
	Kind      string `json:"kind"`
	Threshold int    `json:"threshold"`
	Message   string `json:"message"`
}

// Conditions returns the alert conditions that hold for f under s, for
// program name: each percent reached, the runway below the set days (when
// the program spent anything recently), and a budget at zero. A budget
// never funded raises nothing: there is nothing to run out of.
func Conditions(name string, f Figures, s Settings) []Condition {
	if f.FundedKopecks <= 0 {
		return nil
	}
	var out []Condition
	pct := f.SpentPercent()
	for _, p := range s.AlertPercents {
		if pct >= p {
			out = append(out, Condition{Kind: KindSpentPercent, Threshold: p,
				Message: fmt.Sprintf("Программа «%s»: израсходовано %d%% бюджета (порог %d%%), остаток %s.",
					name, pct, p, f.BalanceKopecks.Roubles())})
		}
	}
	if s.AlertRunwayDays > 0 && f.RunwayDays >= 0 && f.RunwayDays < s.AlertRunwayDays && f.BalanceKopecks > 0 {
		out = append(out, Condition{Kind: KindRunwayDays, Threshold: s.AlertRunwayDays,
			Message: fmt.Sprintf("Программа «%s»: при расходе последних %d дней бюджета хватит примерно на %d дн. (порог %d дн.), остаток %s.",
				name, RunwayWindowDays, f.RunwayDays, s.AlertRunwayDays, f.BalanceKopecks.Roubles())})
	}
	if f.BalanceKopecks <= 0 {
		what := "начисления приостановлены до пополнения"
		if s.AtZero == Review {
			what = "новые чеки уходят на модерацию до пополнения"
		}
		out = append(out, Condition{Kind: KindExhausted, Threshold: 0,
			Message: fmt.Sprintf("Программа «%s»: бюджет исчерпан, %s.", name, what)})
	}
	return out
}

// Alert is a raised alert.
type Alert struct {
	ID        int64      `json:"id"`
	ProgramID int64      `json:"program_id"`
	Kind      string     `json:"kind"`
	Threshold int        `json:"threshold"`
	Message   string     `json:"message"`
	RaisedAt  time.Time  `json:"raised_at"`
	EmailedAt *time.Time `json:"emailed_at"`
	ClearedAt *time.Time `json:"cleared_at"`
}

// Overview is a program's budget page: figures, settings, open alerts and
// the latest top-ups.
type Overview struct {
	ProgramID   int64     `json:"program_id"`
	ProgramName string    `json:"program_name"`
	ClientID    int64     `json:"client_id"`
	Figures     Figures   `json:"figures"`
	Settings    Settings  `json:"settings"`
	Alerts      []Alert   `json:"alerts"`
	TopUps      []TopUp   `json:"top_ups"`
	AsOf        time.Time `json:"as_of"`
}

// PausedMessage is what a seller reads on a receipt the budget could not
// pay in a program that pauses crediting at zero.
const PausedMessage = "Начисления по программе приостановлены: бюджет программы исчерпан. Чек сохранён; баллы за него не начислены."

// ReviewMessage is what a seller reads on a receipt waiting for a
// moderator because the budget could not pay it.
const ReviewMessage = "Бюджет программы исчерпан: чек передан на проверку и будет начислен после пополнения бюджета."
