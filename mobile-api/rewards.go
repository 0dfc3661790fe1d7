package mobileapi

// The reward routes: the catalog for the caller and their redemption
// orders (docs/rewards.md).

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// Rewards is what the reward routes need (rewarddb.Store implements it).
type Rewards interface {
	Offers(ctx context.Context, clientID, participantID int64, role string) ([]reward.Offer, error)
	// Create records an order and holds its points; created is false for a
	// replay of the same Idempotency-Key.
	Create(ctx context.Context, req reward.Request) (r reward.Redemption, created bool, err error)
	Mine(ctx context.Context, participantID int64, cursor string, limit int) ([]reward.Redemption, error)
	// ForParticipant returns the caller's own order with its history and
	// opened code; anyone else's is reward.ErrNotFound.
	ForParticipant(ctx context.Context, participantID int64, id string) (reward.Redemption, error)
}

// registerRewards mounts GET /v1/rewards and the /v1/redemptions routes.
func (a *API) registerRewards(v1 fiber.Router, authn fiber.Handler) {
	v1.Get("/rewards", authn, a.listRewards)
	v1.Post("/redemptions", authn, a.createRedemption)
	v1.Get("/redemptions", authn, a.listRedemptions)
	v1.Get("/redemptions/:id", authn, a.getRedemption)
}

type facePrice struct {
	FaceKopecks  int64 `json:"face_kopecks"`
	PriceKopecks int64 `json:"price_kopecks"`
}

type rewardDTO struct {
	ID          int64       `json:"id"`
	ProgramID   int64       `json:"program_id"`
	Kind        string      `json:"kind"`
	Title       string      `json:"title"`
	Brand       string      `json:"brand"`
	Description string      `json:"description"`
	ImageURL    string      `json:"image_url"`
	Faces       []facePrice `json:"faces"`
	// A free face value within [face_min, face_max] costs ceil(face ×
	// (10000 + markup_bp) / 10000) kopecks of points.
	FaceMinKopecks *int64 `json:"face_min_kopecks"`
	FaceMaxKopecks *int64 `json:"face_max_kopecks"`
	MarkupBP       int    `json:"markup_bp"`
	Available      bool   `json:"available"`
	Stock          *int   `json:"stock"`
}

func (a *API) listRewards(c *fiber.Ctx) error {
	me := callerOf(c)
	offers, err := a.rewards.Offers(c.UserContext(), me.ClientID, me.ID, me.Role)
	if err != nil {
		return err
	}
	items := make([]rewardDTO, 0, len(offers))
	for _, o := range offers {
		d := rewardDTO{ID: o.ID, ProgramID: o.ProgramID, Kind: string(o.Kind), Title: o.Title, Brand: o.Brand,
			Description: o.Description, ImageURL: o.ImageURL, Faces: []facePrice{}, MarkupBP: o.MarkupBP,
			Available: o.Available, Stock: o.Stock}
		for _, f := range o.FixedFaces {
			d.Faces = append(d.Faces, facePrice{FaceKopecks: int64(f), PriceKopecks: int64(reward.Price(f, o.MarkupBP))})
		}
		if o.FaceMax > 0 {
			lo, hi := int64(o.FaceMin), int64(o.FaceMax)
			d.FaceMinKopecks, d.FaceMaxKopecks = &lo, &hi
		}
		items = append(items, d)
	}
	return c.JSON(fiber.Map{"items": items})
}

type redemptionEventDTO struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

type redemptionDTO struct {
	ID             string               `json:"id"`
	Status         string               `json:"status"`
	StatusText     string               `json:"status_text"`
	OfferID        int64                `json:"offer_id"`
	Kind           string               `json:"kind"`
	Title          string               `json:"title"`
	FaceKopecks    int64                `json:"face_kopecks"`
	PriceKopecks   int64                `json:"price_kopecks"`
	Price          string               `json:"price"`
	Phone          string               `json:"phone,omitempty"`
	Account        string               `json:"account,omitempty"`
	FailureCode    string               `json:"failure_code,omitempty"`
	FailureMessage string               `json:"failure_message,omitempty"`
	Code           string               `json:"code,omitempty"`
	PIN            string               `json:"pin,omitempty"`
	URL            string               `json:"url,omitempty"`
	ExpiresAt      *time.Time           `json:"expires_at,omitempty"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
	Events         []redemptionEventDTO `json:"events,omitempty"`
}

func redemptionOf(r reward.Redemption, detail bool) redemptionDTO {
	d := redemptionDTO{ID: r.ID, Status: string(r.Status), StatusText: r.Status.StatusText(), OfferID: r.OfferID,
		Kind: string(r.Kind), Title: r.Title, FaceKopecks: int64(r.Face), PriceKopecks: int64(r.Price),
		Price: money.Kopecks(r.Price).String(), Phone: r.Phone, Account: r.Account,
		FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if detail {
		d.Code, d.PIN, d.URL = r.Code, r.PIN, r.URL
		if !r.ExpiresAt.IsZero() {
			e := r.ExpiresAt
			d.ExpiresAt = &e
		}
		d.Events = make([]redemptionEventDTO, 0, len(r.Events))
		for _, e := range r.Events {
			d.Events = append(d.Events, redemptionEventDTO{Status: string(e.Status), Message: e.Message, At: e.At})
		}
	}
	return d
}

type redemptionRequest struct {
	OfferID     int64  `json:"offer_id"`
	FaceKopecks int64  `json:"face_kopecks"`
	Phone       string `json:"phone"`
	Account     string `json:"account"`
	Email       string `json:"email"`
}

// maxRedemptionBody bounds the order's JSON (a few short fields).
const maxRedemptionBody = 4 << 10

var errRedemptionTooLarge = apperr.New(apperr.TooLarge, "body_too_large", "Тело запроса слишком большое.")

func (a *API) createRedemption(c *fiber.Ctx) error {
	me := callerOf(c)
	body := c.Body()
	if len(body) > maxRedemptionBody {
		return errRedemptionTooLarge
	}
	var in redemptionRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return errBadJSON
	}
	r, created, err := a.rewards.Create(c.UserContext(), reward.Request{ClientID: me.ClientID, ParticipantID: me.ID,
		Role: me.Role, OfferID: in.OfferID, Face: money.Kopecks(in.FaceKopecks), Phone: in.Phone, Account: in.Account,
		Email: in.Email, IdempotencyKey: c.Get("Idempotency-Key")})
	if err != nil {
		return err
	}
	if r.Status == reward.Queued {
		// Enqueue on every replay too: a task lost before the first answer
		// is queued again (the task id keeps it single). A failure is left
		// to the sweeper.
		if err := a.rewardQ.enqueue(c.UserContext(), func(ctx context.Context) error {
			return queue.EnqueueRewardPlace(ctx, a.rewardQ.c, r.ID)
		}); err != nil {
			a.log.WarnContext(c.UserContext(), "redemption_enqueue_failed", "redemption_id", r.ID, "err", err)
		}
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(redemptionOf(r, false))
}

var errRedemptionBadLimit = &apperr.Error{Kind: apperr.Invalid, Code: "bad_limit", Message: "limit должен быть числом от 1 до 100.", Field: "limit"}

func (a *API) listRedemptions(c *fiber.Ctx) error {
	me := callerOf(c)
	limit := 20
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return errRedemptionBadLimit
		}
		limit = n
	}
	rs, err := a.rewards.Mine(c.UserContext(), me.ID, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	items := make([]redemptionDTO, 0, len(rs))
	for _, r := range rs {
		items = append(items, redemptionOf(r, false))
	}
	resp := fiber.Map{"items": items}
	if len(rs) == limit {
		resp["next_cursor"] = rs[len(rs)-1].ID
	}
	return c.JSON(resp)
}

func (a *API) getRedemption(c *fiber.Ctx) error {
	me := callerOf(c)
	r, err := a.rewards.ForParticipant(c.UserContext(), me.ID, c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(redemptionOf(r, true))
}
