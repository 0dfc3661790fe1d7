package dashboard_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestBrowserRedemptions drives the orders page in headless Chromium as
// the platform operator: the three orders, the status filter, approving the
// order waiting for a moderator and voiding the queued one.
func TestBrowserRedemptions(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	w := newRewardsWorld(t)
	base := serveApp(t, w.app)
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx := newBrowser(t, chrome, time.Minute)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	pb := fmt.Sprintf("%s/dashboard/p/%d/redemptions", base, w.data.Vetluga.ProgramID)
	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), "operator@loyaltyjam.demo"),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitNotPresent(chromedp.ID("signin")),
	)
	run("orders", chromedp.Navigate(pb), chromedp.WaitVisible(chromedp.ID("orders")))
	if n := count("#orders tbody tr[data-status]"); n != 3 {
		t.Fatalf("%d orders shown, want 3", n)
	}
	run("filter delivered",
		chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "delivered"),
		chromedp.Click(chromedp.CSS(`#filters button[type="submit"]`)),
		// The unfiltered page has a delivered row too: wait for the
		// filtered page to replace it (the order awaiting moderation gone).
		chromedp.WaitNotPresent(chromedp.CSS(`#orders tr[data-status="moderation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#orders tr[data-status="delivered"]`)))
	if n := count("#orders tbody tr[data-status]"); n != 1 {
		t.Fatalf("%d orders after the filter, want 1", n)
	}
	run("approve",
		chromedp.Navigate(pb),
		chromedp.WaitVisible(chromedp.ID("orders")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"] button.approve`, w.waiting.ID))),
		chromedp.WaitVisible(chromedp.ID("flash")))
	run("void",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"] button.void`, w.queued.ID))),
		chromedp.WaitVisible(chromedp.ID("flash")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-id="%s"][data-status="failed"]`, w.queued.ID))))
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		_ = os.WriteFile(filepath.Join(shots, "20-redemptions.png"), buf, 0o644)
	}
	for id, want := range map[string]reward.Status{w.waiting.ID: reward.Queued, w.queued.ID: reward.Failed, w.delivered.ID: reward.Delivered} {
		r, err := w.store.Load(t.Context(), id)
		if err != nil || r.Status != want {
			t.Errorf("order %s: %s %v, want %s", id, r.Status, err, want)
		}
	}
}

// TestBrowserRewardOffers drives the spending block and the offers and
// limits page in headless Chromium as the client manager: the orders page
// shows the spending, its link opens the offers page, the limits form
// saves (the row changes).
func TestBrowserRewardOffers(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	w := newRewardsWorld(t)
	base := serveApp(t, w.app)
	ctx := newBrowser(t, chrome, time.Minute)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	v := w.data.Vetluga
	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), v.ManagerEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitNotPresent(chromedp.ID("signin")),
	)
	run("orders", chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/redemptions", base, v.ProgramID)),
		chromedp.WaitVisible(chromedp.ID("reward-spending")))
	price, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("reward-spending").dataset.price`))
	if err != nil || price != fmt.Sprint(int64(w.delivered.Price)) {
		t.Fatalf("spending shows %q (%v), want %d", price, err, w.delivered.Price)
	}
	run("offers page",
		chromedp.Click(chromedp.ID("reward-offers-link")),
		chromedp.WaitVisible(chromedp.ID("limits-form")),
		chromedp.SetValue(chromedp.CSS(`#limits-form input[name="per_order"]`), "1500"),
		chromedp.SetValue(chromedp.CSS(`#limits-form input[name="reason"]`), "тест"),
		chromedp.Click(chromedp.CSS(`#limits-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("flash")))
	var perOrder int64
	if err := w.db.QueryRow(t.Context(), `SELECT per_order_kopecks FROM reward_limits WHERE program_id = $1`, v.ProgramID).Scan(&perOrder); err != nil || perOrder != 150000 {
		t.Fatalf("per order limit %d (%v), want 150000", perOrder, err)
	}
}
