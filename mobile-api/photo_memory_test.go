package mobileapi_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
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

// whitePNG is a w×h 8-bit RGB PNG of white pixels: a few hundred kilobytes
// on the wire, 4 bytes a pixel once decoded. Without pixels it is only the
// header (and the end).
func whitePNG(t testing.TB, w, h int, pixels bool) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits, truecolour
	chunk("IHDR", ihdr)
	if !pixels {
		chunk("IEND", nil)
		return out.Bytes()
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := bytes.Repeat([]byte{0xFF}, 1+3*w)
	row[0] = 0 // filter: none
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
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
	photo := whitePNG(t, 7000, 7000, true)
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
	huge := whitePNG(t, 100_000, 100_000, false)
	var r resp
	h = heaptest.Measure(func() {
		r = e.do(t, multipartReq("/v1/receipts", toks[0], map[string]any{"photo": huge}))
	})
	if r.Status != 422 || r.code() != "photo_too_many_pixels" || h.PeakInuse > 16<<20 && !heaptest.Race {
		t.Errorf("100000×100000 header: %d %s, heap +%d MiB", r.Status, r.Body, h.PeakInuse>>20)
	}
	// Few pixels but a side longer than the decoder reads: refused here,
	// not accepted and then left unreadable by the worker.
	long := whitePNG(t, qrscan.DefaultMaxDimension+1, 100, false)
	if r := e.do(t, multipartReq("/v1/receipts", toks[1], map[string]any{"photo": long})); r.Status != 422 || r.code() != "photo_too_many_pixels" {
		t.Errorf("%d×100 photo: %d %s, want 422 photo_too_many_pixels", qrscan.DefaultMaxDimension+1, r.Status, r.Body)
	}
}
