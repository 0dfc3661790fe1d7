package qrscan

import (
	"context"
	"errors"
	"image"
	"image/color"
	"sync"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
)

// TestMemoryBudget: concurrent decodes of one Decoder (a worker's, or the
// API's) hold at most about its MemoryBudget, however many photos arrive
// at once. 8 concurrent 9-MP colour PNGs cost 45 MB each (36 MB of RGBA, 9
// of grey); with a 64 MiB budget they decode one at a time. Before the
// budget all 8 decoded at once (+357 MiB here; +79 MiB with it). Not parallel: it measures
// the heap.
func TestMemoryBudget(t *testing.T) {
	photo := heaptest.WhitePNG(3000, 3000)
	cost := DecodeCost(image.Config{ColorModel: color.RGBAModel, Width: 3000, Height: 3000})
	if cost != 3000*3000*5 {
		t.Fatalf("DecodeCost = %d", cost)
	}
	d := New(Options{MemoryBudget: 64 << 20, MaxAttempts: 1})
	h := heaptest.Measure(func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.DecodeBytes(context.Background(), photo); !errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("8 × 3000×3000 PNG at once: peak heap +%d MiB, allocated %d MiB", h.PeakInuse>>20, h.Alloc>>20)
	if h.PeakInuse > 160<<20 && !heaptest.Race {
		t.Errorf("peak heap +%d MiB, want < 160 MiB", h.PeakInuse>>20)
	}

	// A decode waiting for memory gives up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DecodeBytes(ctx, photo); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}
