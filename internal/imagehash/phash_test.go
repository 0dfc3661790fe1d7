package imagehash_test

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/loyaltyjam/loyaltyjam/internal/imagehash"
)

// shelf draws a synthetic shop shelf: boards, packs of random colours and
// widths, and sensor noise. Different seeds give different shelves.
func shelf(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed*7+1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{uint8(180 + r.IntN(60)), uint8(180 + r.IntN(60)), uint8(170 + r.IntN(60)), 255}
	draw.Draw(img, img.Bounds(), &image.Uniform{bg}, image.Point{}, draw.Src)
	shelves := 3 + r.IntN(3)
	for s := 0; s < shelves; s++ {
		y0 := h * s / shelves
		y1 := h * (s + 1) / shelves
		board := y1 - h/40
		draw.Draw(img, image.Rect(0, board, w, y1), &image.Uniform{color.RGBA{90, 60, 40, 255}}, image.Point{}, draw.Src)
		for x := r.IntN(w / 20); x < w; {
			pw := w/30 + r.IntN(w/10)
			ph := (board - y0) * (5 + r.IntN(5)) / 10
			c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			draw.Draw(img, image.Rect(x, board-ph, x+pw, board), &image.Uniform{c}, image.Point{}, draw.Src)
			x += pw + r.IntN(w/40+1)
		}
	}
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		v := int(img.Pix[i]) + r.IntN(25) - 12
		img.Pix[i] = uint8(min(255, max(0, v)))
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func resize(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	return dst
}

func mustHash(t testing.TB, img image.Image) imagehash.Hash {
	t.Helper()
	h, err := imagehash.PHash(img)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// copies returns the variants of a photo that a cheater might submit again.
func copies(t testing.TB, orig image.Image) map[string]image.Image {
	b := orig.Bounds()
	w, h := b.Dx(), b.Dy()
	if raceEnabled {
		return map[string]image.Image{
			"jpeg q30":            decode(t, encodeJPEG(t, orig, 30)),
			"half size, jpeg q50": decode(t, encodeJPEG(t, resize(orig, w/2, h/2), 50)),
			"thumbnail 320":       resize(orig, 320, 320*h/w),
		}
	}
	return map[string]image.Image{
		"jpeg q30":             decode(t, encodeJPEG(t, orig, 30)),
		"jpeg q95":             decode(t, encodeJPEG(t, orig, 95)),
		"half size":            resize(orig, w/2, h/2),
		"half size, jpeg q50":  decode(t, encodeJPEG(t, resize(orig, w/2, h/2), 50)),
		"upscaled 1.25x":       resize(orig, w*5/4, h*5/4),
		"thumbnail 320":        resize(orig, 320, 320*h/w),
		"png of jpeg q60":      decodePNG(t, decode(t, encodeJPEG(t, orig, 60))),
		"slight aspect change": resize(orig, w*9/10, h),
	}
}

func decodePNG(t testing.TB, img image.Image) image.Image {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return decode(t, b.Bytes())
}

func TestNearDuplicatesOfSyntheticShelves(t *testing.T) {
	t.Parallel()
	n, w, h := 8, 480, 360
	if raceEnabled {
		n, w, h = 4, 320, 240
	}
	hashes := make([]imagehash.Hash, n)
	for i := 0; i < n; i++ {
		orig := decode(t, encodeJPEG(t, shelf(uint64(i+1), w, h), 85))
		hashes[i] = mustHash(t, orig)
		for name, c := range copies(t, orig) {
			if d := imagehash.Distance(hashes[i], mustHash(t, c)); d > imagehash.DefaultThreshold {
				t.Errorf("shelf %d, %s: distance %d > %d, want a near-duplicate", i, name, d, imagehash.DefaultThreshold)
			} else {
				t.Logf("shelf %d, %s: distance %d", i, name, d)
			}
		}
	}
	minDiff := 64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := imagehash.Distance(hashes[i], hashes[j])
			minDiff = min(minDiff, d)
			if d <= imagehash.DefaultThreshold {
				t.Errorf("shelves %d and %d: distance %d, want > %d (different photos)", i, j, d, imagehash.DefaultThreshold)
			}
		}
	}
	t.Logf("closest pair of different shelves: %d bits", minDiff)
}

// TestRealPhotos checks the hash on real JPEG photos when the shared test
// data is present: copies stay near, different photos stay far.
func TestRealPhotos(t *testing.T) {
	t.Parallel()
	want := 3
	if raceEnabled {
		want = 2
	}
	all, _ := filepath.Glob("/work/shared/testdata/qr/receipts/0??.jpg")
	var paths []string
	for _, p := range all {
		// Small files keep the test quick under -race; the big ones are
		// the same generator at a higher resolution.
		if st, err := os.Stat(p); err == nil && st.Size() < 60<<10 && len(paths) < want {
			paths = append(paths, p)
		}
	}
	if len(paths) < want {
		t.Skip("shared photo test data is absent")
	}
	hashes := make([]imagehash.Hash, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		orig := decode(t, b)
		hashes[i] = mustHash(t, orig)
		worst := 0
		for name, c := range copies(t, orig) {
			d := imagehash.Distance(hashes[i], mustHash(t, c))
			worst = max(worst, d)
			if d > imagehash.DefaultThreshold {
				t.Errorf("%s, %s: distance %d, want ≤ %d", filepath.Base(p), name, d, imagehash.DefaultThreshold)
			}
		}
		t.Logf("%s: worst copy distance %d", filepath.Base(p), worst)
	}
	for i := range hashes {
		for j := i + 1; j < len(hashes); j++ {
			if d := imagehash.Distance(hashes[i], hashes[j]); d <= imagehash.DefaultThreshold {
				t.Errorf("%s and %s: distance %d, want > %d", filepath.Base(paths[i]), filepath.Base(paths[j]), d, imagehash.DefaultThreshold)
			}
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b imagehash.Hash
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, ^imagehash.Hash(0), 64},
		{0b1010, 0b0101, 4},
	}
	for _, tc := range tests {
		if got := imagehash.Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%b, %b) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestImageKinds(t *testing.T) {
	t.Parallel()
	src := shelf(99, 640, 480)
	want := mustHash(t, src)
	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), src, image.Point{}, draw.Src)
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)
	for _, tc := range []struct {
		name string
		img  image.Image
		max  int
	}{
		{"nrgba", nrgba, 0},
		{"gray", gray, 2},
		{"sub-image", src.SubImage(src.Bounds()), 0},
		{"ycbcr", decode(t, encodeJPEG(t, src, 100)), 3},
	} {
		if d := imagehash.Distance(want, mustHash(t, tc.img)); d > tc.max {
			t.Errorf("%s: distance %d, want ≤ %d", tc.name, d, tc.max)
		}
	}
	if _, err := imagehash.PHash(image.NewRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("empty image: want an error")
	}
	// Tiny images hash without panicking.
	for _, sz := range []image.Point{{1, 1}, {3, 50}, {31, 31}, {33, 2}} {
		if _, err := imagehash.PHash(shelf(1, 200, 200).SubImage(image.Rect(0, 0, sz.X, sz.Y))); err != nil {
			t.Errorf("%v: %v", sz, err)
		}
	}
}

// BenchmarkPHash12MP measures hashing a decoded 12-megapixel phone photo
// (4000×3000 JPEG, YCbCr) against SHA-256 of its file bytes.
func BenchmarkPHash12MP(b *testing.B) {
	data := encodeJPEG(b, shelf(7, 4000, 3000), 85)
	img := decode(b, data)
	b.Run("phash", func(b *testing.B) {
		for b.Loop() {
			if _, err := imagehash.PHash(img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha256-of-file", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
	b.Run("jpeg-decode", func(b *testing.B) {
		for b.Loop() {
			decode(b, data)
		}
	})
}
