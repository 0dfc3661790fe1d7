package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
)

// TestPlansPage: the Vetluga program's plans for March 2026 over the demo
// receipts, targets chosen so participants land below, at and above the
// thresholds. The page's per-participant payouts add up to its forecast,
// which equals what a close preview of the same period computes; the tier
// counts add up to the participants and match the rows; the preview is
// listed with its status; another client's staff gets 404.
func TestPlansPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	store := plandb.New(db, ledgerdb.Postings{}, auditdb.New(db))
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable,
		Receipts: data.Receipts, Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now,
		Logger: quiet, Plans: store}).Register(app)
	e := &env{app: app, data: data, clock: clk}
	v := data.Vetluga
	base := fmt.Sprintf("/dashboard/p/%d/plans", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)

	period := plan.Current(plan.Month, testNow)
	if resp, body := e.do(t, mgr, "GET", base+"?period="+period.String(), nil); resp.StatusCode != 200 || !strings.Contains(body, `id="plans-none"`) {
		t.Fatalf("no table yet: %d\n%s", resp.StatusCode, body)
	}
	by := plandb.Actor{Audit: audit.Actor{Kind: audit.System}}
	table := plan.Table{Measure: plan.Roubles, Rounding: plan.HalfUp, Tiers: []plan.Tier{
		{ThresholdBP: 7000, Kind: plan.Fixed, FixedKopecks: 50000, Name: "Минимальный"},
		{ThresholdBP: 10000, Kind: plan.PercentOfSales, RateBP: 300, Name: "Плановый"},
		{ThresholdBP: 12000, Kind: plan.PercentOfSales, RateBP: 500, CapKopecks: 150000, Name: "Сверх плана"},
	}}
	if _, err := store.SetTable(ctx, by, v.ClientID, v.ProgramID, period, table, "тест"); err != nil {
		t.Fatal(err)
	}
	// Targets 1 ₽ first, to read each participant's actual; then plans at
	// 60 %, 80 %, 100 % and 150 % of it in turn (and one of 0: reaches nothing).
	ones := make([]plandb.Target, len(v.Participants))
	for i, p := range v.Participants {
		ones[i] = plandb.Target{ParticipantID: p, Value: 100}
	}
	// The demo data credits only some participants in March: a credited
	// receipt of program goods for each of the others.
	for i, p := range v.Participants {
		var id string
		if err := db.QueryRow(ctx, `INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation,
				purchased_at, sum_kopecks, points_kopecks)
			VALUES ($1, $2, $3, 'credited', 'qr', '9999000000000099', $4, $4, 1, $5, $6, 0) RETURNING id`,
			v.ClientID, p, v.ProgramID, 880000+i, testNow.AddDate(0, 0, -2), 1234500+int64(i)*111100).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id)
			VALUES ($1, 1, 'Товар', $2, 1000, $2, $3)`, id, 1234500+int64(i)*111100, v.SKUIDs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.SetTargets(ctx, by, v.ClientID, v.ProgramID, period, ones, "тест"); err != nil {
		t.Fatal(err)
	}
	s0, err := store.Summarize(ctx, v.ClientID, v.ProgramID, period, 1000, true)
	if err != nil {
		t.Fatal(err)
	}
	// Plans at 60 %, 80 % and 150 % of each one's actual (below, the
	// first tier, over the plan).
	shares := []int64{60, 80, 150}
	var ts []plandb.Target
	for i, pl := range s0.Leaderboard {
		if pl.Actual <= 0 {
			t.Fatalf("participant %d has no sales in %s", pl.ParticipantID, period)
		}
		ts = append(ts, plandb.Target{ParticipantID: pl.ParticipantID, Value: pl.Actual * 100 / shares[i%len(shares)]})
	}
	if _, err := store.SetTargets(ctx, by, v.ClientID, v.ProgramID, period, ts, "тест"); err != nil {
		t.Fatal(err)
	}
	run, err := store.Preview(ctx, by, v.ClientID, v.ProgramID, period)
	if err != nil {
		t.Fatal(err)
	}

	resp, body := e.do(t, mgr, "GET", base+"?period="+period.String(), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("plans page: %d\n%s", resp.StatusCode, body)
	}
	num := func(re string) []int64 {
		var out []int64
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(body, -1) {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	forecast := num(`id="plan-forecast" data-kopecks="(-?\d+)"`)
	payouts := num(`data-payout="(-?\d+)"`)
	tiersOfRows := num(`data-tier="(-?\d+)"`)
	if len(forecast) != 1 || len(payouts) != len(v.Participants) {
		t.Fatalf("forecast %v, %d rows for %d participants\n%s", forecast, len(payouts), len(v.Participants), body)
	}
	var total int64
	for _, p := range payouts {
		total += p
	}
	if total != forecast[0] || total != int64(run.PayoutKopecks) || total == 0 {
		t.Fatalf("rows add up to %d, forecast %d, close preview %d", total, forecast[0], run.PayoutKopecks)
	}
	// The distribution: one count per tier plus «none», adding up to the
	// participants and matching the rows' tiers.
	counts := map[int64]int{}
	for _, tr := range tiersOfRows {
		counts[tr]++
	}
	dist := regexp.MustCompile(`(?s)<tr><td>([^<]+)</td><td>[^<]*</td><td class="num">(\d+)</td></tr>`).FindAllStringSubmatch(body, -1)
	if len(dist) != len(table.Tiers)+1 {
		t.Fatalf("distribution rows %v", dist)
	}
	sumDist := 0
	for i, m := range dist {
		n, _ := strconv.Atoi(m[2])
		sumDist += n
		if n != counts[int64(i-1)] {
			t.Fatalf("tier %q: %d on the distribution, %d rows", m[1], n, counts[int64(i-1)])
		}
	}
	if sumDist != len(v.Participants) || counts[-1] == 0 || counts[0] == 0 || counts[2] == 0 {
		t.Fatalf("distribution %v (rows %v) for %d participants", dist, counts, len(v.Participants))
	}
	// By shop and by region: each covers every participant and pays the
	// forecast in total.
	for _, id := range []string{"shop", "region"} {
		sec := regexp.MustCompile(`(?s)id="plan-by-` + id + `".*?</section>`).FindString(body)
		var pay int64
		var n int
		for _, m := range regexp.MustCompile(`data-group-payout="(-?\d+)" data-group-n="(\d+)"`).FindAllStringSubmatch(sec, -1) {
			x, _ := strconv.ParseInt(m[1], 10, 64)
			k, _ := strconv.Atoi(m[2])
			pay, n = pay+x, n+k
		}
		if pay != total || n != len(v.Participants) {
			t.Fatalf("by %s: %d participants paid %d, want %d and %d", id, n, pay, len(v.Participants), total)
		}
	}
	if !strings.Contains(body, fmt.Sprintf(`data-run="%d" data-status="preview"`, run.ID)) {
		t.Fatalf("close run %d not listed\n%s", run.ID, body)
	}
	if !strings.Contains(body, `id="nav-plans"`) {
		t.Fatal("no nav link")
	}
	// Another client's staff: 404, with or without a period.
	other := e.mustLogin(t, data.Krasnodol.ManagerEmail)
	for _, q := range []string{"", "?period=" + period.String(), "?period=bad"} {
		if resp, body := e.do(t, other, "GET", base+q, nil); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "data-payout") {
			t.Fatalf("another client %q: %d", q, resp.StatusCode)
		}
	}
	if resp, _ := e.do(t, mgr, "GET", base+"?period=2026-13", nil); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad period: %d", resp.StatusCode)
	}
}
