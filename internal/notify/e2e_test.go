package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcm"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcmsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

const project = "loyaltyjam-test"

var moscow = mustLoc("Europe/Moscow")

// at is h:m Moscow time, days after tomorrow: the injected clocks start
// after the database's now() (which stamps intents), so "due" and "age"
// compare the way they do in production.
func at(days, h, m int) time.Time {
	d := time.Now().In(moscow).AddDate(0, 0, 1+days)
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, moscow)
}

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is one test's world: a fresh database, the three simulators on real
// sockets, the real channel clients pointed at them and a dispatcher.
type env struct {
	pool     *pgxpool.Pool
	store    *notifydb.Store
	receipts *receiptdb.Store
	fcm      *fcmsim.Server
	pusher   *fcm.Sender
	sms      *smssim.Server
	smsC     *sms.Client
	mail     *emailsim.Server
	mailC    *email.Client
	clock    *clock
	disp     *notify.Dispatcher
	seq      int
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	e := &env{pool: pool, store: notifydb.New(pool),
		receipts: receiptdb.New(pool, notifydb.Notifier{}),
		// Noon in Moscow: outside the default quiet hours.
		clock: &clock{t: at(0, 12, 0)}}

	e.fcm = fcmsim.New(fcmsim.Options{ProjectID: project, Logger: quiet()})
	fts := httptest.NewServer(e.fcm)
	t.Cleanup(fts.Close)
	var err error
	if e.pusher, err = fcm.New(ctx, fcm.Options{ProjectID: project, Endpoint: fts.URL, Timeout: 20 * time.Second, Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	e.sms = smssim.New(smssim.Options{Logger: quiet()})
	sts := httptest.NewServer(e.sms)
	t.Cleanup(sts.Close)
	if e.smsC, err = sms.New(sms.Options{BaseURL: sts.URL, APIID: "test", Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	e.mail = emailsim.New(emailsim.Options{Logger: quiet()})
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	addr, err := e.mail.StartSMTP(sctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.mail.Close() })
	if e.mailC, err = email.New(email.Options{Addr: addr, From: "noreply@loyaltyjam.local", FromName: "Loyalty Jam", Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	e.disp = e.dispatcher(e.pusher)
	return e
}

func (e *env) dispatcher(p notify.PushSender) *notify.Dispatcher {
	return notify.NewDispatcher(e.store, notify.WithPush(p), notify.WithSMS(e.smsC), notify.WithEmail(e.mailC),
		notify.WithClock(e.clock.Now), notify.WithLogger(quiet()))
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) int64(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// participant creates a client with a program and a participant in it and
// returns the participant and program ids.
func (e *env) participant(t *testing.T, mail string) (pid, programID int64) {
	t.Helper()
	e.seq++
	code := fmt.Sprintf("client%d", e.seq)
	cid := e.int64(t, `INSERT INTO clients (code, name) VALUES ($1, 'Клиент') RETURNING id`, code)
	programID = e.int64(t, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, status)
		VALUES ($1, 'spring', 'Весенний марафон', '2026-01-01', '2026-12-31', 'live') RETURNING id`, cid)
	var em *string
	if mail != "" {
		em = &mail
	}
	pid = e.int64(t, `INSERT INTO participants (client_id, phone, role, name, email, status)
		VALUES ($1, $2, 'seller', 'Анна', $3, 'active') RETURNING id`, cid, fmt.Sprintf("+7999100%04d", e.seq), em)
	return pid, programID
}

func (e *env) device(t *testing.T, pid int64, token string) {
	t.Helper()
	e.exec(t, `INSERT INTO push_devices (participant_id, token, platform) VALUES ($1, $2, 'android')`, pid, token)
}

// creditedReceipt stores a verified receipt and drives it through
// matched → credited with receiptdb.Update, as the pipeline does; the
// event hook writes the intent. It returns the receipt and intent ids.
func (e *env) creditedReceipt(t *testing.T, pid, programID, points int64) (string, int64) {
	t.Helper()
	ctx := context.Background()
	e.seq++
	cid := e.int64(t, `SELECT client_id FROM participants WHERE id = $1`, pid)
	r := &receipt.Receipt{ClientID: cid, ParticipantID: pid, ProgramID: &programID, Source: receipt.SourceQR,
		FN: "9999078900012345", FD: int64(1000 + e.seq), FP: 123456789, Operation: 1,
		PurchasedAt: time.Date(2026, 3, 11, 18, 30, 0, 0, time.UTC), SumKopecks: 123450}
	if err := r.Transition(receipt.Verified, "worker", "ofd_verified", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.receipts.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	err := e.receipts.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, r *receipt.Receipt) error {
		if err := r.Transition(receipt.Matched, "worker", "items_matched", nil); err != nil {
			return err
		}
		r.PointsKopecks = points
		return r.Transition(receipt.Credited, "worker", "points_credited", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	id := e.int64(t, `SELECT id FROM notification_intents WHERE dedup_key = $1`, "receipt:"+r.ID+":credited:1")
	return r.ID, id
}

func (e *env) inboxCount(t *testing.T, intentID int64) int64 {
	t.Helper()
	return e.int64(t, `SELECT count(*) FROM notifications WHERE intent_id = $1`, intentID)
}

func (e *env) delivered(t *testing.T, intentID int64) bool {
	t.Helper()
	return e.int64(t, `SELECT count(*) FROM notification_intents WHERE id = $1 AND delivered_at IS NOT NULL`, intentID) == 1
}

// wantPushes asserts how many pushes each token got from the simulator.
func (e *env) wantPushes(t *testing.T, want map[string]int) {
	t.Helper()
	for tok, n := range want {
		if got := len(e.fcm.Messages(tok)); got != n {
			t.Errorf("token %s got %d pushes, want %d", tok, got, n)
		}
	}
}

func TestReceiptCreditedPushesOncePerDeviceAndOneInboxItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	e.device(t, pid, "device-token-android-0001")
	e.device(t, pid, "device-token-iphone-00002")
	rid, id := e.creditedReceipt(t, pid, prog, 150)

	if n := e.int64(t, `SELECT count(*) FROM notification_intents`); n != 1 {
		t.Fatalf("intents = %d, want 1", n)
	}
	for i := 0; i < 3; i++ { // the task retried after success
		if err := e.disp.Deliver(ctx, id); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	e.wantPushes(t, map[string]int{"device-token-android-0001": 1, "device-token-iphone-00002": 1})
	if n := e.inboxCount(t, id); n != 1 {
		t.Errorf("inbox items = %d, want 1", n)
	}
	if !e.delivered(t, id) {
		t.Error("intent not marked delivered")
	}

	m := e.fcm.Messages("device-token-android-0001")[0]
	if m.Title != "Начислено 1,5 балла" {
		t.Errorf("title = %q", m.Title)
	}
	wantBody := "Чек от 11.03.2026 на 1\u00a0234,50\u00a0₽ подтверждён. Программа «Весенний марафон»: +1,5 балла."
	if m.Body != wantBody {
		t.Errorf("body = %q, want %q", m.Body, wantBody)
	}
	for k, v := range map[string]string{"type": "receipt_credited", "receipt_id": rid, "deep_link": "loyaltyjam://receipts/" + rid} {
		if m.Data[k] != v {
			t.Errorf("data[%s] = %q, want %q", k, m.Data[k], v)
		}
	}
	if m.Data["notification_id"] == "" {
		t.Error("data has no notification_id")
	}
	if m.Android == nil || m.Android.CollapseKey != "receipt:"+rid || m.Android.TTL != "259200s" || m.Android.Priority != "high" {
		t.Errorf("android = %+v", m.Android)
	}
	if m.Android.Notification == nil || m.Android.Notification.ChannelID != "receipts" {
		t.Errorf("android notification = %+v", m.Android.Notification)
	}
	if m.APNS == nil || m.APNS.Headers["apns-collapse-id"] != "receipt:"+rid || m.APNS.Headers["apns-priority"] != "10" {
		t.Errorf("apns = %+v", m.APNS)
	}
	if badge, _ := m.APNS.Aps()["badge"].(float64); badge != 1 {
		t.Errorf("badge = %v, want 1 (one unread)", m.APNS.Aps()["badge"])
	}
}

func TestConcurrentDeliveriesPushOncePerDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	tokens := []string{"device-token-conc-0001", "device-token-conc-0002", "device-token-conc-0003"}
	for _, tok := range tokens {
		e.device(t, pid, tok)
	}
	_, id := e.creditedReceipt(t, pid, prog, 500)

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = e.disp.Deliver(ctx, id) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, notify.ErrInProgress) {
			t.Fatalf("concurrent Deliver: %v", err)
		}
	}
	// Whoever saw a target in flight is retried by the queue.
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("retry Deliver: %v", err)
	}
	e.wantPushes(t, map[string]int{tokens[0]: 1, tokens[1]: 1, tokens[2]: 1})
	if n := e.inboxCount(t, id); n != 1 {
		t.Errorf("inbox items = %d, want 1", n)
	}
	if !e.delivered(t, id) {
		t.Error("intent not delivered")
	}
}

// cancelAfterFirst is the real push sender whose context is cancelled
// right after the first successful send: a worker stopped mid-delivery.
type cancelAfterFirst struct {
	inner  *fcm.Sender
	cancel context.CancelFunc
	sent   int
}

func (c *cancelAfterFirst) Send(ctx context.Context, m push.Message) (push.Result, error) {
	if ctx.Err() != nil {
		return push.Result{}, ctx.Err()
	}
	r, err := c.inner.Send(ctx, m)
	if err == nil {
		c.sent++
		c.cancel()
	}
	return r, err
}

func TestDeliveryInterruptedMidwayResumesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid, prog := e.participant(t, "")
	tokens := []string{"device-token-kill-0001", "device-token-kill-0002", "device-token-kill-0003"}
	for _, tok := range tokens {
		e.device(t, pid, tok)
	}
	_, id := e.creditedReceipt(t, pid, prog, 1000)

	ctx, cancel := context.WithCancel(context.Background())
	killer := &cancelAfterFirst{inner: e.pusher, cancel: cancel}
	if err := e.dispatcher(killer).Deliver(ctx, id); err == nil {
		t.Fatal("interrupted Deliver returned nil")
	}
	e.wantPushes(t, map[string]int{tokens[0]: 1, tokens[1]: 0, tokens[2]: 0})
	if e.delivered(t, id) {
		t.Fatal("interrupted intent marked delivered")
	}
	if err := e.disp.Deliver(context.Background(), id); err != nil {
		t.Fatalf("resumed Deliver: %v", err)
	}
	e.wantPushes(t, map[string]int{tokens[0]: 1, tokens[1]: 1, tokens[2]: 1})
	if n := e.inboxCount(t, id); n != 1 {
		t.Errorf("inbox items = %d, want 1", n)
	}
}

func TestFailedDeviceIsRetriedAloneAndOthersNotResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	tokens := []string{"device-token-fail-0001", "device-token-fail-0002"}
	for _, tok := range tokens {
		e.device(t, pid, tok)
	}
	_, id := e.creditedReceipt(t, pid, prog, 200)

	// Devices are sent to in id order: the 500 hits the first one only.
	e.fcm.FailNext(1, 500)
	err := e.disp.Deliver(ctx, id)
	var pe *push.Error
	if !errors.As(err, &pe) || !pe.Retryable() || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("Deliver with FCM 500 = %v, want a transient push error", err)
	}
	e.wantPushes(t, map[string]int{tokens[0]: 0, tokens[1]: 1})
	if n := e.int64(t, `SELECT attempts FROM notification_intents WHERE id = $1`, id); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.wantPushes(t, map[string]int{tokens[0]: 1, tokens[1]: 1})
}

func TestWorkerKilledBetweenClaimAndSendResendsAfterLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	e.device(t, pid, "device-token-lease-0001")
	e.device(t, pid, "device-token-lease-0002")
	_, id := e.creditedReceipt(t, pid, prog, 300)
	dev1 := e.int64(t, `SELECT id FROM push_devices WHERE token = 'device-token-lease-0001'`)

	// A worker claimed device 1 and died before sending.
	now := e.clock.Now()
	if c, err := e.store.ClaimTarget(ctx, id, notify.ChannelPush, fmt.Sprintf("device:%d", dev1), now, now.Add(2*time.Minute)); err != nil || c != notify.Claimed {
		t.Fatalf("claim = %v, %v", c, err)
	}
	if err := e.disp.Deliver(ctx, id); !errors.Is(err, notify.ErrInProgress) {
		t.Fatalf("Deliver under a live lease = %v, want ErrInProgress", err)
	}
	e.wantPushes(t, map[string]int{"device-token-lease-0001": 0, "device-token-lease-0002": 1})

	e.clock.Set(now.Add(3 * time.Minute)) // the lease ran out
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("Deliver after the lease: %v", err)
	}
	e.wantPushes(t, map[string]int{"device-token-lease-0001": 1, "device-token-lease-0002": 1})
}

func TestInvalidTokensAreRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	e.device(t, pid, "sim-unregistered-0000001")
	e.device(t, pid, "sim-invalid-00000000002")
	e.device(t, pid, "device-token-good-00001")
	_, id := e.creditedReceipt(t, pid, prog, 100)

	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	var left []string
	rows, _ := e.pool.Query(ctx, `SELECT token FROM push_devices WHERE participant_id = $1`, pid)
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "device-token-good-00001" {
		t.Errorf("devices left = %v, want only the good one", left)
	}
	e.wantPushes(t, map[string]int{"device-token-good-00001": 1})
	if !e.delivered(t, id) {
		t.Error("intent not delivered")
	}
}

func TestQuietHoursDelayPushNotInbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	e.device(t, pid, "device-token-night-0001")
	_, id := e.creditedReceipt(t, pid, prog, 100)

	e.clock.Set(at(0, 23, 30))
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("Deliver at night: %v", err)
	}
	e.wantPushes(t, map[string]int{"device-token-night-0001": 0})
	if n := e.inboxCount(t, id); n != 1 {
		t.Fatalf("inbox items = %d, want 1 at once", n)
	}
	var next time.Time
	if err := e.pool.QueryRow(ctx, `SELECT next_attempt_at FROM notification_intents WHERE id = $1`, id).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if want := at(1, 8, 0); !next.Equal(want) {
		t.Errorf("next attempt = %v, want %v", next.In(moscow), want)
	}
	if e.delivered(t, id) {
		t.Fatal("deferred intent marked delivered")
	}
	e.clock.Set(at(1, 8, 0))
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatalf("Deliver in the morning: %v", err)
	}
	e.wantPushes(t, map[string]int{"device-token-night-0001": 1})
	if n := e.inboxCount(t, id); n != 1 {
		t.Errorf("inbox items = %d, want still 1", n)
	}
}

func TestPreferencesSwitchPushOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	e.device(t, pid, "device-token-prefs-001")
	p := notify.DefaultPreferences()
	p.Channels = map[notify.EventType]map[notify.Channel]bool{notify.ReceiptCredited: {notify.ChannelPush: false}}
	if err := e.store.SetPreferences(ctx, pid, p); err != nil {
		t.Fatal(err)
	}
	_, id := e.creditedReceipt(t, pid, prog, 100)
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.wantPushes(t, map[string]int{"device-token-prefs-001": 0})
	if n := e.inboxCount(t, id); n != 1 {
		t.Errorf("inbox = %d, want 1", n)
	}
	if !e.delivered(t, id) {
		t.Error("not delivered")
	}
}

func TestInvitationAndCredentialsGoBySMSAndEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, _ := e.participant(t, "anna@example.ru")
	phone := ""
	if err := e.pool.QueryRow(ctx, `SELECT phone FROM participants WHERE id = $1`, pid).Scan(&phone); err != nil {
		t.Fatal(err)
	}
	// Night in Moscow: onboarding messages are urgent and ignore quiet hours.
	e.clock.Set(at(0, 23, 30))

	var inv, cred int64
	err := postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		var err error
		if inv, _, err = notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: pid, Type: notify.Invitation,
			Data: notify.Data{ProgramName: "Весенний марафон", Link: "https://loyaltyjam.example/app"}, DedupKey: "invite:1"}); err != nil {
			return err
		}
		cred, _, err = notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: pid, Type: notify.Credentials,
			Data: notify.Data{Login: "anna", Password: "S3cret-pass", ProgramName: "Весенний марафон"}, DedupKey: "credentials:1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{inv, cred} {
		if err := e.disp.Deliver(ctx, id); err != nil {
			t.Fatalf("Deliver %d: %v", id, err)
		}
		if err := e.disp.Deliver(ctx, id); err != nil { // a retried task
			t.Fatalf("Deliver again %d: %v", id, err)
		}
	}
	msgs := e.sms.Messages(phone)
	if len(msgs) != 2 {
		t.Fatalf("SMS = %d, want 2: %+v", len(msgs), msgs)
	}
	texts := msgs[0].Text + "\n" + msgs[1].Text
	for _, want := range []string{"Вас пригласили в программу «Весенний марафон». Установите приложение: https://loyaltyjam.example/app", "логин anna, пароль S3cret-pass"} {
		if !strings.Contains(texts, want) {
			t.Errorf("SMS texts %q lack %q", texts, want)
		}
	}
	mails := e.mail.Emails("anna@example.ru")
	if len(mails) != 2 {
		t.Fatalf("e-mails = %d, want 2", len(mails))
	}
	subjects := mails[0].Subject + "|" + mails[1].Subject
	if !strings.Contains(subjects, "Приглашение в программу «Весенний марафон»") || !strings.Contains(subjects, "Данные для входа в Loyalty Jam") {
		t.Errorf("subjects = %q", subjects)
	}
	// The password never reaches the inbox and is erased once delivered.
	if n := e.inboxCount(t, cred); n != 0 {
		t.Errorf("credentials inbox items = %d, want 0", n)
	}
	if n := e.inboxCount(t, inv); n != 1 {
		t.Errorf("invitation inbox items = %d, want 1", n)
	}
	if n := e.int64(t, `SELECT count(*) FROM notification_intents WHERE data ? 'password'`); n != 0 {
		t.Errorf("%d intents still hold a password", n)
	}
}

func TestSMSGatewayFailureIsRetriedWithoutResendingEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, _ := e.participant(t, "ivan@example.ru")
	var id int64
	err := postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: pid, Type: notify.Invitation,
			Data: notify.Data{ProgramName: "Лето"}, DedupKey: "invite:2"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sms.FailNext(1, 503)
	if err := e.disp.Deliver(ctx, id); err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("Deliver with SMS 503 = %v, want transient", err)
	}
	if err := e.disp.Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	var phone string
	_ = e.pool.QueryRow(ctx, `SELECT phone FROM participants WHERE id = $1`, pid).Scan(&phone)
	if n := len(e.sms.Messages(phone)); n != 1 {
		t.Errorf("SMS = %d, want 1", n)
	}
	if n := len(e.mail.Emails("ivan@example.ru")); n != 1 {
		t.Errorf("e-mails = %d, want 1", n)
	}
}

func TestReceiptHookIntents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	cid := e.int64(t, `SELECT client_id FROM participants WHERE id = $1`, pid)
	r := &receipt.Receipt{ClientID: cid, ParticipantID: pid, ProgramID: &prog, Source: receipt.SourceQR,
		FN: "9999078900012345", FD: 77, FP: 1, Operation: 1, PurchasedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), SumKopecks: 5000}
	_ = r.Transition(receipt.Verifying, "worker", "verifying", nil)
	if _, err := e.receipts.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	step := func(to receipt.Status, reason string) {
		t.Helper()
		if err := e.receipts.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, r *receipt.Receipt) error {
			return r.Transition(to, "worker", reason, nil)
		}); err != nil {
			t.Fatal(err)
		}
	}
	// First review: an anomaly.
	if err := e.receipts.Update(ctx, r.ID, func(_ context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		return r.Transition(receipt.NeedsReview, "worker", "anomaly_kkt", nil)
	}); err != nil {
		t.Fatal(err)
	}
	step(receipt.Queued, "requeued")
	step(receipt.Verifying, "verifying")
	step(receipt.NeedsReview, "ofd_standalone_kkt")
	step(receipt.Rejected, "moderator_rejected")

	rows, err := e.pool.Query(ctx, `SELECT event_type || ' ' || dedup_key || ' ' || (data->>'reason') FROM notification_intents ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"receipt_needs_review receipt:" + r.ID + ":needs_review:1 anomaly_kkt",
		"receipt_needs_review receipt:" + r.ID + ":needs_review:2 ofd_standalone_kkt",
		"receipt_rejected receipt:" + r.ID + ":rejected:1 moderator_rejected",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("intents:\n got %q\nwant %q", got, want)
	}
}

// TestReturnIntentSaysPointsTakenBack: a return receipt that reversed its
// sale is credited with negative points; the seller is told the points
// were taken back, not that the receipt earned none.
func TestReturnIntentSaysPointsTakenBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, prog := e.participant(t, "")
	cid := e.int64(t, `SELECT client_id FROM participants WHERE id = $1`, pid)
	r := &receipt.Receipt{ClientID: cid, ParticipantID: pid, ProgramID: &prog, Source: receipt.SourceQR,
		FN: "9999078900012345", FD: 78, FP: 1, Operation: 2, PurchasedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), SumKopecks: 65000}
	_ = r.Transition(receipt.Verifying, "worker", "verifying", nil)
	if _, err := e.receipts.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := e.receipts.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, r *receipt.Receipt) error {
		for _, to := range []receipt.Status{receipt.Verified, receipt.Matched} {
			if err := r.Transition(to, "worker", "test", nil); err != nil {
				return err
			}
		}
		r.PointsKopecks = -3200
		return r.Transition(receipt.Credited, "worker", notify.ReasonReturnReversed, map[string]any{"reversed_kopecks": 3200})
	}); err != nil {
		t.Fatal(err)
	}
	var typ string
	var raw []byte
	if err := e.pool.QueryRow(ctx, `SELECT event_type, data FROM notification_intents WHERE participant_id = $1`, pid).
		Scan(&typ, &raw); err != nil {
		t.Fatal(err)
	}
	var d notify.Data
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c, err := notify.Render(notify.EventType(typ), d)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "Возврат: списано 32 балла" || !strings.Contains(c.Body, "баллы за его покупку списаны") ||
		strings.Contains(c.Title+c.Body, "баллов нет") {
		t.Errorf("return notification %s: %q / %q", typ, c.Title, c.Body)
	}
}

func TestEnqueueDedupAndRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, _ := e.participant(t, "")
	in := notify.Intent{ParticipantID: pid, Type: notify.PointsReleased,
		Data: notify.Data{PointsKopecks: 250000, ProgramName: "Весна"}, DedupKey: "release:2026-03:1"}
	var first int64
	for i := 0; i < 2; i++ {
		if err := postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
			id, created, err := notifydb.Enqueue(ctx, tx, in)
			if i == 0 {
				first = id
			}
			if created != (i == 0) || id != first {
				return fmt.Errorf("attempt %d: id %d created %v", i, id, created)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Rolled back with its event: no intent.
	in.DedupKey = "release:rolled-back"
	_ = postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		if _, _, err := notifydb.Enqueue(ctx, tx, in); err != nil {
			return err
		}
		return errors.New("event failed")
	})
	if n := e.int64(t, `SELECT count(*) FROM notification_intents`); n != 1 {
		t.Errorf("intents = %d, want 1", n)
	}
	// Unknown participant and type are refused.
	err := postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		_, _, err := notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: 999999, Type: notify.PointsReleased, DedupKey: "x"})
		return err
	})
	if !errors.Is(err, notifydb.ErrNoParticipant) {
		t.Errorf("unknown participant: %v", err)
	}
	err = postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		_, _, err := notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: pid, Type: "nope", DedupKey: "y"})
		return err
	})
	if err == nil {
		t.Error("unknown type accepted")
	}
}

func TestUnrenderableIntentFailsPermanently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, _ := e.participant(t, "")
	var id int64
	_ = postgres.WithTx(ctx, e.pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: pid, Type: notify.PointsReleased, DedupKey: "bad"})
		return err
	})
	if err := e.disp.Deliver(ctx, id); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("Deliver = %v, want ErrPermanent", err)
	}
	if n := e.int64(t, `SELECT count(*) FROM notification_intents WHERE id = $1 AND failed_at IS NOT NULL`, id); n != 1 {
		t.Error("intent not marked failed")
	}
	if err := e.disp.Deliver(ctx, 424242); !errors.Is(err, notify.ErrPermanent) {
		t.Errorf("missing intent: %v", err)
	}
}
