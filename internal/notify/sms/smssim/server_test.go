package smssim_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
)

// client has its own connection pool: httptest.Server.Close closes the idle
// connections of http.DefaultTransport, which breaks requests that parallel
// tests have in flight on it.
var client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

func post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPlainTextAnswerAndGET(t *testing.T) {
	t.Parallel()
	sim := smssim.New(smssim.Options{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(sim)
	defer ts.Close()

	// Without json=1 SMS.RU answers in lines: status, sms id, balance.
	status, body := post(t, ts.URL+"/sms/send", url.Values{"api_id": {"x"}, "to": {"79001234567"}, "msg": {"Код 4321"}})
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if status != 200 || len(lines) != 3 || lines[0] != "100" || !strings.HasPrefix(lines[2], "balance=") {
		t.Errorf("plain answer %d %q", status, body)
	}
	// GET with a query works as with SMS.RU.
	resp, err := client.Get(ts.URL + "/sms/send?" + url.Values{"api_id": {"x"}, "to": {"79001234568"}, "msg": {"Код 8765"}, "json": {"1"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if m, ok := sim.Last("+79001234568"); !ok || m.Code() != "8765" {
		t.Errorf("GET send not recorded: %+v", m)
	}
	// Empty text is 203 at request level.
	_, body = post(t, ts.URL+"/sms/send", url.Values{"api_id": {"x"}, "to": {"79001234567"}, "msg": {" "}, "json": {"1"}})
	if !strings.Contains(body, `"status_code":203`) {
		t.Errorf("empty text: %s", body)
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	sim := smssim.New(smssim.Options{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(sim)
	defer ts.Close()
	send := url.Values{"api_id": {"x"}, "to": {"79001234567"}, "msg": {"hi"}, "json": {"1"}}

	resp, err := client.Post(ts.URL+"/_sim/balance", "application/json", strings.NewReader(`{"kopecks":0}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := post(t, ts.URL+"/sms/send", send); !strings.Contains(body, `"status_code":201`) {
		t.Errorf("exhausted balance: %s", body)
	}
	req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/_sim/messages", nil)
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	resp, err = client.Post(ts.URL+"/_sim/fail", "application/json", strings.NewReader(`{"count":1,"status":220}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := post(t, ts.URL+"/sms/send", send); !strings.Contains(body, `"status_code":220`) {
		t.Errorf("injected 220: %s", body)
	}
	if status, body := post(t, ts.URL+"/sms/send", send); status != 200 || !strings.Contains(body, `"status_code":100`) {
		t.Errorf("after injected failure: %d %s", status, body)
	}
	if got := sim.Requests(); got != 2 { // reset zeroes the count
		t.Errorf("requests = %d, want 2", got)
	}
	if n := len(sim.Messages("")); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
