package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeNotifyDeliver delivers one notification intent (notify.Dispatcher.Deliver).
const TypeNotifyDeliver = "notify:deliver"

// NotifyPayload names the intent a delivery task works on.
type NotifyPayload struct {
	IntentID int64 `json:"intent_id"`
}

// NewNotifyDeliver returns the task that delivers intent id, not before at
// (zero or past: at once). The task id is "notify:deliver:<id>", so an
// intent is never queued twice at once; it keeps no retention, so the id is
// free again once the task finishes (a delivery deferred by quiet hours is
// enqueued again by the relay). MaxRetry is high because the dispatcher
// gives up by age (72 h), not by count; the timeout covers a few devices at
// the push sender's 30 s bound each.
func NewNotifyDeliver(intentID int64, at time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(NotifyPayload{IntentID: intentID})
	if err != nil {
		return nil, err
	}
	opts := []asynq.Option{
		asynq.TaskID(NotifyTaskID(intentID)),
		asynq.Queue(Default),
		asynq.MaxRetry(25),
		asynq.Timeout(3 * time.Minute),
	}
	if !at.IsZero() && at.After(time.Now()) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	return asynq.NewTask(TypeNotifyDeliver, b, opts...), nil
}

// NotifyTaskID is the task id of intent id's delivery.
func NotifyTaskID(intentID int64) string {
	return TypeNotifyDeliver + ":" + strconv.FormatInt(intentID, 10)
}

// ParseNotifyPayload decodes a delivery task's payload.
func ParseNotifyPayload(b []byte) (NotifyPayload, error) {
	var p NotifyPayload
	if err := json.Unmarshal(b, &p); err != nil || p.IntentID <= 0 {
		return p, fmt.Errorf("bad notify task payload %q: %w", b, asynq.SkipRetry)
	}
	return p, nil
}

// NotifyEnqueuer enqueues delivery tasks; it implements notify.Enqueuer.
type NotifyEnqueuer struct {
	Client *asynq.Client
}

// EnqueueDelivery enqueues the delivery of intent id; a task with the same
// id already queued, scheduled, running or retrying counts as success.
func (e NotifyEnqueuer) EnqueueDelivery(ctx context.Context, intentID int64, at time.Time) error {
	t, err := NewNotifyDeliver(intentID, at)
	if err != nil {
		return err
	}
	_, err = e.Client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}
