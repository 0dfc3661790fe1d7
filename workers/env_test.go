package workers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// env is one test's world: a migrated database with a client and a
// participant, a private Redis DB, the OFD simulator over real HTTP.
type env struct {
	pool   *pgxpool.Pool
	dbURL  string
	ropt   *redis.Options
	rdb    *redis.Client
	sim    *ofdsim.Server
	simURL string
	store  *receiptdb.Store
	client *asynq.Client
	insp   *asynq.Inspector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, dbURL := pgtest.New(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO clients (code, name) VALUES ('acme', 'Acme')`,
		`INSERT INTO participants (client_id, phone, role) VALUES (1, '+79990000001', 'seller')`,
		// The test Processor's "ledger": no unique key, so a double credit shows.
		`CREATE TABLE test_credits (receipt_id UUID NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ropt := redistest.DB(t)
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	sim := ofdsim.New(ofdsim.Config{})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	e := &env{pool: pool, dbURL: dbURL, ropt: ropt, rdb: rdb, sim: sim, simURL: hs.URL, store: receiptdb.New(pool),
		client: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb)}
	return e
}

// clock is an injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testProcessor stands in for the rules-and-ledger step: it records a
// credit in the receipt's transaction and moves the receipt to credited. failNext makes the
// next Process of a receipt fail, after it wrote its credit row, to prove
// that nothing of the step commits then.
type testProcessor struct {
	mu       sync.Mutex
	failNext map[string]bool
	calls    atomic.Int64
}

func (p *testProcessor) FailNext(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failNext == nil {
		p.failNext = map[string]bool{}
	}
	p.failNext[id] = true
}

func (p *testProcessor) Process(ctx context.Context, r *receipt.Receipt) error {
	p.calls.Add(1)
	if r.Status != receipt.Verified || len(r.Items) == 0 {
		return fmt.Errorf("processor got %s receipt with %d items", r.Status, len(r.Items))
	}
	// Like the points store, it joins the receipt's transaction.
	tx, ok := postgres.TxFromContext(ctx)
	if !ok {
		return errors.New("processor: no transaction in the context")
	}
	if _, err := tx.Exec(ctx, `INSERT INTO test_credits (receipt_id) VALUES ($1)`, r.ID); err != nil {
		return err
	}
	p.mu.Lock()
	fail := p.failNext[r.ID]
	delete(p.failNext, r.ID)
	p.mu.Unlock()
	if fail {
		return errors.New("processor: ledger unavailable")
	}
	var pts int64
	for _, it := range r.Items {
		pts += it.SumKopecks / 100
	}
	r.PointsKopecks = pts
	if err := r.Transition(receipt.Matched, verify.Actor, "items_matched", nil); err != nil {
		return err
	}
	return r.Transition(receipt.Credited, verify.Actor, "points_credited", map[string]any{"points_kopecks": pts})
}

// svcOptions configure a service under test.
type svcOptions struct {
	clock       *clock
	processor   verify.Processor
	callTimeout time.Duration
	fetcher     verify.Fetcher
	photos      verify.Photos
	qr          verify.QRDecoder
	concurrency int
	tasks       verify.Tasks
}

func (e *env) proverkacheka(t testing.TB) *ofd.Proverkacheka {
	t.Helper()
	f, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: e.simURL, Token: "test-token"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (e *env) service(t testing.TB, o svcOptions) (*verify.Service, *workers.Handlers) {
	t.Helper()
	if o.clock == nil {
		o.clock = newClock()
	}
	if o.fetcher == nil {
		o.fetcher = e.proverkacheka(t)
	}
	svc, err := verify.New(verify.Deps{Store: e.store, Fetcher: o.fetcher, Scheduler: workers.NewScheduler(e.client),
		Processor: o.processor, Photos: o.photos, QR: o.qr, Tasks: o.tasks},
		verify.Config{CallTimeout: o.callTimeout, Now: o.clock.Now, Concurrency: o.concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return svc, workers.New(svc, workers.Options{})
}

var seq atomic.Int64

// scenarioFN returns a fresh fn selecting simulator scenario code (see
// ofdsim.ScenarioFromFN) with parameter param.
func scenarioFN(code, param int) string {
	return fmt.Sprintf("9999%02d%04d%06d", code, param, seq.Add(1)%1_000_000)
}

// newQueued stores a queued receipt for fn, as the API leaves it after a
// QR upload; purchased is the QR time.
func (e *env) newQueued(t testing.TB, fn string, purchased time.Time) receipt.Receipt {
	t.Helper()
	n := seq.Add(1)
	p := fiscal.Payload{Time: purchased.UTC().Truncate(time.Minute), SumKopecks: 100_000 + n*37, FN: fn,
		FD: uint32(n), FP: uint32(1_000_000 + n), Operation: 1}
	r := &receipt.Receipt{ClientID: 1, ParticipantID: 1, Source: receipt.SourceQR, QRRaw: p.Canonical(),
		QRCanonical: p.Canonical(), FN: p.FN, FD: int64(p.FD), FP: int64(p.FP), Operation: p.Operation,
		PurchasedAt: p.Time, SumKopecks: p.SumKopecks}
	mustT(t, r.Transition(receipt.Decoded, "participant:1", "uploaded_qr", nil))
	mustT(t, r.Transition(receipt.Queued, "system", "enqueued", nil))
	if created, err := e.store.Create(context.Background(), r); err != nil || !created {
		t.Fatalf("create receipt: created=%v err=%v", created, err)
	}
	return *r
}

func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func verifyTask(t testing.TB, id string) *asynq.Task {
	t.Helper()
	task, err := queue.NewReceiptVerify(id, 0)
	mustT(t, err)
	return task
}

func (e *env) get(t testing.TB, id string) receipt.Receipt {
	t.Helper()
	r, err := e.store.Get(context.Background(), id)
	mustT(t, err)
	return r
}

// reasons lists the reasons of a receipt's events after the upload's own.
func reasons(r receipt.Receipt) []string {
	var out []string
	for _, ev := range r.Events {
		if ev.Actor == "participant:1" || (ev.Actor == "system" && ev.Reason == "enqueued") {
			continue
		}
		out = append(out, ev.Reason)
	}
	return out
}

func (e *env) credits(t testing.TB, id string) int {
	t.Helper()
	var n int
	mustT(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM test_credits WHERE receipt_id = $1`, id).Scan(&n))
	return n
}

// scheduled reports whether the queue holds the verify task scheduled for
// r's next attempt.
func (e *env) scheduled(t testing.TB, r receipt.Receipt) bool {
	t.Helper()
	if r.NextAttemptAt == nil {
		return false
	}
	id := fmt.Sprintf("%s:%s:at%d", queue.TypeReceiptVerify, r.ID, r.NextAttemptAt.UnixMilli())
	info, err := e.insp.GetTaskInfo(queue.Critical, id)
	if err != nil {
		return false
	}
	return info.State == asynq.TaskStateScheduled || info.State == asynq.TaskStatePending
}
