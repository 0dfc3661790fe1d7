package dashboard_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestBrowserFigures checks in headless Chromium that the figures of the
// dashboard hold together as a reader sees them: the settings page's budget
// numbers add up (with a sale and its return in the window), the rules read
// in Russian, the day chart has every day and round ticks, and a line
// marked «не наш товар» leaves the unmatched list and its count, also
// after a reload.
func TestBrowserFigures(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	v := &data.Vetluga
	sale := reporttest.AddReceipt(t, data.Receipts, v, &v.ShopIDs[0], 0, time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC), receipt.Credited)
	reporttest.AddReturn(t, data.Receipts, v, sale, time.Date(2026, 3, 11, 11, 0, 0, 0, time.UTC))
	// A second unmatched line, so marking one does not empty the list.
	bread := *v
	bread.Unmatched = "Хлеб белый нарезной"
	reporttest.AddReceipt(t, data.Receipts, &bread, &v.ShopIDs[0], 1, time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), receipt.Credited)
	var endsOn time.Time
	if err := db.QueryRow(t.Context(), `SELECT ends_on FROM programs WHERE id = $1`, v.ProgramID).Scan(&endsOn); err != nil {
		t.Fatal(err)
	}

	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: func() time.Time { return testNow }, Logger: quiet}).Register(app)
	base := serveApp(t, app)
	pb := fmt.Sprintf("%s/dashboard/p/%d", base, v.ProgramID)

	ctx := newBrowser(t, chrome, 10*time.Minute)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(js string) []int64 {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[[]int64](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return n
	}

	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), v.ManagerEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(".kpis")),
	)

	// Budget: the numbers on the page, as the browser has them.
	run("settings", chromedp.Navigate(pb+"/settings"), chromedp.WaitVisible(chromedp.ID("budget")))
	attr := func(id, name string) int64 {
		t.Helper()
		return eval(fmt.Sprintf(`[Number(document.getElementById(%q).dataset.%s)]`, id, name))[0]
	}
	b := budgetPage{Budget: attr("budget-total", "kopecks"), Funded: attr("budget-total", "funded"),
		Spent: attr("budget-spent", "kopecks"), Balance: attr("budget-balance", "kopecks"),
		Burn: attr("burn", "kopecks"), Window: attr("burn", "window"), Days: attr("burn", "days"),
		Months:   eval(`[...document.querySelectorAll("tr.budget-month")].map(r => Number(r.dataset.kopecks))`),
		Forecast: text("#forecast")}
	b.addsUp(t, testNow, endsOn)
	// March: two receipts and the bread's (150 points each), the sale
	// (150) less its return (150): 450 points in 30 days.
	if b.Window != 45000 || b.Burn != 1500 {
		t.Errorf("burn window %d, rate %d: the return must be subtracted once (450 points in 30 days)", b.Window, b.Burn)
	}
	// The shown texts are the same numbers.
	if got, want := text("#budget-balance"), kpi.Points(b.Balance); got != want {
		t.Errorf("remaining shows %q, want %q", got, want)
	}

	// Rules read in Russian; the JSON only behind its disclosure.
	rules := text("#rules")
	if !strings.Contains(rules, "5\u00a0% от суммы строки × вес SKU") || !strings.Contains(rules, "Не больше 500\u00a0₽ за один чек.") ||
		strings.Contains(rules, "percent_bp") {
		t.Errorf("rules section reads %q", rules)
	}

	// The day chart: every day from 1 February to today, round ticks.
	run("overview", chromedp.Navigate(pb+"/overview?from=2026-02&to=2026-03"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	if n := len(eval(`[...document.querySelectorAll("svg.chart rect.bar")].map(() => 1)`)); n != 43 {
		t.Errorf("the day chart has %d bars, want 43 (1 February – 15 March)", n)
	}
	ticks := eval(`[...document.querySelectorAll("svg.chart text.tick")].map(e => Number(e.textContent.replace(/\D/g, "")))`)
	if len(ticks) < 2 || ticks[len(ticks)-1] != 0 || !roundNumber.MatchString(fmt.Sprint(ticks[0]-ticks[1])) {
		t.Errorf("chart ticks %v are not 1-2-5 steps", ticks)
	}

	// Unmatched: mark the air freshener «не наш товар».
	run("unmatched", chromedp.Navigate(pb+"/unmatched"), chromedp.WaitVisible(chromedp.ID("unmatched")))
	before := text("#unmatched-count")
	rows := func() string { return text("#unmatched tbody") }
	if before != "2" || !strings.Contains(rows(), v.Unmatched) {
		t.Fatalf("unmatched before: count %s, rows %q", before, rows())
	}
	run("mark foreign",
		chromedp.Click(chromedp.Search(fmt.Sprintf(`//table[@id="unmatched"]//tr[td[@class="line-name"][text()=%q]]//button[@class="foreign"]`, v.Unmatched))),
		chromedp.WaitVisible(chromedp.CSS("p.ok")))
	check := func(when string) {
		t.Helper()
		if n := text("#unmatched-count"); n != "1" || strings.Contains(rows(), v.Unmatched) || !strings.Contains(rows(), "Хлеб белый нарезной") {
			t.Errorf("%s: count %s, rows %q", when, n, rows())
		}
		if f := text("#foreign"); !strings.Contains(f, v.Unmatched) {
			t.Errorf("%s: marked lines %q", when, f)
		}
	}
	check("after marking")
	run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("unmatched")))
	check("after a reload")
	run("logout", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("email")))
}
