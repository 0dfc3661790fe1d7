package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
)

// TestWorkerReadsWhatTheRequestPathCould: a photo whose request-path
// decode ran out of budget (often only because the API was busy) is decoded
// again by the worker, with the decoder buildWorkers wires. Every clean
// generated code that the request path's fast steps read must be read
// there too. A worker running only the rest of the ladder (its 1600-px
// views) missed 4 of these 16 codes that the 1200-px first step reads.
func TestWorkerReadsWhatTheRequestPathCould(t *testing.T) {
	t.Parallel()
	var cfg config.Config
	cfg.Auth.MaxPhotoBytes, cfg.Auth.MaxPhotoPixels = 15<<20, 50_000_000
	fast := qrscan.New(qrscan.Options{Effort: qrscan.EffortFast})
	worker := workerQR(cfg)
	ctx := context.Background()
	fastRead, workerRead := 0, 0
	for i := range 8 {
		text := fmt.Sprintf("t=20260301T0915&s=1499.%02d&fn=7380440800%06d&i=%d&fp=20000%05d&n=1", i, 100+i, 1000+i, i)
		for off := range 2 {
			photo := cleanQR(t, text, 3, off)
			if res, err := fast.DecodeImage(ctx, photo, 1); err != nil || res.Text != text {
				continue
			}
			fastRead++
			if res, err := worker.DecodeImage(ctx, photo, 1); err == nil && res.Text == text {
				workerRead++
			} else {
				t.Errorf("code %d (offset %d): the request path reads it, the worker does not: %v", i, off, err)
			}
		}
	}
	if fastRead < 12 {
		t.Fatalf("the fast steps read only %d of 16 clean codes: the test photos are wrong", fastRead)
	}
	t.Logf("request path read %d of 16, worker %d of them", fastRead, workerRead)
}

// cleanQR draws text as a QR code of px pixels per module, centred (then
// moved by off pixels) on a white 2400×1800 canvas: a phone photo of a
// small, sharp, upright code.
func cleanQR(t *testing.T, text string, px, off int) *image.Gray {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 2400, 1800
	g := image.NewGray(image.Rect(0, 0, w, h))
	n := m.GetWidth()
	x0, y0 := (w-n*px)/2+off, (h-n*px)/2+off
	for y := range h {
		for x := range w {
			u, v := x-x0, y-y0
			c := uint8(255)
			if u >= 0 && v >= 0 && u < n*px && v < n*px && m.Get(u/px, v/px) {
				c = 0
			}
			g.SetGray(x, y, color.Gray{Y: c})
		}
	}
	return g
}
