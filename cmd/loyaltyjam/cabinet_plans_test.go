// The cabinet's plan progress (issue 20) on the points screen, against
// GET /v1/plans/current: hidden without a plan; with one, every figure on
// screen is the API's.

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// kopecksOf reads a figure as the cabinet shows it («100 000,00 ₽») back
// into kopecks.
func kopecksOf(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.NewReplacer("\u00a0", "", "\u202f", "", " ", "", "₽", "", ",", "").Replace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a rouble figure: %q", s)
	}
	return n
}

func TestCabinetPlanProgress(t *testing.T) {
	chrome := cabinetChromium(t)
	env := startCabinetProduct(t)
	ctx := env.ctx
	seller := seed.Participants[0]
	var clientID, programID, sellerID, skuID int64
	if err := env.d.db.QueryRow(ctx, `SELECT c.id, p.id, pa.id, (SELECT min(id) FROM skus WHERE client_id = c.id)
		FROM clients c JOIN programs p ON p.client_id = c.id AND p.status = 'live'
		JOIN participants pa ON pa.client_id = c.id AND pa.phone = $2 WHERE c.code = $1 ORDER BY p.id LIMIT 1`,
		seller.Client, seller.Phone).Scan(&clientID, &programID, &sellerID, &skuID); err != nil {
		t.Fatal(err)
	}
	bctx := phoneBrowser(t, chrome, 10*time.Minute)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	run("sign in",
		chromedp.Navigate(env.base+"/app/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SetValue(chromedp.ID("login"), seller.Login),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("scan-label")))
	// No plan: the points screen has no plan section.
	run("no plan", chromedp.Navigate(env.base+"/app/#/points"), chromedp.WaitVisible(chromedp.ID("available")))
	none, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('plans') === null`))
	if err != nil || !none {
		t.Fatalf("plan section shown without a plan (%v)", err)
	}

	// A plan of 100 000 ₽ this month; 70 % pays 5 000 ₽, 100 % 10 000 ₽,
	// 120 % 1,5 % of sales; a credited receipt of 80 000 ₽ of program goods.
	now := time.Now()
	period := plan.Current(plan.Month, now)
	store := plandb.New(env.d.db, ledgerdb.Postings{}, auditdb.New(env.d.db))
	by := plandb.Actor{Audit: audit.Actor{Kind: audit.System}}
	table := plan.Table{Measure: plan.Roubles, Rounding: plan.HalfUp, Tiers: []plan.Tier{
		{ThresholdBP: 7000, Kind: plan.Fixed, FixedKopecks: 500000, Name: "Минимальный"},
		{ThresholdBP: 10000, Kind: plan.Fixed, FixedKopecks: 1000000, Name: "Плановый"},
		{ThresholdBP: 12000, Kind: plan.PercentOfSales, RateBP: 150, Name: "Сверх плана"},
	}}
	if _, err := store.SetTable(ctx, by, clientID, programID, period, table, "план месяца"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetTargets(ctx, by, clientID, programID, period, []plandb.Target{{ParticipantID: sellerID, Value: 10000000}}, "план месяца"); err != nil {
		t.Fatal(err)
	}
	var rid string
	if err := env.d.db.QueryRow(ctx, `INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation,
			purchased_at, sum_kopecks, points_kopecks)
		VALUES ($1, $2, $3, 'credited', 'qr', '9999000000000077', 770001, 770001, 1, $4, 8000000, 0) RETURNING id`,
		clientID, sellerID, programID, now.UTC().Truncate(time.Second)).Scan(&rid); err != nil {
		t.Fatal(err)
	}
	if _, err := env.d.db.Exec(ctx, `INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id)
		VALUES ($1, 1, 'Краска', 8000000, 1000, 8000000, $2)`, rid, skuID); err != nil {
		t.Fatal(err)
	}

	run("plan shown", chromedp.Navigate(env.base+"/app/#/scan"), chromedp.WaitVisible(chromedp.ID("scan-label")),
		chromedp.Navigate(env.base+"/app/#/points"), chromedp.WaitVisible(chromedp.CSS(`#plans .plan .plan-next-payout`)))
	// The API's answer, fetched by the page with its own session.
	raw, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(async () => {
		const s = JSON.parse(localStorage.getItem('lj.session') || sessionStorage.getItem('lj.session'));
		const r = await fetch('/v1/plans/current', { headers: { Authorization: 'Bearer ' + s.access } });
		return await r.text(); })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		Plans []struct {
			ProgramID     int64  `json:"program_id"`
			Target        int64  `json:"target"`
			Actual        int64  `json:"actual"`
			PercentDone   string `json:"percent_done"`
			Tier          int    `json:"tier"`
			PayoutKopecks int64  `json:"payout_kopecks"`
			Next          *struct {
				ThresholdBP   int64 `json:"threshold_bp"`
				Remaining     int64 `json:"remaining"`
				PayoutKopecks int64 `json:"payout_kopecks"`
			} `json:"next"`
		} `json:"plans"`
	}
	if err := json.Unmarshal([]byte(raw), &api); err != nil || len(api.Plans) != 1 {
		t.Fatalf("GET /v1/plans/current: %s (%v)", raw, err)
	}
	p := api.Plans[0]
	// The fixture's own numbers, so the API is not trusted blindly either.
	if p.Target != 10000000 || p.Actual != 8000000 || p.PercentDone != "80.00" || p.Tier != 0 || p.PayoutKopecks != 500000 ||
		p.Next == nil || p.Next.ThresholdBP != 10000 || p.Next.Remaining != 2000000 || p.Next.PayoutKopecks != 1000000 {
		t.Fatalf("API answer %s", raw)
	}
	type shown struct{ Target, Actual, Percent, Tier, Next, Remaining, NextPayout string }
	sc, err := chromedp.Run(bctx, chromedp.Evaluate[shown](`(() => { const c = document.querySelector('#plans .plan'), q = (s) => c.querySelector(s).textContent;
		return { Target: q('.plan-target'), Actual: q('.plan-actual'), Percent: q('.plan-percent'), Tier: q('.plan-tier'),
			Next: q('.plan-next'), Remaining: q('.plan-remaining'), NextPayout: q('.plan-next-payout') }; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if kopecksOf(t, sc.Target) != p.Target || kopecksOf(t, sc.Actual) != p.Actual ||
		kopecksOf(t, sc.Remaining) != p.Next.Remaining || kopecksOf(t, sc.NextPayout) != p.Next.PayoutKopecks {
		t.Fatalf("screen %+v, API %s", sc, raw)
	}
	if strings.ReplaceAll(sc.Percent, "\u00a0", " ") != strings.Replace(p.PercentDone, ".", ",", 1)+" %" {
		t.Fatalf("percent shown %q, API %q", sc.Percent, p.PercentDone)
	}
	tier := strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(sc.Tier)
	if !strings.Contains(tier, "«Минимальный»") || !strings.Contains(tier, "5 000,00 ₽") {
		t.Fatalf("tier shown %q", sc.Tier)
	}
	if next := strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(sc.Next); !strings.Contains(next, "«Плановый» — 100 % плана") {
		t.Fatalf("next threshold shown %q", sc.Next)
	}
	checkTouchTargets(t, bctx, "points with a plan")
	if shots := os.Getenv("LJ_SCREENSHOTS"); shots != "" {
		if buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(shots, "cabinet-24-plan.png"), buf, 0o644)
		}
	}
}
