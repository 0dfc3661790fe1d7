package mobileapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
)

// RegisterFeatures mounts the inbox, points and task routes of an API that
// has only the stores in d, authenticating callers with who (in the
// handler tests: a request header naming the participant) instead of a
// bearer token, so those tests need no sign-in.
func RegisterFeatures(app *fiber.App, d Deps, who func(*fiber.Ctx) (auth.Participant, error)) {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	a := &API{inbox: d.Notifications, ledger: d.Ledger, tasks: d.Tasks, plans: d.Plans, now: now}
	a.registerFeatures(app.Group("/v1"), func(c *fiber.Ctx) error {
		p, err := who(c)
		if err != nil {
			return err
		}
		c.Locals(callerKey, &caller{Participant: p})
		return c.Next()
	})
}
