// Package pointsapi serves a participant's points over HTTP (Fiber):
// GET /v1/balance and GET /v1/ledger. It is thin: the participant comes from
// the caller's authentication, the data from the ledger store, and errors
// are apperr values rendered by internal/httpapi.
package pointsapi

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
)

// Ledger is what the handlers read (ledgerdb.Store implements it).
type Ledger interface {
	// Balance returns the participant's available and pending points.
	Balance(ctx context.Context, participantID int64) (ledger.Balance, error)
	// History returns a page of the participant's ledger lines, newest
	// first; an unusable cursor is an apperr of kind Invalid.
	History(ctx context.Context, participantID int64, cursor string, limit int) (ledger.HistoryPage, error)
}

// ParticipantFunc returns the authenticated participant of the request, or
// an apperr (Unauthorized) when there is none.
type ParticipantFunc func(c *fiber.Ctx) (int64, error)

// Mount registers GET /v1/balance and GET /v1/ledger on r.
func Mount(r fiber.Router, l Ledger, participant ParticipantFunc) {
	h := handlers{l: l, participant: participant}
	r.Get("/v1/balance", h.balance)
	r.Get("/v1/ledger", h.history)
}

type handlers struct {
	l           Ledger
	participant ParticipantFunc
}

// BalanceResponse is the body of GET /v1/balance. Points are roubles; the
// kopeck fields are exact, the decimal strings are for display.
type BalanceResponse struct {
	AvailableKopecks int64  `json:"available_kopecks"`
	PendingKopecks   int64  `json:"pending_kopecks"`
	Available        string `json:"available"`
	Pending          string `json:"pending"`
}

func (h handlers) balance(c *fiber.Ctx) error {
	id, err := h.participant(c)
	if err != nil {
		return err
	}
	b, err := h.l.Balance(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(BalanceResponse{AvailableKopecks: b.AvailableKopecks, PendingKopecks: b.PendingKopecks,
		Available: Rubles(b.AvailableKopecks), Pending: Rubles(b.PendingKopecks)})
}

// LedgerLine is one line of GET /v1/ledger.
type LedgerLine struct {
	ID               int64     `json:"id"`
	At               time.Time `json:"at"`
	Kind             string    `json:"kind"`
	AvailableKopecks int64     `json:"available_kopecks"`
	PendingKopecks   int64     `json:"pending_kopecks"`
	ReceiptID        string    `json:"receipt_id,omitempty"`
	Reason           string    `json:"reason"`
}

// LedgerResponse is the body of GET /v1/ledger.
type LedgerResponse struct {
	Items      []LedgerLine `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

var errBadLimit = &apperr.Error{Kind: apperr.Invalid, Code: "bad_limit", Message: "limit должен быть числом от 1 до 100.", Field: "limit"}

func (h handlers) history(c *fiber.Ctx) error {
	id, err := h.participant(c)
	if err != nil {
		return err
	}
	limit := 20
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return errBadLimit
		}
		limit = n
	}
	page, err := h.l.History(c.UserContext(), id, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	resp := LedgerResponse{Items: make([]LedgerLine, 0, len(page.Entries)), NextCursor: page.NextCursor}
	for _, e := range page.Entries {
		resp.Items = append(resp.Items, LedgerLine{ID: e.TransactionID, At: e.At, Kind: e.Kind,
			AvailableKopecks: e.AvailableKopecks, PendingKopecks: e.PendingKopecks, ReceiptID: e.ReceiptID, Reason: e.Reason})
	}
	return c.JSON(resp)
}

// Rubles formats kopecks as roubles with two decimals: 12345 → "123.45".
func Rubles(k int64) string {
	sign := ""
	if k < 0 {
		sign, k = "-", -k
	}
	frac := strconv.FormatInt(k%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(k/100, 10) + "." + frac
}
