package fcmsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcm"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcmsim"
)

// client has its own connection pool: httptest.Server.Close closes the idle
// connections of http.DefaultTransport, which breaks requests that parallel
// tests have in flight on it.
var client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

func do(t *testing.T, method, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// The admin API drives the real SDK client's outcomes, as a test in another
// process (or a person with curl) would.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	sim := fcmsim.New(fcmsim.Options{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	s, err := fcm.New(context.Background(), fcm.Options{ProjectID: "p", Endpoint: ts.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if r := do(t, http.MethodPut, ts.URL+"/_sim/tokens/phone-1", `{"mode":"unregistered"}`); r.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT mode: %d", r.StatusCode)
	}
	if _, err := s.Send(ctx, push.Message{Token: "phone-1", Title: "t"}); !errors.Is(err, push.ErrTokenInvalid) {
		t.Errorf("forced unregistered: %v", err)
	}
	do(t, http.MethodDelete, ts.URL+"/_sim/tokens/phone-1", "")
	if _, err := s.Send(ctx, push.Message{Token: "phone-1", Title: "t"}); err != nil {
		t.Errorf("after clearing mode: %v", err)
	}

	// "ok" overrides a failure prefix.
	do(t, http.MethodPut, ts.URL+"/_sim/tokens/sim-503-x", `{"mode":"ok"}`)
	if _, err := s.Send(ctx, push.Message{Token: "sim-503-x", Title: "t"}); err != nil {
		t.Errorf("prefix overridden: %v", err)
	}

	if r := do(t, http.MethodPost, ts.URL+"/_sim/fail", `{"count":1,"status":429}`); r.StatusCode != http.StatusNoContent {
		t.Fatalf("POST fail: %d", r.StatusCode)
	}
	_, err = s.Send(ctx, push.Message{Token: "phone-2", Title: "t"})
	var pe *push.Error
	if !errors.As(err, &pe) || pe.Kind != push.KindRateLimited {
		t.Errorf("injected 429: %v", err)
	}

	r := do(t, http.MethodGet, ts.URL+"/_sim/messages?token=phone-1", "")
	var got []fcmsim.Message
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Token != "phone-1" || !strings.HasPrefix(got[0].Name, "projects/p/messages/") {
		t.Errorf("GET messages = %+v", got)
	}
	if r := do(t, http.MethodGet, ts.URL+"/_sim/", ""); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	do(t, http.MethodDelete, ts.URL+"/_sim/messages", "")
	if n := len(sim.Messages("")); n != 0 {
		t.Errorf("after reset %d messages", n)
	}
}

func TestProtocolValidation(t *testing.T) {
	t.Parallel()
	sim := fcmsim.New(fcmsim.Options{ProjectID: "p", RequireAuth: true, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	tests := []struct {
		name, project, auth, body string
		wantStatus                int
		wantStatusText            string
	}{
		{"ok", "p", "Bearer x", `{"message":{"token":"t","data":{"a":"1"}}}`, 200, ""},
		{"no auth", "p", "", `{"message":{"token":"t"}}`, 401, "UNAUTHENTICATED"},
		{"other project", "q", "Bearer x", `{"message":{"token":"t"}}`, 404, "NOT_FOUND"},
		{"two targets", "p", "Bearer x", `{"message":{"token":"t","topic":"news"}}`, 400, "INVALID_ARGUMENT"},
		{"number in data", "p", "Bearer x", `{"message":{"token":"t","data":{"a":1}}}`, 400, "INVALID_ARGUMENT"},
		{"reserved key", "p", "Bearer x", `{"message":{"token":"t","data":{"google.x":"1"}}}`, 400, "INVALID_ARGUMENT"},
		{"bad ttl", "p", "Bearer x", `{"message":{"token":"t","android":{"ttl":"1h"}}}`, 400, "INVALID_ARGUMENT"},
		{"not json", "p", "Bearer x", `{`, 400, "INVALID_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/projects/"+tc.project+"/messages:send", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Name  string `json:"name"`
				Error struct {
					Code   int    `json:"code"`
					Status string `json:"status"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus || body.Error.Status != tc.wantStatusText {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body.Error.Status, tc.wantStatus, tc.wantStatusText)
			}
			if tc.wantStatus == 200 && !strings.HasPrefix(body.Name, "projects/p/messages/") {
				t.Errorf("name = %q", body.Name)
			}
			if tc.wantStatus != 200 && body.Error.Code != tc.wantStatus {
				t.Errorf("error.code = %d", body.Error.Code)
			}
		})
	}
}
