package mobileapi

// The task routes: a merchandiser's available tasks, taking one, the
// report with photos, their reports and points. Every rule and tenant
// check lives in the task domain and its store.

import (
	"context"
	"io"
	"math"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
	"github.com/loyaltyjam/loyaltyjam/internal/task/taskjson"
)

// Tasks is what the task routes need (*taskdb.Store).
type Tasks interface {
	Available(ctx context.Context, p taskdb.Participant) ([]taskdb.Available, error)
	TaskFor(ctx context.Context, p taskdb.Participant, id int64) (task.Task, error)
	Take(ctx context.Context, p taskdb.Participant, id, shopID int64) (task.Submission, error)
	Submit(ctx context.Context, p taskdb.Participant, id int64, u taskdb.Upload) (task.Submission, error)
	MySubmission(ctx context.Context, p taskdb.Participant, id int64) (task.Submission, error)
	MySubmissions(ctx context.Context, p taskdb.Participant, f taskdb.MineFilter) (taskdb.Mine, error)
}

var _ Tasks = (*taskdb.Store)(nil)

// registerTasks mounts on v1:
//
//	GET  /tasks                                 tasks I may take now, with reward and due time
//	GET  /tasks/submissions                     my reports (?status=&task_id=&before=&limit=) and points
//	GET  /tasks/submissions/:id                 one report
//	POST /tasks/submissions/:id/report          multipart: photos, answers (JSON), comment, lat, lon, captured_at
//	GET  /tasks/:id                             one task
//	POST /tasks/:id/take                        {"shop_id": n} (optional: my own shop)
func (a *API) registerTasks(v1 fiber.Router, authn fiber.Handler) {
	g := v1.Group("/tasks")
	g.Get("/", authn, a.availableTasks)
	g.Get("/submissions", authn, a.mySubmissions)
	g.Get("/submissions/:id", authn, a.mySubmission)
	g.Post("/submissions/:id/report", authn, a.report)
	g.Get("/:id", authn, a.task)
	g.Post("/:id/take", authn, a.take)
}

var (
	errTaskBadJSON = apperr.New(apperr.Invalid, "task_bad_json", "Некорректный JSON в теле запроса.")
	errTaskBadForm = apperr.New(apperr.Invalid, "task_bad_form", "Отчёт отправляется как multipart/form-data.")
)

func taskBadParam(name string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "task_bad_param", Message: "Некорректное значение параметра " + name + ".", Field: name}
}

// taskCaller is the signed-in participant as the task store knows them.
func taskCaller(c *fiber.Ctx) taskdb.Participant {
	p := callerOf(c).Participant
	return taskdb.Participant{ID: p.ID, ClientID: p.ClientID, Role: p.Role}
}

func (a *API) availableTasks(c *fiber.Ctx) error {
	p := taskCaller(c)
	list, err := a.tasks.Available(c.UserContext(), p)
	if err != nil {
		return err
	}
	out := make([]availableDTO, 0, len(list))
	for _, a := range list {
		out = append(out, availableDTO{taskjson.TaskOf(a.Task), a.Slot.Start, a.Slot.End, a.Used, a.Remaining, a.OpenSubmissionID})
	}
	return c.JSON(fiber.Map{"items": out})
}

func (a *API) task(c *fiber.Ctx) error {
	p := taskCaller(c)
	id, err := httpapi.PathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	t, err := a.tasks.TaskFor(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(taskjson.TaskOf(t))
}

type takeRequest struct {
	ShopID int64 `json:"shop_id"`
}

func (a *API) take(c *fiber.Ctx) error {
	p := taskCaller(c)
	id, err := httpapi.PathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	var req takeRequest
	if err := httpapi.DecodeStrictJSON(c.Body(), &req, errTaskBadJSON); err != nil {
		return err
	}
	if req.ShopID < 0 {
		return taskBadParam("shop_id")
	}
	sub, err := a.tasks.Take(c.UserContext(), p, id, req.ShopID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(taskjson.SubmissionOf(sub))
}

func (a *API) report(c *fiber.Ctx) error {
	p := taskCaller(c)
	id, err := httpapi.PathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	u, err := parseReport(c)
	if err != nil {
		return err
	}
	sub, err := a.tasks.Submit(c.UserContext(), p, id, u)
	if err != nil {
		return err
	}
	return c.JSON(taskjson.SubmissionOf(sub))
}

// parseReport reads the multipart report form.
func parseReport(c *fiber.Ctx) (taskdb.Upload, error) {
	var u taskdb.Upload
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return u, errTaskBadForm
	}
	form, err := c.MultipartForm()
	if err != nil {
		return u, errTaskBadForm
	}
	files := form.File["photos"]
	if len(files) > task.MaxPhotos {
		return u, task.WithField(task.ErrTooManyPhotos, "photos")
	}
	for i, fh := range files {
		data, err := readPart(fh)
		if err != nil {
			return u, task.WithField(err.(*apperr.Error), "photos["+strconv.Itoa(i)+"]")
		}
		u.Photos = append(u.Photos, data)
	}
	val := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	u.Answers = []byte(val("answers"))
	u.Comment = val("comment")
	if la, lo := val("lat"), val("lon"); la != "" || lo != "" {
		lat, err1 := strconv.ParseFloat(la, 64)
		lon, err2 := strconv.ParseFloat(lo, 64)
		if err1 != nil || err2 != nil || !task.ValidCoordinates(lat, lon) || math.IsInf(lat, 0) || math.IsInf(lon, 0) {
			return u, task.WithField(task.ErrBadLocation, "lat")
		}
		u.Lat, u.Lon = &lat, &lon
	}
	if v := val("captured_at"); v != "" {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil || at.Year() < 2000 || at.Year() > 3000 {
			return u, task.WithField(task.ErrBadCaptureTime, "captured_at")
		}
		u.CapturedAt = at
	}
	return u, nil
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	if fh.Size > task.MaxPhotoBytes {
		return nil, task.ErrPhotoTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return nil, task.ErrBadPhoto
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, task.MaxPhotoBytes+1))
	if err != nil {
		return nil, task.ErrBadPhoto
	}
	if len(data) > task.MaxPhotoBytes {
		return nil, task.ErrPhotoTooLarge
	}
	return data, nil
}

func (a *API) mySubmissions(c *fiber.Ctx) error {
	p := taskCaller(c)
	var f taskdb.MineFilter
	var err error
	var ok bool
	if f.Status, ok = task.ParseStatus(c.Query("status")); !ok {
		return taskBadParam("status")
	}
	if f.TaskID, err = httpapi.QueryInt(c, "task_id", taskBadParam); err != nil {
		return err
	}
	if f.BeforeID, err = httpapi.QueryInt(c, "before", taskBadParam); err != nil {
		return err
	}
	limit, err := httpapi.QueryInt(c, "limit", taskBadParam)
	if err != nil || limit > 200 {
		return taskBadParam("limit")
	}
	f.Limit = int(limit)
	m, err := a.tasks.MySubmissions(c.UserContext(), p, f)
	if err != nil {
		return err
	}
	out := mineDTO{Items: []taskjson.Submission{}, PerTask: []taskPointsDTO{}, TotalKopecks: m.TotalKopecks}
	for _, s := range m.Submissions {
		out.Items = append(out.Items, taskjson.SubmissionOf(s))
	}
	for _, tp := range m.PerTask {
		out.PerTask = append(out.PerTask, taskPointsDTO{tp.TaskID, tp.Title, tp.Approved, tp.PointsKopecks})
	}
	if n := len(m.Submissions); n > 0 && n == clampLimit(f.Limit) {
		out.NextBefore = m.Submissions[n-1].ID
	}
	return c.JSON(out)
}

func clampLimit(n int) int {
	if n <= 0 || n > 200 {
		return 50
	}
	return n
}

func (a *API) mySubmission(c *fiber.Ctx) error {
	p := taskCaller(c)
	id, err := httpapi.PathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	s, err := a.tasks.MySubmission(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(taskjson.SubmissionOf(s))
}
