package qiwisim_test

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

	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi/qiwisim"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(qiwisim.New(qiwisim.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	c, err := qiwi.New(qiwi.Options{BaseURL: srv.URL, TerminalID: "1001", Password: "dev-qiwi-password"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/_sim/fail", "application/json", strings.NewReader(`{"request":"pay","mode":"500","count":1}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("plan a failure: %v", err)
	}
	resp.Body.Close()
	o := provider.Order{ID: "1", ProductID: qiwi.ProductWallet, Phone: "+79161234567", Face: 10000}
	if _, err := c.Place(context.Background(), o); !errors.Is(err, provider.ErrUnknownOutcome) {
		t.Fatalf("Place = %v", err)
	}
	if _, err := c.Place(context.Background(), o); err != nil {
		t.Fatalf("second Place: %v", err)
	}
	resp, err = http.Get(srv.URL + "/_sim/payments")
	if err != nil {
		t.Fatal(err)
	}
	var ps []qiwisim.Payment
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil || len(ps) != 1 || ps[0].TransactionNumber != "1" {
		t.Fatalf("payments %+v, %v", ps, err)
	}
	resp.Body.Close()
	page, err := http.Get(srv.URL + "/_sim/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "79161234567") {
		t.Fatalf("the payments page lacks the payment:\n%s", body)
	}
	if resp, err := http.Get(srv.URL + "/xml/topup.jsp"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the API: %v", err)
	}
}
