package plandb_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
)

// counter counts the statements a pool sends.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A 10 000-participant close, measured: the number of statements is fixed
// (it does not grow with participants) and every participant's credit is
// right. The time is logged for docs/plans.md, not asserted.
func TestClose10000(t *testing.T) {
	if testing.Short() {
		t.Skip("large close: not in -short")
	}
	const n = 10_000
	ctx := context.Background()
	_, url := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(url)
	must(t, err)
	var c counter
	cfg.ConnConfig.Tracer = &c
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	must(t, err)
	t.Cleanup(db.Close)
	f := setupOn(t, db, n, 0)

	// Three receipts per participant, one a return, set-based; participant i
	// sells 60 % .. 160 % of a 100 000 ₽ plan.
	_, err = db.Exec(ctx, `WITH r AS (
		INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation, purchased_at, sum_kopecks, points_kopecks)
		SELECT $1, p.id, $2, 'credited', 'qr', '9999000000000002', row_number() OVER (), row_number() OVER (), k.op,
		       '2026-11-10'::timestamp + (k.k || ' days')::interval,
		       CASE WHEN k.op = 2 THEN 1000000 ELSE 3000000 + (p.rn % 100) * 50000 END,
		       CASE WHEN k.op = 2 THEN -10000 ELSE 30000 END
		  FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM participants WHERE client_id = $1) p
		  CROSS JOIN (VALUES (1, 1), (2, 1), (3, 2)) AS k(k, op)
		RETURNING id, sum_kopecks)
		INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id)
		SELECT id, 1, 'Краска', sum_kopecks, 1000, sum_kopecks, $3 FROM r`, f.client, f.program, f.sku)
	must(t, err)
	_, err = f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	ts := make([]plandb.Target, n)
	for i, pid := range f.pids {
		ts[i] = plandb.Target{ParticipantID: pid, Value: 10_000_000}
	}
	start := time.Now()
	_, err = f.store.SetTargets(ctx, f.maker, f.client, f.program, nov, ts, "импорт")
	must(t, err)
	setTime := time.Since(start)
	_, err = db.Exec(ctx, `ANALYZE`)
	must(t, err)

	c.n.Store(0)
	start = time.Now()
	run, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	previewTime, previewQ := time.Since(start), c.n.Load()
	c.n.Store(0)
	start = time.Now()
	_, err = f.store.Approve(ctx, f.checker, f.client, run.ID)
	must(t, err)
	approveTime, approveQ := time.Since(start), c.n.Load()

	// Expected: Σ over participants of what the table pays on
	// 2 × (3 000 000 + (rn % 100) × 50 000) − 1 000 000.
	var want int64
	for rn := 1; rn <= n; rn++ {
		sales := int64(2*(3_000_000+(rn%100)*50_000) - 1_000_000)
		s := plan.Settle(table, 10_000_000, plan.Actual{Value: sales, SalesKopecks: money.Kopecks(sales), PointsKopecks: 50000})
		want += int64(s.PayoutKopecks)
	}
	var got int64
	must(t, db.QueryRow(ctx, `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts WHERE kind = 'participant_available'`).Scan(&got))
	if got != want || int64(run.CreditKopecks) != want {
		t.Fatalf("credited %d (preview %d), want %d", got, run.CreditKopecks, want)
	}
	if previewQ > 20 || approveQ > 20 {
		t.Fatalf("statements grow with participants: preview %d, approve %d", previewQ, approveQ)
	}
	rep, err := ledgerdb.New(db).Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("ledger check: %v", rep.Discrepancies)
	}
	t.Logf("10 000 participants, 30 000 receipts: targets %v; preview %v in %d statements; approve+post %v in %d statements; credited %d kopecks",
		setTime.Round(time.Millisecond), previewTime.Round(time.Millisecond), previewQ, approveTime.Round(time.Millisecond), approveQ, got)
}
