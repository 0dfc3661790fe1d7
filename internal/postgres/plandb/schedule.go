package plandb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// SetSchedule makes the scheduler close the program's plan periods on day
// (1..28) of the month after each period; 0 removes the schedule.
func (s *Store) SetSchedule(ctx context.Context, by Actor, clientID, programID int64, day int) error {
	if day < 0 || day > 28 {
		return plan.ErrBadCloseDay
	}
	return postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		if err := program(ctx, tx, clientID, programID); err != nil {
			return err
		}
		var err error
		if day == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM plan_close_schedules WHERE program_id = $1`, programID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO plan_close_schedules (program_id, client_id, close_day) VALUES ($1, $2, $3)
				ON CONFLICT (program_id) DO UPDATE SET close_day = EXCLUDED.close_day, updated_at = now()`, programID, clientID, day)
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: by.Audit, Action: "plan.close_schedule_set",
			ObjectKind: "program", ObjectID: strconv.FormatInt(programID, 10), After: audit.State(map[string]int{"close_day": day})})
	})
}

// Scheduler is the system actor of scheduled closes.
var Scheduler = Actor{Audit: audit.Actor{Kind: audit.System, Name: "plan-scheduler"}}

// CloseDue runs the scheduled closes due at now (UTC dates): for every
// scheduled program whose close day of this month has come, the previous
// month and, in the first month of a quarter, the previous quarter — when
// it has a tier table and the scheduler has not taken it yet. Each is
// previewed and, under the maker-checker threshold, approved; above it the
// preview waits for staff. It returns the runs made and posted.
func (s *Store) CloseDue(ctx context.Context, now time.Time) (made, posted int, err error) {
	now = now.UTC()
	prevMonth := plan.Current(plan.Month, now.AddDate(0, 0, -now.Day()))
	periods := []string{prevMonth.String()}
	if now.Month()%3 == 1 {
		periods = append(periods, plan.Current(plan.Quarter, now.AddDate(0, 0, -now.Day())).String())
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT t.client_id, t.program_id, t.period
		FROM plan_close_schedules sc
		JOIN plan_tier_tables t ON t.program_id = sc.program_id AND t.period = ANY($1)
		LEFT JOIN plan_periods p ON p.program_id = t.program_id AND p.period = t.period
		WHERE sc.close_day <= $2 AND p.scheduled_at IS NULL
		ORDER BY t.program_id, t.period`, periods, now.Day())
	if err != nil {
		return 0, 0, err
	}
	type due struct {
		client, program int64
		period          string
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		err := r.Scan(&d.client, &d.program, &d.period)
		return d, err
	})
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, d := range ds {
		// Take the period (once, whichever worker gets there first).
		tag, err := s.db.Exec(ctx, `UPDATE plan_periods SET scheduled_at = now()
			WHERE program_id = $1 AND period = $2 AND scheduled_at IS NULL`, d.program, d.period)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		p, _ := plan.ParsePeriod(d.period)
		run, err := s.Preview(ctx, Scheduler, d.client, d.program, p)
		if err != nil {
			// Give the period back to the next round.
			_, _ = s.db.Exec(ctx, `UPDATE plan_periods SET scheduled_at = NULL WHERE program_id = $1 AND period = $2`, d.program, d.period)
			errs = append(errs, fmt.Errorf("preview program %d %s: %w", d.program, d.period, err))
			continue
		}
		made++
		if run.NeedsSecondApproval {
			continue
		}
		if _, err := s.Approve(ctx, Scheduler, d.client, run.ID); err != nil {
			errs = append(errs, fmt.Errorf("approve run %d: %w", run.ID, err))
			continue
		}
		posted++
	}
	return made, posted, errors.Join(errs...)
}
