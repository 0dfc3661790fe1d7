// Package registryapi is the admin HTTP surface of registries: upload a
// participant or points registry, read its report and preview, confirm it,
// follow its progress, list and re-send invitations. Handlers are thin:
// they authenticate through the injected function and call
// registry.Service.
package registryapi

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// StaffFunc authenticates the caller of an admin request.
type StaffFunc func(*fiber.Ctx) (access.Staff, error)

// Handler serves /admin/v1/registries.
type Handler struct {
	svc   *registry.Service
	staff StaffFunc
}

// New returns a Handler.
func New(svc *registry.Service, staff StaffFunc) *Handler { return &Handler{svc: svc, staff: staff} }

// Register mounts the routes on r (the app root):
//
//	POST /admin/v1/registries                             upload (multipart)
//	GET  /admin/v1/registries/:id                         report, preview, status, progress
//	GET  /admin/v1/registries/:id/progress                status and counters only
//	GET  /admin/v1/registries/:id/lines?offset=&limit=    points: per-participant sums and differences
//	POST /admin/v1/registries/:id/confirm                 confirm (maker-checker over the threshold)
//	GET  /admin/v1/registries/:id/invitations             delivery and sign-in of invitations
//	POST /admin/v1/registries/:id/invitations/resend      {"participant_ids":[…]} or {} for all not signed in; "new_password":true resets signed-in participants' passwords too
func (h *Handler) Register(r fiber.Router) {
	g := r.Group("/admin/v1/registries")
	g.Post("/", h.upload)
	g.Get("/:id", h.get)
	g.Get("/:id/progress", h.progress)
	g.Get("/:id/lines", h.lines)
	g.Post("/:id/confirm", h.confirm)
	g.Get("/:id/invitations", h.invitations)
	g.Post("/:id/invitations/resend", h.resend)
}

var (
	errNoFile   = &apperr.Error{Kind: apperr.Invalid, Code: "registry_file_missing", Message: "Приложите файл реестра (поле file).", Field: "file"}
	errBadID    = apperr.New(apperr.NotFound, "registry_not_found", "Реестр не найден.")
	errBadField = func(field string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_field", Message: "Неверное значение поля " + field + ".", Field: field}
	}
)

func (h *Handler) caller(c *fiber.Ctx) (access.Staff, error) {
	st, err := h.staff(c)
	if err != nil {
		return st, err
	}
	if st.UserID == 0 {
		return st, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
	}
	return st, nil
}

func uploadID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadID
	}
	return id, nil
}

func (h *Handler) upload(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errNoFile
	}
	if fh.Size > int64(h.svc.MaxFileBytes()) {
		return registry.ErrFileTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return errNoFile
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(h.svc.MaxFileBytes())+1))
	if err != nil {
		return errNoFile
	}
	req := registry.UploadRequest{
		ClientID: st.ClientID,
		Kind:     registry.Kind(c.FormValue("kind")),
		Period:   c.FormValue("period"),
		FileName: fh.Filename,
		Data:     data,
		Options: registry.Options{
			UnknownShops: c.FormValue("unknown_shops"),
			InviteMethod: c.FormValue("invite_method"),
		},
	}
	if v := c.FormValue("client_id"); v != "" {
		if req.ClientID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errBadField("client_id")
		}
	}
	if v := c.FormValue("program_id"); v != "" {
		if req.ProgramID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errBadField("program_id")
		}
	}
	for _, ch := range strings.Split(c.FormValue("invite"), ",") {
		if ch = strings.TrimSpace(ch); ch != "" {
			req.Options.Invite = append(req.Options.Invite, ch)
		}
	}
	u, err := h.svc.Upload(c.UserContext(), st, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(u)
}

func (h *Handler) get(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	u, err := h.svc.Get(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

// Progress is the body of GET …/progress.
type Progress struct {
	ID         int64           `json:"id"`
	Status     registry.Status `json:"status"`
	ItemsTotal int             `json:"items_total"`
	ItemsDone  int             `json:"items_done"`
	Percent    int             `json:"percent"`
}

func (h *Handler) progress(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	u, err := h.svc.Get(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	p := Progress{ID: u.ID, Status: u.Status, ItemsTotal: u.ItemsTotal, ItemsDone: u.ItemsDone}
	if u.Status == registry.StatusApplied {
		p.Percent = 100
	} else if u.ItemsTotal > 0 {
		p.Percent = min(99, u.ItemsDone*100/u.ItemsTotal)
	}
	return c.JSON(p)
}

func (h *Handler) lines(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	ls, err := h.svc.Lines(c.UserContext(), st, id, c.QueryInt("offset"), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	if ls == nil {
		ls = []registry.PointLine{}
	}
	return c.JSON(fiber.Map{"lines": ls})
}

func (h *Handler) confirm(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	u, err := h.svc.Confirm(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(u)
}

func (h *Handler) invitations(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	invs, err := h.svc.Invitations(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []registry.Invitation{}
	}
	return c.JSON(fiber.Map{"invitations": invs})
}

func (h *Handler) resend(c *fiber.Ctx) error {
	st, err := h.caller(c)
	if err != nil {
		return err
	}
	id, err := uploadID(c)
	if err != nil {
		return err
	}
	var b registry.ResendRequest
	if len(c.Body()) > 0 {
		if err := c.BodyParser(&b); err != nil {
			return errBadField("participant_ids")
		}
	}
	n, err := h.svc.ResendWith(c.UserContext(), st, id, b)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"queued": n})
}
