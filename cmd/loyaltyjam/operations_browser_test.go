package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestOperationsInBrowser is issue 16's whole flow in headless Chromium,
// against the product wired as `dev` wires it (startCabinetProduct: the
// API, the dashboard, the worker, the OFD, SMS and e-mail simulators):
// the operator creates a client, imports its shop and invites its
// manager; the manager sets a password from the e-mailed link, signs in,
// imports the catalog, creates two receipt programs, sets their rules,
// dry-runs a receipt, tops up both budgets, moves both draft → test,
// registers a seller with a participant registry and flags the seller a
// tester; the seller (through /v1, as the app does) signs in with the SMS
// code and uploads a receipt QR that the OFD simulator verifies, credited
// by both programs in test; both go live, and a second receipt's page
// shows it credited in both programs, the amounts add up to the receipt's points,
// the ledger check is clean and the audit page shows the money and rules
// actions.
func TestOperationsInBrowser(t *testing.T) {
	chrome := cabinetChromium(t)
	env := startCabinetProduct(t)
	ctx, d, base := env.ctx, env.d, env.base

	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	bctx := deskBrowser(t, chrome, 10*time.Minute)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "ops-"+name+".png"), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ''`))
			t.Fatalf("%s: %v\npage: %s", step, err, body)
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
	writeFile := func(name, text string) string {
		t.Helper()
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The shop of the new client: its till is known to the OFD simulator
	// (a shop of auto goods: its receipts hold the antifreeze the client sells).
	const (
		shopINN = "7736207543"
		shopKKT = "0000123456789012"
		shopFN  = "7281440500077001"
		shopAdr = "г. Новосибирск, ул. Ленина, д. 7"
		phone   = "+79990001616"
		other   = "+79990001617" // a seller who is not a tester
	)
	putJSON(t, env.ofd+"/_sim/shops/"+shopFN, ofdsim.Shop{Name: "Автомир (Ленина)", INN: shopINN, Address: shopAdr, KKTRegID: shopKKT, Kind: "auto", UTCOffsetHours: 7})

	// 1. The operator creates the client, imports its shop and invites its manager.
	run("operator signs in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), "operator@loyaltyjam.demo"),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("nav-clients")),
		chromedp.Click(chromedp.ID("nav-clients")),
		chromedp.WaitVisible(chromedp.ID("new-client")))
	run("operator creates a client",
		chromedp.SetValue(chromedp.ID("code"), "avtomir"),
		chromedp.SetValue(chromedp.ID("legal_name"), "ООО «Автомир»"),
		chromedp.SetValue(chromedp.ID("inn"), "7707083893"),
		chromedp.SetValue(chromedp.ID("contact_name"), "Иван Петров"),
		chromedp.SetValue(chromedp.ID("contact_phone"), "8 999 123-45-67"),
		chromedp.SetValue(chromedp.ID("time_zone"), "Asia/Novosibirsk"),
		chromedp.Click(chromedp.ID("create-client")),
		chromedp.WaitVisible(chromedp.ID("invite-form")),
		shot("01-client"))
	clientPath := eval(`location.pathname`)
	if !regexp.MustCompile(`^/dashboard/admin/clients/\d+$`).MatchString(clientPath) {
		t.Fatalf("after creating the client the page is %s", clientPath)
	}
	var clientID int64
	if err := d.db.QueryRow(ctx, `SELECT id FROM clients WHERE code = 'avtomir' AND inn = '7707083893'`).Scan(&clientID); err != nil {
		t.Fatalf("the client is not stored: %v", err)
	}
	shopsCSV := writeFile("shops.csv", "код;название;ИНН;ККТ;ФН;адрес;сеть;регион\n"+
		fmt.Sprintf("AM-1;Автомир на Ленина;%s;%s;%s;%s;Автомир;Новосибирская область\n", shopINN, shopKKT, shopFN, shopAdr))
	run("operator imports the shop",
		chromedp.Navigate(base+clientPath+"/shops"),
		chromedp.WaitVisible(chromedp.ID("shops-file")),
		chromedp.SetUploadFiles(chromedp.ID("shops-file"), []string{shopsCSV}),
		chromedp.Click(chromedp.ID("shops-import")),
		chromedp.WaitVisible(chromedp.ID("flash")),
		shot("02-shops"))
	if got := eval(`document.getElementById('flash').innerText`); !strings.Contains(got, "новых 1") {
		t.Fatalf("shop import: %q", got)
	}
	run("operator invites the manager",
		chromedp.Navigate(base+clientPath),
		chromedp.WaitVisible(chromedp.ID("invite-form")),
		chromedp.SetValue(chromedp.ID("invite-email"), "olga@avtomir.ru"),
		chromedp.SetValue(chromedp.ID("invite-name"), "Ольга Соколова"),
		chromedp.SetValue(chromedp.ID("invite-role"), "client_manager"),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.CSS(`tr.invitation[data-state="pending"]`)),
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("signin")))

	// 2. The manager takes the link from the e-mail, sets a password, signs in.
	link := invitationLink(t, env.email, "olga@avtomir.ru")
	const mgrPassword = "автомир-2026!"
	run("manager sets a password",
		chromedp.Navigate(base+link),
		chromedp.WaitVisible(chromedp.ID("accept")),
		chromedp.SetValue(chromedp.ID("password"), mgrPassword),
		chromedp.SetValue(chromedp.ID("password_repeat"), mgrPassword),
		chromedp.Click(chromedp.ID("accept")),
		chromedp.WaitVisible(chromedp.ID("login-notice")),
		chromedp.SetValue(chromedp.ID("email"), "olga@avtomir.ru"),
		chromedp.SetValue(chromedp.ID("password"), mgrPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("nav-programs")),
		shot("03-manager-home"))

	// 3. Two receipt programs: create, rules, budget, draft → test → live.
	today := time.Now().UTC().Format("2006-01-02")
	progs := []struct {
		code, name, rate string
		id               int64
	}{{code: "antifreeze-a", name: "Программа А: антифриз", rate: "10"}, {code: "antifreeze-b", name: "Программа Б: антифриз", rate: "5"}}
	for i := range progs {
		p := &progs[i]
		run("create "+p.code,
			chromedp.Click(chromedp.ID("nav-programs")),
			chromedp.WaitVisible(chromedp.ID("create-program")),
			chromedp.SetValue(chromedp.ID("p-name"), p.name),
			chromedp.SetValue(chromedp.ID("p-code"), p.code),
			chromedp.SetValue(chromedp.ID("p-starts"), "2026-01-01"),
			chromedp.SetValue(chromedp.ID("p-ends"), "2099-12-31"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('m-receipts').checked = true`),
			chromedp.Click(chromedp.ID("create-program-btn")),
			chromedp.WaitVisible(chromedp.ID("program-facts")))
		id, err := strconv.ParseInt(strings.TrimPrefix(eval(`location.pathname`), "/dashboard/programs/"), 10, 64)
		if err != nil {
			t.Fatalf("program page at %s", eval(`location.pathname`))
		}
		p.id = id
		if st := eval(`document.getElementById("program-status").dataset.status`); st != "draft" {
			t.Fatalf("new program is %q", st)
		}
		if i == 0 {
			// The client's catalog (the settings of a program of the client):
			// the auto goods the OFD simulator's auto shops sell, each with its
			// till spelling as an alias.
			run("import the catalog",
				chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/settings", base, id)),
				chromedp.WaitVisible(chromedp.CSS(`#skus input[type=file]`)),
				chromedp.SetUploadFiles(chromedp.CSS(`#skus input[type=file]`), []string{writeFile("catalog.csv", autoCatalogCSV(t))}),
				chromedp.Click(chromedp.CSS(`#skus button[type=submit]`)),
				until(`document.querySelectorAll('#skus tbody tr').length > 0 || !!document.querySelector('.error')`))
			var n int
			if err := d.db.QueryRow(ctx, `SELECT count(*) FROM skus WHERE client_id = $1`, clientID).Scan(&n); err != nil || n == 0 {
				t.Fatalf("catalog import stored %d SKUs (%v); page: %s", n, err, eval(`document.body.innerText.slice(0, 800)`))
			}
			run("back to the program", chromedp.Navigate(fmt.Sprintf("%s/dashboard/programs/%d", base, id)), chromedp.WaitVisible(chromedp.ID("rules-editor")))
		}
		run("rules of "+p.code,
			chromedp.SetValue(chromedp.ID("r-from"), "2026-01-01"),
			chromedp.SetValue(chromedp.ID("earn-value-0"), p.rate),
			chromedp.Click(chromedp.ID("save-rules")),
			chromedp.WaitVisible(chromedp.ID("flash")),
			shot(fmt.Sprintf("04-%s-rules", p.code)))
		if desc := eval(`document.querySelector("#rules-versions .version")?.innerText || ''`); !strings.Contains(desc, p.rate+"\u00a0% от суммы строки") {
			t.Fatalf("%s: rules version shown as %q; problems: %s", p.code, desc, eval(`document.getElementById('rules-problems')?.innerText || ''`))
		}
		run("dry run of "+p.code,
			chromedp.SetValue(chromedp.ID("dry-lines"), "АНТИФРИЗ ТЕРМОКС G11 ЗЕЛ -40 1КГ; 2; 658\nХлеб белый; 1; 50"),
			chromedp.Click(chromedp.ID("dry-run-btn")),
			chromedp.WaitVisible(chromedp.ID("dry-result")),
			shot(fmt.Sprintf("05-%s-dry-run", p.code)))
		reasons := eval(`[...document.querySelectorAll('.dry-version[data-version="1"] .dry-line')].map(x => x.dataset.reason).join(",")`)
		total := eval(`document.querySelector('.dry-version[data-version="1"]')?.dataset.total || ''`)
		rate, _ := strconv.ParseInt(p.rate, 10, 64)
		if reasons != "earned,not_matched" || total != strconv.FormatInt(65800*rate/100, 10) {
			t.Fatalf("%s dry run: lines %q, total %s kopecks, want earned,not_matched and %d", p.code, reasons, total, 65800*rate/100)
		}
		run("top up "+p.code,
			chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/budget", base, id)),
			chromedp.WaitVisible(chromedp.ID("top-up-amount")),
			chromedp.SetValue(chromedp.ID("top-up-amount"), "100 000"),
			chromedp.SetValue(chromedp.ID("top-up-document"), fmt.Sprintf("Платёжное поручение № %d от %s", 40+i, today)),
			chromedp.Click(chromedp.ID("top-up-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#budget-done[data-done="topup"]`)),
			shot(fmt.Sprintf("06-%s-budget", p.code)))
		if got := eval(`document.getElementById('budget-funded').innerText`); !strings.Contains(strings.ReplaceAll(got, "\u00a0", " "), "100 000") {
			t.Fatalf("%s funded after the top-up: %q", p.code, got)
		}
		run("to test "+p.code,
			chromedp.Navigate(fmt.Sprintf("%s/dashboard/programs/%d", base, id)),
			chromedp.WaitVisible(chromedp.ID("to-test")),
			chromedp.Click(chromedp.ID("to-test")),
			chromedp.WaitVisible(chromedp.CSS(`#program-status[data-status="test"]`)),
			shot(fmt.Sprintf("07-%s-test", p.code)))
	}

	// 4. The seller is registered by a participant registry, invited by SMS.
	reg := writeFile("participants.csv", "Телефон;ФИО;Роль;Код точки\n"+phone+";Сергей Продавцов;продавец;AM-1\n"+other+";Пётр Другов;продавец;AM-1\n")
	run("participant registry",
		chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/registries", base, progs[0].id)),
		chromedp.WaitVisible(chromedp.ID("participants-file")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#upload-participants input[name=invite_sms]').checked = true`),
		chromedp.SetUploadFiles(chromedp.ID("participants-file"), []string{reg}),
		chromedp.Click(chromedp.ID("upload-participants-btn")),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		shot("08-registry"),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("registry-status")))
	regPage := eval(`location.href`)
	waitPage(t, bctx, regPage, `document.getElementById('registry-status')?.dataset.status === 'applied'`)
	run("registry applied", shot("09-registry-applied"))

	// 5. In test only testers earn: the manager flags the seller a tester,
	// whose receipt (the app's /v1, signed in with the SMS code) is then
	// credited by both programs in test.
	var sellerID int64
	if err := d.db.QueryRow(ctx, `SELECT id FROM participants WHERE client_id = $1 AND phone = $2`, clientID, phone).Scan(&sellerID); err != nil {
		t.Fatalf("the registry did not register the seller: %v", err)
	}
	run("flag the seller a tester",
		chromedp.Navigate(fmt.Sprintf("%s/dashboard/p/%d/participants/%d", base, progs[0].id, sellerID)),
		chromedp.WaitVisible(chromedp.ID("tester-btn")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name=is_tester]').checked = true`),
		chromedp.Click(chromedp.ID("tester-btn")),
		until(`!!document.getElementById('tester-flag')`))
	tok := sellerToken(t, base, env.sms, phone)
	purchased := time.Now().UTC().Add(7 * time.Hour).Add(-2 * time.Hour) // the shop's wall clock (UTC+7), two hours ago
	qrTest := fmt.Sprintf("t=%s&s=%d.%02d&fn=%s&i=%d&fp=%d&n=1", purchased.Format("20060102T1504"), 1234, 0, shopFN, 16000, 3160016000)
	ridTest := uploadQR(t, base, tok, qrTest)
	waitPage(t, bctx, fmt.Sprintf("%s/dashboard/p/%d/receipts/%s", base, progs[0].id, ridTest),
		`document.querySelectorAll('#by-program tr.prog-outcome').length === 2 || /Отклон|На модерац/.test(document.body.innerText)`)
	run("tester's receipt", shot("10a-tester-receipt"))
	if n := eval(`String(document.querySelectorAll("#by-program tr.prog-outcome.st-credited").length)`); n != "2" {
		t.Fatalf("in test, %s programs credited the tester's receipt, want 2:\n%s", n, eval(`document.body.innerText.slice(0, 3000)`))
	}
	// A seller who is not a tester earns nothing while the programs are in test.
	otherRID := uploadQR(t, base, sellerToken(t, base, env.sms, other),
		fmt.Sprintf("t=%s&s=%d.%02d&fn=%s&i=%d&fp=%d&n=1", purchased.Format("20060102T1504"), 2345, 0, shopFN, 15999, 3160015999))
	var otherStatus string
	var otherPoints int64
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		if err := d.db.QueryRow(ctx, `SELECT status, points_kopecks FROM receipts WHERE id = $1`, otherRID).Scan(&otherStatus, &otherPoints); err != nil {
			t.Fatal(err)
		}
		if !map[string]bool{"received": true, "decoded": true, "queued": true, "verifying": true, "pending_ofd": true, "verified": true, "matched": true}[otherStatus] || time.Now().After(deadline) {
			break
		}
	}
	if otherStatus == "credited" || otherPoints != 0 || otherStatus == "matched" {
		t.Errorf("in test, a non-tester's receipt ended %s with %d kopecks, want no points", otherStatus, otherPoints)
	}
	t.Logf("in test, the non-tester's receipt ended %s", otherStatus)
	for _, p := range progs {
		run("live "+p.code,
			chromedp.Navigate(fmt.Sprintf("%s/dashboard/programs/%d", base, p.id)),
			chromedp.WaitVisible(chromedp.ID("to-live")),
			chromedp.Click(chromedp.ID("to-live")),
			chromedp.WaitVisible(chromedp.CSS(`#program-status[data-status="live"]`)),
			shot(fmt.Sprintf("07-%s-live", p.code)))
	}

	// The seller uploads a receipt QR to the live programs.
	qr := fmt.Sprintf("t=%s&s=%d.%02d&fn=%s&i=%d&fp=%d&n=1", purchased.Format("20060102T1504"), 4321, 0, shopFN, 16001, 3160016001)
	rid := uploadQR(t, base, tok, qr)

	// 6. The worker verifies it with the OFD simulator and credits it in both programs.
	rpage := fmt.Sprintf("%s/dashboard/p/%d/receipts/%s", base, progs[0].id, rid)
	waitPage(t, bctx, rpage, `document.querySelectorAll('#by-program tr.prog-outcome').length === 2 || /Отклон|На модерац/.test(document.body.innerText)`)
	run("receipt page", shot("10-receipt-two-programs"))
	credited := eval(`String(document.querySelectorAll("#by-program tr.prog-outcome.st-credited").length)`)
	if credited != "2" {
		t.Fatalf("%s programs credited the receipt, want 2:\n%s", credited, eval(`document.body.innerText.slice(0, 3000)`))
	}
	var sum, onPage int64
	for _, s := range strings.Split(eval(`[...document.querySelectorAll("#by-program tr.prog-outcome")].map(r => r.dataset.points).join(",")`), ",") {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			t.Fatalf("a program's points on the page: %q", s)
		}
		sum += v
	}
	var status string
	var points, lineSum int64
	if err := d.db.QueryRow(ctx, `SELECT status, points_kopecks FROM receipts WHERE id = $1`, rid).Scan(&status, &points); err != nil {
		t.Fatal(err)
	}
	onPage = sum
	if status != "credited" || points != onPage {
		t.Errorf("receipt %s: status %s, %d kopecks; the programs on the page add up to %d", rid, status, points, onPage)
	}
	// Each program credited its rate of the matched lines: A 10 %, B 5 %.
	if err := d.db.QueryRow(ctx, `SELECT coalesce(sum(sum_kopecks), 0) FROM receipt_items WHERE receipt_id = $1 AND sku_id IS NOT NULL`, rid).Scan(&lineSum); err != nil || lineSum == 0 {
		t.Fatalf("matched lines of the receipt: %d kopecks (%v)", lineSum, err)
	}
	for _, p := range progs {
		rate, _ := strconv.ParseInt(p.rate, 10, 64)
		got := eval(fmt.Sprintf(`[...document.querySelectorAll("#by-program tr.prog-outcome")].filter(r => r.cells[0].innerText.trim() === %q).map(r => r.dataset.points).join(",")`, p.name))
		if want := strconv.FormatInt(lineSum*rate/100, 10); got != want {
			t.Errorf("%s credited %s kopecks, want %s (%d %% of %d kopecks of matched lines)", p.name, got, want, rate, lineSum)
		}
	}
	var ledgerOut bytes.Buffer
	if err := checkLedger(ctx, env.dbURL, &ledgerOut); err != nil {
		t.Errorf("ledger check: %v\n%s", err, ledgerOut.String())
	}

	// 7. The audit log names the money and rules actions.
	run("audit", chromedp.Navigate(base+"/dashboard/admin/audit"), chromedp.WaitVisible(chromedp.ID("audit")), shot("11-audit"))
	actions := strings.Fields(eval(`[...document.querySelectorAll("tr.audit-entry")].map(r => r.dataset.action).join(" ")`))
	count := map[string]int{}
	for _, a := range actions {
		count[a]++
	}
	for a, n := range map[string]int{"client.create": 1, "shop.import": 1, "staff.invite": 1, "staff.invitation_accept": 1,
		"program.create": 2, "program.rules_save": 2, "budget.top_up": 2, "program.status": 4, "registry.confirm": 1, "participant.tester": 1} {
		if count[a] != n {
			t.Errorf("the audit page shows %d %s, want %d; all: %v", count[a], a, n, actions)
		}
	}
	// A top-up's entry names its document.
	if got := eval(`[...document.querySelectorAll('tr.audit-entry[data-action="budget.top_up"]')].map(r => r.innerText).join(' | ')`); !strings.Contains(got, "Платёжное поручение № 40") || !strings.Contains(got, "Платёжное поручение № 41") {
		t.Errorf("the top-ups' audit entries: %s", got)
	}
}

// until waits (up to 2 min, a bound on a hang) for a JavaScript condition on the page that a
// form's submission loads: a poll cut short by the navigation is retried.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline)))(ctx, tg)
			if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// deskBrowser starts headless Chromium with a desktop window, for the dashboard.
func deskBrowser(t *testing.T, chrome string, deadline time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	}
	tctx, cancelT := context.WithTimeout(context.Background(), deadline)
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA(); cancelT() })
	return ctx
}

// waitPage reloads url until cond holds (the worker's result), for up to 5 min (a bound on a hang).
func waitPage(t *testing.T, ctx context.Context, url, cond string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); ; {
		err := chromedp.Do(ctx, chromedp.Navigate(url))
		ok := false
		if err == nil {
			ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		}
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
			t.Fatalf("%s: %s did not hold (%v):\n%s", url, cond, err, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func putJSON(t *testing.T, url string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s: %d %s", url, resp.StatusCode, body)
	}
}

func postJSON(t *testing.T, url, token string, v any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// invitationLink is the /dashboard/invite/… path of the last e-mail to addr
// the e-mail simulator received.
func invitationLink(t *testing.T, sim, addr string) string {
	t.Helper()
	re := regexp.MustCompile(`/dashboard/invite/[A-Za-z0-9_-]{43}`)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(sim + "/_sim/emails?to=" + addr)
		if err != nil {
			t.Fatal(err)
		}
		var es []struct {
			Text string `json:"text"`
		}
		err = json.NewDecoder(resp.Body).Decode(&es)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if l := re.FindString(e.Text); l != "" {
				return l
			}
		}
	}
	t.Fatalf("no invitation e-mail to %s", addr)
	return ""
}

// sellerToken signs the seller in as the app does: an SMS code, then its check.
func sellerToken(t *testing.T, base, sms, phone string) string {
	t.Helper()
	if st, body := postJSON(t, base+"/v1/auth/otp/request", "", map[string]string{"phone": phone}); st != http.StatusAccepted {
		t.Fatalf("otp request: %d %s", st, body)
	}
	var code string
	for deadline := time.Now().Add(2 * time.Minute); code == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(sms + "/_sim/messages?to=" + strings.ReplaceAll(phone, "+", "%2B"))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []struct {
			Text string `json:"text"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		for _, m := range msgs {
			if c := regexp.MustCompile(`\b\d{6}\b`).FindString(m.Text); c != "" {
				code = c
				break
			}
		}
	}
	if code == "" {
		t.Fatalf("no SMS code to %s", phone)
	}
	st, body := postJSON(t, base+"/v1/auth/otp/verify", "", map[string]string{"phone": phone, "code": code})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		t.Fatalf("otp verify: %d %s", st, body)
	}
	return out.AccessToken
}

func uploadQR(t *testing.T, base, token, qr string) string {
	t.Helper()
	st, body := postJSON(t, base+"/v1/receipts", token, map[string]string{"qr": qr})
	var out struct {
		ID string `json:"id"`
	}
	if st/100 != 2 || json.Unmarshal(body, &out) != nil || out.ID == "" {
		t.Fatalf("receipt upload: %d %s", st, body)
	}
	return out.ID
}

// autoCatalogCSV is a catalog of the OFD simulator's auto goods (and the
// goods every shop sells), each with its till spelling as an alias.
func autoCatalogCSV(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"sku_id", "client", "brand", "name", "category", "volume", "unit", "gtin", "margin_weight", "aliases"})
	seen := map[string]bool{}
	for i, p := range ofdsim.DefaultAssortment() {
		if (p.Kind != "auto" && p.Kind != "general") || seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		brand := strings.Fields(p.Name)[0]
		_ = w.Write([]string{fmt.Sprintf("AM-%03d", i), "avtomir", brand, p.Name, "автотовары", "1", "шт", "", "1", p.Name})
	}
	w.Flush()
	return buf.String()
}
