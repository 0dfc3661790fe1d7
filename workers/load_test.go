package workers_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// startServer runs a real Asynq server with the handlers on the test's
// Redis DB until the test ends (or the test shuts it down earlier).
func (e *env) startServer(t testing.TB, h *workers.Handlers, concurrency int) *asynq.Server {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: concurrency, Queues: queue.Priorities,
		RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	workers.Register(mux, h)
	mustT(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)
	return srv
}

// TestThousandReceipts pushes 1 000 receipts with a mix of scenarios through
// a real Asynq server: every one ends terminal, or waiting with its retry
// scheduled in the queue; nothing is left verifying or unscheduled.
func TestThousandReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("1 000 receipts")
	}
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	type mix struct {
		code, param int
		want        receipt.Status
	}
	mixes := []mix{
		{0, 0, receipt.Credited}, {0, 0, receipt.Credited}, {0, 0, receipt.Credited},
		{1, 1, receipt.PendingOFD}, {3, 0, receipt.Rejected}, {4, 0, receipt.Rejected},
		{5, 0, receipt.PendingOFD}, {6, 0, receipt.Queued}, {7, 0, receipt.Queued},
		{8, 0, receipt.Queued}, {9, 50, receipt.Credited}, {10, 0, receipt.Queued},
	}
	const n = 1000
	want := map[string]receipt.Status{}
	for i := range n {
		m := mixes[i%len(mixes)]
		r := e.newQueued(t, scenarioFN(m.code, m.param), time.Now().Add(-time.Hour))
		want[r.ID] = m.want
		task := verifyTask(t, r.ID)
		_, err := e.client.Enqueue(task)
		mustT(t, err)
	}
	proc := &testProcessor{}
	_, h := e.service(t, svcOptions{processor: proc, callTimeout: 5 * time.Second})
	srv := e.startServer(t, h, 16)

	waitFor(t, 5*time.Minute, "every receipt to settle", func() bool {
		var unsettled int
		mustT(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM receipts
			WHERE status IN ('decoded', 'verifying', 'verified', 'matched')
			   OR (status IN ('queued', 'pending_ofd') AND next_attempt_at IS NULL)`).Scan(&unsettled))
		return unsettled == 0
	})
	// Stop the server before reading the states: a retry that comes due
	// while a thousand receipts are checked would otherwise be running
	// (neither scheduled nor pending) when its receipt is looked at. The
	// shutdown lets running tasks finish, so each receipt and its task
	// agree afterwards.
	srv.Shutdown()
	byStatus := map[receipt.Status]int{}
	for id, w := range want {
		r := e.get(t, id)
		byStatus[r.Status]++
		if r.Status != w {
			t.Errorf("%s (fn %s): %s (%s), want %s", id, r.FN, r.Status, r.StatusReason, w)
			continue
		}
		if !r.Status.Terminal() && !e.scheduled(t, r) {
			t.Errorf("%s: %s without its retry in the queue (next %v)", id, r.Status, r.NextAttemptAt)
		}
		if r.Status == receipt.Credited && e.credits(t, id) != 1 {
			t.Errorf("%s: %d credits", id, e.credits(t, id))
		}
	}
	var credits int
	mustT(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM test_credits`).Scan(&credits))
	if credits != byStatus[receipt.Credited] {
		t.Errorf("%d credit rows for %d credited receipts", credits, byStatus[receipt.Credited])
	}
	t.Logf("final states: %v", byStatus)
}

// TestThroughput measures receipts verified per second through a real
// Asynq server with the simulator answering at once, next to the raw
// simulator round-trip rate with the same client and concurrency. Per
// concurrency it runs the pipeline with no Processor, with the test
// Processor (an insert and two transitions) and with the real
// points.Service (matching, rules, ledger credit in the verification
// transaction) on the demo data set. It asserts nothing about time, only
// that the points rows end right (checkPoints); run it with
// LJ_PIPELINE_BENCH=1 -v.
func TestThroughput(t *testing.T) {
	if os.Getenv("LJ_PIPELINE_BENCH") == "" {
		t.Skip("set LJ_PIPELINE_BENCH=1 to measure")
	}
	e := newEnv(t)
	ctx := context.Background()
	const n = 1000
	// 250 sellers a shop: each gets one receipt per points row.
	world := e.seedPoints(t, 250)
	load := loadavg()
	var lines []string
	for _, conc := range []int{4, 16, 32} {
		// Baseline: the provider client alone against the simulator.
		f := e.proverkacheka(t)
		var qs []ofd.Query
		for range n {
			s := seq.Add(1)
			qs = append(qs, ofd.Query{FN: scenarioFN(0, 0), FD: uint64(s), FP: uint64(3_000_000 + s), Operation: 1,
				Time: time.Now().UTC().Truncate(time.Minute), SumKopecks: 100_000 + s})
		}
		start := time.Now()
		work := make(chan ofd.Query)
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for q := range work {
					if _, err := f.Fetch(ctx, q); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for _, q := range qs {
			work <- q
		}
		close(work)
		wg.Wait()
		raw := float64(n) / time.Since(start).Seconds()

		var none float64 // this concurrency's pipeline rate without a Processor
		for _, proc := range []string{"none", "test", "points"} {
			// The pipeline: its own pool sized for the concurrency.
			sep := "?"
			if strings.Contains(e.dbURL, "?") {
				sep = "&"
			}
			pool, err := postgres.Open(ctx, fmt.Sprintf("%s%spool_max_conns=%d", e.dbURL, sep, conc+4))
			mustT(t, err)
			store := receiptdb.New(pool)
			var ids []string
			for k := range n {
				var r receipt.Receipt
				if proc == "points" {
					r = world.newQueued(t, e, k)
				} else {
					r = e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
				}
				ids = append(ids, r.ID)
				_, err := e.client.Enqueue(verifyTask(t, r.ID))
				mustT(t, err)
			}
			deps := verify.Deps{Store: store, Fetcher: e.proverkacheka(t), Scheduler: workers.NewScheduler(e.client)}
			done := `status IN ('verified', 'credited')`
			switch proc {
			case "test":
				deps.Processor = &testProcessor{}
			case "points":
				// As cmd/loyaltyjam/deps.go builds it, quiet.
				deps.Processor = points.New(pointsdb.New(pool), catalogdb.New(pool), ledgerdb.Postings{}, points.WithLogger(slog.New(slog.DiscardHandler)))
				done = `status IN ('credited', 'no_eligible_items', 'unreadable', 'duplicate', 'rejected', 'needs_review')`
			}
			svc, err := verify.New(deps, verify.Config{})
			mustT(t, err)
			srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: conc, Queues: queue.Priorities,
				RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.ErrorLevel})
			mux := asynq.NewServeMux()
			workers.Register(mux, workers.New(svc, workers.Options{}))
			start := time.Now()
			mustT(t, srv.Start(mux))
			waitFor(t, 10*time.Minute, "the batch to settle", func() bool {
				var left int
				mustT(t, pool.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE id = ANY($1::uuid[])
					AND NOT (`+done+`)`, ids).Scan(&left))
				return left == 0
			})
			rate := float64(n) / time.Since(start).Seconds()
			srv.Shutdown()
			pool.Close()
			if proc == "none" {
				none = rate
			}
			line := fmt.Sprintf("concurrency %2d processor=%-6s: pipeline %6.0f receipts/s (%.2f of no Processor), raw simulator %6.0f calls/s (pipeline/raw %.2f)",
				conc, proc, rate, rate/none, raw, rate/raw)
			if proc == "points" {
				byStatus, byReason := e.checkPoints(t, ids)
				if byStatus[string(receipt.Credited)] < n/2 {
					t.Errorf("concurrency %d: %d of %d receipts credited (%v), want most", conc, byStatus[string(receipt.Credited)], n, byStatus)
				}
				line += fmt.Sprintf("; final states %v, not credited %v", byStatus, byReason)
			}
			lines = append(lines, line)
		}
	}
	t.Logf("machine: %s/%s, %d CPUs, %s; %d receipts per run", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), n)
	t.Logf("load average before: %s; after: %s", load, loadavg())
	for _, l := range lines {
		t.Log(l)
	}
}
