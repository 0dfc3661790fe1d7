package verify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Sweep re-enqueues the task of every receipt that should be moving and is
// not: Redis may lose tasks, PostgreSQL may not. It looks at receipts in a
// non-terminal state that are
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
	rows, err := s.store.Stuck(ctx, now.Add(-s.cfg.DueGrace), s.cfg.SweepBatch)
	if err != nil {
		return 0, fmt.Errorf("list stuck receipts: %w", err)
	}
	staleBefore := now.Add(-s.cfg.StuckAfter)
	n := 0
	for _, r := range rows {
		due := r.NextAttemptAt != nil
		if !due && !r.UpdatedAt.Before(staleBefore) {
			continue // being worked on right now, probably
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
				continue
			}
			err = s.sched.ScheduleDecode(ctx, r.ID, key)
		case receipt.Decoded, receipt.Queued, receipt.Verifying, receipt.PendingOFD:
			err = s.sched.ScheduleVerify(ctx, r.ID, 0, key)
		case receipt.Verified:
			if s.proc == nil {
				continue // stays verified until a Processor is configured
			}
			err = s.sched.ScheduleVerify(ctx, r.ID, 0, key)
		default:
			// matched: the rules step owns it; nothing this package can redo.
			continue
		}
		if err != nil {
			return n, fmt.Errorf("re-enqueue receipt %s: %w", r.ID, err)
		}
		n++
		s.log.LogAttrs(ctx, slog.LevelInfo, "receipt_swept", slog.String("receipt_id", r.ID),
			slog.String("status", string(r.Status)), slog.Bool("due", due))
	}
	s.rec.Swept(n)
	return n, nil
}
