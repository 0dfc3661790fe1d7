package adminapi

// The budget and people routes (issue 16): top up a program's budget, read
// its figures and history, set its alerts and what happens at zero; block,
// unblock, move and flag a participant, credit or debit one by hand under
// maker-checker.

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/people"
)

// Budgets is what the budget routes need (*budgetdb.Store).
type Budgets interface {
	TopUp(ctx context.Context, st access.Staff, ip string, req budget.TopUpRequest) (budget.TopUp, error)
	TopUps(ctx context.Context, st access.Staff, programID int64, limit int) ([]budget.TopUp, error)
	Overview(ctx context.Context, st access.Staff, programID int64, now time.Time) (budget.Overview, error)
	SetSettings(ctx context.Context, st access.Staff, ip string, programID int64, s budget.Settings) (budget.Settings, error)
	OpenAlerts(ctx context.Context, st access.Staff, clientID int64) ([]budget.Alert, error)
}

// People is what the participant routes need (*peopledb.Store).
type People interface {
	Get(ctx context.Context, st access.Staff, id int64) (people.Participant, error)
	Block(ctx context.Context, st access.Staff, ip string, id int64, reason string) (people.State, error)
	Unblock(ctx context.Context, st access.Staff, ip string, id int64, reason string) (people.State, error)
	Move(ctx context.Context, st access.Staff, ip string, id, shopID int64, reason string) (people.State, error)
	SetTester(ctx context.Context, st access.Staff, ip string, id int64, tester bool) (people.State, error)
	Adjust(ctx context.Context, st access.Staff, ip string, req people.AdjustRequest) (people.Adjustment, error)
	Decide(ctx context.Context, st access.Staff, ip string, id int64, approve bool, note string) (people.Adjustment, error)
	PendingAdjustments(ctx context.Context, st access.Staff, clientID int64) ([]people.Adjustment, error)
}

// maxJSONBody bounds the JSON body of these routes.
const maxJSONBody = 16 << 10

var (
	errProgramID     = budget.ErrProgramNotFound
	errParticipantID = people.ErrParticipantNotFound
	errAdjustmentID  = people.ErrAdjustmentNotFound
	errBody          = apperr.New(apperr.Invalid, "invalid_json", "Тело запроса — не JSON-объект нужного вида.")
	errBodyTooLarge  = apperr.New(apperr.TooLarge, "body_too_large", "Тело запроса больше 16 КБ.")
)

func (a *API) registerMoney(r fiber.Router) {
	if a.budgets != nil {
		g := r.Group("/admin/v1/programs/:id/budget")
		g.Get("/", a.budgetOverview)
		g.Get("/top-ups", a.listTopUps)
		g.Post("/top-ups", a.topUp)
		g.Put("/settings", a.budgetSettings)
		r.Get("/admin/v1/budget/alerts", a.budgetAlerts)
	}
	if a.people != nil {
		g := r.Group("/admin/v1/participants/:id")
		g.Get("/", a.participant)
		g.Post("/block", a.participantBlock)
		g.Post("/unblock", a.participantUnblock)
		g.Post("/move", a.participantMove)
		g.Put("/tester", a.participantTester)
		g.Post("/adjustments", a.participantAdjust)
		r.Get("/admin/v1/adjustments", a.pendingAdjustments)
		r.Post("/admin/v1/adjustments/:id/approve", a.decideAdjustment(true))
		r.Post("/admin/v1/adjustments/:id/reject", a.decideAdjustment(false))
	}
}

// decode reads the JSON object body into v strictly: bounded, no unknown
// fields, no trailing data.
func decode(c *fiber.Ctx, v any) error {
	b := c.Body()
	if len(b) > maxJSONBody {
		return errBodyTooLarge
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errBody
	}
	if d.More() {
		return errBody
	}
	return nil
}

// amountString is a JSON amount that must be a string: a number (1e3,
// 0.1) is refused before it reaches floating point.
func amountString(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", budget.AmountError("amount", "не строка")
	}
	return s, nil
}

func (a *API) staffAndID(c *fiber.Ctx, notFound *apperr.Error) (access.Staff, int64, error) {
	st, err := a.registryCaller(c)
	if err != nil {
		return st, 0, err
	}
	id, err := httpapi.PathID(c, "id", notFound)
	return st, id, err
}

func (a *API) budgetOverview(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errProgramID)
	if err != nil {
		return err
	}
	o, err := a.budgets.Overview(c.UserContext(), st, id, time.Now())
	if err != nil {
		return err
	}
	return c.JSON(o)
}

func (a *API) listTopUps(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errProgramID)
	if err != nil {
		return err
	}
	ts, err := a.budgets.TopUps(c.UserContext(), st, id, c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"top_ups": ts})
}

func (a *API) topUp(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errProgramID)
	if err != nil {
		return err
	}
	var b struct {
		Amount   json.RawMessage `json:"amount"`
		Document string          `json:"document"`
		Comment  string          `json:"comment"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	s, err := amountString(b.Amount)
	if err != nil {
		return err
	}
	k, err := budget.ParseAmount("amount", s, budget.MaxTopUpKopecks)
	if err != nil {
		return err
	}
	t, err := a.budgets.TopUp(c.UserContext(), st, c.IP(), budget.TopUpRequest{ProgramID: id, AmountKopecks: k,
		Document: b.Document, Comment: b.Comment, IdempotencyKey: c.Get("Idempotency-Key")})
	if err != nil {
		return err
	}
	status := fiber.StatusCreated
	if t.Replayed {
		status = fiber.StatusOK
	}
	return c.Status(status).JSON(t)
}

func (a *API) budgetSettings(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errProgramID)
	if err != nil {
		return err
	}
	var b budget.Settings
	if err := decode(c, &b); err != nil {
		return err
	}
	s, err := a.budgets.SetSettings(c.UserContext(), st, c.IP(), id, b)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) budgetAlerts(c *fiber.Ctx) error {
	st, err := a.registryCaller(c)
	if err != nil {
		return err
	}
	clientID, err := httpapi.QueryInt(c, "client_id", errBadField)
	if err != nil {
		return err
	}
	as, err := a.budgets.OpenAlerts(c.UserContext(), st, clientID)
	if err != nil {
		return err
	}
	if as == nil {
		as = []budget.Alert{}
	}
	return c.JSON(fiber.Map{"alerts": as})
}

func (a *API) participant(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	p, err := a.people.Get(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (a *API) participantBlock(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	var b reasonBody
	if err := decode(c, &b); err != nil {
		return err
	}
	s, err := a.people.Block(c.UserContext(), st, c.IP(), id, b.Reason)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) participantUnblock(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	var b reasonBody
	if err := decode(c, &b); err != nil {
		return err
	}
	s, err := a.people.Unblock(c.UserContext(), st, c.IP(), id, b.Reason)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) participantMove(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	var b struct {
		ShopID int64  `json:"shop_id"`
		Reason string `json:"reason"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.ShopID <= 0 {
		return people.ErrShopNotFound
	}
	s, err := a.people.Move(c.UserContext(), st, c.IP(), id, b.ShopID, b.Reason)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) participantTester(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	var b struct {
		IsTester *bool `json:"is_tester"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.IsTester == nil {
		return errBadField("is_tester")
	}
	s, err := a.people.SetTester(c.UserContext(), st, c.IP(), id, *b.IsTester)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) participantAdjust(c *fiber.Ctx) error {
	st, id, err := a.staffAndID(c, errParticipantID)
	if err != nil {
		return err
	}
	var b struct {
		ProgramID int64           `json:"program_id"`
		Amount    json.RawMessage `json:"amount"`
		Reason    string          `json:"reason"`
		Document  string          `json:"document"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	s, err := amountString(b.Amount)
	if err != nil {
		return err
	}
	k, err := people.ParseSignedAmount(s)
	if err != nil {
		return err
	}
	if b.ProgramID <= 0 {
		return people.ErrProgramNotFound
	}
	adj, err := a.people.Adjust(c.UserContext(), st, c.IP(), people.AdjustRequest{ParticipantID: id, ProgramID: b.ProgramID,
		AmountKopecks: k, Reason: b.Reason, Document: b.Document, IdempotencyKey: c.Get("Idempotency-Key")})
	if err != nil {
		return err
	}
	switch {
	case adj.Replayed:
		return c.JSON(adj)
	case adj.Status == people.Pending:
		return c.Status(fiber.StatusAccepted).JSON(adj)
	}
	return c.Status(fiber.StatusCreated).JSON(adj)
}

func (a *API) pendingAdjustments(c *fiber.Ctx) error {
	st, err := a.registryCaller(c)
	if err != nil {
		return err
	}
	clientID, err := httpapi.QueryInt(c, "client_id", errBadField)
	if err != nil {
		return err
	}
	as, err := a.people.PendingAdjustments(c.UserContext(), st, clientID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"adjustments": as})
}

func (a *API) decideAdjustment(approve bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, id, err := a.staffAndID(c, errAdjustmentID)
		if err != nil {
			return err
		}
		var b struct {
			Note string `json:"note"`
		}
		if len(c.Body()) > 0 {
			if err := decode(c, &b); err != nil {
				return err
			}
		}
		adj, err := a.people.Decide(c.UserContext(), st, c.IP(), id, approve, b.Note)
		if err != nil {
			return err
		}
		return c.JSON(adj)
	}
}
