package qrscan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

const (
	fiscalText = "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1"
	egaisText  = "https://check.egais.ru?id=38d02af6-bf7b-4c2b-8e5c-4e4d0a6c1f0a&dt=2101231445&cn=030000290346"
)

// qrImage renders text as a QR code with modulePx pixels per module on a
// white canvas of the given size, at offset (x, y).
func qrImage(tb testing.TB, canvas *image.Gray, text string, modulePx, x, y int) {
	tb.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		tb.Fatal(err)
	}
	for my := 0; my < m.GetHeight(); my++ {
		for mx := 0; mx < m.GetWidth(); mx++ {
			if !m.Get(mx, my) {
				continue
			}
			r := image.Rect(x+mx*modulePx, y+my*modulePx, x+(mx+1)*modulePx, y+(my+1)*modulePx)
			draw.Draw(canvas, r, image.Black, image.Point{}, draw.Src)
		}
	}
}

func whiteCanvas(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(g, g.Bounds(), image.White, image.Point{}, draw.Src)
	return g
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an APP1 Exif segment holding only the orientation
// tag right after the JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16, order binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if order == binary.LittleEndian {
		tiff.WriteString("II*\x00")
	} else {
		tiff.WriteString("MM\x00*")
	}
	binary.Write(&tiff, order, uint32(8))      // IFD0 offset
	binary.Write(&tiff, order, uint16(1))      // one entry
	binary.Write(&tiff, order, uint16(0x0112)) // orientation
	binary.Write(&tiff, order, uint16(3))      // SHORT
	binary.Write(&tiff, order, uint32(1))      // count
	binary.Write(&tiff, order, o)              // value
	binary.Write(&tiff, order, uint16(0))      // padding
	binary.Write(&tiff, order, uint32(0))      // next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

func TestDecodePNGAndJPEG(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(400, 300)
	qrImage(t, g, fiscalText, 5, 100, 60)
	d := New(Options{})
	for name, b := range map[string][]byte{"png": encodePNG(t, g), "jpeg": encodeJPEG(t, g)} {
		res, err := d.Decode(context.Background(), bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Text != fiscalText || !res.Fiscal {
			t.Errorf("%s: got %+v", name, res)
		}
	}
}

func TestDecodeRotated45(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(500, 500)
	qrImage(t, g, fiscalText, 4, 150, 150)
	r := rotate(plane{pix: g.Pix, w: 500, h: 500, stride: g.Stride}, 40)
	img := &image.Gray{Pix: r.pix, Stride: r.stride, Rect: image.Rect(0, 0, r.w, r.h)}
	res, err := New(Options{}).DecodeBytes(context.Background(), encodeJPEG(t, img))
	if err != nil || res.Text != fiscalText {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestPreferFiscalOverEGAIS(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(900, 400)
	qrImage(t, g, egaisText, 5, 40, 60)
	qrImage(t, g, fiscalText, 5, 500, 60)
	res, err := New(Options{}).DecodeBytes(context.Background(), encodePNG(t, g))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != fiscalText || !res.Fiscal {
		t.Errorf("Text = %q, want the fiscal one; texts %q", res.Text, res.Texts)
	}
}

func TestEXIFOrientation(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(60, 40)
	jpg := encodeJPEG(t, g)
	for o := uint16(1); o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			if got := jpegOrientation(withOrientation(jpg, o, order)); got != int(o) {
				t.Errorf("orientation %d (%v): got %d", o, order, got)
			}
		}
	}
	if got := jpegOrientation(jpg); got != 1 {
		t.Errorf("no EXIF: got %d", got)
	}
	// A 3×2 plane:  a b c / d e f.
	p := plane{pix: []byte("abcdef"), w: 3, h: 2, stride: 3}
	want := map[int]string{1: "abcdef", 2: "cbafed", 3: "fedcba", 4: "defabc",
		5: "adbecf", 6: "daebfc", 7: "fcebda", 8: "cfbeaf"[:0] + "cfbead"}
	for o, w := range want {
		if got := string(orient(p, o).pix); got != w {
			t.Errorf("orient(%d) = %q, want %q", o, got, w)
		}
	}
	// The decoder honours the tag: a code stored sideways (orientation 6)
	// still decodes, and the image is turned upright first.
	c := whiteCanvas(300, 300)
	qrImage(t, c, fiscalText, 5, 60, 60)
	res, err := New(Options{}).DecodeBytes(context.Background(), withOrientation(encodeJPEG(t, c), 6, binary.BigEndian))
	if err != nil || res.Text != fiscalText {
		t.Fatalf("got %+v, %v", res, err)
	}
	img, o, err := New(Options{}).ReadImage(withOrientation(encodeJPEG(t, whiteCanvas(60, 40)), 8, binary.LittleEndian))
	if err != nil || o != 8 || img.Bounds().Dx() != 60 {
		t.Fatalf("ReadImage: %v %d %v", img.Bounds(), o, err)
	}
}

// pngWithSize returns a tiny valid PNG whose IHDR declares w×h.
func pngWithSize(tb testing.TB, w, h uint32) []byte {
	b := encodePNG(tb, whiteCanvas(8, 8))
	// IHDR data starts at 16: width, height; CRC covers type+data (12..29).
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestRejections(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(200, 200)
	qrImage(t, g, fiscalText, 4, 40, 40)
	pngBytes, jpgBytes := encodePNG(t, g), encodeJPEG(t, g)
	heic := append([]byte{0, 0, 0, 24}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"HEIC", heic, ErrHEIC},
		{"HEIC is unsupported", heic, ErrUnsupportedFormat},
		{"AVIF", append([]byte{0, 0, 0, 24}, []byte("ftypavif\x00\x00\x00\x00")...), ErrHEIC},
		{"garbage", []byte("this is not an image at all"), ErrUnsupportedFormat},
		{"empty", nil, ErrUnsupportedFormat},
		{"PDF", []byte("%PDF-1.4\n"), ErrUnsupportedFormat},
		{"truncated PNG", pngBytes[:len(pngBytes)/2], ErrCorrupt},
		{"truncated JPEG", jpgBytes[:len(jpgBytes)/2], ErrCorrupt},
		{"JPEG header only", jpgBytes[:20], ErrCorrupt},
		{"bomb 100000²", pngWithSize(t, 100000, 100000), ErrTooLarge},
		{"bomb wide", pngWithSize(t, 20000, 10), ErrTooLarge},
		{"blank page", encodePNG(t, whiteCanvas(300, 300)), ErrNotFound},
		{"tiny", encodePNG(t, whiteCanvas(5, 5)), ErrNotFound},
	}
	d := New(Options{})
	for _, tc := range tests {
		_, err := d.DecodeBytes(context.Background(), tc.b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	small := New(Options{MaxBytes: 100})
	if _, err := small.Decode(context.Background(), bytes.NewReader(pngBytes)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes: err = %v", err)
	}
}

func TestContextAndEffort(t *testing.T) {
	t.Parallel()
	blank := encodePNG(t, whiteCanvas(640, 480))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{}).DecodeBytes(ctx, blank); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	full := New(Options{})
	fast := New(Options{Effort: EffortFast})
	if len(fast.steps) == 0 || len(fast.steps) >= len(full.steps) {
		t.Errorf("effort: fast %d steps of full %d", len(fast.steps), len(full.steps))
	}
	res, err := New(Options{MaxAttempts: 1}).DecodeBytes(context.Background(), blank)
	if !errors.Is(err, ErrNotFound) || res.Attempts != 1 {
		t.Errorf("MaxAttempts 1: %+v %v", res, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	g := whiteCanvas(300, 300)
	qrImage(t, g, fiscalText, 4, 50, 50)
	b := encodeJPEG(t, g)
	d := New(Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := d.DecodeBytes(context.Background(), b)
			if err != nil || res.Text != fiscalText {
				t.Errorf("got %+v, %v", res, err)
			}
		}()
	}
	wg.Wait()
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	if got := Normalize("a\r\nb\r\n\n"); got != "a\nb" {
		t.Errorf("Normalize = %q", got)
	}
}

func FuzzDecodeBytes(f *testing.F) {
	g := whiteCanvas(120, 120)
	qrImage(f, g, "hello", 3, 20, 20)
	f.Add(encodePNG(f, g))
	f.Add(encodeJPEG(f, g))
	f.Add(withOrientation(encodeJPEG(f, g), 6, binary.LittleEndian))
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add(pngWithSize(f, 100000, 100000))
	d := New(Options{MaxPixels: 1 << 20, MaxAttempts: 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, _ = d.DecodeBytes(ctx, b)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("took %v", took)
		}
	})
}
