package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	programrules "github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// spendNames name what the budget paid for, by ledger transaction kind.
var spendNames = map[string]string{
	ledger.KindReceiptCredit:  "чеки",
	ledger.KindTaskReward:     "задания",
	ledger.KindRegistryCredit: "реестры",
	ledger.KindRegistryDebit:  "корректировки реестров",
	ledger.KindReversal:       "возвраты по чекам",
}

func (s *Server) settings(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), program(c)
	skus, err := s.store.SKUs(ctx, p.ClientID)
	if err != nil {
		return s.fail(c, err)
	}
	rules, err := s.store.Rules(ctx, p)
	if err != nil {
		return s.fail(c, err)
	}
	type ruleView struct {
		Version       int
		EffectiveFrom time.Time
		Pretty        string // the stored JSON, for the curious
		Desc          *programrules.Description
	}
	var rv []ruleView
	for _, r := range rules {
		var buf bytes.Buffer
		if json.Indent(&buf, r.Body, "", "  ") != nil {
			buf.Reset()
			buf.Write(r.Body)
		}
		v := ruleView{Version: r.Version, EffectiveFrom: r.EffectiveFrom, Pretty: buf.String()}
		if parsed, err := programrules.Parse(r.Body); err == nil {
			desc := programrules.Describe(parsed)
			v.Desc = &desc
		}
		rv = append(rv, v)
	}
	today := s.o.Now()
	b, err := s.store.Budget(ctx, p, today)
	if err != nil {
		return s.fail(c, err)
	}
	burn := b.BurnPerDay()
	forecast := kpi.BudgetForecast(today, p.EndsOn, b.BalanceKopecks, burn)
	type kindSpend struct {
		Label  string
		Amount int64
	}
	var byKind []kindSpend
	for _, k := range []string{ledger.KindReceiptCredit, ledger.KindTaskReward, ledger.KindRegistryCredit,
		ledger.KindRegistryDebit, ledger.KindReversal} {
		if n := b.Last30ByKind[k]; n != 0 {
			byKind = append(byKind, kindSpend{spendNames[k], n})
		}
	}
	for k, n := range b.Last30ByKind {
		if _, ok := spendNames[k]; !ok && n != 0 {
			byKind = append(byKind, kindSpend{ledger.Reason(k, ""), n})
		}
	}
	var maxMonth int64 = 1
	for _, m := range b.Monthly {
		if m.SpentKopecks > maxMonth {
			maxMonth = m.SpentKopecks
		}
	}
	type bar struct {
		Label       string
		Value       string
		WidthPct    int64
		ValueKopeck int64
	}
	var bars []bar
	for _, m := range b.Monthly {
		bars = append(bars, bar{monthLabel(m.Start), kpi.Points(m.SpentKopecks), max(m.SpentKopecks*100/maxMonth, 0), m.SpentKopecks})
	}
	d := s.pageData(c, s.period(c))
	d["SKUs"], d["Rules"], d["B"], d["Burn"], d["Remaining"] = skus, rv, b, burn, b.BalanceKopecks
	d["ByKind"] = byKind
	d["Forecast"], d["Bars"], d["Flash"] = forecast, bars, c.Query("done")
	d["UsedPct"] = kpi.Percent(kpi.Ratio(b.SpentKopecks, b.FundedKopecks))
	d["CanEdit"] = staff(c).CheckClient(p.ClientID, access.ClientManager) == nil
	d["BurnDef"], d["ForecastDef"] = kpi.BurnRate, kpi.Forecast
	return s.render(c, "settings", d)
}

func (s *Server) setWeight(c *fiber.Ctx) error {
	p := program(c)
	if err := staff(c).CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	sku, err := strconv.ParseInt(c.Params("sid"), 10, 64)
	if err != nil {
		return s.fail(c, apperr.New(apperr.NotFound, "not_found", "Не найдено."))
	}
	bp, err := catalog.ParseMarginWeight(strings.ReplaceAll(strings.TrimSpace(c.FormValue("weight")), ",", "."))
	if err != nil {
		return s.fail(c, apperr.New(apperr.Invalid, "bad_margin_weight", "Вес маржинальности — число от 0,01 до 10, например 1,25."))
	}
	if err := s.store.SetMarginWeight(c.UserContext(), p.ClientID, sku, bp); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/settings?done=weight", Prefix, p.ID), fiber.StatusSeeOther)
}

func (s *Server) skusExport(c *fiber.Ctx) error {
	p := program(c)
	skus, err := s.store.SKUs(c.UserContext(), p.ClientID)
	if err != nil {
		return s.fail(c, err)
	}
	list := make([]catalog.SKU, len(skus))
	for i, k := range skus {
		list[i] = k.SKU
	}
	var buf bytes.Buffer
	format := c.Query("format", "csv")
	switch format {
	case "csv":
		err = catalog.WriteExcelCSV(&buf, list) // the import reads it back as it is
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	case "xlsx":
		err = catalog.WriteXLSX(&buf, list)
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	default:
		return s.errorPage(c, fiber.StatusBadRequest, "Формат — csv или xlsx.")
	}
	if err != nil {
		return s.fail(c, err)
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="catalog-%d.%s"`, p.ClientID, format))
	return c.Send(buf.Bytes())
}

const maxImportBytes = 10 << 20

func (s *Server) skusImport(c *fiber.Ctx) error {
	p := program(c)
	if err := staff(c).CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return s.errorPage(c, fiber.StatusBadRequest, "Выберите файл каталога (CSV или XLSX).")
	}
	if fh.Size > maxImportBytes {
		return s.errorPage(c, fiber.StatusRequestEntityTooLarge, "Файл больше 10 МБ.")
	}
	f, err := fh.Open()
	if err != nil {
		return s.fail(c, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes))
	if err != nil {
		return s.fail(c, err)
	}
	var skus []catalog.SKU
	var rowErrs []catalog.RowError
	if strings.HasSuffix(strings.ToLower(fh.Filename), ".xlsx") {
		skus, rowErrs, err = catalog.ParseXLSX(bytes.NewReader(data))
	} else {
		skus, rowErrs, err = catalog.ParseCSV(bytes.NewReader(data))
	}
	if e, ok := apperr.As(err); ok {
		// Over a reader's bound (a decompression bomb, a huge file): the
		// message says which, the code names it for support.
		status := fiber.StatusUnprocessableEntity
		if e.Kind == apperr.TooLarge {
			status = fiber.StatusRequestEntityTooLarge
		}
		return s.errorPage(c, status, fmt.Sprintf("Файл не принят: %s (код %s)", e.Message, e.Code))
	}
	if err != nil {
		msg := "Файл не принят: " + err.Error()
		for i, re := range rowErrs {
			if i == 10 {
				msg += fmt.Sprintf("; и ещё %d", len(rowErrs)-10)
				break
			}
			msg += "; " + re.Error()
		}
		return s.errorPage(c, fiber.StatusBadRequest, msg)
	}
	clientCode := p.ClientCode
	for _, k := range skus {
		if k.Client != "" && k.Client != clientCode {
			return s.errorPage(c, fiber.StatusBadRequest, fmt.Sprintf("SKU %s принадлежит другому клиенту (%s).", k.ID, k.Client))
		}
	}
	n, err := s.store.ImportSKUs(c.UserContext(), p.ClientID, skus)
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/settings?done=import-%d", Prefix, p.ID, n), fiber.StatusSeeOther)
}
