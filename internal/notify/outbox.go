package notify

import (
	"context"
	"log/slog"
	"time"
)

// Due is an open intent the relay should hand to a worker.
type Due struct {
	ID int64
	// At is when the delivery may run (the end of quiet hours, or now).
	At time.Time
}

// OutboxStore is what the relay needs from storage (notifydb.Store).
type OutboxStore interface {
	// DueIntents returns up to limit open intents whose next attempt is at
	// or before dueBy and that were never enqueued or last enqueued before
	// enqueuedBefore, oldest first.
	DueIntents(ctx context.Context, dueBy, enqueuedBefore time.Time, limit int) ([]Due, error)
	// MarkEnqueued records that ids were handed to the queue at at.
	MarkEnqueued(ctx context.Context, ids []int64, at time.Time) error
}

// Enqueuer hands a delivery task to the queue (queue.NotifyEnqueuer). The
// task id derives from the intent id, so enqueueing an intent whose task is
// still queued, scheduled, running or retrying is a no-op returning nil; a
// finished task still holding the id (archived) must be replaced, since the
// relay asks only for open intents.
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, intentID int64, at time.Time) error
}

// Outbox is the relay from the outbox table to the queue: it periodically
// enqueues a delivery task for every open intent that is due and not
// recently enqueued, so an intent committed with its event is delivered
// even if Redis lost the task or nobody enqueued it.
type Outbox struct {
	store       OutboxStore
	q           Enqueuer
	now         func() time.Time
	resendAfter time.Duration
	lookahead   time.Duration
	batch       int
	log         *slog.Logger
}

// OutboxOption configures an Outbox.
type OutboxOption func(*Outbox)

// WithOutboxClock injects the clock.
func WithOutboxClock(now func() time.Time) OutboxOption { return func(o *Outbox) { o.now = now } }

// WithResendAfter sets how long after an enqueue the relay assumes the
// task may be lost and enqueues again (a no-op while the task exists).
// Default 10 min.
func WithResendAfter(d time.Duration) OutboxOption { return func(o *Outbox) { o.resendAfter = d } }

// WithOutboxLogger sets the logger.
func WithOutboxLogger(l *slog.Logger) OutboxOption { return func(o *Outbox) { o.log = l } }

// NewOutbox returns the relay.
func NewOutbox(store OutboxStore, q Enqueuer, opts ...OutboxOption) *Outbox {
	o := &Outbox{store: store, q: q, now: time.Now, resendAfter: 10 * time.Minute, lookahead: time.Minute,
		batch: 500, log: slog.Default()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Relay enqueues every due intent once and returns how many it handed to
// the queue. Intents due within the next minute (quiet hours ending) are
// enqueued as scheduled tasks.
func (o *Outbox) Relay(ctx context.Context) (int, error) {
	total := 0
	for {
		now := o.now()
		due, err := o.store.DueIntents(ctx, now.Add(o.lookahead), now.Add(-o.resendAfter), o.batch)
		if err != nil {
			return total, err
		}
		ids := make([]int64, 0, len(due))
		for _, d := range due {
			if err := o.q.EnqueueDelivery(ctx, d.ID, d.At); err != nil {
				// Mark what was enqueued so far; the rest stays due.
				if merr := o.store.MarkEnqueued(ctx, ids, now); merr != nil {
					return total, merr
				}
				return total + len(ids), err
			}
			ids = append(ids, d.ID)
		}
		if err := o.store.MarkEnqueued(ctx, ids, now); err != nil {
			return total, err
		}
		total += len(ids)
		if len(due) < o.batch {
			return total, nil
		}
	}
}

// RunRelay runs Relay every interval until ctx ends. Errors are logged and
// the loop goes on: Redis or PostgreSQL coming back is the cure.
func (o *Outbox) RunRelay(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := o.Relay(ctx); err != nil && ctx.Err() == nil {
			o.log.ErrorContext(ctx, "notification_relay_failed", slog.Int("enqueued", n), slog.Any("error", err))
		} else if n > 0 {
			o.log.DebugContext(ctx, "notification_relay", slog.Int("enqueued", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
