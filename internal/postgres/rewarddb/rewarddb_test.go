package rewarddb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// The saga runs against the real provider clients (Giftery's B2B API,
// QIWI's top-up API) talking HTTP to their simulators, started per test by
// internal/reward/providertest; a failure mode is chosen by the order's
// recipient (providertest.Harness.Order), and the provider's own record
// (Harness.Placed) says how many orders it holds under our id.

type fixture struct {
	db           *pgxpool.Pool
	store        *rewarddb.Store
	saga         *reward.Saga
	giftery      providertest.Harness
	qiwi         providertest.Harness
	client       int64
	program      int64
	participants []int64
	offers       map[string]int64 // by provider/external id
}

// Products of the simulators the tests order.
const (
	letual      = "giftery/13103" // fixed faces 500, 1000, 3000, 5000 ₽
	gifteryCard = "giftery/2111"  // free face 100…30 000 ₽
	mobileTopUp = "qiwi/" + qiwi.ProductMobile
	walletTopUp = "qiwi/" + qiwi.ProductWallet
	anyPhone    = "+79161234567"
	anyEmail    = "seller@example.com"
	gifteryFace = money.Kopecks(100000)
	topUpFace   = money.Kopecks(30000)
)

func setup(t *testing.T, nParticipants int, balance int64, opts ...rewarddb.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	f := &fixture{db: db, giftery: providertest.Giftery(t), qiwi: providertest.QIWI(t), offers: map[string]int64{}}
	f.store = rewarddb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), append([]rewarddb.Option{rewarddb.WithNotifier(notifydb.Notifier{})}, opts...)...)
	f.saga = reward.NewSaga(f.store, reward.ProviderMap{f.giftery.Name(): f.giftery.Provider(), f.qiwi.Name(): f.qiwi.Provider()},
		slog.New(slog.DiscardHandler))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&f.client))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P1', 'live', '2025-01-01', '2027-12-31', 100000000) RETURNING id`, f.client).Scan(&f.program))
	for _, h := range []providertest.Harness{f.giftery, f.qiwi} {
		// The catalog comes from the provider's own product list (Giftery's
		// getProducts over HTTP).
		products, err := h.Provider().Products(ctx)
		must(t, err)
		n, err := f.store.SyncProducts(ctx, h.Name(), products)
		must(t, err)
		if n != len(products) || n == 0 {
			t.Fatalf("%s: synced %d products of %d", h.Name(), n, len(products))
		}
	}
	must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, f.program); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, provider || '/' || external_id FROM rewards ORDER BY id`)
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
	for _, k := range []string{letual, gifteryCard, mobileTopUp, walletTopUp} {
		if f.offers[k] == 0 {
			t.Fatalf("no offer of %s after the sync", k)
		}
	}
	return f
}

// modeReq is a request that the harness's simulator treats in mode m: the
// product and the recipient (e-mail or phone) it selects the mode by.
func (f *fixture) modeReq(t *testing.T, h providertest.Harness, m providertest.Mode, p int64, key string) (reward.Request, bool) {
	t.Helper()
	o, ok := h.Order("template", m)
	if !ok {
		return reward.Request{}, false
	}
	return reward.Request{ClientID: f.client, ParticipantID: p, Role: "seller", OfferID: f.offers[h.Name()+"/"+o.ProductID],
		Face: o.Face, Phone: o.Phone, Account: o.Account, Email: o.Email, IdempotencyKey: key}, true
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// req is an order of product ext (provider/external id) that its
// simulator fulfils at once.
func (f *fixture) req(p int64, ext string, face money.Kopecks, key string) reward.Request {
	r := reward.Request{ClientID: f.client, ParticipantID: p, Role: "seller", OfferID: f.offers[ext], Face: face, IdempotencyKey: key}
	switch ext {
	case mobileTopUp:
		r.Phone = anyPhone
	case walletTopUp:
		r.Account = anyPhone
	default:
		r.Email = anyEmail
	}
	return r
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
			_, ok, err := f.store.Create(context.Background(), f.req(p, letual, 50000, fmt.Sprintf("k%d", i)))
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
	a, created, err := f.store.Create(ctx, f.req(p, letual, 50000, "same"))
	must(t, err)
	b, again, err := f.store.Create(ctx, f.req(p, letual, 50000, "same"))
	must(t, err)
	if !created || again || a.ID != b.ID {
		t.Fatalf("created %v then %v, ids %s %s", created, again, a.ID, b.ID)
	}
	if _, _, err := f.store.Create(ctx, f.req(p, letual, 100000, "same")); !errors.Is(err, reward.ErrKeyReused) {
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
	r, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "k"))
	must(t, err)
	must(t, f.saga.Run(ctx, r.ID))
	got, err := f.store.ForParticipant(ctx, p, r.ID)
	must(t, err)
	if got.Status != reward.Delivered || got.Code == "" {
		t.Fatalf("got %s code %q pin %q", got.Status, got.Code, got.PIN)
	}
	var sealed string
	must(t, f.db.QueryRow(ctx, `SELECT code_sealed FROM redemptions WHERE id = $1`, r.ID).Scan(&sealed))
	if sealed == "" || strings.Contains(sealed, got.Code) {
		t.Fatalf("code %q stored as %q", got.Code, sealed)
	}
	if _, err := f.store.ForParticipant(ctx, f.participants[1], r.ID); !errors.Is(err, reward.ErrNotFound) {
		t.Fatalf("another participant reads the order: %v", err)
	}
	avail, hold, redeemed := f.balances(t, p)
	if avail != 150000 || hold != 0 || redeemed != 50000 {
		t.Fatalf("available %d hold %d redeemed %d", avail, hold, redeemed)
	}
	var intents int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM notification_intents WHERE dedup_key = $1 AND strpos(data::text, $2) = 0`,
		"redemption:"+r.ID+":delivered", got.Code).Scan(&intents))
	if intents != 1 {
		t.Fatalf("%d delivery notifications without the code, want 1", intents)
	}
	// Running it again does nothing: it is final.
	must(t, f.saga.Run(ctx, r.ID))
	if n := f.giftery.Placed(r.ID); n != 1 {
		t.Fatalf("provider holds %d orders", n)
	}
	f.checkLedger(t)
}

// TestSagaFailureModes drives one order per provider and failure mode
// to its end through the real clients and simulators: the saga runs
// until it says the order is settled (as the task queue would retry it),
// the points stay held while it is open, and the provider's own record
// holds at most the one order placed under our id.
func TestSagaFailureModes(t *testing.T) {
	t.Parallel()
	f := setup(t, 2*len(providertest.Modes), 200000)
	ctx := context.Background()
	i := 0
	for _, h := range []providertest.Harness{f.giftery, f.qiwi} {
		for _, m := range providertest.Modes {
			p := f.participants[i]
			i++
			rq, ok := f.modeReq(t, h, m, p, "k")
			if !ok {
				continue // QIWI has no stock
			}
			t.Run(h.Name()+"/"+string(m), func(t *testing.T) {
				r, _, err := f.store.Create(ctx, rq)
				must(t, err)
				price := int64(r.Price)
				runs, err := 0, reward.ErrNotSettled
				for ; errors.Is(err, reward.ErrNotSettled) && runs < providertest.ProcessingPolls+4; runs++ {
					if runs > 0 {
						// While it is open the points are held, and the ledger balances.
						if _, hold, _ := f.balances(t, p); hold != price {
							t.Fatalf("run %d: hold %d while open, want %d", runs, hold, price)
						}
						f.checkLedger(t)
					}
					err = f.saga.Run(ctx, r.ID)
				}
				got, lerr := f.store.ForParticipant(ctx, p, r.ID)
				must(t, lerr)
				placed := h.Placed(r.ID)
				avail, hold, _ := f.balances(t, p)
				switch m {
				case providertest.Success, providertest.TimeoutAfterAccept, providertest.ErrorAfterAccept, providertest.Processing:
					// Accepted; a lost answer is reconciled by Status, never
					// placed blindly again.
					must(t, err)
					if got.Status != reward.Delivered || !delivered(h, got) || placed != 1 {
						t.Fatalf("status %s code %q ref %q, provider holds %d; want delivered with the goods, 1", got.Status, got.Code, got.ProviderRef, placed)
					}
					if avail != 200000-price || hold != 0 {
						t.Fatalf("available %d hold %d", avail, hold)
					}
					wantRuns := map[providertest.Mode]int{providertest.Success: 1, providertest.TimeoutAfterAccept: 2, providertest.ErrorAfterAccept: 2}[m]
					if wantRuns > 0 && runs != wantRuns {
						t.Fatalf("settled after %d runs, want %d", runs, wantRuns)
					}
				case providertest.OutOfStock, providertest.BadRecipient, providertest.FailAfterAccept:
					// Definite: the hold is voided with a reason.
					must(t, err)
					wantCode := map[providertest.Mode]string{providertest.OutOfStock: "out_of_stock", providertest.BadRecipient: "bad_recipient"}[m]
					if got.Status != reward.Failed || got.FailureMessage == "" || (wantCode != "" && got.FailureCode != wantCode) {
						t.Fatalf("status %s code %q reason %q, want failed %q with a reason", got.Status, got.FailureCode, got.FailureMessage, wantCode)
					}
					if avail != 200000 || hold != 0 {
						t.Fatalf("available %d hold %d after a failure", avail, hold)
					}
					if placed > 1 || (m == providertest.FailAfterAccept && placed != 1) {
						t.Fatalf("provider holds %d orders", placed)
					}
				case providertest.ErrorBeforeAccept:
					// Every attempt is answered 500 and nothing is accepted:
					// the saga asks before placing again, keeps the points
					// held and never settles on a guess.
					if !errors.Is(err, reward.ErrNotSettled) || got.Status.Final() || placed != 0 || hold != price {
						t.Fatalf("err %v status %s, provider holds %d, hold %d; want open, 0, held", err, got.Status, placed, hold)
					}
					// The operator voids it: the provider confirms it has no
					// such order, and the points come back.
					must(t, f.saga.Void(ctx, r.ID, "voided"))
					if got, _ := f.store.Load(ctx, r.ID); got.Status != reward.Failed {
						t.Fatalf("after void: %s", got.Status)
					}
					if avail, hold, _ := f.balances(t, p); avail != 200000 || hold != 0 {
						t.Fatalf("after void: available %d hold %d", avail, hold)
					}
				default:
					t.Fatalf("mode %s not covered", m)
				}
				// Running it again changes nothing and orders nothing.
				_ = f.saga.Run(ctx, r.ID)
				if again := h.Placed(r.ID); again != placed {
					t.Fatalf("provider holds %d orders after another run, %d before", again, placed)
				}
				f.checkLedger(t)
			})
		}
	}
}

// delivered says r carries its goods: a certificate's code, or a
// top-up's receipt (the provider's payment id).
func delivered(h providertest.Harness, r reward.Redemption) bool {
	if h.Name() == qiwi.Name {
		return r.ProviderRef != "" && r.Code == ""
	}
	return r.Code != "" && r.ProviderRef != ""
}

// TestWorkerKilledBetweenPlacingAndRecording: a worker marks the order
// placing, the provider fulfils it, and the worker dies before recording.
// While the provider is down the order stays held; then the next run
// reconciles by Status: delivered, and the provider's own record shows
// exactly one order.
func TestWorkerKilledBetweenPlacingAndRecording(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 200000)
	ctx := context.Background()
	for i, h := range []providertest.Harness{f.giftery, f.qiwi} {
		t.Run(h.Name(), func(t *testing.T) {
			p := f.participants[i]
			rq, _ := f.modeReq(t, h, providertest.Success, p, "k")
			r, _, err := f.store.Create(ctx, rq)
			must(t, err)
			// The dead worker's steps: BeginPlacing committed, Place answered,
			// then nothing recorded.
			placing, ok, err := f.store.BeginPlacing(ctx, r.ID)
			must(t, err)
			if !ok {
				t.Fatal("not placeable")
			}
			if res, err := h.Provider().Place(ctx, placing.Order()); err != nil || res.Status != provider.Done {
				t.Fatalf("place: %+v %v", res, err)
			}
			// While the provider cannot be asked, the order stays held, not
			// placed again.
			h.Down(true)
			if err := f.saga.Run(ctx, r.ID); !errors.Is(err, reward.ErrNotSettled) {
				t.Fatalf("status outage: %v", err)
			}
			h.Down(false)
			if _, hold, _ := f.balances(t, p); hold != int64(r.Price) {
				t.Fatalf("hold %d during the outage", hold)
			}
			ids, err := f.store.StuckOrders(ctx, placing.UpdatedAt.Add(1<<40), 10) // the sweeper's view: everything open
			must(t, err)
			if !slices.Contains(ids, r.ID) {
				t.Fatalf("stuck orders %v", ids)
			}
			must(t, f.saga.Run(ctx, r.ID))
			got, _ := f.store.ForParticipant(ctx, p, r.ID)
			if got.Status != reward.Delivered || !delivered(h, got) {
				t.Fatalf("status %s code %q ref %q", got.Status, got.Code, got.ProviderRef)
			}
			if n := h.Placed(r.ID); n != 1 {
				t.Fatalf("provider holds %d orders, want 1", n)
			}
			f.checkLedger(t)
		})
	}
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
	if _, _, err := f.store.Create(ctx, f.req(p, gifteryCard, 300001, "a")); !errors.Is(err, reward.ErrPerOrder) {
		t.Fatalf("per order: %v", err)
	}
	small, _, err := f.store.Create(ctx, f.req(p, gifteryCard, 100000, "b"))
	must(t, err)
	big, _, err := f.store.Create(ctx, f.req(p, gifteryCard, 200000, "c"))
	must(t, err)
	if small.Status != reward.Queued || big.Status != reward.Moderation {
		t.Fatalf("statuses %s %s", small.Status, big.Status)
	}
	if _, _, err := f.store.Create(ctx, f.req(p, gifteryCard, 100001, "d")); !errors.Is(err, reward.ErrPerDay) {
		t.Fatalf("per day: %v", err)
	}
	// The saga leaves a moderation order alone.
	must(t, f.saga.Run(ctx, big.ID))
	if n := f.giftery.Placed(big.ID); n != 0 {
		t.Fatal("placed before moderation")
	}
	// Rejected: points back, the day's limit freed.
	must(t, f.store.Fail(ctx, big.ID, "moderation", "rejected by moderator"))
	if _, _, err := f.store.Create(ctx, f.req(p, gifteryCard, 100000, "e")); err != nil {
		t.Fatalf("after rejection: %v", err)
	}
	// An approved order is placed.
	big2, _, err := f.store.Create(ctx, f.req(f.participants[1], gifteryCard, 200000, "f"))
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
	if _, _, err := f.store.Create(ctx, f.req(blocked, letual, 50000, "g")); !errors.Is(err, reward.ErrBlocked) {
		t.Fatalf("blocked: %v", err)
	}
	// Role.
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE reward_offers SET roles = '{manager}' WHERE id = $1`, f.offers[letual])
		return err
	}))
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], letual, 50000, "h")); !errors.Is(err, reward.ErrRole) {
		t.Fatalf("role: %v", err)
	}
	// A face value the product does not have; a top-up without a phone.
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], gifteryCard, 999, "i")); !errors.Is(err, reward.ErrFace) {
		t.Fatalf("face: %v", err)
	}
	if _, _, err := f.store.Create(ctx, reward.Request{ClientID: f.client, ParticipantID: f.participants[1], Role: "seller",
		OfferID: f.offers[mobileTopUp], Face: 10000, IdempotencyKey: "j"}); !errors.Is(err, reward.ErrRecipient) {
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
	_, err := f.db.Exec(ctx, `UPDATE reward_offers SET stock = 1 WHERE id = $1`, f.offers[letual])
	must(t, err)
	// The last one goes to an order the provider refuses (out of stock).
	rq, _ := f.modeReq(t, f.giftery, providertest.OutOfStock, f.participants[0], "a")
	rq.OfferID, rq.Face = f.offers[letual], 50000
	r, _, err := f.store.Create(ctx, rq)
	must(t, err)
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], letual, 50000, "b")); !errors.Is(err, reward.ErrOutOfStock) {
		t.Fatalf("stock: %v", err)
	}
	must(t, f.saga.Run(ctx, r.ID))
	if got, _ := f.store.Load(ctx, r.ID); got.Status != reward.Failed || got.FailureCode != "out_of_stock" {
		t.Fatalf("refused order: %s %q", got.Status, got.FailureCode)
	}
	if _, _, err := f.store.Create(ctx, f.req(f.participants[1], letual, 50000, "b")); err != nil {
		t.Fatalf("stock returned: %v", err)
	}
	gate.need = true
	if _, _, err := f.store.Create(ctx, f.req(f.participants[0], gifteryCard, 50000, "c")); !errors.Is(err, reward.ErrTaxProfileRequired) {
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
	if _, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "a")); !errors.Is(err, reward.ErrCoolingOff) {
		t.Fatalf("cooling off: %v", err)
	}
	put(reward.Limits{CoolingOffCredit: 1000001, CoolingOffFor: 24 * time.Hour})
	if _, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "b")); err != nil {
		t.Fatalf("credit below the threshold: %v", err)
	}
	// The credit is older than the period: allowed.
	_, err := f.db.Exec(ctx, `UPDATE ledger_transactions SET created_at = now() - interval '25 hours' WHERE idempotency_key = $1`, fmt.Sprintf("seed:%d", p))
	must(t, err)
	put(reward.Limits{CoolingOffCredit: 500000, CoolingOffFor: 24 * time.Hour})
	if _, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "c")); err != nil {
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
	r, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "k"))
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
	if n := f.giftery.Placed(r.ID); n != 1 {
		t.Fatalf("provider holds %d orders", n)
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
		r, _, err := f.store.Create(ctx, f.req(f.participants[i], letual, 50000, "k"))
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
	rq, _ := f.modeReq(t, f.giftery, providertest.Processing, f.participants[2], "k")
	busy, _, err := f.store.Create(ctx, rq)
	must(t, err)
	if err := f.saga.Run(ctx, busy.ID); !errors.Is(err, reward.ErrNotSettled) {
		t.Fatal(err)
	}
	if err := f.saga.Void(ctx, busy.ID, "voided"); !errors.Is(err, reward.ErrNotVoidable) {
		t.Fatalf("void while processing: %v", err)
	}
	// Delivered meanwhile (the simulator finishes it within a few status
	// checks): recorded, not voided.
	for i := 0; i < providertest.ProcessingPolls+1; i++ {
		if err := f.saga.Void(ctx, busy.ID, "voided"); !errors.Is(err, reward.ErrNotVoidable) {
			t.Fatalf("void of a processing or delivered order: %v", err)
		}
		if r, _ := f.store.Load(ctx, busy.ID); r.Status == reward.Delivered {
			break
		}
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
