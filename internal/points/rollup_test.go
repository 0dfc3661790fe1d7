package points_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// TestReturnNetsRollups drives a sale and its return through the service
// with the dashboard's rollup hook: the returned goods, roubles and points
// leave the sales figures, as a full return nets them to zero; a return
// that reverses no sale takes nothing away.
func TestReturnNetsRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	e.receipts = receiptdb.New(e.db, reportdb.Rollups{})
	figures := func() (units, sum, points, lines, shopReceipts int64) {
		t.Helper()
		must(t, e.db.QueryRow(ctx, `SELECT COALESCE(SUM(units_milli), 0)::bigint, COALESCE(SUM(sum_kopecks), 0)::bigint,
			COALESCE(SUM(points_kopecks), 0)::bigint, COALESCE(SUM(lines), 0)::bigint FROM rpt_day_sku WHERE program_id = $1`, e.program).
			Scan(&units, &sum, &points, &lines))
		must(t, e.db.QueryRow(ctx, `SELECT COALESCE(SUM(receipts), 0)::bigint FROM rpt_day_shop WHERE program_id = $1`, e.program).
			Scan(&shopReceipts))
		return
	}
	sale := e.creditedSale(t)
	if u, s, p, _, _ := figures(); u == 0 || s == 0 || p == 0 {
		t.Fatalf("after the sale: units %d sum %d points %d", u, s, p)
	}
	ret := e.process(e.newVerified(2, sale.PurchasedAt.Add(20*time.Hour), saleItems()))
	if ret.Status != receipt.Credited || ret.StatusReason != "return_reversed" {
		t.Fatalf("return: %s/%s", ret.Status, ret.StatusReason)
	}
	if u, s, p, l, n := figures(); u != 0 || s != 0 || p != 0 || l != 2 || n != 1 {
		t.Errorf("sale and its full return: units %d sum %d points %d (want 0); SKU lines %d, sales receipts %d (the sale's)", u, s, p, l, n)
	}
	// Nothing left to return: the return reverses no sale and counts nothing.
	none := e.process(e.newVerified(2, sale.PurchasedAt.Add(21*time.Hour), saleItems()[:1]))
	if none.Status != receipt.NoEligibleItems || none.StatusReason != points.ReasonReturnNoSale {
		t.Fatalf("return of nothing: %s/%s", none.Status, none.StatusReason)
	}
	if u, s, p, _, _ := figures(); u != 0 || s != 0 || p != 0 {
		t.Errorf("a return that reversed no sale changed the figures: units %d sum %d points %d", u, s, p)
	}
}
