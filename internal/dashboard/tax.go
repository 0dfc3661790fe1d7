package dashboard

// The tax page (docs/tax.md): a program's tax settings, the tax agent's
// monthly runs and their payment registries, each participant's year to
// date (masked), the participants over the exemption without a complete
// profile, and the exports (annual statements, 6-НДФЛ data). For tax
// officers of the program's client and for operators, who may also pick
// the platform as agent.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// TaxStore backs the tax page (*taxdb.Store).
type TaxStore interface {
	Settings(ctx context.Context, clientID, programID int64) (taxdb.Settings, error)
	SaveSettings(ctx context.Context, set taxdb.Settings, actor audit.Actor) error
	Runs(ctx context.Context, who access.Staff, sc taxdb.Scope) ([]taxdb.Run, error)
	RunReport(ctx context.Context, who access.Staff, id int64) (taxdb.Run, error)
	CloseMonth(ctx context.Context, sc taxdb.Scope, year int, month time.Month, actor audit.Actor) (int64, error)
	YearToDate(ctx context.Context, who access.Staff, sc taxdb.Scope, year int, onlyMissing bool) ([]taxdb.YearLine, error)
	Statements(ctx context.Context, who access.Staff, actor audit.Actor, sc taxdb.Scope, year int) ([]taxdb.Statement, error)
	SixNDFL(ctx context.Context, who access.Staff, sc taxdb.Scope, year, q int) (taxdb.Table, error)
	StaffFullProfile(ctx context.Context, who access.Staff, actor audit.Actor, participantID int64, reason string) (taxdb.StaffView, error)
	StaffProfile(ctx context.Context, who access.Staff, participantID int64) (taxdb.StaffView, error)
	Grant(ctx context.Context, c taxdb.Consent, actor audit.Actor) (taxdb.Consent, error)
	ImportProfiles(ctx context.Context, clientID int64, rows []tax.ProfileRow, actor audit.Actor) (int, []tax.RowError, error)
	AllRuns(ctx context.Context, who access.Staff, limit int) ([]taxdb.Run, error)
	Rules() tax.RuleSet
}

var errNoTax = apperr.New(apperr.NotFound, "tax_not_configured", "Налоговый модуль не подключён.")

func (s *Server) registerTax(p fiber.Router) {
	p.Get("/tax", s.taxPage)
	p.Post("/tax/settings", s.saveTaxSettings)
	p.Post("/tax/runs", s.closeTaxMonth)
	p.Get("/tax/runs/:rid/registry", s.taxRegistry)
	p.Get("/tax/statements", s.taxStatements)
	p.Get("/tax/6ndfl", s.taxSixNDFL)
	p.Get("/tax/not-withheld", s.taxNotWithheld)
	p.Get("/tax/people/:id", s.taxPerson)
	p.Post("/tax/people/:id/reveal", s.taxPersonReveal)
	p.Post("/tax/employer-consents", s.employerConsent)
	p.Post("/tax/profiles", s.importProfiles)
}

// maxProfileFile bounds an uploaded registry of legal data.
const maxProfileFile = 16 << 20

// importProfiles saves the legal data of a registry file (CSV or XLSX):
// every row valid and every phone a participant of the client, or nothing
// is saved and the errors are listed by line and column (never values).
func (s *Server) importProfiles(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	p := program(c)
	fh, err := c.FormFile("file")
	if err != nil {
		return s.showTax(c, fiber.StatusUnprocessableEntity, "Выберите файл (CSV или XLSX).")
	}
	if fh.Size > maxProfileFile {
		return s.showTax(c, fiber.StatusRequestEntityTooLarge, "Файл больше 16 МБ.")
	}
	f, err := fh.Open()
	if err != nil {
		return s.showTax(c, fiber.StatusUnprocessableEntity, "Файл не прочитался, загрузите его ещё раз.")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxProfileFile+1))
	f.Close()
	if err != nil || len(data) > maxProfileFile {
		return s.showTax(c, fiber.StatusUnprocessableEntity, "Файл не прочитался, загрузите его ещё раз.")
	}
	rows, rowErrs, err := tax.ParseProfiles(data, s.o.Now())
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
			return s.showTax(c, fiber.StatusUnprocessableEntity, e.Message)
		}
		return s.fail(c, err)
	}
	if len(rowErrs) == 0 {
		var saved int
		saved, rowErrs, err = s.o.Tax.ImportProfiles(c.UserContext(), p.ClientID, rows, s.staffActor(c))
		if err != nil {
			return s.fail(c, err)
		}
		if len(rowErrs) == 0 {
			return c.Redirect(fmt.Sprintf("%s/p/%d/tax?done=profiles&n=%d", Prefix, p.ID, saved), fiber.StatusSeeOther)
		}
	}
	c.Locals("taxRowErrors", rowErrs)
	return s.showTax(c, fiber.StatusUnprocessableEntity, fmt.Sprintf("В файле ошибки (%d): ничего не сохранено.", len(rowErrs)))
}

// employerConsent records a shop owner's or distributor's consent that
// the shop's staff take part (УК РФ ст. 204), with its evidence (a scan's
// reference, a letter's number), as the staff member's act.
func (s *Server) employerConsent(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	p := program(c)
	shop, err := strconv.ParseInt(c.FormValue("shop_id"), 10, 64)
	if err != nil || shop <= 0 {
		return s.showTax(c, fiber.StatusUnprocessableEntity, "Укажите id точки.")
	}
	_, err = s.o.Tax.Grant(c.UserContext(), taxdb.Consent{ClientID: p.ClientID, Kind: tax.ConsentEmployer, ShopID: shop,
		TextVersion: c.FormValue("text_version"), Channel: "paper", Evidence: c.FormValue("evidence"),
		GivenBy: c.FormValue("given_by")}, s.staffActor(c))
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.Invalid {
			return s.showTax(c, fiber.StatusUnprocessableEntity, e.Message)
		}
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/tax?done=consent", Prefix, p.ID), fiber.StatusSeeOther)
}

// taxGate lets tax officers of the program's client and operators in.
func (s *Server) taxGate(c *fiber.Ctx) error {
	if s.o.Tax == nil {
		return errNoTax
	}
	return staff(c).CheckClient(program(c).ClientID, access.TaxOfficer)
}

// taxScope is the agent the page shows: the program's client, or the
// platform when an operator asks for it.
func (s *Server) taxScope(c *fiber.Ctx) taxdb.Scope {
	if c.Query("agent") == "platform" && staff(c).Role == access.Operator {
		return taxdb.Scope{Agent: "platform"}
	}
	return taxdb.Scope{Agent: "client", ClientID: program(c).ClientID}
}

func (s *Server) taxYear(c *fiber.Ctx) int {
	y, err := strconv.Atoi(c.Query("year"))
	if err != nil || y < 2021 || y > 2100 {
		return s.o.Now().In(program(c).Location).Year()
	}
	return y
}

func (s *Server) staffActor(c *fiber.Ctx) audit.Actor {
	ss := session(c)
	return audit.StaffActor(ss.User.ID, ss.User.Email, s.clientIP(c))
}

func (s *Server) taxPage(c *fiber.Ctx) error {
	return s.showTax(c, fiber.StatusOK, "")
}

func (s *Server) showTax(c *fiber.Ctx, status int, formError string) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	ctx, p, who := c.UserContext(), program(c), staff(c)
	sc, year := s.taxScope(c), s.taxYear(c)
	set, err := s.o.Tax.Settings(ctx, p.ClientID, p.ID)
	if err != nil {
		return s.fail(c, err)
	}
	runs, err := s.o.Tax.Runs(ctx, who, sc)
	if err != nil {
		return s.fail(c, err)
	}
	missingOnly := c.Query("missing") == "1"
	lines, err := s.o.Tax.YearToDate(ctx, who, sc, year, missingOnly)
	if err != nil {
		return s.fail(c, err)
	}
	rules, err := s.o.Tax.Rules().For(year)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["TaxSettings"], d["Runs"], d["Lines"], d["Year"], d["Scope"] = set, runs, lines, year, sc
	d["MissingOnly"], d["Rules"], d["FormError"] = missingOnly, rules, formError
	d["IsOperator"] = who.Role == access.Operator
	d["RowErrors"], _ = c.Locals("taxRowErrors").([]tax.RowError)
	if c.Query("done") == "profiles" {
		d["Saved"] = c.Query("n")
	}
	d["LastMonth"] = time.Date(s.o.Now().Year(), s.o.Now().Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	c.Status(status)
	return s.render(c, "tax", d)
}

func (s *Server) saveTaxSettings(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	p := program(c)
	set := taxdb.Settings{ProgramID: p.ID, ClientID: p.ClientID, Agent: c.FormValue("agent"),
		Mode: tax.Mode(c.FormValue("mode")), Kind: tax.RateKind(c.FormValue("rate_kind")),
		Requirements: tax.Requirements{PersonalData: c.FormValue("requires_personal_data") != "",
			Offer: c.FormValue("requires_offer") != "", Employer: c.FormValue("requires_employer") != "",
			BeforeRedeeming: c.FormValue("consents_before_redeeming") != "",
			BeforeCrediting: c.FormValue("consents_before_crediting") != ""}}
	if err := s.o.Tax.SaveSettings(c.UserContext(), set, s.staffActor(c)); err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.Invalid {
			return s.showTax(c, fiber.StatusUnprocessableEntity, e.Message)
		}
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/tax?done=settings", Prefix, p.ID), fiber.StatusSeeOther)
}

func (s *Server) closeTaxMonth(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	m, err := time.Parse("2006-01", c.FormValue("month"))
	if err != nil {
		return s.showTax(c, fiber.StatusUnprocessableEntity, "Месяц: ГГГГ-ММ.")
	}
	sc := taxdb.Scope{Agent: "client", ClientID: program(c).ClientID}
	if c.FormValue("agent") == "platform" && staff(c).Role == access.Operator {
		sc = taxdb.Scope{Agent: "platform"}
	}
	if _, err := s.o.Tax.CloseMonth(c.UserContext(), sc, m.Year(), m.Month(), s.staffActor(c)); err != nil {
		if e, ok := apperr.As(err); ok && (e.Kind == apperr.Conflict || e.Kind == apperr.Invalid) {
			return s.showTax(c, fiber.StatusConflict, e.Message)
		}
		return s.fail(c, err)
	}
	q := ""
	if sc.Agent == "platform" {
		q = "&agent=platform"
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/tax?done=closed%s", Prefix, program(c).ID, q), fiber.StatusSeeOther)
}

func sendTaxTable(c *fiber.Ctx, name string, t taxdb.Table) error {
	out := table{Name: name, Head: t.Head}
	for _, r := range t.Rows {
		row := make([]any, len(r))
		for i, v := range r {
			row[i] = v
		}
		out.Rows = append(out.Rows, row)
	}
	return sendTable(c, out, c.Query("format", "xlsx"))
}

func (s *Server) taxRegistry(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	id, err := strconv.ParseInt(c.Params("rid"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Не найдено.")
	}
	run, err := s.o.Tax.RunReport(c.UserContext(), staff(c), id)
	if err != nil {
		return s.fail(c, err)
	}
	return sendTaxTable(c, fmt.Sprintf("ndfl-registry-%d-%02d", run.Year, int(run.Month)), taxdb.PaymentRegistry(run))
}

func (s *Server) taxStatements(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	year := s.taxYear(c)
	sts, err := s.o.Tax.Statements(c.UserContext(), staff(c), s.staffActor(c), s.taxScope(c), year)
	if err != nil {
		return s.fail(c, err)
	}
	rules, err := s.o.Tax.Rules().For(year)
	if err != nil {
		return s.fail(c, err)
	}
	return sendTaxTable(c, fmt.Sprintf("ndfl-statements-%d", year), taxdb.StatementsTable(sts, rules))
}

// taxNotWithheld exports the people whose tax could not be withheld in
// the year, with the deadline to tell them and the tax office.
func (s *Server) taxNotWithheld(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	year := s.taxYear(c)
	sts, err := s.o.Tax.Statements(c.UserContext(), staff(c), s.staffActor(c), s.taxScope(c), year)
	if err != nil {
		return s.fail(c, err)
	}
	return sendTaxTable(c, fmt.Sprintf("ndfl-not-withheld-%d", year), taxdb.NotWithheldTable(sts, program(c).Location))
}

func (s *Server) taxSixNDFL(c *fiber.Ctx) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	year := s.taxYear(c)
	q, err := strconv.Atoi(c.Query("q", "4"))
	if err != nil {
		q = 0
	}
	t, err := s.o.Tax.SixNDFL(c.UserContext(), staff(c), s.taxScope(c), year, q)
	if err != nil {
		return s.fail(c, err)
	}
	return sendTaxTable(c, fmt.Sprintf("6-ndfl-%d-q%d", year, q), t)
}

func (s *Server) taxPerson(c *fiber.Ctx) error {
	return s.showTaxPerson(c, false)
}

func (s *Server) taxPersonReveal(c *fiber.Ctx) error {
	return s.showTaxPerson(c, true)
}

// showTaxPerson shows a participant's profile masked, or in full after a
// POST with a reason, which the audit log records with the read.
func (s *Server) showTaxPerson(c *fiber.Ctx, full bool) error {
	if err := s.taxGate(c); err != nil {
		return s.fail(c, err)
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Не найдено.")
	}
	var v taxdb.StaffView
	if full {
		reason := c.FormValue("reason")
		if reason == "" || len(reason) > 500 {
			return s.errorPage(c, fiber.StatusUnprocessableEntity, "Укажите, зачем нужны полные данные (до 500 символов).")
		}
		v, err = s.o.Tax.StaffFullProfile(c.UserContext(), staff(c), s.staffActor(c), id, reason)
	} else {
		v, err = s.o.Tax.StaffProfile(c.UserContext(), staff(c), id)
	}
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Person"], d["ParticipantID"] = v, id
	d["TaxPersonPage"] = true
	return s.render(c, "tax", d)
}

// taxRunsPage is the operator's view of every tax agent's runs
// (/dashboard/tax); others get 404.
func (s *Server) taxRunsPage(c *fiber.Ctx) error {
	if s.o.Tax == nil {
		return s.fail(c, errNoTax)
	}
	runs, err := s.o.Tax.AllRuns(c.UserContext(), staff(c), 200)
	if err != nil {
		return s.fail(c, err)
	}
	d := map[string]any{"AllRuns": runs, "AllRunsPage": true}
	return s.render(c, "tax", d)
}
