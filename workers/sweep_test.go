package workers_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loyaltyjam/loyaltyjam/internal/metrics"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// TestSweep loses tasks the way Redis can and checks that the sweeper
// rebuilds exactly the missing ones from PostgreSQL, once.
func TestSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	clk := newClock()
	svc, h := e.service(t, svcOptions{clock: clk})

	lostQueued := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	lostPhoto := e.newReceived(t, "lost.png")
	noPhoto := e.newReceived(t, "")
	verified := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	mustT(t, h.Verify(ctx, verifyTask(t, verified.ID))) // → verified; no Processor: nothing to redo
	pending := e.newQueued(t, scenarioFN(1, 5), time.Now().Add(-time.Hour))
	mustT(t, h.Verify(ctx, verifyTask(t, pending.ID))) // → pending_ofd, retry scheduled
	pending = e.get(t, pending.ID)
	if pending.Status != receipt.PendingOFD || !e.scheduled(t, pending) {
		t.Fatalf("pending: %s scheduled=%v", pending.Status, e.scheduled(t, pending))
	}
	// Redis loses the scheduled retry.
	retryID := fmt.Sprintf("%s:%s:at%d", queue.TypeReceiptVerify, pending.ID, pending.NextAttemptAt.UnixMilli())
	mustT(t, e.insp.DeleteTask(queue.Critical, retryID))

	// Nothing is stale yet: a sweep now enqueues nothing.
	if n, err := svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}

	clk.Advance(15 * time.Minute) // past StuckAfter and the retry's DueGrace
	want := []string{
		"decode " + lostPhoto.ID + " sweep",
		"verify " + lostQueued.ID + " sweep",
		"verify " + pending.ID + " retry",
	}
	sort.Strings(want)
	for round := range 2 { // the second sweep finds the same tasks and adds none
		if _, err := svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		tasks, err := e.insp.ListPendingTasks(queue.Critical)
		mustT(t, err)
		var got []string
		for _, ti := range tasks {
			p, err := queue.ParseReceiptPayload(ti.Payload)
			mustT(t, err)
			kind := "other"
			switch {
			case ti.ID == retryID+"s":
				kind = "retry"
			case strings.HasPrefix(ti.ID, ti.Type+":"+p.ReceiptID+":sweep"):
				kind = "sweep"
			}
			got = append(got, strings.TrimPrefix(ti.Type, "receipt:")+" "+p.ReceiptID+" "+kind)
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d: pending tasks (-want +got):\n%s", round, diff)
		}
	}
	_, _ = noPhoto, verified
}

// TestSweepLostTasks: with the queue in view the sweeper re-enqueues, a
// minute after the last touch (not ten), exactly the receipts whose task
// Redis no longer holds, and never a second task for a receipt whose task
// is still waiting in the queue.
func TestSweepLostTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	clk := newClock()
	svc, h := e.service(t, svcOptions{clock: clk, tasks: workers.NewLiveTasks(e.rdb)})
	sched := workers.NewScheduler(e.client)

	lost := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour)) // the API's enqueue failed
	waiting := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	mustT(t, sched.ScheduleVerify(ctx, waiting.ID, 0, "")) // its task waits in a long queue
	pending := e.newQueued(t, scenarioFN(1, 5), time.Now().Add(-time.Hour))
	mustT(t, h.Verify(ctx, verifyTask(t, pending.ID))) // → pending_ofd, retry scheduled
	pending = e.get(t, pending.ID)
	retryID := fmt.Sprintf("%s:%s:at%d", queue.TypeReceiptVerify, pending.ID, pending.NextAttemptAt.UnixMilli())
	mustT(t, e.insp.DeleteTask(queue.Critical, retryID)) // Redis loses the scheduled retry

	// Past the retry time and LostAfter, far short of StuckAfter.
	clk.Advance(pending.NextAttemptAt.Sub(clk.Now()) + time.Minute)
	fresh := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	_, err := e.pool.Exec(ctx, `UPDATE receipts SET updated_at = $2 WHERE id = $1`, fresh.ID, clk.Now().Add(-time.Second))
	mustT(t, err) // just committed, its enqueue may be under way: not lost yet

	tasksOf := func() map[string]int {
		out := map[string]int{}
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){e.insp.ListPendingTasks, e.insp.ListScheduledTasks} {
			tasks, err := list(queue.Critical)
			mustT(t, err)
			for _, ti := range tasks {
				p, err := queue.ParseReceiptPayload(ti.Payload)
				mustT(t, err)
				out[p.ReceiptID]++
			}
		}
		return out
	}
	want := map[string]int{lost.ID: 1, waiting.ID: 1, pending.ID: 1}
	for round := range 2 { // a second sweep (or another worker's) adds nothing
		if _, err := svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, tasksOf()); diff != "" {
			t.Fatalf("round %d: tasks per receipt (-want +got):\n%s", round, diff)
		}
	}

	// Redis loses everything (FLUSHALL): one sweep rebuilds every task.
	mustT(t, e.rdb.FlushDB(ctx).Err())
	if _, err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tasksOf()); diff != "" {
		t.Fatalf("after a flush: tasks per receipt (-want +got):\n%s", diff)
	}
}

// TestBacklogMetric: receipts a lost task left behind show in the backlog
// gauge by status, with the age of the oldest; a fresh one and one waiting
// for a later retry do not.
func TestBacklogMetric(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	old := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour)) // fresh
	waiting := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	_, err := e.pool.Exec(ctx, `UPDATE receipts SET updated_at = now() - interval '5 minutes' WHERE id = $1`, old.ID)
	mustT(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE receipts SET updated_at = now() - interval '5 minutes', next_attempt_at = now() + interval '1 hour' WHERE id = $1`, waiting.ID)
	mustT(t, err)

	reg := prometheus.NewRegistry()
	mustT(t, metrics.RegisterBacklog(reg, func(ctx context.Context, before time.Time) ([]metrics.BacklogRow, error) {
		rows, err := e.store.Backlog(ctx, before)
		var out []metrics.BacklogRow
		for _, r := range rows {
			out = append(out, metrics.BacklogRow{Status: string(r.Status), Count: r.Count, Oldest: r.Oldest})
		}
		return out, err
	}, time.Minute, "queued", "verifying"))
	got := map[string]float64{}
	mfs, err := reg.Gather()
	mustT(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					got[mf.GetName()+" "+l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	if got["loyaltyjam_receipt_backlog queued"] != 1 || got["loyaltyjam_receipt_backlog verifying"] != 0 {
		t.Fatalf("backlog %v", got)
	}
	if age := got["loyaltyjam_receipt_backlog_oldest_seconds queued"]; age < 4*60 || age > 60*60 {
		t.Fatalf("oldest age %v s, want about 300", age)
	}
}
