package qrscan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers GIF for image.Decode
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/sync/semaphore"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
)

// Effort selects which part of the ladder a Decoder runs.
type Effort int

const (
	// EffortFull runs the whole ladder in its order (the fast steps are not
	// necessarily first: the order is by decodes per millisecond). The
	// default.
	EffortFull Effort = iota
	// EffortFast runs only the steps marked Fast: meant for the request path,
	// where most photos decode in a few milliseconds. There is no "the rest
	// only" effort: the request path gives up when its budget ends, often
	// before its fast steps ran (the API was busy), so the worker that takes
	// the photo over runs the whole ladder.
	EffortFast
)

// Options configures a Decoder. Zero values select the defaults.
type Options struct {
	// MaxBytes caps the encoded size read from an io.Reader (default 25 MiB).
	MaxBytes int64
	// MaxPixels caps the declared width×height (default 40 million, a
	// 12-MP photo is 12 million).
	MaxPixels int
	// MaxDimension caps the declared width and height (default
	// DefaultMaxDimension).
	MaxDimension int
	// Effort selects the part of the ladder to run (default EffortFull).
	Effort Effort
	// MaxAttempts caps the number of ladder steps tried per image
	// (0 = no cap). Together with a context deadline it bounds the work.
	MaxAttempts int
	// Ladder replaces the default ladder (DefaultLadder); meant for
	// benchmarks comparing ladders.
	Ladder []Step
	// MemoryBudget bounds the bytes that the decodes of DecodeBytes running
	// at once may hold, as estimated by DecodeCost from each image's header
	// (default 256 MiB). A decode waits (within its ctx) until its cost
	// fits; one that costs more than the whole budget runs alone. Build one
	// Decoder per process so the bound is the process's.
	MemoryBudget int64
}

// DefaultMaxDimension is the default Options.MaxDimension: the longest side
// a photo may declare. Intake refuses a longer one up front, so no photo is
// accepted that the worker's decoder would then refuse.
const DefaultMaxDimension = 12000

// DefaultMemoryBudget is the default Options.MemoryBudget.
const DefaultMemoryBudget = 256 << 20

// MaxPlaneSide is the longest side of the grey plane the ladder works on:
// a larger photo is downscaled (box average) as it is converted to grey.
// The ladder's views are at most 1600 px, so this changes no view of a
// photo up to 4096 px, and it keeps a 49-MP photo's plane at 16 MB.
const MaxPlaneSide = 4096

// Decoder finds QR codes in photos. It holds only immutable configuration
// and is safe for concurrent use.
type Decoder struct {
	opts  Options
	steps []Step
	mem   *semaphore.Weighted
}

// New returns a Decoder with the given options.
func New(opts Options) *Decoder {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 25 << 20
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = 40_000_000
	}
	if opts.MaxDimension <= 0 {
		opts.MaxDimension = DefaultMaxDimension
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	ladder := opts.Ladder
	if ladder == nil {
		ladder = DefaultLadder()
	}
	var steps []Step
	for _, s := range ladder {
		if opts.Effort == EffortFull || s.Fast {
			steps = append(steps, s)
		}
	}
	return &Decoder{opts: opts, steps: steps, mem: semaphore.NewWeighted(opts.MemoryBudget)}
}

// Result is the outcome of a successful decode.
type Result struct {
	// Text is the chosen text: the first one that parses as a fiscal
	// payload, otherwise the first one found.
	Text string
	// Fiscal reports whether Text parses as a fiscal payload.
	Fiscal bool
	// Texts holds every distinct text found, in the order found.
	Texts []string
	// Step names the ladder step that found Text.
	Step string
	// Attempts is the number of ladder steps tried.
	Attempts int
}

// Decode reads an encoded image (JPEG, PNG or GIF) from r and decodes the QR
// code in it. See DecodeBytes for the errors.
func (d *Decoder) Decode(ctx context.Context, r io.Reader) (Result, error) {
	b, err := io.ReadAll(io.LimitReader(r, d.opts.MaxBytes+1))
	if err != nil {
		return Result{}, fmt.Errorf("qrscan: read image: %w", err)
	}
	if int64(len(b)) > d.opts.MaxBytes {
		return Result{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, d.opts.MaxBytes)
	}
	return d.DecodeBytes(ctx, b)
}

// DecodeBytes decodes the QR code in an encoded image. It checks the
// header first, then waits for its DecodeCost to fit the memory budget. It
// returns ErrUnsupportedFormat (ErrHEIC for HEIC/HEIF), ErrTooLarge,
// ErrCorrupt, ErrNotFound, or the context's error when ctx ends first
// (while waiting for memory, or between ladder steps).
func (d *Decoder) DecodeBytes(ctx context.Context, b []byte) (Result, error) {
	cfg, f, err := d.header(b)
	if err != nil {
		return Result{}, err
	}
	w := min(DecodeCost(cfg), d.opts.MemoryBudget)
	if err := d.mem.Acquire(ctx, w); err != nil {
		return Result{}, err
	}
	defer d.mem.Release(w)
	img, o, err := decodePixels(b, f)
	if err != nil {
		return Result{}, err
	}
	return d.DecodeImage(ctx, img, o)
}

// DecodeCost estimates the bytes that decoding an image with this header
// holds at its peak: the decoded pixels in the format Go's decoders produce
// (1 byte a pixel for grey and palette images, up to 3 for JPEG's YCbCr, 4
// for 8-bit colour PNG, 8 for 16-bit) and the grey plane the ladder works
// on. Neither image/png nor image/jpeg can downscale while decoding, so the
// full-resolution pixels are the bulk of it.
func DecodeCost(cfg image.Config) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	var bpp int64
	switch cfg.ColorModel {
	case color.GrayModel:
		bpp = 1
	case color.Gray16Model:
		bpp = 2
	case color.YCbCrModel:
		bpp = 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		bpp = 4
	default:
		bpp = 8
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		}
	}
	long := int64(max(cfg.Width, cfg.Height))
	plane := px
	if long > MaxPlaneSide {
		plane = px * MaxPlaneSide / long * MaxPlaneSide / long
	}
	return px*bpp + plane
}

// ReadImage checks and decodes an encoded image without looking for codes.
// It returns the image and its EXIF orientation (1..8, 1 = upright). The
// declared dimensions are checked before any pixel is decoded. Errors are
// ErrUnsupportedFormat, ErrHEIC, ErrTooLarge and ErrCorrupt.
func (d *Decoder) ReadImage(b []byte) (image.Image, int, error) {
	_, f, err := d.header(b)
	if err != nil {
		return nil, 0, err
	}
	return decodePixels(b, f)
}

// header checks an encoded image's size, format and declared dimensions
// without decoding a pixel.
func (d *Decoder) header(b []byte) (image.Config, format, error) {
	if int64(len(b)) > d.opts.MaxBytes {
		return image.Config{}, 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, d.opts.MaxBytes)
	}
	f := sniff(b)
	switch f {
	case formatHEIC:
		return image.Config{}, 0, ErrHEIC
	case formatUnknown:
		return image.Config{}, 0, ErrUnsupportedFormat
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return image.Config{}, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, 0, fmt.Errorf("%w: empty image", ErrCorrupt)
	}
	if cfg.Width > d.opts.MaxDimension || cfg.Height > d.opts.MaxDimension ||
		int64(cfg.Width)*int64(cfg.Height) > int64(d.opts.MaxPixels) {
		return image.Config{}, 0, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	return cfg, f, nil
}

// decodePixels decodes an image whose header was checked.
func decodePixels(b []byte, f format) (image.Image, int, error) {
	var (
		img image.Image
		err error
	)
	o := 1
	switch f {
	case formatJPEG:
		o = jpegOrientation(b)
		img, err = jpeg.Decode(bytes.NewReader(b))
	case formatPNG:
		img, err = png.Decode(bytes.NewReader(b))
	default:
		img, _, err = image.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return img, o, nil
}

// DecodeImage looks for QR codes in an already decoded image with the given
// EXIF orientation (1..8; 0 or 1 = upright). It returns ErrNotFound when
// the ladder ends without a code, or ctx.Err() when ctx ends first (checked
// between attempts).
func (d *Decoder) DecodeImage(ctx context.Context, img image.Image, orientation int) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	b := img.Bounds()
	if b.Dx() < 21 || b.Dy() < 21 { // smaller than a version-1 code at 1 px/module
		return Result{}, ErrNotFound
	}
	s := newScan(orient(downscale(toGray(img), MaxPlaneSide), orientation))
	var res Result
	for _, st := range d.steps {
		if d.opts.MaxAttempts > 0 && res.Attempts >= d.opts.MaxAttempts {
			break
		}
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if !s.applies(st) {
			continue
		}
		res.Attempts++
		texts := s.try(st)
		if len(texts) == 0 {
			continue
		}
		for _, t := range texts {
			res.add(t, st.Name)
		}
		if res.Fiscal {
			return res, nil
		}
		// A code was found but it is not a fiscal payload (an EGAIS code on a
		// receipt, or any other QR): look for more codes in the same view and
		// then stop, rather than run the whole ladder for every non-fiscal code.
		for _, t := range s.tryMulti(st) {
			res.add(t, st.Name)
		}
		return res, nil
	}
	if res.Text != "" {
		return res, nil
	}
	return res, ErrNotFound
}

// add records a decoded text, choosing it when it is the first one or the
// first fiscal one.
func (r *Result) add(text, step string) {
	for _, t := range r.Texts {
		if t == text {
			return
		}
	}
	r.Texts = append(r.Texts, text)
	fiscalOK := isFiscal(text)
	if r.Text == "" || fiscalOK && !r.Fiscal {
		r.Text, r.Fiscal, r.Step = text, fiscalOK, step
	}
}

func isFiscal(text string) bool {
	_, err := fiscal.Parse(text)
	return err == nil
}

// Normalize returns text compared the way the test sets define: CRLF → LF
// and trailing CR/LF removed.
func Normalize(text string) string {
	return strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\r\n")
}
