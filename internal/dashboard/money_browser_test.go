package dashboard_test

import (
	"context"
	"fmt"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
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
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/peopledb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// A manager in a real browser tops up the budget with the page's form,
// sees the new balance and the history line, switches the program to
// review at zero, and blocks a participant with a reason shown on the
// participant page.
func TestBrowserBudgetAndPeople(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	quiet := slog.New(slog.DiscardHandler)
	rec := auditdb.New(db)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: func() time.Time { return testNow }, Logger: quiet,
		Budgets: budgetdb.New(db, ledgerdb.Postings{}, rec, quiet), People: peopledb.New(db, ledgerdb.Postings{}, rec, secondApproval)}).Register(app)
	base := serveApp(t, app)
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t, chrome, 10*time.Minute)
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
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+"`"+sel+"`"+`).innerText`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	v := data.Vetluga
	pb := fmt.Sprintf("%s/dashboard/p/%d", base, v.ProgramID)
	run("sign in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), v.ManagerEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(".kpis")))
	run("budget page", chromedp.Navigate(pb+"/budget"), chromedp.WaitVisible(chromedp.ID("budget-top-up")))
	before := text("#budget-funded")
	run("top up",
		chromedp.SetValue(chromedp.ID("top-up-amount"), "50 000"),
		chromedp.SetValue(chromedp.ID("top-up-document"), "Платёжное поручение № 31 от 07.12.2026"),
		chromedp.Click(chromedp.ID("top-up-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#budget-done[data-done="topup"]`)),
		shot("budget-01-topped-up"))
	if after := text("#budget-funded"); after == before || !strings.Contains(text("#top-ups"), "Платёжное поручение № 31") {
		t.Fatalf("after the top-up: funded %q → %q, history %q", before, after, text("#top-ups"))
	}
	run("review at zero",
		chromedp.Click(chromedp.ID("at-zero-review")),
		chromedp.Click(chromedp.ID("settings-btn")),
		// The top-up's notice is still on the page: wait for the settings'.
		chromedp.WaitVisible(chromedp.CSS(`#budget-done[data-done="settings"]`)))
	var atZero string
	if err := db.QueryRow(t.Context(), `SELECT budget_at_zero FROM programs WHERE id = $1`, v.ProgramID).Scan(&atZero); err != nil || atZero != "review" {
		t.Fatalf("at zero %q %v", atZero, err)
	}
	run("block a participant",
		chromedp.Navigate(fmt.Sprintf("%s/participants/%d", pb, v.Participants[0])),
		chromedp.WaitVisible(chromedp.ID("block-reason")),
		chromedp.SetValue(chromedp.ID("block-reason"), "чеки чужого магазина"),
		chromedp.Click(chromedp.ID("block-btn")),
		chromedp.WaitVisible(chromedp.ID("blocked-reason")),
		shot("budget-02-blocked"))
	if r := text("#blocked-reason"); r != "чеки чужого магазина" {
		t.Fatalf("blocked reason on the page: %q", r)
	}
}
