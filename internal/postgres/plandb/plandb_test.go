package plandb_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
)

type fixture struct {
	db                     *pgxpool.Pool
	store                  *plandb.Store
	client, other, program int64
	otherProgram           int64
	sku                    int64
	pids                   []int64
	maker, checker, rival  plandb.Actor
	fd                     atomic.Int64
}

var nov = plan.Period{Kind: plan.Month, Year: 2026, N: 11}

// table: 70 % fixed 1 000 ₽, 100 % 2,5 % of sales, 120 % 4 % capped at
// 5 000 ₽ (the second seed's shape).
var table = plan.Table{Measure: plan.Roubles, Rounding: plan.HalfUp, Tiers: []plan.Tier{
	{ThresholdBP: 7000, Kind: plan.Fixed, FixedKopecks: 100000},
	{ThresholdBP: 10000, Kind: plan.PercentOfSales, RateBP: 250},
	{ThresholdBP: 12000, Kind: plan.PercentOfSales, RateBP: 400, CapKopecks: 500000},
}}

func setup(t testing.TB, n int, threshold int64) *fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	return setupOn(t, db, n, threshold)
}

func setupOn(t testing.TB, db *pgxpool.Pool, n int, threshold int64) *fixture {
	ctx := context.Background()
	f := &fixture{db: db, store: plandb.New(db, ledgerdb.Postings{}, auditdb.New(db), plandb.WithSecondApproval(threshold))}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Акме') RETURNING id`).Scan(&f.client))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Конкурент') RETURNING id`).Scan(&f.other))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'Продажи', 'live', '2026-01-01', '2026-12-31', 100000000000) RETURNING id`, f.client).Scan(&f.program))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
		VALUES ($1, 'p1', 'Чужая', 'live', '2026-01-01', '2026-12-31') RETURNING id`, f.other).Scan(&f.otherProgram))
	must(t, db.QueryRow(ctx, `INSERT INTO skus (client_id, code, brand, name) VALUES ($1, 'k1', 'Бренд', 'Краска') RETURNING id`, f.client).Scan(&f.sku))
	user := func(client int64, email string) plandb.Actor {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash)
			VALUES ($1, $2, 'client_manager', 'x') RETURNING id`, client, email).Scan(&id))
		return plandb.Actor{UserID: id, Audit: audit.StaffActor(id, email, "127.0.0.1")}
	}
	f.maker, f.checker, f.rival = user(f.client, "maker@acme.ru"), user(f.client, "checker@acme.ru"), user(f.other, "m@rival.ru")
	rows, err := db.Query(ctx, `INSERT INTO participants (client_id, phone, name, role)
		SELECT $1, '+7999' || lpad(i::text, 7, '0'), 'Участник ' || i, 'seller' FROM generate_series(0, $2 - 1) i RETURNING id`, f.client, n)
	must(t, err)
	f.pids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	must(t, err)
	must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, f.program)
		return err
	}))
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// receipt inserts a credited receipt of participant i with one catalogue
// line of sum kopecks (a return when operation is 2) and points.
func (f *fixture) receipt(t testing.TB, i int, day time.Time, operation int, sum, points int64) string {
	t.Helper()
	ctx := context.Background()
	fd := f.fd.Add(1)
	sign := int64(1)
	if operation == 2 {
		sign = -1
	}
	var id string
	must(t, f.db.QueryRow(ctx, `INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation,
			purchased_at, sum_kopecks, points_kopecks)
		VALUES ($1, $2, $3, 'credited', 'qr', '9999000000000001', $4, $4, $5, $6, $7, $8) RETURNING id`,
		f.client, f.pids[i], f.program, fd, operation, day, sum, sign*points).Scan(&id))
	_, err := f.db.Exec(ctx, `INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id)
		VALUES ($1, 1, 'Краска', $2, 1000, $2, $3), ($1, 2, 'Пакет', 500, 1000, 500, NULL)`, id, sum, f.sku)
	must(t, err)
	return id
}

func (f *fixture) available(t testing.TB, i int) int64 {
	t.Helper()
	var bal int64
	err := f.db.QueryRow(context.Background(), `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts
		WHERE kind = 'participant_available' AND participant_id = $1`, f.pids[i]).Scan(&bal)
	must(t, err)
	return bal
}

func (f *fixture) targets(t testing.TB, vals map[int]int64) {
	t.Helper()
	var ts []plandb.Target
	for i, v := range vals {
		ts = append(ts, plandb.Target{ParticipantID: f.pids[i], Value: v})
	}
	_, err := f.store.SetTargets(context.Background(), f.maker, f.client, f.program, nov, ts, "план ноября")
	must(t, err)
}

var mid = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

// Every threshold edge through the real close: 69,99 % pays nothing, 70 %
// the fixed amount, 100 % the rate, 125 % the capped top tier; the
// credits equal the preview; a second approval and a second close post
// nothing more.
func TestCloseAtThresholdEdges(t *testing.T) {
	t.Parallel()
	f := setup(t, 5, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000, 1: 10_000_000, 2: 10_000_000, 3: 10_000_000, 4: 20_000_000})
	f.receipt(t, 0, mid, 1, 6_999_000, 100)
	f.receipt(t, 1, mid, 1, 7_000_000, 100)
	f.receipt(t, 2, mid, 1, 10_000_000, 100)
	f.receipt(t, 3, mid, 1, 15_000_000, 100) // 4 % = 6 000 ₽, capped at 5 000
	// Participant 4: sales outside the period and another program's do not count.
	f.receipt(t, 4, time.Date(2026, 10, 31, 23, 59, 0, 0, time.UTC), 1, 30_000_000, 0)
	f.receipt(t, 4, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 1, 30_000_000, 0)

	run, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	want := []int64{0, 100000, 250000, 500000, 0}
	var total int64
	for _, w := range want {
		total += w
	}
	if run.Participants != 5 || int64(run.CreditKopecks) != total || run.Status != "preview" {
		t.Fatalf("preview: %+v", run)
	}
	for i := range want {
		if got := f.available(t, i); got != 0 {
			t.Fatalf("preview posted %d to %d", got, i)
		}
	}
	lines, err := f.store.Lines(ctx, f.client, run.ID, 0, 100)
	must(t, err)
	if len(lines) != 5 || lines[0].Tier != -1 || lines[1].Tier != 0 || lines[3].Tier != 2 || !lines[3].Capped || lines[0].AttainmentBP != 6999 {
		t.Fatalf("lines: %+v", lines)
	}
	posted, err := f.store.Approve(ctx, f.maker, f.client, run.ID)
	must(t, err)
	if posted.Status != "posted" || posted.ApprovedBy != f.maker.UserID {
		t.Fatalf("approved: %+v", posted)
	}
	for i, w := range want {
		if got := f.available(t, i); got != w {
			t.Errorf("participant %d: %d, want %d", i, got, w)
		}
	}
	again, err := f.store.Approve(ctx, f.checker, f.client, run.ID)
	must(t, err)
	if again.ApprovedBy != f.maker.UserID {
		t.Fatalf("second approval changed the run: %+v", again)
	}
	rerun, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	if rerun.CreditKopecks != 0 || rerun.DebitKopecks != 0 {
		t.Fatalf("unchanged period re-run: %+v", rerun)
	}
	_, err = f.store.Approve(ctx, f.maker, f.client, rerun.ID)
	must(t, err)
	for i, w := range want {
		if got := f.available(t, i); got != w {
			t.Errorf("after re-run participant %d: %d, want %d", i, got, w)
		}
	}
	rep, err := ledgerdb.New(f.db).Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("ledger check: %v", rep.Discrepancies)
	}
	var entries int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action LIKE 'plan.%' AND client_id = $1`, f.client).Scan(&entries))
	if entries != 6 { // table, targets, 2 previews, 2 approvals
		t.Fatalf("%d audit entries, want 6", entries)
	}
}

// Late receipts and returns after close post only the differences, with
// reasons; a mid-period plan change makes a settlement under the new
// version; debits never take more than the participant has.
func TestRerunPostsDeltas(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000, 1: 10_000_000})
	f.receipt(t, 0, mid, 1, 7_000_000, 0)
	f.receipt(t, 1, mid, 1, 7_000_000, 0)
	close := func() plandb.Run {
		t.Helper()
		r, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
		must(t, err)
		r, err = f.store.Approve(ctx, f.maker, f.client, r.ID)
		must(t, err)
		return r
	}
	close()
	if f.available(t, 0) != 100000 || f.available(t, 1) != 100000 {
		t.Fatal("first close")
	}
	// A late receipt takes participant 0 to 100 %: +2,5 % of 100 000 ₽ − 1 000 ₽ paid.
	f.receipt(t, 0, mid, 1, 3_000_000, 0)
	r := close()
	if r.CreditKopecks != 150000 || f.available(t, 0) != 250000 || f.available(t, 1) != 100000 {
		t.Fatalf("late receipt: %+v, balance %d", r, f.available(t, 0))
	}
	// Participant 1's plan drops mid-period to 7 000 000 / 0,7... a new version: 100 %.
	_, err = f.store.SetTargets(ctx, f.maker, f.client, f.program, nov, []plandb.Target{{ParticipantID: f.pids[1], Value: 7_000_000}}, "пересмотр плана")
	must(t, err)
	r = close()
	if f.available(t, 1) != 175000 { // 2,5 % of 70 000 ₽
		t.Fatalf("plan change: %d, run %+v", f.available(t, 1), r)
	}
	var kind, reason string
	var version int
	must(t, f.db.QueryRow(ctx, `SELECT kind, plan_version, reason FROM plan_credits WHERE participant_id = $1 ORDER BY id DESC LIMIT 1`,
		f.pids[1]).Scan(&kind, &version, &reason))
	if kind != "settlement" || version != 2 || reason == "" {
		t.Fatalf("plan change credit: %s v%d %q", kind, version, reason)
	}
	must(t, f.db.QueryRow(ctx, `SELECT kind, reason FROM plan_credits WHERE participant_id = $1 ORDER BY id DESC LIMIT 1`,
		f.pids[0]).Scan(&kind, &reason))
	if kind != "adjustment" || reason != "Пересчёт: новые продажи или возвраты" {
		t.Fatalf("late receipt credit: %s %q", kind, reason)
	}
	// A return after close takes participant 0 back under 70 %: the whole
	// bonus is debited back.
	f.receipt(t, 0, mid, 2, 4_000_000, 0)
	r = close()
	if r.DebitKopecks != 250000 || f.available(t, 0) != 0 {
		t.Fatalf("return after close: %+v, balance %d", r, f.available(t, 0))
	}
	// Spent points cannot be taken: a debit stops at the balance.
	f.receipt(t, 1, mid, 2, 7_000_000, 0)
	_, err = f.db.Exec(ctx, `UPDATE ledger_accounts SET balance_kopecks = 1000 WHERE kind = 'participant_available' AND participant_id = $1`, f.pids[1])
	must(t, err)
	// (the cache edit above stands for points spent; the check below is
	// on what the close does, not on the ledger's consistency)
	r, err = f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	if r.DebitKopecks != 1000 {
		t.Fatalf("debit not cut to the balance: %+v", r)
	}
}

// The maker of a close above the threshold cannot approve it; another
// manager can, once.
func TestMakerChecker(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 100000)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000})
	f.receipt(t, 0, mid, 1, 7_000_000, 0)
	r, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	if !r.NeedsSecondApproval {
		t.Fatal("1 000 ₽ at a 1 000 ₽ threshold does not need a second person")
	}
	if _, err := f.store.Approve(ctx, f.maker, f.client, r.ID); !errors.Is(err, plan.ErrSecondApproval) {
		t.Fatalf("maker approved own close: %v", err)
	}
	if f.available(t, 0) != 0 {
		t.Fatal("refused approval posted")
	}
	r, err = f.store.Approve(ctx, f.checker, f.client, r.ID)
	must(t, err)
	if r.Status != "posted" || f.available(t, 0) != 100000 {
		t.Fatalf("checker: %+v", r)
	}
}

// A close approved many times at once, and two previews of the period
// approved at once, post once.
func TestConcurrentClosePostsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 50, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	vals := map[int]int64{}
	for i := range f.pids {
		vals[i] = 10_000_000
		f.receipt(t, i, mid, 1, int64(6_000_000+i*100_000), 0)
	}
	f.targets(t, vals)
	a, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	b, err := f.store.Preview(ctx, f.checker, f.client, f.program, nov)
	must(t, err)
	var wg sync.WaitGroup
	var posted, stale atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			id := a.ID
			if g%2 == 1 {
				id = b.ID
			}
			_, err := f.store.Approve(ctx, f.maker, f.client, id)
			switch {
			case err == nil:
				posted.Add(1)
			case errors.Is(err, plan.ErrStale):
				stale.Add(1)
			default:
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	var runs, credits int
	var sum int64
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM plan_close_runs WHERE status = 'posted'`).Scan(&runs))
	must(t, f.db.QueryRow(ctx, `SELECT count(*), COALESCE(sum(amount_kopecks), 0) FROM plan_credits`).Scan(&credits, &sum))
	if runs != 1 || stale.Load() != 4 || posted.Load() != 4 {
		t.Fatalf("posted runs %d, approvals ok %d stale %d", runs, posted.Load(), stale.Load())
	}
	if sum != int64(a.CreditKopecks) || credits == 0 {
		t.Fatalf("credited %d in %d credits, preview %d", sum, credits, a.CreditKopecks)
	}
	var ledgerSum int64
	must(t, f.db.QueryRow(ctx, `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts WHERE kind = 'participant_available'`).Scan(&ledgerSum))
	if ledgerSum != sum {
		t.Fatalf("ledger %d, credits %d", ledgerSum, sum)
	}
}

// Another client's staff sees none of it.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000})
	r, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	if _, err := f.store.Run(ctx, f.other, r.ID); !errors.Is(err, plan.ErrNotFound) {
		t.Fatalf("run: %v", err)
	}
	if _, err := f.store.Approve(ctx, f.rival, f.other, r.ID); !errors.Is(err, plan.ErrNotFound) {
		t.Fatalf("approve: %v", err)
	}
	if _, err := f.store.Preview(ctx, f.rival, f.other, f.program, nov); !errors.Is(err, plan.ErrNotFound) {
		t.Fatalf("preview: %v", err)
	}
	if _, err := f.store.SetTable(ctx, f.rival, f.other, f.program, nov, table, ""); !errors.Is(err, plan.ErrNotFound) {
		t.Fatalf("table: %v", err)
	}
	// A rival's program with our participant, or ours with theirs.
	if _, err := f.store.SetTargets(ctx, f.rival, f.other, f.otherProgram, nov, []plandb.Target{{ParticipantID: f.pids[0], Value: 1}}, ""); !errors.Is(err, plan.ErrNotFound) {
		t.Fatalf("targets: %v", err)
	}
	if ls, err := f.store.Lines(ctx, f.other, r.ID, 0, 10); err != nil || len(ls) != 0 {
		t.Fatalf("lines: %v %v", ls, err)
	}
}

// The participant's progress: plan, actual, attainment and the next
// threshold with its payout, from credited receipts as they come.
func TestProgress(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000})
	f.receipt(t, 0, mid, 1, 5_000_000, 0)
	ps, err := f.store.Progress(ctx, f.client, f.pids[0], mid)
	must(t, err)
	if len(ps) != 1 || ps[0].Settlement.AttainmentBP != 5000 || ps[0].Settlement.Next == nil ||
		ps[0].Settlement.Next.Remaining != 2_000_000 || ps[0].Settlement.Next.PayoutKopecks != 100000 {
		t.Fatalf("progress: %+v", ps)
	}
	ls, err := f.store.ActualLines(ctx, f.client, f.program, f.pids[0], nov, 10)
	must(t, err)
	if len(ls) != 1 || ls[0].SumKopecks != 5_000_000 {
		t.Fatalf("traced lines: %+v", ls)
	}
	if ps, err := f.store.Progress(ctx, f.other, f.pids[0], mid); err != nil || len(ps) != 0 {
		t.Fatalf("other client: %+v %v", ps, err)
	}
}
