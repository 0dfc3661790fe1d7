package qrscan

import (
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Grey-grid sampling. gozxing samples the module grid from the binarized
// view: one pixel per module, thresholded by a binarizer that knows nothing
// about the code. When the finder patterns were found but that decode fails
// (faded streaks through the code, uneven light across it, blur that moves
// module edges), this package samples the GREY plane instead, averaging a few
// points in the middle of each module, and thresholds the small grid of
// module values in several ways that model the photo's defects:
//
//   - local: each module against the mean of the modules around it (uneven
//     light, shadows);
//   - rows / columns: each module row (column) normalised to its own dark
//     and light levels first (faded bands along the print head or the paper
//     feed), then the local threshold;
//   - global: Otsu's threshold over the grid (blur with even light).
//
// Each candidate matrix costs one gozxing Decode on a ≤ 177×177 grid (tens of
// microseconds), against tens of milliseconds for another ladder step.

// gridCodes tries to decode codes found at the given finder patterns by
// sampling the grey plane p (same geometry as the binarized bits).
type gridSampler struct {
	p    plane
	bits *gozxing.BitMatrix
	dec  *decoder.Decoder
}

// decodeAt locates the code from three finder patterns, as gozxing's
// detector does (module size, dimension, alignment pattern), then decodes
// the binarized samples and, when that fails, the grey grid.
func (g *gridSampler) decodeAt(info *detector.FinderPatternInfo, hints map[gozxing.DecodeHintType]interface{}) (string, bool) {
	det := detector.NewDetector(g.bits)
	dr, err := det.ProcessFinderPatternInfo(info)
	if err != nil {
		return "", false
	}
	if r, err := g.dec.Decode(dr.GetBits(), hints); err == nil {
		return r.GetText(), true
	}
	dim := dr.GetBits().GetWidth()
	var align *detector.AlignmentPattern
	if pts := dr.GetPoints(); len(pts) == 4 {
		align, _ = pts[3].(*detector.AlignmentPattern)
	}
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	tf := detector.Detector_createTransform(tl, tr, bl, align, dim)
	if t, ok := g.decodeGrid(tf, dim, hints); ok {
		return t, true
	}
	if align != nil { // a wrong alignment pattern bends the whole grid
		tf = detector.Detector_createTransform(tl, tr, bl, nil, dim)
		return g.decodeGrid(tf, dim, hints)
	}
	return "", false
}

// decodeGrid samples the grey grid of a dim×dim code through the transform
// (module coordinates → plane pixels) and tries the thresholdings.
func (g *gridSampler) decodeGrid(tf *common.PerspectiveTransform, dim int, hints map[gozxing.DecodeHintType]interface{}) (string, bool) {
	vals, ok := sampleGrey(g.p, tf, dim)
	if !ok {
		return "", false
	}
	for _, th := range []func([]float32, int) []bool{thresholdLocal, thresholdRows, thresholdCols, thresholdOtsu, thresholdDeblur(0.5), thresholdDeblur(1), thresholdDeblur(2)} {
		m := th(vals, dim)
		bm, err := gozxing.NewSquareBitMatrix(dim)
		if err != nil {
			return "", false
		}
		for i, b := range m {
			if b {
				bm.Set(i%dim, i/dim)
			}
		}
		if r, err := g.dec.Decode(bm, hints); err == nil {
			return r.GetText(), true
		}
	}
	return "", false
}

// sampleGrey returns the mean grey of five points in the middle of each
// module (centre and ±0.2 module diagonally), bilinear, row-major. It fails
// when the grid leaves the plane by more than a module.
func sampleGrey(p plane, tf *common.PerspectiveTransform, dim int) ([]float32, bool) {
	offs := [5][2]float64{{0.5, 0.5}, {0.3, 0.3}, {0.7, 0.3}, {0.3, 0.7}, {0.7, 0.7}}
	vals := make([]float32, dim*dim)
	xs := make([]float64, 2*dim*len(offs))
	for y := 0; y < dim; y++ {
		for k, o := range offs {
			for x := 0; x < dim; x++ {
				i := 2 * (k*dim + x)
				xs[i] = float64(x) + o[0]
				xs[i+1] = float64(y) + o[1]
			}
		}
		tf.TransformPoints(xs)
		for k := range offs {
			for x := 0; x < dim; x++ {
				i := 2 * (k*dim + x)
				v, ok := bilinear(p, xs[i], xs[i+1])
				if !ok {
					return nil, false
				}
				vals[y*dim+x] += v / float32(len(offs))
			}
		}
	}
	return vals, true
}

// bilinear interpolates p at (x, y) in pixel coordinates (pixel centres at
// +0.5); points up to 4 px outside are clamped to the border.
func bilinear(p plane, x, y float64) (float32, bool) {
	x -= 0.5
	y -= 0.5
	if x < -4 || y < -4 || x > float64(p.w)+3 || y > float64(p.h)+3 || x != x || y != y {
		return 0, false
	}
	x = min(max(x, 0), float64(p.w-1))
	y = min(max(y, 0), float64(p.h-1))
	ix, iy := int(x), int(y)
	ix1, iy1 := min(ix+1, p.w-1), min(iy+1, p.h-1)
	fx, fy := float32(x-float64(ix)), float32(y-float64(iy))
	r0, r1 := p.pix[iy*p.stride:], p.pix[iy1*p.stride:]
	top := float32(r0[ix])*(1-fx) + float32(r0[ix1])*fx
	bot := float32(r1[ix])*(1-fx) + float32(r1[ix1])*fx
	return top*(1-fy) + bot*fy, true
}

// thresholdLocal marks a module dark when it is darker than the mean of the
// (2r+1)² modules around it (clipped at the edges). About half of a QR
// code's modules are dark, so the local mean sits between the two levels.
func thresholdLocal(v []float32, dim int) []bool {
	const r = 3
	out := make([]bool, len(v))
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			var s float32
			n := 0
			for yy := max(0, y-r); yy <= min(dim-1, y+r); yy++ {
				for xx := max(0, x-r); xx <= min(dim-1, x+r); xx++ {
					s += v[yy*dim+xx]
					n++
				}
			}
			out[y*dim+x] = v[y*dim+x] < s/float32(n)
		}
	}
	return out
}

// normalizeLines rescales each row (cols=false) or column so that its 15th
// and 85th percentiles map to 0 and 1: a faded band through the code keeps
// its own contrast. Lines with under a quarter of the grid's contrast are
// one colour and keep the grid's scale.
func normalizeLines(v []float32, dim int, cols bool) []float32 {
	out := make([]float32, len(v))
	line := make([]float32, dim)
	at := func(l, i int) int {
		if cols {
			return i*dim + l
		}
		return l*dim + i
	}
	all := append([]float32(nil), v...)
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	glo, ghi := all[len(all)*15/100], all[len(all)*85/100]
	for l := 0; l < dim; l++ {
		for i := 0; i < dim; i++ {
			line[i] = v[at(l, i)]
		}
		sort.Slice(line, func(a, b int) bool { return line[a] < line[b] })
		lo, hi := line[dim*15/100], line[dim*85/100]
		if hi-lo < (ghi-glo)/4 {
			// A line of one colour (no contrast of its own): keep the
			// grid's scale rather than stretch noise.
			lo, hi = glo, ghi
		}
		if hi-lo < 1 {
			hi = lo + 1
		}
		for i := 0; i < dim; i++ {
			out[at(l, i)] = (v[at(l, i)] - lo) / (hi - lo)
		}
	}
	return out
}

func thresholdRows(v []float32, dim int) []bool {
	return thresholdLocal(normalizeLines(v, dim, false), dim)
}

func thresholdCols(v []float32, dim int) []bool {
	return thresholdLocal(normalizeLines(v, dim, true), dim)
}

// thresholdOtsu splits the module values at Otsu's threshold.
func thresholdOtsu(v []float32, dim int) []bool {
	var hist [256]int
	for _, x := range v {
		hist[min(255, max(0, int(x)))]++
	}
	total := len(v)
	var sum float64
	for i, c := range hist {
		sum += float64(i * c)
	}
	var sumB float64
	wB, best, th := 0, -1.0, 128
	for i, c := range hist {
		wB += c
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i * c)
		mB, mF := sumB/float64(wB), (sum-sumB)/float64(wF)
		between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF)
		if between > best {
			best, th = between, i
		}
	}
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = int(x) <= th
	}
	return out
}

// thresholdDeblur undoes some of the blur that mixes each module with its
// neighbours (a module of 3 px under a Gaussian blur of σ ≈ 2 px keeps a
// third of its contrast when its neighbours have the other colour): each
// value moves away from the mean of its four neighbours by a times the
// difference, then the local threshold.
func thresholdDeblur(a float32) func([]float32, int) []bool {
	return func(v []float32, dim int) []bool {
		out := make([]float32, len(v))
		at := func(x, y int) float32 {
			return v[min(max(y, 0), dim-1)*dim+min(max(x, 0), dim-1)]
		}
		for y := 0; y < dim; y++ {
			for x := 0; x < dim; x++ {
				c := v[y*dim+x]
				n := (at(x-1, y) + at(x+1, y) + at(x, y-1) + at(x, y+1)) / 4
				out[y*dim+x] = c + a*(c-n)
			}
		}
		return thresholdLocal(out, dim)
	}
}
