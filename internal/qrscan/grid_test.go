package qrscan

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// warp renders src through a perspective map: the unit square's corners go
// to the four points (clockwise from top left) in a w×h output filled with
// paper grey; bilinear sampling.
func warp(src plane, w, h int, quad [8]float64, paper byte) plane {
	// Output pixel → source pixel: quadrilateral → source rectangle.
	sw, sh := float64(src.w), float64(src.h)
	tf := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
		quad[0], quad[1], quad[2], quad[3], quad[4], quad[5], quad[6], quad[7],
		0, 0, sw, 0, sw, sh, 0, sh)
	out := newPlane(w, h)
	pt := make([]float64, 2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			pt[0], pt[1] = float64(x)+0.5, float64(y)+0.5
			tf.TransformPoints(pt)
			if pt[0] < 0 || pt[1] < 0 || pt[0] >= sw || pt[1] >= sh {
				out.pix[y*w+x] = paper
				continue
			}
			v, _ := bilinear(src, pt[0], pt[1])
			out.pix[y*w+x] = byte(v + 0.5)
		}
	}
	return out
}

// streakedCode renders text at px pixels per module with a 4-module quiet
// zone, ink and paper greys, and every third band of `band` module rows
// faded to fadedInk (a worn print head), only between the finder patterns
// unless throughFinders.
func streakedCode(tb testing.TB, text string, px int, ink, paper, fadedInk byte, band int, throughFinders bool) plane {
	tb.Helper()
	m, err := qrEncode(text)
	if err != nil {
		tb.Fatal(err)
	}
	n := m.GetWidth() + 8
	p := newPlane(n*px, n*px)
	for y := 0; y < p.h; y++ {
		my := y/px - 4
		for x := 0; x < p.w; x++ {
			mx := x/px - 4
			v := paper
			if mx >= 0 && my >= 0 && mx < m.GetWidth() && my < m.GetHeight() && m.Get(mx, my) {
				v = ink
				if band > 0 && (my/band)%3 == 1 && (throughFinders || my >= 9 && my < m.GetHeight()-9) {
					v = fadedInk
				}
			}
			p.pix[y*p.w+x] = v
		}
	}
	return p
}

func qrEncode(text string) (*gozxing.BitMatrix, error) {
	return qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_MARGIN: 0})
}

func toImage(p plane) *image.Gray {
	return &image.Gray{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, p.w, p.h)}
}

// TestThresholdRows: a module grid whose middle rows have a third of the
// contrast (a faded band) is read correctly only when rows are normalised;
// rows of one colour (every fifth row of this pattern is white) must not be
// stretched into noise.
func TestThresholdRows(t *testing.T) {
	t.Parallel()
	const dim = 21
	want := make([]bool, dim*dim)
	v := make([]float32, dim*dim)
	for i := range want {
		x, y := i%dim, i/dim
		want[i] = (x*7+y*3+x*y)%5 < 2
		lo, hi := float32(40), float32(220)
		if y >= 8 && y < 12 {
			lo = 170 // faded ink: still darker than the paper in its row
		}
		if want[i] {
			v[i] = lo
		} else {
			v[i] = hi
		}
	}
	errs := func(got []bool) int {
		n := 0
		for i := range got {
			if got[i] != want[i] {
				n++
			}
		}
		return n
	}
	if n := errs(thresholdRows(v, dim)); n != 0 {
		t.Errorf("thresholdRows: %d wrong modules", n)
	}
	if n := errs(thresholdOtsu(v, dim)); n == 0 {
		t.Errorf("thresholdOtsu read the faded band: the test does not exercise row normalisation")
	}
	cols := thresholdCols(transpose(v, dim), dim)
	if n := errs(transposeBool(cols, dim)); n != 0 {
		t.Errorf("thresholdCols on the transposed grid: %d wrong modules", n)
	}
}

func transpose(v []float32, dim int) []float32 {
	o := make([]float32, len(v))
	for i := range v {
		o[(i%dim)*dim+i/dim] = v[i]
	}
	return o
}

func transposeBool(v []bool, dim int) []bool {
	o := make([]bool, len(v))
	for i := range v {
		o[(i%dim)*dim+i/dim] = v[i]
	}
	return o
}

// TestGridSamplerRectifiesWarpedCode: a perspective-warped, rotated code
// with faded bands. gozxing finds its finder patterns, but decoding its own
// binarized samples fails; the grey-grid sampler rectifies the code through
// the perspective transform from the finder and alignment patterns and
// decodes it.
func TestGridSamplerRectifiesWarpedCode(t *testing.T) {
	t.Parallel()
	src := streakedCode(t, fiscalText, 8, 60, 215, 165, 2, false)
	// Corners: rotated by ~20° and foreshortened on the right side.
	c, s := math.Cos(0.35), math.Sin(0.35)
	corner := func(x, y float64) (float64, float64) { return 260 + x*c - y*s, 90 + x*s + y*c }
	x0, y0 := corner(0, 0)
	x1, y1 := corner(330, 20)
	x2, y2 := corner(320, 300)
	x3, y3 := corner(0, 340)
	p := warp(src, 640, 560, [8]float64{x0, y0, x1, y1, x2, y2, x3, y3}, 215)

	src2, _ := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.h, 0, 0, p.w, p.h, false)
	bits, err := gozxing.NewHybridBinarizer(src2).GetBlackMatrix()
	if err != nil {
		t.Fatal(err)
	}
	h := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	info, err := detector.NewFinderPatternFinder(bits, nil).Find(h)
	if err != nil {
		t.Fatalf("finder patterns not found: %v", err)
	}
	dr, err := detector.NewDetector(bits).ProcessFinderPatternInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := decoder.NewDecoder().Decode(dr.GetBits(), h); err == nil {
		t.Fatalf("gozxing's binarized samples decoded %q: the test does not exercise the grey grid", r.GetText())
	}
	g := gridSampler{p: p, bits: bits, dec: decoder.NewDecoder()}
	got, ok := g.decodeAt(info, h)
	if !ok || got != fiscalText {
		t.Fatalf("decodeAt = %q, %v; want %q", got, ok, fiscalText)
	}

	// And end to end through the Decoder.
	res, err := New(Options{}).DecodeImage(context.Background(), toImage(p), 1)
	if err != nil || res.Text != fiscalText {
		t.Fatalf("DecodeImage = %+v, %v", res, err)
	}
	t.Logf("decoded by step %s", res.Step)
}

// TestFadedCodeLocalDark: a code with faded bands through its finder
// patterns; the mean-threshold view loses the finder rings, the
// dark-biased binarizer keeps them.
func TestFadedCodeLocalDark(t *testing.T) {
	t.Parallel()
	src := streakedCode(t, fiscalText, 6, 90, 210, 160, 1, true)
	p := warp(src, 700, 600, [8]float64{120, 60, 560, 100, 540, 520, 90, 500}, 210)
	img := toImage(p)
	for _, tc := range []struct {
		step Step
		ok   bool
	}{
		{Step{Name: "hybrid", MaxSide: 1200, TryHarder: true}, false},
		{Step{Name: "dark", MaxSide: 1200, Binarizer: LocalDark, TryHarder: true}, true},
	} {
		res, err := New(Options{Ladder: []Step{tc.step}}).DecodeImage(context.Background(), img, 1)
		if ok := err == nil && res.Text == fiscalText; ok != tc.ok {
			t.Errorf("%s: decoded %v (%+v, %v), want %v", tc.step.Name, ok, res, err, tc.ok)
		}
	}
}
