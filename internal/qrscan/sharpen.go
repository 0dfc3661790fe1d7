package qrscan

// Sharpening for blurred small modules. A QR finder pattern's white ring is
// one module wide; a Gaussian blur of σ ≈ half a module or more leaves it
// only slightly lighter than the dark rings around it, and any binarizer
// whose window spans many modules turns it dark, so gozxing finds no
// 1:1:3:1:1 runs. An unsharp mask restores part of the lost contrast at the
// module scale, and a local mean over a window of about two modules
// (binarize.go, LocalSmall) keeps the ring lighter than its surroundings.

// boxBlur returns p blurred by a (2r+1)×(2r+1) box filter (running sums,
// separable; edges clamp). Twice in a row it approximates a Gaussian. The
// horizontal pass keeps 4 fractional bits; the rounding divisions are
// multiplications by exact reciprocals (recip), and the clamping is done
// only near the edges.
func boxBlur(p plane, r int) plane {
	w, h := p.w, p.h
	tmp := make([]uint16, w*h)
	n := uint32(2*r + 1)
	invH := recip(n)
	for y := 0; y < h; y++ {
		row := p.pix[y*p.stride : y*p.stride+w]
		var s uint32
		for i := -r; i <= r; i++ {
			s += uint32(row[min(max(i, 0), w-1)])
		}
		dst := tmp[y*w : y*w+w]
		// Interior: x−r ≥ 0 and x+r+1 ≤ w−1, no clamping.
		lo, hi := min(r, w), max(min(w-r-1, w), min(r, w))
		x := 0
		for ; x < lo; x++ {
			dst[x] = uint16((uint64(s*16+n/2) * invH) >> 32)
			s += uint32(row[min(x+r+1, w-1)])
			s -= uint32(row[max(x-r, 0)])
		}
		if hi > lo {
			add, sub := row[lo+r+1:hi+r+1], row[lo-r:hi-r]
			d := dst[lo:hi]
			for i := range d {
				d[i] = uint16((uint64(s*16+n/2) * invH) >> 32)
				s += uint32(add[i])
				s -= uint32(sub[i])
			}
			x = hi
		}
		for ; x < w; x++ {
			dst[x] = uint16((uint64(s*16+n/2) * invH) >> 32)
			s += uint32(row[min(x+r+1, w-1)])
			s -= uint32(row[max(x-r, 0)])
		}
	}
	q := newPlane(w, h)
	col := make([]uint32, w)
	for i := -r; i <= r; i++ {
		src := tmp[min(max(i, 0), h-1)*w:][:w]
		for x, v := range src {
			col[x] += uint32(v)
		}
	}
	invV := recip(16 * n)
	for y := 0; y < h; y++ {
		dst := q.pix[y*w : y*w+w]
		add := tmp[min(y+r+1, h-1)*w:][:len(dst)]
		sub := tmp[max(y-r, 0)*w:][:len(dst)]
		c := col[:len(dst)]
		for x := range dst {
			dst[x] = byte((uint64(c[x]+8*n) * invV) >> 32)
			c[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
	return q
}

// sharpen returns an unsharp-masked copy of p: p + amount·(p − blur(p)),
// with blur two box passes of radius r.
func sharpen(p plane, r int, amount float64) plane {
	b := boxBlur(boxBlur(p, r), r)
	q := newPlane(p.w, p.h)
	a := int(amount * 256)
	for y := 0; y < p.h; y++ {
		src := p.pix[y*p.stride : y*p.stride+p.w]
		bl := b.pix[y*b.stride : y*b.stride+p.w]
		dst := q.pix[y*p.w : y*p.w+p.w]
		for x, v := range src {
			d := int(v) + (a*(int(v)-int(bl[x])))>>8
			dst[x] = byte(min(255, max(0, d)))
		}
	}
	return q
}
