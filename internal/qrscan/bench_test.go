package qrscan

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// sharedSets is where the development test photos live, relative to this
// package: ../shared/testdata/qr beside the repository root. A user's clone
// does not have it; the tests that need it skip.
const sharedSets = "../../../shared/testdata/qr"

type sample struct {
	name   string
	img    image.Image
	orient int
	want   string
}

// loadSet decodes every image of a shared set that has a .txt beside it.
func loadSet(tb testing.TB, set string) []sample {
	tb.Helper()
	root := filepath.Join(sharedSets, set)
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("shared test photos not found at %s (only in the development workspace): %v", root, err)
	}
	d := New(Options{})
	var out []sample
	err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".jpg" && ext != ".png" {
			return nil
		}
		want, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".txt")
		if err != nil {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		img, o, err := d.ReadImage(b)
		if err != nil {
			tb.Logf("%s: %v", path, err)
			return nil
		}
		out = append(out, sample{name: path, img: img, orient: o, want: Normalize(string(want))})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkSets runs the default ladder over the shared sets and reports
// the decode count and the median/p95 time per image (nearest rank, thread
// CPU time, so other load on a shared machine does not inflate it) as
// custom metrics. Run on one core: go test -bench Sets -cpu 1 -benchtime 1x.
func BenchmarkSets(b *testing.B) {
	for _, set := range []string{"receipts", "zxing-java"} {
		for _, l := range []struct {
			name   string
			ladder []Step
			effort Effort
		}{{"default", nil, EffortFull}, {"default-fast", nil, EffortFast}, {"previous", PreviousLadder(), EffortFull}, {"cascade", CascadeLadder(), EffortFull}, {"plain", PlainLadder(), EffortFull}} {
			b.Run(set+"/"+l.name, func(b *testing.B) {
				samples := loadSet(b, set)
				d := New(Options{Ladder: l.ladder, Effort: l.effort})
				ctx := context.Background()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ResetTimer()
				var ok int
				var times []time.Duration
				for i := 0; i < b.N; i++ {
					ok, times = 0, times[:0]
					for _, s := range samples {
						start := threadCPU()
						res, err := d.DecodeImage(ctx, s.img, s.orient)
						times = append(times, threadCPU()-start)
						if err == nil && Normalize(res.Text) == s.want {
							ok++
						}
					}
				}
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				rank := func(p int) float64 {
					r := max(1, (p*len(times)+99)/100)
					return float64(times[r-1].Microseconds()) / 1000
				}
				b.ReportMetric(float64(ok), "decoded")
				b.ReportMetric(float64(len(samples)), "images")
				b.ReportMetric(rank(50), "median-ms")
				b.ReportMetric(rank(95), "p95-ms")
			})
		}
	}
}
