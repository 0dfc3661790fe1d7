package points_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

const (
	shopINN = "7701234567"
	shopKKT = "0001234567012345"
)

type env struct {
	t           *testing.T
	db          *pgxpool.Pool
	svc         *points.Service
	receipts    *receiptdb.Store
	ledger      *ledgerdb.Store
	client      int64
	program     int64
	shop        int64
	participant int64
}

var fiscalSeq atomic.Int64

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testRules() rules.Rules {
	return rules.Rules{
		Earn: []rules.Earn{
			{Selector: rules.Selector{Categories: []string{"Антифриз"}}, FixedPerUnitKopecks: 5000},
			{Selector: rules.Selector{Categories: []string{"Моторное масло"}}, PercentBP: 500},
		},
		Bonuses: []rules.Bonus{{Name: "два товара", MinDistinctSKUs: 2, Kopecks: 1000}},
	}
}

func newEnv(t *testing.T, crediting string, budget int64, r rules.Rules, opts ...points.Option) *env {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	e := &env{t: t, db: db, svc: points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{}, opts...), receipts: receiptdb.New(db), ledger: ledgerdb.New(db)}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга') RETURNING id`).Scan(&e.client))
	must(t, db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, inn, address, kkt_reg_numbers)
		VALUES ($1, 's1', 'Автомир', $2, 'г. Кострома, ул. Советская, д. 10', $3) RETURNING id`,
		e.client, shopINN, []string{shopKKT}).Scan(&e.shop))
	must(t, db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, shop_id, status)
		VALUES ($1, '+79001112233', 'seller', $2, 'active') RETURNING id`, e.client, e.shop).Scan(&e.participant))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks, crediting)
		VALUES ($1, 'auto', 'Авто', 'live', '2020-01-01', '2099-12-31', $2, $3) RETURNING id`,
		e.client, budget, crediting).Scan(&e.program))
	must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, e.program); err != nil {
			return err
		}
		_, err := pointsdb.SaveRules(ctx, tx, e.program, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), r)
		return err
	}))
	f, err := os.Open("../catalog/testdata/catalog_small.csv")
	must(t, err)
	defer f.Close()
	skus, _, err := catalog.ParseCSV(f)
	must(t, err)
	var own []catalog.SKU
	for _, k := range skus {
		if k.Client == "vetluga" {
			own = append(own, k)
		}
	}
	_, err = catalogdb.New(db).Import(ctx, "vetluga", own)
	must(t, err)
	return e
}

// saleItems is a receipt of two program SKUs (one by name, one by GTIN)
// and a foreign line.
func saleItems() []receipt.Item {
	return []receipt.Item{
		{LineNo: 1, Name: "Антифриз ТЕРМОКС G11 зелёный -40 1 кг", PriceKopecks: 45000, QuantityMilli: 2000, SumKopecks: 90000},
		{LineNo: 2, Name: "ТОВАР 123", GTIN: "4609871012196", PriceKopecks: 80000, QuantityMilli: 1000, SumKopecks: 80000},
		{LineNo: 3, Name: "Хлеб белый нарезной", PriceKopecks: 5000, QuantityMilli: 1000, SumKopecks: 5000},
	}
}

// 50 ₽ × 2 × 1.00 + 5 % of 800 ₽ × 1.40 + bonus 10 ₽.
const saleKopecks = 10000 + 5600 + 1000

type receiptOpt func(*receipt.Receipt)

// newVerified stores a verified receipt the way the verification worker
// leaves it, and returns its id.
func (e *env) newVerified(op int, purchased time.Time, items []receipt.Item, opts ...receiptOpt) string {
	e.t.Helper()
	ctx := context.Background()
	var sum int64
	for _, it := range items {
		sum += it.SumKopecks
	}
	n := fiscalSeq.Add(1)
	r := &receipt.Receipt{ClientID: e.client, ParticipantID: e.participant, Source: receipt.SourceQR,
		FN: fmt.Sprintf("%016d", 9999000000000000+n), FD: n, FP: 1000 + n, Operation: op,
		PurchasedAt: purchased, SumKopecks: sum}
	must(e.t, r.Transition(receipt.Verified, "test", "ofd_verified", nil))
	_, err := e.receipts.Create(ctx, r)
	must(e.t, err)
	must(e.t, e.receipts.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		x.Items, x.ItemsChanged = items, true
		x.SellerINN, x.KKTRegNumber, x.RetailAddress = shopINN, shopKKT, "156000, Костромская обл, г Кострома, ул Советская, д.10"
		for _, o := range opts {
			o(x)
		}
		return nil
	}))
	return r.ID
}

func (e *env) process(id string) receipt.Receipt {
	e.t.Helper()
	ctx := context.Background()
	must(e.t, e.receipts.Modify(ctx, id, e.svc.Process))
	r, err := e.receipts.Get(ctx, id)
	must(e.t, err)
	return r
}

func (e *env) balance() ledger.Balance {
	e.t.Helper()
	b, err := e.ledger.Balance(context.Background(), e.participant)
	must(e.t, err)
	return b
}

func (e *env) checkLedger() {
	e.t.Helper()
	rep, err := e.ledger.Check(context.Background())
	must(e.t, err)
	if !rep.OK() {
		e.t.Fatalf("ledger check: %v", rep.Discrepancies)
	}
}

func yesterday() time.Time {
	d := time.Now().UTC().AddDate(0, 0, -1)
	return time.Date(d.Year(), d.Month(), d.Day(), 14, 30, 0, 0, time.UTC)
}

func TestProcessEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	id := e.newVerified(1, yesterday(), saleItems())
	r := e.process(id)
	if r.Status != receipt.Credited || r.StatusReason != "points_credited" || r.PointsKopecks != saleKopecks {
		t.Fatalf("receipt %s/%s %d, want credited %d", r.Status, r.StatusReason, r.PointsKopecks, saleKopecks)
	}
	wantItems := []struct {
		how    string
		points int64
		reason string
	}{{"name", 10000, "earned"}, {"gtin", 5600, "earned"}, {"none", 0, "not_matched"}}
	for i, w := range wantItems {
		it := r.Items[i]
		if it.MatchHow != w.how || it.PointsKopecks != w.points || it.PointsReason != w.reason || (w.how != "none") != (it.SKUID != nil) {
			t.Errorf("item %d: %+v, want %+v", i+1, it, w)
		}
	}
	var statuses []receipt.Status
	for _, ev := range r.Events {
		statuses = append(statuses, ev.To)
	}
	if fmt.Sprint(statuses) != "[verified matched credited]" {
		t.Errorf("events %v", statuses)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks {
		t.Fatalf("balance %+v", b)
	}

	// A retried task: Process on the committed receipt changes nothing.
	r = e.process(id)
	if r.Status != receipt.Credited || len(r.Events) != 3 {
		t.Fatalf("retry changed the receipt: %s, %d events", r.Status, len(r.Events))
	}
	// Even if the receipt were sent through again from verified (a crash
	// between steps of some future pipeline), the ledger key holds.
	_, err := e.db.Exec(context.Background(), `UPDATE receipts SET status = 'verified' WHERE id = $1`, id)
	must(t, err)
	r = e.process(id)
	if r.Status != receipt.Credited {
		t.Fatalf("reprocessed: %s", r.Status)
	}
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM ledger_transactions WHERE receipt_id = $1`, id).Scan(&n))
	if n != 1 {
		t.Fatalf("%d ledger transactions for one receipt", n)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks {
		t.Fatalf("balance after reprocessing %+v", b)
	}
	page, err := e.ledger.History(context.Background(), e.participant, "", 10)
	must(t, err)
	if len(page.Entries) != 1 || page.Entries[0].ReceiptID != id || page.Entries[0].Reason == "" {
		t.Fatalf("history %+v", page.Entries)
	}
	e.checkLedger()
}

func TestProcessOutcomes(t *testing.T) {
	t.Parallel()
	capped := testRules()
	capped.Caps.ParticipantDay = 20000
	tests := []struct {
		name       string
		crediting  string
		budget     int64
		rules      rules.Rules
		opts       []points.Option
		prepare    func(e *env) // receipts before the one under test
		items      []receipt.Item
		mod        receiptOpt
		wantStatus receipt.Status
		wantReason string
		wantPoints int64
		wantBal    ledger.Balance
	}{
		{name: "period close credits pending", crediting: "period_close", budget: 1_000_000, rules: testRules(),
			wantStatus: receipt.Credited, wantReason: "points_pending", wantPoints: saleKopecks,
			wantBal: ledger.Balance{PendingKopecks: saleKopecks}},
		{name: "other shop's receipt is rejected", budget: 1_000_000, rules: testRules(),
			mod: func(r *receipt.Receipt) {
				r.SellerINN, r.KKTRegNumber, r.RetailAddress = "7799999999", "0009999999000001", "Москва"
			},
			wantStatus: receipt.Rejected, wantReason: "shop_mismatch"},
		{name: "no program SKUs", budget: 1_000_000, rules: testRules(), items: saleItems()[2:],
			wantStatus: receipt.NoEligibleItems, wantReason: "no_eligible_items"},
		{name: "budget runs out mid-receipt", budget: 12000, rules: testRules(),
			wantStatus: receipt.Credited, wantReason: "points_credited", wantPoints: 12000,
			wantBal: ledger.Balance{AvailableKopecks: 12000}},
		{name: "empty budget", budget: 0, rules: testRules(),
			wantStatus: receipt.NoEligibleItems, wantReason: points.ReasonBudgetPaused},
		{name: "day cap across receipts", budget: 1_000_000, rules: capped,
			prepare:    func(e *env) { e.process(e.newVerified(1, yesterday(), saleItems())) },
			wantStatus: receipt.Credited, wantReason: "points_credited", wantPoints: 20000 - saleKopecks,
			wantBal: ledger.Balance{AvailableKopecks: 20000}},
		{name: "velocity goes to review", budget: 1_000_000, rules: testRules(),
			opts: []points.Option{points.WithThresholds(rules.Thresholds{HourMax: 2})},
			prepare: func(e *env) {
				e.newVerified(1, yesterday(), saleItems()[2:])
				e.newVerified(1, yesterday(), saleItems()[2:])
			},
			wantStatus: receipt.NeedsReview, wantReason: rules.AnomalyVelocity},
		{name: "many claims from one KKT go to review", budget: 1_000_000, rules: testRules(),
			opts:       []points.Option{points.WithThresholds(rules.Thresholds{KKTDayMax: 1})},
			prepare:    func(e *env) { e.newVerified(1, yesterday(), saleItems()[2:]) },
			wantStatus: receipt.NeedsReview, wantReason: rules.AnomalyKKT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			crediting := tc.crediting
			if crediting == "" {
				crediting = "immediate"
			}
			e := newEnv(t, crediting, tc.budget, tc.rules, tc.opts...)
			if tc.prepare != nil {
				tc.prepare(e)
			}
			before := e.balance()
			items := tc.items
			if items == nil {
				items = saleItems()
			}
			var opts []receiptOpt
			if tc.mod != nil {
				opts = append(opts, tc.mod)
			}
			r := e.process(e.newVerified(1, yesterday(), items, opts...))
			if r.Status != tc.wantStatus || r.StatusReason != tc.wantReason || r.PointsKopecks != tc.wantPoints {
				t.Fatalf("got %s/%s %d, want %s/%s %d", r.Status, r.StatusReason, r.PointsKopecks,
					tc.wantStatus, tc.wantReason, tc.wantPoints)
			}
			var itemSum int64
			for _, it := range r.Items {
				itemSum += it.PointsKopecks
				if it.PointsReason == "" {
					t.Errorf("item %d has no points reason", it.LineNo)
				}
			}
			if r.Status == receipt.Credited && itemSum > r.PointsKopecks {
				t.Errorf("items sum to %d, receipt %d", itemSum, r.PointsKopecks)
			}
			want := tc.wantBal
			if want == (ledger.Balance{}) {
				want = before
			}
			if b := e.balance(); b != want {
				t.Errorf("balance %+v, want %+v", b, want)
			}
			e.checkLedger()
		})
	}
}

// creditedSale processes saleItems as participant 1's receipt of two days
// ago and requires it credited.
func (e *env) creditedSale(t *testing.T) receipt.Receipt {
	t.Helper()
	sale := e.process(e.newVerified(1, yesterday().Add(-24*time.Hour), saleItems()))
	if sale.Status != receipt.Credited {
		t.Fatalf("sale %s/%s", sale.Status, sale.StatusReason)
	}
	return sale
}

// oneCanister is the return of one of the sale's two canisters of antifreeze.
func oneCanister() []receipt.Item {
	part := saleItems()[:1]
	part[0].QuantityMilli, part[0].SumKopecks = 1000, 45000
	return part
}

func TestReturnReversesSale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	e.creditedSale(t)
	// Two partial returns, one of the two canisters of antifreeze each:
	// both reverse their share.
	part := oneCanister()
	ret := e.process(e.newVerified(2, yesterday(), part))
	if ret.Status != receipt.Credited || ret.StatusReason != "return_reversed" || ret.PointsKopecks != -5000 {
		t.Fatalf("partial return: %s/%s %d", ret.Status, ret.StatusReason, ret.PointsKopecks)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks-5000 {
		t.Fatalf("balance %+v", b)
	}
	ret2 := e.process(e.newVerified(2, yesterday(), part))
	if ret2.Status != receipt.Credited || ret2.StatusReason != "return_reversed" || ret2.PointsKopecks != -5000 {
		t.Fatalf("second partial return: %s/%s %d", ret2.Status, ret2.StatusReason, ret2.PointsKopecks)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks-10000 {
		t.Fatalf("balance after two returns %+v", b)
	}
	// A third canister was never sold: nothing more is reversed.
	again := e.process(e.newVerified(2, yesterday(), part))
	if again.Status != receipt.NoEligibleItems || again.StatusReason != points.ReasonReturnNoSale || again.PointsKopecks != 0 {
		t.Fatalf("third return: %s/%s %d", again.Status, again.StatusReason, again.PointsKopecks)
	}
	// The same return sent through again from verified (a retried task)
	// reverses once.
	_, err := e.db.Exec(ctx, `UPDATE receipts SET status = 'verified' WHERE id = $1`, ret2.ID)
	must(t, err)
	ret2 = e.process(ret2.ID)
	if ret2.Status != receipt.Credited || ret2.PointsKopecks != -5000 || ret2.Items[0].PointsKopecks != -5000 {
		t.Fatalf("reprocessed return: %s/%s %d %+v", ret2.Status, ret2.StatusReason, ret2.PointsKopecks, ret2.Items[0])
	}
	var n int
	must(t, e.db.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE receipt_id = $1`, ret2.ID).Scan(&n))
	if n != 1 {
		t.Fatalf("%d ledger transactions for one return", n)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks-10000 {
		t.Fatalf("balance after reprocessing %+v", b)
	}
	// The rest of the sale (the oil and the bread) completes it: the oil's
	// points and the bonus come back, and the sale is fully reversed.
	rest := e.process(e.newVerified(2, yesterday(), saleItems()[1:]))
	if rest.Status != receipt.Credited || rest.PointsKopecks != -(saleKopecks-10000) {
		t.Fatalf("completing return: %s/%s %d", rest.Status, rest.StatusReason, rest.PointsKopecks)
	}
	if b := e.balance(); b.AvailableKopecks != 0 {
		t.Fatalf("balance after the sale came back in full %+v", b)
	}
	beyond := e.process(e.newVerified(2, yesterday(), saleItems()[1:2]))
	if beyond.Status != receipt.NoEligibleItems || beyond.StatusReason != points.ReasonReturnNoSale {
		t.Fatalf("return beyond a fully reversed sale: %s/%s %d", beyond.Status, beyond.StatusReason, beyond.PointsKopecks)
	}
	var reversed int64
	must(t, e.db.QueryRow(ctx, `SELECT COALESCE(SUM(p.amount_kopecks), 0) FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
		WHERE t.kind = $1`, ledger.KindReversal).Scan(&reversed))
	if reversed != saleKopecks {
		t.Fatalf("reversed %d in all, the sale was credited %d", reversed, saleKopecks)
	}
	// A full return of another sale whose points were already spent goes
	// to a moderator instead of overdrawing.
	sale2 := e.process(e.newVerified(1, yesterday(), saleItems()))
	if sale2.Status != receipt.Credited {
		t.Fatalf("sale2 %s/%s", sale2.Status, sale2.StatusReason)
	}
	must(t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		bal := e.balance().AvailableKopecks
		_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "spend", Kind: "redemption",
			ClientID: e.client, ProgramID: e.program, ParticipantID: e.participant,
			Postings: []ledger.Posting{
				{Account: ledger.AvailableAccount(e.client, e.program, e.participant), AmountKopecks: -(bal - 100)},
				{Account: ledger.Account{Kind: ledger.Redemption, ClientID: e.client}, AmountKopecks: bal - 100},
			}})
		return err
	}))
	full := e.process(e.newVerified(2, yesterday(), saleItems()))
	if full.Status != receipt.NeedsReview || full.StatusReason != points.ReasonReturnNoBalance {
		t.Fatalf("full return without balance: %s/%s", full.Status, full.StatusReason)
	}
	if b := e.balance(); b.AvailableKopecks != 100 {
		t.Fatalf("balance %+v", b)
	}
	e.checkLedger()
}

// TestConcurrentReturnsNeverExceedSale: returns of one sale processed at
// once take back at most what the sale was credited.
func TestConcurrentReturnsNeverExceedSale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	e.creditedSale(t)
	part := oneCanister()
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = e.newVerified(2, yesterday(), part)
	}
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() { errs <- e.receipts.Modify(ctx, id, e.svc.Process) }()
	}
	for range ids {
		must(t, <-errs)
	}
	var got int64
	credited := 0
	for _, id := range ids {
		r, err := e.receipts.Get(ctx, id)
		must(t, err)
		got += r.PointsKopecks
		if r.Status == receipt.Credited {
			credited++
		}
	}
	if credited != 2 || got != -10000 {
		t.Fatalf("%d returns credited, %d reversed; want 2 and -10000", credited, got)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks-10000 {
		t.Fatalf("balance %+v", b)
	}
	e.checkLedger()
}

func TestCatalogChangeInvalidatesMatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	line := []receipt.Item{{LineNo: 1, Name: "АНТИФР ЗЕЛ ТРМКС 1КГ ПРОМО", PriceKopecks: 45000, QuantityMilli: 1000, SumKopecks: 45000}}
	r := e.process(e.newVerified(1, yesterday(), line))
	if r.Status != receipt.NoEligibleItems || r.Items[0].MatchHow != "none" {
		t.Fatalf("before alias: %s %+v", r.Status, r.Items[0])
	}
	must(t, catalogdb.New(e.db).ConfirmAlias(ctx, e.client, "VT-1001", line[0].Name))
	r = e.process(e.newVerified(1, yesterday(), line))
	if r.Status != receipt.Credited || r.Items[0].MatchHow != "alias" || r.PointsKopecks != 5000 {
		t.Fatalf("after alias: %s %d %+v", r.Status, r.PointsKopecks, r.Items[0])
	}
}

// processAll sends the receipts through Process at once and returns them
// processed.
func (e *env) processAll(ids []string) []receipt.Receipt {
	e.t.Helper()
	ctx := context.Background()
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() { errs <- e.receipts.Modify(ctx, id, e.svc.Process) }()
	}
	for range ids {
		must(e.t, <-errs)
	}
	out := make([]receipt.Receipt, len(ids))
	for i, id := range ids {
		r, err := e.receipts.Get(ctx, id)
		must(e.t, err)
		out[i] = r
	}
	return out
}

// Concurrent receipts never spend a cap window or the budget twice: the cap
// windows are read under the participant's and the shop's locks, the
// budget under Post's account lock with a second evaluation when it ran out.
func TestConcurrentCreditsKeepCapsAndBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		budget       int64
		caps         rules.Caps
		participants int
		want         int64 // total credited
	}{
		{name: "participant day cap", budget: 1_000_000, caps: rules.Caps{ParticipantDay: 20000}, participants: 1, want: 20000},
		{name: "shop day cap", budget: 1_000_000, caps: rules.Caps{ShopDay: 30000}, participants: 4, want: 30000},
		{name: "budget runs out", budget: 40000, participants: 4, want: 40000},
		{name: "budget and caps", budget: 50000, caps: rules.Caps{ParticipantDay: 20000}, participants: 4, want: 50000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testRules()
			r.Caps = tc.caps
			e := newEnv(t, "immediate", tc.budget, r)
			pids := []int64{e.participant}
			for i := 1; i < tc.participants; i++ {
				var id int64
				must(t, e.db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, shop_id, status)
					VALUES ($1, $2, 'seller', $3, 'active') RETURNING id`, e.client, fmt.Sprintf("+7900111%04d", i), e.shop).Scan(&id))
				pids = append(pids, id)
			}
			ids := make([]string, 12)
			for i := range ids {
				e.participant = pids[i%len(pids)]
				ids[i] = e.newVerified(1, yesterday(), saleItems())
			}
			var total int64
			perParticipant := map[int64]int64{}
			for _, r := range e.processAll(ids) {
				switch r.Status {
				case receipt.Credited:
				case receipt.NoEligibleItems:
					if r.PointsKopecks != 0 {
						t.Fatalf("%s no_eligible_items with %d points", r.ID, r.PointsKopecks)
					}
				default:
					t.Fatalf("%s %s/%s", r.ID, r.Status, r.StatusReason)
				}
				total += r.PointsKopecks
				perParticipant[r.ParticipantID] += r.PointsKopecks
			}
			if total != tc.want {
				t.Fatalf("credited %d in all, want %d", total, tc.want)
			}
			var ledgerTotal int64
			for _, pid := range pids {
				b, err := e.ledger.Balance(ctx, pid)
				must(t, err)
				if b.AvailableKopecks != perParticipant[pid] {
					t.Fatalf("participant %d balance %+v, receipts say %d", pid, b, perParticipant[pid])
				}
				if c := tc.caps.ParticipantDay; c > 0 && b.AvailableKopecks > c {
					t.Fatalf("participant %d got %d beyond the day cap %d", pid, b.AvailableKopecks, c)
				}
				ledgerTotal += b.AvailableKopecks
			}
			left, err := ledgerdb.AccountBalance(ctx, e.db, ledger.BudgetAccount(e.client, e.program))
			must(t, err)
			if left < 0 || left != tc.budget-ledgerTotal {
				t.Fatalf("budget left %d, want %d", left, tc.budget-ledgerTotal)
			}
			e.checkLedger()
		})
	}
}

// The reasons of internal/rules and internal/points that say a receipt
// does not belong to its claimant are the ones receipt.ReleasesIdentity
// lists as strings (it imports neither package).
func TestNotBelongingReasonsReleaseIdentity(t *testing.T) {
	t.Parallel()
	for _, r := range []string{rules.ReasonShopMismatch, rules.ReasonNoShop, rules.ReasonProgramNotActive,
		rules.ReasonOutsideProgram, rules.ReasonTooOld, rules.ReasonInFuture, rules.ReasonRoleNotEligible,
		rules.ReasonParticipantBlock, points.ReasonNoProgram} {
		if !receipt.ReleasesIdentity(receipt.Matched, receipt.Rejected, r) {
			t.Errorf("rejection for %s keeps the fiscal identity", r)
		}
	}
}
