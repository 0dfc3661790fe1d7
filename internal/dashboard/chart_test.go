package dashboard

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		top           int64 // kopecks
		step, axisMax int64 // kopecks
	}{
		{"issue example 5 309 ₽", 530900, 200000, 600000},
		{"issue example 3 981 ₽", 398100, 100000, 400000},
		{"exactly a step", 400000, 100000, 400000},
		{"small", 1234, 500, 1500},
		{"under a rouble", 40, 100, 100},
		{"zero", 0, 100, 100},
		{"negative day only", -5000, 100, 100},
		{"millions", 987654321, 500000000, 1000000000},
		{"just over 2", 200001 * 4, 500000, 1000000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step, axisMax := niceScale(tc.top, 4)
			if step != tc.step || axisMax != tc.axisMax {
				t.Errorf("niceScale(%d) = %d, %d; want %d, %d", tc.top, step, axisMax, tc.step, tc.axisMax)
			}
			// Every tick is a round number of roubles: 1, 2 or 5 × 10ⁿ.
			m := step / 100
			for m%10 == 0 {
				m /= 10
			}
			if step%100 != 0 || (m != 1 && m != 2 && m != 5) || axisMax < tc.top || axisMax/step > 5 {
				t.Errorf("step %d, max %d for %d is not a 1-2-5 scale of at most 5 ticks", step, axisMax, tc.top)
			}
		})
	}
}

func TestFillDays(t *testing.T) {
	t.Parallel()
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, time.UTC) }
	pt := func(t time.Time, sum int64) report.Point { return report.Point{Start: t, SKUSumKopecks: sum} }
	for _, tc := range []struct {
		name     string
		pts      []report.Point
		from, to time.Time
		grain    string
		want     []report.Point
	}{
		{"gaps filled", []report.Point{pt(d(3, 2), 5), pt(d(3, 4), 7)}, d(3, 1), d(3, 6), "day",
			[]report.Point{pt(d(3, 1), 0), pt(d(3, 2), 5), pt(d(3, 3), 0), pt(d(3, 4), 7), pt(d(3, 5), 0)}},
		{"no data", nil, d(2, 27), d(3, 2), "day",
			[]report.Point{pt(d(2, 27), 0), pt(d(2, 28), 0), pt(d(3, 1), 0)}},
		{"full", []report.Point{pt(d(3, 1), 1), pt(d(3, 2), 2)}, d(3, 1), d(3, 3), "day",
			[]report.Point{pt(d(3, 1), 1), pt(d(3, 2), 2)}},
		// 1 March 2026 is a Sunday: its week starts on Monday 23 February.
		{"weeks from Monday", []report.Point{pt(d(3, 9), 4)}, d(3, 1), d(3, 20), "week",
			[]report.Point{pt(d(2, 23), 0), pt(d(3, 2), 0), pt(d(3, 9), 4), pt(d(3, 16), 0)}},
		{"empty range", nil, d(3, 1), d(3, 1), "day", []report.Point{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, fillDays(tc.pts, tc.from, tc.to, tc.grain)); diff != "" {
				t.Errorf("fillDays (-want +got):\n%s", diff)
			}
		})
	}
}
