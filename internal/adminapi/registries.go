package adminapi

// The registry routes: upload a participant or points registry, read its
// report and preview, confirm it, follow its progress, list and re-send
// invitations.

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// Registries is what the registry routes need (*registry.Service).
type Registries interface {
	// MaxFileBytes is the largest registry file accepted.
	MaxFileBytes() int
	Upload(ctx context.Context, st access.Staff, req registry.UploadRequest) (registry.Upload, error)
	Get(ctx context.Context, st access.Staff, id int64) (registry.Upload, error)
	Lines(ctx context.Context, st access.Staff, id int64, offset, limit int) ([]registry.PointLine, error)
	Confirm(ctx context.Context, st access.Staff, id int64) (registry.Upload, error)
	Invitations(ctx context.Context, st access.Staff, id int64) ([]registry.Invitation, error)
	ResendWith(ctx context.Context, st access.Staff, id int64, req registry.ResendRequest) (int, error)
}

var _ Registries = (*registry.Service)(nil)

var (
	errNoFile   = &apperr.Error{Kind: apperr.Invalid, Code: "registry_file_missing", Message: "Приложите файл реестра (поле file).", Field: "file"}
	errBadID    = apperr.New(apperr.NotFound, "registry_not_found", "Реестр не найден.")
	errBadField = func(field string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_field", Message: "Неверное значение поля " + field + ".", Field: field}
	}
)

func (a *API) registryCaller(c *fiber.Ctx) (access.Staff, error) {
	st, err := a.staff(c)
	if err != nil {
		return st, err
	}
	if st.UserID == 0 {
		return st, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
	}
	return st, nil
}

// registryUpload is the signed-in staff member and the upload the path
// names, the start of every route on one upload.
func (a *API) registryUpload(c *fiber.Ctx) (access.Staff, int64, error) {
	st, err := a.registryCaller(c)
	if err != nil {
		return st, 0, err
	}
	id, err := httpapi.PathID(c, "id", errBadID)
	return st, id, err
}

func (a *API) upload(c *fiber.Ctx) error {
	st, err := a.registryCaller(c)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errNoFile
	}
	if fh.Size > int64(a.registries.MaxFileBytes()) {
		return registry.ErrFileTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return errNoFile
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(a.registries.MaxFileBytes())+1))
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
	u, err := a.registries.Upload(c.UserContext(), st, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(u)
}

func (a *API) getRegistry(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	u, err := a.registries.Get(c.UserContext(), st, id)
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

func (a *API) progress(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	u, err := a.registries.Get(c.UserContext(), st, id)
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

func (a *API) lines(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	ls, err := a.registries.Lines(c.UserContext(), st, id, c.QueryInt("offset"), c.QueryInt("limit", 100))
	if err != nil {
		return err
	}
	if ls == nil {
		ls = []registry.PointLine{}
	}
	return c.JSON(fiber.Map{"lines": ls})
}

func (a *API) confirm(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	u, err := a.registries.Confirm(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(u)
}

func (a *API) invitations(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	invs, err := a.registries.Invitations(c.UserContext(), st, id)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []registry.Invitation{}
	}
	return c.JSON(fiber.Map{"invitations": invs})
}

func (a *API) resend(c *fiber.Ctx) error {
	st, id, err := a.registryUpload(c)
	if err != nil {
		return err
	}
	var b registry.ResendRequest
	if len(c.Body()) > 0 {
		if err := c.BodyParser(&b); err != nil {
			return errBadField("participant_ids")
		}
	}
	n, err := a.registries.ResendWith(c.UserContext(), st, id, b)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"queued": n})
}
