package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
	"github.com/loyaltyjam/loyaltyjam/mobile-api/openapicheck"
)

// TestProductEndToEnd runs what `loyaltyjam dev` runs, wired by the same
// functions (buildAPI, serveHTTP, serveWorker), against real PostgreSQL and
// Redis and the simulators over real HTTP: a demo seller signs in,
// registers a phone, uploads a receipt QR; the worker verifies it with the
// fiscal data simulator, matches its lines, credits points; the outbox
// relay pushes exactly one notification to the phone through the FCM
// simulator and puts one item in the inbox; the ledger balances.
func TestProductEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole product: skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	defer stopSims()

	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB),
		"PROVERKACHEKA_URL": "http://" + ofdLn.Addr().String(), "FNS_OPENAPI_URL": "http://" + ofdLn.Addr().String(),
		"FCM_ENDPOINT": sims.fcm + "/v1", "SMS_GATEWAY_URL": sims.sms, "SMTP_ADDR": sims.smtp,
		"PHOTO_DIR": t.TempDir(), "LOG_LEVEL": "error", "SHUTDOWN_TIMEOUT": "5s",
	}
	cfg := devConfig(t, env)
	d, err := openDeps(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := seed.Demo(ctx, d.db, time.Now()); err != nil {
		t.Fatal(err)
	}
	app, cleanup, err := buildAPI(gctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Go(func() error { return serveHTTP(gctx, d, app, ln) })
	g.Go(func() error { return serveWorker(gctx, d) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	api := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	call := func(method, path, token string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
			}
		}
		return resp.StatusCode
	}

	if st := call("GET", api+"/readyz", "", nil, nil); st != http.StatusOK {
		t.Fatalf("readyz: %d", st)
	}
	seller := seed.Participants[0]
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if st := call("POST", api+"/v1/auth/login", "", map[string]string{"login": seller.Login, "password": seed.DemoPassword}, &tokens); st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	const device = "e2e-device-token-0001"
	if st := call("POST", api+"/v1/devices", tokens.AccessToken, map[string]string{"token": device, "platform": "android"}, nil); st/100 != 2 {
		t.Fatalf("register device: %d", st)
	}
	// Non-urgent pushes wait out quiet hours (22:00–08:00 by default): the
	// seller turns them off so the push goes now, whatever the hour of the run.
	prefs := map[string]any{"timezone": "Europe/Moscow", "quiet_hours": map[string]any{"enabled": false, "start": "22:00", "end": "08:00"}, "channels": map[string]any{}}
	if st := call("PUT", api+"/v1/notifications/preferences", tokens.AccessToken, prefs, nil); st != http.StatusOK {
		t.Fatalf("preferences: %d", st)
	}
	var shop seed.Shop
	for _, s := range seed.Shops {
		if s.Code == seller.Shop {
			shop = s
		}
	}
	// The simulator invents the items from the fiscal identity: this one (the
	// QR that `make run` prints for the shop) holds program SKUs of its client.
	qrs, err := seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var qr string
	for _, q := range qrs {
		if q.Shop.Code == shop.Code {
			qr = q.Text
		}
	}
	var accepted struct{ ID, Status string }
	if st := call("POST", api+"/v1/receipts", tokens.AccessToken, map[string]string{"qr": qr}, &accepted); st != http.StatusAccepted {
		t.Fatalf("upload: %d %+v", st, accepted)
	}

	// The worker takes it to a terminal state.
	var rc struct {
		Status        string `json:"status"`
		PointsKopecks int64  `json:"points_kopecks"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		call("GET", api+"/v1/receipts/"+accepted.ID, tokens.AccessToken, nil, &rc)
		if st := receipt.Status(rc.Status); st != "" && st.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt still %q after 2 minutes", rc.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rc.Status != "credited" || rc.PointsKopecks <= 0 {
		t.Fatalf("receipt ended %q with %d kopecks of points, want credited with points", rc.Status, rc.PointsKopecks)
	}
	var bal struct {
		Available int64 `json:"available_kopecks"`
	}
	call("GET", api+"/v1/balance", tokens.AccessToken, nil, &bal)
	if bal.Available != rc.PointsKopecks {
		t.Errorf("balance %d, receipt credited %d", bal.Available, rc.PointsKopecks)
	}

	// One push to the phone, one inbox item.
	var pushes []json.RawMessage
	for {
		pushes = nil
		call("GET", sims.fcm+"/_sim/messages?token="+url.QueryEscape(device), "", nil, &pushes)
		if len(pushes) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var inbox struct {
		Items []struct {
			Type string `json:"type"`
		} `json:"items"`
		Unread int `json:"unread_count"`
	}
	call("GET", api+"/v1/notifications", tokens.AccessToken, nil, &inbox)
	// A second relay round must not send it again. Wait until the intent is
	// closed (the delivery task records it after the push), then run a relay
	// round that would re-enqueue even an intent enqueued a moment ago: it
	// must find nothing, so no later round can push again either.
	for {
		var open int
		if err := d.db.QueryRow(ctx, `SELECT count(*) FROM notification_intents
			WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notification intents still open after 2 minutes", open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	relay := notify.NewOutbox(notifydb.New(d.db), queue.NotifyEnqueuer{Client: d.queue,
		Inspector: asynq.NewInspectorFromRedisClient(d.redis)}, notify.WithResendAfter(0), notify.WithOutboxLogger(quiet))
	if n, err := relay.Relay(ctx); err != nil || n != 0 {
		t.Errorf("a relay round after delivery enqueued %d intents (%v), want 0", n, err)
	}
	var again []json.RawMessage
	call("GET", sims.fcm+"/_sim/messages?token="+url.QueryEscape(device), "", nil, &again)
	if len(pushes) != 1 || len(again) != 1 {
		t.Errorf("pushes to the device: %d, then %d after another relay round; want exactly 1", len(pushes), len(again))
	}
	if len(inbox.Items) != 1 || inbox.Items[0].Type != "receipt_credited" || inbox.Unread != 1 {
		t.Errorf("inbox = %+v, want one unread receipt_credited", inbox)
	}
	rep, err := ledgerdb.New(d.db).Check(ctx)
	if err != nil || !rep.OK() || rep.Transactions < 2 {
		t.Errorf("ledger check: %v, %+v", err, rep)
	}
}

// devConfig is dev's configuration with env on top.
func devConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		v, ok := devDefaults[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServedRoutesMatchOpenAPI checks the app that serve and dev really
// build (buildAPI, not a copy of it) against mobile-api/openapi.yaml: every
// /v1 route is documented and every documented operation is served.
func TestServedRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dbURL := pgtest.New(t)
	d := testDeps(t, dbURL)
	app, cleanup, err := buildAPI(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	doc, err := openapi3.NewLoader().LoadFromData(mobileapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if m := openapicheck.Undocumented(app, doc, "/v1/"); len(m) > 0 {
		t.Errorf("serve routes these but openapi.yaml lacks them:\n  %s", strings.Join(m, "\n  "))
	}
	if m := openapicheck.Unserved(app, doc); len(m) > 0 {
		t.Errorf("openapi.yaml documents these but serve does not route them:\n  %s", strings.Join(m, "\n  "))
	}
	if served := openapicheck.Served(app); !served["POST /v1/receipts"] || !served["GET /v1/tasks"] || !served["GET /healthz"] {
		t.Errorf("the walk missed routes serve has: %d routes seen", len(served))
	}
}

// testDeps opens the dependencies serve, worker and dev share (openDeps)
// on the test's database and a Redis database of its own, in development
// mode; they close when the test ends.
func testDeps(t *testing.T, dbURL string) *deps {
	t.Helper()
	ropt := redistest.DB(t)
	d, err := openDeps(context.Background(), devConfig(t, map[string]string{"DATABASE_URL": dbURL,
		"REDIS_URL": fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB), "PHOTO_DIR": t.TempDir(), "LOG_LEVEL": "error"}),
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}
