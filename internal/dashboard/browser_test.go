package dashboard_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	encsv "encoding/csv"
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
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
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
// moderation queue, a task created through its form and a report approved
// in the task queue, a points registry uploaded, previewed and confirmed,
// and an export download. Screenshots go to
// $LJ_SCREENSHOTS (e.g. docs/screenshots/run-1, git-ignored) or a temp dir.
func TestBrowser(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testNow }
	tasks := taskdb.New(db, photos, ledgerdb.Postings{}, taskdb.WithClock(now), taskdb.WithLogger(quiet), taskdb.WithNotifier(notifydb.Notifier{}))
	registries := registry.NewService(registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithCreditSubscribers(notifydb.Notifier{})), registry.EnqueueFunc(func(context.Context, int64, string) error { return nil }),
		registry.Config{SecondApprovalKopecks: secondApproval, Logger: quiet, Now: now})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Photos: photos, Now: now, Logger: quiet,
		Tasks: tasks, Registries: registries}).Register(app)
	// A receipt photo (the first in the moderation queue).
	receiptPhoto := shelfPhoto(t, 11)
	photoHash := attachPhoto(t, db, photos, data.Vetluga.Review[0], receiptPhoto)
	base := serveApp(t, app)

	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	ctx := newBrowser(t, chrome, 10*time.Minute) // a bound on a hang: about 15 s alone, CI shares 2 cores

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

	// The receipt photo: the browser receives the stored bytes.
	run("receipt photo", chromedp.Navigate(fmt.Sprintf("%s/receipts/%s", pb, v.Review[0])), chromedp.WaitVisible(chromedp.CSS("img.photo")),
		shot("05-receipt-photo"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("img.photo").complete`)); err != nil {
		t.Fatalf("receipt photo never settles: %v", err)
	}
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("img.photo").src).then(r => r.arrayBuffer()).then(b => {
		let s = ""; new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); return btoa(s) })`, chromedp.EvalAwaitPromise))
	if got, derr := base64.StdEncoding.DecodeString(b64); err != nil || derr != nil || sha256.Sum256(got) != photoHash {
		t.Errorf("receipt photo: %d bytes of %d arrived (%v %v)", len(got), len(receiptPhoto), err, derr)
	}
	loadedPhoto, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("img.photo").naturalWidth > 0`))
	if err != nil || !loadedPhoto {
		t.Errorf("receipt photo does not show: %v", err)
	}

	// Filter the receipts by status, go to page 2, export the filter:
	// first enough credited receipts for a second page.
	for i := range 55 {
		reporttest.AddReceipt(t, data.Receipts, &v, &v.ShopIDs[0], i%3, time.Date(2026, 3, 1+i%14, 9, i, 0, 0, time.UTC),
			receipt.Credited)
	}
	run("filter receipts", chromedp.Navigate(pb+"/receipts"), chromedp.WaitVisible(chromedp.ID("receipts")),
		chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "credited"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("next-page")), shot("04-receipts-credited"))
	rowsOf := func() []string {
		t.Helper()
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#receipts tbody tr")].map(tr =>
			tr.querySelector("a.receipt-link").href.split("/").pop() + " " + tr.querySelector(".st").className.split("st-")[1])`))
		if err != nil {
			t.Fatalf("receipt rows: %v", err)
		}
		return ids
	}
	shown := rowsOf()
	run("page 2", chromedp.Click(chromedp.ID("next-page")), chromedp.WaitVisible(chromedp.ID("receipts")), shot("04-receipts-credited-2"))
	shown = append(shown, rowsOf()...)
	seenRow := map[string]bool{}
	var shownIDs []string
	for _, r := range shown {
		id, st, _ := strings.Cut(r, " ")
		if seenRow[id] || st != "credited" {
			t.Errorf("filtered pages: receipt %s in status %s (repeated %v)", id, st, seenRow[id])
		}
		seenRow[id] = true
		shownIDs = append(shownIDs, id)
	}
	var wantIDs []string
	if err := db.QueryRow(t.Context(), `SELECT array_agg(id::text ORDER BY purchased_at DESC, id DESC) FROM receipts WHERE program_id = $1
		AND status = 'credited' AND purchased_at >= '2026-01-01' AND purchased_at < '2026-04-01'`, v.ProgramID).Scan(&wantIDs); err != nil {
		t.Fatal(err)
	}
	if strings.Join(shownIDs, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("filtered pages show %d receipts, the filter holds %d", len(shownIDs), len(wantIDs))
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

	// Tasks: create one through the form, two participants report with the
	// same photo, approve the first report in the queue.
	run("task form", chromedp.Navigate(pb+"/tasks"), chromedp.WaitVisible(chromedp.ID("tasks")),
		chromedp.Click(chromedp.ID("new-task")), chromedp.WaitVisible(chromedp.ID("task-form")),
		chromedp.SetValue(chromedp.ID("title"), "Выкладка антифриза на полке"),
		chromedp.SetValue(chromedp.ID("instructions"), "Выставьте антифриз на уровне глаз и сфотографируйте полку целиком."),
		chromedp.SetValue(chromedp.ID("reward"), "300"),
		chromedp.SetValue(chromedp.ID("geofence_meters"), "300"),
		chromedp.SetValue(chromedp.ID("checklist"), "Ценник на месте?"),
		shot("12-task-new"),
		chromedp.Click(chromedp.ID("create-task")), chromedp.WaitVisible(chromedp.CSS("p.ok")), shot("11-tasks"))
	st := staffOf(t, db, v.ManagerEmail)
	list, err := tasks.Tasks(t.Context(), st, v.ClientID, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("tasks after the form: %d %v", len(list), err)
	}
	photo := shelfPhoto(t, 3)
	var subs []int64
	for _, i := range []int{0, 2} {
		var role string
		var lat, lon float64
		if err := db.QueryRow(t.Context(), `SELECT p.role, s.lat, s.lon FROM participants p JOIN shops s ON s.id = p.shop_id WHERE p.id = $1`,
			v.Participants[i]).Scan(&role, &lat, &lon); err != nil {
			t.Fatal(err)
		}
		p := taskdb.Participant{ID: v.Participants[i], ClientID: v.ClientID, Role: role}
		sub, err := tasks.Take(t.Context(), p, list[0].ID, 0)
		if err == nil {
			lat += 0.0004
			sub, err = tasks.Submit(t.Context(), p, sub.ID, taskdb.Upload{Photos: [][]byte{photo}, Answers: []byte(`{"q1": true}`),
				Comment: "Выложил, фото прилагаю", Lat: &lat, Lon: &lon, CapturedAt: testNow.Add(-10 * time.Minute)})
		}
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		subs = append(subs, sub.ID)
	}
	run("task queue", chromedp.Navigate(pb+"/tasks/queue"), chromedp.WaitVisible(chromedp.ID("task-queue")),
		chromedp.WaitVisible(chromedp.CSS("#task-queue img.photo")), shot("13-task-queue"))
	if n := count("#task-queue .flag-duplicate_photo"); n != 1 {
		t.Errorf("queue shows %d duplicate-photo flags, want 1", n)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("#task-queue img.photo")].every(i => i.complete && i.naturalWidth > 0)`))
	if err != nil || !loaded {
		t.Errorf("report photos did not load: %v", err)
	}
	before = count("#task-queue button.approve")
	run("approve a report", chromedp.Click(chromedp.CSS("#task-queue button.approve")), chromedp.WaitVisible(chromedp.CSS("p.ok")),
		shot("13-task-queue-approved"))
	if after := count("#task-queue button.approve"); before != 2 || after != 1 {
		t.Errorf("task queue: %d → %d reports", before, after)
	}
	var credited int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM ledger_transactions WHERE idempotency_key = ANY($1)`,
		[]string{task.RewardKey(subs[0]), task.RewardKey(subs[1])}).Scan(&credited); err != nil || credited != 1 {
		t.Errorf("approval posted %d ledger transactions (%v), want 1", credited, err)
	}
	run("report page", chromedp.Navigate(fmt.Sprintf("%s/tasks/submissions/%d", pb, subs[1])),
		chromedp.WaitVisible(chromedp.CSS(".submission")), shot("14-task-report"))

	// Registries: upload a small points registry and read its preview.
	csv := filepath.Join(t.TempDir(), "баллы-февраль.csv")
	if err := os.WriteFile(csv, []byte("Телефон;Баллы;Комментарий\r\n+79990000001;1 500;План февраля\r\n+79990000002;250,50;\r\n+79990000003;800;Мерчендайзинг\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("registries", chromedp.Navigate(pb+"/registries"), chromedp.WaitVisible(chromedp.ID("upload-points")), shot("15-registries"),
		chromedp.SetValue(chromedp.ID("points-period"), "2026-02"),
		chromedp.SetUploadFiles(chromedp.ID("points-file"), []string{csv}),
		chromedp.Click(chromedp.ID("upload-points-btn")),
		chromedp.WaitVisible(chromedp.ID("lines")), shot("16-registry-preview"))
	total, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("credit-total")))
	if n := count("#lines tbody tr"); n != 3 || total != kpi.Points(255050) {
		t.Errorf("registry preview: %d lines, credit %q", n, total)
	}
	run("confirm registry", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("progress")),
		shot("17-registry-progress"))

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
	download := func(file string) []byte {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var got []byte
		for time.Now().Before(deadline) {
			if got, err = os.ReadFile(filepath.Join(downloads, file)); err == nil && len(got) > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond) // waiting for the browser's file, not timing an assertion
		}
		return got
	}
	if got := download("sales-sku-2026-02-2026-03.csv"); !strings.Contains(string(got), "VT-1001") {
		t.Errorf("downloaded sales export: %q", got)
	}
	// The receipts export of the filtered list holds exactly its rows.
	run("receipts export", chromedp.Navigate(pb+"/receipts?status=credited"), chromedp.WaitVisible(chromedp.ID("export-csv")),
		chromedp.Click(chromedp.ID("export-csv")))
	name := "receipts-" + time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) + "-2026-03-31.csv"
	cr := encsv.NewReader(strings.NewReader(strings.TrimPrefix(string(download(name)), "\ufeff")))
	cr.Comma = ';'
	table, err := cr.ReadAll()
	if err != nil || len(table) < 2 {
		t.Fatalf("receipts export %s: %v", name, err)
	}
	var exported []string
	for _, row := range table[1:] {
		exported = append(exported, row[0])
		if row[4] != "credited" {
			t.Errorf("receipts export: %s in status %s", row[0], row[4])
		}
	}
	if strings.Join(exported, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("receipts export holds %d receipts, the filtered list %d", len(exported), len(wantIDs))
	}
	run("logout", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("email")))
	t.Logf("screenshots in %s", shots)
}

// needChromium returns the path of the headless browser, or skips the test
// (no chromium installed, or -short).
func needChromium(t *testing.T) string {
	t.Helper()
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium): skipping the browser test")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	return chrome
}

// serveApp serves app on a loopback port for the test's life and returns
// its base URL.
func serveApp(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// newBrowser starts headless Chromium for the test; deadline bounds the
// whole browser session.
func newBrowser(t *testing.T, chrome string, deadline time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
	}
	tctx, cancelT := context.WithTimeout(context.Background(), deadline)
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA(); cancelT() })
	return ctx
}
