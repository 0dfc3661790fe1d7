package qrscan

import (
	"image"
	"math"
)

// plane is an 8-bit grey image. Pixel (x, y) is pix[y*stride+x].
type plane struct {
	pix    []byte
	w, h   int
	stride int
}

func newPlane(w, h int) plane {
	return plane{pix: make([]byte, w*h), w: w, h: h, stride: w}
}

// toGray converts an image to a grey plane. JPEG's YCbCr and Gray images
// are wrapped without copying (their luma plane is the grey plane); other
// types are converted with integer BT.601 weights.
func toGray(img image.Image) plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		off := m.YOffset(b.Min.X, b.Min.Y)
		return plane{pix: m.Y[off:], w: w, h: h, stride: m.YStride}
	case *image.Gray:
		off := m.PixOffset(b.Min.X, b.Min.Y)
		return plane{pix: m.Pix[off:], w: w, h: h, stride: m.Stride}
	case *image.NRGBA:
		p := newPlane(w, h)
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := p.pix[y*w : y*w+w]
			for x := range dst {
				r, g, bl, a := int(src[4*x]), int(src[4*x+1]), int(src[4*x+2]), int(src[4*x+3])
				l := (299*r + 587*g + 114*bl) / 1000
				// Composite on white: transparent areas are paper, not ink.
				dst[x] = byte((l*a + 255*(255-a)) / 255)
			}
		}
		return p
	case *image.RGBA:
		p := newPlane(w, h)
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := p.pix[y*w : y*w+w]
			for x := range dst {
				r, g, bl, a := int(src[4*x]), int(src[4*x+1]), int(src[4*x+2]), int(src[4*x+3])
				// Premultiplied: add the white that shows through.
				dst[x] = byte(min(255, (299*r+587*g+114*bl)/1000+(255-a)))
			}
		}
		return p
	}
	p := newPlane(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			l := (299*r + 587*g + 114*bl) / 1000 // premultiplied, 16-bit
			l += 0xffff - a
			p.pix[y*w+x] = byte(min(l, 0xffff) >> 8)
		}
	}
	return p
}

// orient applies an EXIF orientation (1..8) so the plane is upright. It is
// also used for the 90° steps of the ladder: 6 turns clockwise by 90°,
// 3 by 180°, 8 by 270°.
func orient(p plane, o int) plane {
	if o < 2 || o > 8 {
		return p
	}
	W, H := p.w, p.h
	ow, oh := W, H
	if o >= 5 {
		ow, oh = H, W
	}
	q := newPlane(ow, oh)
	for y := 0; y < oh; y++ {
		dst := q.pix[y*ow : y*ow+ow]
		for x := range dst {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = W-1-x, y
			case 3:
				sx, sy = W-1-x, H-1-y
			case 4:
				sx, sy = x, H-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, H-1-x
			case 7:
				sx, sy = W-1-y, H-1-x
			case 8:
				sx, sy = W-1-y, x
			}
			dst[x] = p.pix[sy*p.stride+sx]
		}
	}
	return q
}

// downscale shrinks the plane so its long side is at most maxSide. Up to a
// factor of 2 every source pixel is averaged in (area averaging); beyond
// that each output pixel averages the 2×2 source pixels at the centre of its
// area, which still filters sensor and JPEG noise but reads a fraction of a
// 12-MP photo. Every photo goes through here at least once, so the loops
// keep per-pixel work to one add (area) or four loads (2×2): the source
// positions are computed once per call, not per pixel, and the rounding
// divisions are multiplications by exact reciprocals.
func downscale(p plane, maxSide int) plane {
	long := max(p.w, p.h)
	if maxSide <= 0 || long <= maxSide {
		return p
	}
	nw := max(1, p.w*maxSide/long)
	nh := max(1, p.h*maxSide/long)
	q := newPlane(nw, nh)
	if long >= 2*maxSide {
		sxs := make([]int, nw)
		for ox := range sxs {
			sxs[ox] = min(p.w-2, (2*ox+1)*p.w/(2*nw))
		}
		for oy := 0; oy < nh; oy++ {
			sy := min(p.h-2, (2*oy+1)*p.h/(2*nh))
			r0 := p.pix[sy*p.stride : sy*p.stride+p.w]
			r1 := p.pix[(sy+1)*p.stride : (sy+1)*p.stride+p.w]
			dst := q.pix[oy*nw : oy*nw+nw]
			for ox, sx := range sxs[:len(dst)] {
				if sx+1 >= len(r0) || sx+1 >= len(r1) {
					break // cannot happen: sx ≤ w−2; lets the compiler drop bounds checks
				}
				dst[ox] = byte((int(r0[sx]) + int(r0[sx+1]) + int(r1[sx]) + int(r1[sx+1]) + 2) >> 2)
			}
		}
		return q
	}
	xs := spans(p.w, nw)
	ys := spans(p.h, nh)
	// col[x] is the output column of source column x.
	col := make([]int32, p.w)
	for ox := 0; ox < nw; ox++ {
		for x := xs[ox]; x < xs[ox+1]; x++ {
			col[x] = int32(ox)
		}
	}
	acc := make([]uint32, nw)
	// invs[rows][ox]: reciprocals of the pixel counts of output row spans
	// of `rows` source rows (a handful of distinct heights).
	invs := map[uint32][]uint64{}
	for oy := 0; oy < nh; oy++ {
		clear(acc)
		for sy := ys[oy]; sy < ys[oy+1]; sy++ {
			row := p.pix[sy*p.stride : sy*p.stride+p.w]
			c := col[:len(row)]
			for x, v := range row {
				acc[c[x]] += uint32(v)
			}
		}
		rows := uint32(ys[oy+1] - ys[oy])
		inv := invs[rows]
		if inv == nil {
			inv = make([]uint64, 2*nw)
			for ox := 0; ox < nw; ox++ {
				n := rows * uint32(xs[ox+1]-xs[ox])
				inv[2*ox], inv[2*ox+1] = uint64(n/2), recip(n)
			}
			invs[rows] = inv
		}
		dst := q.pix[oy*nw : oy*nw+nw]
		inv = inv[:2*len(dst)]
		for ox := range dst {
			dst[ox] = byte(((uint64(acc[ox]) + inv[2*ox]) * inv[2*ox+1]) >> 32)
		}
	}
	return q
}

// recip returns ⌈2³²/n⌉: (a·recip(n))>>32 == a/n for every a·n < 2³²
// (here a ≤ 255·n + n/2 with n at most a few dozen).
func recip(n uint32) uint64 {
	return (1<<32 + uint64(n) - 1) / uint64(n)
}

// spans splits n source pixels into m runs; run i is [s[i], s[i+1]).
func spans(n, m int) []int {
	s := make([]int, m+1)
	for i := 0; i <= m; i++ {
		s[i] = i * n / m
	}
	return s
}

// rotate turns the plane by deg degrees clockwise (as seen on screen) about
// its centre
// with bilinear interpolation. The canvas grows to hold the whole image; the
// corners are filled with the mean grey so they add no strong edges.
func rotate(p plane, deg float64) plane {
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	ow := int(math.Ceil(math.Abs(float64(p.w)*c) + math.Abs(float64(p.h)*s)))
	oh := int(math.Ceil(math.Abs(float64(p.w)*s) + math.Abs(float64(p.h)*c)))
	q := newPlane(ow, oh)
	fill := meanGray(p)
	const one = 1 << 16
	cx, cy := float64(p.w)/2, float64(p.h)/2
	ocx, ocy := float64(ow)/2, float64(oh)/2
	// Source position per output x step, in 16.16 fixed point.
	dxx, dxy := int64(c*one), int64(-s*one)
	maxX, maxY := int64(p.w-1)<<16, int64(p.h-1)<<16
	for y := 0; y < oh; y++ {
		fy := float64(y) + 0.5 - ocy
		fx := 0.5 - ocx
		sx := int64((cx + fx*c + fy*s - 0.5) * one)
		sy := int64((cy - fx*s + fy*c - 0.5) * one)
		dst := q.pix[y*ow : y*ow+ow]
		// The source position is linear in x, so the pixels that fall
		// inside the source form one run [x0, x1): fill around it, and
		// interpolate inside it without per-pixel bounds tests.
		x0a, x1a := inside(sx, dxx, maxX)
		x0b, x1b := inside(sy, dxy, maxY)
		x0 := min(max(x0a, x0b, 0), int64(ow))
		x1 := max(min(x1a, x1b, int64(ow)), x0)
		for i := range dst[:x0] {
			dst[i] = fill
		}
		for i := range dst[x1:] {
			dst[int(x1)+i] = fill
		}
		sx += x0 * dxx
		sy += x0 * dxy
		for x := x0; x < x1; x++ {
			ix, iy := int(sx>>16), int(sy>>16)
			ax, ay := sx&0xffff, sy&0xffff
			i := iy*p.stride + ix
			p00, p01 := int64(p.pix[i]), int64(p.pix[i+1])
			p10, p11 := int64(p.pix[i+p.stride]), int64(p.pix[i+p.stride+1])
			top := p00*one + (p01-p00)*ax
			bot := p10*one + (p11-p10)*ax
			dst[x] = byte((top*one + (bot-top)*ay) >> 32)
			sx += dxx
			sy += dxy
		}
	}
	return q
}

// inside returns the run [x0, x1) of integers x ≥ 0 with 0 ≤ a + x·d < hi
// (empty when x1 ≤ x0; x1 is capped at 1<<40).
func inside(a, d, hi int64) (x0, x1 int64) {
	const far = 1 << 40
	switch {
	case d > 0: // a + xd ≥ 0 ⇔ x ≥ ⌈−a/d⌉; a + xd < hi ⇔ x < ⌈(hi−a)/d⌉
		return ceilDiv(-a, d), ceilDiv(hi-a, d)
	case d < 0: // a + xd ≥ 0 ⇔ x ≤ ⌊a/−d⌋; a + xd < hi ⇔ x > (a−hi)/−d
		return floorDiv(a-hi, -d) + 1, floorDiv(a, -d) + 1
	}
	if a >= 0 && a < hi {
		return 0, far
	}
	return 0, 0
}

func floorDiv(a, b int64) int64 { // b > 0
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) } // b > 0

// meanGray estimates the mean grey of the plane from a sparse sample.
func meanGray(p plane) byte {
	var s, n uint64
	for y := 0; y < p.h; y += 7 {
		row := p.pix[y*p.stride : y*p.stride+p.w]
		for x := 0; x < p.w; x += 7 {
			s += uint64(row[x])
			n++
		}
	}
	if n == 0 {
		return 128
	}
	return byte(s / n)
}

// upscale2 doubles the plane's size with bilinear interpolation. Codes with
// modules under about 3 px are found far more often by gozxing's finder
// pattern search after this.
func upscale2(p plane) plane {
	w, h := p.w, p.h
	q := newPlane(2*w, 2*h)
	for y := 0; y < 2*h; y++ {
		// Output pixel centre (y+0.5)/2-0.5 in source coordinates.
		sy := max(0, (2*y - 1)) // in half-pixel units, clamped
		y0 := min(h-1, sy/4)
		y1 := min(h-1, y0+1)
		fy := (2*y - 1) - 4*y0 // 0..3 quarter steps, may be -1 at the top edge
		if fy < 0 {
			fy = 0
		}
		r0 := p.pix[y0*p.stride : y0*p.stride+w]
		r1 := p.pix[y1*p.stride : y1*p.stride+w]
		dst := q.pix[y*2*w : (y+1)*2*w]
		for x := range dst {
			sx := max(0, 2*x-1)
			x0 := min(w-1, sx/4)
			x1 := min(w-1, x0+1)
			fx := max(0, (2*x-1)-4*x0)
			a := int(r0[x0])*(4-fx) + int(r0[x1])*fx
			b := int(r1[x0])*(4-fx) + int(r1[x1])*fx
			dst[x] = byte((a*(4-fy) + b*fy + 8) / 16)
		}
	}
	return q
}
