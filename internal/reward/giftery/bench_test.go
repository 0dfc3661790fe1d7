package giftery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery/gifterysim"
)

// BenchmarkPlace: orders placed (makeOrder + getStatus + getCode) per
// second through the client against the simulator over loopback HTTP.
func BenchmarkPlace(b *testing.B) {
	sim := gifterysim.New(gifterysim.Options{Logger: slog.New(slog.DiscardHandler), Balance: 1 << 40})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := giftery.New(giftery.Options{BaseURL: srv.URL, ClientID: clientID, Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			if _, err := c.Place(context.Background(), order(id, "13103", 500)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
