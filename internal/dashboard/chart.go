package dashboard

import (
	"fmt"
	"html"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
)

// barChart renders the series as an inline SVG bar chart of verified sales
// (roubles) with the receipt count in each bar's tooltip; each bar links to
// the receipts behind it. link returns the drill-down URL of a point.
func barChart(pts []reportdb.Point, grain string, link func(reportdb.Point) string) string {
	const w, h, padL, padB, padT = 900.0, 220.0, 70.0, 24.0, 10.0
	if len(pts) == 0 {
		return `<p class="muted">Нет данных за период.</p>`
	}
	var max int64 = 1
	for _, p := range pts {
		if p.SKUSumKopecks > max {
			max = p.SKUSumKopecks
		}
	}
	bw := (w - padL) / float64(len(pts))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Продажи по %s">`, w, h, map[string]string{"day": "дням", "week": "неделям"}[grain])
	for i := 0; i <= 4; i++ {
		y := padT + (h-padT-padB)*float64(i)/4
		v := max * int64(4-i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="grid"/><text x="%.0f" y="%.1f" class="axis" text-anchor="end">%s</text>`,
			padL, y, w, y, padL-6, y+4, html.EscapeString(kpi.Int(v/100)))
	}
	step := len(pts)/10 + 1
	for i, p := range pts {
		bh := (h - padT - padB) * float64(p.SKUSumKopecks) / float64(max)
		x := padL + float64(i)*bw
		label := p.Start.Format("02.01")
		title := fmt.Sprintf("%s: продажи %s, единиц %s; загружено чеков %s, из них начислено %s. Нажмите — чеки продаж за период", p.Start.Format("02.01.2006"),
			kpi.Roubles(p.SKUSumKopecks), kpi.Units(p.UnitsMilli), kpi.Int(p.Receipts), kpi.Int(p.Credited))
		fmt.Fprintf(&b, `<a href="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s</title></rect></a>`,
			html.EscapeString(link(p)), x+1, h-padB-bh, max1(bw-2, 1), bh, html.EscapeString(title))
		if i%step == 0 {
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
