package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// A delivery task that Asynq archived (its retries ran out while a channel
// was down) keeps its task id. The relay must not take the id conflict for
// "still queued": it replaces the task, and a real worker then delivers the
// intent, or gives it up by age and marks it failed.
func TestRelayRevivesArchivedDeliveryTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rc := redis.NewClient(redistest.DB(t))
	t.Cleanup(func() { rc.Close() })
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)

	// ok: the channel is back, the intent is delivered. old: FCM still
	// fails and the intent is past the 72-h give-up.
	okPID, okProg := e.participant(t, "")
	e.device(t, okPID, "device-token-archived-ok-01")
	_, ok := e.creditedReceipt(t, okPID, okProg, 100)
	oldPID, oldProg := e.participant(t, "")
	e.device(t, oldPID, "sim-500-device-archived-old")
	_, old := e.creditedReceipt(t, oldPID, oldProg, 100)
	e.exec(t, `UPDATE notification_intents SET created_at = created_at - interval '4 days' WHERE id = $1`, old)

	relayClock := &clock{t: e.clock.Now()}
	ob := notify.NewOutbox(e.store, queue.NotifyEnqueuer{Client: client, Inspector: insp},
		notify.WithOutboxClock(relayClock.Now), notify.WithOutboxLogger(quiet()))
	if n, err := ob.Relay(ctx); err != nil || n != 2 {
		t.Fatalf("Relay = %d, %v; want 2", n, err)
	}
	// Both tasks exhaust their retries and Asynq archives them.
	for _, id := range []int64{ok, old} {
		if err := insp.ArchiveTask(queue.Default, queue.NotifyTaskID(id)); err != nil {
			t.Fatal(err)
		}
	}

	relayClock.Set(relayClock.Now().Add(20 * time.Minute)) // past the resend window
	if n, err := ob.Relay(ctx); err != nil || n != 2 {
		t.Fatalf("Relay after archive = %d, %v; want 2", n, err)
	}
	for _, id := range []int64{ok, old} {
		info, err := insp.GetTaskInfo(queue.Default, queue.NotifyTaskID(id))
		if err != nil {
			t.Fatal(err)
		}
		if info.State != asynq.TaskStatePending {
			t.Fatalf("task of intent %d is %v after the relay, want pending", id, info.State)
		}
	}

	// A real worker runs them.
	mux := asynq.NewServeMux()
	workers.RegisterNotify(mux, e.disp)
	srv := asynq.NewServerFromRedisClient(rc, asynq.Config{Concurrency: 2, Queues: map[string]int{queue.Default: 1},
		RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.FatalLevel})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute) // a bound on a hang, not an assertion on speed
	defer cancel()
	for e.int64(t, `SELECT count(*) FROM notification_intents WHERE id = ANY($1)
		AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)`, []int64{ok, old}) < 2 {
		select {
		case <-wait.Done():
			t.Fatal("the revived delivery tasks did not finish their intents")
		case <-time.After(50 * time.Millisecond):
		}
	}

	if !e.delivered(t, ok) || e.inboxCount(t, ok) != 1 {
		t.Errorf("intent %d: delivered %v, inbox items %d; want delivered, 1", ok, e.delivered(t, ok), e.inboxCount(t, ok))
	}
	e.wantPushes(t, map[string]int{"device-token-archived-ok-01": 1})
	if n := e.int64(t, `SELECT count(*) FROM notification_intents WHERE id = $1
		AND failed_at IS NOT NULL AND delivered_at IS NULL AND last_error LIKE 'expired:%'`, old); n != 1 {
		t.Errorf("intent %d not marked failed as expired", old)
	}
	// Both are closed: the relay has nothing more to do.
	relayClock.Set(relayClock.Now().Add(time.Hour))
	if n, err := ob.Relay(ctx); err != nil || n != 0 {
		t.Errorf("Relay after the outcome = %d, %v; want 0", n, err)
	}
}
