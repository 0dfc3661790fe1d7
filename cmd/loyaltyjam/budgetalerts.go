package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
)

// budgetCheckInterval is how often the worker checks every live program's
// budget against its alert thresholds. An alert is raised and e-mailed
// once per crossing (budgetdb.CheckAlerts), however often this runs.
const budgetCheckInterval = 5 * time.Minute

// checkBudgets runs the budget alert check until ctx ends, e-mailing the
// client's managers through mail (nil: alerts show on the dashboard only,
// and wait, unmailed, for SMTP to be configured).
func checkBudgets(ctx context.Context, d *deps, mail *email.Client) {
	store := budgetdb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), d.log)
	var send budgetdb.SendFunc
	if mail != nil {
		base := strings.TrimSuffix(d.cfg.PublicURL, "/")
		send = func(ctx context.Context, to []budget.Recipient, a budget.Alert, name string) error {
			link := ""
			if base != "" {
				link = fmt.Sprintf("%s/dashboard/p/%d/budget", base, a.ProgramID)
			}
			return budget.Mail(ctx, mail, to, a, name, link)
		}
	}
	every(ctx, budgetCheckInterval, func(ctx context.Context) {
		res, err := store.CheckAlerts(ctx, time.Now(), send)
		if err != nil {
			d.log.ErrorContext(ctx, "budget alert check failed", "err", err)
			return
		}
		if res.Raised+res.Cleared+res.Emailed+res.EmailFailed > 0 {
			d.log.InfoContext(ctx, "budget alerts checked", "programs", res.Programs, "raised", res.Raised,
				"cleared", res.Cleared, "emailed", res.Emailed, "email_failed", res.EmailFailed)
		}
	})
}
