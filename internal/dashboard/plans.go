package dashboard

// The plans page of a program (issue 20): a period's attainment per
// participant (plan, actual, %, tier, payout if it closed now), the
// distribution over tiers, the cost forecast against the budget, and the
// period's close runs with their status. It reads plandb's summary; plans
// are set and periods closed through the staff API (docs/plans.md).

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	lmoney "github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
)

// PlanStore backs the plans page (*plandb.Store). The page checks the
// program belongs to the staff member's client before calling it.
type PlanStore interface {
	Summarize(ctx context.Context, clientID, programID int64, period plan.Period, top int, showNames bool) (plandb.Summary, error)
	Table(ctx context.Context, clientID, programID int64, period plan.Period) (plandb.TableVersion, error)
	Runs(ctx context.Context, clientID, programID int64, period plan.Period) ([]plandb.Run, error)
}

// planRows is how many participants the page lists (Summarize's maximum).
const planRows = 1000

var errNoPlans = apperr.New(apperr.NotFound, "plans_not_configured", "Планы не подключены.")

func init() {
	extraPages = append(extraPages, "plans")
	funcs["kopecks"] = func(k lmoney.Kopecks) string { return kpi.Roubles(int64(k)) }
}

func (s *Server) registerPlans(p fiber.Router) { p.Get("/plans", s.plansPage) }

var runStatusNames = map[string]string{"preview": "предпросмотр, ждёт утверждения", "posted": "проведён", "stale": "устарел"}

// planGroups is a table of attainment by shop or region.
type planGroups struct {
	ID, Title, Key string
	Rows           []plandb.Group
}

// planTier is one line of the tier distribution.
type planTier struct {
	Name         string
	ThresholdBP  int64
	Participants int
}

func (s *Server) plansPage(c *fiber.Ctx) error {
	if s.o.Plans == nil {
		return s.fail(c, errNoPlans)
	}
	p := program(c)
	now := s.o.Now().In(p.Location)
	period := plan.Current(plan.Month, now)
	if q := c.Query("period"); q != "" {
		x, err := plan.ParsePeriod(q)
		if err != nil {
			return s.fail(c, apperr.New(apperr.Invalid, "bad_period", "Период: 2026-11 или 2026-Q4."))
		}
		period = x
	}
	ctx := c.UserContext()
	d := s.pageData(c, s.period(c))
	d["Period"] = period.String()
	tv, err := s.o.Plans.Table(ctx, p.ClientID, p.ID, period)
	if errors.Is(err, plan.ErrNoTable) {
		d["NoTable"] = true
		return s.render(c, "plans", d)
	}
	if err != nil {
		return s.fail(c, err)
	}
	sum, err := s.o.Plans.Summarize(ctx, p.ClientID, p.ID, period, planRows, true)
	if err != nil {
		return s.fail(c, err)
	}
	runs, err := s.o.Plans.Runs(ctx, p.ClientID, p.ID, period)
	if err != nil {
		return s.fail(c, err)
	}
	tiers := []planTier{{Name: "Порог не достигнут", Participants: sum.Tiers[0]}}
	names := map[int]string{-1: "—"}
	for i, t := range tv.Table.Tiers {
		name := t.Name
		if name == "" {
			name = "Уровень " + strconv.Itoa(i+1)
		}
		names[i] = name
		n := 0
		if i+1 < len(sum.Tiers) {
			n = sum.Tiers[i+1]
		}
		tiers = append(tiers, planTier{Name: name, ThresholdBP: t.ThresholdBP, Participants: n})
	}
	d["Sum"], d["Table"], d["Tiers"], d["TierNames"], d["Runs"], d["RunStatus"] = sum, tv, tiers, names, runs, runStatusNames
	d["Groups"] = []planGroups{{ID: "shop", Title: "По магазинам", Key: "Магазин", Rows: sum.ByShop},
		{ID: "region", Title: "По регионам", Key: "Регион", Rows: sum.ByRegion}}
	d["Measure"] = string(tv.Table.Measure)
	d["OverBudget"] = sum.ForecastKopecks-sum.PaidKopecks > sum.BudgetKopecks
	d["Truncated"] = sum.Participants > len(sum.Leaderboard)
	return s.render(c, "plans", d)
}
