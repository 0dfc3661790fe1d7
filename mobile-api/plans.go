package mobileapi

// The plan route (issue 20): the participant's plans of the current month
// and quarter — plan, actual, % done, the tier reached and the next
// threshold with what reaching it pays — computed from the credited
// receipts as they come.

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
)

// Plans is what the plan route reads (plandb.Store implements it).
type Plans interface {
	Progress(ctx context.Context, clientID, participantID int64, now time.Time) ([]plandb.Progress, error)
}

func (a *API) registerPlans(v1 fiber.Router, authn fiber.Handler) {
	v1.Get("/plans/current", authn, a.currentPlans)
}

// planNext is the next threshold of a plan.
type planNext struct {
	Tier          int    `json:"tier"`
	Name          string `json:"name"`
	ThresholdBP   int64  `json:"threshold_bp"`
	Remaining     int64  `json:"remaining"`
	PayoutKopecks int64  `json:"payout_kopecks"`
	Payout        string `json:"payout"`
}

// planProgress is one plan of GET /v1/plans/current. target and actual
// are in measure's unit: kopecks (roubles), thousandths (units) or
// receipts.
type planProgress struct {
	ProgramID     int64     `json:"program_id"`
	ProgramName   string    `json:"program_name"`
	Period        string    `json:"period"`
	PlanVersion   int       `json:"plan_version"`
	Measure       string    `json:"measure"`
	Target        int64     `json:"target"`
	Actual        int64     `json:"actual"`
	AttainmentBP  int64     `json:"attainment_bp"`
	PercentDone   string    `json:"percent_done"`
	Tier          int       `json:"tier"`
	TierName      string    `json:"tier_name"`
	PayoutKopecks int64     `json:"payout_kopecks"`
	Payout        string    `json:"payout"`
	Next          *planNext `json:"next"`
}

func (a *API) currentPlans(c *fiber.Ctx) error {
	me := callerOf(c)
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	ps, err := a.plans.Progress(c.UserContext(), me.ClientID, me.ID, now())
	if err != nil {
		return err
	}
	out := make([]planProgress, 0, len(ps))
	for _, p := range ps {
		s := p.Settlement
		x := planProgress{ProgramID: p.ProgramID, ProgramName: p.ProgramName, Period: p.Period, PlanVersion: p.PlanVersion,
			Measure: string(p.Table.Measure), Target: s.TargetValue, Actual: s.Actual.Value, AttainmentBP: s.AttainmentBP,
			PercentDone: money.Machine.Fixed(s.AttainmentBP, 2), Tier: s.Tier,
			PayoutKopecks: int64(s.PayoutKopecks), Payout: s.PayoutKopecks.String()}
		if s.Tier >= 0 {
			x.TierName = p.Table.Tiers[s.Tier].Name
		}
		if n := s.Next; n != nil {
			x.Next = &planNext{Tier: n.Tier, Name: p.Table.Tiers[n.Tier].Name, ThresholdBP: n.ThresholdBP, Remaining: n.Remaining,
				PayoutKopecks: int64(n.PayoutKopecks), Payout: n.PayoutKopecks.String()}
		}
		out = append(out, x)
	}
	return c.JSON(fiber.Map{"plans": out})
}
