package qrscan

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// randomPlane returns a w×h plane with a stride wider than w, filled with
// blocks of random grey plus noise (edges and flat areas, like a photo).
func randomPlane(rng *rand.Rand, w, h int) plane {
	stride := w + rng.IntN(5)
	p := plane{pix: make([]byte, stride*h), w: w, h: h, stride: stride}
	bs := 1 + rng.IntN(9)
	for y := 0; y < h; y++ {
		for x := 0; x < stride; x++ {
			r := rand.New(rand.NewPCG(uint64(x/bs), uint64(y/bs)))
			v := r.IntN(256) + rng.IntN(9) - 4
			p.pix[y*stride+x] = byte(min(255, max(0, v)))
		}
	}
	return p
}

// refDownscale is the straightforward area average / 2×2 sample that
// downscale must reproduce exactly.
func refDownscale(p plane, maxSide int) plane {
	long := max(p.w, p.h)
	if maxSide <= 0 || long <= maxSide {
		return p
	}
	nw := max(1, p.w*maxSide/long)
	nh := max(1, p.h*maxSide/long)
	q := newPlane(nw, nh)
	at := func(x, y int) int { return int(p.pix[y*p.stride+x]) }
	if long >= 2*maxSide {
		for oy := 0; oy < nh; oy++ {
			sy := min(p.h-2, (2*oy+1)*p.h/(2*nh))
			for ox := 0; ox < nw; ox++ {
				sx := min(p.w-2, (2*ox+1)*p.w/(2*nw))
				q.pix[oy*nw+ox] = byte((at(sx, sy) + at(sx+1, sy) + at(sx, sy+1) + at(sx+1, sy+1) + 2) >> 2)
			}
		}
		return q
	}
	xs, ys := spans(p.w, nw), spans(p.h, nh)
	for oy := 0; oy < nh; oy++ {
		for ox := 0; ox < nw; ox++ {
			s, n := 0, 0
			for y := ys[oy]; y < ys[oy+1]; y++ {
				for x := xs[ox]; x < xs[ox+1]; x++ {
					s += at(x, y)
					n++
				}
			}
			q.pix[oy*nw+ox] = byte((s + n/2) / n)
		}
	}
	return q
}

func samePlane(t *testing.T, what string, got, want plane) {
	t.Helper()
	if got.w != want.w || got.h != want.h {
		t.Fatalf("%s: size %dx%d, want %dx%d", what, got.w, got.h, want.w, want.h)
	}
	for y := 0; y < want.h; y++ {
		for x := 0; x < want.w; x++ {
			if g, w := got.pix[y*got.stride+x], want.pix[y*want.stride+x]; g != w {
				t.Fatalf("%s: pixel (%d,%d) = %d, want %d", what, x, y, g, w)
			}
		}
	}
}

// TestDownscaleMatchesReference: the fast downscale is pixel-identical to
// the plain area average (factor < 2) and 2×2 sample (factor ≥ 2), for odd
// sizes, strides wider than the width and factors on both sides of 2.
func TestDownscaleMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ w, h, max int }{
		{100, 70, 99}, {100, 70, 60}, {101, 203, 100}, {203, 101, 101}, {300, 200, 150}, {301, 97, 150},
		{640, 480, 200}, {97, 400, 41}, {1001, 500, 500}, {57, 33, 20},
	} {
		p := randomPlane(rng, c.w, c.h)
		samePlane(t, "downscale", downscale(p, c.max), refDownscale(p, c.max))
	}
}

// TestRecip: the reciprocal multiplication equals the division it replaces.
func TestRecip(t *testing.T) {
	t.Parallel()
	for n := uint32(1); n <= 64; n++ {
		r := recip(n)
		for a := uint32(0); a <= 256*n; a++ {
			if got := uint32((uint64(a) * r) >> 32); got != a/n {
				t.Fatalf("recip(%d): %d/%d = %d, want %d", n, a, n, got, a/n)
			}
		}
	}
}

func sameBits(t *testing.T, what string, got, want *gozxing.BitMatrix) {
	t.Helper()
	if got.GetWidth() != want.GetWidth() || got.GetHeight() != want.GetHeight() {
		t.Fatalf("%s: size %dx%d, want %dx%d", what, got.GetWidth(), got.GetHeight(), want.GetWidth(), want.GetHeight())
	}
	for y := 0; y < want.GetHeight(); y++ {
		for x := 0; x < want.GetWidth(); x++ {
			if got.Get(x, y) != want.Get(x, y) {
				t.Fatalf("%s: bit (%d,%d) = %v, want %v", what, x, y, got.Get(x, y), want.Get(x, y))
			}
		}
	}
}

// TestHybridMatchesGozxing: hybridBinarize is bit-identical to gozxing's
// HybridBinarizer, including sizes that are not multiples of 8 (shifted
// last blocks) and strides wider than the width.
func TestHybridMatchesGozxing(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{40, 40}, {41, 47}, {64, 64}, {123, 77}, {200, 301}, {333, 129}} {
		for range 3 {
			p := randomPlane(rng, sz[0], sz[1])
			src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.h, 0, 0, p.w, p.h, false)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
			if err != nil {
				t.Fatal(err)
			}
			got, err := hybridBinarize(p)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "hybrid", got, want)
		}
	}
}

// refWindow returns the pixel count, sum and sum of squares of the clipped
// (2r+1)² window around (x, y), by brute force.
func refWindow(p plane, x, y, r int) (n int, s, q float64) {
	for yy := max(0, y-r); yy < min(p.h, y+r+1); yy++ {
		for xx := max(0, x-r); xx < min(p.w, x+r+1); xx++ {
			v := float64(p.pix[yy*p.stride+xx])
			n++
			s += v
			q += v * v
		}
	}
	return n, s, q
}

// TestLocalBinarizersMatchDefinition: the sliding-window binarizers equal
// their definitions computed pixel by pixel: mean − margin for the local
// mean, mean + kσ with flat windows (σ < 6) white for the biased ones.
func TestLocalBinarizersMatchDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{50, 37}, {97, 130}, {400, 90}} {
		p := randomPlane(rng, sz[0], sz[1])
		for y := 0; y < p.h; y++ { // a flat, slightly noisy left third (paper)
			for x := 0; x < p.w/3; x++ {
				p.pix[y*p.stride+x] = byte(200 + rng.IntN(7) - 3)
			}
		}
		r := max(8, max(p.w, p.h)/40)
		for _, radius := range []int{0, 1, 3} {
			got, err := binarizeLocal(p, radius)
			if err != nil {
				t.Fatal(err)
			}
			rr, margin := r, 4.0
			if radius > 0 {
				rr, margin = radius, 1
			}
			want, _ := gozxing.NewBitMatrix(p.w, p.h)
			for y := 0; y < p.h; y++ {
				for x := 0; x < p.w; x++ {
					n, s, _ := refWindow(p, x, y, rr)
					if float64(p.pix[y*p.stride+x])+margin < s/float64(n) {
						want.Set(x, y)
					}
				}
			}
			sameBits(t, "local", got, want)
		}
		for _, k := range []float64{0.4, -0.4} {
			got, err := binarizeBias(p, k)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := gozxing.NewBitMatrix(p.w, p.h)
			for y := 0; y < p.h; y++ {
				for x := 0; x < p.w; x++ {
					n, s, q := refWindow(p, x, y, r)
					mean := s / float64(n)
					sd := math.Sqrt(max(0, q/float64(n)-mean*mean))
					if sd >= 6 && float64(p.pix[y*p.stride+x]) < mean+k*sd {
						want.Set(x, y)
					}
				}
			}
			sameBits(t, "bias", got, want)
		}
	}
}

// refBoxBlur is the box blur by its definition: the horizontal mean with 4
// fractional bits, rounded, then the vertical mean, rounded, edges clamped.
func refBoxBlur(p plane, r int) plane {
	w, h := p.w, p.h
	n := 2*r + 1
	tmp := make([]int, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0
			for i := -r; i <= r; i++ {
				s += int(p.pix[y*p.stride+min(max(x+i, 0), w-1)])
			}
			tmp[y*w+x] = (s*16 + n/2) / n
		}
	}
	q := newPlane(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0
			for i := -r; i <= r; i++ {
				s += tmp[min(max(y+i, 0), h-1)*w+x]
			}
			q.pix[y*w+x] = byte((s + 8*n) / (16 * n))
		}
	}
	return q
}

// TestBoxBlurMatchesDefinition, including planes narrower than the window.
func TestBoxBlurMatchesDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1, 1}, {3, 5}, {6, 9}, {7, 7}, {8, 3}, {50, 37}, {123, 64}} {
		p := randomPlane(rng, sz[0], sz[1])
		for _, r := range []int{1, 2, 3, 5} {
			samePlane(t, "boxBlur", boxBlur(p, r), refBoxBlur(p, r))
		}
	}
}

// refRotate is rotate with a bounds test per pixel (the definition).
func refRotate(p plane, deg float64) plane {
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	ow := int(math.Ceil(math.Abs(float64(p.w)*c) + math.Abs(float64(p.h)*s)))
	oh := int(math.Ceil(math.Abs(float64(p.w)*s) + math.Abs(float64(p.h)*c)))
	q := newPlane(ow, oh)
	fill := meanGray(p)
	const one = 1 << 16
	cx, cy := float64(p.w)/2, float64(p.h)/2
	ocx, ocy := float64(ow)/2, float64(oh)/2
	dxx, dxy := int64(c*one), int64(-s*one)
	maxX, maxY := int64(p.w-1)<<16, int64(p.h-1)<<16
	for y := 0; y < oh; y++ {
		fy := float64(y) + 0.5 - ocy
		fx := 0.5 - ocx
		sx := int64((cx + fx*c + fy*s - 0.5) * one)
		sy := int64((cy - fx*s + fy*c - 0.5) * one)
		for x := 0; x < ow; x++ {
			v := fill
			if !(sx < 0 || sy < 0 || sx >= maxX || sy >= maxY) {
				ix, iy := int(sx>>16), int(sy>>16)
				ax, ay := sx&0xffff, sy&0xffff
				i := iy*p.stride + ix
				p00, p01 := int64(p.pix[i]), int64(p.pix[i+1])
				p10, p11 := int64(p.pix[i+p.stride]), int64(p.pix[i+p.stride+1])
				top := p00*one + (p01-p00)*ax
				bot := p10*one + (p11-p10)*ax
				v = byte((top*one + (bot-top)*ay) >> 32)
			}
			q.pix[y*ow+x] = v
			sx += dxx
			sy += dxy
		}
	}
	return q
}

// TestRotateMatchesDefinition: the run-based rotation equals the per-pixel
// bounds test at every angle class (axis-aligned, ±45°, steep, obtuse).
func TestRotateMatchesDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, sz := range [][2]int{{2, 2}, {5, 3}, {64, 48}, {97, 131}} {
		p := randomPlane(rng, sz[0], sz[1])
		for _, deg := range []float64{0, 1, 17, 45, 67, 90, 135, 180, 225, 270, 300, 359, -45} {
			samePlane(t, "rotate", rotate(p, deg), refRotate(p, deg))
		}
	}
}

// TestDuplicateViewsSkipped: on a photo at most 1200 px long, the 1200-px
// and 1600-px hybrid steps are the same full-resolution view with the same
// hints, so the second one is not run; on a larger photo both are.
func TestDuplicateViewsSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		w, h, skipped int
	}{{300, 200, 1}, {1400, 900, 0}} {
		p := newPlane(c.w, c.h)
		for i := range p.pix {
			p.pix[i] = 200 // blank paper: every step runs and fails
		}
		res, err := New(Options{}).DecodeImage(ctx, toImage(p), 1)
		if err == nil {
			t.Fatalf("%dx%d: decoded %q from a blank page", c.w, c.h, res.Text)
		}
		if want := len(DefaultLadder()) - c.skipped; res.Attempts != want {
			t.Errorf("%dx%d: %d attempts, want %d", c.w, c.h, res.Attempts, want)
		}
	}
}
