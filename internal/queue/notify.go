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
// enqueued again by the relay). The dispatcher gives up by age (72 h), not
// by count, so MaxRetry (NotifyMaxRetry) outlasts 72 h of retries at the
// worker's 10-min cap: Asynq archives a delivery task only when the handler
// says SkipRetry (the intent is then closed). The timeout covers a few
// devices at the push sender's 30 s bound each.
func NewNotifyDeliver(intentID int64, at time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(NotifyPayload{IntentID: intentID})
	if err != nil {
		return nil, err
	}
	opts := []asynq.Option{
		asynq.TaskID(NotifyTaskID(intentID)),
		asynq.Queue(Default),
		asynq.MaxRetry(NotifyMaxRetry),
		asynq.Timeout(3 * time.Minute),
	}
	if !at.IsZero() && at.After(time.Now()) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	return asynq.NewTask(TypeNotifyDeliver, b, opts...), nil
}

// NotifyMaxRetry is the retry budget of a delivery task: about 7 days of
// retries at workers.RetryDelay's 10-min cap, well beyond the dispatcher's
// 72-h give-up (it was 25, about 3.2 h, after which Asynq archived the task
// and its id blocked every later enqueue of the still open intent).
const NotifyMaxRetry = 1000

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
	// Inspector (same Redis) lets EnqueueDelivery replace a finished task
	// that still holds the intent's task id. Without it such a task blocks
	// the intent until Asynq drops it (archive: 90 days).
	Inspector *asynq.Inspector
}

// EnqueueDelivery enqueues the delivery of intent id. A task with the same
// id that is queued, scheduled, running or retrying counts as success: it
// will deliver the intent. A finished one (archived after its retries ran
// out or a SkipRetry, or completed within a retention) will not, yet the
// relay only asks for open intents: it is deleted and the delivery
// enqueued again, so the dispatcher delivers the intent or gives it up by
// age.
func (e NotifyEnqueuer) EnqueueDelivery(ctx context.Context, intentID int64, at time.Time) error {
	t, err := NewNotifyDeliver(intentID, at)
	if err != nil {
		return err
	}
	id := NotifyTaskID(intentID)
	for attempt := 0; ; attempt++ {
		_, err = e.Client.EnqueueContext(ctx, t)
		if !isDuplicate(err) {
			return err
		}
		if e.Inspector == nil || attempt > 0 {
			// Taken again since we freed it: by another relay, whose task
			// delivers the intent.
			return nil
		}
		info, err := e.Inspector.GetTaskInfo(Default, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
			continue // finished and gone meanwhile: enqueue again
		case err != nil:
			return fmt.Errorf("inspect delivery task %s: %w", id, err)
		case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
			return nil // it will run
		}
		err = e.Inspector.DeleteTask(Default, id)
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("delete finished delivery task %s (%s): %w", id, info.State, err)
		}
	}
}
