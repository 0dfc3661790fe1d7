package sms_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
)

// client has its own connection pool: httptest.Server.Close closes the idle
// connections of http.DefaultTransport, which breaks requests that parallel
// tests have in flight on it.
var client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

const apiID = "test-api-id"

func newPair(t *testing.T, o smssim.Options, timeout time.Duration) (*sms.Client, *smssim.Server) {
	t.Helper()
	o.APIID = apiID
	o.Logger = slog.New(slog.DiscardHandler)
	sim := smssim.New(o)
	base, err := sim.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := sms.New(sms.Options{BaseURL: base, APIID: apiID, From: "LoyaltyJam", Timeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

func TestSendAndReadBack(t *testing.T) {
	t.Parallel()
	c, sim := newPair(t, smssim.Options{Balance: 5000, Cost: 250}, 0)
	res, err := c.Send(context.Background(), sms.Message{To: "+7 (912) 345-67-89", Text: "Код входа в Loyalty Jam: 482913", TTL: 5 * time.Minute})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ID == "" || res.Balance != 4750 {
		t.Errorf("result = %+v, want an id and balance 4750", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := sim.Wait(ctx, "+79123456789", 1)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Code() != "482913" || msg.To != "+79123456789" || msg.From != "LoyaltyJam" || msg.TTL != 5 || msg.ID != res.ID {
		t.Errorf("recorded %+v", msg)
	}
	if last, ok := sim.Last("89123456789"); !ok || last.ID != res.ID {
		t.Errorf("Last by national spelling = %+v %v", last, ok)
	}
	bal, err := c.Balance(context.Background())
	if err != nil || bal != 4750 {
		t.Errorf("Balance = %d, %v", bal, err)
	}
}

func TestReadBackOverHTTP(t *testing.T) {
	t.Parallel()
	sim := smssim.New(smssim.Options{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	c, err := sms.New(sms.Options{BaseURL: ts.URL, APIID: "any", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), sms.Message{To: "+79001112233", Text: "Ваш код 1234"}); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(ts.URL + "/_sim/messages?to=%2B79001112233")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	page, err := client.Get(ts.URL + "/_sim/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != 200 {
		t.Errorf("page status %d", page.StatusCode)
	}
}

func TestFailuresAreClassified(t *testing.T) {
	t.Parallel()
	c, sim := newPair(t, smssim.Options{RetryAfter: 7 * time.Second}, 0)
	tests := []struct {
		to             string
		wantKind       sms.Kind
		wantCode       int
		wantHTTP       int
		wantRetryAfter time.Duration
	}{
		{to: "+79990000429", wantKind: sms.KindRateLimited, wantHTTP: 429, wantRetryAfter: 7 * time.Second},
		{to: "+79990000500", wantKind: sms.KindRetryable, wantHTTP: 500},
		{to: "+79990000503", wantKind: sms.KindRetryable, wantHTTP: 503},
		{to: "+79990000220", wantKind: sms.KindRetryable, wantCode: 220, wantHTTP: 200},
		{to: "+79990000201", wantKind: sms.KindAccount, wantCode: 201, wantHTTP: 200},
		{to: "+79990000207", wantKind: sms.KindRejected, wantCode: 207, wantHTTP: 200},
		{to: "+79990000231", wantKind: sms.KindRateLimited, wantCode: 231, wantHTTP: 200, wantRetryAfter: time.Minute},
		{to: "12345", wantKind: sms.KindRejected, wantCode: 202},
	}
	for _, tc := range tests {
		t.Run(tc.to, func(t *testing.T) {
			t.Parallel()
			_, err := c.Send(context.Background(), sms.Message{To: tc.to, Text: "Код 1111"})
			var e *sms.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *sms.Error", err)
			}
			if e.Kind != tc.wantKind || e.Code != tc.wantCode || e.HTTPStatus != tc.wantHTTP || e.RetryAfter() != tc.wantRetryAfter {
				t.Errorf("got kind=%v code=%d http=%d retry_after=%v; want %v %d %d %v",
					e.Kind, e.Code, e.HTTPStatus, e.RetryAfter(), tc.wantKind, tc.wantCode, tc.wantHTTP, tc.wantRetryAfter)
			}
			wantRetry := tc.wantKind == sms.KindRetryable || tc.wantKind == sms.KindRateLimited
			if e.Retryable() != wantRetry {
				t.Errorf("Retryable() = %v", e.Retryable())
			}
		})
	}
	t.Cleanup(func() {
		if n := len(sim.Messages("")); n != 0 {
			t.Errorf("%d failed messages recorded", n)
		}
	})
}

func TestWrongAPIIDIsAccountError(t *testing.T) {
	t.Parallel()
	_, sim := newPair(t, smssim.Options{}, 0)
	ts := httptest.NewServer(sim)
	defer ts.Close()
	c, err := sms.New(sms.Options{BaseURL: ts.URL, APIID: "wrong", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), sms.Message{To: "+79001234567", Text: "x"})
	var e *sms.Error
	if !errors.As(err, &e) || e.Kind != sms.KindAccount || e.Code != 200 || e.Retryable() {
		t.Fatalf("err = %v, want account error 200", err)
	}
}

func TestBalanceExhaustedAndInjectedFailures(t *testing.T) {
	t.Parallel()
	c, sim := newPair(t, smssim.Options{}, 0)
	ctx := context.Background()
	msg := sms.Message{To: "+79001234567", Text: "Код 5555"}

	sim.SetBalance(0)
	if _, err := c.Send(ctx, msg); !isKind(err, sms.KindAccount) {
		t.Errorf("zero balance: %v", err)
	}
	sim.Reset()

	sim.FailNext(2, http.StatusServiceUnavailable)
	for i := range 2 {
		if _, err := c.Send(ctx, msg); !isKind(err, sms.KindRetryable) {
			t.Errorf("injected failure %d: %v", i, err)
		}
	}
	if _, err := c.Send(ctx, msg); err != nil {
		t.Errorf("after injected failures: %v", err)
	}
	if got := len(sim.Messages(msg.To)); got != 1 {
		t.Errorf("recorded %d messages, want 1", got)
	}
}

func TestSlowGatewayTimesOutAsRetryable(t *testing.T) {
	t.Parallel()
	c, _ := newPair(t, smssim.Options{SlowDelay: time.Minute}, 200*time.Millisecond)
	_, err := c.Send(context.Background(), sms.Message{To: "+79990000999", Text: "Код 1"})
	if !isKind(err, sms.KindRetryable) {
		t.Fatalf("err = %v, want retryable timeout", err)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	sim := smssim.New(smssim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sim.Wait(ctx, "+79001234567", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeAndMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+79991234567":        "79991234567",
		"8 (999) 123-45-67":   "79991234567",
		"+7 999 123 45 67":    "79991234567",
		"+380441234567":       "380441234567",
		"12345":               "",
		"+7999123456a":        "",
		"7999123456712345678": "",
	} {
		got, err := sms.Normalize(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got := sms.MaskPhone("+79991234567"); got != "+7999***4567" {
		t.Errorf("MaskPhone = %q", got)
	}
}

func isKind(err error, k sms.Kind) bool {
	var e *sms.Error
	return errors.As(err, &e) && e.Kind == k
}
