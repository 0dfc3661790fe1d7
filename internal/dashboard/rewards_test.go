package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// rewardsWorld is the Vetluga demo data with a reward on offer, three
// participants with 2 000 ₽ each, and three orders: one delivered, one
// waiting for a moderator (above the threshold), one queued.
type rewardsWorld struct {
	app                        *fiber.App
	data                       reporttest.Data
	db                         *pgxpool.Pool
	store                      *rewarddb.Store
	clk                        *clock
	delivered, waiting, queued reward.Redemption
	enqueued                   func() []string
	saga                       *reward.Saga
	budgets                    *budgetdb.Store
}

func newRewardsWorld(t *testing.T) *rewardsWorld {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	store := rewarddb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{}))
	// Orders go through the real Giftery client to its simulator.
	prov := providertest.Giftery(t)
	saga := reward.NewSaga(store, reward.ProviderMap{prov.Name(): prov.Provider()}, quiet)
	var mu sync.Mutex
	var enqueued []string
	orders := dashboard.DefaultRewardOrders{Store: store, Saga: saga, Audit: auditdb.New(db),
		Enqueue: func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			enqueued = append(enqueued, id)
			return nil
		}}
	app := httpapi.New(httpapi.Options{Logger: quiet})
	budgets := budgetdb.New(db, ledgerdb.Postings{}, auditdb.New(db), quiet)
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable,
		Receipts: data.Receipts, Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now,
		Logger: quiet, Rewards: orders, Budgets: budgets, RewardOffers: store}).Register(app)
	v := data.Vetluga
	products, err := prov.Provider().Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SyncProducts(ctx, prov.Name(), products); err != nil {
		t.Fatal(err)
	}
	var offer int64
	if err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		var rid int64
		if err := tx.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '2111'`).Scan(&rid); err != nil {
			return err
		}
		var err error
		if offer, err = store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: v.ClientID, ProgramID: v.ProgramID, RewardID: rid, Available: true}); err != nil {
			return err
		}
		if err := store.PutLimits(ctx, tx, v.ClientID, v.ProgramID, reward.Limits{Moderation: 50000}); err != nil {
			return err
		}
		for _, p := range v.Participants[:3] {
			if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: fmt.Sprintf("t:%d", p), Kind: ledger.KindReceiptCredit,
				ClientID: v.ClientID, ProgramID: v.ProgramID, ParticipantID: p, Postings: ledger.Credit(v.ClientID, v.ProgramID, p, 200000, false)}); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE participants SET status = 'active' WHERE id = ANY($1)`, v.Participants[:3])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var role string
	if err := db.QueryRow(ctx, `SELECT role FROM participants WHERE id = $1`, v.Participants[0]).Scan(&role); err != nil {
		t.Fatal(err)
	}
	create := func(p int64, face money.Kopecks) reward.Redemption {
		t.Helper()
		r, _, err := store.Create(ctx, reward.Request{ClientID: v.ClientID, ParticipantID: p, Role: role, OfferID: offer, Face: face, IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	delivered := create(v.Participants[0], 30000)
	if err := saga.Run(ctx, delivered.ID); err != nil {
		t.Fatal(err)
	}
	waiting := create(v.Participants[1], 60000) // above the moderation threshold
	queued := create(v.Participants[2], 20000)

	return &rewardsWorld{app: app, data: data, db: db, store: store, clk: clk, delivered: delivered, waiting: waiting, queued: queued,
		saga: saga, budgets: budgets,
		enqueued: func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), enqueued...) }}
}

func TestRedemptionOrdersPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newRewardsWorld(t)
	db, data, store, v := w.db, w.data, w.store, w.data.Vetluga
	delivered, waiting, queued := w.delivered, w.waiting, w.queued
	e := &env{app: w.app, data: data, clock: w.clk}
	base := fmt.Sprintf("/dashboard/p/%d/redemptions", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)
	resp, body := e.do(t, mgr, "GET", base, nil)
	if resp.StatusCode != 200 || strings.Count(body, `data-status=`) != 3 || !strings.Contains(body, "Giftery Card") {
		t.Fatalf("orders page: %d\n%s", resp.StatusCode, body)
	}
	if _, body := e.do(t, mgr, "GET", base+"?status=delivered", nil); strings.Count(body, `data-status="delivered"`) != 1 || strings.Count(body, `data-status=`) != 1 {
		t.Fatalf("filtered:\n%s", body)
	}
	resp, body = e.do(t, mgr, "GET", base+"/export?format=csv", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, delivered.ID) || !strings.Contains(body, waiting.ID) || !strings.Contains(body, "300,00") {
		t.Fatalf("csv: %d\n%s", resp.StatusCode, body)
	}
	resp, body = e.do(t, mgr, "GET", base+"/export?format=xlsx&status=delivered", nil)
	x, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("xlsx: %d %v", resp.StatusCode, err)
	}
	rows, _ := x.GetRows("Sheet1")
	if len(rows) != 2 || rows[1][0] != delivered.ID {
		t.Fatalf("xlsx rows %v", rows)
	}
	// A client manager may not void; another client's staff sees nothing.
	if resp, body := e.do(t, mgr, "POST", base+"/"+queued.ID+"/void", url.Values{"_csrf": {mgr.csrf}}); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "только оператору") {
		t.Fatalf("manager void: %d\n%s", resp.StatusCode, body)
	}
	other := e.mustLogin(t, data.Krasnodol.ManagerEmail)
	if resp, _ := e.do(t, other, "GET", base, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
	otherBase := fmt.Sprintf("/dashboard/p/%d/redemptions", data.Krasnodol.ProgramID)
	if resp, _ := e.do(t, other, "POST", otherBase+"/"+waiting.ID+"/approve", url.Values{"_csrf": {other.csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another client's approve through its own program: %d", resp.StatusCode)
	}

	// The moderator approves the large order: queued and enqueued, audited.
	mod := e.mustLogin(t, v.ModeratorMail)
	e.do(t, mod, "GET", base, nil) // the page's CSRF token
	if resp, _ := e.do(t, mod, "POST", base+"/"+waiting.ID+"/approve", url.Values{"_csrf": {mod.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	if r, _ := store.Load(ctx, waiting.ID); r.Status != reward.Queued || len(w.enqueued()) != 1 || w.enqueued()[0] != waiting.ID {
		t.Fatalf("approved: %s, enqueued %v", r.Status, w.enqueued())
	}

	// The operator voids the queued order: points back, audited; retries
	// the other (enqueued again).
	op := e.mustLogin(t, "operator@loyaltyjam.demo")
	e.do(t, op, "GET", base, nil)
	if resp, _ := e.do(t, op, "POST", base+"/"+queued.ID+"/void", url.Values{"_csrf": {op.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("void: %d", resp.StatusCode)
	}
	if r, _ := store.Load(ctx, queued.ID); r.Status != reward.Failed || r.FailureCode != "voided" {
		t.Fatalf("voided: %s %s", r.Status, r.FailureCode)
	}
	if resp, _ := e.do(t, op, "POST", base+"/"+waiting.ID+"/retry", url.Values{"_csrf": {op.csrf}}); resp.StatusCode != http.StatusSeeOther || len(w.enqueued()) != 2 {
		t.Fatalf("retry: %d %v", resp.StatusCode, w.enqueued())
	}
	// A delivered order cannot be voided.
	if resp, _ := e.do(t, op, "POST", base+"/"+delivered.ID+"/void", url.Values{"_csrf": {op.csrf}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("void delivered: %d", resp.StatusCode)
	}
	var audits int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE object_kind = 'redemption' AND action IN ('redemption.approve', 'redemption.void', 'redemption.retry')`).Scan(&audits); err != nil || audits != 3 {
		t.Fatalf("audit entries %d %v", audits, err)
	}

	// The redemption rate KPI comes from the delivered order.
	in, err := reportdb.New(db).OverviewAsOf(ctx, report.Program{ID: v.ProgramID, ClientID: v.ClientID},
		report.Period{From: testNow.AddDate(0, -3, 0), To: testNow.AddDate(0, 0, 1)}, testNow)
	if err != nil || in.PointsRedeemed != 30000 {
		t.Fatalf("points redeemed %d %v", in.PointsRedeemed, err)
	}
	// The operator refunds the delivered order (the provider cancelled it):
	// the points are back and no longer count as redeemed.
	if resp, _ := e.do(t, op, "POST", base+"/"+delivered.ID+"/refund", url.Values{"_csrf": {op.csrf}, "reason": {"сертификат аннулирован"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("refund: %d", resp.StatusCode)
	}
	if r, _ := store.Load(ctx, delivered.ID); r.Status != reward.Refunded {
		t.Fatalf("refunded: %s", r.Status)
	}
	in, err = reportdb.New(db).OverviewAsOf(ctx, report.Program{ID: v.ProgramID, ClientID: v.ClientID},
		report.Period{From: testNow.AddDate(0, -3, 0), To: testNow.AddDate(0, 0, 1)}, testNow)
	if err != nil || in.PointsRedeemed != 0 {
		t.Fatalf("points redeemed after the refund %d %v", in.PointsRedeemed, err)
	}
	// The monthly statement of the month the orders were made in.
	var month string
	if err := db.QueryRow(ctx, `SELECT to_char(now() AT TIME ZONE timezone, 'YYYY-MM') FROM clients WHERE id = $1`, v.ClientID).Scan(&month); err != nil {
		t.Fatal(err)
	}
	resp, body = e.do(t, mgr, "GET", base+"/statement?format=xlsx&month="+month, nil)
	x, err = excelize.OpenReader(bytes.NewReader([]byte(body)))
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("statement: %d %v", resp.StatusCode, err)
	}
	rows, _ = x.GetRows("Sheet1")
	got := map[string]string{}
	for _, r := range rows {
		if len(r) == 2 {
			got[r[0]] = r[1]
		}
	}
	if got["Заказов создано"] != "3" || got["Возвращено после выдачи"] != "1" || got["Не выполнено (баллы возвращены)"] != "1" ||
		got["В работе"] != "1" || got["Выдано"] != "0" {
		t.Fatalf("statement rows %v", rows)
	}
	if resp, _ := e.do(t, mgr, "GET", base+"/statement?month=март", nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad month: %d", resp.StatusCode)
	}
	rep, err := ledgerdb.New(db).Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("ledger %v %v", err, rep.Discrepancies)
	}
}

// spendingAttrs reads the orders page's spending block.
func spendingAttrs(t *testing.T, body string) map[string]int64 {
	t.Helper()
	m := regexp.MustCompile(`<section class="card" id="reward-spending"([^>]*)>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no spending block:\n%s", body)
	}
	out := map[string]int64{}
	for _, a := range regexp.MustCompile(`data-([a-z]+)="(-?\d+)"`).FindAllStringSubmatch(m[1], -1) {
		n, err := strconv.ParseInt(a[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[a[1]] = n
	}
	return out
}

// TestRewardSpendingAgainstBudget: the orders page's spending is the sum
// of the delivered orders' points (one, then two after another is
// delivered), beside the budget's funded and spent figures, which are the
// budget page's own; the percentages follow from them; another client's
// staff gets 404.
func TestRewardSpendingAgainstBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newRewardsWorld(t)
	v := w.data.Vetluga
	e := &env{app: w.app, data: w.data, clock: w.clk}
	base := fmt.Sprintf("/dashboard/p/%d/redemptions", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)
	check := func(want ...reward.Redemption) {
		t.Helper()
		resp, body := e.do(t, mgr, "GET", base, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("orders page: %d\n%s", resp.StatusCode, body)
		}
		got := spendingAttrs(t, body)
		var price, face int64
		for _, r := range want {
			price += int64(r.Price)
			face += int64(r.Face)
		}
		if got["orders"] != int64(len(want)) || got["price"] != price || got["face"] != face || price == 0 {
			t.Fatalf("spending %v, want %d orders, %d points, face %d", got, len(want), price, face)
		}
		if n := strings.Count(body, `data-status="delivered"`); int64(n) != got["orders"] {
			t.Fatalf("%d delivered rows, spending counts %d", n, got["orders"])
		}
		o, err := w.budgets.Overview(ctx, access.Staff{Role: access.Operator}, v.ProgramID, w.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got["funded"] != int64(o.Figures.FundedKopecks) || got["spent"] != int64(o.Figures.SpentKopecks) || got["funded"] <= 0 {
			t.Fatalf("budget on the orders page %v, budget overview funded %d spent %d", got, o.Figures.FundedKopecks, o.Figures.SpentKopecks)
		}
		pct := func(part, whole int64) string {
			tenths := (part*1000 + whole/2) / whole
			return fmt.Sprintf("%d,%d %%", tenths/10, tenths%10)
		}
		if !strings.Contains(body, pct(price, got["funded"])+" пополненного") ||
			(got["spent"] > 0 && !strings.Contains(body, pct(price, got["spent"])+" начисленного")) {
			t.Fatalf("percentages missing (%s of funded, %s of spent):\n%s", pct(price, got["funded"]), pct(price, got["spent"]), body)
		}
	}
	check(w.delivered)
	if err := w.saga.Run(ctx, w.queued.ID); err != nil {
		t.Fatal(err)
	}
	check(w.delivered, w.queued)
	// Another client's program sums nothing of this one's, and its staff
	// cannot see this page.
	if sp, err := w.store.Spending(ctx, w.data.Krasnodol.ClientID, v.ProgramID); err != nil || sp.Orders != 0 || sp.Price != 0 {
		t.Fatalf("another client's spending of this program: %+v %v", sp, err)
	}
	other := e.mustLogin(t, w.data.Krasnodol.ManagerEmail)
	if resp, _ := e.do(t, other, "GET", base, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
}

// TestRewardOffersAndLimitsPage: the client manager edits the program's
// offer and limits through the page (the rows change, each change is in
// the audit log with the manager as actor); hostile input is a clear 422
// that changes nothing; the moderator sees the page but may not edit;
// another client's manager gets 404 on every route.
func TestRewardOffersAndLimitsPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newRewardsWorld(t)
	db, v := w.db, w.data.Vetluga
	e := &env{app: w.app, data: w.data, clock: w.clk}
	base := fmt.Sprintf("/dashboard/p/%d/reward-offers", v.ProgramID)
	var rid int64
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '2111'`).Scan(&rid))
	audits := func(action string) int {
		var n int
		must(db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND client_id = $2 AND actor_kind = 'staff'`, action, v.ClientID).Scan(&n))
		return n
	}

	mgr := e.mustLogin(t, v.ManagerEmail)
	resp, body := e.do(t, mgr, "GET", base, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`data-reward="%d"`, rid)) || !strings.Contains(body, `id="offer-form"`) {
		t.Fatalf("offers page: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"_csrf": {mgr.csrf}, "reward_id": {strconv.FormatInt(rid, 10)}, "markup_bp": {"500"}, "stock": {"7"},
		"roles": {"seller"}, "available": {"1"}, "reason": {"наценка на доставку"}}
	if resp, body := e.do(t, mgr, "POST", base+"/offer", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("offer: %d\n%s", resp.StatusCode, body)
	}
	var markup, stock int
	var roles []string
	must(db.QueryRow(ctx, `SELECT markup_bp, stock, roles FROM reward_offers WHERE program_id = $1 AND reward_id = $2`, v.ProgramID, rid).Scan(&markup, &stock, &roles))
	if markup != 500 || stock != 7 || len(roles) != 1 || roles[0] != "seller" || audits("reward_offer.put") != 1 {
		t.Fatalf("offer after edit: markup %d stock %d roles %v, %d audit entries", markup, stock, roles, audits("reward_offer.put"))
	}
	limits := url.Values{"_csrf": {mgr.csrf}, "per_order": {"1000"}, "per_day": {"2000"}, "per_month": {"5000"}, "moderation": {"700"},
		"cooling_off": {"10000"}, "cooling_off_hours": {"48"}, "reason": {"весна"}}
	if resp, body := e.do(t, mgr, "POST", base+"/limits", limits); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("limits: %d\n%s", resp.StatusCode, body)
	}
	var perOrder, perMonth, moderation int64
	var hours int
	must(db.QueryRow(ctx, `SELECT per_order_kopecks, per_month_kopecks, moderation_kopecks, cooling_off_hours FROM reward_limits WHERE program_id = $1`,
		v.ProgramID).Scan(&perOrder, &perMonth, &moderation, &hours))
	if perOrder != 100000 || perMonth != 500000 || moderation != 70000 || hours != 48 || audits("reward_limits.put") != 1 {
		t.Fatalf("limits %d %d %d %d, %d audit entries", perOrder, perMonth, moderation, hours, audits("reward_limits.put"))
	}
	if _, body := e.do(t, mgr, "GET", base, nil); !strings.Contains(body, `name="per_order" min="0" value="1000"`) || !strings.Contains(body, `data-markup="500"`) {
		t.Fatalf("page after the edits:\n%s", body)
	}

	// Hostile input: clear 422, nothing changed, nothing audited.
	for name, f := range map[string]url.Values{
		"/offer markup": {"_csrf": {mgr.csrf}, "reward_id": {strconv.FormatInt(rid, 10)}, "markup_bp": {"99999"}},
		"/offer stock":  {"_csrf": {mgr.csrf}, "reward_id": {strconv.FormatInt(rid, 10)}, "stock": {"-1"}},
		"/offer reward": {"_csrf": {mgr.csrf}, "reward_id": {"abc"}},
		"/limits minus": {"_csrf": {mgr.csrf}, "per_order": {"-5"}},
		"/limits huge":  {"_csrf": {mgr.csrf}, "per_day": {"99999999999999999999"}},
		"/limits hours": {"_csrf": {mgr.csrf}, "cooling_off_hours": {"9000"}},
	} {
		path := base + strings.Fields(name)[0]
		if resp, body := e.do(t, mgr, "POST", path, f); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="form-error"`) {
			t.Fatalf("%s: %d\n%s", name, resp.StatusCode, body)
		}
	}
	if audits("reward_offer.put") != 1 || audits("reward_limits.put") != 1 {
		t.Fatal("a refused edit was audited")
	}
	// A reward not in the catalog: 404.
	if resp, _ := e.do(t, mgr, "POST", base+"/offer", url.Values{"_csrf": {mgr.csrf}, "reward_id": {"999999999"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown reward: %d", resp.StatusCode)
	}

	// The moderator reads, may not edit.
	mod := e.mustLogin(t, v.ModeratorMail)
	if resp, body := e.do(t, mod, "GET", base, nil); resp.StatusCode != 200 || strings.Contains(body, `id="offer-form"`) {
		t.Fatalf("moderator page: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mod, "POST", base+"/limits", url.Values{"_csrf": {mod.csrf}, "per_order": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("moderator edit: %d", resp.StatusCode)
	}
	// Another client's manager: 404 everywhere, nothing changed.
	other := e.mustLogin(t, w.data.Krasnodol.ManagerEmail)
	for _, r := range []struct{ method, path string }{{"GET", base}, {"POST", base + "/offer"}, {"POST", base + "/limits"}} {
		if resp, _ := e.do(t, other, r.method, r.path, url.Values{"_csrf": {other.csrf}, "reward_id": {strconv.FormatInt(rid, 10)}, "per_order": {"1"}}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another client %s %s: %d", r.method, r.path, resp.StatusCode)
		}
	}
	must(db.QueryRow(ctx, `SELECT per_order_kopecks FROM reward_limits WHERE program_id = $1`, v.ProgramID).Scan(&perOrder))
	if perOrder != 100000 || audits("reward_limits.put") != 1 {
		t.Fatalf("limits changed by refused requests: %d", perOrder)
	}
}
