package qrscan

import (
	"context"
	"math"
	"testing"
)

// gaussBlur blurs p with a Gaussian of standard deviation sigma pixels
// (separable, edges clamped).
func gaussBlur(p plane, sigma float64) plane {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, p.w*p.h)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			var s float64
			for i, w := range k {
				s += w * float64(p.pix[y*p.stride+min(max(x+i-r, 0), p.w-1)])
			}
			tmp[y*p.w+x] = s
		}
	}
	q := newPlane(p.w, p.h)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			var s float64
			for i, w := range k {
				s += w * tmp[min(max(y+i-r, 0), p.h-1)*p.w+x]
			}
			q.pix[y*p.w+x] = byte(math.Round(s))
		}
	}
	return q
}

// TestBlurredSmallModules: a rotated code with 3-px modules under a
// Gaussian blur of σ = 1.6 px. The blur closes the finder patterns' white
// ring in every binarized view of the earlier steps, so gozxing finds no
// finder patterns; the sharpened, small-window view keeps the ring open and
// the grey grid reads the code.
func TestBlurredSmallModules(t *testing.T) {
	t.Parallel()
	src := streakedCode(t, fiscalText, 3, 50, 215, 50, 0, false)
	p := gaussBlur(rotate(src, 17), 1.6)
	img := toImage(p)
	ctx := context.Background()

	if res, err := New(Options{Ladder: PlainLadder()}).DecodeImage(ctx, img, 1); err == nil {
		t.Fatalf("plain gozxing decoded %q: the blur is too weak to exercise the sharpened view", res.Text)
	}
	ladder := DefaultLadder()
	last := ladder[len(ladder)-1]
	if last.Sharpen == 0 || last.Binarizer != LocalSmall {
		t.Fatalf("the default ladder's last step is %v, want the sharpened small-window step", last)
	}
	if res, err := New(Options{Ladder: ladder[:len(ladder)-1]}).DecodeImage(ctx, img, 1); err == nil {
		t.Fatalf("the ladder without the sharpened step decoded %q (step %s): the test does not exercise it", res.Text, res.Step)
	}
	res, err := New(Options{}).DecodeImage(ctx, img, 1)
	if err != nil || res.Text != fiscalText {
		t.Fatalf("DecodeImage = %+v, %v; want %q", res, err, fiscalText)
	}
	if res.Step != last.Name {
		t.Errorf("decoded by step %s, want %s", res.Step, last.Name)
	}
}

// TestBoxBlurAndSharpen: a flat plane stays flat; the box filter keeps a
// step's mean level and spreads it over 2r+1 pixels; the unsharp mask
// steepens it (overshoot on both sides) and leaves flat areas alone.
func TestBoxBlurAndSharpen(t *testing.T) {
	t.Parallel()
	const w, h = 20, 9
	flat, step := newPlane(w, h), newPlane(w, h)
	for i := range flat.pix {
		flat.pix[i] = 120
		step.pix[i] = 60
		if i%w >= w/2 {
			step.pix[i] = 200
		}
	}
	for _, v := range boxBlur(flat, 3).pix {
		if v != 120 {
			t.Fatalf("box blur of a flat plane gave %d", v)
		}
	}
	for _, v := range sharpen(flat, 3, 1).pix {
		if v != 120 {
			t.Fatalf("sharpen of a flat plane gave %d", v)
		}
	}
	b := boxBlur(step, 2)
	row := b.pix[4*w : 5*w]
	if row[0] != 60 || row[w-1] != 200 || row[w/2-1] != 60+140*2/5 || row[w/2] != 60+140*3/5 {
		t.Errorf("box blur of a step: %v", row)
	}
	s := sharpen(step, 2, 1).pix[4*w : 5*w]
	if s[0] != 60 || s[w-1] != 200 || s[w/2-1] >= 60 || s[w/2] <= 200 {
		t.Errorf("sharpened step: %v (want flat ends, undershoot before and overshoot after the edge)", s)
	}
}
