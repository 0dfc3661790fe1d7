package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestBrowserPrograms drives the program pages in headless Chromium: a
// client manager creates a program, sets its rules in the editor, dry-runs
// a receipt, moves it draft → test → live, and a seller's receipt is then
// credited in both of the client's live programs, shown per program on the
// receipt page. Screenshots go to $LJ_SCREENSHOTS or a temp dir.
func TestBrowserPrograms(t *testing.T) {
	chrome := needChromium(t)
	// Not parallel: it runs before the package's parallel tests, so two
	// Chromiums never compete with TestBrowser's session deadline.
	ctx := context.Background()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	v := data.Vetluga
	// The demo program keeps running past the data set's dates.
	_, err := db.Exec(ctx, `UPDATE programs SET ends_on = '2099-12-31' WHERE id = $1`, v.ProgramID)
	must(t, err)
	quiet := slog.New(slog.DiscardHandler)
	pts := points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{})
	store := programdb.New(db)
	svc := program.NewService(store, auditdb.New(db), ledgerdb.New(db), nil)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable,
		Receipts: data.Receipts, Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Logger: quiet,
		Programs: &dashboard.Programs{Service: svc, Receipts: store, Matcher: pts, Outcomes: store.Results}}).Register(app)
	base := serveApp(t, app)
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	must(t, os.MkdirAll(shots, 0o755))
	bctx := newBrowser(t, chrome, 10*time.Minute)
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
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	var skuName string
	must(t, db.QueryRow(ctx, `SELECT name FROM skus WHERE client_id = $1 ORDER BY code LIMIT 1`, v.ClientID).Scan(&skuName))

	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), v.ManagerEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("nav-programs")))
	run("create a program",
		chromedp.Click(chromedp.ID("nav-programs")),
		chromedp.WaitVisible(chromedp.ID("create-program")),
		chromedp.SetValue(chromedp.ID("p-name"), "Раскатка: антифриз"),
		chromedp.SetValue(chromedp.ID("p-code"), "rollout"),
		chromedp.SetValue(chromedp.ID("p-starts"), "2026-01-01"),
		chromedp.SetValue(chromedp.ID("p-ends"), "2099-12-31"),
		shot("p01-programs"),
		chromedp.Click(chromedp.ID("create-program-btn")),
		chromedp.WaitVisible(chromedp.ID("program-facts")),
		shot("p02-draft"))
	if st := eval(`document.getElementById("program-status").dataset.status`); st != "draft" {
		t.Fatalf("new program is %q", st)
	}
	run("set rules: 10 % of every SKU",
		chromedp.SetValue(chromedp.ID("earn-value-0"), "10"),
		chromedp.Click(chromedp.ID("save-rules")),
		chromedp.WaitVisible(chromedp.ID("flash")),
		shot("p03-rules"))
	if n := eval(`String(document.querySelectorAll("#rules-versions .version").length)`); n != "1" {
		t.Fatalf("%s rules versions shown", n)
	}
	if d := eval(`document.querySelector("#rules-versions .version").innerText`); !strings.Contains(d, "10\u00a0% от суммы строки") {
		t.Errorf("version described as %q", d)
	}
	run("dry-run typed lines",
		chromedp.SetValue(chromedp.ID("dry-lines"), skuName+"; 2; 1000\nХлеб белый; 1; 50"),
		chromedp.Click(chromedp.ID("dry-run-btn")),
		chromedp.WaitVisible(chromedp.ID("dry-result")),
		shot("p04-dry-run"))
	reasons := eval(`[...document.querySelectorAll('.dry-version[data-version="1"] .dry-line')].map(x => x.dataset.reason).join(",")`)
	total := eval(`document.querySelector('.dry-version[data-version="1"]').dataset.total`)
	if reasons != "earned,not_matched" || total == "0" {
		t.Fatalf("dry run: lines %q, total %s", reasons, total)
	}
	run("to test", chromedp.Click(chromedp.ID("to-test")), chromedp.WaitVisible(chromedp.CSS(`#program-status[data-status="test"]`)))
	run("to live", chromedp.Click(chromedp.ID("to-live")), chromedp.WaitVisible(chromedp.CSS(`#program-status[data-status="live"]`)),
		shot("p05-live"))

	// The new program's budget (topped up by the budget pages, not built
	// here), then a seller's receipt through the real points service.
	var newID int64
	must(t, db.QueryRow(ctx, `SELECT id FROM programs WHERE client_id = $1 AND code = 'rollout'`, v.ClientID).Scan(&newID))
	_, err = db.Exec(ctx, `UPDATE programs SET budget_kopecks = 10000000 WHERE id = $1`, newID)
	must(t, err)
	must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error { _, err := ledgerdb.SyncBudget(ctx, tx, newID); return err }))
	part := v.Participants[0]
	var inn, kkt, addr string
	must(t, db.QueryRow(ctx, `SELECT COALESCE(s.inn, ''), s.kkt_reg_numbers[1], s.address FROM participants p JOIN shops s ON s.id = p.shop_id
		WHERE p.id = $1`, part).Scan(&inn, &kkt, &addr))
	y := time.Now().UTC().AddDate(0, 0, -1)
	r := &receipt.Receipt{ClientID: v.ClientID, ParticipantID: part, Source: receipt.SourceQR, FN: "9999000000004242", FD: 4242, FP: 4242,
		Operation: 1, PurchasedAt: time.Date(y.Year(), y.Month(), y.Day(), 12, 0, 0, 0, time.UTC), SumKopecks: 100000}
	must(t, r.Transition(receipt.Verified, "test", "ofd_verified", nil))
	_, err = data.Receipts.Create(ctx, r)
	must(t, err)
	must(t, data.Receipts.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		x.Items = []receipt.Item{{LineNo: 1, Name: skuName, PriceKopecks: 50000, QuantityMilli: 2000, SumKopecks: 100000}}
		x.ItemsChanged = true
		x.SellerINN, x.KKTRegNumber, x.RetailAddress = inn, kkt, addr
		return nil
	}))
	must(t, data.Receipts.Modify(ctx, r.ID, pts.Process))
	run("the receipt, per program",
		chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/receipts/%s", base, v.ProgramID, r.ID)),
		chromedp.WaitVisible(chromedp.ID("by-program")),
		shot("p06-receipt-two-programs"))
	if n := eval(`String(document.querySelectorAll("#by-program tr.prog-outcome.st-credited").length)`); n != "2" {
		t.Fatalf("%s programs credited the receipt, want 2: %s", n, eval(`document.getElementById("by-program").innerText`))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
