package workers_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// The reward tasks run against the real Giftery client talking HTTP to
// gifterysim (internal/reward/providertest); the simulator's own record
// says how many orders it holds under our id.
type rewardWorld struct {
	store   *rewarddb.Store
	prov    providertest.Harness
	client  int64
	program int64
	offer   int64
	people  []int64
}

// seedRewards makes a client with n participants holding balance each, and
// one offer of a 500 ₽ Giftery certificate, the catalog synced from the
// simulator's product list.
func seedRewards(t testing.TB, pool *pgxpool.Pool, n int, balance int64) *rewardWorld {
	t.Helper()
	ctx := context.Background()
	w := &rewardWorld{prov: providertest.Giftery(t)}
	w.store = rewarddb.New(pool, ledgerdb.Postings{}, auditdb.New(pool), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{}))
	products, err := w.prov.Provider().Products(ctx)
	mustT(t, err)
	_, err = w.store.SyncProducts(ctx, w.prov.Name(), products)
	mustT(t, err)
	mustT(t, postgres.WithTx(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rew', 'Rew') RETURNING id`).Scan(&w.client); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
			VALUES ($1, 'rp', 'RP', 'live', '2025-01-01', '2030-12-31', $2) RETURNING id`, w.client, int64(n)*balance+1).Scan(&w.program); err != nil {
			return err
		}
		if _, err := ledgerdb.SyncBudget(ctx, tx, w.program); err != nil {
			return err
		}
		var rid int64
		if err := tx.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = $1 AND external_id = '13103'`, w.prov.Name()).Scan(&rid); err != nil {
			return err
		}
		var err error
		if w.offer, err = w.store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: w.client, ProgramID: w.program, RewardID: rid, Available: true}); err != nil {
			return err
		}
		for i := range n {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, status) VALUES ($1, $2, 'seller', 'active') RETURNING id`,
				w.client, fmt.Sprintf("+7977%07d", i)).Scan(&id); err != nil {
				return err
			}
			w.people = append(w.people, id)
			if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: fmt.Sprintf("rw:%d", id), Kind: ledger.KindReceiptCredit,
				ClientID: w.client, ProgramID: w.program, ParticipantID: id, Postings: ledger.Credit(w.client, w.program, id, balance, false)}); err != nil {
				return err
			}
		}
		return nil
	}))
	return w
}

// order records a 500 ₽ certificate for p that the simulator treats in
// mode m (chosen by the recipient's e-mail).
func (w *rewardWorld) order(t testing.TB, p int64, key string, m providertest.Mode) reward.Redemption {
	t.Helper()
	o, _ := w.prov.Order("template", m)
	r, _, err := w.store.Create(context.Background(), reward.Request{ClientID: w.client, ParticipantID: p, Role: "seller",
		OfferID: w.offer, Face: 50000, Email: o.Email, IdempotencyKey: key})
	mustT(t, err)
	return r
}

func (w *rewardWorld) saga() *reward.Saga {
	return reward.NewSaga(w.store, reward.ProviderMap{w.prov.Name(): w.prov.Provider()}, slog.New(slog.DiscardHandler))
}

// placed is how many orders the simulator holds under the ids.
func (w *rewardWorld) placed(ids ...string) int {
	n := 0
	for _, id := range ids {
		n += w.prov.Placed(id)
	}
	return n
}

func startRewardServer(t testing.TB, rdb asynq.RedisConnOpt, saga *reward.Saga, conc int, retry asynq.RetryDelayFunc) *asynq.Server {
	t.Helper()
	srv := asynq.NewServer(rdb, asynq.Config{Concurrency: conc, Queues: queue.Priorities, RetryDelayFunc: retry, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	workers.RegisterReward(mux, saga)
	mustT(t, srv.Start(mux))
	return srv
}

func (w *rewardWorld) left(t testing.TB, pool *pgxpool.Pool) int {
	var n int
	mustT(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM redemptions WHERE client_id = $1 AND status NOT IN ('delivered', 'failed')`, w.client).Scan(&n))
	return n
}

// TestRewardTaskAndSweeper: orders enqueued by the API's call are
// delivered by the task; one whose answer is lost is reconciled on the
// task's retry, not placed twice; one nobody enqueued is found by the
// sweeper. The ledger balances after.
func TestRewardTaskAndSweeper(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	w := seedRewards(t, e.pool, 3, 100000)
	saga := w.saga()
	a := w.order(t, w.people[0], "a", providertest.Success)
	b := w.order(t, w.people[1], "b", providertest.TimeoutAfterAccept) // accepted, the answer lost
	lost := w.order(t, w.people[2], "c", providertest.Success)         // never enqueued
	for _, id := range []string{a.ID, b.ID} {
		mustT(t, queue.EnqueueRewardPlace(ctx, e.client, id))
	}
	srv := startRewardServer(t, asynq.RedisClientOpt{Addr: e.ropt.Addr, DB: e.ropt.DB, Password: e.ropt.Password}, saga, 4,
		func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond })
	defer srv.Shutdown()
	waitFor(t, time.Minute, "two orders delivered", func() bool { return w.left(t, e.pool) == 1 })
	n, err := workers.SweepRewardsOnce(ctx, w.store, e.client, time.Now().Add(time.Hour))
	mustT(t, err)
	if n != 1 {
		t.Fatalf("sweeper enqueued %d, want the one lost order", n)
	}
	waitFor(t, time.Minute, "the swept order delivered", func() bool { return w.left(t, e.pool) == 0 })
	for _, id := range []string{a.ID, b.ID, lost.ID} {
		r, err := w.store.Load(ctx, id)
		mustT(t, err)
		if r.Status != reward.Delivered {
			t.Fatalf("%s", r)
		}
	}
	for _, id := range []string{a.ID, b.ID, lost.ID} {
		if n := w.placed(id); n != 1 {
			t.Fatalf("provider holds %d orders under %s, want 1", n, id)
		}
	}
	rep, err := ledgerdb.New(e.pool).Check(ctx)
	mustT(t, err)
	if !rep.OK() {
		t.Fatal(rep.Discrepancies)
	}
}

// TestRedemptionThroughput measures redemptions per second end to end
// (the order recorded with its hold as POST /v1/redemptions records it,
// the task enqueued, a real Asynq worker placing it with the provider and
// settling it delivered), and in the same run the receipt pipeline's rate
// (verification against the OFD simulator over HTTP) at the same
// concurrency. It asserts only that everything ended right; run it with
// LJ_PIPELINE_BENCH=1 -v -run TestRedemptionThroughput.
func TestRedemptionThroughput(t *testing.T) {
	if os.Getenv("LJ_PIPELINE_BENCH") == "" {
		t.Skip("set LJ_PIPELINE_BENCH=1 to measure")
	}
	e := newEnv(t)
	ctx := context.Background()
	const n, conc = 500, 16
	w := seedRewards(t, e.pool, n, 100000)
	saga := w.saga()
	ropt := asynq.RedisClientOpt{Addr: e.ropt.Addr, DB: e.ropt.DB, Password: e.ropt.Password}
	srv := startRewardServer(t, ropt, saga, conc, workers.RetryDelay)
	load := loadavg()
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int64)
	var idsMu sync.Mutex
	var orderIDs []string
	for range conc {
		wg.Go(func() {
			for p := range work {
				r := w.order(t, p, "bench", providertest.Success)
				idsMu.Lock()
				orderIDs = append(orderIDs, r.ID)
				idsMu.Unlock()
				if err := queue.EnqueueRewardPlace(ctx, e.client, r.ID); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for _, p := range w.people {
		work <- p
	}
	close(work)
	wg.Wait()
	accepted := time.Since(start)
	waitFor(t, 5*time.Minute, "every redemption delivered", func() bool { return w.left(t, e.pool) == 0 })
	total := time.Since(start)
	srv.Shutdown()
	var delivered int
	mustT(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM redemptions WHERE status = 'delivered'`).Scan(&delivered))
	if placed := w.placed(orderIDs...); delivered != n || placed != n {
		t.Fatalf("%d delivered, provider holds %d, want %d", delivered, placed, n)
	}
	rep, err := ledgerdb.New(e.pool).Check(ctx)
	mustT(t, err)
	if !rep.OK() {
		t.Fatal(rep.Discrepancies)
	}

	// The receipt pipeline in the same run, same concurrency.
	var ids []string
	for range n {
		r := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
		ids = append(ids, r.ID)
		_, err := e.client.Enqueue(verifyTask(t, r.ID))
		mustT(t, err)
	}
	svc, err := verify.New(verify.Deps{Store: e.store, Fetcher: e.proverkacheka(t), Scheduler: workers.NewScheduler(e.client),
		Processor: &testProcessor{}}, verify.Config{})
	mustT(t, err)
	rsrv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: conc, Queues: queue.Priorities,
		RetryDelayFunc: workers.RetryDelay, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	workers.Register(mux, workers.New(svc, workers.Options{}))
	rstart := time.Now()
	mustT(t, rsrv.Start(mux))
	waitFor(t, 5*time.Minute, "the receipts to settle", func() bool {
		var left int
		mustT(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE id = ANY($1::uuid[]) AND status NOT IN ('verified', 'credited')`, ids).Scan(&left))
		return left == 0
	})
	rrate := float64(n) / time.Since(rstart).Seconds()
	rsrv.Shutdown()

	t.Logf("machine: %s/%s, %d CPUs, %s; load average before %s, after %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), load, loadavg())
	t.Logf("redemptions (Giftery client → gifterysim over HTTP, 3 signed calls each): %d orders at concurrency %d: accepted (hold + enqueue) %.0f/s, end to end delivered %.0f/s (%.2fs)",
		n, conc, float64(n)/accepted.Seconds(), float64(n)/total.Seconds(), total.Seconds())
	t.Logf("receipt pipeline (OFD simulator over HTTP, test processor), same run, concurrency %d: %.0f receipts/s", conc, rrate)
}
