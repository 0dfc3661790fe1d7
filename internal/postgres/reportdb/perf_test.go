package reportdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// The fast paths of issue 10 answer exactly what the straightforward
// queries over raw rows answer.

// moveSKU rejects a credited receipt and rematches its lines to another
// SKU, so rpt_receipt_sku must drop the old SKUs and take the new one.
func moveSKU(t *testing.T, d reporttest.Data, id string, sku int64) {
	t.Helper()
	if err := d.Receipts.Update(context.Background(), id, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		r.Items = r.Items[:1]
		r.Items[0].SKUID, r.Items[0].MatchHow = &sku, catalog.HowAlias
		r.ItemsChanged = true
		return r.Transition(receipt.Rejected, "user:1", "moderator_rejected", nil)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReceiptsBySKUAgreeWithItems(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	moveSKU(t, d, d.Vetluga.Credited[1], d.Vetluga.SKUIDs[2])
	check := func(label string) {
		for _, ten := range []reporttest.Tenant{d.Vetluga, d.Krasnodol} {
			p := report.Program{ID: ten.ProgramID, ClientID: ten.ClientID}
			// A SKU of the other client finds nothing.
			skus := append(append([]int64{}, ten.SKUIDs...), d.Krasnodol.SKUIDs[0], d.Vetluga.SKUIDs[0])
			for _, sku := range skus {
				for _, status := range []string{"", "sales", "credited", "rejected", "needs_review"} {
					for _, per := range []report.Period{{}, {From: monthStart(now), To: monthStart(now).AddDate(0, 1, 0)}} {
						want := receiptsByItems(t, db, p, sku, status, per)
						for _, limit := range []int{1, 2, 50} {
							got := receiptsPaged(t, s, p, report.ReceiptFilter{Status: status, SKUID: sku,
								From: per.From, To: per.To, Limit: limit})
							if fmt.Sprint(got) != fmt.Sprint(want) {
								t.Errorf("%s: program %d sku %d status %q period %v limit %d:\ngot  %v\nwant %v",
									label, p.ID, sku, status, per, limit, got, want)
							}
						}
					}
				}
			}
		}
	}
	check("hook")
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	check("rebuild")
	// The check is not empty: vetluga's first SKU is on its sales receipts.
	if n := len(receiptsByItems(t, db, report.Program{ID: d.Vetluga.ProgramID, ClientID: d.Vetluga.ClientID},
		d.Vetluga.SKUIDs[0], "sales", report.Period{})); n < 3 {
		t.Fatalf("only %d sales receipts with the first SKU", n)
	}
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// receiptsByItems is the receipt search by SKU over receipts and
// receipt_items, newest purchase first.
func receiptsByItems(t *testing.T, db *pgxpool.Pool, p report.Program, sku int64, status string, per report.Period) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT r.id::text || ' ' || r.purchased_at FROM receipts r
		WHERE r.program_id = $1 AND r.client_id = $2 AND r.purchased_at IS NOT NULL
		AND ($3 = '' OR r.status = $3 OR ($3 = 'sales' AND r.status IN ('credited', 'no_eligible_items')))
		AND ($5::timestamp IS NULL OR r.purchased_at >= $5) AND ($6::timestamp IS NULL OR r.purchased_at < $6)
		AND EXISTS (SELECT 1 FROM receipt_items i WHERE i.receipt_id = r.id AND i.sku_id = $4)
		ORDER BY r.purchased_at DESC, r.id DESC`, p.ID, p.ClientID, status, sku, zeroNil(per.From), zeroNil(per.To))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func zeroNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// receiptsPaged walks every page of the search.
func receiptsPaged(t *testing.T, s *reportdb.Store, p report.Program, f report.ReceiptFilter) []string {
	t.Helper()
	var out []string
	for range 100 {
		rows, err := s.Receipts(context.Background(), p, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, r.ID+" "+r.At.Format("2006-01-02 15:04:05"))
		}
		if len(rows) < f.Limit {
			return out
		}
		f.BeforeAt, f.BeforeID = rows[len(rows)-1].At, rows[len(rows)-1].ID
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestSalesByParticipantAgreesWithJoin(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	for _, ten := range []reporttest.Tenant{d.Vetluga, d.Krasnodol} {
		p := report.Program{ID: ten.ProgramID, ClientID: ten.ClientID}
		for _, per := range []report.Period{
			{From: monthStart(now), To: monthStart(now).AddDate(0, 1, 0)},
			{From: monthStart(now).AddDate(0, -1, 0), To: monthStart(now).AddDate(0, 1, 0)},
			{From: monthStart(now).AddDate(0, -1, 0), To: monthStart(now)},
			{From: monthStart(now).AddDate(0, -6, 0), To: monthStart(now).AddDate(0, -5, 0)},
		} {
			want := salesByJoin(t, db, p, per)
			if len(want) == 0 && per.From.After(monthStart(now).AddDate(0, -2, 0)) {
				t.Fatalf("no participant sales in %v", per)
			}
			for _, limit := range []int{0, 1, 2, 300} {
				got, err := s.Sales(ctx, p, report.ByParticipant, per, limit)
				if err != nil {
					t.Fatal(err)
				}
				w := want
				if limit > 0 && len(w) > limit {
					w = w[:limit]
				}
				if fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("program %d %v limit %d:\ngot  %v\nwant %v", p.ID, per, limit, got, w)
				}
			}
		}
	}
}

// salesByJoin is sales by participant as first written: every row of the
// period joined to its participant and shop, grouped, then ordered.
func salesByJoin(t *testing.T, db *pgxpool.Pool, p report.Program, per report.Period) []report.SalesRow {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT key, label, extra, n, units, total, points FROM (
		SELECT pa.id::text, COALESCE(NULLIF(pa.name, ''), 'Участник ' || pa.id), COALESCE(sh.name, ''),
			SUM(t.receipts), SUM(t.units_milli), SUM(t.sum_kopecks), SUM(t.points_kopecks)
		FROM rpt_month_participant t JOIN participants pa ON pa.id = t.participant_id AND pa.client_id = t.client_id
		LEFT JOIN shops sh ON sh.id = pa.shop_id
		WHERE t.program_id = $1 AND t.client_id = $2 AND t.month >= $3 AND t.month < $4 AND t.receipts <> 0
		GROUP BY pa.id, sh.name) x(key, label, extra, n, units, total, points)
		WHERE n <> 0 OR total <> 0 ORDER BY total DESC, key`, p.ID, p.ClientID, per.From, per.To)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.SalesRow, error) {
		var x report.SalesRow
		err := r.Scan(&x.Key, &x.Label, &x.Extra, &x.Receipts, &x.UnitsMilli, &x.SumKopecks, &x.PointsKopecks)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReceiptsDateBasisAgreesWithRaw checks the receipt search without a
// SKU against one query over raw receipts dated as the rollups date them
// (purchase time with a fiscal identity, upload time in UTC without), for
// every status the overview links to, shop / chain / region filters
// including "none", periods and page sizes: the merged purchase-time and
// upload-time pages are the same rows in the same order.
func TestReceiptsDateBasisAgreesWithRaw(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	v := d.Vetluga
	var bare int64
	if err := db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 'BARE-2', 'Без сети') RETURNING id`,
		v.ClientID).Scan(&bare); err != nil {
		t.Fatal(err)
	}
	thisMonth := monthStart(now)
	reporttest.AddReceipt(t, d.Receipts, &v, nil, 0, thisMonth.AddDate(0, 0, 3), receipt.Credited)
	reporttest.AddReceipt(t, d.Receipts, &v, &bare, 1, thisMonth.AddDate(0, 0, 4), receipt.NoEligibleItems)
	reporttest.AddReceipt(t, d.Receipts, &v, nil, 1, thisMonth.AddDate(0, -1, 9), receipt.Duplicate)
	for i, st := range []receipt.Status{receipt.Unreadable, receipt.Duplicate, receipt.Unreadable, receipt.Unreadable} {
		id := reporttest.AddUnreadable(t, d.Receipts, &v, i, st)
		// Two share an upload time: the cursor's id breaks the tie.
		at := thisMonth.AddDate(0, 0, 2+i/2).Add(-3 * time.Hour)
		if _, err := db.Exec(ctx, `UPDATE receipts SET created_at = $2 WHERE id = $1`, id, at); err != nil {
			t.Fatal(err)
		}
	}
	p := report.Program{ID: v.ProgramID, ClientID: v.ClientID}
	raw := func(status, place string, per report.Period) []string {
		q := `SELECT r.id::text, COALESCE(CASE WHEN r.fn IS NOT NULL THEN r.purchased_at END, r.created_at AT TIME ZONE 'UTC') at
			FROM receipts r LEFT JOIN shops sh ON sh.id = r.shop_id
			WHERE r.program_id = $1 AND ($2 = '' OR r.status = $2 OR ($2 = 'sales' AND r.status IN ('credited', 'no_eligible_items')))`
		switch place {
		case "shop":
			q += ` AND r.shop_id IS NULL`
		case "chain":
			q += ` AND COALESCE(sh.chain, '') = ''`
		case "region":
			q += ` AND COALESCE(sh.region, '') = ''`
		}
		rows, err := db.Query(ctx, `SELECT id, at FROM (`+q+`) x WHERE ($3::timestamp IS NULL OR at >= $3) AND ($4::timestamp IS NULL OR at < $4)
			ORDER BY at DESC, id::uuid DESC`, p.ID, status, nullTime(per.From), nullTime(per.To))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			out = append(out, id+" "+at.Format("2006-01-02 15:04:05"))
		}
		return out
	}
	if all, unread := raw("", "", report.Period{}), raw("unreadable", "", report.Period{}); len(all) != 15 || len(unread) != 3 {
		t.Fatalf("test data: %d receipts, %d unreadable", len(all), len(unread))
	}
	for _, status := range []string{"", "sales", "credited", "rejected", "needs_review", "unreadable", "duplicate", "received"} {
		for _, place := range []string{"", "shop", "chain", "region"} {
			for _, per := range []report.Period{{}, {From: thisMonth, To: thisMonth.AddDate(0, 1, 0)},
				{From: thisMonth.AddDate(0, 0, 2), To: thisMonth.AddDate(0, 0, 3)}} {
				want := raw(status, place, per)
				for _, limit := range []int{1, 2, 50} {
					f := report.ReceiptFilter{Status: status, From: per.From, To: per.To, Limit: limit,
						NoShop: place == "shop", NoChain: place == "chain", NoRegion: place == "region"}
					if got := receiptsPaged(t, s, p, f); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("status %q none %q period %v limit %d:\ngot  %v\nwant %v", status, place, per, limit, got, want)
					}
				}
			}
		}
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
