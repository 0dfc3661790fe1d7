package reportdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// figures are every sales figure the dashboard shows for a period: the
// overview's, each sales table's, the chart's and the budget's.
func figures(t *testing.T, s *reportdb.Store, p report.Program, per report.Period) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	in, err := s.OverviewAsOf(ctx, p, per, now)
	if err != nil {
		t.Fatal(err)
	}
	out["overview"] = fmt.Sprintf("units %d sum %d points %d issued %d available %d active %d", in.UnitsMilli, in.SKUSumKopecks,
		in.PointsCredited, in.PointsIssuedAll, in.PointsAvailable, in.Active)
	for _, by := range []string{report.BySKU, report.ByShop, report.ByChain, report.ByRegion, report.ByParticipant} {
		rows, err := s.Sales(ctx, p, by, per, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out["sales "+by+" "+r.Key] = fmt.Sprintf("units %d sum %d points %d", r.UnitsMilli, r.SumKopecks, r.PointsKopecks)
		}
	}
	pts, err := s.Series(ctx, p, per, "day")
	if err != nil {
		t.Fatal(err)
	}
	// Per day the sale and its return fall on their own days; the
	// chart's period adds up.
	var units, sum int64
	for _, pt := range pts {
		units, sum = units+pt.UnitsMilli, sum+pt.SKUSumKopecks
	}
	out["chart"] = fmt.Sprintf("units %d sum %d", units, sum)
	b, err := s.Budget(ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	budgetAddsUp(t, b)
	out["budget"] = fmt.Sprintf("spent %d balance %d last30 %d monthly %v", b.SpentKopecks, b.BalanceKopecks, b.Last30Kopecks, b.Monthly)
	return out
}

// TestReturnNetsSaleToZero: a return receipt (operation 2) takes its sale
// back out of every figure — units, roubles and points of the overview,
// the sales tables, the chart and the budget — and the drill-down lists
// the sale and its return summing to zero.
func TestReturnNetsSaleToZero(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	v := &d.Vetluga
	p, err := s.Program(ctx, access.Staff{Role: access.Operator}, v.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	per := report.Period{From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	before := figures(t, s, p, per)

	saleAt := time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)
	sale := reporttest.AddReceipt(t, d.Receipts, v, &v.ShopIDs[0], 0, saleAt, receipt.Credited)
	if during := figures(t, s, p, per); cmp.Diff(before, during) == "" {
		t.Fatal("the sale changed no figure")
	}
	ret := reporttest.AddReturn(t, d.Receipts, v, sale, saleAt.Add(26*time.Hour))

	if diff := cmp.Diff(before, figures(t, s, p, per)); diff != "" {
		t.Errorf("figures after a sale and its return (-before +after):\n%s", diff)
	}
	// The drill-downs behind the rows: the SKU's and the shop's receipts
	// of those days hold the sale and its return, summing to zero.
	for name, f := range map[string]report.ReceiptFilter{
		"sku":  {Status: "sales", SKUID: v.SKUIDs[0]},
		"shop": {Status: "sales", ShopID: v.ShopIDs[0]},
		"all":  {},
	} {
		f.From, f.To = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
		rows, err := s.Receipts(ctx, p, f)
		if err != nil {
			t.Fatal(err)
		}
		var sum, points int64
		ids := map[string]bool{}
		for _, r := range rows {
			sum += r.SumKopecks
			points += r.PointsKopecks
			ids[r.ID] = true
		}
		if len(rows) != 2 || !ids[sale] || !ids[ret] || sum != 0 || points != 0 {
			t.Errorf("%s drill-down: %d rows, sum %d, points %d, want the sale and its return netting to 0", name, len(rows), sum, points)
		}
	}
	// The rollups the hook keeps are the ones a rebuild computes.
	hooked := dump(t, db)
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hooked, dump(t, db)); diff != "" {
		t.Errorf("hook vs rebuild with a return (-hook +rebuild):\n%s", diff)
	}
}

// budgetAddsUp checks that b's figures are one set of numbers: spent is
// the sum of the months, the balance what funding put in minus spent, the
// window the sum of its kinds.
func budgetAddsUp(t *testing.T, b report.Budget) {
	t.Helper()
	var months, kinds int64
	for _, m := range b.Monthly {
		months += m.SpentKopecks
	}
	for _, n := range b.Last30ByKind {
		kinds += n
	}
	if months != b.SpentKopecks || b.BalanceKopecks != b.FundedKopecks-b.SpentKopecks || kinds != b.Last30Kopecks {
		t.Errorf("budget does not add up: spent %d, months %d, funded %d, balance %d, last 30 days %d by kind %d",
			b.SpentKopecks, months, b.FundedKopecks, b.BalanceKopecks, b.Last30Kopecks, kinds)
	}
}
