package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// TaskStore is what the task pages need of the task store (*taskdb.Store
// satisfies it). Every method checks the staff member's tenant and role
// itself, exactly as for the admin API.
type TaskStore interface {
	CreateTask(ctx context.Context, st access.Staff, t task.Task) (task.Task, error)
	Tasks(ctx context.Context, st access.Staff, clientID int64, status task.Status, limit int) ([]task.Task, error)
	Task(ctx context.Context, st access.Staff, id int64) (task.Task, error)
	SetTaskStatus(ctx context.Context, st access.Staff, id int64, status task.Status) (task.Task, error)
	Queue(ctx context.Context, st access.Staff, f task.QueueFilter) ([]task.Submission, error)
	Submission(ctx context.Context, st access.Staff, id int64) (task.Submission, error)
	Photo(ctx context.Context, st access.Staff, id int64, idx int) (io.ReadCloser, string, error)
	Review(ctx context.Context, st access.Staff, id int64, r task.Review) (task.Submission, error)
}

// extraPages are the task and registry templates (parsed by
// parseTemplates with taskFuncs besides the common funcs).
var extraPages = []string{"tasks", "tasks_new", "tasks_queue", "tasks_submission", "registries", "registry", "redemptions"}

var recurrenceNames = map[task.Recurrence]string{task.Once: "однократно", task.Daily: "ежедневно",
	task.Weekly: "еженедельно", task.Monthly: "ежемесячно"}

var subStatusNames = map[task.SubmissionStatus]string{task.Taken: "взято", task.Submitted: "отправлен",
	task.InReview: "на проверке", task.Approved: "одобрен", task.Rejected: "отклонён",
	task.ReworkRequested: "на доработке", task.Expired: "просрочен"}

var registryStatusNames = map[registry.Status]string{registry.StatusUploaded: "загружен",
	registry.StatusValidated: "проверен, ждёт подтверждения", registry.StatusRejected: "отклонён: ошибки в строках",
	registry.StatusConfirmed: "подтверждён, в очереди", registry.StatusProcessing: "обрабатывается",
	registry.StatusApplied: "применён", registry.StatusFailed: "не применён"}

// rejectReasonOrder is the order of the reason select.
var rejectReasonOrder = []string{"photo_unreadable", "not_done", "wrong_shop", "duplicate_photo", "checklist_mismatch",
	"out_of_time", "other"}

var flagSeverity = map[task.FlagCode]string{task.FlagDuplicatePhoto: "bad", task.FlagSimilarPhoto: "bad",
	task.FlagOutsideGeofence: "bad", task.FlagCaptureOutside: "bad", task.FlagCaptureFuture: "bad"}

// taskFuncs are the task and registry pages' functions; their times
// ("msk", "optmsk") are zoneFuncs, in the program's zone.
var taskFuncs = template.FuncMap{
	"recurrence": func(r task.Recurrence) string { return recurrenceNames[r] },
	"substatus": func(s task.SubmissionStatus) string {
		if n, ok := subStatusNames[s]; ok {
			return n
		}
		return string(s)
	},
	"regstatus": func(s registry.Status) string {
		if n, ok := registryStatusNames[s]; ok {
			return n
		}
		return string(s)
	},
	"rejectReason": func(code string) string { return task.RejectReasons[code] },
	"flagClass":    func(c task.FlagCode) string { return flagSeverity[c] },
	"answer": func(v any) string {
		switch x := v.(type) {
		case bool:
			if x {
				return "да"
			}
			return "нет"
		case nil:
			return "—"
		default:
			return fmt.Sprint(x)
		}
	},
	"signed": func(k int64) string {
		if k > 0 {
			return "+" + kpi.Points(k)
		}
		return kpi.Points(k)
	},
	"mask": registry.MaskPhone,
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"hasID": func(list []int64, v int64) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"join": strings.Join,
	"deref32": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"add": func(a, b int) int { return a + b },
}

// registerTasks mounts the task pages on the program group p.
func (s *Server) registerTasks(p fiber.Router) {
	p.Get("/tasks", s.tasksPage)
	p.Get("/tasks/new", s.newTaskPage)
	p.Post("/tasks", s.createTask)
	p.Get("/tasks/queue", s.taskQueue)
	p.Get("/tasks/submissions/:sid", s.submissionPage)
	p.Get("/tasks/submissions/:sid/photos/:idx", s.submissionPhoto)
	p.Post("/tasks/submissions/:sid/:action", s.reviewSubmission)
	p.Post("/tasks/:tid/archive", s.setTaskStatus(task.Archived))
	p.Post("/tasks/:tid/activate", s.setTaskStatus(task.Active))
}

var errNoTasks = apperr.New(apperr.NotFound, "tasks_not_configured", "Задания не подключены.")

// tasksOn fails the request when the server has no task store.
func (s *Server) tasksOn(c *fiber.Ctx) error {
	if s.o.Tasks == nil {
		return errNoTasks
	}
	return nil
}

func (s *Server) tasksBase(c *fiber.Ctx) string {
	return fmt.Sprintf("%s/p/%d/tasks", Prefix, program(c).ID)
}

// programTasks lists the tasks of the page's program (the store lists the
// client's).
func (s *Server) programTasks(c *fiber.Ctx) ([]task.Task, error) {
	p := program(c)
	all, err := s.o.Tasks.Tasks(c.UserContext(), staff(c), p.ClientID, "", 200)
	if err != nil {
		return nil, err
	}
	var out []task.Task
	for _, t := range all {
		if t.ProgramID == p.ID {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Server) tasksPage(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	tasks, err := s.programTasks(c)
	if err != nil {
		return s.fail(c, err)
	}
	queue, err := s.programQueue(c, 0, 1000)
	if err != nil {
		return s.fail(c, err)
	}
	waiting := map[int64]int{}
	for _, q := range queue {
		waiting[q.TaskID]++
	}
	d := s.pageData(c, s.period(c))
	d["Tasks"], d["Waiting"], d["QueueLen"] = tasks, waiting, len(queue)
	d["CanManage"] = staff(c).CheckClient(program(c).ClientID, access.ClientManager) == nil
	d["Flash"] = c.Query("done")
	return s.render(c, "tasks", d)
}

// taskForm is the create form's state, re-shown with an error.
type taskForm struct {
	Title, Instructions, Reward, StartsAt, DueAt, Recurrence string
	PerParticipant, PerShop, MinPhotos, MaxPhotos, Geofence  string
	Regions, Chains, Checklist, AutoMin                      string
	Roles                                                    []string
	ShopIDs                                                  []int64
	CommentRequired, AutoApprove                             bool
	Error, Field                                             string
}

func (s *Server) clientShops(c *fiber.Ctx) ([]report.Shop, error) {
	return s.store.Shops(c.UserContext(), program(c).ClientID)
}

const formTime = "2006-01-02T15:04"

func (s *Server) newTaskPage(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	if err := staff(c).CheckClient(program(c).ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	loc := program(c).Location
	now := s.o.Now().In(loc)
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	f := taskForm{StartsAt: start.Format(formTime), DueAt: start.AddDate(0, 1, 0).Format(formTime),
		Recurrence: string(task.Weekly), PerParticipant: "1", PerShop: "0", MinPhotos: "1", MaxPhotos: "3",
		Geofence: "0", AutoMin: "3"}
	return s.showTaskForm(c, fiber.StatusOK, f)
}

func (s *Server) showTaskForm(c *fiber.Ctx, status int, f taskForm) error {
	shops, err := s.clientShops(c)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["F"], d["Shops"], d["Roles"] = f, shops, task.Roles
	d["Recurrences"] = []task.Recurrence{task.Once, task.Daily, task.Weekly, task.Monthly}
	c.Status(status)
	return s.render(c, "tasks_new", d)
}

// fieldNames name the task fields in form errors.
var fieldNames = map[string]string{"title": "Название", "instructions": "Инструкция", "reward_kopecks": "Вознаграждение",
	"due_at": "Срок", "starts_at": "Начало", "recurrence": "Повторение", "per_participant": "Лимит на участника",
	"per_shop": "Лимит на магазин", "geofence_meters": "Геозона", "evidence.min_photos": "Фотографии",
	"evidence.max_photos": "Фотографии", "eligibility.shop_ids": "Магазины", "eligibility.roles": "Роли"}

func (s *Server) createTask(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	p := program(c)
	f, t, err := readTaskForm(c, p.ID, p.Location)
	if err == nil {
		_, err = s.o.Tasks.CreateTask(c.UserContext(), staff(c), t)
	}
	if err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.Invalid {
			return s.fail(c, err)
		}
		f.Error, f.Field = e.Message, e.Field
		if n, ok := fieldNames[e.Field]; ok {
			f.Error = n + ": " + e.Message
		}
		return s.showTaskForm(c, fiber.StatusUnprocessableEntity, f)
	}
	return c.Redirect(s.tasksBase(c)+"?done=created", fiber.StatusSeeOther)
}

func formInt(v, field, name string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &apperr.Error{Kind: apperr.Invalid, Code: "task_invalid", Field: field, Message: name + ": нужно целое число."}
	}
	return n, nil
}

func splitList(v string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// readTaskForm reads the create form into the form state and a task.
func readTaskForm(c *fiber.Ctx, programID int64, loc *time.Location) (taskForm, task.Task, error) {
	f := taskForm{Title: c.FormValue("title"), Instructions: c.FormValue("instructions"), Reward: c.FormValue("reward"),
		StartsAt: c.FormValue("starts_at"), DueAt: c.FormValue("due_at"), Recurrence: c.FormValue("recurrence"),
		PerParticipant: c.FormValue("per_participant"), PerShop: c.FormValue("per_shop"),
		MinPhotos: c.FormValue("min_photos"), MaxPhotos: c.FormValue("max_photos"), Geofence: c.FormValue("geofence_meters"),
		Regions: c.FormValue("regions"), Chains: c.FormValue("chains"), Checklist: c.FormValue("checklist"),
		AutoMin: c.FormValue("auto_min_approved"), CommentRequired: c.FormValue("comment_required") != "",
		AutoApprove: c.FormValue("auto_approve") != ""}
	args := c.Request().PostArgs()
	if form, err := c.MultipartForm(); err == nil {
		f.Roles = form.Value["roles"]
		for _, v := range form.Value["shop_ids"] {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				f.ShopIDs = append(f.ShopIDs, id)
			}
		}
	} else {
		for _, v := range args.PeekMulti("roles") {
			f.Roles = append(f.Roles, string(v))
		}
		for _, v := range args.PeekMulti("shop_ids") {
			if id, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				f.ShopIDs = append(f.ShopIDs, id)
			}
		}
	}
	t := task.Task{ProgramID: programID, Title: f.Title, Instructions: f.Instructions, Recurrence: task.Recurrence(f.Recurrence),
		Eligibility: task.Eligibility{Roles: f.Roles, ShopIDs: f.ShopIDs, Regions: splitList(f.Regions), Chains: splitList(f.Chains)},
		Evidence:    task.Evidence{CommentRequired: f.CommentRequired}, AutoApprove: task.AutoApprove{Enabled: f.AutoApprove}}
	bad := func(field, msg string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: "task_invalid", Field: field, Message: msg}
	}
	k, err := registry.ParseKopecks(f.Reward, false)
	if err != nil || strings.TrimSpace(f.Reward) == "" {
		return f, t, bad("reward_kopecks", "Вознаграждение — число баллов, например 300 или 150,50.")
	}
	t.RewardKopecks = k
	if t.StartsAt, err = time.ParseInLocation(formTime, f.StartsAt, loc); err != nil {
		return f, t, bad("starts_at", "Начало: дата и время.")
	}
	if t.DueAt, err = time.ParseInLocation(formTime, f.DueAt, loc); err != nil {
		return f, t, bad("due_at", "Срок: дата и время.")
	}
	for _, x := range []struct {
		dst         *int
		v, field, n string
	}{
		{&t.PerParticipant, f.PerParticipant, "per_participant", "Лимит на участника"},
		{&t.PerShop, f.PerShop, "per_shop", "Лимит на магазин"},
		{&t.Evidence.MinPhotos, f.MinPhotos, "evidence.min_photos", "Минимум фотографий"},
		{&t.Evidence.MaxPhotos, f.MaxPhotos, "evidence.max_photos", "Максимум фотографий"},
		{&t.GeofenceMeters, f.Geofence, "geofence_meters", "Радиус геозоны"},
		{&t.AutoApprove.MinApproved, f.AutoMin, "auto_approve.min_approved", "Порог автоодобрения"},
	} {
		if *x.dst, err = formInt(x.v, x.field, x.n); err != nil {
			return f, t, err
		}
	}
	if !t.AutoApprove.Enabled {
		t.AutoApprove.MinApproved = 0
	}
	yes := true
	for i, q := range splitLines(f.Checklist) {
		t.Evidence.Checklist = append(t.Evidence.Checklist, task.ChecklistItem{Key: fmt.Sprintf("q%d", i+1), Question: q,
			Kind: task.YesNo, Required: true, Expect: &yes})
	}
	return f, t, nil
}

func splitLines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) setTaskStatus(status task.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.tasksOn(c); err != nil {
			return s.fail(c, err)
		}
		id, err := strconv.ParseInt(c.Params("tid"), 10, 64)
		if err != nil {
			return s.fail(c, task.ErrNotFound)
		}
		t, err := s.o.Tasks.Task(c.UserContext(), staff(c), id)
		if err == nil && t.ProgramID != program(c).ID {
			err = task.ErrNotFound
		}
		if err == nil {
			_, err = s.o.Tasks.SetTaskStatus(c.UserContext(), staff(c), id, status)
		}
		if err != nil {
			return s.fail(c, err)
		}
		return c.Redirect(s.tasksBase(c)+"?done="+string(status), fiber.StatusSeeOther)
	}
}

// programQueue is the moderation queue of the page's program (the store's
// queue is the client's, earliest due first), optionally of one task.
func (s *Server) programQueue(c *fiber.Ctx, taskID int64, limit int) ([]task.Submission, error) {
	p := program(c)
	var out []task.Submission
	const page = 200
	for off := 0; off <= 100_000 && len(out) < limit; off += page {
		subs, err := s.o.Tasks.Queue(c.UserContext(), staff(c), task.QueueFilter{ClientID: p.ClientID, TaskID: taskID,
			Limit: page, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			if sub.ProgramID == p.ID && len(out) < limit {
				out = append(out, sub)
			}
		}
		if len(subs) < page {
			break
		}
	}
	return out, nil
}

// subView is a submission with the names a moderator reads.
type subView struct {
	task.Submission
	ParticipantName, ParticipantPhone, ShopName, ShopAddress string
	// Distance from the shop in metres, -1 when unknown.
	Distance int
	Task     *task.Task
}

// describe adds participant and shop names (looked up within the
// program's client) and the task's definition to subs.
func (s *Server) describe(c *fiber.Ctx, subs []task.Submission) ([]subView, error) {
	ctx, p := c.UserContext(), program(c)
	var pids, shops []int64
	for _, sub := range subs {
		pids, shops = append(pids, sub.ParticipantID), append(shops, sub.ShopID)
	}
	people, err := s.store.Contacts(ctx, p.ClientID, pids)
	if err != nil {
		return nil, err
	}
	places, err := s.store.Places(ctx, p.ClientID, shops)
	if err != nil {
		return nil, err
	}
	tasks := map[int64]*task.Task{}
	out := make([]subView, len(subs))
	for i, sub := range subs {
		v := subView{Submission: sub, Distance: -1}
		v.ParticipantName, v.ParticipantPhone = people[sub.ParticipantID].Name, people[sub.ParticipantID].Phone
		sh := places[sub.ShopID]
		v.ShopName, v.ShopAddress = sh.Name, sh.Address
		if sub.Lat != nil && sub.Lon != nil && sh.Lat != nil && sh.Lon != nil {
			v.Distance = int(task.Distance(*sub.Lat, *sub.Lon, *sh.Lat, *sh.Lon) + 0.5)
		}
		t, ok := tasks[sub.TaskID]
		if !ok {
			if x, err := s.o.Tasks.Task(ctx, staff(c), sub.TaskID); err == nil {
				t = &x
			} else if !errors.Is(err, task.ErrNotFound) {
				return nil, err
			}
			tasks[sub.TaskID] = t
		}
		v.Task = t
		out[i] = v
	}
	return out, nil
}

func (s *Server) taskQueue(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	taskID, _ := strconv.ParseInt(c.Query("task"), 10, 64)
	subs, err := s.programQueue(c, max(taskID, 0), 50)
	if err != nil {
		return s.fail(c, err)
	}
	views, err := s.describe(c, subs)
	if err != nil {
		return s.fail(c, err)
	}
	tasks, err := s.programTasks(c)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Subs"], d["Tasks"], d["TaskID"], d["Flash"] = views, tasks, taskID, c.Query("done")
	d["Reasons"], d["ReasonNames"] = rejectReasonOrder, task.RejectReasons
	return s.render(c, "tasks_queue", d)
}

// programSubmission loads a submission of the page's program.
func (s *Server) programSubmission(c *fiber.Ctx) (task.Submission, error) {
	id, err := strconv.ParseInt(c.Params("sid"), 10, 64)
	if err != nil || id <= 0 {
		return task.Submission{}, task.ErrSubmissionNotFound
	}
	sub, err := s.o.Tasks.Submission(c.UserContext(), staff(c), id)
	if err != nil {
		return sub, err
	}
	if sub.ProgramID != program(c).ID {
		return task.Submission{}, task.ErrSubmissionNotFound
	}
	return sub, nil
}

func (s *Server) submissionPage(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	sub, err := s.programSubmission(c)
	if err != nil {
		return s.fail(c, err)
	}
	return s.showSubmission(c, fiber.StatusOK, sub, "")
}

func (s *Server) showSubmission(c *fiber.Ctx, status int, sub task.Submission, msg string) error {
	views, err := s.describe(c, []task.Submission{sub})
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["S"], d["Error"], d["Flash"] = views[0], msg, c.Query("done")
	d["Reasons"], d["ReasonNames"] = rejectReasonOrder, task.RejectReasons
	d["Open"] = sub.Status == task.Submitted || sub.Status == task.InReview
	c.Status(status)
	return s.render(c, "tasks_submission", d)
}

func (s *Server) submissionPhoto(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	sub, err := s.programSubmission(c)
	if err != nil {
		return s.fail(c, err)
	}
	idx, err := strconv.Atoi(c.Params("idx"))
	if err != nil || idx < 0 || idx >= task.MaxPhotos {
		return s.errorPage(c, fiber.StatusNotFound, "Фото нет.")
	}
	rc, ct, err := s.o.Tasks.Photo(c.UserContext(), staff(c), sub.ID, idx)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.NotFound {
			return s.errorPage(c, fiber.StatusNotFound, "Фото нет.")
		}
		return s.fail(c, err)
	}
	defer rc.Close()
	c.Set(fiber.HeaderContentType, ct)
	c.Set("Cache-Control", "private, max-age=3600")
	data, err := io.ReadAll(io.LimitReader(rc, task.MaxPhotoBytes+1))
	if err != nil {
		return s.fail(c, err)
	}
	return c.Send(data)
}

var reviewActions = map[string]task.Action{"approve": task.ActApprove, "reject": task.ActReject, "rework": task.ActRework}

var reviewDone = map[task.Action]string{task.ActApprove: "approved", task.ActReject: "rejected", task.ActRework: "rework"}

func (s *Server) reviewSubmission(c *fiber.Ctx) error {
	if err := s.tasksOn(c); err != nil {
		return s.fail(c, err)
	}
	action, ok := reviewActions[c.Params("action")]
	if !ok {
		return s.errorPage(c, fiber.StatusNotFound, "Не найдено.")
	}
	sub, err := s.programSubmission(c)
	if err != nil {
		return s.fail(c, err)
	}
	r := task.Review{Action: action, Comment: c.FormValue("comment")}
	if action == task.ActReject {
		r.ReasonCode = c.FormValue("reason_code")
	}
	out, err := s.o.Tasks.Review(c.UserContext(), staff(c), sub.ID, r)
	if err != nil {
		e, ok := apperr.As(err)
		second := errors.Is(err, task.ErrSecondApproval)
		if !ok || (e.Kind != apperr.Invalid && e.Kind != apperr.Conflict && !second) {
			return s.fail(c, err)
		}
		status := fiber.StatusUnprocessableEntity
		switch {
		case e.Kind == apperr.Conflict:
			status = fiber.StatusConflict
		case second:
			status = fiber.StatusForbidden
		}
		if cur, err := s.programSubmission(c); err == nil {
			sub = cur
		}
		return s.showSubmission(c, status, sub, e.Message)
	}
	done := reviewDone[action]
	if action == task.ActApprove && out.Status != task.Approved {
		done = "first_approval" // a large reward: another person approves it too
	}
	if c.FormValue("from") == "queue" {
		return c.Redirect(fmt.Sprintf("%s/queue?done=%s", s.tasksBase(c), done), fiber.StatusSeeOther)
	}
	return c.Redirect(fmt.Sprintf("%s/submissions/%d?done=%s", s.tasksBase(c), out.ID, done), fiber.StatusSeeOther)
}
