package mobileapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// stuckDecoder never finds anything before its context ends, and counts how
// many decodes run at once.
type stuckDecoder struct {
	running, most atomic.Int32
	entered       chan struct{}
}

func (d *stuckDecoder) DecodeBytes(ctx context.Context, _ []byte) (qrscan.Result, error) {
	n := d.running.Add(1)
	defer d.running.Add(-1)
	for m := d.most.Load(); n > m && !d.most.CompareAndSwap(m, n); m = d.most.Load() {
	}
	d.entered <- struct{}{}
	<-ctx.Done()
	return qrscan.Result{}, ctx.Err()
}

// TestDecodePoolIsBounded: a burst of photos that are slow to decode never
// runs more than DECODE_WORKERS decodes at once, every photo is still
// accepted (202 "received", finished by a worker) when the budget runs out,
// and the API keeps answering other requests meanwhile.
func TestDecodePoolIsBounded(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.DecodeWorkers = 2
	cfg.DecodeBudget = 2 * time.Second
	dec := &stuckDecoder{entered: make(chan struct{}, 16)}
	e := newEnvWith(t, cfg, func(d *mobileapi.Deps) { d.Decoder = dec })
	c := e.client(t, "live")
	var toks []string
	for range 6 { // one decode at a time per participant: the burst is several people's
		toks = append(toks, e.login(t, e.participant(t, c, "", "active")).AccessToken)
	}
	photo := qrPNG(t, qrText())

	const burst = 6
	var wg sync.WaitGroup
	answers := make([]resp, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.do(t, multipartReq("/v1/receipts", toks[i], map[string]any{"photo": photo}))
		}()
	}
	// Both slots are taken: the API still answers.
	for range cfg.DecodeWorkers {
		select {
		case <-dec.entered:
		case <-time.After(time.Minute):
			t.Fatal("no decode started")
		}
	}
	if r := e.do(t, jsonReq("GET", "/v1/me", toks[0], nil)); r.Status != http.StatusOK {
		t.Errorf("GET /v1/me during the burst: %d %s", r.Status, r.Body)
	}
	wg.Wait()
	if most := dec.most.Load(); most != int32(cfg.DecodeWorkers) {
		t.Errorf("%d decodes ran at once, want exactly DECODE_WORKERS = %d", most, cfg.DecodeWorkers)
	}
	for i, r := range answers {
		var a accepted
		r.json(t, &a)
		if r.Status != http.StatusAccepted || a.Status != "received" {
			t.Errorf("upload %d: %d %s, want 202 received", i, r.Status, r.Body)
		}
	}
}

// TestOneDecodePerParticipant: one participant's burst of photos runs one
// request-path decode at a time; the others are accepted at once (202
// "received") for a worker, so one person cannot take every decode slot.
func TestOneDecodePerParticipant(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.DecodeWorkers = 4
	cfg.DecodeBudget = 2 * time.Second
	dec := &stuckDecoder{entered: make(chan struct{}, 16)}
	e := newEnvWith(t, cfg, func(d *mobileapi.Deps) { d.Decoder = dec })
	tok := e.login(t, e.participant(t, e.client(t, "live"), "", "active")).AccessToken
	photo := qrPNG(t, qrText())
	var wg sync.WaitGroup
	answers := make([]resp, 4)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.do(t, multipartReq("/v1/receipts", tok, map[string]any{"photo": photo}))
		}()
	}
	wg.Wait()
	if most := dec.most.Load(); most != 1 {
		t.Errorf("%d decodes of one participant ran at once, want 1", most)
	}
	for i, r := range answers {
		var a accepted
		r.json(t, &a)
		if r.Status != http.StatusAccepted || a.Status != "received" {
			t.Errorf("upload %d: %d %s, want 202 received", i, r.Status, r.Body)
		}
	}
}

// TestDailyUploadLimit: the per-day cap bites on its own when the hourly
// one is far away.
func TestDailyUploadLimit(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.UploadsPerHour, cfg.UploadsPerDay = 100, 2
	e := newEnv(t, cfg)
	c := e.client(t, "live")
	tok := e.login(t, e.participant(t, c, "", "active")).AccessToken
	for i := range 2 {
		if r := e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()})); r.Status != http.StatusAccepted {
			t.Fatalf("upload %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}))
	if r.Status != http.StatusTooManyRequests || r.code() != "upload_limit_exceeded" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third upload of the day: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}

// TestOTPExpires: a code is refused once OTP_TTL has passed, and accepted
// just before.
func TestOTPExpires(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cfg := defaultAuth()
	e := newEnvWith(t, cfg, func(d *mobileapi.Deps) { d.Now = clock })
	c := e.client(t, "live")
	late, early := e.participant(t, c, "", "active"), e.participant(t, c, "", "active")
	for _, p := range []tparticipant{late, early} {
		if r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": p.Phone})); r.Status != http.StatusAccepted {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
	}
	lateCode, _ := e.sim.Last(late.Phone)
	earlyCode, _ := e.sim.Last(early.Phone)
	advance(cfg.OTPTTL - time.Second)
	if r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": early.Phone, "code": earlyCode.Code()})); r.Status != http.StatusOK {
		t.Fatalf("code a second before it expires: %d %s", r.Status, r.Body)
	}
	advance(2 * time.Second)
	r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": late.Phone, "code": lateCode.Code()}))
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("code a second after it expired: %d %s, want 401", r.Status, r.Body)
	}
}
