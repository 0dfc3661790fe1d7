package qrscan

import (
	"math"

	"github.com/makiuchi-d/gozxing"
)

// localBinarizer thresholds each pixel against the mean of a square window
// around it (computed with an integral image), with a window that scales
// with the image and a low minimum contrast. gozxing's HybridBinarizer uses
// fixed 8×8 blocks and treats blocks whose range is under 24 grey levels as
// background, which erases faded thermal print; this one keeps contrast
// down to a few levels where the surroundings show structure.
type localBinarizer struct {
	*gozxing.GlobalHistogramBinarizer
	p      plane
	bias   float64 // 0: binarizeLocal; else binarizeBias with this k
	radius int     // window radius of binarizeLocal (0: long side/40)
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
	if b.bias != 0 {
		m, err = binarizeBias(b.p, b.bias)
	} else {
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

func binarizeLocal(p plane, radius int) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	// Integral image of sums, (w+1)×(h+1).
	iw := w + 1
	integ := make([]uint32, iw*(h+1))
	for y := 0; y < h; y++ {
		row := p.pix[y*p.stride : y*p.stride+w]
		var s uint32
		up := integ[y*iw:]
		cur := integ[(y+1)*iw:]
		for x, v := range row {
			s += uint32(v)
			cur[x+1] = up[x+1] + s
		}
	}
	r := max(8, max(w, h)/40) // window radius
	margin := uint32(4)
	if radius > 0 {
		r, margin = radius, 1
	}
	for y := 0; y < h; y++ {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		row := p.pix[y*p.stride : y*p.stride+w]
		top, bot := integ[y0*iw:], integ[y1*iw:]
		for x, v := range row {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			sum := bot[x1] - bot[x0] - top[x1] + top[x0]
			n := uint32((x1 - x0) * (y1 - y0))
			// Black when clearly darker than the local mean: a margin of a
			// few levels keeps flat paper noise white.
			if uint32(v)*n+margin*n < sum {
				m.Set(x, y)
			}
		}
	}
	return m, nil
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
func binarizeBias(p plane, k float64) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	iw := w + 1
	integ := make([]uint32, iw*(h+1))
	sq := make([]uint64, iw*(h+1))
	for y := 0; y < h; y++ {
		row := p.pix[y*p.stride : y*p.stride+w]
		var s uint32
		var s2 uint64
		up, cur := integ[y*iw:], integ[(y+1)*iw:]
		up2, cur2 := sq[y*iw:], sq[(y+1)*iw:]
		for x, v := range row {
			s += uint32(v)
			s2 += uint64(v) * uint64(v)
			cur[x+1] = up[x+1] + s
			cur2[x+1] = up2[x+1] + s2
		}
	}
	r := max(8, max(w, h)/40)
	for y := 0; y < h; y++ {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		row := p.pix[y*p.stride : y*p.stride+w]
		top, bot := integ[y0*iw:], integ[y1*iw:]
		top2, bot2 := sq[y0*iw:], sq[y1*iw:]
		for x, v := range row {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			n := float64((x1 - x0) * (y1 - y0))
			mean := float64(bot[x1]-bot[x0]-top[x1]+top[x0]) / n
			ex2 := float64(bot2[x1]-bot2[x0]-top2[x1]+top2[x0]) / n
			sd := math.Sqrt(max(0, ex2-mean*mean))
			if sd < 6 {
				continue // flat: paper or a solid area
			}
			if float64(v) < mean+k*sd {
				m.Set(x, y)
			}
		}
	}
	return m, nil
}
