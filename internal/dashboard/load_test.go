package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// TestLoad measures every page against a database filled by
// `loyaltyjam seed --scale N`: LJ_LOAD_DATABASE_URL=postgres://… go test
// -run TestLoad -v ./internal/dashboard. It prints p50/p95 per page over
// LJ_LOAD_N requests (default 50), and a baseline: the overview's sales
// totals computed from raw receipts and items instead of the rollups.
// LJ_LOAD_ONLY=text measures only the pages whose URL contains text.
func TestLoad(t *testing.T) {
	dbURL := os.Getenv("LJ_LOAD_DATABASE_URL")
	if dbURL == "" {
		t.Skip("set LJ_LOAD_DATABASE_URL to a database seeded with `loyaltyjam seed --scale N` to measure")
	}
	n := 50
	fmt.Sscan(os.Getenv("LJ_LOAD_N"), &n)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: receiptdb.New(db),
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: receiptdb.New(db)}, Logger: quiet}).Register(app)
	e := &env{app: app}
	c := e.mustLogin(t, "manager@vetluga.demo")
	var pid int64
	var rid string
	var partID int64
	if err := db.QueryRow(ctx, `SELECT p.id FROM programs p JOIN clients c ON c.id = p.client_id WHERE c.code = 'vetluga' ORDER BY p.id LIMIT 1`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT id::text, participant_id FROM receipts WHERE program_id = $1 AND status = 'credited'
		ORDER BY purchased_at DESC LIMIT 1`, pid).Scan(&rid, &partID); err != nil {
		t.Fatal(err)
	}
	var receipts, items int64
	_ = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM receipts), (SELECT reltuples::bigint FROM pg_class WHERE relname = 'receipt_items')`).Scan(&receipts, &items)
	now := time.Now().UTC()
	m := func(k int) string { return now.AddDate(0, k, 0).Format("2006-01") }
	b := fmt.Sprintf("/dashboard/p/%d", pid)
	pages := []string{
		b + "/overview", b + "/overview?grain=week&from=" + m(-11) + "&to=" + m(0),
		b + "/sales?by=sku", b + "/sales?by=shop", b + "/sales?by=chain", b + "/sales?by=region", b + "/sales?by=participant",
		b + "/sales?by=sku&from=" + m(-11) + "&to=" + m(0),
		b + "/receipts", b + "/receipts?status=needs_review", b + "/receipts?status=sales&sku=" + firstSKU(t, db, pid),
		// The drill-down targets of sales by chain and by region.
		b + "/receipts?status=sales&" + url.Values{"chain": {firstShopAttr(t, db, pid, "chain")}}.Encode(),
		b + "/receipts?status=sales&" + url.Values{"region": {firstShopAttr(t, db, pid, "region")}}.Encode(),
		fmt.Sprintf("%s/receipts?participant=%d", b, partID), b + "/receipts/" + rid,
		b + "/moderation", b + "/unmatched", b + "/participants", b + "/participants?page=20",
		fmt.Sprintf("%s/participants/%d", b, partID), b + "/settings",
		b + "/sales/export?by=sku&format=csv", b + "/sales/export?by=shop&format=xlsx",
		b + "/receipts/export?status=needs_review&format=csv",
	}
	var out strings.Builder
	fmt.Fprintf(&out, "receipts: %d, receipt_items: ~%d, requests per page: %d, load average at start: %s\n\n",
		receipts, items, n, loadAvg())
	fmt.Fprintf(&out, "| page | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|\n")
	only := os.Getenv("LJ_LOAD_ONLY") // measure only pages containing it
	for _, p := range pages {
		if !strings.Contains(p, only) {
			continue
		}
		var d []time.Duration
		for range n {
			start := time.Now()
			resp, _ := e.do(t, c, "GET", p, nil)
			d = append(d, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", p, resp.StatusCode)
			}
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		u, _ := url.Parse(p)
		name := strings.TrimPrefix(u.Path, b)
		if u.RawQuery != "" {
			name += "?" + u.RawQuery
		}
		fmt.Fprintf(&out, "| `%s` | %.1f | %.1f | %.1f |\n", name, ms(d[len(d)/2]), ms(d[len(d)*95/100]), ms(d[len(d)-1]))
		if d[len(d)*95/100] > 300*time.Millisecond {
			t.Logf("SLOW: %s p95 %s", p, d[len(d)*95/100])
		}
	}
	// Baseline: the same sales totals from raw rows, 5 runs.
	var base []time.Duration
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -2, 0)
	for range 5 {
		start := time.Now()
		var units, sum int64
		if err := db.QueryRow(ctx, `SELECT COALESCE(SUM(i.quantity_milli), 0)::bigint, COALESCE(SUM(i.sum_kopecks), 0)::bigint
			FROM receipts r JOIN receipt_items i ON i.receipt_id = r.id
			WHERE r.program_id = $1 AND r.purchased_at >= $2 AND r.status IN ('credited', 'no_eligible_items') AND i.sku_id IS NOT NULL`,
			pid, from).Scan(&units, &sum); err != nil {
			t.Fatal(err)
		}
		base = append(base, time.Since(start))
	}
	sort.Slice(base, func(i, j int) bool { return base[i] < base[j] })
	rollup := time.Now()
	if _, err := reportdb.New(db).Overview(ctx, report.Program{ID: pid, ClientID: clientOf(t, db, pid)},
		report.Period{From: from, To: from.AddDate(0, 3, 0)}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "\nbaseline, overview sales totals (3 months) from raw receipts+items: p50 %.1f ms, max %.1f ms (5 runs); the whole overview query set from rollups: %.1f ms\n",
		ms(base[2]), ms(base[4]), ms(time.Since(rollup)))
	fmt.Fprintf(&out, "load average at end: %s\n", loadAvg())
	t.Log("\n" + out.String())
}

// loadAvg is the machine's 1/5/15-minute load average, for the record.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// firstShopAttr is the biggest chain or region (col) among the shops of
// pid's client.
func firstShopAttr(t *testing.T, db *pgxpool.Pool, pid int64, col string) string {
	var v string
	if err := db.QueryRow(context.Background(), `SELECT `+col+` FROM shops sh JOIN programs p ON p.client_id = sh.client_id
		WHERE p.id = $1 AND `+col+` <> '' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, pid).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func firstSKU(t *testing.T, db *pgxpool.Pool, pid int64) string {
	var id int64
	if err := db.QueryRow(context.Background(), `SELECT k.id FROM skus k JOIN programs p ON p.client_id = k.client_id
		WHERE p.id = $1 ORDER BY k.id LIMIT 1`, pid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(id)
}

func clientOf(t *testing.T, db *pgxpool.Pool, pid int64) int64 {
	var id int64
	if err := db.QueryRow(context.Background(), `SELECT client_id FROM programs WHERE id = $1`, pid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
