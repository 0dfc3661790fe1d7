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

func state(t *testing.T, insp *asynq.Inspector, intentID int64) asynq.TaskState {
	t.Helper()
	info, err := insp.GetTaskInfo(queue.Default, queue.NotifyTaskID(intentID))
	if err != nil {
		t.Fatalf("task of intent %d: %v", intentID, err)
	}
	return info.State
}

// A delivery task Asynq archived (retries exhausted, or SkipRetry) keeps its
// id; the enqueuer replaces it instead of taking the conflict for success.
func TestNotifyEnqueuerReplacesFinishedTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := redis.NewClient(redistest.DB(t))
	t.Cleanup(func() { rc.Close() })
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)
	e := queue.NotifyEnqueuer{Client: client, Inspector: insp}

	if err := e.EnqueueDelivery(ctx, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if s := state(t, insp, 1); s != asynq.TaskStatePending {
		t.Fatalf("state %v, want pending", s)
	}
	// A live task is left alone: still one, still pending.
	if err := e.EnqueueDelivery(ctx, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, err := insp.ListPendingTasks(queue.Default); err != nil || len(n) != 1 {
		t.Fatalf("pending = %v, %v; want 1 task", n, err)
	}

	// Archived: without an inspector the conflict hides it (the old bug) ...
	if err := insp.ArchiveTask(queue.Default, queue.NotifyTaskID(1)); err != nil {
		t.Fatal(err)
	}
	if err := (queue.NotifyEnqueuer{Client: client}).EnqueueDelivery(ctx, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if s := state(t, insp, 1); s != asynq.TaskStateArchived {
		t.Fatalf("state %v, want archived", s)
	}
	// ... with one it is replaced by a fresh task with the full retry budget.
	if err := e.EnqueueDelivery(ctx, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	info, err := insp.GetTaskInfo(queue.Default, queue.NotifyTaskID(1))
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStatePending || info.Retried != 0 || info.MaxRetry != queue.NotifyMaxRetry {
		t.Fatalf("replaced task: state %v retried %d max %d", info.State, info.Retried, info.MaxRetry)
	}
	if n, err := insp.ListArchivedTasks(queue.Default); err != nil || len(n) != 0 {
		t.Fatalf("archived = %v, %v; want none", n, err)
	}

	// A scheduled delivery (end of quiet hours) stays scheduled, and a
	// replaced archived one is scheduled for its time.
	later := time.Now().Add(time.Hour)
	if err := e.EnqueueDelivery(ctx, 2, later); err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(queue.Default, queue.NotifyTaskID(2)); err != nil {
		t.Fatal(err)
	}
	if err := e.EnqueueDelivery(ctx, 2, later); err != nil {
		t.Fatal(err)
	}
	if s := state(t, insp, 2); s != asynq.TaskStateScheduled {
		t.Fatalf("state %v, want scheduled", s)
	}
}
