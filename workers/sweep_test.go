package workers_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
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
