package fcm_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcm"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcmsim"
)

const project = "loyaltyjam-test"

// newPair starts an FCM simulator on a real listener and a real Sender
// pointed at it.
func newPair(t *testing.T, simOpts fcmsim.Options) (*fcm.Sender, *fcmsim.Server) {
	t.Helper()
	simOpts.ProjectID = project
	sim := fcmsim.New(simOpts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	s, err := fcm.New(context.Background(), fcm.Options{
		ProjectID: project,
		Endpoint:  ts.URL, // "/v1" is added
		Logger:    slog.New(slog.DiscardHandler),
		Now:       func() time.Time { return time.Unix(1_800_000_000, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, sim
}

func TestSendRecordsAndroidAndAPNSPayloads(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{})
	badge := 3
	res, err := s.Send(context.Background(), push.Message{
		Token:       "device-token-1234567890",
		Title:       "Чек проверен",
		Body:        "Начислено 150 баллов",
		Data:        map[string]string{"type": "receipt_credited", "receipt_id": "r-42", "deep_link": "loyaltyjam://receipts/r-42"},
		CollapseKey: "receipt:r-42",
		TTL:         24 * time.Hour,
		ChannelID:   "receipts",
		Badge:       &badge,
		ThreadID:    "receipts",
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := sim.Messages("device-token-1234567890")
	if len(msgs) != 1 {
		t.Fatalf("simulator recorded %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if res.MessageID != got.Name {
		t.Errorf("MessageID = %q, simulator name %q", res.MessageID, got.Name)
	}
	if got.Title != "Чек проверен" || got.Body != "Начислено 150 баллов" {
		t.Errorf("notification = %q / %q", got.Title, got.Body)
	}
	if diff := cmp.Diff(map[string]string{"type": "receipt_credited", "receipt_id": "r-42", "deep_link": "loyaltyjam://receipts/r-42"}, got.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	wantAndroid := &fcmsim.Android{
		CollapseKey: "receipt:r-42", Priority: "high", TTL: "86400s",
		Notification: &fcmsim.AndroidNotification{ChannelID: "receipts", Sound: "default", Tag: "receipt:r-42"},
	}
	if diff := cmp.Diff(wantAndroid, got.Android); diff != "" {
		t.Errorf("android (-want +got):\n%s", diff)
	}
	wantHeaders := map[string]string{
		"apns-collapse-id": "receipt:r-42",
		"apns-expiration":  strconv.FormatInt(1_800_000_000+86400, 10),
		"apns-priority":    "10",
		"apns-push-type":   "alert",
	}
	if got.APNS == nil {
		t.Fatal("no apns block recorded")
	}
	if diff := cmp.Diff(wantHeaders, got.APNS.Headers); diff != "" {
		t.Errorf("apns headers (-want +got):\n%s", diff)
	}
	wantAps := map[string]any{
		"alert":     map[string]any{"title": "Чек проверен", "body": "Начислено 150 баллов"},
		"sound":     "default",
		"badge":     float64(3),
		"thread-id": "receipts",
	}
	if diff := cmp.Diff(wantAps, got.APNS.Aps()); diff != "" {
		t.Errorf("aps (-want +got):\n%s", diff)
	}
}

func TestSendNormalPriorityWithoutTTL(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{})
	if _, err := s.Send(context.Background(), push.Message{Token: "tok-normal-priority", Title: "t", Body: "b", Priority: push.PriorityNormal}); err != nil {
		t.Fatal(err)
	}
	got := sim.Messages("tok-normal-priority")[0]
	if got.Android.Priority != "normal" || got.Android.TTL != "" || got.APNS.Headers["apns-priority"] != "5" {
		t.Errorf("android %+v apns %+v", got.Android, got.APNS.Headers)
	}
	if _, ok := got.APNS.Headers["apns-expiration"]; ok {
		t.Error("apns-expiration set without TTL")
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{RetryAfter: 42 * time.Second})
	tests := []struct {
		token          string
		wantKind       push.Kind
		wantCode       string
		wantStatus     int
		wantTokenGone  bool
		wantRetryable  bool
		wantRetryAfter time.Duration
	}{
		{token: "sim-unregistered-a", wantKind: push.KindTokenInvalid, wantCode: "UNREGISTERED", wantStatus: 404, wantTokenGone: true},
		{token: "sim-invalid-a", wantKind: push.KindTokenInvalid, wantCode: "INVALID_ARGUMENT", wantStatus: 400, wantTokenGone: true},
		{token: "sim-mismatch-a", wantKind: push.KindTokenInvalid, wantCode: "SENDER_ID_MISMATCH", wantStatus: 403, wantTokenGone: true},
		{token: "sim-429-a", wantKind: push.KindRateLimited, wantCode: "QUOTA_EXCEEDED", wantStatus: 429, wantRetryable: true, wantRetryAfter: 42 * time.Second},
		{token: "sim-500-a", wantKind: push.KindRetryable, wantCode: "INTERNAL", wantStatus: 500, wantRetryable: true},
	}
	for _, tc := range tests {
		t.Run(tc.token, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(context.Background(), push.Message{Token: tc.token, Title: "t", Body: "b"})
			var pe *push.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *push.Error", err)
			}
			if pe.Kind != tc.wantKind || pe.Code != tc.wantCode || pe.HTTPStatus != tc.wantStatus {
				t.Errorf("got kind=%v code=%s status=%d, want %v %s %d", pe.Kind, pe.Code, pe.HTTPStatus, tc.wantKind, tc.wantCode, tc.wantStatus)
			}
			if got := errors.Is(err, push.ErrTokenInvalid); got != tc.wantTokenGone {
				t.Errorf("errors.Is(err, ErrTokenInvalid) = %v", got)
			}
			if pe.Retryable() != tc.wantRetryable || pe.RetryAfter() != tc.wantRetryAfter {
				t.Errorf("Retryable=%v RetryAfter=%v", pe.Retryable(), pe.RetryAfter())
			}
		})
	}
	t.Cleanup(func() {
		if n := len(sim.Messages("")); n != 0 {
			t.Errorf("simulator recorded %d failed messages", n)
		}
	})
}

func TestInvalidPayloadKeepsToken(t *testing.T) {
	t.Parallel()
	s, _ := newPair(t, fcmsim.Options{})
	_, err := s.Send(context.Background(), push.Message{Token: "good-token-123456", Data: map[string]string{"google.x": "1"}})
	if err == nil || errors.Is(err, push.ErrTokenInvalid) {
		t.Fatalf("err = %v, want a permanent error that keeps the token", err)
	}
	var pe *push.Error
	if !errors.As(err, &pe) || pe.Retryable() {
		t.Fatalf("err = %#v, want permanent", err)
	}
}

// The SDK retries 503 by itself; one transient failure must be invisible to
// the caller but visible as two requests at the simulator.
func TestSendSurvivesOneUnavailable(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{})
	sim.FailNext(1, http.StatusServiceUnavailable)
	if _, err := s.Send(context.Background(), push.Message{Token: "tok-after-503", Title: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sim.Requests(); got != 2 {
		t.Errorf("requests = %d, want 2 (one 503, one retry)", got)
	}
	if len(sim.Messages("tok-after-503")) != 1 {
		t.Error("message not recorded")
	}
}

// A 503 that outlasts the SDK's own retries (1 + 4 attempts) reaches the
// caller as retryable. The SDK waits 0+1+2+4 s between attempts.
func TestSendPersistentUnavailableIsRetryable(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{})
	_, err := s.Send(context.Background(), push.Message{Token: "sim-503-persistent", Title: "t"})
	var pe *push.Error
	if !errors.As(err, &pe) || !pe.Retryable() || pe.Code != "UNAVAILABLE" || errors.Is(err, push.ErrTokenInvalid) {
		t.Fatalf("err = %v, want retryable UNAVAILABLE", err)
	}
	if got := sim.Requests(); got != 5 {
		t.Errorf("requests = %d, want 5", got)
	}
}

func TestSendEachPerParticipant(t *testing.T) {
	t.Parallel()
	s, sim := newPair(t, fcmsim.Options{})
	tokens := []string{"phone-a-123456789", "sim-unregistered-old-phone", "tablet-b-123456789"}
	res, err := s.SendEach(context.Background(), push.Message{Title: "t", Body: "b", CollapseKey: "receipt:1"}, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results", len(res))
	}
	for i, r := range res {
		if r.Token != tokens[i] {
			t.Errorf("result %d token %q", i, r.Token)
		}
	}
	if res[0].Err != nil || res[2].Err != nil || res[0].MessageID == "" {
		t.Errorf("good tokens: %+v %+v", res[0], res[2])
	}
	if !errors.Is(res[1].Err, push.ErrTokenInvalid) {
		t.Errorf("unregistered token: %v", res[1].Err)
	}
	if n := len(sim.Messages("")); n != 2 {
		t.Errorf("simulator recorded %d, want 2", n)
	}
}

func TestSendTimesOutOnSlowToken(t *testing.T) {
	t.Parallel()
	sim := fcmsim.New(fcmsim.Options{SlowDelay: time.Minute})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	s, err := fcm.New(context.Background(), fcm.Options{
		ProjectID: project, Endpoint: ts.URL + "/v1", Timeout: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), push.Message{Token: "sim-slow-1", Title: "t"})
	var pe *push.Error
	if !errors.As(err, &pe) || !pe.Retryable() {
		t.Fatalf("err = %v, want retryable", err)
	}
}
