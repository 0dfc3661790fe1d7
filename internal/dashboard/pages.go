package dashboard

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// period is the month range a page reports on: ?from=2026-01&to=2026-03
// (inclusive months); by default the current month and the two before.
type period struct {
	report.Period
	FromMonth, ToMonth string
	Label              string
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

var monthNames = []string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
	"октябрь", "ноябрь", "декабрь"}

func monthLabel(t time.Time) string { return fmt.Sprintf("%s %d", monthNames[t.Month()-1], t.Year()) }

func (s *Server) period(c *fiber.Ctx) period {
	cur := monthStart(s.o.Now())
	to, err := time.Parse("2006-01", c.Query("to"))
	if err != nil {
		to = cur
	}
	from, err := time.Parse("2006-01", c.Query("from"))
	if err != nil || from.After(to) {
		from = to.AddDate(0, -2, 0)
	}
	if from.Before(to.AddDate(-3, 0, 0)) {
		from = to.AddDate(-3, 0, 0)
	}
	p := period{Period: report.Period{From: from, To: to.AddDate(0, 1, 0)}, FromMonth: from.Format("2006-01"), ToMonth: to.Format("2006-01")}
	p.Label = monthLabel(from)
	if !from.Equal(to) {
		p.Label += " — " + monthLabel(to)
	}
	return p
}

// presets are the period shortcuts of the chooser.
func (s *Server) presets() []map[string]string {
	cur := monthStart(s.o.Now())
	mk := func(label string, from, to time.Time) map[string]string {
		return map[string]string{"Label": label, "From": from.Format("2006-01"), "To": to.Format("2006-01")}
	}
	return []map[string]string{
		mk("Этот месяц", cur, cur),
		mk("Прошлый месяц", cur.AddDate(0, -1, 0), cur.AddDate(0, -1, 0)),
		mk("3 месяца", cur.AddDate(0, -2, 0), cur),
		mk("12 месяцев", cur.AddDate(0, -11, 0), cur),
	}
}

func (s *Server) pageData(c *fiber.Ctx, per period) map[string]any {
	return map[string]any{"Period": per, "Presets": s.presets(), "Now": s.o.Now()}
}

func (s *Server) overview(c *fiber.Ctx) error {
	ctx, p, per := c.UserContext(), program(c), s.period(c)
	in, err := s.store.OverviewAsOf(ctx, p, per.Period, s.o.Now())
	if err != nil {
		return s.fail(c, err)
	}
	grain := c.Query("grain", "day")
	if grain != "week" {
		grain = "day"
	}
	series, err := s.store.Series(ctx, p, per.Period, grain)
	if err != nil {
		return s.fail(c, err)
	}
	base := fmt.Sprintf("%s/p/%d", Prefix, p.ID)
	link := func(pt report.Point) string {
		end := pt.Start.AddDate(0, 0, 1)
		if grain == "week" {
			end = pt.Start.AddDate(0, 0, 7)
		}
		return base + "/receipts?" + url.Values{"status": {"sales"}, "d_from": {pt.Start.Format(time.DateOnly)},
			"d_to": {end.AddDate(0, 0, -1).Format(time.DateOnly)}}.Encode()
	}
	type outcome struct {
		Status string
		N      int64
	}
	var outcomes []outcome
	for _, st := range statusOrder {
		if n := in.ReceiptsByStatus[st]; n != 0 {
			outcomes = append(outcomes, outcome{st, n})
		}
	}
	d := s.pageData(c, per)
	d["KPIs"] = kpi.Compute(in)
	d["Outcomes"] = outcomes
	d["Total"] = kpi.TotalReceipts(in.ReceiptsByStatus)
	// Every day (week) of the period up to today, the quiet ones as zero.
	end := per.To
	if tomorrow := dayOf(s.o.Now()).AddDate(0, 0, 1); tomorrow.Before(end) {
		end = tomorrow
	}
	d["Chart"] = barChart(fillDays(series, per.From, end, grain), grain, link)
	d["Grain"] = grain
	return s.render(c, "overview", d)
}

var salesDims = []map[string]string{
	{"Key": report.BySKU, "Label": "SKU"}, {"Key": report.ByShop, "Label": "Магазины"},
	{"Key": report.ByChain, "Label": "Сети"}, {"Key": report.ByRegion, "Label": "Регионы"},
	{"Key": report.ByParticipant, "Label": "Участники"},
}

var dimHead = map[string]string{report.BySKU: "SKU", report.ByShop: "Магазин", report.ByChain: "Сеть",
	report.ByRegion: "Регион", report.ByParticipant: "Участник"}

// dimFilter is the receipts query parameter that drills down into a sales
// row of dimension by.
var dimFilter = map[string]string{report.BySKU: "sku", report.ByShop: "shop", report.ByChain: "chain",
	report.ByRegion: "region", report.ByParticipant: "participant"}

type salesLine struct {
	report.SalesRow
	Prev   report.SalesRow
	Change string
	Drill  string
}

const htmlRows = 300 // rows a table shows; exports have all

func (s *Server) salesData(c *fiber.Ctx, limit int) (string, period, []salesLine, error) {
	ctx, p, per := c.UserContext(), program(c), s.period(c)
	by := c.Query("by", report.BySKU)
	if _, ok := dimHead[by]; !ok {
		by = report.BySKU
	}
	cur, err := s.store.Sales(ctx, p, by, per.Period, limit)
	if err != nil {
		return by, per, nil, err
	}
	prevRows, err := s.store.Sales(ctx, p, by, per.Previous(), 0)
	if err != nil {
		return by, per, nil, err
	}
	prev := map[string]report.SalesRow{}
	for _, r := range prevRows {
		prev[r.Key] = r
	}
	base := fmt.Sprintf("%s/p/%d/receipts?", Prefix, p.ID)
	lines := make([]salesLine, len(cur))
	for i, r := range cur {
		lines[i] = salesLine{SalesRow: r, Prev: prev[r.Key], Change: change(r.SumKopecks, prev[r.Key].SumKopecks),
			Drill: base + url.Values{"status": {"sales"}, dimFilter[by]: {report.DrillValue(by, r.Key)}, "d_from": {per.From.Format(time.DateOnly)},
				"d_to": {per.To.AddDate(0, 0, -1).Format(time.DateOnly)}}.Encode()}
	}
	return by, per, lines, nil
}

func (s *Server) sales(c *fiber.Ctx) error {
	by, per, lines, err := s.salesData(c, htmlRows)
	if err != nil {
		return s.fail(c, err)
	}
	var tot, prevTot, units, n int64
	for _, l := range lines {
		tot += l.SumKopecks
		prevTot += l.Prev.SumKopecks
		units += l.UnitsMilli
		n += l.Receipts
	}
	d := s.pageData(c, per)
	d["By"], d["Dims"], d["DimHead"], d["Lines"] = by, salesDims, dimHead[by], lines
	d["Total"], d["PrevTotal"], d["Units"], d["N"], d["TotalChange"] = tot, prevTot, units, n, change(tot, prevTot)
	d["Prev"] = per.Previous()
	d["Truncated"] = len(lines) == htmlRows
	return s.render(c, "sales", d)
}

func (s *Server) salesExport(c *fiber.Ctx) error {
	by, per, lines, err := s.salesData(c, 0)
	if err != nil {
		return s.fail(c, err)
	}
	t := table{Name: fmt.Sprintf("sales-%s-%s-%s", by, per.FromMonth, per.ToMonth),
		Head: []string{"Ключ", dimHead[by], "Детали", "Чеков", "Единиц", "Продажи, ₽", "Баллы",
			"Продажи в прошлом периоде, ₽", "Изменение"}}
	for _, l := range lines {
		t.Rows = append(t.Rows, []any{l.Key, l.Label, l.Extra, l.Receipts, qty(l.UnitsMilli), money(l.SumKopecks),
			money(l.PointsKopecks), money(l.Prev.SumKopecks), changeCell(l.SumKopecks, l.Prev.SumKopecks)})
	}
	return sendTable(c, t, c.Query("format", "csv"))
}

// changeCell is the relative change from prev to cur as an export cell.
func changeCell(cur, prev int64) percent {
	bp, ok := kpi.Change(cur, prev)
	return percent{bp: bp, ok: ok, text: change(cur, prev)}
}

// receiptFilter reads the receipt search form; drill-down links use the
// same parameters.
func (s *Server) receiptFilter(c *fiber.Ctx) (report.ReceiptFilter, map[string]string) {
	per := s.period(c)
	f := report.ReceiptFilter{Status: c.Query("status"), Chain: c.Query("chain"), Region: c.Query("region"), Limit: 50}
	if _, ok := statusNames[f.Status]; !ok {
		f.Status = ""
	}
	// "none" (report.None) is the drill-down into the unknown shop and
	// the chain or region not specified; empty does not filter.
	f.NoChain, f.NoRegion = f.Chain == report.None, f.Region == report.None
	if f.NoChain {
		f.Chain = ""
	}
	if f.NoRegion {
		f.Region = ""
	}
	if f.NoShop = c.Query("shop") == report.None; !f.NoShop {
		f.ShopID, _ = strconv.ParseInt(c.Query("shop"), 10, 64)
	}
	f.ParticipantID, _ = strconv.ParseInt(c.Query("participant"), 10, 64)
	f.SKUID, _ = strconv.ParseInt(c.Query("sku"), 10, 64)
	f.From, f.To = per.From, per.To
	if t, err := time.Parse(time.DateOnly, c.Query("d_from")); err == nil {
		f.From = t
	}
	if t, err := time.Parse(time.DateOnly, c.Query("d_to")); err == nil {
		f.To = t.AddDate(0, 0, 1)
	}
	if at, err := time.Parse(time.RFC3339Nano, c.Query("before_at")); err == nil {
		f.BeforeAt, f.BeforeID = at, c.Query("before_id")
	}
	form := map[string]string{"status": f.Status, "shop": c.Query("shop"), "participant": c.Query("participant"),
		"sku": c.Query("sku"), "chain": c.Query("chain"), "region": c.Query("region"), "d_from": f.From.Format(time.DateOnly),
		"d_to": f.To.AddDate(0, 0, -1).Format(time.DateOnly)}
	return f, form
}

func (s *Server) receipts(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), program(c)
	f, form := s.receiptFilter(c)
	rows, err := s.store.Receipts(ctx, p, f)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Rows"], d["Form"] = rows, form
	d["Statuses"] = append([]string{"sales"}, statusOrder...)
	if len(rows) == f.Limit {
		last := rows[len(rows)-1]
		v := url.Values{}
		for k, val := range form {
			if val != "" {
				v.Set(k, val)
			}
		}
		v.Set("before_at", last.At.Format(time.RFC3339Nano))
		v.Set("before_id", last.ID)
		// template.URL: an encoded query string, so html/template keeps
		// its & and = (a plain string in a URL attribute is escaped as
		// one value, and the next page would lose every filter).
		d["Next"] = template.URL(v.Encode())
	}
	exp := url.Values{}
	for k, val := range form {
		if val != "" {
			exp.Set(k, val)
		}
	}
	d["ExportQuery"] = template.URL(exp.Encode())
	if f.ShopID != 0 || f.NoShop || f.ParticipantID != 0 || f.SKUID != 0 || f.Chain != "" || f.Region != "" || f.NoChain || f.NoRegion {
		d["Narrowed"] = true
	}
	skus, err := s.store.SKUs(ctx, p.ClientID)
	if err != nil {
		return s.fail(c, err)
	}
	d["SKUs"] = skus
	return s.render(c, "receipts", d)
}

const maxExportReceipts = 100000

func (s *Server) receiptsExport(c *fiber.Ctx) error {
	f, form := s.receiptFilter(c)
	f.Limit = 1000
	// The rows are read page by page while the file is written; the source
	// may run after the handler returns, so it captures what it needs of c.
	ctx, pid := c.UserContext(), program(c)
	loc := pid.Location
	head := []string{"ID", "Дата покупки (по чеку)", "Загружен (" + zoneName(loc) + ")", "Статус", "Код статуса", "Причина",
		"Код причины", "Сумма, ₽", "Баллы", "Продавец (по чеку)", "ИНН продавца", "Адрес расчётов", "Магазин участника",
		"Участник"}
	return streamTable(c, "receipts-"+form["d_from"]+"-"+form["d_to"], head, c.Query("format", "csv"),
		func(emit func([]any) error) error {
			for n := 0; n < maxExportReceipts; {
				rows, err := s.store.Receipts(ctx, pid, f)
				if err != nil {
					return err
				}
				for _, r := range rows {
					bought, uploaded := r.At.Format("02.01.2006 15:04"), ""
					if r.ByUpload {
						bought, uploaded = "", r.At.In(loc).Format("02.01.2006 15:04")
					}
					if err := emit([]any{r.ID, bought, uploaded, statusNames[r.Status], r.Status, receipt.Message(r.StatusReason),
						r.StatusReason, money(r.SumKopecks), money(r.PointsKopecks), r.SellerName, r.SellerINN, r.SellerAddress,
						r.ShopName, r.ParticipantName}); err != nil {
						return err
					}
				}
				n += len(rows)
				if len(rows) < f.Limit {
					return nil
				}
				f.BeforeAt, f.BeforeID = rows[len(rows)-1].At, rows[len(rows)-1].ID
			}
			return nil
		})
}

func (s *Server) receiptPage(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), program(c)
	id := c.Params("rid")
	h, err := s.store.ReceiptHeader(ctx, p, id)
	if err != nil {
		return s.fail(c, err)
	}
	r, err := s.o.Receipts.Get(ctx, id)
	if err != nil {
		return s.fail(c, err)
	}
	if !staff(c).CanSee(r.ClientID) {
		return s.fail(c, report.ErrNotFound)
	}
	d := s.pageData(c, s.period(c))
	d["R"], d["H"] = &r, h
	ev := evaluationOf(r)
	d["Lines"], d["Eval"] = receiptLines(r, ev), ev
	d["CanModerate"] = r.Status == "needs_review" && staff(c).CheckClient(r.ClientID, access.Moderator, access.ClientManager) == nil
	if s.o.Programs != nil && s.o.Programs.Outcomes != nil {
		if outs, err := s.o.Programs.Outcomes(ctx, r.ClientID, r.ID); err == nil && len(outs) > 1 {
			d["ByProgram"] = outs
		}
	}
	return s.render(c, "receipt", d)
}

func (s *Server) photo(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), program(c)
	id := c.Params("rid")
	if _, err := s.store.ReceiptHeader(ctx, p, id); err != nil {
		return s.fail(c, err)
	}
	r, err := s.o.Receipts.Get(ctx, id)
	if err != nil {
		return s.fail(c, err)
	}
	if r.PhotoKey == "" || s.o.Photos == nil {
		return s.errorPage(c, fiber.StatusNotFound, "Фото нет.")
	}
	rc, err := s.o.Photos.Open(ctx, r.PhotoKey)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Фото нет.")
	}
	ct := "image/jpeg"
	if len(r.PhotoKey) > 4 && r.PhotoKey[len(r.PhotoKey)-4:] == ".png" {
		ct = "image/png"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set("Cache-Control", "private, max-age=3600")
	// The body is read after the handler returns: the response owns rc
	// from here and closes it once sent (fasthttp closes an io.Closer body
	// stream), so it must not be closed here.
	return c.SendStream(rc)
}

func (s *Server) moderation(c *fiber.Ctx) error {
	rows, err := s.store.ReviewQueue(c.UserContext(), program(c), 200)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Rows"] = rows
	d["Flash"] = s.decisionFlash(c, c.Query("done"), c.Query("rid"))
	return s.render(c, "moderation", d)
}

// decisionFlash is the message after a moderator's decision on receipt
// rid: what actually became of the receipt, read back from the store (an
// approved receipt may still end rejected or without points once the
// rules are applied). Unknown values show nothing.
func (s *Server) decisionFlash(c *fiber.Ctx, done, rid string) string {
	if done != "approved" && done != "rejected" {
		return ""
	}
	if rid == "" {
		return ""
	}
	ctx, p := c.UserContext(), program(c)
	if _, err := s.store.ReceiptHeader(ctx, p, rid); err != nil {
		return ""
	}
	r, err := s.o.Receipts.Get(ctx, rid)
	if err != nil || !staff(c).CanSee(r.ClientID) {
		return ""
	}
	return decisionText(done, r)
}

// decisionText words the outcome of a moderator's decision on r.
func decisionText(done string, r receipt.Receipt) string {
	why := receipt.Message(r.StatusReason)
	for i := len(r.Events) - 1; i >= 0; i-- {
		if e := r.Events[i]; e.To == r.Status && e.Reason == r.StatusReason && e.Message != "" {
			why = e.Message
			break
		}
	}
	if done == "rejected" {
		return "Чек отклонён, участник получит уведомление с причиной."
	}
	switch r.Status {
	case receipt.Credited:
		if r.StatusReason == "points_pending" {
			return fmt.Sprintf("Чек подтверждён: начислено %s балл., доступны после закрытия периода. Участник получит уведомление.",
				kpi.Points(r.PointsKopecks))
		}
		return fmt.Sprintf("Чек подтверждён: начислено %s балл. Участник получит уведомление.", kpi.Points(r.PointsKopecks))
	case receipt.Matched:
		return "Чек подтверждён и сопоставлен с каталогом; баллы начислит обработка чека."
	case receipt.Queued:
		return "Чек подтверждён модератором и отправлен на повторную проверку в ФНС; если данных чека так и не будет, он будет отклонён."
	case receipt.NoEligibleItems:
		return "Решение принято, но баллов за чек нет: " + why + " Участник получит уведомление."
	case receipt.Rejected:
		return "Решение принято, но чек отклонён по правилам программы: " + why + " Участник получит уведомление."
	}
	return fmt.Sprintf("Решение принято; статус чека — «%s»: %s", statusNames[string(r.Status)], why)
}

func (s *Server) approve(c *fiber.Ctx) error {
	rid := c.Params("rid")
	if err := s.approver.Approve(c.UserContext(), staff(c), rid); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/moderation?%s", Prefix, program(c).ID,
		url.Values{"done": {"approved"}, "rid": {rid}}.Encode()), fiber.StatusSeeOther)
}

func (s *Server) reject(c *fiber.Ctx) error {
	rid := c.Params("rid")
	if err := s.approver.Reject(c.UserContext(), staff(c), rid, c.FormValue("reason")); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/moderation?%s", Prefix, program(c).ID,
		url.Values{"done": {"rejected"}, "rid": {rid}}.Encode()), fiber.StatusSeeOther)
}

func (s *Server) unmatched(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), program(c)
	rows, total, err := s.store.Unmatched(ctx, p, 200)
	if err != nil {
		return s.fail(c, err)
	}
	skus, err := s.store.SKUs(ctx, p.ClientID)
	if err != nil {
		return s.fail(c, err)
	}
	foreign, err := s.foreignLines(ctx, p.ClientID)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Rows"], d["SKUs"], d["Flash"] = rows, skus, c.Query("done")
	d["Total"], d["Foreign"] = total, foreign
	return s.render(c, "unmatched", d)
}

func (s *Server) confirmAlias(c *fiber.Ctx) error {
	p := program(c)
	if err := staff(c).CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	sku, _ := strconv.ParseInt(c.FormValue("sku"), 10, 64)
	if err := s.store.ConfirmAlias(c.UserContext(), p.ClientID, sku, c.FormValue("alias")); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/unmatched?done=1", Prefix, p.ID), fiber.StatusSeeOther)
}

const participantsPage = 50

// participantStatusNames are participants.status in Russian.
var participantStatusNames = map[string]string{"invited": "приглашён", "active": "активен", "blocked": "заблокирован"}

func (s *Server) participants(c *fiber.Ctx) error {
	per := s.period(c)
	page, _ := strconv.Atoi(c.Query("page"))
	if page < 0 || page > 10000 {
		page = 0
	}
	rows, err := s.store.Participants(c.UserContext(), program(c), per.Period, participantsPage, page*participantsPage)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, per)
	d["Rows"], d["PageNo"] = rows, page
	if page > 0 {
		d["PrevPage"] = strconv.Itoa(page - 1)
	}
	if len(rows) == participantsPage {
		d["NextPage"] = strconv.Itoa(page + 1)
	}
	return s.render(c, "participants", d)
}

func (s *Server) participantsExport(c *fiber.Ctx) error {
	per := s.period(c)
	rows, err := s.store.Participants(c.UserContext(), program(c), per.Period, 0, 0)
	if err != nil {
		return s.fail(c, err)
	}
	loc := program(c).Location
	t := table{Name: "participants-" + per.FromMonth + "-" + per.ToMonth,
		Head: []string{"ID", "Имя", "Роль", "Код роли", "Статус", "Код статуса", "Магазин",
			"Последняя активность (" + zoneName(loc) + ")", "Баланс", "В ожидании",
			"Загружено чеков", "Подтверждённых продаж", "Продажи SKU, ₽", "Баллы за чеки в периоде"}}
	for _, r := range rows {
		last := ""
		if r.LastActivity != nil {
			last = r.LastActivity.In(loc).Format("02.01.2006 15:04")
		}
		t.Rows = append(t.Rows, []any{r.ID, r.Name, roleNames[r.Role], r.Role, participantStatusNames[r.Status], r.Status,
			r.ShopName, last, money(r.BalanceKopecks),
			money(r.PendingKopecks), r.Uploads, r.Receipts, money(r.SumKopecks), money(r.PointsKopecks)})
	}
	return sendTable(c, t, c.Query("format", "csv"))
}

func (s *Server) participantPage(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.fail(c, report.ErrNotFound)
	}
	return s.showParticipant(c, id, "")
}

// showParticipant renders participant id's page; errMsg is the error of
// a people action to show by its forms.
func (s *Server) showParticipant(c *fiber.Ctx, id int64, errMsg string) error {
	ctx, p := c.UserContext(), program(c)
	row, err := s.store.Participant(ctx, p, id)
	if err != nil {
		return s.fail(c, err)
	}
	tl, err := s.store.Timeline(ctx, p, id, 100)
	if err != nil {
		return s.fail(c, err)
	}
	for i := range tl {
		if tl[i].Kind == "ledger" { // the transaction kind in Russian, with its memo
			tl[i].Text = ledger.Reason(tl[i].Status, tl[i].Text)
		}
	}
	d := s.pageData(c, s.period(c))
	d["P"], d["Timeline"] = row, tl
	if err := s.peopleData(c, d, id, errMsg); err != nil {
		return s.fail(c, err)
	}
	return s.render(c, "participant", d)
}

// matchReason is the Russian text of a line's match reason code (the one
// table in internal/receipt); a text that is not a known code (older data)
// is shown as it is.
func matchReason(code string) string { return receipt.MatchMessage(code) }

// pointsReason is the Russian text of a line's points reason code (the one
// table in internal/receipt). An unknown code is shown as it is.
func pointsReason(code string) string {
	if code == "" || !receipt.HasMessage(code) {
		return code
	}
	return receipt.Message(code)
}

// lineView is one item of the receipt page with its reasons in Russian.
type lineView struct {
	receipt.Item
	MatchText  string
	PointsText string
	Promo      string
	RawKopecks int64 // points before caps, when the evaluation is known
	HasRaw     bool
}

// evalView is the rules evaluation stored with the receipt's latest
// evaluating event: the rule version, the receipt bonus and the caps that
// bit.
type evalView struct {
	RuleVersion int
	Proposed    int64 // points proposed when the receipt went to review
	Bonus       *rules.BonusResult
	BonusText   string
	Caps        []capView
	Reason      string // receipt-level reason, in Russian
	lines       map[int]rules.LineResult
}

type capView struct {
	rules.CapHit
	Text string
}

// evaluationOf decodes the "evaluation" of the last event that carries one
// (points.Service stores it with rule_version on every evaluation).
func evaluationOf(r receipt.Receipt) *evalView {
	for i := len(r.Events) - 1; i >= 0; i-- {
		raw, ok := r.Events[i].Data["evaluation"]
		if !ok {
			continue
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return nil
		}
		var res rules.Result
		if json.Unmarshal(b, &res) != nil {
			return nil
		}
		v := &evalView{Bonus: res.Bonus, lines: map[int]rules.LineResult{}}
		if n, ok := r.Events[i].Data["rule_version"].(float64); ok {
			v.RuleVersion = int(n)
		} else if n, ok := r.Events[i].Data["rule_version"].(int); ok {
			v.RuleVersion = n
		}
		if n, ok := r.Events[i].Data["proposed_kopecks"].(float64); ok {
			v.Proposed = int64(n)
		}
		if !res.Eligible && res.Reason != "" {
			v.Reason = pointsReason(res.Reason)
		}
		if res.Bonus != nil {
			v.BonusText = pointsReason(res.Bonus.Reason)
		}
		for _, c := range res.Caps {
			v.Caps = append(v.Caps, capView{c, pointsReason(c.Cap)})
		}
		for _, l := range res.Lines {
			v.lines[l.LineNo] = l
		}
		return v
	}
	return nil
}

// receiptLines are r's items with their match and points reasons in
// Russian, and each line's points before caps from the evaluation.
func receiptLines(r receipt.Receipt, ev *evalView) []lineView {
	out := make([]lineView, len(r.Items))
	for i, it := range r.Items {
		out[i] = lineView{Item: it, MatchText: matchReason(it.MatchReason), PointsText: pointsReason(it.PointsReason)}
		if ev == nil {
			continue
		}
		if l, ok := ev.lines[it.LineNo]; ok {
			out[i].Promo = l.Promo
			if l.RawKopecks != it.PointsKopecks {
				out[i].RawKopecks, out[i].HasRaw = l.RawKopecks, true
			}
		}
	}
	return out
}
