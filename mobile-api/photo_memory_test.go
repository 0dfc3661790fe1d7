package mobileapi_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/intake"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// trackedDecoder is the API's own decoder, counting decodes still running
// (they go on after the request's budget ends) so the test can wait for
// them.
type trackedDecoder struct {
	intake.Decoder
	running atomic.Int64
	done    chan struct{}
}

func (d *trackedDecoder) DecodeBytes(ctx context.Context, b []byte) (qrscan.Result, error) {
	d.running.Add(1)
	defer func() {
		if d.running.Add(-1) == 0 {
			select {
			case d.done <- struct{}{}:
			default:
			}
		}
	}()
	return d.Decoder.DecodeBytes(ctx, b)
}

// TestBigPhotoMemory sends 16 concurrent 49-megapixel PNG photos (about
// 150 KB each, 196 MB each once decoded) from four participants to the real
// API with the production limits, and bounds the heap the API takes until
// every decode it started has ended. Not parallel: it measures the heap.
func TestBigPhotoMemory(t *testing.T) {
	cfg := defaultAuth()
	cfg.MaxPhotoBytes, cfg.MaxPhotoPixels, cfg.DecodeBudget = 15<<20, 50_000_000, 1500*time.Millisecond
	dec := &trackedDecoder{done: make(chan struct{}, 1)}
	e := newEnvWith(t, cfg, func(d *mobileapi.Deps) {
		dec.Decoder = qrscan.New(qrscan.Options{MaxBytes: cfg.MaxPhotoBytes, MaxPixels: cfg.MaxPhotoPixels})
		d.Decoder = dec
	})
	c := e.client(t, "live")
	var toks []string
	for range 4 {
		toks = append(toks, e.login(t, e.participant(t, c, "", "active")).AccessToken)
	}
	photo := heaptest.WhitePNG(7000, 7000)
	statuses := make([]int, 16)
	h := heaptest.Measure(func() {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.do(t, multipartReq("/v1/receipts", toks[i%4], map[string]any{"photo": photo})).Status
			}()
		}
		wg.Wait()
		for dec.running.Load() > 0 {
			<-dec.done
		}
	})
	t.Logf("16 × %d KB 7000×7000 PNG: statuses %v; peak heap +%d MiB, allocated %d MiB", len(photo)>>10, statuses, h.PeakInuse>>20, h.Alloc>>20)
	for _, s := range statuses {
		if s != 202 {
			t.Errorf("status %d, want 202 (accepted, decoded by a worker when not now)", s)
		}
	}
	// Before: the request path decoded two at a time (its decode slots),
	// +391 MiB; now photos this big go to the workers undecoded: +18 MiB.
	if h.PeakInuse > 64<<20 && !heaptest.Race {
		t.Errorf("peak heap +%d MiB, want < 64 MiB", h.PeakInuse>>20)
	}

	// Over MAX_PHOTO_PIXELS by its header alone: refused before a pixel is
	// decoded (the body has no pixel data at all).
	huge := heaptest.PNGHeader(100_000, 100_000)
	var r resp
	h = heaptest.Measure(func() {
		r = e.do(t, multipartReq("/v1/receipts", toks[0], map[string]any{"photo": huge}))
	})
	if r.Status != 422 || r.code() != "photo_too_many_pixels" || h.PeakInuse > 16<<20 && !heaptest.Race {
		t.Errorf("100000×100000 header: %d %s, heap +%d MiB", r.Status, r.Body, h.PeakInuse>>20)
	}
	// Few pixels but a side longer than the decoder reads: refused here,
	// not accepted and then left unreadable by the worker.
	long := heaptest.PNGHeader(qrscan.DefaultMaxDimension+1, 100)
	if r := e.do(t, multipartReq("/v1/receipts", toks[1], map[string]any{"photo": long})); r.Status != 422 || r.code() != "photo_too_many_pixels" {
		t.Errorf("%d×100 photo: %d %s, want 422 photo_too_many_pixels", qrscan.DefaultMaxDimension+1, r.Status, r.Body)
	}
}
