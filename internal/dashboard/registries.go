package dashboard

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// registerRegistries mounts the registry pages on the program group p.
func (s *Server) registerRegistries(p fiber.Router) {
	p.Get("/registries", s.registriesPage)
	p.Post("/registries", s.uploadRegistry)
	p.Get("/registries/:rid", s.registryPage)
	p.Post("/registries/:rid/confirm", s.confirmRegistry)
	p.Post("/registries/:rid/resend", s.resendInvitations)
}

var errNoRegistries = apperr.New(apperr.NotFound, "registries_not_configured", "Реестры не подключены.")

// uploads lists the client's participant registries and the program's
// points registries, newest first.
func (s *Server) uploads(c *fiber.Ctx) ([]report.Upload, error) {
	p := program(c)
	return s.store.Uploads(c.UserContext(), p.ClientID, p.ID)
}

// uploadForm is the state of the upload forms, re-shown with an error.
type uploadForm struct {
	Kind, Period, UnknownShops, InviteMethod string
	InviteSMS, InviteEmail                   bool
	Error                                    string
}

func (s *Server) registriesPage(c *fiber.Ctx) error {
	if s.o.Registries == nil {
		return s.fail(c, errNoRegistries)
	}
	return s.showRegistries(c, fiber.StatusOK, uploadForm{Period: s.lastMonth(c), UnknownShops: registry.UnknownShopsReport,
		InviteMethod: registry.MethodCode, InviteSMS: true})
}

// lastMonth is the month before the current one in the program's zone,
// "2006-01": the default period of a points registry.
func (s *Server) lastMonth(c *fiber.Ctx) string {
	now := s.o.Now().In(program(c).Location)
	return time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}

func (s *Server) showRegistries(c *fiber.Ctx, status int, f uploadForm) error {
	list, err := s.uploads(c)
	if err != nil {
		return s.fail(c, err)
	}
	d := s.pageData(c, s.period(c))
	d["Uploads"], d["F"] = list, f
	d["CanUpload"] = staff(c).CheckClient(program(c).ClientID, access.ClientManager) == nil
	d["MaxMB"] = s.o.Registries.MaxFileBytes() >> 20
	c.Status(status)
	return s.render(c, "registries", d)
}

func (s *Server) uploadRegistry(c *fiber.Ctx) error {
	if s.o.Registries == nil {
		return s.fail(c, errNoRegistries)
	}
	p := program(c)
	f := uploadForm{Kind: c.FormValue("kind"), Period: c.FormValue("period"), UnknownShops: c.FormValue("unknown_shops"),
		InviteMethod: c.FormValue("invite_method"), InviteSMS: c.FormValue("invite_sms") != "",
		InviteEmail: c.FormValue("invite_email") != ""}
	if f.Period == "" {
		f.Period = s.lastMonth(c)
	}
	fail := func(err error) error {
		e, ok := apperr.As(err)
		if !ok || e.Kind == apperr.NotFound || e.Kind == apperr.Forbidden || e.Kind == apperr.Unauthorized {
			return s.fail(c, err)
		}
		f.Error = e.Message
		status := fiber.StatusUnprocessableEntity
		if e.Kind == apperr.TooLarge {
			status = fiber.StatusRequestEntityTooLarge
		}
		return s.showRegistries(c, status, f)
	}
	if err := staff(c).CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail(apperr.New(apperr.Invalid, "registry_file_missing", "Выберите файл реестра (CSV или XLSX)."))
	}
	limit := s.o.Registries.MaxFileBytes()
	if fh.Size > int64(limit) {
		return fail(registry.ErrFileTooLarge)
	}
	file, err := fh.Open()
	if err != nil {
		return fail(apperr.New(apperr.Invalid, "registry_file_missing", "Файл не прочитался, загрузите его ещё раз."))
	}
	data, err := io.ReadAll(io.LimitReader(file, int64(limit)+1))
	file.Close()
	if err != nil {
		return fail(apperr.New(apperr.Invalid, "registry_file_missing", "Файл не прочитался, загрузите его ещё раз."))
	}
	req := registry.UploadRequest{ClientID: p.ClientID, Kind: registry.Kind(f.Kind), FileName: fh.Filename, Data: data}
	if req.Kind == registry.KindPoints {
		req.ProgramID, req.Period = p.ID, f.Period
	} else {
		req.Options = registry.Options{UnknownShops: f.UnknownShops, InviteMethod: f.InviteMethod}
		if f.InviteSMS {
			req.Options.Invite = append(req.Options.Invite, registry.ChannelSMS)
		}
		if f.InviteEmail {
			req.Options.Invite = append(req.Options.Invite, registry.ChannelEmail)
		}
	}
	u, err := s.o.Registries.Upload(c.UserContext(), staff(c), req)
	if err != nil {
		return fail(err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/registries/%d", Prefix, p.ID, u.ID), fiber.StatusSeeOther)
}

// programUpload loads an upload that belongs to the page's program: a
// participant registry of its client or a points registry of the program.
func (s *Server) programUpload(c *fiber.Ctx) (registry.Upload, error) {
	id, err := strconv.ParseInt(c.Params("rid"), 10, 64)
	if err != nil || id <= 0 {
		return registry.Upload{}, registry.ErrNotFound
	}
	u, err := s.o.Registries.Get(c.UserContext(), staff(c), id)
	if err != nil {
		return u, err
	}
	p := program(c)
	if u.ClientID != p.ClientID || (u.Kind == registry.KindPoints && u.ProgramID != p.ID) {
		return registry.Upload{}, registry.ErrNotFound
	}
	return u, nil
}

// invitationRow is one participant's invitations.
type invitationRow struct {
	ParticipantID int64
	Name, Phone   string
	Channels      []registry.Invitation
	SignedInAt    *time.Time
}

const linesPage = 100

func (s *Server) registryPage(c *fiber.Ctx) error {
	if s.o.Registries == nil {
		return s.fail(c, errNoRegistries)
	}
	u, err := s.programUpload(c)
	if err != nil {
		return s.fail(c, err)
	}
	return s.showRegistry(c, fiber.StatusOK, u, "")
}

func (s *Server) showRegistry(c *fiber.Ctx, status int, u registry.Upload, msg string) error {
	ctx, st := c.UserContext(), staff(c)
	d := s.pageData(c, s.period(c))
	d["U"], d["Error"], d["Flash"], d["N"] = u, msg, c.Query("done"), c.QueryInt("n")
	manager := st.CheckClient(u.ClientID, access.ClientManager) == nil
	d["CanManage"] = manager
	d["CanConfirm"] = manager && u.Status == registry.StatusValidated && !(u.NeedsSecondApproval && u.UploadedBy == st.UserID)
	d["WaitsSecond"] = u.Status == registry.StatusValidated && u.NeedsSecondApproval && u.UploadedBy == st.UserID
	running := u.Status == registry.StatusConfirmed || u.Status == registry.StatusProcessing
	d["Running"] = running
	pct := 0
	if u.Status == registry.StatusApplied {
		pct = 100
	} else if u.ItemsTotal > 0 {
		pct = min(99, u.ItemsDone*100/u.ItemsTotal)
	}
	d["Percent"] = pct
	if u.Kind == registry.KindPoints && u.Status != registry.StatusRejected {
		off, _ := strconv.Atoi(c.Query("offset"))
		off = max(off, 0)
		lines, err := s.o.Registries.Lines(ctx, st, u.ID, off, linesPage)
		if err != nil {
			return s.fail(c, err)
		}
		d["Lines"], d["Offset"] = lines, off
		if off > 0 {
			d["PrevOffset"] = strconv.Itoa(max(off-linesPage, 0))
		}
		if len(lines) == linesPage {
			d["NextOffset"] = strconv.Itoa(off + linesPage)
		}
	}
	if u.Kind == registry.KindParticipants {
		invs, err := s.o.Registries.Invitations(ctx, st, u.ID)
		if err != nil {
			return s.fail(c, err)
		}
		var rows []invitationRow
		at := map[int64]int{}
		sent, signed := 0, 0
		for _, inv := range invs {
			i, ok := at[inv.ParticipantID]
			if !ok {
				i = len(rows)
				at[inv.ParticipantID] = i
				rows = append(rows, invitationRow{ParticipantID: inv.ParticipantID, Name: inv.Name, Phone: inv.Phone})
			}
			// Keep the latest round per channel.
			replaced := false
			for j, ch := range rows[i].Channels {
				if ch.Channel == inv.Channel {
					if inv.Round >= ch.Round {
						rows[i].Channels[j] = inv
					}
					replaced = true
				}
			}
			if !replaced {
				rows[i].Channels = append(rows[i].Channels, inv)
			}
			if inv.SignedInAt != nil {
				rows[i].SignedInAt = inv.SignedInAt
			}
		}
		for _, r := range rows {
			for _, ch := range r.Channels {
				if ch.Status == registry.InviteSent {
					sent++
					break
				}
			}
			if r.SignedInAt != nil {
				signed++
			}
		}
		d["Invitations"], d["Delivered"], d["SignedIn"] = rows, sent, signed
		d["CanResend"] = manager && u.Status == registry.StatusApplied
	}
	if running {
		d["Refresh"] = true
	}
	c.Status(status)
	return s.render(c, "registry", d)
}

func (s *Server) confirmRegistry(c *fiber.Ctx) error {
	if s.o.Registries == nil {
		return s.fail(c, errNoRegistries)
	}
	u, err := s.programUpload(c)
	if err != nil {
		return s.fail(c, err)
	}
	if _, err := s.o.Registries.Confirm(c.UserContext(), staff(c), u.ID); err != nil {
		return s.registryError(c, u, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/registries/%d?done=confirmed", Prefix, program(c).ID, u.ID), fiber.StatusSeeOther)
}

// registryError shows the upload again with the service's message, or the
// error page for tenant and role failures other than maker-checker.
func (s *Server) registryError(c *fiber.Ctx, u registry.Upload, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Kind == apperr.NotFound || (e.Kind == apperr.Forbidden && e.Code != registry.ErrSecondApproval.Code) {
		return s.fail(c, err)
	}
	status := fiber.StatusConflict
	switch e.Kind {
	case apperr.Forbidden:
		status = fiber.StatusForbidden
	case apperr.Invalid:
		status = fiber.StatusUnprocessableEntity
	}
	if cur, err := s.programUpload(c); err == nil {
		u = cur
	}
	return s.showRegistry(c, status, u, e.Message)
}

func (s *Server) resendInvitations(c *fiber.Ctx) error {
	if s.o.Registries == nil {
		return s.fail(c, errNoRegistries)
	}
	u, err := s.programUpload(c)
	if err != nil {
		return s.fail(c, err)
	}
	var ids []int64
	if v := c.FormValue("participant_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return s.registryError(c, u, apperr.New(apperr.Invalid, "invalid_field", "Неверный участник."))
		}
		ids = []int64{id}
	}
	n, err := s.o.Registries.Resend(c.UserContext(), staff(c), u.ID, ids)
	if err != nil {
		return s.registryError(c, u, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/registries/%d?done=resent&n=%d", Prefix, program(c).ID, u.ID, n), fiber.StatusSeeOther)
}
