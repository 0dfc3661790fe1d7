package rewarddb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// fakeProvider is an in-process provider.Provider for these tests, until
// the simulators of internal/reward (giftery, topup) replace it: it keeps
// one order per id (our id is its idempotency key) and plays the failure
// mode it is told to for the next Place.
type fakeProvider struct {
	mu     sync.Mutex
	orders map[string]provider.Result
	places int // Place calls that reached it
	// mode of the next Place: "" done, "processing", "timeout" (accepts,
	// then the answer is lost), "5xx-before" (refused, never stored),
	// "notsent", "out_of_stock", "bad_recipient".
	mode string
	// statusErr, when set, is what Status returns (an outage).
	statusErr error
}

func newFake() *fakeProvider { return &fakeProvider{orders: map[string]provider.Result{}} }

func (f *fakeProvider) Name() string { return "fake" }

func (f *fakeProvider) Products(context.Context) ([]provider.Product, error) {
	return []provider.Product{
		{Provider: "fake", ExternalID: "ozon", Kind: provider.GiftCertificate, Title: "Сертификат Ozon", Brand: "Ozon",
			Description: "Электронный сертификат", FixedFaces: []money.Kopecks{50000, 100000}, Available: true},
		{Provider: "fake", ExternalID: "mts", Kind: provider.MobileTopUp, Title: "Пополнение МТС",
			FaceMin: 10000, FaceMax: 500000, Available: true},
		{Provider: "fake", ExternalID: "free", Kind: provider.GiftCertificate, Title: "Сертификат Лента",
			FaceMin: 1000, FaceMax: 1000000, Available: true},
	}, nil
}

func (f *fakeProvider) Place(_ context.Context, o provider.Order) (provider.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mode := f.mode
	f.mode = ""
	switch mode {
	case "notsent":
		return provider.Result{}, provider.ErrNotSent
	case "5xx-before":
		return provider.Result{}, fmt.Errorf("%w: 502", provider.ErrUnknownOutcome)
	case "out_of_stock":
		f.places++
		return provider.Result{}, fmt.Errorf("%w: ozon", provider.ErrOutOfStock)
	case "bad_recipient":
		f.places++
		return provider.Result{}, provider.ErrBadRecipient
	}
	if prev, ok := f.orders[o.ID]; ok {
		return prev, nil // the same id: the same order, never a second
	}
	f.places++
	res := provider.Result{Status: provider.Done, ProviderRef: "P-" + o.ID[:8], Code: "CODE-" + o.ID[:8], PIN: "1234", Cost: o.Face}
	if mode == "processing" {
		res = provider.Result{Status: provider.Processing, ProviderRef: "P-" + o.ID[:8]}
	}
	f.orders[o.ID] = res
	if mode == "timeout" {
		return provider.Result{}, fmt.Errorf("%w: timeout", provider.ErrUnknownOutcome)
	}
	return res, nil
}

func (f *fakeProvider) Status(_ context.Context, o provider.Order) (provider.Result, error) {
	id := o.ID
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return provider.Result{}, f.statusErr
	}
	r, ok := f.orders[id]
	if !ok {
		return provider.Result{}, provider.ErrOrderNotFound
	}
	return r, nil
}

// finish turns a processing order into a delivered one.
func (f *fakeProvider) finish(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.orders[id]
	r.Status, r.Code = provider.Done, "CODE-"+id[:8]
	f.orders[id] = r
}

type fixture struct {
	db           *pgxpool.Pool
	store        *rewarddb.Store
	prov         *fakeProvider
	saga         *reward.Saga
	client       int64
	program      int64
	participants []int64
	offers       map[string]int64 // by external id
}

func setup(t *testing.T, nParticipants int, balance int64, opts ...rewarddb.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	f := &fixture{db: db, prov: newFake(), offers: map[string]int64{}}
	f.store = rewarddb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), append([]rewarddb.Option{rewarddb.WithNotifier(notifydb.Notifier{})}, opts...)...)
	f.saga = reward.NewSaga(f.store, reward.ProviderMap{"fake": f.prov}, slog.New(slog.DiscardHandler))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&f.client))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P1', 'live', '2025-01-01', '2027-12-31', 100000000) RETURNING id`, f.client).Scan(&f.program))
	products, _ := f.prov.Products(ctx)
	n, err := f.store.SyncProducts(ctx, "fake", products)
	must(t, err)
	if n != len(products) {
		t.Fatalf("synced %d products, want %d", n, len(products))
	}
	must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, f.program); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, external_id FROM rewards ORDER BY id`)
		if err != nil {
			return err
		}
		type rw struct {
			id  int64
			ext string
		}
		var rs []rw
		for rows.Next() {
			var r rw
			if err := rows.Scan(&r.id, &r.ext); err != nil {
				return err
			}
			rs = append(rs, r)
		}
		rows.Close()
		for _, r := range rs {
			id, err := f.store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: f.client, ProgramID: f.program,
				RewardID: r.id, Available: true})
			if err != nil {
				return err
			}
			f.offers[r.ext] = id
		}
		for i := range nParticipants {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, status) VALUES ($1, $2, 'seller', 'active') RETURNING id`,
				f.client, fmt.Sprintf("+7900%07d", i)).Scan(&id); err != nil {
				return err
			}
			f.participants = append(f.participants, id)
			if balance > 0 {
				if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: fmt.Sprintf("seed:%d", id),
					Kind: ledger.KindReceiptCredit, ClientID: f.client, ProgramID: f.program, ParticipantID: id,
					Postings: ledger.Credit(f.client, f.program, id, balance, false)}); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) req(p int64, ext string, face money.Kopecks, key string) reward.Request {
	return reward.Request{ClientID: f.client, ParticipantID: p, Role: "seller", OfferID: f.offers[ext], Face: face, IdempotencyKey: key}
}

func (f *fixture) balances(t *testing.T, p int64) (avail, hold, redeemed int64) {
	t.Helper()
	ctx := context.Background()
	var err error
	avail, err = ledgerdb.AccountBalance(ctx, f.db, ledger.AvailableAccount(f.client, f.program, p))
	must(t, err)
	hold, err = ledgerdb.AccountBalance(ctx, f.db, ledger.HoldAccount(f.client, f.program, p))
	must(t, err)
	redeemed, err = ledgerdb.AccountBalance(ctx, f.db, ledger.RedemptionAccount(f.client))
	must(t, err)
	return
}

func (f *fixture) checkLedger(t *testing.T) {
	t.Helper()
	rep, err := ledgerdb.New(f.db).Check(context.Background())
	must(t, err)
	if !rep.OK() {
		t.Fatalf("ledger check: %v", rep.Discrepancies)
	}
}

// TestHundredConcurrentRedemptionsNeverOverspend: 100 orders of 500 ₽ at
// once against a balance of 1 750 ₽: exactly 3 are recorded, every other
// is refused for the balance, and the points add up.
func TestHundredConcurrentRedemptionsNeverOverspend(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 175000)
	p := f.participants[0]
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, insufficient := 0, 0
	var other []error
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := f.store.Create(context.Background(), f.req(p, "ozon", 50000, fmt.Sprintf("k%d", i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && ok:
				created++
			case errors.Is(err, ledger.ErrInsufficientBalance):
				insufficient++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if created != 3 || insufficient != 97 || len(other) > 0 {
		t.Fatalf("created %d, insufficient %d, other %v; want 3, 97, none", created, insufficient, other)
	}
	avail, hold, _ := f.balances(t, p)
	if avail != 25000 || hold != 150000 {
		t.Fatalf("available %d hold %d, want 25000 and 150000", avail, hold)
	}
	f.checkLedger(t)
}

// TestIdempotencyKey: the same key and request is the same order; the
// same key for another request is refused; points are held once.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 200000)
	p := f.participants[0]
	ctx := context.Background()
	a, created, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "same"))
	must(t, err)
	b, again, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "same"))
	must(t, err)
	if !created || again || a.ID != b.ID {
		t.Fatalf("created %v then %v, ids %s %s", created, again, a.ID, b.ID)
	}
	if _, _, err := f.store.Create(ctx, f.req(p, "ozon", 100000, "same")); !errors.Is(err, reward.ErrKeyReused) {
		t.Fatalf("reused key: %v", err)
	}
	if avail, hold, _ := f.balances(t, p); avail != 150000 || hold != 50000 {
		t.Fatalf("available %d hold %d", avail, hold)
	}
	f.checkLedger(t)
	// ledger check sees a hold that does not match the open orders.
	_, err = f.db.Exec(ctx, `UPDATE redemptions SET price_kopecks = 40000 WHERE id = $1`, a.ID)
	must(t, err)
	rep, err := ledgerdb.New(f.db).Check(ctx)
	must(t, err)
	if rep.OK() || rep.Discrepancies[0].What != "hold_mismatch" || rep.Discrepancies[0].Got != 50000 || rep.Discrepancies[0].Want != 40000 {
		t.Fatalf("check after tampering: %v", rep.Discrepancies)
	}
}

// TestSagaDeliversAndSealsTheCode: placed, done, the hold committed to
// redemption, the code sealed at rest and opened for its owner only.
func TestSagaDeliversAndSealsTheCode(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 200000)
	p := f.participants[0]
	ctx := context.Background()
	r, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "k"))
	must(t, err)
	must(t, f.saga.Run(ctx, r.ID))
	got, err := f.store.ForParticipant(ctx, p, r.ID)
	must(t, err)
	if got.Status != reward.Delivered || got.Code != "CODE-"+r.ID[:8] || got.PIN != "1234" {
		t.Fatalf("got %s code %q pin %q", got.Status, got.Code, got.PIN)
	}
	var sealed string
	must(t, f.db.QueryRow(ctx, `SELECT code_sealed FROM redemptions WHERE id = $1`, r.ID).Scan(&sealed))
	if sealed == "" || strings.Contains(sealed, "CODE-") {
		t.Fatalf("code stored as %q", sealed)
	}
	if _, err := f.store.ForParticipant(ctx, f.participants[1], r.ID); !errors.Is(err, reward.ErrNotFound) {
		t.Fatalf("another participant reads the order: %v", err)
	}
	avail, hold, redeemed := f.balances(t, p)
	if avail != 150000 || hold != 0 || redeemed != 50000 {
		t.Fatalf("available %d hold %d redeemed %d", avail, hold, redeemed)
	}
	var intents int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM notification_intents WHERE dedup_key = $1 AND NOT data::text LIKE '%CODE-%'`,
		"redemption:"+r.ID+":delivered").Scan(&intents))
	if intents != 1 {
		t.Fatalf("%d delivery notifications without the code, want 1", intents)
	}
	// Running it again does nothing: it is final.
	must(t, f.saga.Run(ctx, r.ID))
	if f.prov.places != 1 {
		t.Fatalf("provider saw %d orders", f.prov.places)
	}
	f.checkLedger(t)
}

// TestSagaFailureModes drives one order per failure mode to its end.
func TestSagaFailureModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode      string
		ext       string
		want      reward.Status
		code      string
		runs      int // saga runs until final
		providerN int // orders the provider fulfilled or refused
	}{
		{mode: "out_of_stock", ext: "ozon", want: reward.Failed, code: "out_of_stock", runs: 1, providerN: 1},
		{mode: "bad_recipient", ext: "mts", want: reward.Failed, code: "bad_recipient", runs: 1, providerN: 1},
		// Timeout after accepting: the next run asks Status, finds it done.
		{mode: "timeout", ext: "ozon", want: reward.Delivered, runs: 2, providerN: 1},
		// 5xx before storing: Status says not found, placed again once.
		{mode: "5xx-before", ext: "ozon", want: reward.Delivered, runs: 2, providerN: 1},
		{mode: "notsent", ext: "ozon", want: reward.Delivered, runs: 2, providerN: 1},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			f := setup(t, 1, 200000)
			p := f.participants[0]
			ctx := context.Background()
			rq := f.req(p, tc.ext, 50000, "k")
			if tc.ext == "mts" {
				rq.Phone = "+79001234567"
			}
			r, _, err := f.store.Create(ctx, rq)
			must(t, err)
			f.prov.mode = tc.mode
			for i := range tc.runs {
				err := f.saga.Run(ctx, r.ID)
				if i < tc.runs-1 && !errors.Is(err, reward.ErrNotSettled) {
					t.Fatalf("run %d: %v, want ErrNotSettled", i, err)
				}
				if i == tc.runs-1 {
					must(t, err)
				}
			}
			got, err := f.store.ForParticipant(ctx, p, r.ID)
			must(t, err)
			if got.Status != tc.want || got.FailureCode != tc.code {
				t.Fatalf("status %s code %q, want %s %q", got.Status, got.FailureCode, tc.want, tc.code)
			}
			if f.prov.places != tc.providerN {
				t.Fatalf("provider saw %d orders, want %d", f.prov.places, tc.providerN)
			}
			avail, hold, redeemed := f.balances(t, p)
			wantAvail, wantRedeemed := int64(150000), int64(50000)
			if tc.want == reward.Failed {
				wantAvail, wantRedeemed = 200000, 0
				if got.FailureMessage == "" {
					t.Fatal("failed without a reason")
				}
			}
			if avail != wantAvail || hold != 0 || redeemed != wantRedeemed {
				t.Fatalf("available %d hold %d redeemed %d", avail, hold, redeemed)
			}
			f.checkLedger(t)
		})
	}
}

// TestSagaProcessingForMinutes: the provider accepts and works on it; the
// saga keeps the points held and asks again until it is done.
func TestSagaProcessingForMinutes(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 200000)
	p := f.participants[0]
	ctx := context.Background()
	r, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "k"))
	must(t, err)
	f.prov.mode = "processing"
	for range 3 {
		if err := f.saga.Run(ctx, r.ID); !errors.Is(err, reward.ErrNotSettled) {
			t.Fatalf("processing: %v", err)
		}
	}
	if _, hold, _ := f.balances(t, p); hold != 50000 {
		t.Fatalf("hold %d while processing", hold)
	}
	f.checkLedger(t)
	f.prov.finish(r.ID)
	must(t, f.saga.Run(ctx, r.ID))
	got, _ := f.store.ForParticipant(ctx, p, r.ID)
	if got.Status != reward.Delivered || f.prov.places != 1 {
		t.Fatalf("status %s, provider orders %d", got.Status, f.prov.places)
	}
	f.checkLedger(t)
}

// TestWorkerKilledBetweenPlacingAndRecording: a worker marks the order
// placing, the provider fulfils it, and the worker dies before recording.
// The next run reconciles by Status: delivered, and the provider saw one
// order.
func TestWorkerKilledBetweenPlacingAndRecording(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 200000)
	p := f.participants[0]
	ctx := context.Background()
	r, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "k"))
	must(t, err)
	// The dead worker's steps: BeginPlacing committed, Place answered, then
	// nothing recorded.
	placing, ok, err := f.store.BeginPlacing(ctx, r.ID)
	must(t, err)
	if !ok {
		t.Fatal("not placeable")
	}
	if _, err := f.prov.Place(ctx, placing.Order()); err != nil {
		t.Fatal(err)
	}
	// While the provider cannot be asked, the order stays held, not
	// placed again.
	f.prov.statusErr = errors.New("connection refused")
	if err := f.saga.Run(ctx, r.ID); !errors.Is(err, reward.ErrNotSettled) {
		t.Fatalf("status outage: %v", err)
	}
	f.prov.statusErr = nil
	ids, err := f.store.StuckOrders(ctx, placing.UpdatedAt.Add(1<<40), 10) // the sweeper's view: everything open
	must(t, err)
	if len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("stuck orders %v", ids)
	}
	must(t, f.saga.Run(ctx, r.ID))
	got, _ := f.store.ForParticipant(ctx, p, r.ID)
	if got.Status != reward.Delivered || got.Code == "" {
		t.Fatalf("status %s code %q", got.Status, got.Code)
	}
	if f.prov.places != 1 {
		t.Fatalf("provider saw %d orders, want 1", f.prov.places)
	}
	f.checkLedger(t)
}

// TestLimitsBlockedModerationRoles: the program's limits, a blocked
// participant, a role the offer is not for, and a large order that waits
// for a moderator (held, not placed) until approved or rejected.
func TestLimitsBlockedModerationRoles(t *testing.T) {
	t.Parallel()
	f := setup(t, 3, 1000000)
	ctx := context.Background()
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		return f.store.PutLimits(ctx, tx, f.client, f.program, reward.Limits{PerOrder: 300000, PerDay: 400000, PerMonth: 450000, Moderation: 150000})
	}))
	p := f.participants[0]
	if _, _, err := f.store.Create(ctx, f.req(p, "free", 300001, "a")); !errors.Is(err, reward.ErrPerOrder) {
		t.Fatalf("per order: %v", err)
	}
	small, _, err := f.store.Create(ctx, f.req(p, "free", 100000, "b"))
	must(t, err)
	big, _, err := f.store.Create(ctx, f.req(p, "free", 200000, "c"))
	must(t, err)
	if small.Status != reward.Queued || big.Status != reward.Moderation {
		t.Fatalf("statuses %s %s", small.Status, big.Status)
	}
	if _, _, err := f.store.Create(ctx, f.req(p, "free", 100001, "d")); !errors.Is(err, reward.ErrPerDay) {
		t.Fatalf("per day: %v", err)
	}
	// The saga leaves a moderation order alone.
	must(t, f.saga.Run(ctx, big.ID))
	if f.prov.places != 0 {
		t.Fatal("placed before moderation")
	}
	// Rejected: points back, the day's limit freed.
	must(t, f.store.Fail(ctx, big.ID, "moderation", "rejected by moderator"))
	if _, _, err := f.store.Create(ctx, f.req(p, "free", 100000, "e")); err != nil {
		t.Fatalf("after rejection: %v", err)
	}
	// An approved order is placed.
	big2, _, err := f.store.Create(ctx, f.req(f.participants[1], "free", 200000, "f"))
	must(t, err)
	ok, err := f.store.Approve(ctx, f.client+1, big2.ID)
	if ok || !errors.Is(err, reward.ErrNotFound) {
		t.Fatalf("another client approves: %v %v", ok, err)
	}
	ok, err = f.store.Approve(ctx, f.client, big2.ID)
	must(t, err)
	if !ok {
		t.Fatal("not approved")
	}
	must(t, f.saga.Run(ctx, big2.ID))
	if got, _ := f.store.ForParticipant(ctx, f.participants[1], big2.ID); got.Status != reward.Delivered {
		t.Fatalf("approved order %s", got.Status)
	}

	// Blocked.
	blocked := f.participants[2]
	_, err = f.db.Exec(ctx, `UPDATE participants SET status = 'blocked' WHERE id = $1`, blocked)
	must(t, err)
	if _, _, err := f.store.Create(ctx, f.req(blocked, "ozon", 50000, "g")); !errors.Is(err, reward.ErrBlocked) {
		t.Fatalf("blocked: %v", err)
	}
	// Role.
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE reward_offers SET roles = '{manager}' WHERE id = $1`, f.offers["ozon"])
		return err
	}))
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], "ozon", 50000, "h")); !errors.Is(err, reward.ErrRole) {
		t.Fatalf("role: %v", err)
	}
	// A face value the product does not have; a top-up without a phone.
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], "free", 999, "i")); !errors.Is(err, reward.ErrFace) {
		t.Fatalf("face: %v", err)
	}
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], "mts", 10000, "j")); !errors.Is(err, reward.ErrRecipient) {
		t.Fatalf("recipient: %v", err)
	}
	f.checkLedger(t)
}

// TestStockAndTaxGate: the last item of a stocked offer goes to one
// order; a failed order returns it; a TaxGate that says yes refuses.
func TestStockAndTaxGate(t *testing.T) {
	t.Parallel()
	gate := &fakeGate{}
	f := setup(t, 2, 1000000, rewarddb.WithTaxGate(gate))
	ctx := context.Background()
	_, err := f.db.Exec(ctx, `UPDATE reward_offers SET stock = 1 WHERE id = $1`, f.offers["ozon"])
	must(t, err)
	r, _, err := f.store.Create(ctx, f.req(f.participants[0], "ozon", 50000, "a"))
	must(t, err)
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], "ozon", 50000, "b")); !errors.Is(err, reward.ErrOutOfStock) {
		t.Fatalf("stock: %v", err)
	}
	f.prov.mode = "out_of_stock"
	must(t, f.saga.Run(ctx, r.ID))
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], "ozon", 50000, "b")); err != nil {
		t.Fatalf("stock returned: %v", err)
	}
	gate.need = true
	if _, _, err := f.store.Create(ctx, f.req(f.participants[0], "free", 50000, "c")); !errors.Is(err, reward.ErrTaxProfileRequired) {
		t.Fatalf("tax gate: %v", err)
	}
	if gate.asked == 0 || gate.lastPrice != 50000 {
		t.Fatalf("gate asked %d times, price %d", gate.asked, gate.lastPrice)
	}
	f.checkLedger(t)
}

type fakeGate struct {
	mu        sync.Mutex
	need      bool
	asked     int
	lastPrice money.Kopecks
}

func (g *fakeGate) NeedsTaxProfile(_ context.Context, _, _ int64, price money.Kopecks) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked++
	g.lastPrice = price
	return g.need, nil
}

// TestCoolingOff: after a single large credit the participant cannot
// redeem for the program's cooling-off period; smaller credits do not
// count.
func TestCoolingOff(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 1000000) // one credit of 10 000 ₽, just now
	ctx := context.Background()
	p := f.participants[0]
	put := func(l reward.Limits) {
		must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error { return f.store.PutLimits(ctx, tx, f.client, f.program, l) }))
	}
	put(reward.Limits{CoolingOffCredit: 500000, CoolingOffFor: 24 * time.Hour})
	if _, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "a")); !errors.Is(err, reward.ErrCoolingOff) {
		t.Fatalf("cooling off: %v", err)
	}
	put(reward.Limits{CoolingOffCredit: 1000001, CoolingOffFor: 24 * time.Hour})
	if _, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "b")); err != nil {
		t.Fatalf("credit below the threshold: %v", err)
	}
	// The credit is older than the period: allowed.
	_, err := f.db.Exec(ctx, `UPDATE ledger_transactions SET created_at = now() - interval '25 hours' WHERE idempotency_key = $1`, fmt.Sprintf("seed:%d", p))
	must(t, err)
	put(reward.Limits{CoolingOffCredit: 500000, CoolingOffFor: 24 * time.Hour})
	if _, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "c")); err != nil {
		t.Fatalf("after the period: %v", err)
	}
	f.checkLedger(t)
}

// recorder is a reward.DeliverySubscriber that writes what it hears into
// the settling transaction (so a rolled-back settlement leaves nothing),
// and can fail to show that its error rolls the settlement back.
type recorder struct {
	fail bool
}

func (r *recorder) RewardDelivered(ctx context.Context, tx pgx.Tx, d reward.Delivery) error {
	if r.fail {
		return errors.New("tax store down")
	}
	_, err := tx.Exec(ctx, `INSERT INTO heard (what, redemption_id, kopecks) VALUES ('delivered', $1, $2)`, d.RedemptionID, int64(d.Price))
	return err
}

func (r *recorder) RewardReversed(ctx context.Context, tx pgx.Tx, d reward.Delivery, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO heard (what, redemption_id, kopecks) VALUES ('reversed:' || $3, $1, $2)`, d.RedemptionID, int64(d.Price), reason)
	return err
}

// TestDeliverySubscribersAndRefund: subscribers hear a delivery and a
// refund in their transactions; a subscriber's error rolls the delivery
// back (the hold stays, the order stays open); a refund returns the
// points and balances the ledger.
func TestDeliverySubscribersAndRefund(t *testing.T) {
	t.Parallel()
	rec := &recorder{fail: true}
	f := setup(t, 1, 200000, rewarddb.WithDeliverySubscribers(rec))
	ctx := context.Background()
	_, err := f.db.Exec(ctx, `CREATE TABLE heard (what TEXT, redemption_id UUID, kopecks BIGINT)`)
	must(t, err)
	p := f.participants[0]
	r, _, err := f.store.Create(ctx, f.req(p, "ozon", 50000, "k"))
	must(t, err)
	if err := f.saga.Run(ctx, r.ID); err == nil {
		t.Fatal("delivery committed although its subscriber failed")
	}
	if got, _ := f.store.Load(ctx, r.ID); got.Status != reward.Placing {
		t.Fatalf("after a failed delivery: %s", got.Status)
	}
	if _, hold, _ := f.balances(t, p); hold != 50000 {
		t.Fatalf("hold %d", hold)
	}
	rec.fail = false
	must(t, f.saga.Run(ctx, r.ID)) // reconciled by Status: delivered
	if f.prov.places != 1 {
		t.Fatalf("provider saw %d orders", f.prov.places)
	}
	if err := f.store.Refund(ctx, "00000000-0000-4000-8000-000000000000", "x"); !errors.Is(err, reward.ErrNotFound) {
		t.Fatalf("refund of no order: %v", err)
	}
	must(t, f.store.Refund(ctx, r.ID, "поставщик отменил сертификат"))
	if err := f.store.Refund(ctx, r.ID, "again"); !errors.Is(err, reward.ErrNotRefundable) {
		t.Fatalf("second refund: %v", err)
	}
	avail, hold, redeemed := f.balances(t, p)
	if avail != 200000 || hold != 0 || redeemed != 0 {
		t.Fatalf("after refund: available %d hold %d redeemed %d", avail, hold, redeemed)
	}
	var heard []string
	rows, err := f.db.Query(ctx, `SELECT what || ':' || kopecks FROM heard ORDER BY what`)
	must(t, err)
	heard, err = pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	if len(heard) != 2 || heard[0] != "delivered:50000" || heard[1] != "reversed:поставщик отменил сертификат:50000" {
		t.Fatalf("subscriber heard %v", heard)
	}
	f.checkLedger(t)
}

// TestVoid: the operator's void fails a queued order at once, a placing
// one only once the provider says it never got it, and never one the
// provider is processing; one the provider delivered meanwhile is
// recorded as delivered.
func TestVoid(t *testing.T) {
	t.Parallel()
	f := setup(t, 4, 200000)
	ctx := context.Background()
	order := func(i int) reward.Redemption {
		r, _, err := f.store.Create(ctx, f.req(f.participants[i], "ozon", 50000, "k"))
		must(t, err)
		return r
	}
	queued := order(0)
	must(t, f.saga.Void(ctx, queued.ID, "voided"))
	// Placing, never reached the provider.
	lost := order(1)
	_, _, err := f.store.BeginPlacing(ctx, lost.ID)
	must(t, err)
	must(t, f.saga.Void(ctx, lost.ID, "voided"))
	// Processing at the provider: refused.
	busy := order(2)
	f.prov.mode = "processing"
	if err := f.saga.Run(ctx, busy.ID); !errors.Is(err, reward.ErrNotSettled) {
		t.Fatal(err)
	}
	if err := f.saga.Void(ctx, busy.ID, "voided"); !errors.Is(err, reward.ErrNotVoidable) {
		t.Fatalf("void while processing: %v", err)
	}
	// Delivered meanwhile: recorded, not voided.
	f.prov.finish(busy.ID)
	if err := f.saga.Void(ctx, busy.ID, "voided"); !errors.Is(err, reward.ErrNotVoidable) {
		t.Fatalf("void of a delivered order: %v", err)
	}
	for id, want := range map[string]reward.Status{queued.ID: reward.Failed, lost.ID: reward.Failed, busy.ID: reward.Delivered} {
		if r, _ := f.store.Load(ctx, id); r.Status != want {
			t.Errorf("%s: %s, want %s", id, r.Status, want)
		}
	}
	if avail, hold, _ := f.balances(t, f.participants[0]); avail != 200000 || hold != 0 {
		t.Fatalf("voided order's points: available %d hold %d", avail, hold)
	}
	f.checkLedger(t)
}
