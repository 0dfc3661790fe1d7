package adminapi

// The task routes: create and archive tasks, the moderation queue of
// reports, review.

import (
	"context"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
	"github.com/loyaltyjam/loyaltyjam/internal/task/taskjson"
)

// Tasks is what the task routes need (*taskdb.Store): every call is
// checked against the staff member's client and role there.
type Tasks interface {
	CreateTask(ctx context.Context, st access.Staff, t task.Task) (task.Task, error)
	Task(ctx context.Context, st access.Staff, id int64) (task.Task, error)
	Tasks(ctx context.Context, st access.Staff, clientID int64, status task.Status, limit int) ([]task.Task, error)
	SetTaskStatus(ctx context.Context, st access.Staff, id int64, status task.Status) (task.Task, error)
	Queue(ctx context.Context, st access.Staff, f task.QueueFilter) ([]task.Submission, error)
	Submission(ctx context.Context, st access.Staff, id int64) (task.Submission, error)
	Photo(ctx context.Context, st access.Staff, id int64, idx int) (io.ReadCloser, string, error)
	Review(ctx context.Context, st access.Staff, id int64, r task.Review) (task.Submission, error)
}

var _ Tasks = (*taskdb.Store)(nil)

var errBadJSON = apperr.New(apperr.Invalid, "task_bad_json", "Некорректный JSON в теле запроса.")

func badParam(name string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "task_bad_param", Message: "Некорректное значение параметра " + name + ".", Field: name}
}

func (a *API) createTask(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	var req taskjson.Input
	if err := httpapi.DecodeStrictJSON(c.Body(), &req, errBadJSON); err != nil {
		return err
	}
	t, err := a.tasks.CreateTask(c.UserContext(), st, req.Task())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/tasks/"+strconv.FormatInt(t.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(taskjson.TaskOf(t))
}

// clientOf is the client an admin listing is for: the staff member's own,
// or ?client_id= (required for operators).
func clientOf(c *fiber.Ctx, st access.Staff) (int64, error) {
	id, err := httpapi.QueryInt(c, "client_id", badParam)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		id = st.ClientID
	}
	if id == 0 {
		return 0, &apperr.Error{Kind: apperr.Invalid, Code: "task_client_required", Message: "Укажите клиента (client_id).", Field: "client_id"}
	}
	return id, nil
}

func (a *API) listTasks(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	clientID, err := clientOf(c, st)
	if err != nil {
		return err
	}
	status := task.Status(c.Query("status"))
	if status != "" && status != task.Active && status != task.Archived {
		return badParam("status")
	}
	limit, err := httpapi.QueryInt(c, "limit", badParam)
	if err != nil {
		return err
	}
	list, err := a.tasks.Tasks(c.UserContext(), st, clientID, status, int(min(limit, 1000)))
	if err != nil {
		return err
	}
	out := make([]taskjson.Task, 0, len(list))
	for _, t := range list {
		out = append(out, taskjson.TaskOf(t))
	}
	return c.JSON(fiber.Map{"items": out})
}

func (a *API) getTask(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	t, err := a.tasks.Task(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(taskjson.TaskOf(t))
}

func (a *API) setTaskStatus(status task.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, err := a.staff(c)
		if err != nil {
			return err
		}
		id, err := httpapi.PathID(c, "id", task.ErrNotFound)
		if err != nil {
			return err
		}
		t, err := a.tasks.SetTaskStatus(c.UserContext(), st, id, status)
		if err != nil {
			return err
		}
		return c.JSON(taskjson.TaskOf(t))
	}
}

func (a *API) queue(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	var f task.QueueFilter
	if f.ClientID, err = clientOf(c, st); err != nil {
		return err
	}
	var ok bool
	if f.Status, ok = task.ParseStatus(c.Query("status")); !ok {
		return badParam("status")
	}
	if f.TaskID, err = httpapi.QueryInt(c, "task_id", badParam); err != nil {
		return err
	}
	limit, err := httpapi.QueryInt(c, "limit", badParam)
	if err != nil || limit > 200 {
		return badParam("limit")
	}
	offset, err := httpapi.QueryInt(c, "offset", badParam)
	if err != nil || offset > 100_000 {
		return badParam("offset")
	}
	f.Limit, f.Offset = int(limit), int(offset)
	subs, err := a.tasks.Queue(c.UserContext(), st, f)
	if err != nil {
		return err
	}
	out := make([]taskjson.Submission, 0, len(subs))
	for _, s := range subs {
		out = append(out, submissionView(s))
	}
	return c.JSON(fiber.Map{"items": out})
}

func (a *API) submission(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	s, err := a.tasks.Submission(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(submissionView(s))
}

func (a *API) photo(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	idx, err := strconv.Atoi(c.Params("idx"))
	if err != nil || idx < 0 || idx >= task.MaxPhotos {
		return task.WithMessage(task.ErrSubmissionNotFound, "photo", "Фотография не найдена.")
	}
	rc, ct, err := a.tasks.Photo(c.UserContext(), st, id, idx)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400, immutable")
	return c.Send(data)
}

type reviewRequest struct {
	ReasonCode string `json:"reason_code"`
	Comment    string `json:"comment"`
}

func (a *API) review(c *fiber.Ctx) error {
	st, err := a.staff(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	action := task.Action(c.Params("action"))
	switch action {
	case task.ActClaim, task.ActApprove, task.ActReject, task.ActRework:
	default:
		return fiber.ErrNotFound
	}
	var req reviewRequest
	if err := httpapi.DecodeStrictJSON(c.Body(), &req, errBadJSON); err != nil {
		return err
	}
	s, err := a.tasks.Review(c.UserContext(), st, id, task.Review{Action: action, ReasonCode: req.ReasonCode, Comment: req.Comment})
	if err != nil {
		return err
	}
	return c.JSON(submissionView(s))
}
