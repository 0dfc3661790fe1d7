package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/sync/errgroup"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// TestCabinetInBrowser drives the participant's cabinet (/app/) in headless
// Chromium with a phone's viewport, against the product wired as `dev`
// wires it (buildAPI, serveHTTP, serveWorker, the OFD and notification
// simulators): a seller signs in with login and password; feeds a photo
// of a receipt QR to the camera input, which the page decodes itself
// (jsQR in a worker: headless Chromium on Linux has no BarcodeDetector)
// and sends as text; the worker verifies and credits it and the receipt
// page shows it credited with each line's reason and rate; points and
// history; a task is taken and its report sent with a checklist answer
// and a photo; then, offline, a second receipt is queued in IndexedDB
// (the queue shows it waiting, nothing reaches the server) and, back
// online, it is sent exactly once. The browser reaches the API through a
// proxy that counts the receipt uploads. Screenshots of each screen go
// to $LJ_SCREENSHOTS or a temp dir.
func TestCabinetInBrowser(t *testing.T) {
	chrome := cabinetChromium(t)
	env := startCabinetProduct(t)
	ctx, d, base, uploads, dropAnswer := env.ctx, env.d, env.base, env.uploads, env.dropAnswer
	seller := seed.Participants[0]
	taskID := createCabinetTask(t, ctx, d, seller.Client, env.photoDir)

	// A receipt QR of the seller's shop, as a picture file.
	qrs, err := seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	qrFile := filepath.Join(files, "receipt-qr.png")
	writeQRPicture(t, qrFile, qrFor(t, qrs, seller.Shop))
	shelf := filepath.Join(files, "shelf.jpg")
	writeShelfPhoto(t, shelf)

	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
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
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	wait := func(step, js string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(5*time.Minute))); err != nil {
			t.Fatalf("%s: waiting for %s: %v", step, js, err)
		}
	}

	run("sign in",
		chromedp.Navigate(base+"/app/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		shot("01-login"),
		chromedp.SetValue(chromedp.ID("login"), seller.Login),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("scan-label")),
		shot("02-scan"))
	if got := eval(`localStorage.getItem('lj.session') ? 'remembered' : 'not remembered'`); got != "remembered" {
		t.Errorf("«Запомнить это устройство» was on, but the session is %s", got)
	}
	checkTouchTargets(t, bctx, "scan")
	run("receipts for the checks", chromedp.Click(chromedp.CSS(`a[data-tab="receipts"]`)), chromedp.WaitVisible(chromedp.CSS("main .card")))
	checkTouchTargets(t, bctx, "receipts (empty)")
	run("scan again", chromedp.Click(chromedp.CSS(`a[data-tab="scan"]`)), chromedp.WaitVisible(chromedp.ID("scan-label")))
	// A spoilt access token is refreshed once (the refresh token rotates)
	// and the call goes through.
	oldRefresh := eval(`JSON.parse(localStorage.getItem('lj.session')).refresh`)
	run("spoil the access token", chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(localStorage.getItem('lj.session'));
		s.access = 'not.a.token'; localStorage.setItem('lj.session', JSON.stringify(s)); })()`),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("scan-label")),
		chromedp.Click(chromedp.CSS(`a[data-tab="points"]`)), chromedp.WaitVisible(chromedp.ID("available")))
	if newRefresh := eval(`JSON.parse(localStorage.getItem('lj.session')).refresh`); newRefresh == oldRefresh {
		t.Error("the refresh token did not rotate: the spoilt access token was not refreshed")
	}
	run("back to scan", chromedp.Click(chromedp.CSS(`a[data-tab="scan"]`)), chromedp.WaitVisible(chromedp.ID("scan-label")))

	// Scan: the picture goes into the camera input; the page decodes the QR.
	run("scan a receipt QR",
		chromedp.SetUploadFiles(chromedp.ID("scan-file"), []string{qrFile}),
		chromedp.WaitVisible(chromedp.ID("sent")),
		shot("03-sent"))
	if n := uploads.Load(); n != 1 {
		t.Errorf("%d receipt uploads reached the server, want 1", n)
	}
	var source string
	if err := d.db.QueryRow(ctx, `SELECT source FROM receipts ORDER BY created_at DESC LIMIT 1`).Scan(&source); err != nil || source != "qr" {
		t.Errorf("the receipt was sent as %q (%v), want the decoded QR text", source, err)
	}
	run("open the receipt", chromedp.Click(chromedp.CSS("#sent a")), chromedp.WaitVisible(chromedp.ID("receipt")))
	// The worker verifies, matches and credits it; the page polls.
	wait("receipt credited", `document.querySelector('#receipt')?.dataset.status === 'credited'`)
	wait("lines shown", `document.querySelectorAll('#lines li').length > 0`)
	run("receipt screenshot", shot("04-receipt-credited"))
	reasons := eval(`[...document.querySelectorAll('#lines .why')].map(e => e.textContent).join('\n')`)
	if !strings.Contains(reasons, "% от ") || !strings.Contains(reasons, "₽") {
		t.Errorf("no line explains its rate («5 %% от 500,00 ₽ …»); reasons shown:\n%s", reasons)
	}
	if st := eval(`document.querySelector('#receipt .status').textContent`); st != "Баллы начислены" {
		t.Errorf("status shown %q, want «Баллы начислены»", st)
	}

	checkTouchTargets(t, bctx, "receipt")
	run("receipts list", chromedp.Navigate(base+"/app/#/receipts"), chromedp.WaitVisible(chromedp.CSS("#receipts a.receipt")), shot("05-receipts"))
	checkTouchTargets(t, bctx, "receipts")
	run("points", chromedp.Click(chromedp.CSS(`a[data-tab="points"]`)), chromedp.WaitVisible(chromedp.ID("available")), shot("06-points"))
	var credited int64
	if err := d.db.QueryRow(ctx, `SELECT points_kopecks FROM receipts ORDER BY created_at DESC LIMIT 1`).Scan(&credited); err != nil {
		t.Fatal(err)
	}
	if got := eval(`document.querySelector('#available').textContent`); credited <= 0 || credited < 100_000 && !strings.Contains(got, fmt.Sprintf("%d,%02d", credited/100, credited%100)) {
		t.Errorf("balance shows %q, the receipt credited %d kopecks", got, credited)
	}
	if n := eval(`String(document.querySelectorAll('#ledger li').length)`); n == "0" {
		t.Error("points history is empty after a credit")
	}
	// One line of history: no next page to offer.
	if more := eval(`[...document.querySelectorAll('button')].filter(b => b.textContent === 'Показать ещё' && b.offsetParent !== null).length + ''`); more != "0" {
		t.Errorf("«Показать ещё» is shown on the only page of the history")
	}

	// Tasks: take, answer the checklist, photo, send.
	run("tasks", chromedp.Click(chromedp.CSS(`a[data-tab="tasks"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tasks [data-task="%d"]`, taskID))), shot("07-tasks"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tasks [data-task="%d"] button.take`, taskID))),
		chromedp.WaitVisible(chromedp.ID("report")),
		chromedp.Click(chromedp.CSS(`input[name="q-shelf_full"][value="true"]`)),
		chromedp.SetUploadFiles(chromedp.ID("photos"), []string{shelf}),
		chromedp.WaitVisible(chromedp.CSS("#thumbs img")),
		chromedp.SetValue(chromedp.ID("comment"), "Полка выставлена"),
		shot("08-report"),
		// Sent on a dead network: it waits on the phone.
		setOffline(true),
		chromedp.Click(chromedp.ID("send-report")),
		chromedp.WaitVisible(chromedp.ID("report-queued")),
		shot("09a-report-queued"))
	var queuedStatus string
	if err := d.db.QueryRow(ctx, `SELECT status FROM task_submissions WHERE task_id = $1 ORDER BY id DESC LIMIT 1`, taskID).Scan(&queuedStatus); err != nil || queuedStatus != "taken" {
		t.Errorf("while offline the report is %q (%v), want still taken", queuedStatus, err)
	}
	run("report sent when back online", setOffline(false),
		chromedp.WaitVisible(chromedp.ID("report-done")),
		shot("09-report-sent"))
	var subStatus string
	var photos int
	var answers string
	var maxSide int
	if err := d.db.QueryRow(ctx, `SELECT s.status, count(p.id), coalesce(max(greatest(p.width, p.height)), 0), s.answers::text
		FROM task_submissions s LEFT JOIN task_photos p ON p.submission_id = s.id
		WHERE s.task_id = $1 GROUP BY s.id ORDER BY s.id DESC LIMIT 1`, taskID).Scan(&subStatus, &photos, &maxSide, &answers); err != nil {
		t.Fatalf("the report: %v", err)
	}
	if subStatus != "submitted" || photos != 1 || !strings.Contains(answers, `"shelf_full": true`) {
		t.Errorf("report stored as %s with %d photos and answers %s; want submitted, 1 photo, shelf_full true", subStatus, photos, answers)
	}
	if maxSide == 0 || maxSide > 1600 {
		t.Errorf("the 2400×1800 photo arrived %dpx on its long side, want downscaled on the phone to at most 1600", maxSide)
	}

	// Offline: a second receipt waits in the queue, then goes once.
	qrs, err = seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	qrFile2 := filepath.Join(files, "receipt-qr-2.png")
	writeQRPicture(t, qrFile2, qrFor(t, qrs, seller.Shop))
	before := uploads.Load()
	run("go offline", chromedp.Click(chromedp.CSS(`a[data-tab="scan"]`)), chromedp.WaitVisible(chromedp.ID("scan-label")),
		setOffline(true))
	wait("offline noticed", `!navigator.onLine && document.querySelector('#net').textContent !== ''`)
	run("queue offline",
		chromedp.SetUploadFiles(chromedp.ID("scan-file"), []string{qrFile2}),
		chromedp.WaitVisible(chromedp.CSS(`#queue li[data-state="waiting"]`)),
		shot("10-offline-queued"))
	if n := uploads.Load(); n != before {
		t.Errorf("an upload reached the server while offline (%d → %d)", before, n)
	}
	// The queue survives a reload (it is in IndexedDB, not in memory).
	run("reload offline", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#queue li[data-state="waiting"]`)))
	run("back online", setOffline(false))
	wait("sent", `!!document.querySelector('#sent') && document.querySelectorAll('#queue li').length === 0`)
	run("sent screenshot", shot("11-online-sent"))
	var n2 int
	fd := strings.Split(strings.Split(qrFor(t, qrs, seller.Shop), "&i=")[1], "&")[0]
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE fd = $1::bigint`, fd).Scan(&n2); err != nil {
		t.Fatal(err)
	}
	if got := uploads.Load() - before; got != 1 || n2 != 1 {
		t.Errorf("after coming back online: %d uploads reached the server and %d receipts exist for the queued QR; want exactly 1 and 1", got, n2)
	}

	// The answer to an upload is lost: the queue keeps it and sends it
	// again with the same Idempotency-Key; the server gives back the same
	// receipt, so there is still one.
	qrs, err = seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	qr3 := qrFor(t, qrs, seller.Shop)
	qrFile3 := filepath.Join(files, "receipt-qr-3.png")
	writeQRPicture(t, qrFile3, qr3)
	before = uploads.Load()
	dropAnswer.Store(true)
	run("answer lost", chromedp.Evaluate[chromedp.Void](`document.querySelector('#sent')?.remove()`),
		chromedp.SetUploadFiles(chromedp.ID("scan-file"), []string{qrFile3}))
	wait("resent after a lost answer", `!!document.querySelector('#sent') && document.querySelectorAll('#queue li').length === 0`)
	fd = strings.Split(strings.Split(qr3, "&i=")[1], "&")[0]
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE fd = $1::bigint`, fd).Scan(&n2); err != nil {
		t.Fatal(err)
	}
	if got := uploads.Load() - before; got != 2 || n2 != 1 {
		t.Errorf("after a lost answer: %d uploads (want 2: the lost one and its retry) and %d receipts (want 1)", got, n2)
	}

	// A photo the phone cannot read goes up as a photo, downscaled and
	// turned upright by its EXIF orientation (a 2400×1800 picture tagged
	// "rotate 90°" arrives 1200×1600); the server finds no QR in it either
	// and the queue shows its answer, to retry or delete.
	sideways := filepath.Join(files, "sideways.jpg")
	writeSidewaysPhoto(t, sideways)
	before = uploads.Load()
	run("unreadable photo",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#sent')?.remove()`),
		chromedp.SetUploadFiles(chromedp.ID("scan-file"), []string{sideways}),
		chromedp.WaitVisible(chromedp.CSS(`#queue li[data-state="error"]`)),
		shot("12-photo-refused"))
	if got := uploads.Load() - before; got != 1 {
		t.Errorf("the unreadable photo was uploaded %d times, want once", got)
	}
	if got, _ := env.photoSize.Load().(string); got != "1200x1600" {
		t.Errorf("the photo arrived %s, want 1200x1600 (downscaled to 1600 px, EXIF rotation applied)", got)
	}
	if msg := eval(`document.querySelector('#queue li[data-state="error"]').textContent`); !strings.Contains(msg, "Не принят") {
		t.Errorf("the refused photo shows %q", msg)
	}
	run("delete the refused photo", chromedp.Click(chromedp.CSS(`#queue li[data-state="error"] button.danger`)))
	wait("queue empty", `document.querySelectorAll('#queue li').length === 0`)

	// Manual entry, the last resort: the receipt's fields typed in.
	qrs, err = seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fields, err := url.ParseQuery(qrFor(t, qrs, seller.Shop))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse("20060102T1504", fields.Get("t"))
	if err != nil {
		t.Fatal(err)
	}
	before = uploads.Load()
	run("manual entry",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#sent')?.remove()`),
		chromedp.Click(chromedp.CSS("details summary")),
		chromedp.WaitVisible(chromedp.ID("m-t")),
		chromedp.SetValue(chromedp.ID("m-t"), ts.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("m-s"), strings.Replace(fields.Get("s"), ".", ",", 1)),
		chromedp.SetValue(chromedp.ID("m-fn"), fields.Get("fn")),
		chromedp.SetValue(chromedp.ID("m-i"), fields.Get("i")),
		chromedp.SetValue(chromedp.ID("m-fp"), fields.Get("fp")),
		shot("12a-manual"),
		chromedp.Click(chromedp.CSS("#manual button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("sent")))
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE fd = $1::bigint AND source = 'manual'`, fields.Get("i")).Scan(&n2); err != nil {
		t.Fatal(err)
	}
	if got := uploads.Load() - before; got != 1 || n2 != 1 {
		t.Errorf("manual entry: %d uploads and %d manual receipts, want 1 and 1", got, n2)
	}

	// The live viewfinder: Chromium's fake camera films a receipt QR.
	qrs, err = seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	qr4 := qrFor(t, qrs, seller.Shop)
	video := filepath.Join(files, "camera.mjpeg")
	writeQRVideo(t, video, qr4)
	cam := phoneBrowser(t, chrome, 10*time.Minute, chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-file-for-fake-video-capture", video))
	before = uploads.Load()
	// This phone signs in by SMS code, not remembering the device.
	if err := chromedp.Do(cam,
		chromedp.Navigate(base+"/app/"),
		chromedp.WaitVisible(chromedp.ID("phone")),
		chromedp.SetValue(chromedp.ID("phone"), seller.Phone),
		chromedp.Click(chromedp.CSS(`#sms-form input[name="remember"]`)),
		chromedp.Click(chromedp.ID("sms-send")),
		chromedp.WaitVisible(chromedp.ID("code"))); err != nil {
		t.Fatalf("SMS code request: %v", err)
	}
	if err := chromedp.Do(cam, chromedp.SetValue(chromedp.ID("code"), smsCode(t, env.sms, seller.Phone)),
		chromedp.Click(chromedp.ID("sms-send")),
		chromedp.WaitVisible(chromedp.ID("camera"))); err != nil {
		t.Fatalf("SMS sign-in: %v", err)
	}
	where, err := chromedp.Run(cam, chromedp.Evaluate[string](`(localStorage.getItem('lj.session') ? 'local ' : '') + (sessionStorage.getItem('lj.session') ? 'tab' : '')`))
	if err != nil || where != "tab" {
		t.Errorf("not remembering the device, the session is kept in %q (%v), want the tab only", where, err)
	}
	if err := chromedp.Do(cam,
		chromedp.Click(chromedp.ID("camera")),
		chromedp.WaitVisible(chromedp.ID("sent")),
	); err != nil {
		t.Fatalf("viewfinder: %v", err)
	}
	fd = strings.Split(strings.Split(qr4, "&i=")[1], "&")[0]
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE fd = $1::bigint AND source = 'qr'`, fd).Scan(&n2); err != nil {
		t.Fatal(err)
	}
	if got := uploads.Load() - before; got != 1 || n2 != 1 {
		t.Errorf("viewfinder: %d uploads and %d receipts of the filmed QR, want 1 and 1", got, n2)
	}

	// The other screens render.
	run("inbox", chromedp.Navigate(base+"/app/#/inbox"), chromedp.WaitVisible(chromedp.ID("prefs")), shot("13-inbox"))
	run("program", chromedp.Navigate(base+"/app/#/program"), chromedp.WaitVisible(chromedp.ID("programs")), shot("14-program"))
	run("profile", chromedp.Navigate(base+"/app/#/profile"), chromedp.WaitVisible(chromedp.ID("profile")), shot("15-profile"))
	checkTouchTargets(t, bctx, "profile")
	// Rewards and the tax profile render (ordering a prize end to end:
	// TestCabinetRewardsAndTax).
	run("rewards", chromedp.Navigate(base+"/app/#/rewards"), chromedp.WaitVisible(chromedp.ID("catalog")), shot("16-rewards"))
	run("tax", chromedp.Navigate(base+"/app/#/tax"), chromedp.WaitVisible(chromedp.ID("tax")))
	run("profile again", chromedp.Navigate(base+"/app/#/profile"), chromedp.WaitVisible(chromedp.ID("logout")))
	run("sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
	if got := eval(`localStorage.getItem('lj.session') || sessionStorage.getItem('lj.session') || ''`); got != "" {
		t.Errorf("the session is still stored after signing out: %s", got)
	}
}

// createCabinetTask creates a weekly photo task with a yes/no question for
// the client's participants, as its manager.
func createCabinetTask(t *testing.T, ctx context.Context, d *deps, client, photoDir string) int64 {
	t.Helper()
	var clientID, programID, managerID int64
	if err := d.db.QueryRow(ctx, `SELECT c.id, p.id, u.id FROM clients c JOIN programs p ON p.client_id = c.id
		JOIN dashboard_users u ON u.client_id = c.id AND u.role = 'client_manager'
		WHERE c.code = $1 ORDER BY p.id, u.id LIMIT 1`, client).Scan(&clientID, &programID, &managerID); err != nil {
		t.Fatal(err)
	}
	photos, err := photostore.NewDir(photoDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tk, err := taskdb.New(d.db, photos, ledgerdb.Postings{}).CreateTask(ctx, access.Staff{UserID: managerID, ClientID: clientID, Role: access.ClientManager},
		task.Task{ProgramID: programID, Title: "Фото полки (браузерный тест)", Instructions: "Сфотографируйте полку с ценниками.",
			RewardKopecks: 20_000, StartsAt: now.Add(-time.Hour), DueAt: now.Add(30 * 24 * time.Hour), Recurrence: task.Weekly,
			PerParticipant: 1, Status: task.Active,
			Evidence: task.Evidence{MinPhotos: 1, MaxPhotos: 2, Checklist: []task.ChecklistItem{
				{Key: "shelf_full", Question: "Полка заполнена?", Kind: task.YesNo, Required: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

func qrFor(t *testing.T, qrs []seed.QR, shop string) string {
	t.Helper()
	for _, q := range qrs {
		if q.Shop.Code == shop {
			return q.Text
		}
	}
	t.Fatalf("no fresh QR for shop %s", shop)
	return ""
}

// writeQRPicture draws the QR text as a receipt photo would hold it: the
// code on a grey, slightly noisy paper background, not centred.
func writeQRPicture(t *testing.T, path, text string) {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 360, 360, map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 2})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 900, 1200))
	for y := 0; y < 1200; y++ {
		for x := 0; x < 900; x++ {
			v := uint8(226 + (x*7+y*13)%17)
			img.Set(x, y, color.RGBA{v, v, v - 6, 255})
		}
	}
	ox, oy := 260, 620
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) {
				img.Set(ox+x, oy+y, color.RGBA{30, 30, 34, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uploadedPhotoSize is "WxH" of the photo part of a multipart upload.
func uploadedPhotoSize(contentType string, body []byte) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "bad content type"
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "no photo part"
		}
		if p.FormName() == "photo" {
			cfg, _, err := image.DecodeConfig(p)
			if err != nil {
				return "undecodable photo"
			}
			return fmt.Sprintf("%dx%d", cfg.Width, cfg.Height)
		}
	}
}

// writeSidewaysPhoto writes a 2400×1800 JPEG with no QR code whose EXIF
// orientation (6) says to show it turned 90° clockwise, as phones store
// portrait shots.
func writeSidewaysPhoto(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2400, 1800))
	for y := 0; y < 1800; y++ {
		for x := 0; x < 2400; x++ {
			img.Set(x, y, color.RGBA{uint8(200 + x%40), uint8(190 + y%50), 170, 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	// APP1 Exif: big-endian TIFF, one IFD entry: Orientation (0x0112) SHORT 6.
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0}
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := append([]byte{0xFF, 0xE1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}, app1...)
	jpg := enc.Bytes()
	out := append(append(append([]byte{}, jpg[:2]...), seg...), jpg[2:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smsCode is the sign-in code the SMS simulator last got for phone.
func smsCode(t *testing.T, sim, phone string) string {
	t.Helper()
	resp, err := http.Get(sim + "/_sim/messages?to=" + url.QueryEscape(phone))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil || len(msgs) == 0 {
		t.Fatalf("no SMS to %s (%v)", phone, err)
	}
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Text)
	if code == "" {
		t.Fatalf("no 6-digit code in %q", msgs[0].Text)
	}
	return code
}

// writeQRVideo writes an MJPEG file (JPEG frames back to back), the
// format Chromium's fake camera plays in a loop.
func writeQRVideo(t *testing.T, path, text string) {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 400, 400, map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 4})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{235, 235, 228, 255})
		}
	}
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) {
				img.Set(120+x, 40+y, color.RGBA{25, 25, 30, 255})
			}
		}
	}
	var frame bytes.Buffer
	if err := jpeg.Encode(&frame, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for i := 0; i < 10; i++ {
		buf.Write(frame.Bytes())
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeShelfPhoto(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2400, 1800))
	for y := 0; y < 1800; y++ {
		for x := 0; x < 2400; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 10), uint8(y / 8), uint8((x + y) / 20), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setOffline cuts (or restores) the page's network and navigator.onLine.
func setOffline(off bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		conds := []*network.Conditions{}
		if off {
			conds = append(conds, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off,
			DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// checkTouchTargets fails the test for a visible button, link or form
// control smaller than 48×48 CSS pixels, or without an accessible name,
// and for visible text under 4.5:1 contrast.
func checkTouchTargets(t *testing.T, ctx context.Context, screen string) {
	t.Helper()
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('button, a.btn, .tabs a, .list a.item, input:not(.file):not([type=checkbox]):not([type=radio]), select, textarea, label.check, summary')]
		.filter(e => e.offsetParent !== null)
		.flatMap(e => { const r = e.getBoundingClientRect(); const out = [];
			if (r.height < 47.5 || r.width < 47.5) out.push((e.id || e.tagName) + ' ' + Math.round(r.width) + '×' + Math.round(r.height));
			const named = (e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim();
			if (!named) out.push((e.id || e.tagName) + ' has no label');
			return out; })`))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("%s: controls under 48px or unlabelled: %v", screen, bad)
	}
	// Text contrast (WCAG AA, 4.5:1) of every visible element holding text,
	// against the first opaque background behind it.
	low, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
		const lum = ([r, g, b]) => [r, g, b].map(c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
			.reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);
		const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c; } return [255, 255, 255]; };
		const out = [];
		for (const e of document.querySelectorAll('body *')) {
			if (e.offsetParent === null || ![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
			const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (ratio < 4.5) out.push(e.tagName + ' «' + e.textContent.trim().slice(0, 30) + '» ' + ratio.toFixed(2));
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(low) > 0 {
		t.Errorf("%s: text under 4.5:1 contrast: %v", screen, low)
	}
}

func cabinetChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("chromium is not installed (apt-get install -y chromium): skipping the cabinet browser test")
	return ""
}

// phoneBrowser starts headless Chromium emulating a 412×915 Android phone.
func phoneBrowser(t *testing.T, chrome string, deadline time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(412, 915),
	}
	opts = append(opts, extra...)
	tctx, cancelT := context.WithTimeout(context.Background(), deadline)
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA(); cancelT() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915, chromedp.EmulateScale(2.625), chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// cabinetEnv is the product wired as `dev` wires it (buildAPI, serveHTTP,
// serveWorker, the OFD and notification simulators) on a demo-seeded
// database, behind a proxy that the browser talks to.
// mergeEnv returns a with b's settings over it.
func mergeEnv(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

type cabinetEnv struct {
	ctx      context.Context
	d        *deps
	base     string
	photoDir string
	sms      string // the SMS simulator's base URL
	email    string // the e-mail simulator's HTTP base URL
	ofd      string // the OFD simulator's base URL
	dbURL    string
	// uploads counts POST /v1/receipts reaching the proxy; dropAnswer makes
	// it pass the next one to the API and then cut the connection instead
	// of answering.
	uploads    *atomic.Int64
	dropAnswer *atomic.Bool
	photoSize  *atomic.Value
}

func startCabinetProduct(t *testing.T) *cabinetEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, dbURL := pgtest.New(t)
	ropt := redistest.DB(t)
	quiet := slog.New(slog.DiscardHandler)

	g, gctx := errgroup.WithContext(ctx)
	sim := ofdsim.New(ofdsim.Config{Logger: quiet})
	seed.RegisterShops(sim)
	ofdLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ofdLn.Close()
	if err := serveBackground(gctx, g, ofdLn.Addr().String(), sim); err != nil {
		t.Fatal(err)
	}
	sims, stopSims, err := startNotifySims(gctx, simsFlags{fcmAddr: "127.0.0.1:0", smsAddr: "127.0.0.1:0",
		smtpAddr: "127.0.0.1:0", emailHTTPAddr: "127.0.0.1:0", slow: time.Second}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSims)
	// The reward providers' simulators (Giftery, QIWI), as `dev` starts
	// them, on free ports.
	rsims, stopRewardSims, err := startRewardSims(gctx, rewardSimFlags{gifteryAddr: "127.0.0.1:0", qiwiAddr: "127.0.0.1:0",
		processingFor: time.Second}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRewardSims)
	rewardEnv := map[string]string{}
	devRewardDefaults(rewardEnv, rewardSimFlags{gifteryAddr: strings.TrimPrefix(rsims.giftery, "http://"),
		qiwiAddr: strings.TrimPrefix(rsims.qiwi, "http://")})
	photoDir := t.TempDir()
	cfg := devConfig(t, mergeEnv(rewardEnv, map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB),
		"PROVERKACHEKA_URL": "http://" + ofdLn.Addr().String(), "FNS_OPENAPI_URL": "http://" + ofdLn.Addr().String(),
		"FCM_ENDPOINT": sims.fcm + "/v1", "SMS_GATEWAY_URL": sims.sms, "SMTP_ADDR": sims.smtp,
		"PHOTO_DIR": photoDir, "LOG_LEVEL": "error", "SHUTDOWN_TIMEOUT": "5s",
		// The tests check the request path's own answer to a photo (a
		// refusal the queue shows). Under the race detector on a busy
		// CI machine the 1.5 s default budget can run out, and the photo
		// then goes to the worker instead — correct, but another path,
		// and the page would wait for a refusal that never comes.
		"DECODE_BUDGET": "60s",
	}))
	d, err := openDeps(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if err := seed.Demo(ctx, d.db, time.Now()); err != nil {
		t.Fatal(err)
	}

	app, cleanup, err := buildAPI(gctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Go(func() error { return serveHTTP(gctx, d, app, ln) })
	g.Go(func() error { return serveWorker(gctx, d) })
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})

	// The proxy the browser talks to: it counts receipt uploads.
	var uploads atomic.Int64
	// dropAnswer makes the proxy pass the next upload to the API and then
	// cut the connection instead of answering: the phone does not learn
	// that its receipt arrived.
	var dropAnswer atomic.Bool
	var photoSize atomic.Value // "WxH" of the last uploaded receipt photo
	target, _ := url.Parse("http://" + ln.Addr().String())
	rp := httputil.NewSingleHostReverseProxy(target)
	tr := &http.Transport{}
	rp.Transport = tr
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	psrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/receipts" {
			uploads.Add(1)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
				r.Body = io.NopCloser(bytes.NewReader(body))
				photoSize.Store(uploadedPhotoSize(r.Header.Get("Content-Type"), body))
			}
			if dropAnswer.CompareAndSwap(true, false) {
				rp.ServeHTTP(httptest.NewRecorder(), r)
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
		}
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = psrv.Serve(pln) }()
	// Before the API shuts down: the proxy's idle connections to it would
	// hold its graceful shutdown.
	t.Cleanup(func() { _ = psrv.Close(); tr.CloseIdleConnections() })
	base := "http://" + pln.Addr().String()
	return &cabinetEnv{ctx: ctx, d: d, base: base, photoDir: photoDir, sms: sims.sms, email: sims.emailHTTP, ofd: "http://" + ofdLn.Addr().String(), dbURL: dbURL, uploads: &uploads, dropAnswer: &dropAnswer, photoSize: &photoSize}
}
