package gifterysim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery/gifterysim"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// The admin API a person uses in the dev run: plan a failure over HTTP,
// see it happen, list the orders, reset.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(gifterysim.New(gifterysim.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	c, err := giftery.New(giftery.Options{BaseURL: srv.URL, ClientID: "1001", Secret: "dev-giftery-secret", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) int {
		resp, err := http.Post(srv.URL+"/_sim/fail", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"mode":"melt","count":1}`); code != http.StatusBadRequest {
		t.Fatalf("unknown mode: HTTP %d", code)
	}
	if code := post(`{"cmd":"makeOrder","mode":"timeout","count":1}`); code != http.StatusNoContent {
		t.Fatalf("plan a failure: HTTP %d", code)
	}
	o := provider.Order{ID: "adm-1", ProductID: "2111", Face: 100000, Email: "a@example.com"}
	if _, err := c.Place(context.Background(), o); !errors.Is(err, provider.ErrUnknownOutcome) {
		t.Fatalf("Place = %v", err)
	}
	if _, err := c.Place(context.Background(), provider.Order{ID: "adm-2", ProductID: "2111", Face: 100000}); err != nil {
		t.Fatalf("the failure was planned once: %v", err)
	}
	var orders []gifterysim.Order
	resp, err := http.Get(srv.URL + "/_sim/orders")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&orders); err != nil || len(orders) != 2 || orders[0].UUID != "adm-1" {
		t.Fatalf("orders %+v, %v", orders, err)
	}
	resp.Body.Close()
	page, err := http.Get(srv.URL + "/_sim/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "adm-1") || !strings.Contains(string(body), orders[1].Code) {
		t.Fatalf("the orders page lacks the orders:\n%s", body)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/_sim/orders", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %v", err)
	}
	if _, err := c.Status(context.Background(), o); !errors.Is(err, provider.ErrOrderNotFound) {
		t.Fatalf("after reset: %v", err)
	}
}
