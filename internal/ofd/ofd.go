package ofd

import (
	"context"
	"encoding/json"
	"time"
)

// Fetcher fetches one receipt by its fiscal identity.
//
// Fetch returns the receipt after it passed CrossCheck against q, or an error
// that is one of: ErrNotYet (wrapped in *PendingError), *RejectedError,
// *RateLimitedError, a transient error (IsTransient reports true), or the
// error of ctx when ctx is done.
type Fetcher interface {
	Fetch(ctx context.Context, q Query) (Receipt, error)
}

// Query is what the QR code (or the manually typed requisites) says about a
// receipt. It mirrors the fields of fiscal.Payload without importing it.
type Query struct {
	// FN is the 16-digit fiscal drive number (QR "fn").
	FN string
	// FD is the fiscal document number (QR "i").
	FD uint64
	// FP is the fiscal sign of the document (QR "fp").
	FP uint64
	// Operation is the operation type 1..4 (QR "n").
	Operation int
	// Time is the local wall-clock time of the settlement in time.UTC
	// ("no zone" marker). Zero means unknown and skips the time check.
	Time time.Time
	// SumKopecks is the receipt total in kopecks (QR "s" × 100).
	SumKopecks int64
	// Raw is the original QR text; providers that accept it get it verbatim.
	Raw string
}

// Item is one line of a receipt.
type Item struct {
	// Name is the line as the till printed it, trimmed.
	Name string
	// PriceKopecks is the unit price after discounts.
	PriceKopecks int64
	// QuantityMilli is the quantity in thousandths (1 piece = 1000, 2.474 kg = 2474).
	QuantityMilli int64
	// SumKopecks is the line total.
	SumKopecks int64
	// GTIN is the EAN-13 (or GTIN-8/14 without a leading zero) read from the
	// marking code (productCodeNew, productCodeData, tag 1162 as
	// nomenclatureCode/productCode), "" when the item is not marked.
	GTIN string
	// ProductType is tag 1212 (1 товар, 2 подакцизный, … 33 маркированный in FFD 1.2 samples), 0 if absent.
	ProductType int
	// PaymentType is tag 1214 (4 = полный расчёт), 0 if absent.
	PaymentType int
	// NDS is the VAT rate code (tag 1199), 0 if absent.
	NDS int
	// Measure is the FFD 1.2 unit code (tag 2108: 0 шт, 11 кг, 41 л, …), -1 if absent.
	Measure int
}

// Receipt is a verified fiscal receipt.
type Receipt struct {
	FN        string // fiscalDriveNumber
	FD        uint64 // fiscalDocumentNumber
	FP        uint64 // fiscalSign
	Operation int    // operationType 1..4
	// Time is the local wall-clock time of the settlement in time.UTC.
	Time time.Time
	// TimeFromEpoch is true when the source gave dateTime as Unix seconds; Time
	// is then that instant read in Moscow time, which may differ from the
	// shop's wall clock by whole hours (CrossCheck allows for it).
	TimeFromEpoch bool

	TotalKopecks     int64 // totalSum
	CashKopecks      int64 // cashTotalSum
	ECashKopecks     int64 // ecashTotalSum
	PrepaidKopecks   int64 // prepaidSum
	CreditKopecks    int64 // creditSum
	ProvisionKopecks int64 // provisionSum

	SellerName    string // user
	SellerINN     string // userInn, trimmed
	RetailPlace   string // retailPlace
	RetailAddress string // retailPlaceAddress
	KKTRegID      string // kktRegId, trimmed

	// MessageFiscalSign is the document's message fiscal sign as decimal text
	// (it does not fit float64 exactly), "" if absent.
	MessageFiscalSign string

	Items []Item

	// Provider names the service that returned the receipt ("proverkacheka", "openapi").
	Provider string
	// Raw is the receipt JSON object exactly as the provider sent it.
	Raw json.RawMessage
}
