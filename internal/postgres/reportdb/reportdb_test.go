package reportdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// dump returns every rollup row as text, sorted, without zero rows.
func dump(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT format('day %s %s %s %s %s %s %s %s', program_id, day, status, receipts, sum_kopecks, points_kopecks, units_milli, sku_sum_kopecks) FROM rpt_day WHERE receipts <> 0 ORDER BY 1`,
		`SELECT format('sku %s %s %s %s %s %s %s', program_id, day, sku_id, lines, units_milli, sum_kopecks, points_kopecks) FROM rpt_day_sku WHERE lines <> 0 ORDER BY 1`,
		`SELECT format('shop %s %s %s %s %s %s %s', program_id, day, shop_id, receipts, units_milli, sum_kopecks, points_kopecks) FROM rpt_day_shop WHERE receipts <> 0 ORDER BY 1`,
		`SELECT format('part %s %s %s %s %s %s %s %s', program_id, month, participant_id, uploads, receipts, units_milli, sum_kopecks, points_kopecks) FROM rpt_month_participant WHERE uploads <> 0 ORDER BY 1`,
		`SELECT format('unm %s %s %s', program_id, name, lines) FROM rpt_unmatched WHERE lines <> 0 ORDER BY 1`,
		`SELECT format('rsku %s %s %s %s', program_id, sku_id, purchased_at, receipt_id) FROM rpt_receipt_sku ORDER BY 1`,
	} {
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		v, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v...)
	}
	return out
}

func TestHookAgreesWithRebuild(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	// A credited receipt later rejected leaves the sales rollups.
	if err := d.Receipts.Update(ctx, d.Vetluga.Credited[0], func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		return r.Transition(receipt.Rejected, "user:1", "moderator_rejected", nil)
	}); err != nil {
		t.Fatal(err)
	}
	hooked := dump(t, db)
	if len(hooked) == 0 {
		t.Fatal("the hook wrote no rollups")
	}
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	rebuilt := dump(t, db)
	if fmt.Sprint(hooked) != fmt.Sprint(rebuilt) {
		t.Errorf("hook and rebuild disagree:\nhook:    %v\nrebuild: %v", hooked, rebuilt)
	}
}

func TestOverviewAndIsolation(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	vet := access.Staff{UserID: 1, ClientID: d.Vetluga.ClientID, Role: access.ClientManager}
	if _, err := s.Program(ctx, vet, d.Krasnodol.ProgramID); err != report.ErrNotFound {
		t.Fatalf("vetluga sees krasnodol's program: %v", err)
	}
	p, err := s.Program(ctx, vet, d.Vetluga.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	per := report.Period{From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	in, err := s.Overview(ctx, p, per)
	if err != nil {
		t.Fatal(err)
	}
	// 4 credited + 1 no_eligible_items receipts with 2 + 1 units of program SKUs.
	if in.UnitsMilli != 15000 || in.SKUSumKopecks != 5*230000 {
		t.Errorf("units %d sum %d, want 15000 and %d", in.UnitsMilli, in.SKUSumKopecks, 5*230000)
	}
	if in.ReceiptsByStatus["credited"] != 4 || in.ReceiptsByStatus["needs_review"] != 2 || in.ReceiptsByStatus["rejected"] != 1 {
		t.Errorf("by status %v", in.ReceiptsByStatus)
	}
	if in.PointsCredited != 60000 || in.PointsAvailable != 60000 || in.Registered != 3 || in.Active != 2 {
		t.Errorf("points %d available %d registered %d active %d", in.PointsCredited, in.PointsAvailable, in.Registered, in.Active)
	}
	if in.ActivePrevMonth != 2 || in.ChurnedPrevMonth != 0 {
		t.Errorf("churn inputs %d %d", in.ActivePrevMonth, in.ChurnedPrevMonth)
	}
	for _, by := range []string{report.BySKU, report.ByShop, report.ByChain, report.ByRegion, report.ByParticipant} {
		rows, err := s.Sales(ctx, p, by, per, 0)
		if err != nil {
			t.Fatalf("sales by %s: %v", by, err)
		}
		var sum int64
		for _, r := range rows {
			sum += r.SumKopecks
		}
		if sum != in.SKUSumKopecks {
			t.Errorf("sales by %s sum to %d, want %d", by, sum, in.SKUSumKopecks)
		}
	}
	rs, err := s.Receipts(ctx, p, report.ReceiptFilter{Status: "sales", From: per.From, To: per.To})
	if err != nil || len(rs) != 5 {
		t.Errorf("sales receipts: %d %v", len(rs), err)
	}
	q, err := s.ReviewQueue(ctx, p, 10)
	if err != nil || len(q) != 2 {
		t.Errorf("review queue: %d %v", len(q), err)
	}
	un, _, err := s.Unmatched(ctx, p, 10)
	if err != nil || len(un) != 1 || un[0].Name != d.Vetluga.Unmatched {
		t.Errorf("unmatched: %v %v", un, err)
	}
	if err := s.ConfirmAlias(ctx, d.Vetluga.ClientID, d.Vetluga.SKUIDs[0], un[0].Name); err != nil {
		t.Fatal(err)
	}
	if un, _, _ := s.Unmatched(ctx, p, 10); len(un) != 0 {
		t.Errorf("confirmed alias still listed: %v", un)
	}
	if err := s.ConfirmAlias(ctx, d.Vetluga.ClientID, d.Krasnodol.SKUIDs[0], "x"); err != report.ErrNotFound {
		t.Errorf("alias to another client's SKU: %v", err)
	}
	parts, err := s.Participants(ctx, p, per, 50, 0)
	if err != nil || len(parts) != 3 {
		t.Fatalf("participants: %d %v", len(parts), err)
	}
	if _, err := s.Participant(ctx, p, d.Krasnodol.Participants[0]); err != report.ErrNotFound {
		t.Errorf("other client's participant: %v", err)
	}
	tl, err := s.Timeline(ctx, p, d.Vetluga.Participants[0], 50)
	if err != nil || len(tl) == 0 {
		t.Errorf("timeline: %d %v", len(tl), err)
	}
	b, err := s.Budget(ctx, p, now)
	if err != nil || b.SpentKopecks != 60000 || b.BalanceKopecks != p.BudgetKopecks-60000 {
		t.Errorf("budget %+v %v", b, err)
	}
}
