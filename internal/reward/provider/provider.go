// Package provider is the contract between redemption (internal/reward)
// and the outside companies that fulfil rewards: gift-certificate
// aggregators (Giftery's B2B API), mobile and e-wallet top-up gateways.
// Each provider has a client in its own package under internal/reward/
// that implements Provider over the provider's real, documented protocol,
// and a simulator beside it that speaks the same protocol with its
// failure modes.
//
// The one rule that keeps redemption exactly-once: an order is placed
// under OUR order id, which the provider treats as its idempotency key,
// and an outcome that is not known for certain is reported as
// ErrUnknownOutcome — the saga then asks Status, and never places the
// order again blindly.
package provider

import (
	"context"
	"errors"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Kind is the kind of a reward.
type Kind string

// Reward kinds.
const (
	GiftCertificate Kind = "gift_certificate" // an electronic certificate of a retail chain
	MobileTopUp     Kind = "mobile_topup"     // a mobile phone account top-up
	WalletTopUp     Kind = "wallet_topup"     // an e-wallet top-up
	PrepaidCard     Kind = "prepaid_card"     // a prepaid bank card (virtual)
	Physical        Kind = "physical"         // a prize delivered by post or courier
)

// Product is one item of a provider's product list, as synchronised into
// the global reward catalog.
type Product struct {
	Provider    string // Provider.Name()
	ExternalID  string // the provider's product id
	Kind        Kind
	Title       string // in Russian, as the provider gives it
	Brand       string
	Description string
	ImageURL    string
	// A product has either fixed face values or a free range.
	FixedFaces []money.Kopecks
	FaceMin    money.Kopecks
	FaceMax    money.Kopecks
	Available  bool
}

// Order is one fulfilment request.
type Order struct {
	// ID is our order id; the provider's idempotency key. Placing the
	// same ID twice must never fulfil twice.
	ID            string
	ProductID     string // Product.ExternalID
	Face          money.Kopecks
	Phone         string // E.164, for top-ups
	Account       string // e-wallet account, for wallet top-ups
	Email         string // where the provider may send the certificate
	RecipientName string
}

// Status of an order at the provider.
type Status string

// Order statuses.
const (
	Done       Status = "done"       // fulfilled; Result carries the code or receipt
	Processing Status = "processing" // accepted, not finished: ask Status later
	Failed     Status = "failed"     // definitely not fulfilled and never will be
)

// Result is what a provider says of an order.
type Result struct {
	Status      Status
	ProviderRef string // the provider's own order id
	// Delivered goods of a certificate; empty for a top-up.
	Code      string
	PIN       string
	URL       string
	ExpiresAt time.Time
	// Cost is what the provider charged us, when it says.
	Cost money.Kopecks
	// Reason is the provider's words for a failure.
	Reason string
}

// Errors a Provider returns. Any other error from Place is treated as
// ErrUnknownOutcome: the saga reconciles rather than guesses.
var (
	// ErrUnknownOutcome: the request may have reached the provider (a
	// timeout after sending, a 5xx, a broken connection): ask Status.
	ErrUnknownOutcome = errors.New("provider: outcome unknown")
	// ErrNotSent: the request certainly did not reach the provider (no
	// connection, refused before sending): safe to place again later.
	ErrNotSent = errors.New("provider: not sent")
	// ErrOrderNotFound: Status of an order the provider never received.
	ErrOrderNotFound = errors.New("provider: order not found")
	// ErrOutOfStock: the product cannot be fulfilled now (definite failure).
	ErrOutOfStock = errors.New("provider: out of stock")
	// ErrBadRecipient: the phone or account is wrong (definite failure).
	ErrBadRecipient = errors.New("provider: bad recipient")
	// ErrRejected: any other definite refusal (bad face value, no funds on
	// our account with the provider, product withdrawn).
	ErrRejected = errors.New("provider: rejected")
)

// Provider fulfils rewards.
type Provider interface {
	// Name is the provider's stable name ("giftery", ...).
	Name() string
	// Products returns the provider's current product list.
	Products(ctx context.Context) ([]Product, error)
	// Place places o. It returns Result with Status Done or Processing,
	// or an error above (definite failures wrap ErrOutOfStock,
	// ErrBadRecipient, ErrRejected).
	Place(ctx context.Context, o Order) (Result, error)
	// Status asks what became of order o, found at the provider by o.ID
	// (some protocols need more of the order to find it: QIWI's status
	// request also carries the recipient's phone number, so the whole
	// order is passed, as recorded when it was placed). ErrOrderNotFound
	// if the provider never received it (then it may be placed again).
	// Any other error means "not known now": ask again later.
	Status(ctx context.Context, o Order) (Result, error)
}
