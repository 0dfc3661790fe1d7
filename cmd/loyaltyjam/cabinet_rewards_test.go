// The cabinet's rewards and tax screens against the participant routes
// of issues 17 and 18 (GET /v1/rewards, POST/GET /v1/redemptions,
// GET /v1/redemptions/{id}, GET /v1/me/tax-profile, GET /v1/me/consents),
// with the worker placing the order through the real Giftery client at
// the Giftery simulator (startCabinetProduct starts both, as `dev` does).

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestCabinetRewardsAndTax: the demo seller orders a 500 ₽ Giftery
// certificate in the browser; the worker places it with the simulator and
// the screen, refreshing itself while the order is open, shows the
// delivered code — the same code the owner's GET /v1/redemptions/{id}
// opens; the points were spent once. The tax screen shows the profile and
// the consents.
func TestCabinetRewardsAndTax(t *testing.T) {
	chrome := cabinetChromium(t)
	env := startCabinetProduct(t)
	seller := seed.Participants[0]
	ctx := env.ctx
	// The operator's catalog: synced from the providers' product lists,
	// and one certificate offered in the seller's program.
	store := env.d.rewardStore()
	gift, ok := rewardProviders(env.d).Provider("giftery")
	if !ok {
		t.Fatal("giftery is not configured")
	}
	products, err := gift.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The worker syncs the catalog at start too: a sync that loses the race
	// with it is tried again.
	for i := 0; ; i++ {
		if _, err = store.SyncProducts(ctx, "giftery", products); err == nil || i == 5 {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	var clientID, programID, rewardID, sellerID int64
	if err := env.d.db.QueryRow(ctx, `SELECT c.id, p.id, pa.id FROM clients c JOIN programs p ON p.client_id = c.id AND p.status = 'live'
		JOIN participants pa ON pa.client_id = c.id AND pa.phone = $2 WHERE c.code = $1 ORDER BY p.id LIMIT 1`,
		seller.Client, seller.Phone).Scan(&clientID, &programID, &sellerID); err != nil {
		t.Fatal(err)
	}
	if err := env.d.db.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '13103'`).Scan(&rewardID); err != nil {
		t.Fatalf("the Giftery catalog was not synced: %v", err)
	}
	if err := postgres.WithTx(ctx, env.d.db, func(tx pgx.Tx) error {
		if _, err := store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: clientID, ProgramID: programID, RewardID: rewardID, Available: true}); err != nil {
			return err
		}
		// Enough points for a 500 ₽ certificate, credited as a receipt would.
		_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "cabinet-rewards-test", Kind: ledger.KindReceiptCredit,
			ClientID: clientID, ProgramID: programID, ParticipantID: sellerID, Postings: ledger.Credit(clientID, programID, sellerID, 60000, false)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	availBefore, err := ledgerdb.AccountBalance(ctx, env.d.db, ledger.AvailableAccount(clientID, programID, sellerID))
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bctx := phoneBrowser(t, chrome, 10*time.Minute)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "cabinet-"+name+".png"), buf, 0o644)
		})
	}
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
	run("catalog", chromedp.Navigate(env.base+"/app/#/rewards"), chromedp.WaitVisible(chromedp.CSS(`#rewards button[data-face="50000"]:not([disabled])`)), shot("20-rewards"))
	run("redeem", chromedp.Click(chromedp.CSS(`#rewards button[data-face="50000"]`)), chromedp.WaitVisible(chromedp.ID("redeemed")),
		shot("21-redeemed"))
	run("delivered code", chromedp.WaitVisible(chromedp.CSS(`#orders li[data-status="delivered"] .code`)), shot("22-orders"))
	code, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#orders li[data-status="delivered"] .code').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	// The order as stored: delivered once, its code the one shown, the
	// points spent once.
	var id string
	var n int
	if err := env.d.db.QueryRow(ctx, `SELECT max(id::text), count(*) FROM redemptions WHERE participant_id = $1 AND status = 'delivered'`, sellerID).Scan(&id, &n); err != nil || n != 1 {
		t.Fatalf("delivered orders: %d, %v", n, err)
	}
	got, err := store.ForParticipant(ctx, sellerID, id)
	if err != nil {
		t.Fatal(err)
	}
	if code == "" || got.Code != code {
		t.Fatalf("the screen shows code %q, the order's is %q", code, got.Code)
	}
	availAfter, err := ledgerdb.AccountBalance(ctx, env.d.db, ledger.AvailableAccount(clientID, programID, sellerID))
	if err != nil {
		t.Fatal(err)
	}
	if availBefore-availAfter != int64(got.Price) {
		t.Fatalf("available %d → %d for a price of %d", availBefore, availAfter, got.Price)
	}
	run("tax profile", chromedp.Navigate(env.base+"/app/#/tax"), chromedp.WaitVisible(chromedp.ID("tax-state")),
		chromedp.WaitVisible(chromedp.ID("tax-year")), chromedp.WaitVisible(chromedp.ID("consents")), shot("23-tax"))
}
