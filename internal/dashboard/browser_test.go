package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// chromiumPath finds Debian's chromium (or Chrome).
func chromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// TestBrowser drives the dashboard in headless Chromium: sign in, every
// page, drill-down from the overview to a receipt, an approval in the
// moderation queue and an export download. Screenshots go to
// $LJ_SCREENSHOTS (e.g. docs/screenshots/run-1, git-ignored) or a temp dir.
func TestBrowser(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium): skipping the browser test")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	t.Parallel()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{DB: db, Receipts: data.Receipts, Now: func() time.Time { return testNow }, Logger: quiet}).Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	base := "http://" + ln.Addr().String()

	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
	}
	// The deadline bounds the whole browser session.
	tctx, cancelT := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelT()
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
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
	v := data.Vetluga
	pb := fmt.Sprintf("%s/dashboard/p/%d", base, v.ProgramID)

	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		shot("01-login"),
		chromedp.SetValue(chromedp.ID("email"), v.ManagerEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(".kpis")),
	)
	run("overview", chromedp.Navigate(pb+"/overview?from=2026-02&to=2026-03"), chromedp.WaitVisible(chromedp.CSS("svg.chart")),
		shot("02-overview"))
	title, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-kpi="participation"]`), "title"))
	if err != nil || !strings.Contains(title.Value, "÷") {
		t.Errorf("participation KPI has no formula on hover: %q %v", title.Value, err)
	}

	// Drill down: verified units → the receipts behind them → one receipt.
	run("drill-down to receipts",
		chromedp.Click(chromedp.CSS(`[data-kpi="verified_units"] a`)),
		chromedp.WaitVisible(chromedp.ID("receipts")),
		shot("04-receipts"))
	if n := count("a.receipt-link"); n != 5 {
		t.Errorf("drill-down lists %d receipts, want the 5 verified sales", n)
	}
	run("drill-down to a receipt",
		chromedp.Click(chromedp.CSS("a.receipt-link")),
		chromedp.WaitVisible(chromedp.ID("items")),
		shot("05-receipt"))
	if n := count("#items tbody tr"); n != 3 {
		t.Errorf("receipt page shows %d item rows, want 3", n)
	}

	pages := []struct{ name, path, wait string }{
		{"03-sales-sku", "/sales?from=2026-02&to=2026-03", "#sales"},
		{"03-sales-chain", "/sales?by=chain&from=2026-02&to=2026-03", "#sales"},
		{"07-unmatched", "/unmatched", "#unmatched"},
		{"08-participants", "/participants?from=2026-02&to=2026-03", "#participants"},
		{"09-participant", fmt.Sprintf("/participants/%d", v.Participants[0]), "#timeline"},
		{"10-settings", "/settings", "#budget"},
	}
	for _, p := range pages {
		run(p.name, chromedp.Navigate(pb+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), shot(p.name))
	}

	// Moderation: approve the first receipt of the queue.
	run("moderation", chromedp.Navigate(pb+"/moderation"), chromedp.WaitVisible(chromedp.ID("queue")), shot("06-moderation"))
	before := count("#queue button.approve")
	run("approve", chromedp.Click(chromedp.CSS("#queue button.approve")), chromedp.WaitVisible(chromedp.CSS("p.ok")),
		shot("06-moderation-approved"))
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.ok")))
	if after := count("#queue button.approve"); before != 2 || after != 1 || !strings.Contains(flash, "подтверждён") {
		t.Errorf("moderation: %d → %d receipts, flash %q", before, after, flash)
	}

	// Export: download the sales table as CSV.
	run("export",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			events := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: &events})
			return err
		}),
		chromedp.Navigate(pb+"/sales?from=2026-02&to=2026-03"),
		chromedp.WaitVisible(chromedp.ID("export-csv")),
		chromedp.Click(chromedp.ID("export-csv")),
	)
	file := filepath.Join(downloads, "sales-sku-2026-02-2026-03.csv")
	deadline := time.Now().Add(30 * time.Second)
	var got []byte
	for time.Now().Before(deadline) {
		if got, err = os.ReadFile(file); err == nil && len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond) // waiting for the browser's file, not timing an assertion
	}
	if !strings.Contains(string(got), "VT-1001") {
		t.Errorf("downloaded export %s: %q", file, got)
	}
	run("logout", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("email")))
	t.Logf("screenshots in %s", shots)
}
