package verify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// sweepPages bounds the pages of SweepBatch rows one sweep reads.
const sweepPages = 20

// Sweep re-enqueues the task of every receipt that should be moving and is
// not: Redis may lose tasks, PostgreSQL may not.
//
// With a Tasks (the queue's own list of the receipts it holds work for) it
// looks at receipts in a non-terminal state untouched for LostAfter, with
// no retry scheduled for later, and re-enqueues those the queue holds no
// task for: after Redis lost its data the pipeline resumes within about
// LostAfter plus the sweep interval, and a receipt whose task is merely
// waiting in a long queue gets no second one.
//
// Without a Tasks it cannot tell a lost task from a slow one and waits
// longer: receipts are re-enqueued when
//
//   - due: a retry scheduled (next_attempt_at) more than DueGrace ago, or
//   - stale: untouched for StuckAfter with nothing scheduled (a lost
//     decode/verify task, a worker that died mid-verification, a decoded
//     receipt the API never queued).
//
// Re-enqueueing is idempotent: a due retry gets a key derived from its
// schedule and a stale row one derived from its updated_at, so sweeps by several
// workers, or a sweep racing the original task, add no second task; and
// the handlers act only on a row still in the state they expect. It returns
// how many tasks it enqueued (or found already enqueued).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	q := receipt.StuckQuery{UntouchedBefore: now.Add(-s.cfg.DueGrace), DueBefore: now.Add(-s.cfg.DueGrace),
		Limit: s.cfg.SweepBatch}
	staleBefore := now.Add(-s.cfg.StuckAfter)
	if s.tasks != nil {
		q.UntouchedBefore, q.DueBefore = now.Add(-s.cfg.LostAfter), now
		staleBefore = q.UntouchedBefore
	}
	var live map[string]bool
	n := 0
	for page := 0; page < sweepPages; page++ {
		rows, err := s.store.Stuck(ctx, q)
		if err != nil {
			return n, fmt.Errorf("list stuck receipts: %w", err)
		}
		if len(rows) > 0 && s.tasks != nil && live == nil {
			// Read after the rows: a task enqueued for one of them since
			// then shows (and a task that finished since then was for a
			// row that moved on: a duplicate is skipped by its handler).
			if live, err = s.tasks.Live(ctx); err != nil {
				return n, fmt.Errorf("list queued receipts: %w", err)
			}
		}
		for _, r := range rows {
			if live[r.ID] {
				continue // the queue will get to it
			}
			ok, err := s.resweep(ctx, r, staleBefore)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(rows) < q.Limit || s.tasks == nil {
			break
		}
		last := rows[len(rows)-1]
		q.AfterUpdated, q.AfterID = last.UpdatedAt, last.ID
	}
	s.rec.Swept(n)
	return n, nil
}

// resweep enqueues the task r needs, if any; it reports whether it did.
func (s *Service) resweep(ctx context.Context, r receipt.Receipt, staleBefore time.Time) (bool, error) {
	due := r.NextAttemptAt != nil
	if !due && !r.UpdatedAt.Before(staleBefore) {
		return false, nil // being worked on right now, probably
	}
	key := "sweep" + strconv.FormatInt(r.UpdatedAt.UnixMilli(), 10)
	if due {
		// Not the schedule's own key: that task may have run (early, or
		// before a crash) and is kept by the queue for its retention,
		// which would refuse this re-enqueue for an hour.
		key = scheduleKey(*r.NextAttemptAt) + "s"
	}
	var err error
	switch r.Status {
	case receipt.Received:
		if r.PhotoKey == "" {
			return false, nil
		}
		err = s.sched.ScheduleDecode(ctx, r.ID, key)
	case receipt.Decoded, receipt.Queued, receipt.Verifying, receipt.PendingOFD:
		err = s.sched.ScheduleVerify(ctx, r.ID, 0, key)
	case receipt.Verified:
		if s.proc == nil {
			return false, nil // stays verified until a Processor is configured
		}
		err = s.sched.ScheduleVerify(ctx, r.ID, 0, key)
	default:
		// matched: the rules step owns it; nothing this package can redo.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("re-enqueue receipt %s: %w", r.ID, err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "receipt_swept", slog.String("receipt_id", r.ID),
		slog.String("status", string(r.Status)), slog.Bool("due", due))
	return true, nil
}
