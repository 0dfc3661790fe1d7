package qrscan

import (
	"math"

	"github.com/makiuchi-d/gozxing"
)

// localBinarizer is a gozxing.Binarizer over this package's thresholds of a
// plane: gozxing's hybrid rule computed in place, or a threshold against
// the mean (and deviation) of a square window around each pixel, with a
// window that scales with the image and a low minimum contrast. gozxing's HybridBinarizer uses
// fixed 8×8 blocks and treats blocks whose range is under 24 grey levels as
// background, which erases faded thermal print; this one keeps contrast
// down to a few levels where the surroundings show structure.
type localBinarizer struct {
	*gozxing.GlobalHistogramBinarizer
	p      plane
	bias   float64 // 0: binarizeLocal; else binarizeBias with this k
	radius int     // window radius of binarizeLocal (0: long side/40)
	hybrid bool    // hybridBinarize (gozxing's HybridBinarizer, faster)
	matrix *gozxing.BitMatrix
}

func newLocalBinarizer(src gozxing.LuminanceSource, p plane, bias float64) gozxing.Binarizer {
	return &localBinarizer{
		GlobalHistogramBinarizer: gozxing.NewGlobalHistgramBinarizer(src).(*gozxing.GlobalHistogramBinarizer),
		p:                        p,
		bias:                     bias,
	}
}

// GetBlackMatrix implements gozxing.Binarizer.
func (b *localBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) {
	if b.matrix != nil {
		return b.matrix, nil
	}
	var m *gozxing.BitMatrix
	var err error
	switch {
	case b.hybrid:
		m, err = hybridBinarize(b.p)
	case b.bias != 0:
		m, err = binarizeBias(b.p, b.bias)
	default:
		m, err = binarizeLocal(b.p, b.radius)
	}
	if err != nil {
		return nil, err
	}
	b.matrix = m
	return m, nil
}

// GetBlackRow implements gozxing.Binarizer from the matrix, so rows and
// matrix agree.
func (b *localBinarizer) GetBlackRow(y int, row *gozxing.BitArray) (*gozxing.BitArray, error) {
	m, err := b.GetBlackMatrix()
	if err != nil {
		return nil, err
	}
	return m.GetRow(y, row), nil
}

// CreateBinarizer implements gozxing.Binarizer.
func (b *localBinarizer) CreateBinarizer(src gozxing.LuminanceSource) gozxing.Binarizer {
	return gozxing.NewGlobalHistgramBinarizer(src)
}

// bitRows writes a BitMatrix one row at a time: set bits in words, then
// flush copies them into the matrix and clears them. Setting bits in a
// local word slice and copying whole rows is several times cheaper than a
// BitMatrix.Set call per black pixel.
type bitRows struct {
	m     *gozxing.BitMatrix
	row   *gozxing.BitArray
	words []uint32
}

func newBitRows(w, h int) (*bitRows, error) {
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	row := gozxing.NewBitArray(w)
	return &bitRows{m: m, row: row, words: row.GetBitArray()}, nil
}

func (b *bitRows) flush(y int) {
	b.m.SetRow(y, b.row)
	clear(b.words)
}

// hybridBinarize is gozxing's HybridBinarizer (8×8 blocks; a block's black
// point is its mean, or half its minimum when its range is at most 24 grey
// levels, raised to the neighbours' black point when that is higher; each
// pixel is black when at most the mean black point of the 5×5 blocks around
// its block) computed on the plane in place: no copy of the luminances, one
// threshold per block and a bit-word write per row. Where the last block
// row or column is shifted to fit (sizes not a multiple of 8), a pixel
// covered by two blocks is black when either block says so, as in gozxing.
// Planes under 40 px on a side use gozxing's global histogram fallback,
// as gozxing does. Pixel-identical to gozxing (TestHybridMatchesGozxing).
func hybridBinarize(p plane) (*gozxing.BitMatrix, error) {
	const bs, minRange = 8, 24
	w, h := p.w, p.h
	subW, subH := (w+bs-1)/bs, (h+bs-1)/bs
	maxX, maxY := w-bs, h-bs
	bp := make([]int32, subW*subH)
	for by := 0; by < subH; by++ {
		yo := min(by*bs, maxY)
		for bx := 0; bx < subW; bx++ {
			xo := min(bx*bs, maxX)
			sum, mn, mx := 0, 255, 0
			for yy := 0; yy < bs; yy++ {
				r := p.pix[(yo+yy)*p.stride+xo : (yo+yy)*p.stride+xo+bs]
				for _, v := range r {
					sum += int(v)
					mn = min(mn, int(v))
					mx = max(mx, int(v))
				}
			}
			avg := int32(sum >> 6)
			if mx-mn <= minRange {
				avg = int32(mn / 2)
				if by > 0 && bx > 0 {
					n := (bp[(by-1)*subW+bx] + 2*bp[by*subW+bx-1] + bp[(by-1)*subW+bx-1]) / 4
					if int32(mn) < n {
						avg = n
					}
				}
			}
			bp[by*subW+bx] = avg
		}
	}
	thr := make([]int32, subW*subH)
	for by := 0; by < subH; by++ {
		top := min(max(by, 2), subH-3)
		for bx := 0; bx < subW; bx++ {
			left := min(max(bx, 2), subW-3)
			var sum int32
			for z := -2; z <= 2; z++ {
				r := bp[(top+z)*subW+left-2 : (top+z)*subW+left+3]
				sum += r[0] + r[1] + r[2] + r[3] + r[4]
			}
			thr[by*subW+bx] = sum / 25
		}
	}
	out, err := newBitRows(w, h)
	if err != nil {
		return nil, err
	}
	rowThr := make([]int32, subW)
	for y := 0; y < h; y++ {
		copy(rowThr, thr[(y/bs)*subW:(y/bs+1)*subW])
		if y >= maxY && y/bs != subH-1 { // also covered by the shifted last block row
			last := thr[(subH-1)*subW:]
			for i := range rowThr {
				rowThr[i] = max(rowThr[i], last[i])
			}
		}
		lastT := rowThr[subW-1]
		row := p.pix[y*p.stride : y*p.stride+w]
		for bx, t := range rowThr {
			x0 := bx * bs
			if x0+bs <= maxX { // whole block left of the shifted last block
				seg := row[x0 : x0+bs]
				var m uint32
				for i, v := range seg {
					m |= uint32(int32(v)-t-1) >> 31 << uint(i) // v ≤ t, branch-free
				}
				out.words[x0>>5] |= m << uint(x0&31)
				continue
			}
			for x := x0; x < min(x0+bs, w); x++ {
				tt := t
				if x >= maxX {
					tt = max(t, lastT)
				}
				if int32(row[x]) <= tt {
					out.words[x>>5] |= 1 << uint(x&31)
				}
			}
		}
		out.flush(y)
	}
	return out.m, nil
}

// windowSums slides a band of 2r+1 rows (clipped at the edges) down the
// plane and calls fn for every row y with the row's pixels, the number of
// rows in the band and prefix sums (length w+1) over the band's column sums
// of pixels and (when squares is set) of squared pixels: the window
// [x0, x1) of row y has (x1−x0)·rows pixels summing to preS[x1]−preS[x0].
func windowSums(p plane, r int, squares bool, fn func(y int, row []byte, rows int, preS, preQ []uint64)) {
	w, h := p.w, p.h
	colS := make([]uint32, w)
	var colQ []uint64
	preS := make([]uint64, w+1)
	var preQ []uint64
	if squares {
		colQ = make([]uint64, w)
		preQ = make([]uint64, w+1)
	}
	add := func(y int, sign int) {
		row := p.pix[y*p.stride : y*p.stride+w]
		if sign > 0 {
			for x, v := range row {
				colS[x] += uint32(v)
			}
			if squares {
				for x, v := range row {
					colQ[x] += uint64(v) * uint64(v)
				}
			}
			return
		}
		for x, v := range row {
			colS[x] -= uint32(v)
		}
		if squares {
			for x, v := range row {
				colQ[x] -= uint64(v) * uint64(v)
			}
		}
	}
	for y := 0; y < min(r, h); y++ {
		add(y, 1)
	}
	for y := 0; y < h; y++ {
		if y+r < h {
			add(y+r, 1)
		}
		if y-r-1 >= 0 {
			add(y-r-1, -1)
		}
		for x, c := range colS {
			preS[x+1] = preS[x] + uint64(c)
		}
		if squares {
			for x, c := range colQ {
				preQ[x+1] = preQ[x] + c
			}
		}
		fn(y, p.pix[y*p.stride:y*p.stride+w], min(h, y+r+1)-max(0, y-r), preS, preQ)
	}
}

// binarizeLocal marks a pixel black when it is darker than the mean of the
// (2·radius+1)² window around it by more than a margin (radius 0: long
// side/40 with a margin of 4 levels; a given radius: margin 1).
func binarizeLocal(p plane, radius int) (*gozxing.BitMatrix, error) {
	r := max(8, max(p.w, p.h)/40) // window radius
	margin := 4
	if radius > 0 {
		r, margin = radius, 1
	}
	out, err := newBitRows(p.w, p.h)
	if err != nil {
		return nil, err
	}
	w := p.w
	lo, hi := min(r, w), max(min(w-r-1, w), min(r, w)) // interior: window not clipped in x
	windowSums(p, r, false, func(y int, row []byte, rows int, preS, _ []uint64) {
		edge := func(x int) {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			// Black when clearly darker than the local mean: a margin of a
			// few levels keeps flat paper noise white.
			if uint64((int(row[x])+margin)*(x1-x0)*rows) < preS[x1]-preS[x0] {
				out.words[x>>5] |= 1 << uint(x&31)
			}
		}
		for x := 0; x < lo; x++ {
			edge(x)
		}
		if hi > lo {
			n := uint64((2*r + 1) * rows)
			add, sub := preS[lo+r+1:hi+r+1], preS[lo-r:hi-r]
			px := row[lo:hi]
			sub = sub[:len(px)]
			add = add[:len(px)]
			for i, v := range px {
				// Branch-free: black ⇔ (v+margin)·n − sum < 0 (the sign
				// bit); on a noisy view a branch here mispredicts often.
				x := lo + i
				t := int64((uint64(v)+uint64(margin))*n) - int64(add[i]-sub[i])
				out.words[x>>5] |= uint32(uint64(t)>>63) << uint(x&31)
			}
		}
		for x := max(hi, lo); x < w; x++ {
			edge(x)
		}
		out.flush(y)
	})
	return out.m, nil
}

// binarizeBias thresholds each pixel at the local mean plus k local
// standard deviations (window ≈ long side/40). With k > 0 grey that is only
// somewhat darker than the paper counts as ink: faded thermal print and the
// faded bands ("streaks") a worn print head leaves through a code are
// mid-grey; the mean threshold turns them white and breaks the finder
// patterns' rings, this keeps them black. With k < 0 only clearly dark grey
// is ink: blur spreads ink into the one-module white ring of a finder
// pattern, and a lower threshold keeps the ring open. Flat areas (σ under 6
// levels: paper, solid background) stay white.
//
// In integers (k in steps of 0.1, |k| ≤ 1): with n pixels, sum S and sum of
// squares Q in the window, n²σ² = D = nQ − S², and with e = nv − S,
// v < mean + kσ ⇔ e < k·√D, compared squared as 100e² against 100k²·D: no
// square root, division or branch per pixel (the decision is built from
// sign bits; on a textured view a branch mispredicts often).
func binarizeBias(p plane, k float64) (*gozxing.BitMatrix, error) {
	r := max(8, max(p.w, p.h)/40)
	out, err := newBitRows(p.w, p.h)
	if err != nil {
		return nil, err
	}
	k = min(1, max(-1, k))
	k2 := int64(math.Round(k * k * 100)) // 100k²
	pos := k >= 0
	w := p.w
	windowSums(p, r, true, func(y int, row []byte, rows int, preS, preQ []uint64) {
		var word uint32
		for x, v := range row {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			nn := int64((x1 - x0) * rows)
			ss, q := int64(preS[x1]-preS[x0]), int64(preQ[x1]-preQ[x0])
			d := nn*q - ss*ss // n²σ²
			e := nn*int64(v) - ss
			notFlat := uint64(36*nn*nn-d-1) >> 63 // d ≥ 36n² (σ ≥ 6)
			neg := uint64(e) >> 63                // v below the mean
			var black uint64
			if pos {
				black = (neg | uint64(100*e*e-k2*d)>>63) & notFlat // e < 0 or 100e² < 100k²D
			} else {
				black = neg & (uint64(k2*d-100*e*e) >> 63) & notFlat // e < 0 and 100e² > 100k²D
			}
			word |= uint32(black) << uint(x&31)
			if x&31 == 31 || x == w-1 {
				out.words[x>>5] = word
				word = 0
			}
		}
		out.flush(y)
	})
	return out.m, nil
}
