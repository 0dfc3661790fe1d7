package mobileapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/intake"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

type receiptAccepted struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (a *API) submitReceipt(c *fiber.Ctx) error {
	who := callerOf(c)
	u, err := parseUpload(c.Get(fiber.HeaderContentType), c.Body(), a.intake.MaxPhotoBytes())
	if err != nil {
		return err
	}
	if u.ShopID == nil {
		u.ShopID = who.ShopID // the participant's own shop unless the app says otherwise
	}
	res, err := a.intake.Submit(c.UserContext(), intake.Request{
		ParticipantID: who.ID, ClientID: who.ClientID, IsTest: who.IsTest, ShopID: u.ShopID,
		Photo: u.Photo, QR: u.QR, Fields: u.Fields, IdempotencyKey: c.Get("Idempotency-Key"), Lat: u.Lat, Lon: u.Lon,
	})
	if err != nil {
		return fail(c, err)
	}
	status := fiber.StatusAccepted
	if !res.Created {
		status = fiber.StatusOK
	}
	r := res.Receipt
	c.Set(fiber.HeaderLocation, "/v1/receipts/"+r.ID)
	return c.Status(status).JSON(receiptAccepted{ID: r.ID, Status: string(r.Status), Message: statusMessage(r)})
}

// statusMessage is the Russian explanation of the receipt's current state.
func statusMessage(r receipt.Receipt) string {
	if r.StatusReason != "" {
		return receipt.Message(r.StatusReason)
	}
	return ""
}

type receiptSummary struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	StatusReason  string     `json:"status_reason"`
	StatusMessage string     `json:"status_message"`
	Source        string     `json:"source"`
	PurchasedAt   *string    `json:"purchased_at"`
	SumKopecks    *int64     `json:"sum_kopecks"`
	PointsKopecks int64      `json:"points_kopecks"`
	SellerName    *string    `json:"seller_name"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	VerifiedAt    *time.Time `json:"verified_at"`
}

type receiptList struct {
	Items      []receiptSummary `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

type fiscalDTO struct {
	FN          string `json:"fn"`
	FD          int64  `json:"fd"`
	FP          int64  `json:"fp"`
	Operation   int    `json:"operation"`
	PurchasedAt string `json:"purchased_at"`
	SumKopecks  int64  `json:"sum_kopecks"`
	QR          string `json:"qr"`
}

type itemDTO struct {
	LineNo        int     `json:"line_no"`
	Name          string  `json:"name"`
	PriceKopecks  int64   `json:"price_kopecks"`
	QuantityMilli int64   `json:"quantity_milli"`
	SumKopecks    int64   `json:"sum_kopecks"`
	GTIN          *string `json:"gtin"`
	SKUID         *int64  `json:"sku_id"`
	MatchHow      *string `json:"match_how"`
	MatchReason   string  `json:"match_reason"`
	PointsKopecks int64   `json:"points_kopecks"`
	PointsReason  string  `json:"points_reason"`
	// PointsExplanation says in Russian why the line earned what it did.
	PointsExplanation string `json:"points_explanation"`
}

type eventDTO struct {
	At         time.Time `json:"at"`
	FromStatus *string   `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message"`
}

// programOutcomeDTO is what one of several programs gave a receipt.
type programOutcomeDTO struct {
	ProgramID     int64  `json:"program_id"`
	Program       string `json:"program"`
	Status        string `json:"status"`
	Reason        string `json:"reason"`
	Message       string `json:"message"`
	PointsKopecks int64  `json:"points_kopecks"`
}

type receiptDetail struct {
	receiptSummary
	ProgramID     *int64              `json:"program_id"`
	Programs      []programOutcomeDTO `json:"programs,omitempty"`
	ShopID        *int64              `json:"shop_id"`
	Fiscal        *fiscalDTO          `json:"fiscal"`
	RetailAddress *string             `json:"retail_address"`
	SellerINN     *string             `json:"seller_inn"`
	Items         []itemDTO           `json:"items"`
	Events        []eventDTO          `json:"events"`
}

// purchasedAt renders the shop's local wall-clock time without a zone.
func purchasedAt(r receipt.Receipt) *string {
	if !r.HasIdentity() {
		return nil
	}
	s := r.PurchasedAt.Format("2006-01-02T15:04:05")
	return &s
}

func summary(r receipt.Receipt) receiptSummary {
	s := receiptSummary{ID: r.ID, Status: string(r.Status), StatusReason: r.StatusReason, StatusMessage: statusMessage(r),
		Source: string(r.Source), PurchasedAt: purchasedAt(r), PointsKopecks: r.PointsKopecks,
		SellerName: strPtr(r.SellerName), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, VerifiedAt: r.VerifiedAt}
	if r.HasIdentity() {
		sum := r.SumKopecks
		s.SumKopecks = &sum
	}
	return s
}

var (
	errStatus = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_status", Message: "Неизвестный статус чека.", Field: "status"}
	errLimit  = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_limit", Message: "limit должен быть от 1 до 100.", Field: "limit"}
)

var knownStatuses = map[receipt.Status]bool{
	receipt.Received: true, receipt.Decoded: true, receipt.Queued: true, receipt.Verifying: true,
	receipt.PendingOFD: true, receipt.Verified: true, receipt.Matched: true, receipt.Credited: true,
	receipt.NoEligibleItems: true, receipt.Unreadable: true, receipt.Duplicate: true, receipt.Rejected: true,
	receipt.NeedsReview: true,
}

func (a *API) listReceipts(c *fiber.Ctx) error {
	status := receipt.Status(c.Query("status"))
	if status != "" && !knownStatuses[status] {
		return errStatus
	}
	limit := 20
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errLimit
		}
		limit = n
	}
	cursor := c.Query("cursor")
	if len(cursor) > 200 {
		return apperr.New(apperr.Invalid, "bad_cursor", "Некорректный курсор страницы.")
	}
	page, err := a.receipts.List(c.UserContext(), callerOf(c).ID, status, cursor, limit)
	if err != nil {
		return err
	}
	out := receiptList{Items: make([]receiptSummary, 0, len(page.Receipts))}
	for _, r := range page.Receipts {
		out.Items = append(out.Items, summary(r))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return c.JSON(out)
}

func (a *API) getReceipt(c *fiber.Ctx) error {
	r, err := a.receipts.GetForParticipant(c.UserContext(), callerOf(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	d := receiptDetail{receiptSummary: summary(r), ProgramID: r.ProgramID, ShopID: r.ShopID,
		RetailAddress: strPtr(r.RetailAddress), SellerINN: strPtr(r.SellerINN), Items: []itemDTO{}, Events: []eventDTO{}}
	if r.HasIdentity() {
		d.Fiscal = &fiscalDTO{FN: r.FN, FD: r.FD, FP: r.FP, Operation: r.Operation, PurchasedAt: *purchasedAt(r),
			SumKopecks: r.SumKopecks, QR: r.QRCanonical}
	}
	rates := lineRates(r)
	for _, it := range r.Items {
		d.Items = append(d.Items, itemDTO{LineNo: it.LineNo, Name: it.Name, PriceKopecks: it.PriceKopecks,
			QuantityMilli: it.QuantityMilli, SumKopecks: it.SumKopecks, GTIN: strPtr(it.GTIN), SKUID: it.SKUID,
			MatchHow: strPtr(it.MatchHow), MatchReason: it.MatchReason, PointsKopecks: it.PointsKopecks,
			PointsReason: it.PointsReason, PointsExplanation: receipt.LineExplanation(it, rates[it.LineNo])})
	}
	d.Programs = programOutcomes(r)
	for _, e := range r.Events {
		d.Events = append(d.Events, eventDTO{At: e.At, FromStatus: strPtr(string(e.From)), ToStatus: string(e.To),
			Reason: e.Reason, Message: e.Message})
	}
	return c.JSON(d)
}

// lineRates reads the rate each line earned at from the latest evaluation
// the points service stored with an event ("evaluation", a rules.Result),
// keyed by line number; empty when the receipt was never evaluated.
func lineRates(r receipt.Receipt) map[int]receipt.Rate {
	for i := len(r.Events) - 1; i >= 0; i-- {
		raw, ok := r.Events[i].Data["evaluation"]
		if !ok {
			continue
		}
		var res rules.Result
		b, err := json.Marshal(raw)
		if err != nil || json.Unmarshal(b, &res) != nil {
			return nil
		}
		rates := make(map[int]receipt.Rate, len(res.Lines))
		for _, l := range res.Lines {
			rates[l.LineNo] = receipt.Rate{PercentBP: l.PercentBP, FixedPerUnitKopecks: l.FixedPerUnitKopecks,
				FactorBP: l.FactorBP, Promo: l.Promo, RawKopecks: l.RawKopecks}
		}
		return rates
	}
	return nil
}

// programOutcomes reads, from the latest event that lists them
// ("programs", written when a receipt is evaluated against several live
// programs), what each program gave the receipt; nil for a receipt of one
// program.
func programOutcomes(r receipt.Receipt) []programOutcomeDTO {
	for i := len(r.Events) - 1; i >= 0; i-- {
		raw, ok := r.Events[i].Data["programs"]
		if !ok {
			continue
		}
		var list []struct {
			ProgramID     int64  `json:"program_id"`
			Program       string `json:"program"`
			Status        string `json:"status"`
			Reason        string `json:"reason"`
			PointsKopecks int64  `json:"points_kopecks"`
		}
		b, err := json.Marshal(raw)
		if err != nil || json.Unmarshal(b, &list) != nil {
			return nil
		}
		out := make([]programOutcomeDTO, len(list))
		for j, p := range list {
			out[j] = programOutcomeDTO{ProgramID: p.ProgramID, Program: p.Program, Status: p.Status, Reason: p.Reason,
				Message: receipt.Message(p.Reason), PointsKopecks: p.PointsKopecks}
		}
		return out
	}
	return nil
}
