package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// RewardSaga is what the reward task runs (reward.Saga).
type RewardSaga interface {
	Run(ctx context.Context, id string) error
}

// RegisterReward registers the redemption saga's task on mux. An order not
// settled yet (processing at the provider, outcome unknown, provider down)
// is retried with RetryDelay's backoff; an order that is not ours any more
// (not found) is dropped.
func RegisterReward(mux *asynq.ServeMux, s RewardSaga) {
	mux.HandleFunc(queue.TypeRewardPlace, func(ctx context.Context, t *asynq.Task) error {
		pl, err := queue.ParseRewardPayload(t.Payload())
		if err != nil {
			return err
		}
		err = s.Run(ctx, pl.RedemptionID)
		if errors.Is(err, reward.ErrNotFound) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
}

// SweepRewards enqueues the saga of every open order untouched for
// stuckAfter (its task lost with Redis, its retries exhausted, or an
// order nobody enqueued after a failed enqueue in the API), every interval
// until ctx ends. The task id keeps a still queued task from doubling.
func SweepRewards(ctx context.Context, stuck reward.Stuck, q queue.Enqueuer, interval, stuckAfter time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := SweepRewardsOnce(ctx, stuck, q, time.Now().Add(-stuckAfter)); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "reward_sweep_failed", slog.Int("enqueued", n), slog.Any("error", err))
		} else if n > 0 {
			log.InfoContext(ctx, "reward_sweep", slog.Int("enqueued", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepRewardsOnce enqueues the saga of the open orders untouched since
// before and returns how many it enqueued.
func SweepRewardsOnce(ctx context.Context, stuck reward.Stuck, q queue.Enqueuer, before time.Time) (int, error) {
	ids, err := stuck.StuckOrders(ctx, before, 500)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := queue.EnqueueRewardPlace(ctx, q, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}
