package dashboard

// The reward offers and limits page (issue 17): a client manager (or the
// operator) chooses which catalog rewards the program offers, at what
// markup, to which roles, with what stock, and sets the redemption limits.
// The same store functions as the staff API's routes
// (rewarddb.Store.SetOffer/SetLimits), each change audit-logged in its
// transaction; another client's program answers 404 (the program group's
// own check).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	points "github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// RewardOffers backs the offers and limits page (*rewarddb.Store).
type RewardOffers interface {
	Catalog(ctx context.Context) ([]rewarddb.CatalogItem, error)
	ProgramOffers(ctx context.Context, clientID, programID int64) ([]reward.Offer, error)
	ProgramLimits(ctx context.Context, clientID, programID int64) (reward.Limits, error)
	SetOffer(ctx context.Context, by audit.Actor, in rewarddb.OfferInput, reason string) (int64, error)
	SetLimits(ctx context.Context, by audit.Actor, clientID, programID int64, l reward.Limits, reason string) error
}

func init() { extraPages = append(extraPages, "reward_offers") }

func (s *Server) registerRewardOffers(p fiber.Router) {
	p.Get("/reward-offers", s.rewardOffersPage)
	p.Post("/reward-offers/offer", s.rewardOfferPost)
	p.Post("/reward-offers/limits", s.rewardLimitsPost)
}

var errNoRewardOffers = apperr.New(apperr.NotFound, "rewards_not_configured", "Призы не подключены.")

// limitsForm is the limits in whole roubles (points) for the form.
type limitsForm struct {
	PerOrder, PerDay, PerMonth, Moderation, CoolingOff int64
	CoolingOffHours                                    int64
}

func (s *Server) rewardOffersPage(c *fiber.Ctx) error {
	return s.showRewardOffers(c, fiber.StatusOK, "")
}

func (s *Server) showRewardOffers(c *fiber.Ctx, status int, formErr string) error {
	if s.o.RewardOffers == nil {
		return s.fail(c, errNoRewardOffers)
	}
	ctx, p := c.UserContext(), program(c)
	offers, err := s.o.RewardOffers.ProgramOffers(ctx, p.ClientID, p.ID)
	if err != nil {
		return s.fail(c, rewardOfferErr(err))
	}
	l, err := s.o.RewardOffers.ProgramLimits(ctx, p.ClientID, p.ID)
	if err != nil {
		return s.fail(c, rewardOfferErr(err))
	}
	catalog, err := s.o.RewardOffers.Catalog(ctx)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Offers"], d["Catalog"] = offers, catalog
	d["Limits"] = limitsForm{PerOrder: int64(l.PerOrder) / 100, PerDay: int64(l.PerDay) / 100, PerMonth: int64(l.PerMonth) / 100,
		Moderation: int64(l.Moderation) / 100, CoolingOff: int64(l.CoolingOffCredit) / 100, CoolingOffHours: int64(l.CoolingOffFor / time.Hour)}
	d["CanEdit"] = staff(c).CheckClient(p.ClientID, access.ClientManager) == nil
	d["FormError"] = formErr
	switch c.Query("done") {
	case "offer":
		d["Flash"] = "Предложение сохранено."
	case "limits":
		d["Flash"] = "Лимиты сохранены."
	}
	c.Status(status)
	return s.render(c, "reward_offers", d)
}

func rewardOfferErr(err error) error {
	if errors.Is(err, rewarddb.ErrNoProgram) || errors.Is(err, reward.ErrOfferNotFound) {
		return apperr.New(apperr.NotFound, "not_found", "Не найдено.")
	}
	return err
}

// formInt reads an integer field in [lo, hi]; empty is def.
func offerFormInt(c *fiber.Ctx, name string, lo, hi, def int64) (int64, bool) {
	v := strings.TrimSpace(c.FormValue(name))
	if v == "" {
		return def, true
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v, " ", ""), 10, 64)
	return n, err == nil && n >= lo && n <= hi
}

func staffActor(st access.Staff) audit.Actor {
	return audit.StaffActor(st.UserID, fmt.Sprintf("staff:%d", st.UserID), "")
}

func (s *Server) rewardOfferPost(c *fiber.Ctx) error {
	if s.o.RewardOffers == nil {
		return s.fail(c, errNoRewardOffers)
	}
	p, st := program(c), staff(c)
	if err := st.CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	rid, ok := offerFormInt(c, "reward_id", 1, 1<<53, 0)
	if !ok || rid == 0 {
		return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Выберите приз из каталога.")
	}
	markup, ok := offerFormInt(c, "markup_bp", -9000, 10000, 0)
	if !ok {
		return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Наценка — целое число от −9000 до 10000 б. п.")
	}
	var stock *int
	if v := strings.TrimSpace(c.FormValue("stock")); v != "" {
		n, ok := offerFormInt(c, "stock", 0, 1_000_000, 0)
		if !ok {
			return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Остаток — от 0 до 1 000 000 или пусто (без ограничения).")
		}
		k := int(n)
		stock = &k
	}
	var roles []string
	for _, r := range strings.Split(c.FormValue("roles"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	title, descr, reason := strings.TrimSpace(c.FormValue("title")), strings.TrimSpace(c.FormValue("description")), c.FormValue("reason")
	if len(roles) > 10 || len([]rune(title)) > 200 || len([]rune(descr)) > 2000 || len(reason) > 1000 {
		return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Слишком длинный текст или слишком много ролей.")
	}
	for _, r := range roles {
		if len(r) > 40 {
			return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Слишком длинная роль.")
		}
	}
	_, err := s.o.RewardOffers.SetOffer(c.UserContext(), staffActor(st), rewarddb.OfferInput{ClientID: p.ClientID, ProgramID: p.ID,
		RewardID: rid, Roles: roles, MarkupBP: int(markup), Title: title, Description: descr,
		Available: c.FormValue("available") != "", Stock: stock}, reason)
	if err != nil {
		return s.fail(c, rewardOfferErr(err))
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/reward-offers?done=offer", Prefix, p.ID), fiber.StatusSeeOther)
}

// maxLimitRoubles bounds a limit: 100 million ₽.
const maxLimitRoubles = 100_000_000

func (s *Server) rewardLimitsPost(c *fiber.Ctx) error {
	if s.o.RewardOffers == nil {
		return s.fail(c, errNoRewardOffers)
	}
	p, st := program(c), staff(c)
	if err := st.CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	var v [5]int64
	for i, name := range []string{"per_order", "per_day", "per_month", "moderation", "cooling_off"} {
		n, ok := offerFormInt(c, name, 0, maxLimitRoubles, 0)
		if !ok {
			return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Лимиты — целые рубли от 0 (нет лимита) до 100 000 000.")
		}
		v[i] = n * 100
	}
	hours, ok := offerFormInt(c, "cooling_off_hours", 0, 8760, 0)
	if !ok {
		return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Период охлаждения — от 0 до 8760 часов.")
	}
	reason := c.FormValue("reason")
	if len(reason) > 1000 {
		return s.showRewardOffers(c, fiber.StatusUnprocessableEntity, "Слишком длинная причина.")
	}
	l := reward.Limits{PerOrder: points.Kopecks(v[0]), PerDay: points.Kopecks(v[1]), PerMonth: points.Kopecks(v[2]),
		Moderation: points.Kopecks(v[3]), CoolingOffCredit: points.Kopecks(v[4]), CoolingOffFor: time.Duration(hours) * time.Hour}
	if err := s.o.RewardOffers.SetLimits(c.UserContext(), staffActor(st), p.ClientID, p.ID, l, reason); err != nil {
		return s.fail(c, rewardOfferErr(err))
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/reward-offers?done=limits", Prefix, p.ID), fiber.StatusSeeOther)
}
