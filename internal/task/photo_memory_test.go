package task

import (
	"context"
	"errors"
	"sync"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
)

// TestInspectPhotoMemory: report photos are decoded (for their perceptual
// hash) within the process's photo memory budget, however many arrive at
// once. Eight concurrent 16-MP colour PNGs of 56 KB each cost 80 MB apiece
// decoded; without a budget all eight decoded at once (+488 MiB here), with
// a 96 MiB one they decode one at a time. Not parallel: it measures the
// heap and swaps the package's budget.
func TestInspectPhotoMemory(t *testing.T) {
	defer func(b int64, m *semaphore.Weighted) { photoBudget, photoMemory = b, m }(photoBudget, photoMemory)
	photoBudget = 96 << 20
	photoMemory = semaphore.NewWeighted(photoBudget)
	photo := heaptest.WhitePNG(4000, 4000)
	h := heaptest.Measure(func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := InspectPhoto(context.Background(), photo, "photos[0]"); err != nil {
					t.Errorf("InspectPhoto: %v", err)
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("8 × 4000×4000 PNG (%d bytes each) at once: peak heap +%d MiB, allocated %d MiB", len(photo), h.PeakInuse>>20, h.Alloc>>20)
	if h.PeakInuse > 256<<20 && !heaptest.Race {
		t.Errorf("peak heap +%d MiB, want < 256 MiB", h.PeakInuse>>20)
	}

	// A photo waiting for memory gives up with its request.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := photoMemory.Acquire(context.Background(), photoBudget); err != nil {
		t.Fatal(err)
	}
	_, err := InspectPhoto(ctx, photo, "photos[0]")
	photoMemory.Release(photoBudget)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}
