package adminapi

// The reward catalog routes (issue 17): a program's offers (which catalog
// rewards it offers, to which roles, at what markup or subsidy, with what
// stock) and its redemption limits. Every change is audited in its
// transaction; another client's program is 404.

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// Rewards is what the reward catalog routes need (*rewarddb.Store).
type Rewards interface {
	SetOffer(ctx context.Context, by audit.Actor, in rewarddb.OfferInput, reason string) (int64, error)
	SetLimits(ctx context.Context, by audit.Actor, clientID, programID int64, l reward.Limits, reason string) error
	ProgramOffers(ctx context.Context, clientID, programID int64) ([]reward.Offer, error)
}

var _ Rewards = (*rewarddb.Store)(nil)

func (a *API) registerRewards(r fiber.Router) {
	if a.rewards == nil {
		return
	}
	g := r.Group("/admin/v1/programs/:id")
	g.Get("/reward-offers", a.listRewardOffers)
	g.Put("/reward-offers", a.putRewardOffer)
	g.Put("/reward-limits", a.putRewardLimits)
}

// rewardErr maps the store's "not this client's program" to the 404 every
// other program route answers.
func rewardErr(err error) error {
	if errors.Is(err, rewarddb.ErrNoProgram) {
		return errPlanNotFound
	}
	return err
}

func errRewardField(field, msg string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_" + field, Message: msg, Field: field}
}

type offerBody struct {
	RewardID    int64    `json:"reward_id"`
	Roles       []string `json:"roles"`
	MarkupBP    int      `json:"markup_bp"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Available   *bool    `json:"available"`
	Stock       *int     `json:"stock"`
	Reason      string   `json:"reason"`
}

func (a *API) putRewardOffer(c *fiber.Ctx) error {
	s, err := a.programScope(c, true)
	if err != nil {
		return err
	}
	var b offerBody
	if err := decode(c, &b); err != nil {
		return err
	}
	switch {
	case b.RewardID <= 0:
		return errRewardField("reward_id", "Укажите приз из каталога (reward_id).")
	case b.MarkupBP < -9000 || b.MarkupBP > 10000:
		return errRewardField("markup_bp", "Наценка — от −9000 до 10000 б. п.")
	case b.Stock != nil && (*b.Stock < 0 || *b.Stock > 1_000_000):
		return errRewardField("stock", "Остаток — от 0 до 1 000 000 или null.")
	case len([]rune(b.Title)) > 200 || len([]rune(b.Description)) > 2000 || len(b.Reason) > 1000:
		return errRewardField("title", "Слишком длинный текст.")
	case len(b.Roles) > 10:
		return errRewardField("roles", "Слишком много ролей.")
	}
	for _, r := range b.Roles {
		if r == "" || len(r) > 40 {
			return errRewardField("roles", "Пустая или слишком длинная роль.")
		}
	}
	available := b.Available == nil || *b.Available
	id, err := a.rewards.SetOffer(c.UserContext(), s.by.Audit, rewarddb.OfferInput{ClientID: s.clientID, ProgramID: s.program,
		RewardID: b.RewardID, Roles: b.Roles, MarkupBP: b.MarkupBP, Title: b.Title, Description: b.Description,
		Available: available, Stock: b.Stock}, b.Reason)
	if err != nil {
		return rewardErr(err)
	}
	return c.JSON(fiber.Map{"id": id})
}

func (a *API) listRewardOffers(c *fiber.Ctx) error {
	s, err := a.programScope(c, false)
	if err != nil {
		return err
	}
	offers, err := a.rewards.ProgramOffers(c.UserContext(), s.clientID, s.program)
	if err != nil {
		return rewardErr(err)
	}
	items := make([]fiber.Map, 0, len(offers))
	for _, o := range offers {
		roles := o.Roles
		if roles == nil {
			roles = []string{}
		}
		items = append(items, fiber.Map{"id": o.ID, "reward_id": o.RewardID, "provider": o.Provider, "kind": string(o.Kind),
			"title": o.Title, "roles": roles, "markup_bp": o.MarkupBP, "available": o.Available, "stock": o.Stock})
	}
	return c.JSON(fiber.Map{"items": items})
}

type limitsBody struct {
	PerOrderKopecks   int64  `json:"per_order_kopecks"`
	PerDayKopecks     int64  `json:"per_day_kopecks"`
	PerMonthKopecks   int64  `json:"per_month_kopecks"`
	ModerationKopecks int64  `json:"moderation_kopecks"`
	CoolingOffKopecks int64  `json:"cooling_off_kopecks"`
	CoolingOffHours   int    `json:"cooling_off_hours"`
	Reason            string `json:"reason"`
}

// maxLimit bounds a limit: 100 million ₽ in kopecks.
const maxLimit = 10_000_000_000

func (a *API) putRewardLimits(c *fiber.Ctx) error {
	s, err := a.programScope(c, true)
	if err != nil {
		return err
	}
	var b limitsBody
	if err := decode(c, &b); err != nil {
		return err
	}
	for field, v := range map[string]int64{"per_order_kopecks": b.PerOrderKopecks, "per_day_kopecks": b.PerDayKopecks,
		"per_month_kopecks": b.PerMonthKopecks, "moderation_kopecks": b.ModerationKopecks, "cooling_off_kopecks": b.CoolingOffKopecks} {
		if v < 0 || v > maxLimit {
			return errRewardField(field, "Лимит — от 0 (нет лимита) до 100 000 000 ₽ в копейках.")
		}
	}
	if b.CoolingOffHours < 0 || b.CoolingOffHours > 8760 {
		return errRewardField("cooling_off_hours", "Период охлаждения — от 0 до 8760 часов.")
	}
	if len(b.Reason) > 1000 {
		return errRewardField("reason", "Слишком длинная причина.")
	}
	l := reward.Limits{PerOrder: money.Kopecks(b.PerOrderKopecks), PerDay: money.Kopecks(b.PerDayKopecks),
		PerMonth: money.Kopecks(b.PerMonthKopecks), Moderation: money.Kopecks(b.ModerationKopecks),
		CoolingOffCredit: money.Kopecks(b.CoolingOffKopecks), CoolingOffFor: time.Duration(b.CoolingOffHours) * time.Hour}
	if err := a.rewards.SetLimits(c.UserContext(), s.by.Audit, s.clientID, s.program, l, b.Reason); err != nil {
		return rewardErr(err)
	}
	return c.JSON(b)
}
