// Package reward is spending points: the catalog a participant chooses
// from, the redemption order and its saga. An order moves the points from
// the participant's available account to a hold in the same transaction
// that records it; a queued task places it with the provider under the
// order's id (the provider's idempotency key); delivery commits the hold
// to the client's redemption account, a definite failure voids it, and an
// unknown outcome is reconciled by asking the provider (provider.Status),
// never by placing again blindly.
//
// Storage is internal/postgres/rewarddb; providers implement
// internal/reward/provider.Provider.
package reward

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// Status of a redemption.
type Status string

// Redemption statuses (redemptions.status).
const (
	// Moderation: above the program's threshold, waits for a moderator;
	// the points are held.
	Moderation Status = "moderation"
	// Queued: to be placed with the provider; nothing was sent yet (or the
	// provider said it never received it).
	Queued Status = "queued"
	// Placing: a request may have reached the provider. Before anything
	// else the saga asks the provider what became of it.
	Placing Status = "placing"
	// Processing: the provider accepted it and has not finished.
	Processing Status = "processing"
	// Delivered: final; the hold is committed to redemption.
	Delivered Status = "delivered"
	// Failed: final; the hold is voided, the points are back.
	Failed Status = "failed"
	// Refunded: final; delivered, then taken back by the operator (the
	// provider cancelled it): the points are back.
	Refunded Status = "refunded"
)

// Final reports whether s is a final status.
func (s Status) Final() bool { return s == Delivered || s == Failed || s == Refunded }

// Open reports whether the saga still has work on an order in s.
func (s Status) Open() bool { return s == Queued || s == Placing || s == Processing }

// StatusText is the Russian name of a status, for the participant.
func (s Status) StatusText() string {
	switch s {
	case Moderation:
		return "Ожидает проверки модератором"
	case Queued:
		return "Заказ принят"
	case Placing, Processing:
		return "Заказ оформляется у поставщика"
	case Delivered:
		return "Выдан"
	case Failed:
		return "Не выполнен, баллы возвращены"
	case Refunded:
		return "Отменён после выдачи, баллы возвращены"
	}
	return string(s)
}

// Offer is what a participant sees in GET /v1/rewards: a client's offer of
// a catalog reward in a program, priced in points.
type Offer struct {
	ID          int64
	ProgramID   int64
	RewardID    int64
	Provider    string
	Kind        provider.Kind
	Title       string
	Brand       string
	Description string
	ImageURL    string
	FixedFaces  []money.Kopecks
	FaceMin     money.Kopecks
	FaceMax     money.Kopecks
	MarkupBP    int
	Roles       []string
	// Available: the client offers it, the provider has it, the operator
	// has not withdrawn it and the stock is not exhausted.
	Available bool
	Stock     *int // nil: unlimited
}

// Price is the price in points (kopecks) of face value face under a
// markup (> 0) or subsidy (< 0) in basis points, rounded up to a whole
// kopeck: 1 point = 1 ₽ by default.
func Price(face money.Kopecks, markupBP int) money.Kopecks {
	n := int64(face) * int64(10000+markupBP)
	p := n / 10000
	if n%10000 != 0 {
		p++
	}
	return money.Kopecks(p)
}

// FaceAllowed reports whether face is one the offer's reward allows.
func (o Offer) FaceAllowed(face money.Kopecks) bool {
	if face <= 0 {
		return false
	}
	for _, f := range o.FixedFaces {
		if f == face {
			return true
		}
	}
	return o.FaceMax > 0 && face >= o.FaceMin && face <= o.FaceMax
}

// Limits are a program's redemption limits in kopecks of points; zero is
// no limit.
type Limits struct {
	PerOrder money.Kopecks
	PerDay   money.Kopecks
	PerMonth money.Kopecks
	// Moderation: an order priced above it waits for a moderator.
	Moderation money.Kopecks
	// CoolingOffCredit and CoolingOffFor: after a single credit of at least
	// CoolingOffCredit the participant cannot redeem for CoolingOffFor
	// (a large credit may still be reversed). Zero: no cooling-off.
	CoolingOffCredit money.Kopecks
	CoolingOffFor    time.Duration
}

// Request is a participant's order.
type Request struct {
	ClientID       int64
	ParticipantID  int64
	Role           string
	OfferID        int64
	Face           money.Kopecks
	Phone          string
	Account        string
	Email          string
	IdempotencyKey string
}

// Validate checks the request's shape (not its money).
func (r Request) Validate() error {
	switch {
	case r.IdempotencyKey == "" || len(r.IdempotencyKey) > 200:
		return ErrIdempotencyKey
	case r.OfferID <= 0:
		return &apperr.Error{Kind: apperr.Invalid, Code: "offer_required", Message: "Не выбран приз.", Field: "offer_id"}
	case r.Face <= 0:
		return ErrFace
	case len(r.Phone) > 20 || len(r.Account) > 100 || len(r.Email) > 200:
		return &apperr.Error{Kind: apperr.Invalid, Code: "recipient_too_long", Message: "Слишком длинные данные получателя."}
	}
	return nil
}

// Event is one line of an order's status history.
type Event struct {
	Status  Status
	Message string
	At      time.Time
}

// Redemption is one order.
type Redemption struct {
	ID            string
	ClientID      int64
	ProgramID     int64
	ParticipantID int64
	OfferID       int64
	RewardID      int64
	Provider      string
	ExternalID    string // the provider's product id
	Kind          provider.Kind
	Title         string
	Face          money.Kopecks
	Price         money.Kopecks
	Phone         string
	Account       string
	Email         string
	Status        Status
	Attempts      int
	ProviderRef   string
	// Code, PIN and URL are the delivered goods, opened for the owner
	// only (the store keeps them sealed).
	Code, PIN, URL string
	ExpiresAt      time.Time
	Cost           money.Kopecks
	FailureCode    string
	FailureMessage string
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Events         []Event
}

// Order is the provider order of r: r's id is its idempotency key.
func (r Redemption) Order() provider.Order {
	return provider.Order{ID: r.ID, ProductID: r.ExternalID, Face: r.Face, Phone: r.Phone, Account: r.Account, Email: r.Email}
}

// TaxGate answers whether a participant must complete a tax profile before
// this redemption (the tax rules: income above the annual exemption). The
// tax domain implements it; when none is configured redemption does not
// ask. Complete returning true refuses the order with ErrTaxProfileRequired.
type TaxGate interface {
	NeedsTaxProfile(ctx context.Context, clientID, participantID int64, price money.Kopecks) (bool, error)
}

// ConsentGate answers which consents a participant lacks that the
// program requires before redeeming (the tax domain's consents, docs/tax.md).
// An order of a participant lacking any is refused with ConsentRequired;
// without a gate redemption does not ask.
type ConsentGate interface {
	LackingForRedeeming(ctx context.Context, clientID, programID, participantID int64) ([]string, error)
}

// ConsentRequired is the refusal of an order whose participant lacks
// consents the program requires: code consent_required, the lacking kinds
// (personal_data, offer, employer) comma-separated in Field.
func ConsentRequired(kinds []string) *apperr.Error {
	return &apperr.Error{Kind: apperr.Forbidden, Code: "consent_required",
		Message: "Программа требует согласий перед заказом приза: " + consentNames(kinds) + ".",
		Field:   strings.Join(kinds, ",")}
}

func consentNames(kinds []string) string {
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		switch k {
		case "personal_data":
			names = append(names, "на обработку персональных данных")
		case "offer":
			names = append(names, "с правилами программы")
		case "employer":
			names = append(names, "работодателя")
		default:
			names = append(names, k)
		}
	}
	return strings.Join(names, ", ")
}

// Delivery is a reward handed to a participant: income in kind for the
// tax domain.
type Delivery struct {
	RedemptionID  string
	ClientID      int64
	ProgramID     int64
	ParticipantID int64
	Kind          provider.Kind
	Title         string
	Face          money.Kopecks // the reward's face value
	Price         money.Kopecks // the points spent
	At            time.Time
}

// DeliverySubscriber consumes deliveries and reversals in the transaction
// that commits them (Tx is the store's transaction handle, pgx.Tx for
// rewarddb). A retried transaction calls it again: write idempotently,
// keyed on RedemptionID. An error rolls the settlement back.
type DeliverySubscriber[Tx any] interface {
	RewardDelivered(ctx context.Context, tx Tx, d Delivery) error
	// RewardReversed: a delivered reward was taken back (the operator
	// refunded it after the provider cancelled it); d describes the
	// delivery, with At the time of the reversal.
	RewardReversed(ctx context.Context, tx Tx, d Delivery, reason string) error
}

// Notifier tells a participant about their order (delivered, failed) in
// the transaction that settles it; notifydb.Notifier implements it with
// the inbox outbox.
type Notifier[Tx any] interface {
	Notify(ctx context.Context, tx Tx, in notify.Intent) error
}

// Errors of redemption.
var (
	ErrIdempotencyKey     = &apperr.Error{Kind: apperr.Invalid, Code: "idempotency_key_required", Message: "Нужен заголовок Idempotency-Key (до 200 символов)."}
	ErrFace               = &apperr.Error{Kind: apperr.Invalid, Code: "bad_face_value", Message: "Такой номинал для этого приза недоступен.", Field: "face_kopecks"}
	ErrOfferNotFound      = apperr.New(apperr.NotFound, "reward_not_found", "Приз не найден.")
	ErrNotFound           = apperr.New(apperr.NotFound, "redemption_not_found", "Заказ не найден.")
	ErrUnavailable        = apperr.New(apperr.Conflict, "reward_unavailable", "Приз сейчас недоступен.")
	ErrOutOfStock         = apperr.New(apperr.Conflict, "reward_out_of_stock", "Призы закончились.")
	ErrBlocked            = apperr.New(apperr.Forbidden, "participant_blocked", "Участник заблокирован и не может заказывать призы.")
	ErrRole               = apperr.New(apperr.Forbidden, "reward_not_for_role", "Этот приз недоступен для вашей роли.")
	ErrPerOrder           = apperr.New(apperr.Conflict, "limit_per_order", "Сумма заказа превышает лимит на один заказ.")
	ErrPerDay             = apperr.New(apperr.Conflict, "limit_per_day", "Превышен дневной лимит заказов.")
	ErrPerMonth           = apperr.New(apperr.Conflict, "limit_per_month", "Превышен месячный лимит заказов.")
	ErrTaxProfileRequired = apperr.New(apperr.Conflict, "tax_profile_required", "Перед заказом заполните налоговый профиль.")
	ErrKeyReused          = apperr.New(apperr.Conflict, "idempotency_key_reused", "Этот Idempotency-Key уже использован для другого заказа.")
	ErrRecipient          = &apperr.Error{Kind: apperr.Invalid, Code: "recipient_required", Message: "Укажите номер телефона или счёт кошелька для пополнения."}
	ErrCoolingOff         = apperr.New(apperr.Conflict, "cooling_off", "После крупного начисления заказ призов временно недоступен. Попробуйте позже.")
	ErrNotRefundable      = apperr.New(apperr.Conflict, "redemption_not_refundable", "Вернуть баллы можно только за выданный заказ.")
	ErrNotVoidable        = apperr.New(apperr.Conflict, "redemption_not_voidable", "Заказ нельзя отменить: поставщик мог его выполнить.")
)

// CheckLimits checks an order priced price against limits, given what the
// participant ordered today and this month (open and delivered orders).
func CheckLimits(l Limits, price, today, month money.Kopecks) error {
	switch {
	case l.PerOrder > 0 && price > l.PerOrder:
		return ErrPerOrder
	case l.PerDay > 0 && today+price > l.PerDay:
		return ErrPerDay
	case l.PerMonth > 0 && month+price > l.PerMonth:
		return ErrPerMonth
	}
	return nil
}

// NeedsModeration reports whether an order priced price waits for a
// moderator.
func (l Limits) NeedsModeration(price money.Kopecks) bool {
	return l.Moderation > 0 && price > l.Moderation
}

// Failure reasons recorded on failed orders (failure_code) with the
// participant's message.
var failureMessages = map[string]string{
	"out_of_stock":    "У поставщика закончились призы этого вида. Баллы возвращены.",
	"bad_recipient":   "Поставщик не принял номер телефона или счёт. Баллы возвращены.",
	"rejected":        "Поставщик отказал в выполнении заказа. Баллы возвращены.",
	"provider_failed": "Поставщик не смог выполнить заказ. Баллы возвращены.",
	"voided":          "Заказ отменён оператором. Баллы возвращены.",
	"moderation":      "Заказ отклонён модератором. Баллы возвращены.",
	"no_provider":     "Поставщик приза недоступен. Баллы возвращены.",
}

// FailureMessage is the participant's text of failure code code.
func FailureMessage(code string) string {
	if m, ok := failureMessages[code]; ok {
		return m
	}
	return "Заказ не выполнен. Баллы возвращены."
}

// FailureCode maps a definite provider failure to a failure code; ok is
// false when err is not a definite failure.
func FailureCode(err error) (code string, ok bool) {
	switch {
	case errors.Is(err, provider.ErrOutOfStock):
		return "out_of_stock", true
	case errors.Is(err, provider.ErrBadRecipient):
		return "bad_recipient", true
	case errors.Is(err, provider.ErrRejected):
		return "rejected", true
	}
	return "", false
}

// HoldKey, SettleKey are the ledger idempotency keys of an order's hold
// and of its one settlement (commit or void): an order settles once.
func HoldKey(id string) string   { return "redemption:" + id + ":hold" }
func SettleKey(id string) string { return "redemption:" + id + ":settle" }

// String names an order in logs.
func (r Redemption) String() string {
	return fmt.Sprintf("redemption %s (%s, %s)", r.ID, r.Status, r.Provider)
}
