package taskapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// ParticipantFunc authenticates the participant of a request or returns an
// apperr Unauthorized error.
type ParticipantFunc func(*fiber.Ctx) (participantID, clientID int64, role string, err error)

// StaffFunc authenticates the dashboard user of an admin request.
type StaffFunc func(*fiber.Ctx) (access.Staff, error)

// Store is what the handlers need (taskdb.Store).
type Store interface {
	Available(ctx context.Context, p taskdb.Participant) ([]taskdb.Available, error)
	TaskFor(ctx context.Context, p taskdb.Participant, id int64) (task.Task, error)
	Take(ctx context.Context, p taskdb.Participant, id, shopID int64) (task.Submission, error)
	Submit(ctx context.Context, p taskdb.Participant, id int64, u taskdb.Upload) (task.Submission, error)
	MySubmission(ctx context.Context, p taskdb.Participant, id int64) (task.Submission, error)
	MySubmissions(ctx context.Context, p taskdb.Participant, f taskdb.MineFilter) (taskdb.Mine, error)

	CreateTask(ctx context.Context, st access.Staff, t task.Task) (task.Task, error)
	Task(ctx context.Context, st access.Staff, id int64) (task.Task, error)
	Tasks(ctx context.Context, st access.Staff, clientID int64, status task.Status, limit int) ([]task.Task, error)
	SetTaskStatus(ctx context.Context, st access.Staff, id int64, status task.Status) (task.Task, error)
	Queue(ctx context.Context, st access.Staff, f taskdb.QueueFilter) ([]task.Submission, error)
	Submission(ctx context.Context, st access.Staff, id int64) (task.Submission, error)
	Photo(ctx context.Context, st access.Staff, id int64, idx int) (io.ReadCloser, string, error)
	Review(ctx context.Context, st access.Staff, id int64, r task.Review) (task.Submission, error)
}

var _ Store = (*taskdb.Store)(nil)

// Handler serves the task routes.
type Handler struct {
	store       Store
	participant ParticipantFunc
	staff       StaffFunc
}

// New returns a Handler.
func New(store Store, participant ParticipantFunc, staff StaffFunc) *Handler {
	return &Handler{store: store, participant: participant, staff: staff}
}

// Register mounts every route on r (the app root):
//
//	GET  /v1/tasks                                 tasks I may take now, with reward and due time
//	GET  /v1/tasks/submissions                     my reports (?status=&task_id=&before=&limit=) and points
//	GET  /v1/tasks/submissions/:id                 one report
//	POST /v1/tasks/submissions/:id/report          multipart: photos, answers (JSON), comment, lat, lon, captured_at
//	GET  /v1/tasks/:id                             one task
//	POST /v1/tasks/:id/take                        {"shop_id": n} (optional: my own shop)
//
//	POST /admin/v1/tasks                           create
//	GET  /admin/v1/tasks                           list (?client_id= for operators, &status=)
//	GET  /admin/v1/tasks/submissions               moderation queue by due date (?client_id=&status=&task_id=&limit=&offset=)
//	GET  /admin/v1/tasks/submissions/:id           one report with flags and photos
//	GET  /admin/v1/tasks/submissions/:id/photos/:idx  a photo
//	POST /admin/v1/tasks/submissions/:id/:action   claim | approve | reject | rework, {"reason_code","comment"}
//	GET  /admin/v1/tasks/:id                       one task
//	POST /admin/v1/tasks/:id/archive, /:id/activate
func (h *Handler) Register(r fiber.Router) {
	h.RegisterParticipant(r)
	h.RegisterAdmin(r)
}

// RegisterParticipant mounts the /v1/tasks routes on r (the app root).
func (h *Handler) RegisterParticipant(r fiber.Router) {
	g := r.Group("/v1/tasks")
	g.Get("/", h.available)
	g.Get("/submissions", h.mySubmissions)
	g.Get("/submissions/:id", h.mySubmission)
	g.Post("/submissions/:id/report", h.report)
	g.Get("/:id", h.taskForParticipant)
	g.Post("/:id/take", h.take)
}

// RegisterAdmin mounts the /admin/v1/tasks routes on r (the app root).
func (h *Handler) RegisterAdmin(r fiber.Router) {
	g := r.Group("/admin/v1/tasks")
	g.Post("/", h.create)
	g.Get("/", h.list)
	g.Get("/submissions", h.queue)
	g.Get("/submissions/:id", h.submission)
	g.Get("/submissions/:id/photos/:idx", h.photo)
	g.Post("/submissions/:id/:action", h.review)
	g.Get("/:id", h.task)
	g.Post("/:id/archive", h.setStatus(task.Archived))
	g.Post("/:id/activate", h.setStatus(task.Active))
}

var (
	errBadJSON = apperr.New(apperr.Invalid, "task_bad_json", "Некорректный JSON в теле запроса.")
	errBadForm = apperr.New(apperr.Invalid, "task_bad_form", "Отчёт отправляется как multipart/form-data.")
)

func badParam(name string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "task_bad_param", Message: "Некорректное значение параметра " + name + ".", Field: name}
}

// pathID parses a positive id; anything else names nothing that exists.
func pathID(c *fiber.Ctx, name string, notFound *apperr.Error) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

func queryInt(c *fiber.Ctx, name string) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badParam(name)
	}
	return n, nil
}

func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := *errBadJSON
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			e.Field = te.Field
			e.Message = "Некорректное значение поля " + te.Field + "."
		} else if strings.HasPrefix(err.Error(), "json: unknown field ") {
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			e.Message = "Неизвестное поле " + f + "."
		}
		return &e
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

func (h *Handler) caller(c *fiber.Ctx) (taskdb.Participant, error) {
	id, clientID, role, err := h.participant(c)
	return taskdb.Participant{ID: id, ClientID: clientID, Role: role}, err
}

// ---- participant routes ----

func (h *Handler) available(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	list, err := h.store.Available(c.UserContext(), p)
	if err != nil {
		return err
	}
	out := make([]availableDTO, 0, len(list))
	for _, a := range list {
		out = append(out, availableDTO{taskView(a.Task), a.Slot.Start, a.Slot.End, a.Used, a.Remaining, a.OpenSubmissionID})
	}
	return c.JSON(fiber.Map{"items": out})
}

func (h *Handler) taskForParticipant(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	t, err := h.store.TaskFor(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(taskView(t))
}

type takeRequest struct {
	ShopID int64 `json:"shop_id"`
}

func (h *Handler) take(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	var req takeRequest
	if err := decodeJSON(c.Body(), &req); err != nil {
		return err
	}
	if req.ShopID < 0 {
		return badParam("shop_id")
	}
	sub, err := h.store.Take(c.UserContext(), p, id, req.ShopID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(submissionView(sub, false))
}

func (h *Handler) report(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	u, err := parseReport(c)
	if err != nil {
		return err
	}
	sub, err := h.store.Submit(c.UserContext(), p, id, u)
	if err != nil {
		return err
	}
	return c.JSON(submissionView(sub, false))
}

// parseReport reads the multipart report form.
func parseReport(c *fiber.Ctx) (taskdb.Upload, error) {
	var u taskdb.Upload
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return u, errBadForm
	}
	form, err := c.MultipartForm()
	if err != nil {
		return u, errBadForm
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

func parseStatus(v string) (task.SubmissionStatus, error) {
	if v == "" {
		return "", nil
	}
	for _, s := range task.Statuses {
		if string(s) == v {
			return s, nil
		}
	}
	return "", badParam("status")
}

func (h *Handler) mySubmissions(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	var f taskdb.MineFilter
	if f.Status, err = parseStatus(c.Query("status")); err != nil {
		return err
	}
	if f.TaskID, err = queryInt(c, "task_id"); err != nil {
		return err
	}
	if f.BeforeID, err = queryInt(c, "before"); err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil || limit > 200 {
		return badParam("limit")
	}
	f.Limit = int(limit)
	m, err := h.store.MySubmissions(c.UserContext(), p, f)
	if err != nil {
		return err
	}
	out := mineDTO{Items: []submissionDTO{}, PerTask: []taskPointsDTO{}, TotalKopecks: m.TotalKopecks}
	for _, s := range m.Submissions {
		out.Items = append(out.Items, submissionView(s, false))
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

func (h *Handler) mySubmission(c *fiber.Ctx) error {
	p, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	s, err := h.store.MySubmission(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(submissionView(s, false))
}

// ---- admin routes ----

func (h *Handler) create(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	var req taskInput
	if err := decodeJSON(c.Body(), &req); err != nil {
		return err
	}
	t, err := h.store.CreateTask(c.UserContext(), st, req.toTask())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/tasks/"+strconv.FormatInt(t.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(taskView(t))
}

// clientOf is the client an admin listing is for: the staff member's own,
// or ?client_id= (required for operators).
func clientOf(c *fiber.Ctx, st access.Staff) (int64, error) {
	id, err := queryInt(c, "client_id")
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

func (h *Handler) list(c *fiber.Ctx) error {
	st, err := h.staff(c)
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
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	list, err := h.store.Tasks(c.UserContext(), st, clientID, status, int(min(limit, 1000)))
	if err != nil {
		return err
	}
	out := make([]taskDTO, 0, len(list))
	for _, t := range list {
		out = append(out, taskView(t))
	}
	return c.JSON(fiber.Map{"items": out})
}

func (h *Handler) task(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrNotFound)
	if err != nil {
		return err
	}
	t, err := h.store.Task(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(taskView(t))
}

func (h *Handler) setStatus(status task.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, err := h.staff(c)
		if err != nil {
			return err
		}
		id, err := pathID(c, "id", task.ErrNotFound)
		if err != nil {
			return err
		}
		t, err := h.store.SetTaskStatus(c.UserContext(), st, id, status)
		if err != nil {
			return err
		}
		return c.JSON(taskView(t))
	}
}

func (h *Handler) queue(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	var f taskdb.QueueFilter
	if f.ClientID, err = clientOf(c, st); err != nil {
		return err
	}
	if f.Status, err = parseStatus(c.Query("status")); err != nil {
		return err
	}
	if f.TaskID, err = queryInt(c, "task_id"); err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil || limit > 200 {
		return badParam("limit")
	}
	offset, err := queryInt(c, "offset")
	if err != nil || offset > 100_000 {
		return badParam("offset")
	}
	f.Limit, f.Offset = int(limit), int(offset)
	subs, err := h.store.Queue(c.UserContext(), st, f)
	if err != nil {
		return err
	}
	out := make([]submissionDTO, 0, len(subs))
	for _, s := range subs {
		out = append(out, submissionView(s, true))
	}
	return c.JSON(fiber.Map{"items": out})
}

func (h *Handler) submission(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	s, err := h.store.Submission(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(submissionView(s, true))
}

func (h *Handler) photo(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrSubmissionNotFound)
	if err != nil {
		return err
	}
	idx, err := strconv.Atoi(c.Params("idx"))
	if err != nil || idx < 0 || idx >= task.MaxPhotos {
		return task.WithMessage(task.ErrSubmissionNotFound, "photo", "Фотография не найдена.")
	}
	rc, ct, err := h.store.Photo(c.UserContext(), st, id, idx)
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

func (h *Handler) review(c *fiber.Ctx) error {
	st, err := h.staff(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", task.ErrSubmissionNotFound)
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
	if err := decodeJSON(c.Body(), &req); err != nil {
		return err
	}
	s, err := h.store.Review(c.UserContext(), st, id, task.Review{Action: action, ReasonCode: req.ReasonCode, Comment: req.Comment})
	if err != nil {
		return err
	}
	return c.JSON(submissionView(s, true))
}
