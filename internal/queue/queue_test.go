package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
)

// The receipt enqueue helper the API and the workers share: the plain id
// once, a keyed id beside it, a taken id is success, a queue error is not.
func TestEnqueueReceipt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := redis.NewClient(redistest.DB(t))
	t.Cleanup(func() { rc.Close() })
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(queue.EnqueueReceiptVerify(ctx, client, "r1", 0, ""))
	must(queue.EnqueueReceiptVerify(ctx, client, "r1", 0, "")) // taken: success, no second task
	must(queue.EnqueueReceiptVerify(ctx, client, "r1", time.Hour, "retry-1"))
	must(queue.EnqueueReceiptDecode(ctx, client, "r2", ""))
	must(queue.EnqueueReceiptDecode(ctx, client, "r2", "again"))

	for id, want := range map[string]asynq.TaskState{
		"receipt:verify:r1":         asynq.TaskStatePending,
		"receipt:verify:r1:retry-1": asynq.TaskStateScheduled,
		"receipt:decode:r2":         asynq.TaskStatePending,
		"receipt:decode:r2:again":   asynq.TaskStatePending,
	} {
		info, err := insp.GetTaskInfo(queue.Critical, id)
		if err != nil {
			t.Fatalf("task %s: %v", id, err)
		}
		if info.State != want {
			t.Errorf("task %s: state %v, want %v", id, info.State, want)
		}
	}
	if ts, err := insp.ListPendingTasks(queue.Critical); err != nil || len(ts) != 3 {
		t.Fatalf("pending = %d tasks, %v; want 3", len(ts), err)
	}

	rc.Close() // the queue is gone: the error reaches the caller
	if err := queue.EnqueueReceiptVerify(ctx, client, "r3", 0, ""); err == nil {
		t.Fatal("enqueue on a closed client: no error")
	}
}
