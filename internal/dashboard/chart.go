package dashboard

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// barChart renders the series as an inline SVG bar chart of verified sales
// (roubles) with the receipt count in each bar's tooltip; each bar links to
// the receipts behind it. link returns the drill-down URL of a point.
func barChart(pts []report.Point, grain string, link func(report.Point) string) string {
	const w, h, padL, padB, padT = 900.0, 220.0, 70.0, 24.0, 10.0
	if len(pts) == 0 {
		return `<p class="muted">Нет данных за период.</p>`
	}
	var top int64
	for _, p := range pts {
		top = max(top, p.SKUSumKopecks)
	}
	step, top := niceScale(top, 4)
	ticks := int(top / step)
	bw := (w - padL) / float64(len(pts))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Продажи по %s">`, w, h, map[string]string{"day": "дням", "week": "неделям"}[grain])
	for i := 0; i <= ticks; i++ {
		y := padT + (h-padT-padB)*float64(i)/float64(ticks)
		v := step * int64(ticks-i)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="grid"/><text x="%.0f" y="%.1f" class="axis tick" text-anchor="end">%s</text>`,
			padL, y, w, y, padL-6, y+4, html.EscapeString(kpi.Int(v/100)))
	}
	every := len(pts)/10 + 1 // a date label on every n-th bar
	for i, p := range pts {
		// A day whose returns exceed its sales has no bar (its tooltip
		// says the negative figure).
		bh := (h - padT - padB) * float64(max(p.SKUSumKopecks, 0)) / float64(top)
		x := padL + float64(i)*bw
		label := p.Start.Format("02.01")
		title := fmt.Sprintf("%s: продажи %s, единиц %s; загружено чеков %s, из них начислено %s. Нажмите — чеки продаж за период", p.Start.Format("02.01.2006"),
			kpi.Roubles(p.SKUSumKopecks), kpi.Units(p.UnitsMilli), kpi.Int(p.Receipts), kpi.Int(p.Credited))
		fmt.Fprintf(&b, `<a href="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar" data-day="%s"><title>%s</title></rect></a>`,
			html.EscapeString(link(p)), x+1, h-padB-bh, max1(bw-2, 1), bh, p.Start.Format(time.DateOnly), html.EscapeString(title))
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="axis" text-anchor="middle">%s</text>`, x+bw/2, h-6, label)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func max1(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// niceScale picks the axis of a chart whose largest value is top (kopecks):
// a step of 1, 2 or 5 × 10ⁿ roubles giving at most about n intervals, and the
// axis maximum, the smallest multiple of the step ≥ top. Zero or negative
// top gives a one-rouble axis.
func niceScale(top int64, n int) (step, axisMax int64) {
	if n < 1 {
		n = 1
	}
	if top <= 0 {
		return 100, 100
	}
	raw := (top + int64(n) - 1) / int64(n) // the step that would just fit
	for mag := int64(100); ; mag *= 10 {   // from one rouble up
		for _, m := range []int64{1, 2, 5} {
			if step = m * mag; step >= raw {
				return step, (top + step - 1) / step * step
			}
		}
	}
}

// fillDays returns pts with a zero point for every day (grain "day") or
// week (grain "week", weeks starting on Monday, as the store groups them)
// of [from, to) that has none, so a chart shows quiet days as zero instead
// of skipping them. pts must be in order, on those starts.
func fillDays(pts []report.Point, from, to time.Time, grain string) []report.Point {
	start, stepDays := from, 1
	if grain == "week" {
		start, stepDays = from.AddDate(0, 0, -((int(from.Weekday())+6)%7)), 7
	}
	out := make([]report.Point, 0, int(to.Sub(start).Hours()/24)/stepDays+1)
	i := 0
	for d := start; d.Before(to); d = d.AddDate(0, 0, stepDays) {
		for i < len(pts) && pts[i].Start.Before(d) { // off the grid: keep, in order
			out = append(out, pts[i])
			i++
		}
		if i < len(pts) && pts[i].Start.Equal(d) {
			out = append(out, pts[i])
			i++
			continue
		}
		out = append(out, report.Point{Start: d})
	}
	return append(out, pts[i:]...)
}

// dayOf is t's calendar day (UTC, as the rollups date receipts).
func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
