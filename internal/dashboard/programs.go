package dashboard

// The program pages: the client's programs and a create form; one program
// with its lifecycle buttons, clone form, rules versions, the rules editor
// (in Russian terms) and the dry run. They are client-level pages (outside
// /p/:pid), since a client's first program is created here.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	amount "github.com/loyaltyjam/loyaltyjam/internal/money"
	pgm "github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Programs backs the program pages (nil in Options: they answer 404).
type Programs struct {
	Service *pgm.Service
	// Receipts finds dry-run receipts (programdb.Store).
	Receipts pgm.Receipts
	// Matcher matches dry-run lines (points.Service).
	Matcher pgm.Matcher
	// Outcomes lists a receipt's outcome per program (programdb.Store);
	// the receipt page shows them.
	Outcomes func(ctx context.Context, clientID int64, receiptID string) ([]pgm.Outcome, error)
}

func init() { extraPages = append(extraPages, "programs", "program") }

var errNoPrograms = apperr.New(apperr.NotFound, "programs_not_configured", "Управление программами не подключено.")

// maxFormBody bounds a program, rules or dry-run form.
const maxFormBody = 1 << 20

func (s *Server) registerPrograms(a fiber.Router) {
	g := a.Group("/programs", s.checkCSRF)
	g.Get("/", s.programsPage)
	g.Post("/", s.createProgramForm)
	g.Get("/:id", s.programPage)
	g.Post("/:id/status", s.programStatusForm)
	g.Post("/:id/clone", s.cloneProgramForm)
	g.Post("/:id/rules", s.rulesForm)
	g.Post("/:id/dry-run", s.dryRunForm)
}

func (s *Server) progActor(c *fiber.Ctx) pgm.Actor {
	st := staff(c)
	return pgm.Actor{Staff: st, Audit: audit.StaffActor(st.UserID, session(c).User.Name, c.IP())}
}

// clientParam is the client the list is for: the staff member's own, or
// ?client_id= / the form's client_id for operators.
func clientParam(c *fiber.Ctx) int64 {
	st := staff(c)
	if st.ClientID != 0 {
		return st.ClientID
	}
	id, _ := strconv.ParseInt(c.Query("client_id", c.FormValue("client_id")), 10, 64)
	return id
}

type programForm struct {
	pgm.Program
	StartsOn, EndsOn, Shops, Chains, Regions string
	Error                                    string
}

func (f programForm) Has(m string) bool { return f.Program.Has(m) }

func (f programForm) Role(r string) bool {
	for _, x := range f.Eligibility.Roles {
		if x == r {
			return true
		}
	}
	return false
}

func (s *Server) programsPage(c *fiber.Ctx) error {
	return s.showPrograms(c, fiber.StatusOK, programForm{Program: pgm.Program{Mechanics: []string{pgm.MechReceipts},
		TimeZone: "Europe/Moscow", Crediting: pgm.Immediate, MaxAgeDays: 30}})
}

func (s *Server) showPrograms(c *fiber.Ctx, status int, f programForm) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	clientID := clientParam(c)
	var list []pgm.Program
	if clientID != 0 {
		var err error
		if list, err = s.o.Programs.Service.List(c.UserContext(), staff(c), clientID); err != nil {
			return s.fail(c, err)
		}
	}
	d := map[string]any{"List": list, "F": f, "ClientID": clientID, "Operator": staff(c).Role == access.Operator,
		"CanEdit": clientID != 0 && staff(c).CheckClient(clientID, access.ClientManager) == nil,
		"Roles":   []string{"seller", "sales_rep", "merchandiser", "dealer", "manager"}}
	c.Status(status)
	return s.render(c, "programs", d)
}

func parseFormDate(v string) time.Time {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

// readProgramForm reads the create form; a field it cannot read becomes
// the form's error.
func readProgramForm(c *fiber.Ctx) (programForm, string) {
	f := programForm{StartsOn: c.FormValue("starts_on"), EndsOn: c.FormValue("ends_on"), Shops: c.FormValue("elig_shops"),
		Chains: c.FormValue("elig_chains"), Regions: c.FormValue("elig_regions")}
	p := &f.Program
	p.ClientID = clientParam(c)
	p.Code, p.Name = c.FormValue("code"), c.FormValue("name")
	p.TimeZone, p.Crediting = c.FormValue("time_zone"), c.FormValue("crediting")
	p.MaxAgeDays, _ = strconv.Atoi(c.FormValue("max_age_days", "30"))
	p.Texts = pgm.Texts{Description: c.FormValue("description"), Rules: c.FormValue("rules_text"), HowToJoin: c.FormValue("how_to_join")}
	args := c.Request().PostArgs()
	for _, m := range args.PeekMulti("mechanics") {
		p.Mechanics = append(p.Mechanics, string(m))
	}
	for _, r := range args.PeekMulti("elig_roles") {
		p.Eligibility.Roles = append(p.Eligibility.Roles, string(r))
	}
	p.Eligibility.Chains, p.Eligibility.Regions = splitList(f.Chains), splitList(f.Regions)
	for _, v := range splitList(f.Shops) {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return f, "Магазины — номера через запятую."
		}
		p.Eligibility.ShopIDs = append(p.Eligibility.ShopIDs, id)
	}
	p.StartsOn, p.EndsOn = parseFormDate(f.StartsOn), parseFormDate(f.EndsOn)
	return f, ""
}

func (s *Server) createProgramForm(c *fiber.Ctx) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	if len(c.Body()) > maxFormBody {
		return s.errorPage(c, fiber.StatusRequestEntityTooLarge, "Форма слишком большая.")
	}
	f, msg := readProgramForm(c)
	if msg == "" {
		out, err := s.o.Programs.Service.Create(c.UserContext(), s.progActor(c), f.Program)
		if err == nil {
			return c.Redirect(fmt.Sprintf("%s/programs/%d", Prefix, out.ID), fiber.StatusSeeOther)
		}
		e, ok := apperr.As(err)
		if !ok || (e.Kind != apperr.Invalid && e.Kind != apperr.Conflict) {
			return s.fail(c, err)
		}
		msg = e.Message
	}
	f.Error = msg
	return s.showPrograms(c, fiber.StatusUnprocessableEntity, f)
}

// rulesRow is one row of the rules editor, in the editor's terms.
type rulesRow struct {
	Kind, Value, SKUs, Categories, Brands string // earn: kind per_unit | percent
	Name, Min, From, To                   string // bonus, promo
}

// rulesEdit is the rules editor's state.
type rulesEdit struct {
	EffectiveFrom                                      string
	Earn, Bonuses, Promos                              []rulesRow
	CapReceipt, CapDay, CapWeek, CapPeriod, CapShopDay string
	Roles                                              map[string]bool
	SellerCheck                                        string
	Problems                                           []string
}

const (
	editorEarnRows  = 5
	editorBonusRows = 3
	editorPromoRows = 3
)

// pts writes hundredths as the editor shows them: 5000 → "50", 250 → "2.5".
func pts(k int64) string {
	if k == 0 {
		return ""
	}
	v := amount.Machine.Format(amount.Kopecks(k))
	if strings.Contains(v, ".") {
		v = strings.TrimSuffix(strings.TrimRight(v, "0"), ".")
	}
	return v
}

// editorOf fills the editor from r.
func editorOf(r rules.Rules, from string) rulesEdit {
	e := rulesEdit{EffectiveFrom: from, Roles: map[string]bool{}, SellerCheck: r.SellerCheck,
		CapReceipt: pts(r.Caps.PerReceipt), CapDay: pts(r.Caps.ParticipantDay), CapWeek: pts(r.Caps.ParticipantWeek),
		CapPeriod: pts(r.Caps.ParticipantPeriod), CapShopDay: pts(r.Caps.ShopDay)}
	join := func(l []string) string { return strings.Join(l, ", ") }
	for _, x := range r.Earn {
		row := rulesRow{SKUs: join(x.SKUs), Categories: join(x.Categories), Brands: join(x.Brands)}
		if x.PercentBP > 0 {
			row.Kind, row.Value = "percent", pts(x.PercentBP)
		} else {
			row.Kind, row.Value = "per_unit", pts(x.FixedPerUnitKopecks)
		}
		e.Earn = append(e.Earn, row)
	}
	for _, b := range r.Bonuses {
		e.Bonuses = append(e.Bonuses, rulesRow{Name: b.Name, Min: strconv.Itoa(b.MinDistinctSKUs), Value: pts(b.Kopecks)})
	}
	for _, p := range r.Promos {
		e.Promos = append(e.Promos, rulesRow{Name: p.Name, From: p.From.Format(time.DateOnly), To: p.To.Format(time.DateOnly),
			Value: pts(p.MultiplierBP / 100), SKUs: join(p.SKUs), Categories: join(p.Categories), Brands: join(p.Brands)})
	}
	for _, role := range r.Roles {
		e.Roles[role] = true
	}
	for len(e.Earn) < editorEarnRows {
		e.Earn = append(e.Earn, rulesRow{Kind: "percent"})
	}
	for len(e.Bonuses) < editorBonusRows {
		e.Bonuses = append(e.Bonuses, rulesRow{})
	}
	for len(e.Promos) < editorPromoRows {
		e.Promos = append(e.Promos, rulesRow{})
	}
	return e
}

// readRules reads the editor's form into rules; what it cannot read goes
// to the problems, in Russian.
func readRules(c *fiber.Ctx) (rules.Rules, rulesEdit) {
	var r rules.Rules
	e := rulesEdit{EffectiveFrom: c.FormValue("effective_from"), Roles: map[string]bool{}, SellerCheck: c.FormValue("seller_check")}
	amount := func(what, v string, scale int64) int64 {
		v = strings.TrimSpace(v)
		if v == "" {
			return 0
		}
		k, err := amount.Parse(v)
		if err != nil || k < 0 {
			e.Problems = append(e.Problems, what+": «"+clipForm(v)+"» — не число (например 50 или 2,5).")
			return 0
		}
		return int64(k) * scale
	}
	for i := range editorEarnRows {
		n := strconv.Itoa(i)
		row := rulesRow{Kind: c.FormValue("earn_kind_" + n), Value: c.FormValue("earn_value_" + n), SKUs: c.FormValue("earn_skus_" + n),
			Categories: c.FormValue("earn_categories_" + n), Brands: c.FormValue("earn_brands_" + n)}
		e.Earn = append(e.Earn, row)
		if strings.TrimSpace(row.Value) == "" {
			continue
		}
		x := rules.Earn{Selector: rules.Selector{SKUs: splitList(row.SKUs), Categories: splitList(row.Categories), Brands: splitList(row.Brands)}}
		what := fmt.Sprintf("Правило начисления %d", i+1)
		if row.Kind == "per_unit" {
			x.FixedPerUnitKopecks = amount(what, row.Value, 1)
		} else {
			x.PercentBP = amount(what, row.Value, 1)
		}
		r.Earn = append(r.Earn, x)
	}
	for i := range editorBonusRows {
		n := strconv.Itoa(i)
		row := rulesRow{Name: c.FormValue("bonus_name_" + n), Min: c.FormValue("bonus_min_" + n), Value: c.FormValue("bonus_points_" + n)}
		e.Bonuses = append(e.Bonuses, row)
		if strings.TrimSpace(row.Name+row.Min+row.Value) == "" {
			continue
		}
		min, _ := strconv.Atoi(strings.TrimSpace(row.Min))
		r.Bonuses = append(r.Bonuses, rules.Bonus{Name: strings.TrimSpace(row.Name), MinDistinctSKUs: min,
			Kopecks: amount(fmt.Sprintf("Бонус за чек %d", i+1), row.Value, 1)})
	}
	for i := range editorPromoRows {
		n := strconv.Itoa(i)
		row := rulesRow{Name: c.FormValue("promo_name_" + n), From: c.FormValue("promo_from_" + n), To: c.FormValue("promo_to_" + n),
			Value: c.FormValue("promo_mult_" + n), SKUs: c.FormValue("promo_skus_" + n), Categories: c.FormValue("promo_categories_" + n),
			Brands: c.FormValue("promo_brands_" + n)}
		e.Promos = append(e.Promos, row)
		if strings.TrimSpace(row.Name+row.From+row.To+row.Value) == "" {
			continue
		}
		r.Promos = append(r.Promos, rules.Promo{Name: strings.TrimSpace(row.Name), From: rules.Date{Time: parseFormDate(row.From)},
			To: rules.Date{Time: parseFormDate(row.To)}, MultiplierBP: amount(fmt.Sprintf("Акция %d", i+1), row.Value, 100),
			Selector: rules.Selector{SKUs: splitList(row.SKUs), Categories: splitList(row.Categories), Brands: splitList(row.Brands)}})
	}
	e.CapReceipt, e.CapDay, e.CapWeek = c.FormValue("cap_receipt"), c.FormValue("cap_day"), c.FormValue("cap_week")
	e.CapPeriod, e.CapShopDay = c.FormValue("cap_period"), c.FormValue("cap_shop_day")
	r.Caps = rules.Caps{PerReceipt: amount("Лимит за чек", e.CapReceipt, 1), ParticipantDay: amount("Лимит в день", e.CapDay, 1),
		ParticipantWeek: amount("Лимит в неделю", e.CapWeek, 1), ParticipantPeriod: amount("Лимит за период", e.CapPeriod, 1),
		ShopDay: amount("Лимит магазину в день", e.CapShopDay, 1)}
	for _, role := range c.Request().PostArgs().PeekMulti("roles") {
		r.Roles = append(r.Roles, string(role))
		e.Roles[string(role)] = true
	}
	if e.SellerCheck != "shop" {
		r.SellerCheck = e.SellerCheck
	}
	if len(e.Problems) == 0 {
		e.Problems = pgm.RulesProblems(r)
	}
	return r, e
}

func clipForm(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

type dryForm struct {
	QR, ReceiptID, Lines, PurchasedAt string
	Error                             string
	Result                            *pgm.DryRun
}

// programPageData is what the program page shows besides a form's state.
func (s *Server) programPage(c *fiber.Ctx) error {
	return s.showProgram(c, fiber.StatusOK, nil, nil, "")
}

func (s *Server) showProgram(c *fiber.Ctx, status int, edit *rulesEdit, dry *dryForm, flash string) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	p, versions, err := s.o.Programs.Service.Rules(c.UserContext(), staff(c), id)
	if err != nil {
		return s.fail(c, err)
	}
	type version struct {
		pgm.RuleVersion
		Description rules.Description
		From        string
	}
	vs := make([]version, len(versions))
	for i, v := range versions {
		vs[len(versions)-1-i] = version{RuleVersion: v, Description: rules.Describe(v.Rules), From: v.EffectiveFrom.Format(time.DateOnly)}
	}
	if edit == nil {
		from := s.o.Now().Format(time.DateOnly)
		if p.Status == pgm.Draft || p.Status == pgm.Test {
			from = p.StartsOn.Format(time.DateOnly)
		}
		var latest rules.Rules
		if len(versions) > 0 {
			latest = versions[len(versions)-1].Rules
		}
		e := editorOf(latest, from)
		edit = &e
	}
	if dry == nil {
		dry = &dryForm{PurchasedAt: s.o.Now().Format(time.DateOnly)}
	}
	names := map[pgm.Status]string{}
	for _, st := range []pgm.Status{pgm.Draft, pgm.Test, pgm.Live, pgm.Closed} {
		names[st] = pgm.StatusName(st)
	}
	d := map[string]any{"P": p, "Versions": vs, "Edit": edit, "Dry": dry, "Flash": flash, "Next": pgm.Next(p.Status),
		"StatusNames": names, "CanEdit": staff(c).CheckClient(p.ClientID, access.ClientManager) == nil,
		"Roles": []string{"seller", "sales_rep", "merchandiser", "dealer", "manager"}}
	c.Status(status)
	return s.render(c, "program", d)
}

func (s *Server) formError(c *fiber.Ctx, err error) (string, bool) {
	e, ok := apperr.As(err)
	if !ok || (e.Kind != apperr.Invalid && e.Kind != apperr.Conflict) {
		return "", false
	}
	return e.Message, true
}

func (s *Server) programStatusForm(c *fiber.Ctx) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	to, err := pgm.ParseStatus(c.FormValue("status"))
	if err == nil {
		_, err = s.o.Programs.Service.Move(c.UserContext(), s.progActor(c), id, to, clipReason(c.FormValue("reason")))
	}
	if err != nil {
		if msg, ok := s.formError(c, err); ok {
			return s.showProgram(c, fiber.StatusConflict, nil, nil, msg)
		}
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/programs/%d", Prefix, id), fiber.StatusSeeOther)
}

func clipReason(s string) string {
	if r := []rune(s); len(r) > audit.MaxReasonRunes {
		return string(r[:audit.MaxReasonRunes])
	}
	return s
}

func (s *Server) cloneProgramForm(c *fiber.Ctx) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	out, err := s.o.Programs.Service.Clone(c.UserContext(), s.progActor(c), id, c.FormValue("code"), c.FormValue("name"),
		parseFormDate(c.FormValue("starts_on")), parseFormDate(c.FormValue("ends_on")))
	if err != nil {
		if msg, ok := s.formError(c, err); ok {
			return s.showProgram(c, fiber.StatusUnprocessableEntity, nil, nil, msg)
		}
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/programs/%d", Prefix, out.ID), fiber.StatusSeeOther)
}

func (s *Server) rulesForm(c *fiber.Ctx) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	if len(c.Body()) > maxFormBody {
		return s.errorPage(c, fiber.StatusRequestEntityTooLarge, "Форма слишком большая.")
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	r, edit := readRules(c)
	if len(edit.Problems) > 0 {
		return s.showProgram(c, fiber.StatusUnprocessableEntity, &edit, nil, "")
	}
	from := parseFormDate(edit.EffectiveFrom)
	if from.IsZero() {
		edit.Problems = []string{"Укажите дату, с которой действует версия (ГГГГ-ММ-ДД)."}
		return s.showProgram(c, fiber.StatusUnprocessableEntity, &edit, nil, "")
	}
	v, err := s.o.Programs.Service.SaveRules(c.UserContext(), s.progActor(c), id, from, r)
	if err != nil {
		if msg, ok := s.formError(c, err); ok {
			edit.Problems = append(pgm.Problems(err), msg)
			return s.showProgram(c, fiber.StatusUnprocessableEntity, &edit, nil, "")
		}
		return s.fail(c, err)
	}
	return s.showProgram(c, fiber.StatusOK, nil, nil, fmt.Sprintf("Сохранена версия %d правил, действует с %s.", v.Version,
		v.EffectiveFrom.Format("02.01.2006")))
}

// parseLines reads typed receipt lines, one a line: «название; количество;
// сумма в рублях».
func parseLines(text string) ([]receipt.Item, string) {
	var items []receipt.Item
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(items) >= pgm.MaxDryLines {
			return nil, "Слишком много строк: не больше 500."
		}
		parts := strings.Split(line, ";")
		if len(parts) != 3 {
			return nil, fmt.Sprintf("Строка %d: нужно «название; количество; сумма».", n+1)
		}
		qty, err1 := amount.Parse(strings.TrimSpace(parts[1]))
		sum, err2 := amount.Parse(strings.TrimSpace(parts[2]))
		if err1 != nil || err2 != nil || qty < 0 || sum < 0 {
			return nil, fmt.Sprintf("Строка %d: количество и сумма — числа (например 2 и 900,50).", n+1)
		}
		items = append(items, receipt.Item{Name: strings.TrimSpace(parts[0]), QuantityMilli: int64(qty) * 10, SumKopecks: int64(sum)})
	}
	return items, ""
}

func (s *Server) dryRunForm(c *fiber.Ctx) error {
	if s.o.Programs == nil {
		return s.fail(c, errNoPrograms)
	}
	if len(c.Body()) > maxFormBody {
		return s.errorPage(c, fiber.StatusRequestEntityTooLarge, "Форма слишком большая.")
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	f := dryForm{QR: strings.TrimSpace(c.FormValue("qr")), ReceiptID: strings.TrimSpace(c.FormValue("receipt_id")),
		Lines: c.FormValue("lines"), PurchasedAt: c.FormValue("purchased_at")}
	in := pgm.DryInput{QR: f.QR, ReceiptID: f.ReceiptID}
	if len(f.QR) > 1000 || len(f.ReceiptID) > 64 {
		f.Error = "Слишком длинный QR-код или номер чека."
	} else if f.QR == "" && f.ReceiptID == "" {
		items, msg := parseLines(f.Lines)
		in.Items, in.PurchasedAt, f.Error = items, parseFormDate(f.PurchasedAt), msg
	}
	if f.Error == "" {
		res, err := s.o.Programs.Service.Dry(c.UserContext(), staff(c), id, in, s.o.Programs.Receipts, s.o.Programs.Matcher)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Kind == apperr.Internal || e.Kind == apperr.Unavailable || (e.Kind == apperr.NotFound && e.Code == "program_not_found") {
				return s.fail(c, err)
			}
			f.Error = e.Message
		} else {
			f.Result = &res
		}
	}
	status := fiber.StatusOK
	if f.Error != "" {
		status = fiber.StatusUnprocessableEntity
	}
	return s.showProgram(c, status, nil, &f, "")
}
