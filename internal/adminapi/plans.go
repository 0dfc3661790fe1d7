package adminapi

// The plan routes (issue 20): a program period's tier table and
// participants' plans (JSON or an imported CSV/XLSX with a preview and a
// confirmation), the receipt lines behind an actual, and the period close
// (preview → approve).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// Plans is what the plan routes need (*plandb.Store).
type Plans interface {
	SetTable(ctx context.Context, by plandb.Actor, clientID, programID int64, period plan.Period, t plan.Table, reason string) (plandb.TableVersion, error)
	Table(ctx context.Context, clientID, programID int64, period plan.Period) (plandb.TableVersion, error)
	SetTargets(ctx context.Context, by plandb.Actor, clientID, programID int64, period plan.Period, ts []plandb.Target, reason string) (plandb.SetResult, error)
	Targets(ctx context.Context, clientID, programID int64, period plan.Period) ([]plandb.TargetVersion, error)
	ParticipantsByPhone(ctx context.Context, clientID int64, phones []string) (map[string]int64, error)
	ActualLines(ctx context.Context, clientID, programID, participantID int64, period plan.Period, limit int) ([]plandb.Line, error)
	Preview(ctx context.Context, by plandb.Actor, clientID, programID int64, period plan.Period) (plandb.Run, error)
	Run(ctx context.Context, clientID, runID int64) (plandb.Run, error)
	Lines(ctx context.Context, clientID, runID, afterID int64, limit int) ([]plandb.RunLine, error)
	Approve(ctx context.Context, by plandb.Actor, clientID, runID int64) (plandb.Run, error)
	SetSchedule(ctx context.Context, by plandb.Actor, clientID, programID int64, day int) error
	Summarize(ctx context.Context, clientID, programID int64, period plan.Period, top int, showNames bool) (plandb.Summary, error)
}

var _ Plans = (*plandb.Store)(nil)

var (
	errPlanNotFound = apperr.New(apperr.NotFound, "not_found", "Не найдено.")
	errPlanBody     = apperr.New(apperr.Invalid, "invalid_body", "Некорректное тело запроса.")
	errPlanFile     = &apperr.Error{Kind: apperr.Invalid, Code: "plan_file_missing", Message: "Приложите файл с планами (поле file).", Field: "file"}
	errPlanConfirm  = apperr.New(apperr.Conflict, "plan_import_changed",
		"Файл не тот, что был в предпросмотре, или в нём есть ошибки: загрузите его снова без confirm и проверьте отчёт.")
)

// planScope is the caller, the client acted for, the program and period of
// the path. A client's staff acts for its own client; an operator names
// one with ?client_id=. Another client's program answers 404 (the store
// filters by client).
type planScope struct {
	st       access.Staff
	clientID int64
	program  int64
	period   plan.Period
	by       plandb.Actor
}

func (a *API) planScope(c *fiber.Ctx, write bool, periodParam string) (planScope, error) {
	s, err := a.programScope(c, write)
	if err != nil {
		return s, err
	}
	if s.period, err = plan.ParsePeriod(c.Params(periodParam)); err != nil {
		return s, err
	}
	return s, nil
}

// programScope is planScope without a period.
func (a *API) programScope(c *fiber.Ctx, write bool) (planScope, error) {
	var s planScope
	st, err := a.registryCaller(c)
	if err != nil {
		return s, err
	}
	s.st, s.clientID = st, st.ClientID
	if st.Role == access.Operator {
		if s.clientID, err = httpapi.QueryInt(c, "client_id", errBadField); err != nil {
			return s, err
		}
	}
	if s.clientID <= 0 {
		return s, errPlanNotFound
	}
	roles := []access.Role{}
	if write {
		roles = append(roles, access.ClientManager)
	}
	if err := st.CheckClient(s.clientID, roles...); err != nil {
		return s, err
	}
	if s.program, err = httpapi.PathID(c, "id", errPlanNotFound); err != nil {
		return s, err
	}
	s.by = plandb.Actor{UserID: st.UserID, Audit: audit.StaffActor(st.UserID, "", c.IP())}
	return s, nil
}

type tableBody struct {
	plan.Table
	Reason string `json:"reason"`
}

func (a *API) putPlanTable(c *fiber.Ctx) error {
	s, err := a.planScope(c, true, "period")
	if err != nil {
		return err
	}
	var b tableBody
	if err := httpapi.DecodeStrictJSON(c.Body(), &b, errPlanBody); err != nil {
		return err
	}
	if b.Rounding == "" {
		b.Rounding = plan.HalfUp
	}
	v, err := a.plans.SetTable(c.UserContext(), s.by, s.clientID, s.program, s.period, b.Table, b.Reason)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"version": v.Version, "table": v.Table, "created_at": v.CreatedAt})
}

func (a *API) getPlans(c *fiber.Ctx) error {
	s, err := a.planScope(c, false, "period")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	out := fiber.Map{"period": s.period.String()}
	if tv, err := a.plans.Table(ctx, s.clientID, s.program, s.period); err == nil {
		out["table"], out["table_version"] = tv.Table, tv.Version
	} else if apperr.KindOf(err) != apperr.Conflict {
		return err
	}
	ts, err := a.plans.Targets(ctx, s.clientID, s.program, s.period)
	if err != nil {
		return err
	}
	out["targets"] = ts
	return c.JSON(out)
}

type targetsBody struct {
	Targets []plandb.Target `json:"targets"`
	Reason  string          `json:"reason"`
}

// maxJSONTargets bounds a JSON targets body (larger sets go as a file).
const maxJSONTargets = 10_000

func (a *API) putPlanTargets(c *fiber.Ctx) error {
	s, err := a.planScope(c, true, "period")
	if err != nil {
		return err
	}
	var b targetsBody
	if err := httpapi.DecodeStrictJSON(c.Body(), &b, errPlanBody); err != nil {
		return err
	}
	if len(b.Targets) == 0 || len(b.Targets) > maxJSONTargets {
		return errBadField("targets")
	}
	res, err := a.plans.SetTargets(c.UserContext(), s.by, s.clientID, s.program, s.period, b.Targets, b.Reason)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"changed": res.Changed, "unchanged": res.Unchanged})
}

// importPlans previews a CSV/XLSX of plans (phone, plan): row errors,
// unknown phones and the changes; with confirm=<sha256 of the previewed
// file> and no errors it records them as new plan versions.
func (a *API) importPlans(c *fiber.Ctx) error {
	s, err := a.planScope(c, true, "period")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	tv, err := a.plans.Table(ctx, s.clientID, s.program, s.period)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errPlanFile
	}
	if fh.Size > registry.DefaultMaxFileBytes {
		return registry.ErrFileTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return errPlanFile
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, registry.DefaultMaxFileBytes+1))
	if err != nil {
		return errPlanFile
	}
	t, errs, err := registry.ReadTable(data, registry.DefaultMaxFileBytes)
	if err != nil {
		return err
	}
	rows, rowErrs := plan.ParseImport(t, tv.Table.Measure)
	errs = append(errs, rowErrs...)
	phones := make([]string, len(rows))
	for i, r := range rows {
		phones[i] = r.Phone
	}
	ids, err := a.plans.ParticipantsByPhone(ctx, s.clientID, phones)
	if err != nil {
		return err
	}
	current, err := a.plans.Targets(ctx, s.clientID, s.program, s.period)
	if err != nil {
		return err
	}
	cur := make(map[int64]int64, len(current))
	for _, x := range current {
		cur[x.ParticipantID] = x.Value
	}
	type change struct {
		Line          int    `json:"line"`
		Phone         string `json:"phone"`
		ParticipantID int64  `json:"participant_id"`
		Current       *int64 `json:"current"`
		Target        int64  `json:"target"`
	}
	var changes []change
	var ts []plandb.Target
	unchanged := 0
	for _, r := range rows {
		pid, ok := ids[r.Phone]
		if !ok {
			errs = append(errs, registry.RowError{Line: r.Line, Column: "phone", Code: "unknown_participant", Reason: "участник с таким телефоном не найден"})
			continue
		}
		ts = append(ts, plandb.Target{ParticipantID: pid, Value: r.Value})
		if v, ok := cur[pid]; ok && v == r.Value {
			unchanged++
			continue
		}
		ch := change{Line: r.Line, Phone: r.Phone, ParticipantID: pid, Target: r.Value}
		if v, ok := cur[pid]; ok {
			ch.Current = &v
		}
		if len(changes) < 1000 {
			changes = append(changes, ch)
		}
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if len(errs) > 1000 {
		errs = errs[:1000]
	}
	out := fiber.Map{"sha256": digest, "measure": tv.Table.Measure, "rows": len(rows), "errors": errs,
		"changes": changes, "unchanged": unchanged, "applied": false}
	confirm := c.FormValue("confirm")
	if confirm == "" {
		return c.JSON(out)
	}
	if confirm != digest || len(errs) > 0 || len(ts) == 0 {
		return errPlanConfirm
	}
	res, err := a.plans.SetTargets(ctx, s.by, s.clientID, s.program, s.period, ts, "импорт "+fh.Filename)
	if err != nil {
		return err
	}
	out["applied"], out["changed"] = true, res.Changed
	return c.JSON(out)
}

func (a *API) planActualLines(c *fiber.Ctx) error {
	s, err := a.planScope(c, false, "period")
	if err != nil {
		return err
	}
	pid, err := httpapi.PathID(c, "pid", errPlanNotFound)
	if err != nil {
		return err
	}
	ls, err := a.plans.ActualLines(c.UserContext(), s.clientID, s.program, pid, s.period, 1000)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"lines": ls})
}

func (a *API) previewClose(c *fiber.Ctx) error {
	s, err := a.planScope(c, true, "period")
	if err != nil {
		return err
	}
	r, err := a.plans.Preview(c.UserContext(), s.by, s.clientID, s.program, s.period)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

// closeRun is the run the path names, of the path's program and period.
func (a *API) closeRun(c *fiber.Ctx, write bool) (planScope, plandb.Run, error) {
	s, err := a.planScope(c, write, "period")
	if err != nil {
		return s, plandb.Run{}, err
	}
	id, err := httpapi.PathID(c, "run", errPlanNotFound)
	if err != nil {
		return s, plandb.Run{}, err
	}
	r, err := a.plans.Run(c.UserContext(), s.clientID, id)
	if err != nil {
		return s, r, err
	}
	if r.ProgramID != s.program || r.Period != s.period.String() {
		return s, r, errPlanNotFound
	}
	return s, r, nil
}

func (a *API) getCloseRun(c *fiber.Ctx) error {
	s, r, err := a.closeRun(c, false)
	if err != nil {
		return err
	}
	after, err := httpapi.QueryInt(c, "after", errBadField)
	if err != nil {
		return err
	}
	limit, err := httpapi.QueryInt(c, "limit", errBadField)
	if err != nil {
		return err
	}
	ls, err := a.plans.Lines(c.UserContext(), s.clientID, r.ID, after, int(min(limit, 1000)))
	if err != nil {
		return err
	}
	out := fiber.Map{"run": r, "lines": ls}
	if len(ls) > 0 {
		out["next_after"] = strconv.FormatInt(ls[len(ls)-1].ParticipantID, 10)
	}
	return c.JSON(out)
}

func (a *API) approveClose(c *fiber.Ctx) error {
	s, r, err := a.closeRun(c, true)
	if err != nil {
		return err
	}
	r, err = a.plans.Approve(c.UserContext(), s.by, s.clientID, r.ID)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

type scheduleBody struct {
	CloseDay int `json:"close_day"`
}

// putCloseSchedule sets the day of the month the scheduler closes the
// program's plan periods (0: none).
func (a *API) putCloseSchedule(c *fiber.Ctx) error {
	s, err := a.programScope(c, true)
	if err != nil {
		return err
	}
	var b scheduleBody
	if err := httpapi.DecodeStrictJSON(c.Body(), &b, errPlanBody); err != nil {
		return err
	}
	if err := a.plans.SetSchedule(c.UserContext(), s.by, s.clientID, s.program, b.CloseDay); err != nil {
		return err
	}
	return c.JSON(b)
}

// planSummary is the period's standing as of now: tier distribution, cost
// forecast, attainment by shop and region, and a leaderboard (?top=,
// ?names=1 shows names, masked otherwise).
func (a *API) planSummary(c *fiber.Ctx) error {
	s, err := a.planScope(c, false, "period")
	if err != nil {
		return err
	}
	top, err := httpapi.QueryInt(c, "top", errBadField)
	if err != nil {
		return err
	}
	sum, err := a.plans.Summarize(c.UserContext(), s.clientID, s.program, s.period, int(min(top, 1000)), c.Query("names") == "1")
	if err != nil {
		return err
	}
	return c.JSON(sum)
}
