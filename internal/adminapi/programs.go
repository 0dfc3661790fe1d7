package adminapi

// The program routes: create, edit, clone and move programs through their
// lifecycle; save rules versions; dry-run a receipt against every version;
// a receipt's outcome per program.

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Programs is what the program routes need.
type Programs struct {
	Service *program.Service
	// Store finds dry-run receipts and a receipt's per-program outcomes.
	Store *programdb.Store
	// Matcher matches dry-run lines to the catalog (points.Service).
	Matcher program.Matcher
}

// maxProgramBody bounds a program, rules or dry-run request body.
const maxProgramBody = 1 << 20

var (
	errProgramJSON    = apperr.New(apperr.Invalid, "program_bad_json", "Некорректный JSON в теле запроса.")
	errProgramTooBig  = apperr.New(apperr.TooLarge, "program_body_too_large", "Запрос слишком большой (больше 1 МиБ).")
	errReceiptMissing = apperr.New(apperr.NotFound, "receipt_not_found", "Чек не найден.")
)

func badDate(field string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "program_bad_date", Field: field,
		Message: "Дата в поле " + field + " — в виде ГГГГ-ММ-ДД."}
}

func parseDate(field, v string, required bool) (time.Time, error) {
	if v == "" {
		if required {
			return time.Time{}, badDate(field)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, badDate(field)
	}
	return t, nil
}

// programInput is the body of create and update.
type programInput struct {
	ClientID    int64               `json:"client_id"`
	Code        string              `json:"code"`
	Name        string              `json:"name"`
	Mechanics   []string            `json:"mechanics"`
	StartsOn    string              `json:"starts_on"`
	EndsOn      string              `json:"ends_on"`
	TimeZone    string              `json:"time_zone"`
	Crediting   string              `json:"crediting"`
	MaxAgeDays  int                 `json:"max_receipt_age_days"`
	Eligibility program.Eligibility `json:"eligibility"`
	Texts       program.Texts       `json:"texts"`
}

func (in programInput) program() (program.Program, error) {
	p := program.Program{ClientID: in.ClientID, Code: in.Code, Name: in.Name, Mechanics: in.Mechanics,
		TimeZone: in.TimeZone, Crediting: in.Crediting, MaxAgeDays: in.MaxAgeDays, Eligibility: in.Eligibility, Texts: in.Texts}
	if p.TimeZone == "" {
		p.TimeZone = "Europe/Moscow"
	}
	if p.Crediting == "" {
		p.Crediting = program.Immediate
	}
	if p.MaxAgeDays == 0 {
		p.MaxAgeDays = 30
	}
	var err error
	if p.StartsOn, err = parseDate("starts_on", in.StartsOn, true); err != nil {
		return p, err
	}
	p.EndsOn, err = parseDate("ends_on", in.EndsOn, true)
	return p, err
}

type programDTO struct {
	program.Program
	StartsOn string           `json:"starts_on"`
	EndsOn   string           `json:"ends_on"`
	Status   string           `json:"status"`
	Next     []program.Status `json:"next_statuses"`
}

func programView(p program.Program) programDTO {
	d := programDTO{Program: p, StartsOn: p.StartsOn.Format(time.DateOnly), EndsOn: p.EndsOn.Format(time.DateOnly),
		Status: string(p.Status), Next: program.Next(p.Status)}
	if d.Next == nil {
		d.Next = []program.Status{}
	}
	for _, l := range []*[]string{&d.Mechanics, &d.Eligibility.Chains, &d.Eligibility.Regions, &d.Eligibility.Roles} {
		if *l == nil {
			*l = []string{}
		}
	}
	if d.Eligibility.ShopIDs == nil {
		d.Eligibility.ShopIDs = []int64{}
	}
	return d
}

// actor is the staff member of c as the program service and the audit log
// name them.
func (a *API) actor(c *fiber.Ctx) (program.Actor, error) {
	st, err := a.staff(c)
	if err != nil {
		return program.Actor{}, err
	}
	return program.Actor{Staff: st, Audit: audit.StaffActor(st.UserID, "", c.IP())}, nil
}

func (a *API) body(c *fiber.Ctx, v any) error {
	if len(c.Body()) > maxProgramBody {
		return errProgramTooBig
	}
	return httpapi.DecodeStrictJSON(c.Body(), v, errProgramJSON)
}

func programID(c *fiber.Ctx) (int64, error) { return httpapi.PathID(c, "id", program.ErrNotFound) }

func (a *API) listPrograms(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	clientID, err := clientOf(c, st)
	if err != nil {
		return err
	}
	ps, err := a.programs.Service.List(c.UserContext(), st, clientID)
	if err != nil {
		return err
	}
	out := make([]programDTO, len(ps))
	for i, p := range ps {
		out[i] = programView(p)
	}
	return c.JSON(fiber.Map{"programs": out})
}

func (a *API) createProgram(c *fiber.Ctx) error {
	act, err := a.actor(c)
	if err != nil {
		return err
	}
	var in programInput
	if err := a.body(c, &in); err != nil {
		return err
	}
	if in.ClientID == 0 {
		in.ClientID = act.Staff.ClientID
	}
	if in.ClientID == 0 {
		return &apperr.Error{Kind: apperr.Invalid, Code: "program_client_required", Message: "Укажите клиента (client_id).", Field: "client_id"}
	}
	p, err := in.program()
	if err != nil {
		return err
	}
	out, err := a.programs.Service.Create(c.UserContext(), act, p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/programs/"+strconv.FormatInt(out.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(programView(out))
}

func (a *API) getProgram(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	p, err := a.programs.Service.Get(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(programView(p))
}

func (a *API) updateProgram(c *fiber.Ctx) error {
	act, err := a.actor(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	var in programInput
	if err := a.body(c, &in); err != nil {
		return err
	}
	p, err := in.program()
	if err != nil {
		return err
	}
	out, err := a.programs.Service.Update(c.UserContext(), act, id, p)
	if err != nil {
		return err
	}
	return c.JSON(programView(out))
}

type cloneInput struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

func (a *API) cloneProgram(c *fiber.Ctx) error {
	act, err := a.actor(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	var in cloneInput
	if err := a.body(c, &in); err != nil {
		return err
	}
	starts, err := parseDate("starts_on", in.StartsOn, false)
	if err != nil {
		return err
	}
	ends, err := parseDate("ends_on", in.EndsOn, false)
	if err != nil {
		return err
	}
	out, err := a.programs.Service.Clone(c.UserContext(), act, id, in.Code, in.Name, starts, ends)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/programs/"+strconv.FormatInt(out.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(programView(out))
}

type statusInput struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (a *API) moveProgram(c *fiber.Ctx) error {
	act, err := a.actor(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	var in statusInput
	if err := a.body(c, &in); err != nil {
		return err
	}
	to, err := program.ParseStatus(in.Status)
	if err != nil {
		return err
	}
	if len([]rune(in.Reason)) > audit.MaxReasonRunes {
		return &apperr.Error{Kind: apperr.Invalid, Code: "program_reason_too_long", Field: "reason", Message: "Причина — не длиннее 2000 символов."}
	}
	out, err := a.programs.Service.Move(c.UserContext(), act, id, to, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(programView(out))
}

type versionDTO struct {
	Version       int               `json:"version"`
	EffectiveFrom string            `json:"effective_from"`
	Rules         rules.Rules       `json:"rules"`
	Description   rules.Description `json:"description"`
	CreatedAt     time.Time         `json:"created_at"`
}

func versionView(v program.RuleVersion) versionDTO {
	return versionDTO{Version: v.Version, EffectiveFrom: v.EffectiveFrom.Format(time.DateOnly), Rules: v.Rules,
		Description: rules.Describe(v.Rules), CreatedAt: v.CreatedAt}
}

func (a *API) listRules(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	_, vs, err := a.programs.Service.Rules(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	out := make([]versionDTO, len(vs))
	for i, v := range vs {
		out[i] = versionView(v)
	}
	return c.JSON(fiber.Map{"versions": out})
}

type rulesInput struct {
	EffectiveFrom string      `json:"effective_from"`
	Rules         rules.Rules `json:"rules"`
}

func (a *API) saveRules(c *fiber.Ctx) error {
	act, err := a.actor(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	var in rulesInput
	if err := a.body(c, &in); err != nil {
		return err
	}
	from, err := parseDate("effective_from", in.EffectiveFrom, true)
	if err != nil {
		return err
	}
	v, err := a.programs.Service.SaveRules(c.UserContext(), act, id, from, in.Rules)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(versionView(v))
}

type dryLineInput struct {
	Name          string `json:"name"`
	GTIN          string `json:"gtin"`
	QuantityMilli int64  `json:"quantity_milli"`
	SumKopecks    int64  `json:"sum_kopecks"`
}

type dryInput struct {
	ReceiptID   string         `json:"receipt_id"`
	QR          string         `json:"qr"`
	Items       []dryLineInput `json:"items"`
	PurchasedAt string         `json:"purchased_at"`
	Draft       *rules.Rules   `json:"draft"`
}

// DryInput converts the request body into the service's input.
func (in dryInput) input() (program.DryInput, error) {
	out := program.DryInput{ReceiptID: in.ReceiptID, QR: in.QR, Draft: in.Draft}
	if len(in.QR) > 1000 || len(in.ReceiptID) > 64 {
		return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_input_invalid", Message: "Слишком длинный QR-код или номер чека."}
	}
	if len(in.Items) > program.MaxDryLines {
		return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_too_many_lines", Field: "items", Message: "Слишком много строк: не больше 500."}
	}
	for _, l := range in.Items {
		if len(l.Name) > 1000 || len(l.GTIN) > 64 {
			return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_line_invalid", Field: "items", Message: "Слишком длинное название или штрихкод строки."}
		}
		out.Items = append(out.Items, receipt.Item{Name: l.Name, GTIN: l.GTIN, QuantityMilli: l.QuantityMilli, SumKopecks: l.SumKopecks})
	}
	if in.PurchasedAt != "" {
		t, err := time.Parse(time.DateOnly, in.PurchasedAt)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04", in.PurchasedAt); err != nil {
				return out, badDate("purchased_at")
			}
		}
		out.PurchasedAt = t
	}
	return out, nil
}

func (a *API) dryRun(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := programID(c)
	if err != nil {
		return err
	}
	var body dryInput
	if err := a.body(c, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	out, err := a.programs.Service.Dry(c.UserContext(), st, id, in, a.programs.Store, a.programs.Matcher)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// receiptPrograms answers GET /admin/v1/receipts/:id/programs: the outcome
// of the receipt in each program it was evaluated against.
func (a *API) receiptPrograms(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	clientID, err := clientOf(c, st)
	if err != nil {
		return err
	}
	if !st.CanSee(clientID) {
		return errReceiptMissing
	}
	id := c.Params("id")
	if len(id) != 36 {
		return errReceiptMissing
	}
	res, err := a.programs.Store.Results(c.UserContext(), clientID, id)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return errReceiptMissing
	}
	return c.JSON(fiber.Map{"receipt_id": id, "programs": res})
}

// registerPrograms mounts the program routes.
func (a *API) registerPrograms(r fiber.Router) {
	g := r.Group("/admin/v1/programs")
	g.Get("/", a.listPrograms)
	g.Post("/", a.createProgram)
	g.Get("/:id", a.getProgram)
	g.Put("/:id", a.updateProgram)
	g.Post("/:id/clone", a.cloneProgram)
	g.Post("/:id/status", a.moveProgram)
	g.Get("/:id/rules", a.listRules)
	g.Post("/:id/rules", a.saveRules)
	g.Post("/:id/dry-run", a.dryRun)
	r.Get("/admin/v1/receipts/:id/programs", a.receiptPrograms)
}
