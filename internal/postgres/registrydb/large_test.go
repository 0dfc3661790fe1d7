package registrydb_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// TestLargePointsRegistry processes a 100 000-row registry end to end and
// logs how long each step took (docs/registries.md records the numbers).
// No timing is asserted.
func TestLargePointsRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("100 000 rows: skipped with -short")
	}
	t.Parallel()
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("REGISTRY_LARGE_ROWS")); err == nil && v > 0 {
		n = v // for profiling at other sizes
	}
	start := time.Now()
	f := setup(t, n, 100_000_000_000, 0)
	t.Logf("setup: %d participants in %v", n, time.Since(start))
	var b strings.Builder
	b.WriteString("Телефон;Баллы;Комментарий\n")
	var total int64
	for i := range n {
		k := int64(i%1000)*100 + int64(i%100) + 1
		total += k
		fmt.Fprintf(&b, "%s;%s;план марта\n", phone(i), money.Sheet.Format(money.Kopecks(k)))
	}
	data := []byte(b.String())

	ctx := context.Background()
	start = time.Now()
	u := f.uploadPoints(t, f.maker, data)
	upload := time.Since(start)
	if u.Status != registry.StatusValidated || u.Points.TotalKopecks != total || u.ItemsTotal != n {
		t.Fatalf("upload: %s total %d items %d errors %v", u.Status, u.Points.TotalKopecks, u.ItemsTotal, u.Errors[:min(3, len(u.Errors))])
	}
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)

	// Watch progress from another goroutine while the worker runs.
	stop := make(chan struct{})
	var seen []int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			p, err := f.store.Get(ctx, u.ID)
			if err == nil && p.ItemsDone > 0 && p.ItemsDone < n {
				seen = append(seen, p.ItemsDone)
			}
		}
	}()
	start = time.Now()
	must(t, f.proc.Process(ctx, u.ID))
	process := time.Since(start)
	close(stop)
	wg.Wait()

	u, err = f.store.Get(ctx, u.ID)
	must(t, err)
	if u.Status != registry.StatusApplied || u.Result.Posted != n || u.ItemsDone != n {
		t.Fatalf("applied: %s %+v done %d", u.Status, u.Result, u.ItemsDone)
	}
	if got := f.ledger(t); got.participants != total || got.transactions != int64(n) {
		t.Errorf("ledger %+v, want %d kopecks in %d transactions", got, total, n)
	}
	t.Logf("100k rows, %d bytes: upload+validate %v, process %v (%.0f lines/s), progress seen %v",
		len(data), upload, process, float64(n)/process.Seconds(), seen)

	// The same 100k file again: validated and processed, nothing posted.
	start = time.Now()
	again := f.apply(t, f.uploadPoints(t, f.maker, data))
	t.Logf("same 100k file again: %v, posted %d", time.Since(start), again.Result.Posted)
	if again.Result.Posted != 0 {
		t.Errorf("second upload posted %d", again.Result.Posted)
	}
}
