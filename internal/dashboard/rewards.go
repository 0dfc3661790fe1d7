package dashboard

// The redemption orders page (issue 17): every order of the program with
// status and filters, CSV/XLSX export; orders waiting for a moderator with
// approve/reject; failed and stuck orders with retry/void for the
// platform operator.

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// RewardFilter selects a program's orders.
type RewardFilter struct {
	ClientID, ProgramID int64
	Statuses            []reward.Status
	From, To            time.Time // created in [From, To); zero: open
	// StuckBefore: only open orders untouched since then.
	StuckBefore time.Time
	BeforeID    string
	Limit       int
}

// RewardOrders backs the orders page (cmd/loyaltyjam wires the reward
// store, the saga and the queue). Every method checks nothing of access:
// the page does; the changes are audited by the implementation in their
// transaction.
type RewardOrders interface {
	Orders(ctx context.Context, f RewardFilter) ([]reward.Redemption, error)
	// Retry runs an open order's saga again now (enqueues its task).
	Retry(ctx context.Context, st access.Staff, clientID int64, id string) error
	// Void fails an open order and returns its points, when the provider
	// cannot fulfil it any more (reward.Saga.Void).
	Void(ctx context.Context, st access.Staff, clientID int64, id string) error
	// Approve and Reject decide an order waiting for a moderator.
	Approve(ctx context.Context, st access.Staff, clientID int64, id string) error
	Reject(ctx context.Context, st access.Staff, clientID int64, id, reason string) error
	// Refund takes a delivered order back (the provider cancelled it):
	// its points return to the participant.
	Refund(ctx context.Context, st access.Staff, clientID int64, id, reason string) error
	// Statement sums a program's points and prizes over [from, to).
	Statement(ctx context.Context, clientID, programID int64, from, to time.Time) (rewarddb.Statement, error)
	// Spending sums the program's delivered orders.
	Spending(ctx context.Context, clientID, programID int64) (rewarddb.Spending, error)
}

// spendingView is the orders page's spending block in plain kopecks.
type spendingView struct {
	Orders            int64
	Price, Face, Cost int64
	HasBudget         bool
	Funded, Spent     int64
	OfSpent, OfFunded string // "12,5" (percent), "" without a base
}

// percentOf is part/whole in percent with one decimal ("" if whole ≤ 0).
func percentOf(part, whole int64) string {
	if whole <= 0 {
		return ""
	}
	tenths := (part*1000 + whole/2) / whole
	return fmt.Sprintf("%d,%d", tenths/10, tenths%10)
}

// stuckAfter: an open order untouched this long is listed as stuck.
const stuckAfter = 15 * time.Minute

var errNoRewards = apperr.New(apperr.NotFound, "rewards_not_configured", "Призы не подключены.")

func (s *Server) registerRewards(p fiber.Router) {
	p.Get("/redemptions", s.redemptionsPage)
	p.Get("/redemptions/export", s.redemptionsExport)
	p.Get("/redemptions/statement", s.redemptionStatement)
	p.Post("/redemptions/:oid/:action", s.redemptionAction)
	s.registerRewardOffers(p)
}

var redemptionStatusNames = map[reward.Status]string{
	reward.Moderation: "на модерации", reward.Queued: "в очереди", reward.Placing: "отправляется поставщику",
	reward.Processing: "у поставщика", reward.Delivered: "выдан", reward.Failed: "не выполнен",
	reward.Refunded: "возвращён",
}

// rewardFilter reads the page's filters: status (one status, "stuck" or
// "" for all), from and to (dates, inclusive, in the program's zone).
func (s *Server) rewardFilter(c *fiber.Ctx) (RewardFilter, map[string]string) {
	p := program(c)
	f := RewardFilter{ClientID: p.ClientID, ProgramID: p.ID, Limit: 200}
	form := map[string]string{"status": c.Query("status"), "from": c.Query("from"), "to": c.Query("to")}
	switch st := form["status"]; st {
	case "stuck":
		f.StuckBefore = s.o.Now().Add(-stuckAfter)
	case "":
	default:
		if _, ok := redemptionStatusNames[reward.Status(st)]; ok {
			f.Statuses = []reward.Status{reward.Status(st)}
		} else {
			form["status"] = ""
		}
	}
	if d, err := time.ParseInLocation(time.DateOnly, form["from"], p.Location); err == nil {
		f.From = d
	} else {
		form["from"] = ""
	}
	if d, err := time.ParseInLocation(time.DateOnly, form["to"], p.Location); err == nil {
		f.To = d.AddDate(0, 0, 1)
	} else {
		form["to"] = ""
	}
	return f, form
}

func (s *Server) redemptionsPage(c *fiber.Ctx) error {
	if s.o.Rewards == nil {
		return s.fail(c, errNoRewards)
	}
	f, form := s.rewardFilter(c)
	rows, err := s.o.Rewards.Orders(c.UserContext(), f)
	if err != nil {
		return s.fail(c, err)
	}
	st := staff(c)
	d := s.pageData(c, s.period(c))
	d["Rows"], d["F"], d["StatusNames"] = rows, form, redemptionStatusNames
	d["Statuses"] = []reward.Status{reward.Moderation, reward.Queued, reward.Placing, reward.Processing, reward.Delivered, reward.Failed, reward.Refunded}
	d["IsOperator"] = st.Role == access.Operator
	d["CanModerate"] = st.CheckClient(program(c).ClientID, access.Moderator, access.ClientManager) == nil
	d["Stuck"] = s.o.Now().Add(-stuckAfter)
	d["Query"] = url.Values{"status": {form["status"]}, "from": {form["from"]}, "to": {form["to"]}}.Encode()
	// The program's reward spending against its budget: the delivered
	// orders' points beside the budget's funded and spent figures (the
	// budget page's own Overview, so both pages show the same numbers).
	p := program(c)
	sp, err := s.o.Rewards.Spending(c.UserContext(), p.ClientID, p.ID)
	if err != nil {
		return s.fail(c, err)
	}
	sv := spendingView{Orders: sp.Orders, Price: int64(sp.Price), Face: int64(sp.Face), Cost: int64(sp.Cost)}
	if s.o.Budgets != nil {
		o, err := s.o.Budgets.Overview(c.UserContext(), st, p.ID, s.o.Now())
		if err != nil {
			return s.fail(c, err)
		}
		sv.HasBudget, sv.Funded, sv.Spent = true, int64(o.Figures.FundedKopecks), int64(o.Figures.SpentKopecks)
		sv.OfSpent = percentOf(sv.Price, sv.Spent)
		sv.OfFunded = percentOf(sv.Price, sv.Funded)
	}
	d["Spending"] = sv
	switch c.Query("done") {
	case "retry":
		d["Flash"] = "Заказ поставлен в очередь ещё раз."
	case "void":
		d["Flash"] = "Заказ отменён, баллы возвращены участнику."
	case "approve":
		d["Flash"] = "Заказ одобрен и передан поставщику."
	case "reject":
		d["Flash"] = "Заказ отклонён, баллы возвращены участнику."
	case "refund":
		d["Flash"] = "Баллы за выданный заказ возвращены участнику."
	}
	return s.render(c, "redemptions", d)
}

func (s *Server) redemptionsExport(c *fiber.Ctx) error {
	if s.o.Rewards == nil {
		return s.fail(c, errNoRewards)
	}
	f, form := s.rewardFilter(c)
	f.Limit = 1000
	ctx, loc := c.UserContext(), program(c).Location
	head := []string{"ID заказа", "Создан (" + zoneName(loc) + ")", "Статус", "Код статуса", "Приз", "Вид", "Поставщик",
		"Номинал, ₽", "Баллы", "Себестоимость, ₽", "Участник (ID)", "Причина", "Попыток"}
	name := "redemptions"
	if form["from"] != "" || form["to"] != "" {
		name += "-" + form["from"] + "-" + form["to"]
	}
	return streamTable(c, name, head, c.Query("format", "csv"), func(emit func([]any) error) error {
		for n := 0; n < 100_000; {
			rows, err := s.o.Rewards.Orders(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := emit([]any{r.ID, r.CreatedAt.In(loc).Format("02.01.2006 15:04"), redemptionStatusNames[r.Status],
					string(r.Status), r.Title, string(r.Kind), r.Provider, money(r.Face), money(r.Price), money(r.Cost),
					r.ParticipantID, r.FailureMessage, r.Attempts}); err != nil {
					return err
				}
			}
			n += len(rows)
			if len(rows) < f.Limit {
				return nil
			}
			f.BeforeID = rows[len(rows)-1].ID
		}
		return nil
	})
}

var errOperatorOnly = apperr.New(apperr.Forbidden, "operator_only", "Это действие доступно только оператору платформы.")

func (s *Server) redemptionAction(c *fiber.Ctx) error {
	if s.o.Rewards == nil {
		return s.fail(c, errNoRewards)
	}
	ctx, p, st := c.UserContext(), program(c), staff(c)
	id, action := c.Params("oid"), c.Params("action")
	var err error
	switch action {
	case "retry", "void", "refund":
		if st.Role != access.Operator {
			return s.fail(c, errOperatorOnly)
		}
		switch action {
		case "retry":
			err = s.o.Rewards.Retry(ctx, st, p.ClientID, id)
		case "void":
			err = s.o.Rewards.Void(ctx, st, p.ClientID, id)
		default:
			err = s.o.Rewards.Refund(ctx, st, p.ClientID, id, c.FormValue("reason"))
		}
	case "approve", "reject":
		if err := st.CheckClient(p.ClientID, access.Moderator, access.ClientManager); err != nil {
			return s.fail(c, err)
		}
		if action == "approve" {
			err = s.o.Rewards.Approve(ctx, st, p.ClientID, id)
		} else {
			err = s.o.Rewards.Reject(ctx, st, p.ClientID, id, c.FormValue("reason"))
		}
	default:
		return s.fail(c, apperr.New(apperr.NotFound, "not_found", "Не найдено."))
	}
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/redemptions?done=%s", Prefix, p.ID, action), fiber.StatusSeeOther)
}

// DefaultRewardOrders is RewardOrders over the reward store, the saga
// (with the providers, for Void's question to the provider) and the task
// queue. Voids, approvals and rejections are audited in their own
// transaction (rewarddb.WithAudit); a retry, which moves no money, is
// audited on its own.
type DefaultRewardOrders struct {
	Store   *rewarddb.Store
	Saga    *reward.Saga
	Audit   *auditdb.Store
	Enqueue func(ctx context.Context, id string) error
}

var _ RewardOrders = DefaultRewardOrders{}

// Orders implements RewardOrders.
func (o DefaultRewardOrders) Orders(ctx context.Context, f RewardFilter) ([]reward.Redemption, error) {
	return o.Store.List(ctx, rewarddb.Filter{ClientID: f.ClientID, ProgramID: f.ProgramID, Statuses: f.Statuses,
		From: f.From, To: f.To, StuckBefore: f.StuckBefore, BeforeID: f.BeforeID, Limit: f.Limit})
}

// Spending implements RewardOrders.
func (o DefaultRewardOrders) Spending(ctx context.Context, clientID, programID int64) (rewarddb.Spending, error) {
	return o.Store.Spending(ctx, clientID, programID)
}

// own loads order id of clientID (another client's is not found).
func (o DefaultRewardOrders) own(ctx context.Context, clientID int64, id string) (reward.Redemption, error) {
	r, err := o.Store.Load(ctx, id)
	if err == nil && r.ClientID != clientID {
		return r, reward.ErrNotFound
	}
	return r, err
}

func staffEntry(st access.Staff, action, reason string) audit.Entry {
	return audit.Entry{Actor: audit.StaffActor(st.UserID, fmt.Sprintf("staff:%d", st.UserID), ""), Action: action, Reason: reason}
}

// Retry implements RewardOrders.
func (o DefaultRewardOrders) Retry(ctx context.Context, st access.Staff, clientID int64, id string) error {
	r, err := o.own(ctx, clientID, id)
	if err != nil {
		return err
	}
	if !r.Status.Open() {
		return reward.ErrNotVoidable
	}
	e := staffEntry(st, "redemption.retry", "")
	e.ClientID, e.ObjectKind, e.ObjectID = clientID, "redemption", id
	if err := o.Audit.Record(ctx, e); err != nil {
		return err
	}
	return o.Enqueue(ctx, id)
}

// Void implements RewardOrders.
func (o DefaultRewardOrders) Void(ctx context.Context, st access.Staff, clientID int64, id string) error {
	if _, err := o.own(ctx, clientID, id); err != nil {
		return err
	}
	return o.Saga.Void(rewarddb.WithAudit(ctx, staffEntry(st, "redemption.void", "")), id, "voided")
}

// Approve implements RewardOrders.
func (o DefaultRewardOrders) Approve(ctx context.Context, st access.Staff, clientID int64, id string) error {
	ok, err := o.Store.Approve(rewarddb.WithAudit(ctx, staffEntry(st, "redemption.approve", "")), clientID, id)
	if err != nil {
		return err
	}
	if !ok {
		return errNotWaiting
	}
	return o.Enqueue(ctx, id)
}

var errNotWaiting = apperr.New(apperr.Conflict, "redemption_not_in_moderation", "Заказ уже не ждёт решения модератора.")

// Reject implements RewardOrders.
func (o DefaultRewardOrders) Reject(ctx context.Context, st access.Staff, clientID int64, id, reason string) error {
	r, err := o.own(ctx, clientID, id)
	if err != nil {
		return err
	}
	if r.Status != reward.Moderation {
		return errNotWaiting
	}
	return o.Store.Fail(rewarddb.WithAudit(ctx, staffEntry(st, "redemption.reject", reason)), id, "moderation", reason)
}

// Refund implements RewardOrders.
func (o DefaultRewardOrders) Refund(ctx context.Context, st access.Staff, clientID int64, id, reason string) error {
	if _, err := o.own(ctx, clientID, id); err != nil {
		return err
	}
	return o.Store.Refund(rewarddb.WithAudit(ctx, staffEntry(st, "redemption.refund", reason)), id, reason)
}

// Statement implements RewardOrders.
func (o DefaultRewardOrders) Statement(ctx context.Context, clientID, programID int64, from, to time.Time) (rewarddb.Statement, error) {
	return o.Store.Statement(ctx, clientID, programID, from, to)
}

var errBadMonth = &apperr.Error{Kind: apperr.Invalid, Code: "bad_month", Message: "Месяц задаётся как ГГГГ-ММ.", Field: "month"}

// redemptionStatement is the monthly statement of a program (?month=YYYY-MM,
// default the last month; format=xlsx or csv): points issued and redeemed,
// orders by outcome, face values and provider costs of delivered prizes.
func (s *Server) redemptionStatement(c *fiber.Ctx) error {
	if s.o.Rewards == nil {
		return s.fail(c, errNoRewards)
	}
	p := program(c)
	month := c.Query("month", s.lastMonth(c))
	m, err := time.ParseInLocation("2006-01", month, p.Location)
	if err != nil {
		return s.fail(c, errBadMonth)
	}
	st, err := s.o.Rewards.Statement(c.UserContext(), p.ClientID, p.ID, m, m.AddDate(0, 1, 0))
	if err != nil {
		return s.fail(c, err)
	}
	t := table{Name: "statement-" + month, Head: []string{"Показатель", "Значение"}, Rows: [][]any{
		{"Месяц", month},
		{"Программа", p.Name},
		{"Начислено баллов", money(st.Issued)},
		{"Потрачено баллов на призы", money(st.Redeemed)},
		{"Заказов создано", st.Orders},
		{"Выдано", st.Delivered},
		{"Не выполнено (баллы возвращены)", st.Failed},
		{"Возвращено после выдачи", st.Refunded},
		{"В работе", st.Open},
		{"Номинал выданных призов, ₽", money(st.Faces)},
		{"Стоимость у поставщиков, ₽", money(st.Costs)},
	}}
	return sendTable(c, t, c.Query("format", "xlsx"))
}
