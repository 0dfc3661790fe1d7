package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
)

func init() {
	register(command{
		name:    "qr",
		summary: "decode receipt QR codes from photos (qr decode FILE..., qr bench DIR...)",
		run:     runQR,
	})
}

func runQR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: loyaltyjam qr decode [flags] FILE...\n       loyaltyjam qr bench [flags] DIR...")
		return fmt.Errorf("%w: qr needs a subcommand: decode or bench", errUsage)
	}
	switch args[0] {
	case "decode":
		return runQRDecode(ctx, args[1:], stdout, stderr)
	case "bench":
		return runQRBench(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown qr subcommand %q (want decode or bench)", errUsage, args[0])
}

// qrFlags are the decoder flags shared by decode and bench.
type qrFlags struct {
	ladder  string
	effort  string
	timeout time.Duration
}

func (f *qrFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ladder, "ladder", "default", "ladder: default, previous (first ladder, binarized samples only), cascade (earlier gozxing cascade) or plain (one gozxing attempt)")
	fs.StringVar(&f.effort, "effort", "full", "effort: full (worker) or fast (request path)")
	fs.DurationVar(&f.timeout, "timeout", 0, "time limit per image (0 = none)")
}

func (f *qrFlags) decoder() (*qrscan.Decoder, error) {
	var opts qrscan.Options
	switch f.ladder {
	case "default":
	case "cascade":
		opts.Ladder = qrscan.CascadeLadder()
	case "plain":
		opts.Ladder = qrscan.PlainLadder()
	case "previous":
		opts.Ladder = qrscan.PreviousLadder()
	default:
		return nil, fmt.Errorf("%w: -ladder %q: want default, previous, cascade or plain", errUsage, f.ladder)
	}
	switch f.effort {
	case "full":
		opts.Effort = qrscan.EffortFull
	case "fast":
		opts.Effort = qrscan.EffortFast
	default:
		return nil, fmt.Errorf("%w: -effort %q: want full or fast", errUsage, f.effort)
	}
	return qrscan.New(opts), nil
}

// decodeTimed decodes one encoded image. The returned duration covers only
// the QR search (grey conversion, scaling, rotation, decoding), not reading
// the file nor JPEG/PNG decoding, matching docs/qr.md.
func decodeTimed(ctx context.Context, d *qrscan.Decoder, b []byte, timeout time.Duration) (qrscan.Result, time.Duration, error) {
	img, orientation, err := d.ReadImage(b)
	if err != nil {
		return qrscan.Result{}, 0, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := d.DecodeImage(ctx, img, orientation)
	return res, time.Since(start), err
}

func runQRDecode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("qr decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var qf qrFlags
	qf.register(fs)
	all := fs.Bool("all", false, "also print every text found (\"texts\")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loyaltyjam qr decode [flags] FILE...\n\nPrints one JSON line per file: {\"file\",\"ok\",\"text\",\"ms\"} or \"error\".\nms is the QR search time, excluding file reading and JPEG/PNG decoding.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: qr decode needs at least one FILE", errUsage)
	}
	d, err := qf.decoder()
	if err != nil {
		return err
	}
	type line struct {
		File   string   `json:"file"`
		OK     bool     `json:"ok"`
		Text   string   `json:"text,omitempty"`
		Fiscal bool     `json:"fiscal,omitempty"`
		Texts  []string `json:"texts,omitempty"`
		MS     float64  `json:"ms"`
		Error  string   `json:"error,omitempty"`
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, name := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := line{File: name}
		b, err := os.ReadFile(name)
		var res qrscan.Result
		var took time.Duration
		if err == nil {
			res, took, err = decodeTimed(ctx, d, b, qf.timeout)
		}
		l.MS = float64(took.Microseconds()) / 1000
		if err != nil {
			l.Error = err.Error()
			failed++
		} else {
			l.OK, l.Text, l.Fiscal = true, res.Text, res.Fiscal
			if *all {
				l.Texts = res.Texts
			}
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files not decoded", failed, fs.NArg())
	}
	return nil
}

func runQRBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("qr bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var qf qrFlags
	qf.register(fs)
	single := fs.Bool("single", false, "run on one core (GOMAXPROCS=1), as docs/qr.md reports")
	perFolder := fs.Bool("per-folder", false, "also print a line per folder holding images")
	verbose := fs.Bool("v", false, "print every image that failed or decoded a wrong text")
	steps := fs.Bool("steps", false, "print how many images each ladder step decoded")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loyaltyjam qr bench [flags] DIR...\n\nWalks each DIR for images (.jpg .jpeg .png .gif) with a same-named .txt holding the\nexpected text and prints the decode rate and the median/p95 QR search time\n(nearest-rank, over all images, decoded or not).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: qr bench needs at least one DIR", errUsage)
	}
	d, err := qf.decoder()
	if err != nil {
		return err
	}
	if *single {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	for _, root := range fs.Args() {
		folders := map[string]*benchStats{}
		total := &benchStats{name: root}
		stepHits := map[string]int{}
		err := filepath.WalkDir(root, func(path string, e iofs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !isImageName(path) {
				return nil
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".txt")
			if err != nil {
				return nil // not part of the set
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			res, took, err := decodeTimed(ctx, d, b, qf.timeout)
			ok := err == nil && qrscan.Normalize(res.Text) == qrscan.Normalize(string(want))
			if ok {
				stepHits[res.Step]++
			}
			if !ok && *verbose {
				got := res.Text
				if err != nil {
					got = "error: " + err.Error()
				}
				fmt.Fprintf(stdout, "FAIL %s (%.1f ms): %q\n", path, ms(took), got)
			}
			dir := filepath.Dir(path)
			if folders[dir] == nil {
				folders[dir] = &benchStats{name: dir}
			}
			folders[dir].add(ok, took)
			total.add(ok, took)
			return nil
		})
		if err != nil {
			return fmt.Errorf("qr bench %s: %w", root, err)
		}
		if *perFolder && len(folders) > 1 {
			names := make([]string, 0, len(folders))
			for n := range folders {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintln(stdout, "  "+folders[n].String())
			}
		}
		if *steps {
			names := make([]string, 0, len(stepHits))
			for n := range stepHits {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(stdout, "  step %-20s %d\n", n, stepHits[n])
			}
		}
		fmt.Fprintln(stdout, total.String())
	}
	return nil
}

func isImageName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".jpg", ".jpeg", ".png", ".gif":
		return true
	}
	return false
}

// benchStats accumulates the score of one folder or set.
type benchStats struct {
	name  string
	ok    int
	times []time.Duration
}

func (s *benchStats) add(ok bool, took time.Duration) {
	if ok {
		s.ok++
	}
	s.times = append(s.times, took)
}

func (s *benchStats) String() string {
	n := len(s.times)
	if n == 0 {
		return s.name + ": no images"
	}
	return fmt.Sprintf("%s: %d/%d (%.1f%%) median %.1f ms p95 %.1f ms", s.name, s.ok, n,
		100*float64(s.ok)/float64(n), ms(nearestRank(s.times, 50)), ms(nearestRank(s.times, 95)))
}

// nearestRank returns the p-th percentile by the nearest-rank method.
func nearestRank(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := (p*len(s) + 99) / 100 // ceil(p/100·n)
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
