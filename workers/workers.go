package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
)

// Handlers are the receipt pipeline's task handlers.
type Handlers struct {
	svc      *verify.Service
	log      *slog.Logger
	interval time.Duration
}

// Options tune Handlers. Zero values select the defaults.
type Options struct {
	// SweepInterval is the period of the sweeper; default 1 min.
	SweepInterval time.Duration
	Logger        *slog.Logger
}

// New returns the handlers over svc.
func New(svc *verify.Service, opts Options) *Handlers {
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{svc: svc, log: opts.Logger, interval: opts.SweepInterval}
}

// Register mounts the handlers on mux.
func Register(mux *asynq.ServeMux, h *Handlers) {
	mux.HandleFunc(queue.TypeReceiptVerify, h.Verify)
	mux.HandleFunc(queue.TypeReceiptDecode, h.Decode)
}

// Verify handles queue.TypeReceiptVerify.
func (h *Handlers) Verify(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseReceiptPayload(t.Payload())
	if err != nil {
		return err // wraps asynq.SkipRetry
	}
	_, err = h.svc.Verify(ctx, p.ReceiptID)
	return h.policy(ctx, t, p.ReceiptID, err)
}

// Decode handles queue.TypeReceiptDecode.
func (h *Handlers) Decode(ctx context.Context, t *asynq.Task) error {
	p, err := queue.ParseReceiptPayload(t.Payload())
	if err != nil {
		return err
	}
	_, err = h.svc.Decode(ctx, p.ReceiptID)
	return h.policy(ctx, t, p.ReceiptID, err)
}

func (h *Handlers) policy(ctx context.Context, t *asynq.Task, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, verify.ErrUnknownReceipt):
		h.log.LogAttrs(ctx, slog.LevelWarn, "receipt_task_poison", slog.String("task", t.Type()), slog.String("receipt_id", id))
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	default:
		h.log.LogAttrs(ctx, slog.LevelWarn, "receipt_task_failed", slog.String("task", t.Type()),
			slog.String("receipt_id", id), slog.String("error", err.Error()))
		return err
	}
}

// Periodic runs the sweeper every SweepInterval until ctx ends (first run
// at once). Run it in every worker process: re-enqueueing is idempotent.
func (h *Handlers) Periodic(ctx context.Context) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		if n, err := h.svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			h.log.LogAttrs(ctx, slog.LevelError, "receipt_sweep_failed", slog.String("error", err.Error()))
		} else if n > 0 {
			h.log.LogAttrs(ctx, slog.LevelInfo, "receipt_sweep", slog.Int("enqueued", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RetryDelay is the asynq.Config.RetryDelayFunc for the pipeline's tasks.
// Provider outcomes never reach it (the service reschedules them itself);
// it spaces retries of failed steps (storage, Processor): 5 s doubling to
// 10 min. A task whose worker died (lease expired) is retried at once: its
// row is mid-step and the handler resumes it idempotently.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	// A channel that said when to come back (FCM 429 Retry-After) is obeyed.
	if d := notify.RetryAfter(err); d > 0 {
		return d
	}
	d := 5 * time.Second
	for i := 0; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// Scheduler enqueues pipeline tasks with Asynq; it implements
// verify.Scheduler.
type Scheduler struct{ c *asynq.Client }

// NewScheduler returns a Scheduler over c.
func NewScheduler(c *asynq.Client) *Scheduler { return &Scheduler{c: c} }

var _ verify.Scheduler = (*Scheduler)(nil)

// ScheduleVerify implements verify.Scheduler. The task id is
// "receipt:verify:<id>" for key "" and "receipt:verify:<id>:<key>"
// otherwise; an id the queue still holds (pending, scheduled, or finished
// within its retention) is not an error.
func (s *Scheduler) ScheduleVerify(ctx context.Context, id string, delay time.Duration, key string) error {
	return queue.EnqueueReceiptVerify(ctx, s.c, id, delay, key)
}

// ScheduleDecode implements verify.Scheduler.
func (s *Scheduler) ScheduleDecode(ctx context.Context, id string, key string) error {
	return queue.EnqueueReceiptDecode(ctx, s.c, id, key)
}
