package dashboard_test

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// budgetPage are the budget figures of the settings page, in kopecks.
type budgetPage struct {
	Budget, Funded, Spent, Balance, Burn, Window, Days int64
	Months                                             []int64
	Forecast                                           string
}

var (
	dataAttr    = regexp.MustCompile(`id="(budget-total|budget-spent|budget-balance|burn)"((?: data-[a-z]+="-?[0-9]+")+)`)
	attrRe      = regexp.MustCompile(`data-([a-z]+)="(-?[0-9]+)"`)
	monthRe     = regexp.MustCompile(`class="budget-month" data-kopecks="(-?[0-9]+)"`)
	forecastRe  = regexp.MustCompile(`id="forecast">([^<]*)<`)
	tickRe      = regexp.MustCompile(`class="axis tick" text-anchor="end">([^<]*)<`)
	chartDayRe  = regexp.MustCompile(`class="bar" data-day="([0-9-]+)"`)
	roundNumber = regexp.MustCompile(`^[125]0*$`)
	nonDigit    = regexp.MustCompile(`[^0-9]`)
)

// parseBudget reads the budget figures out of the settings page.
func parseBudget(t *testing.T, body string) budgetPage {
	t.Helper()
	var b budgetPage
	for _, m := range dataAttr.FindAllStringSubmatch(body, -1) {
		attrs := map[string]int64{}
		for _, a := range attrRe.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]], _ = strconv.ParseInt(a[2], 10, 64)
		}
		switch m[1] {
		case "budget-total":
			b.Budget, b.Funded = attrs["kopecks"], attrs["funded"]
		case "budget-spent":
			b.Spent = attrs["kopecks"]
		case "budget-balance":
			b.Balance = attrs["kopecks"]
		case "burn":
			b.Burn, b.Window, b.Days = attrs["kopecks"], attrs["window"], attrs["days"]
		}
	}
	for _, m := range monthRe.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		b.Months = append(b.Months, n)
	}
	if m := forecastRe.FindStringSubmatch(body); m != nil {
		b.Forecast = strings.TrimSpace(m[1])
	}
	if b.Days == 0 || b.Funded == 0 {
		t.Fatalf("settings page has no budget figures: %+v", b)
	}
	return b
}

// addsUp checks that the page's budget numbers are one set: spent is the
// sum of the month rows, remaining is funded − spent, the daily rate is
// the window's spending over its days and the forecast follows from the
// remaining budget and that rate.
func (b budgetPage) addsUp(t *testing.T, today, endsOn time.Time) {
	t.Helper()
	var months int64
	for _, m := range b.Months {
		months += m
	}
	if months != b.Spent {
		t.Errorf("spent %d ≠ Σ month rows %d (%v)", b.Spent, months, b.Months)
	}
	if b.Balance != b.Funded-b.Spent {
		t.Errorf("remaining %d ≠ funded %d − spent %d", b.Balance, b.Funded, b.Spent)
	}
	if b.Burn != b.Window/b.Days {
		t.Errorf("daily rate %d ≠ %d / %d days", b.Burn, b.Window, b.Days)
	}
	if want := kpi.BudgetForecast(today, endsOn, b.Balance, b.Burn); b.Forecast != want {
		t.Errorf("forecast %q, want %q from remaining %d at %d a day", b.Forecast, want, b.Balance, b.Burn)
	}
}

// TestSettingsBudgetAddsUpWithReturn: a sale and its return in the burn
// window: the return is subtracted once, and every budget figure on the
// page comes from the same numbers.
func TestSettingsBudgetAddsUpWithReturn(t *testing.T) {
	t.Parallel()
	e, db := newEnvDB(t)
	v := &e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	var endsOn time.Time
	if err := db.QueryRow(t.Context(), `SELECT ends_on FROM programs WHERE id = $1`, v.ProgramID).Scan(&endsOn); err != nil {
		t.Fatal(err)
	}
	sale := reporttest.AddReceipt(t, e.data.Receipts, v, &v.ShopIDs[0], 0, time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC), receipt.Credited)
	reporttest.AddReturn(t, e.data.Receipts, v, sale, time.Date(2026, 3, 11, 11, 0, 0, 0, time.UTC))
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/settings", v.ProgramID), nil)
	b := parseBudget(t, body)
	b.addsUp(t, testNow, endsOn)
	// The two receipts of March (150 points each) and the sale (150) less
	// its return (150): 300 points in 30 days, 10 a day; spent all time
	// adds February's two receipts.
	if b.Window != 30000 || b.Burn != 1000 || b.Spent != 60000 || b.Balance != b.Budget-60000 {
		t.Errorf("budget with a sale and its return: %+v", b)
	}
}

// TestSettingsRulesInRussian: the rules read as sentences, the JSON only
// behind a disclosure.
func TestSettingsRulesInRussian(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/settings", v.ProgramID), nil)
	for _, want := range []string{"5\u00a0% от суммы строки × вес SKU — все SKU программы.", "Не больше 500\u00a0₽ за один чек.",
		"Не больше 2\u202f000\u00a0₽ участнику в день."} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	rules := body[strings.Index(body, `id="rules"`):]
	visible := regexp.MustCompile(`(?s)<details>.*?</details>`).ReplaceAllString(rules, "")
	for _, raw := range []string{"percent_bp", "kopecks", "per_receipt"} {
		if strings.Contains(visible, raw) {
			t.Errorf("settings page shows the raw rule key %q outside the JSON disclosure", raw)
		}
	}
}

// TestOverviewChartEveryDayRoundTicks: the day chart has a bar for every
// day of the period up to today, and its axis ticks are round numbers.
func TestOverviewChartEveryDayRoundTicks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/overview?from=2026-02&to=2026-03", v.ProgramID), nil)
	days := chartDayRe.FindAllStringSubmatch(body, -1)
	// 1 February to 15 March (today): 28 + 15 days.
	if len(days) != 43 || days[0][1] != "2026-02-01" || days[42][1] != "2026-03-15" {
		t.Errorf("chart has %d days", len(days))
	}
	ticks := tickRe.FindAllStringSubmatch(body, -1)
	if len(ticks) < 2 {
		t.Fatalf("chart has %d ticks", len(ticks))
	}
	// Top to bottom, evenly spaced by a step of 1, 2 or 5 × 10ⁿ roubles
	// (the axis read 5 309 / 3 981 …).
	var vals []int64
	for _, tk := range ticks {
		n, err := strconv.ParseInt(nonDigit.ReplaceAllString(tk[1], ""), 10, 64)
		if err != nil {
			t.Fatalf("tick %q: %v", tk[1], err)
		}
		vals = append(vals, n)
	}
	step := vals[0] - vals[1]
	if !roundNumber.MatchString(strconv.FormatInt(step, 10)) || vals[len(vals)-1] != 0 {
		t.Errorf("ticks %v: step %d is not 1, 2 or 5 × 10ⁿ", vals, step)
	}
	for i := 1; i < len(vals); i++ {
		if vals[i-1]-vals[i] != step {
			t.Errorf("ticks %v are not evenly spaced", vals)
		}
	}
}

var unmatchedCountRe = regexp.MustCompile(`id="unmatched-count">([0-9]+)<`)

// TestUnmatchedForeign: «Не наш товар» takes a line off the unmatched page
// and its count, lists it with who marked it, and can be taken back; only
// the client's managers may mark, only their own client's lines.
func TestUnmatchedForeign(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	c := e.mustLogin(t, v.ManagerEmail)
	page := fmt.Sprintf("/dashboard/p/%d/unmatched", v.ProgramID)
	count := func() (string, string) {
		t.Helper()
		_, body := e.do(t, c, "GET", page, nil)
		m := unmatchedCountRe.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("unmatched page has no count")
		}
		return m[1], body
	}
	n, body := count()
	if n != "1" || !strings.Contains(body, v.Unmatched) {
		t.Fatalf("unmatched page before: count %s", n)
	}
	resp, _ := e.do(t, c, "POST", page+"/foreign", url.Values{"_csrf": {c.csrf}, "name": {v.Unmatched}})
	if resp.StatusCode != 303 {
		t.Fatalf("mark foreign: %d", resp.StatusCode)
	}
	if _, flash := e.do(t, c, "GET", resp.Header.Get("Location"), nil); !strings.Contains(flash, "Строка отмечена как «не наш товар».") {
		t.Error("no confirmation after marking")
	}
	n, body = count()
	table := body[strings.Index(body, `id="unmatched"`):]
	table = table[:strings.Index(table, "</table>")]
	if n != "0" || strings.Contains(table, v.Unmatched) || !strings.Contains(body, `id="foreign"`) {
		t.Errorf("after marking: count %s, line still in the table: %v", n, strings.Contains(table, v.Unmatched))
	}
	norm := regexp.MustCompile(`name="norm" value="([^"]+)"`).FindStringSubmatch(body)
	if norm == nil {
		t.Fatal("no undo form")
	}
	// A moderator may not mark; nobody marks another client's lines.
	mod := e.mustLogin(t, v.ModeratorMail)
	if resp, _ := e.do(t, mod, "POST", page+"/foreign", url.Values{"_csrf": {mod.csrf}, "name": {"x"}}); resp.StatusCode != 403 {
		t.Errorf("moderator marks: %d", resp.StatusCode)
	}
	kpage := fmt.Sprintf("/dashboard/p/%d/unmatched/foreign", k.ProgramID)
	if resp, _ := e.do(t, c, "POST", kpage, url.Values{"_csrf": {c.csrf}, "name": {k.Unmatched}}); resp.StatusCode != 404 && resp.StatusCode != 403 {
		t.Errorf("vetluga marks krasnodol's line: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, c, "POST", page+"/foreign", url.Values{"_csrf": {c.csrf}, "name": {"  "}}); resp.StatusCode != 400 {
		t.Errorf("empty name: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, c, "POST", page+"/foreign/undo", url.Values{"_csrf": {c.csrf}, "norm": {html.UnescapeString(norm[1])}})
	if resp.StatusCode != 303 {
		t.Fatalf("undo: %d", resp.StatusCode)
	}
	if n, body := count(); n != "1" || !strings.Contains(body, v.Unmatched) {
		t.Errorf("after undo: count %s", n)
	}
}

// TestExportsNetReturn: after a sale and its return the sales exports of
// every dimension and the overview's figures read as before. (The receipt
// count column counts sales receipts: the sale is one, its return none.)
func TestExportsNetReturn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := &e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	base := fmt.Sprintf("/dashboard/p/%d", v.ProgramID)
	kpiRe := regexp.MustCompile(`(?s)data-kpi="(verified_units|verified_sum|points_credited)">.*?<div class="kpi-value">\s*(.*?)\s*</div>`)
	snapshot := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, by := range []string{"sku", "shop", "chain", "region", "participant"} {
			u := base + "/sales/export?" + url.Values{"by": {by}, "format": {"csv"}, "from": {"2026-02"}, "to": {"2026-03"}}.Encode()
			resp, body := e.do(t, c, "GET", u, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", u, resp.StatusCode)
			}
			out[by] = netFigures(t, body)
		}
		_, body := e.do(t, c, "GET", base+"/overview?from=2026-02&to=2026-03", nil)
		for _, m := range kpiRe.FindAllStringSubmatch(body, -1) {
			out[m[1]] = m[2]
		}
		if len(out) != 8 {
			t.Fatalf("overview KPIs not found: %v", out)
		}
		return out
	}
	before := snapshot()
	sale := reporttest.AddReceipt(t, e.data.Receipts, v, &v.ShopIDs[1], 2, time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC), receipt.Credited)
	reporttest.AddReturn(t, e.data.Receipts, v, sale, time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC))
	after := snapshot()
	for k, b := range before {
		if after[k] != b {
			t.Errorf("%s after a sale and its return:\n%s\nbefore:\n%s", k, after[k], b)
		}
	}
}

// netFigures is an exported sales table without its receipt count column
// and without rows whose units, sums and points are all zero.
func netFigures(t *testing.T, body string) string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	r.Comma = ';' // the exports are Russian Excel's CSV
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	col := slices.Index(recs[0], "Чеков")
	if col < 0 {
		t.Fatalf("export has no receipt count column: %q", recs[0])
	}
	var out []string
	for _, r := range recs {
		r = slices.Delete(r, col, col+1)
		zero := func(v string) bool { return strings.Trim(v, "0.,\u00a0 ") == "" }
		if z := r[col : col+3]; zero(z[0]) && zero(z[1]) && zero(z[2]) {
			continue
		}
		out = append(out, strings.Join(r, ";"))
	}
	return strings.Join(out, "\n")
}
