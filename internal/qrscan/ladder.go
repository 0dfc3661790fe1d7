package qrscan

import (
	"fmt"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Binarizer selects how a grey view is turned into black and white.
type Binarizer int

const (
	// Hybrid is gozxing's HybridBinarizer (8×8 blocks, local thresholds).
	Hybrid Binarizer = iota
	// Global is gozxing's GlobalHistogramBinarizer.
	Global
	// Local is this package's adaptive mean threshold over a window that
	// scales with the image, with a low minimum contrast, for faded print.
	Local
	// LocalDark thresholds at the local mean plus 0.4 local standard
	// deviations: faded (mid-grey) print counts as ink.
	LocalDark
	// LocalSmall is the local mean threshold over a small window
	// (Step.LocalRadius), about two modules: a band-pass that keeps a
	// blurred one-module white ring lighter than its surroundings.
	LocalSmall
	// LocalLight thresholds at the local mean minus 0.4 local standard
	// deviations: keeps blurred white rings of finder patterns open.
	LocalLight
)

// Step is one attempt of the ladder: a view of the photo (scale, rotation,
// binarizer) and the gozxing hints.
type Step struct {
	// Name identifies the step in results and benchmarks.
	Name string
	// MaxSide downscales the photo so its long side is at most MaxSide
	// pixels (0 = full resolution).
	MaxSide int
	// Upscale doubles the photo's resolution (bilinear) instead of
	// downscaling, for codes with modules of 1.5–3 px. The step is skipped
	// for photos whose long side exceeds MaxUpscaleSide.
	Upscale bool
	// UpscaleMaxSide overrides MaxUpscaleSide for this step (0 = default).
	UpscaleMaxSide int
	// Angle rotates the view by this many degrees clockwise (multiples of
	// 90 are exact pixel moves; others are interpolated).
	Angle int
	// Binarizer selects the thresholding.
	Binarizer Binarizer
	// TryHarder sets gozxing's TRY_HARDER hint (scan every row).
	TryHarder bool
	// Fast marks the steps run by EffortFast.
	Fast bool
	// Sharpen, when > 0, unsharp-masks the view before binarizing (radius
	// SharpenRadius px, this amount).
	Sharpen float64
	// SharpenRadius is the box radius of the unsharp mask (default 2).
	SharpenRadius int
	// LocalRadius is the window radius of the LocalSmall binarizer.
	LocalRadius int
	// BinarizedOnly decodes only gozxing's own samples of the binarized view
	// (gozxing's QRCodeReader as shipped), without the grey-grid resampling
	// of grid.go. Used by the baseline ladders.
	BinarizedOnly bool
}

// PlainLadder is the gozxing baseline: one attempt at full resolution with
// the HybridBinarizer and no hints.
func PlainLadder() []Step {
	return []Step{{Name: "plain", Fast: true, BinarizedOnly: true}}
}

// CascadeLadder is the earlier gozxing cascade used as a reference in the
// docs: ≤1600 px with TRY_HARDER at 0°, then 45°, then 90/180/270°, then
// full resolution, then the GlobalHistogram binarizer.
func CascadeLadder() []Step {
	return []Step{
		{Name: "1600/0/th", MaxSide: 1600, TryHarder: true, Fast: true, BinarizedOnly: true},
		{Name: "1600/45/th", MaxSide: 1600, Angle: 45, TryHarder: true, BinarizedOnly: true},
		{Name: "1600/90/th", MaxSide: 1600, Angle: 90, TryHarder: true, BinarizedOnly: true},
		{Name: "1600/180/th", MaxSide: 1600, Angle: 180, TryHarder: true, BinarizedOnly: true},
		{Name: "1600/270/th", MaxSide: 1600, Angle: 270, TryHarder: true, BinarizedOnly: true},
		{Name: "full/0/th", TryHarder: true, BinarizedOnly: true},
		{Name: "1600/0/global", MaxSide: 1600, Binarizer: Global, TryHarder: true, BinarizedOnly: true},
	}
}

// PreviousLadder is the first default ladder of this package (before the
// grey-grid sampler and the biased binarizers), kept as a benchmark
// reference: 1200 px, 45°, 1600 px, local binarizer, ×2, other angles,
// 800 px, global binarizer.
func PreviousLadder() []Step {
	return []Step{
		{Name: "1200/0/th", MaxSide: 1200, TryHarder: true, Fast: true, BinarizedOnly: true},
		{Name: "1200/45/th", MaxSide: 1200, Angle: 45, TryHarder: true, Fast: true, BinarizedOnly: true},
		{Name: "1600/0/th", MaxSide: 1600, TryHarder: true, BinarizedOnly: true},
		{Name: "1600/0/local/th", MaxSide: 1600, Binarizer: Local, TryHarder: true, BinarizedOnly: true},
		{Name: "x2/0/th", Upscale: true, TryHarder: true, BinarizedOnly: true},
		{Name: "1200/90/th", MaxSide: 1200, Angle: 90, TryHarder: true, BinarizedOnly: true},
		{Name: "1200/22/th", MaxSide: 1200, Angle: 22, TryHarder: true, BinarizedOnly: true},
		{Name: "1200/67/th", MaxSide: 1200, Angle: 67, TryHarder: true, BinarizedOnly: true},
		{Name: "800/0/th", MaxSide: 800, TryHarder: true, BinarizedOnly: true},
		{Name: "1200/270/th", MaxSide: 1200, Angle: 270, TryHarder: true, BinarizedOnly: true},
		{Name: "x2/0/local/th", Upscale: true, Binarizer: Local, TryHarder: true, BinarizedOnly: true},
		{Name: "1600/0/global", MaxSide: 1600, Binarizer: Global, TryHarder: true, BinarizedOnly: true},
	}
}

// DefaultLadder is the ladder a Decoder runs unless Options.Ladder is set.
// Every step decodes gozxing's binarized samples and, when the finder
// patterns were found but that fails, the grey grid (grid.go). After the
// first step (a 1200-px pass finds most codes) the order is by decodes
// added per millisecond among the photos the first step misses, measured
// per step on the development sets (docs/qr.md): the global binarizer at
// 1600 px is the cheapest retry (even light, blur); 1600 px resolves small
// modules; the dark-biased binarizer keeps faded print and streaks through
// the finder patterns black; a rotation by 45° helps gozxing's finder
// search on tilted codes (it costs a canvas twice the size); the sharpened
// small-window view reads small modules under blur of half a module or
// more, where the finder patterns' white ring has closed in every other
// view, and is the most expensive. Failures run every step, so the order
// does not change their cost, only that of late successes. Steps that
// added nothing (22°/67°/90°/270°, 800 px, the light-biased binarizer, and
// — once the sharpened view and the deblurring grid thresholds were in —
// the 1600-px local mean binarizer and ×2 upscaling) were dropped: failures
// run every step, so each one costs the p95.
func DefaultLadder() []Step {
	return []Step{
		{Name: "1200/0/th", MaxSide: 1200, TryHarder: true, Fast: true},
		{Name: "1600/0/global", MaxSide: 1600, Binarizer: Global, TryHarder: true},
		{Name: "1600/0/th", MaxSide: 1600, TryHarder: true},
		{Name: "1200/0/dark/th", MaxSide: 1200, Binarizer: LocalDark, TryHarder: true},
		// EffortFast runs this step right after the first one (the
		// request path); in the full ladder it comes after the cheaper
		// retries, which add more decodes per millisecond.
		{Name: "1200/45/th", MaxSide: 1200, Angle: 45, TryHarder: true, Fast: true},
		// Blur of half a module or more closes the finder patterns' white
		// ring: unsharp-mask the 1600-px view, then threshold against the
		// mean of a 7×7 window (about two modules of a small code), a
		// band-pass that keeps the ring lighter than its surroundings.
		{Name: "1600/0/sharp/small/th", MaxSide: 1600, Sharpen: 1, SharpenRadius: 3, Binarizer: LocalSmall, LocalRadius: 3, TryHarder: true},
	}
}

// viewKey identifies a binarized view, shared by steps that differ only in
// hints.
type viewKey struct {
	maxSide, angle int
	bin            Binarizer
	sharp          float64
	sharpR         int
	radius         int
	// gozxing marks the baseline ladders' views, binarized by gozxing's
	// own code rather than this package's faster equivalent.
	gozxing bool
}

// scan holds the per-image state of one DecodeImage call: the upright grey
// plane and the views derived from it, built lazily and reused by later
// steps.
type scan struct {
	base   plane
	scaled map[int]plane
	planes map[viewKey]plane
	views  map[viewKey]*gozxing.BinaryBitmap
	tried  map[attemptKey]bool
}

func newScan(p plane) *scan {
	return &scan{
		base:   p,
		scaled: map[int]plane{},
		planes: map[viewKey]plane{},
		views:  map[viewKey]*gozxing.BinaryBitmap{},
		tried:  map[attemptKey]bool{},
	}
}

// MaxUpscaleSide is the largest long side a Step with Upscale applies to
// unless the step sets UpscaleMaxSide.
const MaxUpscaleSide = 1700

// scaleKey maps a step's scale to a cache key: MaxSide, or -1 for Upscale.
func scaleKey(st Step) int {
	if st.Upscale {
		return -1
	}
	return st.MaxSide
}

// applies reports whether the step does anything new for this photo: an
// upscaling step only applies to small photos, and a step whose view and
// hints equal those of a step already tried (1200 and 1600 px of a photo
// that is at most 1200 px long are the same full-resolution view) would
// only repeat that step's result. A step that applies is recorded as tried.
func (s *scan) applies(st Step) bool {
	long := max(s.base.w, s.base.h)
	if st.Upscale {
		limit := MaxUpscaleSide
		if st.UpscaleMaxSide > 0 {
			limit = st.UpscaleMaxSide
		}
		if long > limit {
			return false
		}
	}
	k := attemptKey{s.key(st), st.TryHarder}
	if s.tried[k] {
		return false
	}
	s.tried[k] = true
	return true
}

// attemptKey identifies what a step computes: its view and its hints.
type attemptKey struct {
	view      viewKey
	tryHarder bool
}

func (s *scan) plane(scale, angle int) plane {
	return s.planeSharp(viewKey{maxSide: scale, angle: angle})
}

func (s *scan) planeSharp(k viewKey) plane {
	k.bin, k.radius, k.gozxing = 0, 0, false
	if p, ok := s.planes[k]; ok {
		return p
	}
	scale, angle := k.maxSide, k.angle
	if k.sharp > 0 {
		p := sharpen(s.plane(scale, angle), k.sharpR, k.sharp)
		s.planes[k] = p
		return p
	}
	p, ok := s.scaled[scale]
	if !ok {
		if scale < 0 {
			p = upscale2(s.base)
		} else {
			p = downscale(s.base, scale)
		}
		s.scaled[scale] = p
	}
	switch a := ((angle % 360) + 360) % 360; a {
	case 0:
	case 90:
		p = orient(p, 6)
	case 180:
		p = orient(p, 3)
	case 270:
		p = orient(p, 8)
	default:
		p = rotate(p, float64(a))
	}
	s.planes[k] = p
	return p
}

func (s *scan) view(st Step) (*gozxing.BinaryBitmap, error) {
	k := s.key(st)
	if v, ok := s.views[k]; ok {
		return v, nil
	}
	p := s.planeSharp(k)
	src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.stride, p.h, 0, 0, p.w, p.h, false)
	if err != nil {
		return nil, err
	}
	var b gozxing.Binarizer
	switch st.Binarizer {
	case Global:
		b = gozxing.NewGlobalHistgramBinarizer(src)
	case Local:
		b = newLocalBinarizer(src, p, 0)
	case LocalDark:
		b = newLocalBinarizer(src, p, 0.4)
	case LocalLight:
		b = newLocalBinarizer(src, p, -0.4)
	case LocalSmall:
		lb := newLocalBinarizer(src, p, 0).(*localBinarizer)
		lb.radius = max(1, st.LocalRadius)
		b = lb
	default:
		if st.BinarizedOnly || p.w < 40 || p.h < 40 {
			b = gozxing.NewHybridBinarizer(src)
		} else {
			b = &localBinarizer{
				GlobalHistogramBinarizer: gozxing.NewGlobalHistgramBinarizer(src).(*gozxing.GlobalHistogramBinarizer),
				p:                        p,
				hybrid:                   true,
			}
		}
	}
	v, err := gozxing.NewBinaryBitmap(b)
	if err != nil {
		return nil, err
	}
	s.views[k] = v
	return v, nil
}

// key returns the step's view key for this photo. A MaxSide at or above
// the photo's long side is full resolution (key 0), so steps that differ
// only in a MaxSide the photo does not reach share their view.
func (s *scan) key(st Step) viewKey {
	scale := scaleKey(st)
	if scale >= max(s.base.w, s.base.h) {
		scale = 0
	}
	k := viewKey{maxSide: scale, angle: st.Angle, bin: st.Binarizer, gozxing: st.BinarizedOnly}
	if st.Binarizer == LocalSmall {
		k.radius = st.LocalRadius
	}
	if st.Sharpen > 0 {
		k.sharp, k.sharpR = st.Sharpen, st.SharpenRadius
		if k.sharpR <= 0 {
			k.sharpR = 2
		}
	}
	return k
}

func hints(st Step) map[gozxing.DecodeHintType]interface{} {
	h := map[gozxing.DecodeHintType]interface{}{}
	if st.TryHarder {
		h[gozxing.DecodeHintType_TRY_HARDER] = true
	}
	return h
}

// try runs one step and returns the decoded text, if any.
func (s *scan) try(st Step) (texts []string) {
	defer func() {
		if r := recover(); r != nil { // gozxing must not take the process down
			texts = nil
		}
	}()
	v, err := s.view(st)
	if err != nil {
		return nil
	}
	bits, err := v.GetBlackMatrix()
	if err != nil {
		return nil
	}
	h := hints(st)
	info, err := detector.NewFinderPatternFinder(bits, nil).Find(h)
	if err != nil {
		return nil
	}
	if st.BinarizedOnly {
		dr, err := detector.NewDetector(bits).ProcessFinderPatternInfo(info)
		if err != nil {
			return nil
		}
		r, err := decoder.NewDecoder().Decode(dr.GetBits(), h)
		if err != nil {
			return nil
		}
		return []string{r.GetText()}
	}
	g := gridSampler{p: s.planeSharp(s.key(st)), bits: bits, dec: decoder.NewDecoder()}
	if t, ok := g.decodeAt(info, h); ok {
		return []string{t}
	}
	return nil
}

// tryMulti looks for every code in the step's view.
func (s *scan) tryMulti(st Step) (texts []string) {
	defer func() {
		if r := recover(); r != nil {
			texts = nil
		}
	}()
	v, err := s.view(st)
	if err != nil {
		return nil
	}
	rs, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(v, hints(st))
	if err != nil {
		return nil
	}
	for _, r := range rs {
		texts = append(texts, r.GetText())
	}
	return texts
}

// String describes the step.
func (st Step) String() string {
	return fmt.Sprintf("%s(max=%d angle=%d bin=%d th=%v)", st.Name, st.MaxSide, st.Angle, st.Binarizer, st.TryHarder)
}
