package dashboard

// The budget page of a program (figures, top-up, settings, history,
// alerts) and the people actions of the participant page (block, unblock,
// move, tester, manual credit or debit, second approval). The stores are
// the staff API's (budgetdb, peopledb): one place of the rules, two
// surfaces.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/people"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Budgets backs the budget page (*budgetdb.Store).
type Budgets interface {
	TopUp(ctx context.Context, st access.Staff, ip string, req budget.TopUpRequest) (budget.TopUp, error)
	Overview(ctx context.Context, st access.Staff, programID int64, now time.Time) (budget.Overview, error)
	SetSettings(ctx context.Context, st access.Staff, ip string, programID int64, s budget.Settings) (budget.Settings, error)
	OpenAlerts(ctx context.Context, st access.Staff, clientID int64) ([]budget.Alert, error)
}

// People backs the people actions of the participant page (*peopledb.Store).
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

func init() { extraPages = append(extraPages, "budget") }

// registerMoney mounts the budget page and the people actions on the
// program group p.
func (s *Server) registerMoney(p fiber.Router) {
	if s.o.Budgets != nil {
		p.Get("/budget", s.budgetPage)
		p.Post("/budget/top-up", s.budgetTopUp)
		p.Post("/budget/settings", s.budgetSettings)
	}
	if s.o.People != nil {
		p.Post("/participants/:id/block", s.peopleAction("block"))
		p.Post("/participants/:id/unblock", s.peopleAction("unblock"))
		p.Post("/participants/:id/move", s.peopleAction("move"))
		p.Post("/participants/:id/tester", s.peopleAction("tester"))
		p.Post("/participants/:id/adjust", s.peopleAction("adjust"))
		p.Post("/participants/:id/adjustments/:aid/:decision", s.decideAdjustment)
	}
}

// formKey is a fresh Idempotency-Key for a form: the page renders it once,
// so a double submit of the same form funds once.
func formKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "form-" + hex.EncodeToString(b)
}

// budgetView is the budget page's data in plain kopecks for the templates.
type budgetView struct {
	Funded, Spent, Balance, Recent int64
	SpentPercent, RunwayDays       int
	Settings                       budget.Settings
	Percents                       string
	Alerts                         []budget.Alert
	TopUps                         []topUpView
}

type topUpView struct {
	budget.TopUp
	Kopecks int64
}

type budgetForm struct {
	Amount, Document, Comment, Key string
	Error, Done                    string
}

func (s *Server) budgetPage(c *fiber.Ctx) error {
	return s.showBudget(c, fiber.StatusOK, budgetForm{Done: c.Query("done")}, "")
}

func (s *Server) showBudget(c *fiber.Ctx, status int, f budgetForm, settingsErr string) error {
	p := program(c)
	o, err := s.o.Budgets.Overview(c.UserContext(), staff(c), p.ID, s.o.Now())
	if err != nil {
		return s.fail(c, err)
	}
	v := budgetView{Funded: int64(o.Figures.FundedKopecks), Spent: int64(o.Figures.SpentKopecks), Balance: int64(o.Figures.BalanceKopecks),
		Recent: int64(o.Figures.RecentKopecks), SpentPercent: o.Figures.SpentPercent(), RunwayDays: o.Figures.RunwayDays,
		Settings: o.Settings, Alerts: o.Alerts}
	ps := make([]string, len(o.Settings.AlertPercents))
	for i, x := range o.Settings.AlertPercents {
		ps[i] = strconv.Itoa(x)
	}
	v.Percents = strings.Join(ps, ", ")
	for _, t := range o.TopUps {
		v.TopUps = append(v.TopUps, topUpView{TopUp: t, Kopecks: int64(t.AmountKopecks)})
	}
	if f.Key == "" || f.Error == "" {
		f.Key = formKey()
	}
	d := s.pageData(c, s.period(c))
	d["B"], d["F"], d["SettingsError"] = v, f, settingsErr
	if s.o.People != nil {
		// The manual adjustments of the program waiting for a second
		// staff member, so a checker finds them in one place.
		all, err := s.o.People.PendingAdjustments(c.UserContext(), staff(c), p.ClientID)
		if err != nil {
			return s.fail(c, err)
		}
		var pending []adjustmentView
		for _, a := range all {
			if a.ProgramID == p.ID {
				pending = append(pending, adjustmentView{Adjustment: a, Kopecks: int64(a.AmountKopecks)})
			}
		}
		d["Pending"] = pending
	}
	d["CanManage"] = staff(c).CheckClient(p.ClientID, access.ClientManager) == nil
	c.Status(status)
	return s.render(c, "budget", d)
}

func (s *Server) budgetTopUp(c *fiber.Ctx) error {
	p := program(c)
	f := budgetForm{Amount: c.FormValue("amount"), Document: c.FormValue("document"), Comment: c.FormValue("comment"), Key: c.FormValue("key")}
	k, err := budget.ParseAmount("amount", f.Amount, budget.MaxTopUpKopecks)
	if err == nil {
		_, err = s.o.Budgets.TopUp(c.UserContext(), staff(c), s.clientIP(c), budget.TopUpRequest{ProgramID: p.ID, AmountKopecks: k,
			Document: f.Document, Comment: f.Comment, IdempotencyKey: f.Key})
	}
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return s.fail(c, err)
		}
		f.Error = msg
		return s.showBudget(c, fiber.StatusUnprocessableEntity, f, "")
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/budget?done=topup", Prefix, p.ID), fiber.StatusSeeOther)
}

func (s *Server) budgetSettings(c *fiber.Ctx) error {
	p := program(c)
	set := budget.Settings{AtZero: budget.AtZero(c.FormValue("at_zero"))}
	var err error
	for _, part := range strings.FieldsFunc(c.FormValue("alert_percents"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		n, perr := strconv.Atoi(strings.TrimSuffix(part, "%"))
		if perr != nil {
			err = budget.ErrSettings
			break
		}
		set.AlertPercents = append(set.AlertPercents, n)
	}
	if err == nil {
		if set.AlertRunwayDays, err = strconv.Atoi(strings.TrimSpace(c.FormValue("alert_runway_days"))); err != nil {
			err = budget.ErrSettings
		}
	}
	if err == nil {
		_, err = s.o.Budgets.SetSettings(c.UserContext(), staff(c), s.clientIP(c), p.ID, set)
	}
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return s.fail(c, err)
		}
		return s.showBudget(c, fiber.StatusUnprocessableEntity, budgetForm{}, msg)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/budget?done=settings", Prefix, p.ID), fiber.StatusSeeOther)
}

// budgetBanner returns the open alerts of the page's program, for the
// banner every program page shows; nil when budgets are not configured or
// the read fails (the banner is no reason to fail a page).
func (s *Server) budgetBanner(c *fiber.Ctx, p report.Program) []budget.Alert {
	if s.o.Budgets == nil {
		return nil
	}
	as, err := s.o.Budgets.OpenAlerts(c.UserContext(), staff(c), p.ClientID)
	if err != nil {
		return nil
	}
	var out []budget.Alert
	for _, a := range as {
		if a.ProgramID == p.ID {
			out = append(out, a)
		}
	}
	return out
}

// peopleView is the people part of the participant page.
type peopleView struct {
	people.Participant
	Adjustments []adjustmentView
	Key         string
	Error, Done string
	CanManage   bool
	Me          int64
}

type adjustmentView struct {
	people.Adjustment
	Kopecks int64
}

// peopleData adds the people part to the participant page's data.
func (s *Server) peopleData(c *fiber.Ctx, d map[string]any, id int64, errMsg string) error {
	if s.o.People == nil {
		return nil
	}
	p, err := s.o.People.Get(c.UserContext(), staff(c), id)
	if err != nil {
		return err
	}
	v := peopleView{Participant: p, Key: formKey(), Error: errMsg, Done: c.Query("done"), Me: staff(c).UserID,
		CanManage: staff(c).CheckClient(p.ClientID, access.ClientManager) == nil}
	for _, a := range p.Adjustments {
		v.Adjustments = append(v.Adjustments, adjustmentView{Adjustment: a, Kopecks: int64(a.AmountKopecks)})
	}
	d["People"] = v
	return nil
}

func (s *Server) peopleAction(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := program(c)
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil || id <= 0 {
			return s.fail(c, people.ErrParticipantNotFound)
		}
		ctx, st, ip := c.UserContext(), staff(c), s.clientIP(c)
		reason := c.FormValue("reason")
		switch action {
		case "block":
			_, err = s.o.People.Block(ctx, st, ip, id, reason)
		case "unblock":
			_, err = s.o.People.Unblock(ctx, st, ip, id, reason)
		case "move":
			shop, perr := strconv.ParseInt(c.FormValue("shop_id"), 10, 64)
			if perr != nil || shop <= 0 {
				err = people.ErrShopNotFound
			} else {
				_, err = s.o.People.Move(ctx, st, ip, id, shop, reason)
			}
		case "tester":
			_, err = s.o.People.SetTester(ctx, st, ip, id, c.FormValue("is_tester") == "on" || c.FormValue("is_tester") == "true")
		case "adjust":
			amount, perr := people.ParseSignedAmount(c.FormValue("amount"))
			if perr != nil {
				err = perr
			} else {
				var prog int64
				if prog, err = strconv.ParseInt(c.FormValue("program_id"), 10, 64); err != nil || prog <= 0 {
					prog = p.ID
				}
				_, err = s.o.People.Adjust(ctx, st, ip, people.AdjustRequest{ParticipantID: id, ProgramID: prog,
					AmountKopecks: amount, Reason: reason, Document: c.FormValue("document"), IdempotencyKey: c.FormValue("key")})
			}
		}
		return s.afterPeopleAction(c, id, action, err)
	}
}

func (s *Server) afterPeopleAction(c *fiber.Ctx, id int64, action string, err error) error {
	p := program(c)
	if err != nil {
		msg, ok := formError(err)
		if !ok {
			return s.fail(c, err)
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return s.showParticipant(c, id, msg)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/participants/%d?done=%s#people", Prefix, p.ID, id, action), fiber.StatusSeeOther)
}

func (s *Server) decideAdjustment(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return s.fail(c, people.ErrParticipantNotFound)
	}
	aid, err := strconv.ParseInt(c.Params("aid"), 10, 64)
	if err != nil || aid <= 0 {
		return s.fail(c, people.ErrAdjustmentNotFound)
	}
	decision := c.Params("decision")
	if decision != "approve" && decision != "reject" {
		return s.fail(c, people.ErrAdjustmentNotFound)
	}
	// The adjustment must be this participant's: load the page's data
	// first, so another client's ids answer 404 like every page.
	pp, err := s.o.People.Get(c.UserContext(), staff(c), id)
	if err != nil {
		return s.fail(c, err)
	}
	found := false
	for _, a := range pp.Adjustments {
		found = found || a.ID == aid
	}
	if !found {
		return s.fail(c, people.ErrAdjustmentNotFound)
	}
	_, err = s.o.People.Decide(c.UserContext(), staff(c), s.clientIP(c), aid, decision == "approve", c.FormValue("note"))
	return s.afterPeopleAction(c, id, decision, err)
}
