package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeRewardPlace runs a redemption order's saga (reward.Saga.Run): place
// it with the provider, or reconcile it by asking the provider.
const TypeRewardPlace = "reward:place"

// RewardPayload names the redemption a reward task works on.
type RewardPayload struct {
	RedemptionID string `json:"redemption_id"`
}

// RewardMaxRetry: an order processing at the provider for a while, or a
// provider that is down, is retried with workers.RetryDelay's backoff
// (capped at 10 min) for about a week; the sweeper re-enqueues anything
// that outlives it.
const RewardMaxRetry = 1000

// NewRewardPlace returns the saga task of redemption id. Its task id is
// "reward:place:<id>", so an order is never queued twice at once; it keeps
// no retention, so the sweeper can queue an order again once its task is
// gone.
func NewRewardPlace(id string) (*asynq.Task, error) {
	b, err := json.Marshal(RewardPayload{RedemptionID: id})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeRewardPlace, b,
		asynq.TaskID(TypeRewardPlace+":"+id),
		asynq.Queue(Default),
		asynq.MaxRetry(RewardMaxRetry),
		asynq.Timeout(2*time.Minute),
	), nil
}

// EnqueueRewardPlace enqueues NewRewardPlace(id) on c; a task that still
// holds the id counts as success (it will run the saga).
func EnqueueRewardPlace(ctx context.Context, c Enqueuer, id string) error {
	t, err := NewRewardPlace(id)
	if err != nil {
		return err
	}
	return enqueueOnce(ctx, c, t)
}

// ParseRewardPayload decodes a reward task's payload.
func ParseRewardPayload(b []byte) (RewardPayload, error) {
	var p RewardPayload
	if err := json.Unmarshal(b, &p); err != nil || p.RedemptionID == "" {
		return p, fmt.Errorf("bad reward task payload %q: %w", b, asynq.SkipRetry)
	}
	return p, nil
}
