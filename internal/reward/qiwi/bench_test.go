package qiwi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi/qiwisim"
)

// BenchmarkPlace: mobile top-ups (operator lookup + pay) per second
// through the client against the simulator over loopback HTTP.
func BenchmarkPlace(b *testing.B) {
	sim := qiwisim.New(qiwisim.Options{Logger: slog.New(slog.DiscardHandler), Balance: 1 << 50})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := qiwi.New(qiwi.Options{BaseURL: srv.URL, TerminalID: "1001", Password: "dev-qiwi-password"})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			if _, err := c.Place(context.Background(), topup(id, qiwi.ProductMobile, "+79161234567", 100)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
