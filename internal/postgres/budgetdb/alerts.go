package budgetdb

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Recipient is a client manager an alert is e-mailed to.
type Recipient = budget.Recipient

// SendFunc delivers one alert to its recipients (budget.Mailer.Send).
type SendFunc func(ctx context.Context, to []Recipient, a budget.Alert, programName string) error

// CheckResult counts what one check did.
type CheckResult struct {
	Programs, Raised, Cleared, Emailed, EmailFailed int
}

// CheckAlerts evaluates the budget of every program in test or live: it
// raises an alert for each condition that newly holds (one open row per
// program, kind and threshold: raised once per crossing, however often
// the check runs or how many workers run it), clears the open alerts whose
// condition no longer holds (after a top-up), then e-mails every raised
// alert not yet e-mailed to the client's managers. An alert is claimed
// before its e-mail goes out, so two workers never both send it; a failed
// send gives the claim back and is tried again by the next check.
func (s *Store) CheckAlerts(ctx context.Context, now time.Time, send SendFunc) (CheckResult, error) {
	var res CheckResult
	if err := s.RetryFailedEmails(ctx); err != nil {
		return res, err
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM programs WHERE status IN ('test', 'live') ORDER BY id`)
	if err != nil {
		return res, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return res, err
	}
	for _, id := range ids {
		raised, cleared, err := s.checkProgram(ctx, id, now)
		if err != nil {
			return res, fmt.Errorf("budget alerts of program %d: %w", id, err)
		}
		res.Programs++
		res.Raised += raised
		res.Cleared += cleared
	}
	if send == nil {
		return res, nil
	}
	for {
		a, name, to, ok, err := s.claimUnmailed(ctx)
		if err != nil || !ok {
			return res, err
		}
		serr := send(ctx, to, a, name)
		if serr == nil {
			res.Emailed++
			continue
		}
		res.EmailFailed++
		s.log.ErrorContext(ctx, "budget alert e-mail failed", "alert_id", a.ID, "program_id", a.ProgramID, "err", serr)
		msg := serr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if _, err := s.db.Exec(ctx, `UPDATE budget_alerts SET emailed_at = NULL, email_error = $2 WHERE id = $1`, a.ID, msg); err != nil {
			return res, err
		}
		// A failed one waits for the next check (claimUnmailed skips it).
	}
}

// checkProgram raises and clears one program's alerts under its row lock.
func (s *Store) checkProgram(ctx context.Context, programID int64, now time.Time) (raised, cleared int, err error) {
	err = postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		raised, cleared = 0, 0
		var p program
		var percents []int32
		err := tx.QueryRow(ctx, `SELECT id, client_id, name, budget_at_zero, budget_alert_percents, budget_alert_runway_days
			FROM programs WHERE id = $1 FOR UPDATE`, programID).
			Scan(&p.ID, &p.ClientID, &p.Name, &p.Settings.AtZero, &percents, &p.Settings.AlertRunwayDays)
		if err != nil {
			return err
		}
		for _, v := range percents {
			p.Settings.AlertPercents = append(p.Settings.AlertPercents, int(v))
		}
		f, err := figures(ctx, tx, p.ClientID, p.ID, now)
		if err != nil {
			return err
		}
		conds := budget.Conditions(p.Name, f, p.Settings)
		open, err := alerts(ctx, tx, `program_id = $1 AND cleared_at IS NULL`, p.ID)
		if err != nil {
			return err
		}
		holds := map[[2]string]bool{}
		for _, c := range conds {
			holds[[2]string{c.Kind, strconv.Itoa(c.Threshold)}] = true
		}
		ctx := postgres.ContextWithTx(ctx, tx)
		for _, a := range open {
			if holds[[2]string{a.Kind, strconv.Itoa(a.Threshold)}] {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE budget_alerts SET cleared_at = $2 WHERE id = $1`, a.ID, now); err != nil {
				return err
			}
			cleared++
		}
		for _, c := range conds {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO budget_alerts (client_id, program_id, kind, threshold, message, raised_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (program_id, kind, threshold) WHERE cleared_at IS NULL DO NOTHING RETURNING id`,
				p.ClientID, p.ID, c.Kind, c.Threshold, c.Message, now).Scan(&id)
			if err == pgx.ErrNoRows {
				continue // already open: raised at an earlier check
			}
			if err != nil {
				return err
			}
			raised++
			if err := s.audit.Record(ctx, audit.Entry{ClientID: p.ClientID, Actor: audit.Actor{Kind: audit.System, Name: "budget-alerts"},
				Action: "budget.alert", ObjectKind: "program", ObjectID: strconv.FormatInt(p.ID, 10),
				After:  audit.State(map[string]any{"alert_id": id, "kind": c.Kind, "threshold": c.Threshold, "figures": f}),
				Reason: c.Message}); err != nil {
				return err
			}
		}
		return nil
	})
	return raised, cleared, err
}

// claimUnmailed claims the oldest open alert not yet e-mailed (setting
// emailed_at) and returns it with its program's name and the client's
// managers.
func (s *Store) claimUnmailed(ctx context.Context) (a budget.Alert, name string, to []Recipient, ok bool, err error) {
	err = postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var clientID int64
		err := tx.QueryRow(ctx, `UPDATE budget_alerts b SET emailed_at = now()
			WHERE b.id = (SELECT id FROM budget_alerts WHERE emailed_at IS NULL AND cleared_at IS NULL AND email_error = ''
			              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING b.id, b.client_id, b.program_id, b.kind, b.threshold, b.message, b.raised_at, b.emailed_at`).
			Scan(&a.ID, &clientID, &a.ProgramID, &a.Kind, &a.Threshold, &a.Message, &a.RaisedAt, &a.EmailedAt)
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		if err := tx.QueryRow(ctx, `SELECT name FROM programs WHERE id = $1`, a.ProgramID).Scan(&name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT email, name FROM dashboard_users WHERE client_id = $1 AND role = 'client_manager' ORDER BY id`, clientID)
		if err != nil {
			return err
		}
		to, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Recipient, error) {
			var r Recipient
			return r, row.Scan(&r.Email, &r.Name)
		})
		return err
	})
	return a, name, to, ok, err
}

// RetryFailedEmails makes alerts whose e-mail failed eligible again (the
// worker calls it before a check, so a failure is retried once per check
// interval rather than in a loop).
func (s *Store) RetryFailedEmails(ctx context.Context) error {
	_, err := s.db.Exec(ctx, `UPDATE budget_alerts SET email_error = '' WHERE emailed_at IS NULL AND cleared_at IS NULL AND email_error <> ''`)
	return err
}
