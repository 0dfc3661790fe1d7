package mobileapi

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// Team reads the hierarchy below a participant (*tenantdb.Store).
type Team interface {
	Team(ctx context.Context, participantID int64) (tenant.Team, error)
}

// getTeam lists the participants below the caller (a sales rep's sellers,
// a supervisor's reps and their sellers) and the shops they work in;
// empty for whoever has nobody below.
func (a *API) getTeam(c *fiber.Ctx) error {
	t, err := a.team.Team(c.UserContext(), callerOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(t)
}
