package imagehash

import (
	"errors"
	"image"
	"math"
	"math/bits"
	"sort"
)

// Hash is a 64-bit perceptual hash.
type Hash uint64

// Distance returns the number of bits in which a and b differ (0–64).
func Distance(a, b Hash) int { return bits.OnesCount64(uint64(a ^ b)) }

// DefaultThreshold is the largest distance at which two photos are taken as
// near-duplicates. Re-encoded and resized copies measure 0–4 in the tests,
// unrelated photos 20 and more; 10 leaves margin on both sides.
const DefaultThreshold = 10

// ErrEmpty is returned for an image without pixels.
var ErrEmpty = errors.New("imagehash: empty image")

const (
	side = 32 // the grey thumbnail is side×side
	keep = 8  // the hash keeps keep×keep low DCT frequencies
)

// dctBasis[u][x] = cos((2x+1)uπ/2N) for the kept frequencies u.
var dctBasis = func() (m [keep][side]float64) {
	for u := 0; u < keep; u++ {
		for x := 0; x < side; x++ {
			m[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * side))
		}
	}
	return m
}()

// PHash returns the DCT perceptual hash of img.
func PHash(img image.Image) (Hash, error) {
	g, err := Thumbnail(img)
	if err != nil {
		return 0, err
	}
	return hashThumb(&g), nil
}

// Thumb is a side×side grey image with values 0–255.
type Thumb [side][side]float64

// Thumbnail reduces img to a 32×32 grey image by averaging the area of the
// source that each output pixel covers. Every source pixel counts once, so
// the thumbnail of a resized or re-compressed copy differs only by the
// rounding noise of those operations.
func Thumbnail(img image.Image) (Thumb, error) {
	var t Thumb
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return t, ErrEmpty
	}
	// Map every source column and row to its output cell.
	cx := make([]uint8, w)
	for x := range cx {
		cx[x] = uint8(x * side / w)
	}
	var sum [side][side]float64
	var cnt [side][side]float64
	var row [side]uint64
	var rowCnt [side]uint64
	for x := range cx {
		rowCnt[cx[x]]++
	}
	addRow := func(y int, lum func(x int) uint32) {
		clear(row[:])
		for x := 0; x < w; x++ {
			row[cx[x]] += uint64(lum(x))
		}
		cy := y * side / h
		for i := 0; i < side; i++ {
			sum[cy][i] += float64(row[i])
			cnt[cy][i] += float64(rowCnt[i])
		}
	}
	switch m := img.(type) {
	case *image.YCbCr:
		// JPEG photos: the luma plane is the grey image already. Each
		// output cell covers a contiguous run of a row: sum runs in a
		// tight loop rather than looking up a cell per pixel.
		var xs [side + 1]int
		for i := range xs {
			xs[i] = (i*w + side - 1) / side // first x with x*side/w >= i
		}
		for y := 0; y < h; y++ {
			off := (y+b.Min.Y-m.Rect.Min.Y)*m.YStride + (b.Min.X - m.Rect.Min.X)
			line := m.Y[off : off+w]
			cy := y * side / h
			for i := 0; i < side; i++ {
				var acc uint32
				for _, v := range line[xs[i]:xs[i+1]] {
					acc += uint32(v)
				}
				sum[cy][i] += float64(acc)
				cnt[cy][i] += float64(rowCnt[i])
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			line := m.Pix[off : off+w]
			addRow(y, func(x int) uint32 { return uint32(line[x]) })
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			p := m.Pix[off : off+4*w]
			addRow(y, func(x int) uint32 { return luma(uint32(p[4*x]), uint32(p[4*x+1]), uint32(p[4*x+2])) })
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			p := m.Pix[off : off+4*w]
			addRow(y, func(x int) uint32 { return luma(uint32(p[4*x]), uint32(p[4*x+1]), uint32(p[4*x+2])) })
		}
	default:
		for y := 0; y < h; y++ {
			addRow(y, func(x int) uint32 {
				r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				return luma(r>>8, g>>8, bb>>8)
			})
		}
	}
	for i := 0; i < side; i++ {
		for j := 0; j < side; j++ {
			if cnt[i][j] > 0 {
				t[i][j] = sum[i][j] / cnt[i][j]
			}
		}
	}
	// An image smaller than 32 px on a side leaves empty cells; fill them
	// from the nearest filled cell above or to the left.
	if w < side || h < side {
		for i := 0; i < side; i++ {
			for j := 0; j < side; j++ {
				if cnt[i][j] == 0 {
					switch {
					case j > 0:
						t[i][j] = t[i][j-1]
					case i > 0:
						t[i][j] = t[i-1][j]
					}
				}
			}
		}
	}
	return t, nil
}

// luma is the BT.601 luma of 8-bit RGB, as JPEG's Y.
func luma(r, g, b uint32) uint32 { return (19595*r + 38470*g + 7471*b + 1<<15) >> 16 }

func hashThumb(t *Thumb) Hash {
	// Separable DCT, only the kept frequencies: tmp = C·T, D = tmp·Cᵀ.
	var tmp [keep][side]float64
	for u := 0; u < keep; u++ {
		for x := 0; x < side; x++ {
			c := dctBasis[u][x]
			for y := 0; y < side; y++ {
				tmp[u][y] += c * t[x][y]
			}
		}
	}
	var d [keep * keep]float64
	for u := 0; u < keep; u++ {
		for v := 0; v < keep; v++ {
			var s float64
			for y := 0; y < side; y++ {
				s += tmp[u][y] * dctBasis[v][y]
			}
			d[u*keep+v] = s
		}
	}
	// The DC term is the mean brightness: leave it out of the median so a
	// brighter copy does not shift every bit.
	sorted := make([]float64, 0, keep*keep-1)
	sorted = append(sorted, d[1:]...)
	sort.Float64s(sorted)
	med := (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	var h Hash
	for i := 1; i < keep*keep; i++ {
		if d[i] > med {
			h |= 1 << uint(i)
		}
	}
	return h
}
