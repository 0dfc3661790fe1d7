package mobileapi

// The points routes: the participant's balance and ledger history.

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Ledger is what the points routes read (ledgerdb.Store implements it).
type Ledger interface {
	// Balance returns the participant's available and pending points.
	Balance(ctx context.Context, participantID int64) (ledger.Balance, error)
	// History returns a page of the participant's ledger lines, newest
	// first; an unusable cursor is an apperr of kind Invalid.
	History(ctx context.Context, participantID int64, cursor string, limit int) (ledger.HistoryPage, error)
	// PendingAtPeriodClose reports whether the participant has pending
	// points in a program credited at period close.
	PendingAtPeriodClose(ctx context.Context, participantID int64) (bool, error)
}

// registerPoints mounts GET /v1/balance and GET /v1/ledger on v1.
func (a *API) registerPoints(v1 fiber.Router, authn fiber.Handler) {
	v1.Get("/balance", authn, a.balance)
	v1.Get("/ledger", authn, a.history)
}

// balanceResponse is the body of GET /v1/balance. Points are roubles; the
// kopeck fields are exact, the decimal strings are for display.
type balanceResponse struct {
	AvailableKopecks int64  `json:"available_kopecks"`
	PendingKopecks   int64  `json:"pending_kopecks"`
	Available        string `json:"available"`
	Pending          string `json:"pending"`
	// HeldKopecks: points of prize orders not yet delivered or failed.
	HeldKopecks int64  `json:"held_kopecks"`
	Held        string `json:"held"`
	// PendingReleaseOn is the date (YYYY-MM-DD, UTC) pending points of a
	// program credited at period close become available; null when nothing
	// is pending that way.
	PendingReleaseOn *string `json:"pending_release_on"`
}

func (a *API) balance(c *fiber.Ctx) error {
	id := callerOf(c).ID
	b, err := a.ledger.Balance(c.UserContext(), id)
	if err != nil {
		return err
	}
	resp := balanceResponse{AvailableKopecks: b.AvailableKopecks, PendingKopecks: b.PendingKopecks,
		Available: money.Kopecks(b.AvailableKopecks).String(), Pending: money.Kopecks(b.PendingKopecks).String(),
		HeldKopecks: b.HeldKopecks, Held: money.Kopecks(b.HeldKopecks).String()}
	if b.PendingKopecks > 0 {
		atClose, err := a.ledger.PendingAtPeriodClose(c.UserContext(), id)
		if err != nil {
			return err
		}
		if atClose {
			d := ledger.NextRelease(a.now()).Format("2006-01-02")
			resp.PendingReleaseOn = &d
		}
	}
	return c.JSON(resp)
}

// ledgerLine is one line of GET /v1/ledger.
type ledgerLine struct {
	ID               int64     `json:"id"`
	At               time.Time `json:"at"`
	Kind             string    `json:"kind"`
	AvailableKopecks int64     `json:"available_kopecks"`
	PendingKopecks   int64     `json:"pending_kopecks"`
	ReceiptID        string    `json:"receipt_id,omitempty"`
	Reason           string    `json:"reason"`
}

// ledgerResponse is the body of GET /v1/ledger.
type ledgerResponse struct {
	Items      []ledgerLine `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

var errLedgerBadLimit = &apperr.Error{Kind: apperr.Invalid, Code: "bad_limit", Message: "limit должен быть числом от 1 до 100.", Field: "limit"}

func (a *API) history(c *fiber.Ctx) error {
	id := callerOf(c).ID
	limit := 20
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return errLedgerBadLimit
		}
		limit = n
	}
	page, err := a.ledger.History(c.UserContext(), id, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	resp := ledgerResponse{Items: make([]ledgerLine, 0, len(page.Entries)), NextCursor: page.NextCursor}
	for _, e := range page.Entries {
		resp.Items = append(resp.Items, ledgerLine{ID: e.TransactionID, At: e.At, Kind: e.Kind,
			AvailableKopecks: e.AvailableKopecks, PendingKopecks: e.PendingKopecks, ReceiptID: e.ReceiptID, Reason: e.Reason})
	}
	return c.JSON(resp)
}
