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
)

func TestRelayEnqueuesEachIntentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rc := redis.NewClient(redistest.DB(t))
	t.Cleanup(func() { rc.Close() })
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)

	pid, prog := e.participant(t, "")
	e.device(t, pid, "device-token-relay-001")
	var ids []int64
	for i := 0; i < 3; i++ {
		_, id := e.creditedReceipt(t, pid, prog, 100)
		ids = append(ids, id)
	}
	// A fourth intent whose push waits for the morning.
	_, night := e.creditedReceipt(t, pid, prog, 100)
	e.clock.Set(at(0, 23, 30))
	if err := e.disp.Deliver(ctx, night); err != nil {
		t.Fatal(err)
	}

	relayClock := &clock{t: e.clock.Now()}
	ob := notify.NewOutbox(e.store, queue.NotifyEnqueuer{Client: client}, notify.WithOutboxClock(relayClock.Now),
		notify.WithOutboxLogger(quiet()))
	tasks := func() map[string]bool {
		t.Helper()
		got := map[string]bool{}
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListPendingTasks, insp.ListScheduledTasks} {
			infos, err := list(queue.Default)
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range infos {
				if got[ti.ID] {
					t.Errorf("task %s listed twice", ti.ID)
				}
				got[ti.ID] = true
				if ti.Type != queue.TypeNotifyDeliver {
					t.Errorf("task type %q", ti.Type)
				}
			}
		}
		return got
	}
	want := func(ids ...int64) {
		t.Helper()
		got := tasks()
		if len(got) != len(ids) {
			t.Errorf("tasks = %v, want %d", got, len(ids))
		}
		for _, id := range ids {
			if !got[queue.NotifyTaskID(id)] {
				t.Errorf("no task for intent %d in %v", id, got)
			}
		}
	}

	for i, wantN := range []int{3, 0} { // the second run finds them enqueued
		n, err := ob.Relay(ctx)
		if err != nil || n != wantN {
			t.Fatalf("Relay #%d = %d, %v; want %d", i+1, n, err, wantN)
		}
	}
	want(ids...)

	// Long after: the relay assumes lost tasks and enqueues again; the task
	// ids make that a no-op while the tasks exist.
	relayClock.Set(relayClock.Now().Add(20 * time.Minute))
	if n, err := ob.Relay(ctx); err != nil || n != 3 {
		t.Fatalf("Relay after resend window = %d, %v", n, err)
	}
	want(ids...)

	// Redis lost one task: the relay puts it back.
	if err := insp.DeleteTask(queue.Default, queue.NotifyTaskID(ids[0])); err != nil {
		t.Fatal(err)
	}
	relayClock.Set(relayClock.Now().Add(20 * time.Minute))
	if _, err := ob.Relay(ctx); err != nil {
		t.Fatal(err)
	}
	want(ids...)

	// The deferred intent is enqueued shortly before the quiet hours end.
	relayClock.Set(at(1, 7, 59).Add(30 * time.Second))
	if _, err := ob.Relay(ctx); err != nil {
		t.Fatal(err)
	}
	want(append(ids, night)...)

	// Delivered intents are never enqueued again.
	e.clock.Set(at(1, 12, 0))
	for _, id := range ids {
		if err := e.disp.Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := insp.DeleteTask(queue.Default, queue.NotifyTaskID(id)); err != nil {
			t.Fatal(err)
		}
	}
	relayClock.Set(relayClock.Now().Add(time.Hour))
	if _, err := ob.Relay(ctx); err != nil {
		t.Fatal(err)
	}
	want(night)
}
