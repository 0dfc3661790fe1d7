package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// The child worker's environment: the test binary run with childEnv set is
// a worker process (see TestMain) until it is killed.
const (
	childEnv      = "LJ_WORKERS_TEST_CHILD"
	childDBEnv    = "LJ_WORKERS_TEST_DB"
	childRedisEnv = "LJ_WORKERS_TEST_REDIS" // addr/db
	childSimEnv   = "LJ_WORKERS_TEST_SIM"
)

// runChild is the child worker: an Asynq server with the real handlers and
// the test Processor, on the parent's database, Redis DB and simulator.
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }
	pool, err := postgres.Open(ctx, os.Getenv(childDBEnv))
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	addr, dbs, _ := cutLast(os.Getenv(childRedisEnv), "/")
	db, _ := strconv.Atoi(dbs)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer rdb.Close()
	f, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: os.Getenv(childSimEnv), Token: "child", Timeout: 10 * time.Minute})
	if err != nil {
		return fail(err)
	}
	svc, err := verify.New(verify.Deps{Store: receiptdb.New(pool), Fetcher: f,
		Scheduler: workers.NewScheduler(asynq.NewClientFromRedisClient(rdb)), Processor: &testProcessor{}},
		verify.Config{CallTimeout: 10 * time.Minute})
	if err != nil {
		return fail(err)
	}
	mux := asynq.NewServeMux()
	workers.Register(mux, workers.New(svc, workers.Options{}))
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 2, Queues: queue.Priorities,
		RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.WarnLevel})
	if err := srv.Run(mux); err != nil {
		return fail(err)
	}
	return 0
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// waitFor polls cond until it holds or limit passes (a bound on a wait, not
// an assertion about time).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWorkerKilledMidVerification kills (SIGKILL) a worker process while
// the provider is answering slowly, then lets a fresh worker finish: the
// receipt is credited once, and the killed worker's task, recovered by
// Asynq after its lease expires, applies nothing.
func TestWorkerKilledMidVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a minute for Asynq's lease recovery")
	}
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	key := fmt.Sprintf("%s/%d", r.FN, r.FD)
	e.sim.SetScenario(r.FN, uint64(r.FD), ofdsim.Scenario{Name: ofdsim.ScenarioSlow, Delay: ofdsim.Duration(10 * time.Minute)})
	task := verifyTask(t, r.ID)
	info, err := e.client.Enqueue(task)
	mustT(t, err)

	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childDBEnv+"="+e.dbURL,
		fmt.Sprintf("%s=%s/%d", childRedisEnv, e.ropt.Addr, e.ropt.DB), childSimEnv+"="+e.simURL)
	cmd.Stdout, cmd.Stderr = &out, &out
	mustT(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	waitFor(t, time.Minute, "the child to call the provider", func() bool {
		return e.sim.Stats().Receipts[key] >= 1 && e.get(t, r.ID).Status == receipt.Verifying
	})
	mustT(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killed = true
	if st := cmd.ProcessState; st == nil || st.Success() {
		t.Fatalf("child not killed: %v\n%s", st, out.String())
	}
	if got := e.get(t, r.ID); got.Status != receipt.Verifying || e.credits(t, r.ID) != 0 {
		t.Fatalf("after kill: %s, %d credits", got.Status, e.credits(t, r.ID))
	}

	// A fresh worker; the operator now answers at once.
	e.sim.SetScenario(r.FN, uint64(r.FD), ofdsim.Scenario{Name: ofdsim.ScenarioOK})
	clk := newClock()
	svc, h := e.service(t, svcOptions{clock: clk, processor: &testProcessor{}})
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: 4, Queues: queue.Priorities,
		RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	workers.Register(mux, h)
	mustT(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)

	// The sweeper notices the receipt stuck in verifying (clock past
	// StuckAfter) and re-enqueues it; the fresh worker credits it.
	clk.Advance(11 * time.Minute)
	n, err := svc.Sweep(ctx)
	mustT(t, err)
	if n != 1 {
		t.Fatalf("sweep enqueued %d, want 1", n)
	}
	waitFor(t, time.Minute, "the fresh worker to credit", func() bool { return e.get(t, r.ID).Status == receipt.Credited })

	// The killed worker's own task comes back when its lease expires; it
	// must find the receipt done.
	waitFor(t, 3*time.Minute, "Asynq to recover and finish the killed task", func() bool {
		ti, err := e.insp.GetTaskInfo(queue.Critical, info.ID)
		return err == nil && ti.State == asynq.TaskStateCompleted
	})
	got := e.get(t, r.ID)
	if got.Status != receipt.Credited {
		t.Fatalf("status %s", got.Status)
	}
	if c := e.credits(t, r.ID); c != 1 {
		t.Fatalf("%d credits, want 1", c)
	}
	rs := reasons(got)
	if count(rs, "ofd_verified") != 1 || count(rs, "points_credited") != 1 {
		t.Fatalf("events %v", rs)
	}
	t.Logf("events: %v", rs)
}
