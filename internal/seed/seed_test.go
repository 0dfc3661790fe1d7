package seed_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

func TestDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	counts := func() map[string]int {
		m := map[string]int{}
		for _, tbl := range []string{"clients", "programs", "shops", "participants", "dashboard_users", "skus", "sku_gtins", "program_rules", "ledger_transactions"} {
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
				t.Fatal(err)
			}
			m[tbl] = n
		}
		return m
	}
	if err := seed.Demo(ctx, pool, now); err != nil {
		t.Fatal(err)
	}
	first := counts()
	if first["skus"] != 80 || first["participants"] != len(seed.Participants) || first["programs"] != 2 ||
		first["program_rules"] != 2 || first["ledger_transactions"] != 2 {
		t.Fatalf("unexpected demo sizes: %v", first)
	}
	if err := seed.Demo(ctx, pool, now); err != nil {
		t.Fatal(err)
	}
	if second := counts(); !maps.Equal(first, second) {
		t.Fatalf("second seed changed data: %v → %v", first, second)
	}
}

// TestActivityFillsTheDashboard: after Demo and Activity every dashboard
// rollup figure of every demo program is non-zero, the month holds every
// kind of outcome (credited sales, a credited return, rejected receipts,
// receipts waiting for a moderator), the ledger checks clean, and running
// both again changes nothing.
func TestActivityFillsTheDashboard(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	now := time.Now()
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seedAll := func() {
		t.Helper()
		start := time.Now()
		if err := seed.Demo(ctx, pool, now); err != nil {
			t.Fatal(err)
		}
		if err := seed.Activity(ctx, pool, now, photos); err != nil {
			t.Fatal(err)
		}
		t.Logf("seeded in %s", time.Since(start).Round(time.Millisecond))
	}
	seedAll()

	statuses := map[string]int{}
	rows, err := pool.Query(ctx, `SELECT status || CASE WHEN operation = 2 THEN ':return' ELSE '' END, count(*) FROM receipts GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		statuses[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded receipts by status: %v", statuses)
	for _, want := range []string{"credited", "credited:return", "rejected", "needs_review"} {
		if statuses[want] == 0 {
			t.Errorf("no %s receipt seeded: %v", want, statuses)
		}
	}

	taskStates := map[string]int{}
	trows, err := pool.Query(ctx, `SELECT status, count(*) FROM task_submissions GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for trows.Next() {
		var s string
		var n int
		if err := trows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		taskStates[s] = n
	}
	t.Logf("seeded task reports by state: %v", taskStates)
	for _, st := range task.Statuses {
		if taskStates[string(st)] == 0 {
			t.Errorf("no task report %s seeded: %v", st, taskStates)
		}
	}

	var applied int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry_uploads WHERE status = 'applied'`).Scan(&applied); err != nil || applied != len(seed.Clients) {
		t.Errorf("applied registries: %d (%v), want one per client", applied, err)
	}

	// Every figure of every rollup table, per program.
	for _, q := range []string{
		`SELECT min(x) FROM (SELECT sum(receipts) x FROM rpt_day GROUP BY program_id UNION ALL SELECT sum(sum_kopecks) FROM rpt_day GROUP BY program_id
			UNION ALL SELECT sum(points_kopecks) FROM rpt_day GROUP BY program_id UNION ALL SELECT sum(units_milli) FROM rpt_day GROUP BY program_id
			UNION ALL SELECT sum(sku_sum_kopecks) FROM rpt_day GROUP BY program_id) s`,
		`SELECT min(x) FROM (SELECT sum(lines) x FROM rpt_day_sku GROUP BY program_id UNION ALL SELECT sum(units_milli) FROM rpt_day_sku GROUP BY program_id
			UNION ALL SELECT sum(sum_kopecks) FROM rpt_day_sku GROUP BY program_id UNION ALL SELECT sum(points_kopecks) FROM rpt_day_sku GROUP BY program_id) s`,
		`SELECT min(x) FROM (SELECT sum(receipts) x FROM rpt_day_shop GROUP BY program_id UNION ALL SELECT sum(units_milli) FROM rpt_day_shop GROUP BY program_id
			UNION ALL SELECT sum(sum_kopecks) FROM rpt_day_shop GROUP BY program_id UNION ALL SELECT sum(points_kopecks) FROM rpt_day_shop GROUP BY program_id) s`,
		`SELECT min(x) FROM (SELECT sum(uploads) x FROM rpt_month_participant GROUP BY program_id UNION ALL SELECT sum(receipts) FROM rpt_month_participant GROUP BY program_id
			UNION ALL SELECT sum(units_milli) FROM rpt_month_participant GROUP BY program_id UNION ALL SELECT sum(sum_kopecks) FROM rpt_month_participant GROUP BY program_id
			UNION ALL SELECT sum(points_kopecks) FROM rpt_month_participant GROUP BY program_id) s`,
		`SELECT min(x) FROM (SELECT sum(lines) x FROM rpt_unmatched GROUP BY program_id) s`,
		`SELECT count(DISTINCT program_id) - 1 FROM rpt_day`,
	} {
		var min *int64
		if err := pool.QueryRow(ctx, q).Scan(&min); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if min == nil || *min <= 0 {
			t.Errorf("a rollup figure is zero or missing for a demo program:\n%s", q)
		}
	}
	rep, err := ledgerdb.New(pool).Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("ledger check: %v %+v", err, rep)
	}
	if stale, err := reportdb.Stale(ctx, pool); err != nil || stale {
		t.Errorf("rollups stale after seeding: %v %v", stale, err)
	}

	counts := func() map[string]int {
		m := map[string]int{}
		for _, tbl := range []string{"receipts", "receipt_events", "ledger_transactions", "ledger_postings", "rpt_receipt_state",
			"tasks", "task_submissions", "registry_uploads"} {
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
				t.Fatal(err)
			}
			m[tbl] = n
		}
		return m
	}
	first := counts()
	seedAll()
	if second := counts(); !maps.Equal(first, second) {
		t.Fatalf("seeding again changed data: %v → %v", first, second)
	}
}

// TestFreshQRsAreNotUsed: the QR printed for a shop is never one a receipt
// already holds; once a seller uploads it, the next run prints another.
func TestFreshQRsAreNotUsed(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	now := time.Now()
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Run(ctx, pool, now, photos); err != nil {
		t.Fatal(err)
	}
	first, err := seed.FreshQRs(ctx, pool, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(seed.Shops) {
		t.Fatalf("%d QRs for %d shops", len(first), len(seed.Shops))
	}
	used := first[0]
	pl, err := fiscal.Parse(used.Text)
	if err != nil {
		t.Fatalf("printed QR %q does not parse: %v", used.Text, err)
	}
	var taken bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM receipts WHERE fn = $1 AND fd = $2)`, pl.FN, int64(pl.FD)).Scan(&taken); err != nil || taken {
		t.Fatalf("printed QR %q is already a receipt (%v)", used.Text, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO receipts (client_id, participant_id, status, source, fn, fd, fp, operation, purchased_at, sum_kopecks)
		SELECT client_id, id, 'queued', 'qr', $1, $2, $3, 1, $4, $5 FROM participants WHERE login = $6`,
		pl.FN, int64(pl.FD), int64(pl.FP), pl.Time, pl.SumKopecks, seed.Participants[0].Login); err != nil {
		t.Fatal(err)
	}
	second, err := seed.FreshQRs(ctx, pool, now)
	if err != nil {
		t.Fatal(err)
	}
	if second[0].Text == used.Text {
		t.Errorf("after %q was uploaded the same QR is printed again", used.Text)
	}
	if second[1].Text != first[1].Text {
		t.Errorf("another shop's unused QR changed: %q → %q", first[1].Text, second[1].Text)
	}
}
