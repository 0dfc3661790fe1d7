package dashboard

// The operations pages: clients (operators create and edit them), a
// client's staff (the operator and the client's manager invite and
// deactivate), the audit log with its CSV export, and the public page
// where an invitee sets their password.

import (
	"context"

	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// TenantService is what the operations pages need (*tenant.Service).
type TenantService interface {
	CreateClient(ctx context.Context, by tenant.Caller, c tenant.Client) (tenant.Client, error)
	Client(ctx context.Context, by tenant.Caller, id int64) (tenant.Client, error)
	Clients(ctx context.Context, by tenant.Caller) ([]tenant.Client, error)
	UpdateClient(ctx context.Context, by tenant.Caller, id int64, p tenant.ClientPatch) (tenant.Client, error)
	Invite(ctx context.Context, by tenant.Caller, r tenant.InviteRequest) (tenant.Invitation, error)
	Resend(ctx context.Context, by tenant.Caller, id int64) (tenant.Invitation, error)
	RevokeInvitation(ctx context.Context, by tenant.Caller, id int64) (tenant.Invitation, error)
	PendingInvitation(ctx context.Context, tok string) (tenant.Invitation, error)
	Accept(ctx context.Context, tok, name, pw, ip string) (tenant.Member, error)
	Staff(ctx context.Context, by tenant.Caller, clientID int64) ([]tenant.Member, []tenant.Invitation, error)
	Deactivate(ctx context.Context, by tenant.Caller, id int64, reason string) (tenant.Member, error)
	Audit(ctx context.Context, by tenant.Caller, q tenant.AuditQuery) ([]audit.Entry, error)
	ImportShops(ctx context.Context, by tenant.Caller, clientID int64, data []byte) (tenant.ImportResult, error)
	Shops(ctx context.Context, by tenant.Caller, clientID int64) ([]tenant.Shop, error)
	UpdateShop(ctx context.Context, by tenant.Caller, id int64, p tenant.ShopPatch) (tenant.Shop, error)
}

var opsPages = []string{"clients", "client", "audit", "invite", "shops"}

func init() { pageNames = append(pageNames, opsPages...) }

// ctxZone overrides the zone a page without a program shows times in.
const ctxZone = "dash_zone"

var errNoTenant = apperr.New(apperr.NotFound, "not_configured", "Раздел не подключён.")

// registerInvite mounts the invitee's page, which needs no session.
func (s *Server) registerInvite(g fiber.Router) {
	g.Get("/invite/:token", s.invitePage)
	g.Post("/invite/:token", s.acceptInvite)
}

func (s *Server) registerOps(a fiber.Router) {
	o := a.Group("/admin", s.checkCSRF)
	o.Get("/clients", s.clientsPage)
	o.Post("/clients", s.createClient)
	o.Get("/clients/:cid", s.clientPage)
	o.Post("/clients/:cid", s.updateClient)
	o.Post("/clients/:cid/invite", s.inviteStaff)
	o.Post("/staff/:uid/deactivate", s.deactivateStaff)
	o.Post("/invitations/:iid/resend", s.resendInvite)
	o.Post("/invitations/:iid/revoke", s.revokeInvite)
	o.Get("/clients/:cid/shops", s.shopsPage)
	o.Post("/clients/:cid/shops", s.importShops)
	o.Post("/shops/:sid", s.updateShop)
	o.Get("/staff", s.ownStaff)
	o.Get("/audit", s.auditPage)
	o.Get("/audit/export", s.auditExport)
}

// readOnlyGuard refuses an analyst every request but a read (and signing
// out), on every page, present or future.
func readOnlyGuard(c *fiber.Ctx, st access.Staff) bool {
	m := c.Method()
	return st.Role != access.Analyst || m == fiber.MethodGet || m == fiber.MethodHead || c.Path() == Prefix+"/logout"
}

func (s *Server) caller(c *fiber.Ctx) tenant.Caller {
	return tenant.StaffCaller(staff(c), s.clientIP(c))
}

func pathInt(c *fiber.Ctx, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	return id, err == nil && id > 0
}

// --- clients

func (s *Server) clientsPage(c *fiber.Ctx) error {
	return s.showClients(c, fiber.StatusOK, tenant.Client{TimeZone: tenant.DefaultTimeZone}, "")
}

func (s *Server) showClients(c *fiber.Ctx, status int, form tenant.Client, msg string) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	list, err := s.o.Tenant.Clients(c.UserContext(), s.caller(c))
	if err != nil {
		return s.fail(c, err)
	}
	c.Status(status)
	return s.render(c, "clients", map[string]any{"Clients": list, "Form": form, "Error": msg, "Admin": "clients"})
}

func clientForm(c *fiber.Ctx) tenant.Client {
	return tenant.Client{Code: strings.TrimSpace(c.FormValue("code")), Name: c.FormValue("legal_name"), INN: c.FormValue("inn"),
		ContactName: c.FormValue("contact_name"), ContactEmail: c.FormValue("contact_email"),
		ContactPhone: c.FormValue("contact_phone"), TimeZone: strings.TrimSpace(c.FormValue("time_zone"))}
}

// formError is an error's message for a form, or "" with ok false when
// the error is not the caller's to fix (not found, forbidden, an outage
// or a bug: those take the error page).
func formError(err error) (string, bool) {
	e, ok := apperr.As(err)
	if !ok {
		return "", false
	}
	switch e.Kind {
	case apperr.Invalid, apperr.Conflict, apperr.TooLarge, apperr.Unsupported, apperr.RateLimited:
		return e.Message, true
	}
	return "", false
}

func (s *Server) createClient(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	in := clientForm(c)
	out, err := s.o.Tenant.CreateClient(c.UserContext(), s.caller(c), in)
	if msg, ok := formError(err); ok {
		return s.showClients(c, fiber.StatusUnprocessableEntity, in, msg)
	}
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d?done=created", Prefix, out.ID), fiber.StatusSeeOther)
}

// ownStaff sends a client's staff to their client's page, an operator to
// the clients.
func (s *Server) ownStaff(c *fiber.Ctx) error {
	if st := staff(c); st.ClientID != 0 {
		return c.Redirect(fmt.Sprintf("%s/admin/clients/%d", Prefix, st.ClientID), fiber.StatusSeeOther)
	}
	return c.Redirect(Prefix+"/admin/clients", fiber.StatusSeeOther)
}

type clientPageForm struct {
	Invite tenant.InviteRequest
	Error  string
}

func (s *Server) clientPage(c *fiber.Ctx) error {
	return s.showClient(c, fiber.StatusOK, nil, clientPageForm{Invite: tenant.InviteRequest{Role: access.ClientManager}})
}

func (s *Server) showClient(c *fiber.Ctx, status int, edit *tenant.Client, f clientPageForm) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "cid")
	if !ok {
		return s.fail(c, tenant.ErrClientNotFound)
	}
	ctx, by := c.UserContext(), s.caller(c)
	cl, err := s.o.Tenant.Client(ctx, by, id)
	if err != nil {
		return s.fail(c, err)
	}
	members, invs, err := s.o.Tenant.Staff(ctx, by, id)
	if err != nil {
		return s.fail(c, err)
	}
	if edit == nil {
		edit = &cl
	}
	if loc, err := time.LoadLocation(cl.TimeZone); err == nil {
		c.Locals(ctxZone, loc)
	}
	type invView struct {
		tenant.Invitation
		State string
	}
	now := s.o.Now()
	iv := make([]invView, 0, len(invs))
	for _, i := range invs {
		iv = append(iv, invView{i, i.State(now)})
	}
	st := staff(c)
	c.Status(status)
	return s.render(c, "client", map[string]any{"Client": cl, "Edit": edit, "Members": members, "Invitations": iv,
		"F": f, "Roles": tenant.InvitableRoles, "Flash": c.Query("done"), "Admin": "staff",
		"IsOperator": st.Role == access.Operator,
		"CanManage":  st.CheckClient(id, access.ClientManager) == nil && st.Role != access.Analyst,
		"Me":         st.UserID})
}

func (s *Server) updateClient(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "cid")
	if !ok {
		return s.fail(c, tenant.ErrClientNotFound)
	}
	in := clientForm(c)
	p := tenant.ClientPatch{Name: &in.Name, INN: &in.INN, ContactName: &in.ContactName, ContactEmail: &in.ContactEmail,
		ContactPhone: &in.ContactPhone, TimeZone: &in.TimeZone}
	_, err := s.o.Tenant.UpdateClient(c.UserContext(), s.caller(c), id, p)
	if msg, ok := formError(err); ok {
		in.ID = id
		return s.showClient(c, fiber.StatusUnprocessableEntity, &in, clientPageForm{Error: msg, Invite: tenant.InviteRequest{Role: access.ClientManager}})
	}
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d?done=updated", Prefix, id), fiber.StatusSeeOther)
}

func (s *Server) inviteStaff(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "cid")
	if !ok {
		return s.fail(c, tenant.ErrClientNotFound)
	}
	in := tenant.InviteRequest{ClientID: id, Email: strings.TrimSpace(c.FormValue("email")), Name: c.FormValue("name"),
		Role: access.Role(c.FormValue("role"))}
	inv, err := s.o.Tenant.Invite(c.UserContext(), s.caller(c), in)
	if msg, ok := formError(err); ok {
		return s.showClient(c, fiber.StatusUnprocessableEntity, nil, clientPageForm{Invite: in, Error: msg})
	}
	if err != nil {
		return s.fail(c, err)
	}
	done := "invited"
	if inv.EmailError != "" {
		done = "invite_unsent"
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d?done=%s", Prefix, id, done), fiber.StatusSeeOther)
}

func (s *Server) invitationAction(c *fiber.Ctx, do func(context.Context, tenant.Caller, int64) (tenant.Invitation, error), done string) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "iid")
	if !ok {
		return s.fail(c, tenant.ErrInvitationNotFound)
	}
	inv, err := do(c.UserContext(), s.caller(c), id)
	if err != nil {
		return s.fail(c, err)
	}
	if done == "invited" && inv.EmailError != "" {
		done = "invite_unsent"
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d?done=%s", Prefix, inv.ClientID, done), fiber.StatusSeeOther)
}

func (s *Server) resendInvite(c *fiber.Ctx) error {
	return s.invitationAction(c, s.o.Tenant.Resend, "invited")
}

func (s *Server) revokeInvite(c *fiber.Ctx) error {
	return s.invitationAction(c, s.o.Tenant.RevokeInvitation, "revoked")
}

func (s *Server) deactivateStaff(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "uid")
	if !ok {
		return s.fail(c, tenant.ErrMemberNotFound)
	}
	m, err := s.o.Tenant.Deactivate(c.UserContext(), s.caller(c), id, c.FormValue("reason"))
	if err != nil {
		return s.fail(c, err)
	}
	if m.ClientID == 0 {
		return c.Redirect(Prefix+"/admin/clients", fiber.StatusSeeOther)
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d?done=deactivated", Prefix, m.ClientID), fiber.StatusSeeOther)
}

// --- the invitee's page (no session: the token is the credential)

func (s *Server) invitePage(c *fiber.Ctx) error {
	return s.showInvite(c, fiber.StatusOK, "", "")
}

func (s *Server) showInvite(c *fiber.Ctx, status int, name, msg string) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	tok := c.Params("token")
	inv, err := s.o.Tenant.PendingInvitation(c.UserContext(), tok)
	if e, ok := apperr.As(err); ok && (e.Kind == apperr.NotFound || e.Kind == apperr.Conflict) {
		c.Status(fiber.StatusGone)
		if e.Kind == apperr.NotFound {
			c.Status(fiber.StatusNotFound)
		}
		return s.render(c, "invite", map[string]any{"Dead": e.Message})
	}
	if err != nil {
		return s.fail(c, err)
	}
	if name == "" {
		name = inv.Name
	}
	c.Status(status)
	return s.render(c, "invite", map[string]any{"Inv": inv, "RoleTitle": tenant.RoleName(inv.Role), "Name": name,
		"Error": msg, "Token": tok, "Min": tenant.MinPasswordRunes})
}

func (s *Server) acceptInvite(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	name, pw := c.FormValue("name"), c.FormValue("password")
	if pw != c.FormValue("password_repeat") {
		return s.showInvite(c, fiber.StatusUnprocessableEntity, name, tenant.ErrPasswordMismatch.Message)
	}
	m, err := s.o.Tenant.Accept(c.UserContext(), c.Params("token"), name, pw, s.clientIP(c))
	if e, ok := apperr.As(err); ok && e.Kind == apperr.Invalid {
		return s.showInvite(c, fiber.StatusUnprocessableEntity, name, e.Message)
	}
	if err != nil {
		if e, ok := apperr.As(err); ok && (e.Kind == apperr.NotFound || e.Kind == apperr.Conflict) {
			return s.showInvite(c, fiber.StatusOK, "", "")
		}
		return s.fail(c, err)
	}
	s.o.Logger.InfoContext(c.UserContext(), "staff invitation accepted", "user_id", m.ID)
	tok := randomToken()
	s.setCookie(c, loginCSRFCookie, tok, time.Time{})
	return s.render(c, "login", map[string]any{"LoginCSRF": tok, "Email": m.Email,
		"Notice": "Пароль задан. Войдите с ним в кабинет."})
}

// --- the audit log

type auditFilter struct {
	ClientID, ActorID int64
	Action, From, To  string
}

func (s *Server) auditQuery(c *fiber.Ctx) (tenant.AuditQuery, auditFilter, *time.Location, error) {
	st := staff(c)
	var f auditFilter
	var q tenant.AuditQuery
	bad := func(name string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: "bad_param", Field: name, Message: "Некорректное значение фильтра."}
	}
	for name, dst := range map[string]*int64{"client_id": &f.ClientID, "actor_id": &f.ActorID, "before_id": &q.BeforeID} {
		if v := c.Query(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return q, f, nil, bad(name)
			}
			*dst = n
		}
	}
	f.Action, f.From, f.To = strings.TrimSpace(c.Query("action")), c.Query("from"), c.Query("to")
	q.ClientID, q.ActorID, q.Action = f.ClientID, f.ActorID, f.Action
	loc := defaultZone
	cid := f.ClientID
	if st.ClientID != 0 {
		cid = st.ClientID
	}
	if cid != 0 {
		if cl, err := s.o.Tenant.Client(c.UserContext(), s.caller(c), cid); err == nil {
			if l, err := time.LoadLocation(cl.TimeZone); err == nil {
				loc = l
			}
		} else {
			return q, f, nil, err
		}
	}
	for _, b := range []struct {
		v   string
		dst *time.Time
		end bool
		n   string
	}{{f.From, &q.From, false, "from"}, {f.To, &q.To, true, "to"}} {
		if b.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, b.v, loc)
		if err != nil {
			return q, f, nil, bad(b.n)
		}
		if b.end {
			t = t.AddDate(0, 0, 1)
		}
		*b.dst = t
	}
	return q, f, loc, nil
}

const auditPageSize = 50

func (s *Server) auditPage(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	q, f, loc, err := s.auditQuery(c)
	if err != nil {
		return s.fail(c, err)
	}
	c.Locals(ctxZone, loc)
	q.Limit = auditPageSize
	ctx, by := c.UserContext(), s.caller(c)
	list, err := s.o.Tenant.Audit(ctx, by, q)
	if err != nil {
		return s.fail(c, err)
	}
	d := map[string]any{"Entries": list, "F": f, "Admin": "audit", "IsOperator": staff(c).Role == access.Operator}
	if len(list) == auditPageSize {
		d["Next"] = list[len(list)-1].ID
	}
	// The actor filter lists the client's staff (an operator's: those of
	// the chosen client, and the operators).
	cid := staff(c).ClientID
	if cid == 0 {
		cid = f.ClientID
	}
	if cid != 0 {
		if ms, _, err := s.o.Tenant.Staff(ctx, by, cid); err == nil {
			d["Actors"] = ms
		}
	}
	if staff(c).Role == access.Operator {
		if cs, err := s.o.Tenant.Clients(ctx, by); err == nil {
			d["Clients"] = cs
			names := map[int64]string{}
			for _, c := range cs {
				names[c.ID] = c.Code
			}
			d["ClientNames"] = names
		}
	}
	return s.render(c, "audit", d)
}

// auditExportMax bounds one export (the newest entries that match).
const auditExportMax = 100_000

func (s *Server) auditExport(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	q, _, loc, err := s.auditQuery(c)
	if err != nil {
		return s.fail(c, err)
	}
	// The first page is read here, so a refusal (another client, a bad
	// filter) is still an error page; the rest stream.
	ctx, by := context.WithoutCancel(c.UserContext()), s.caller(c)
	q.Limit = 1000
	first, err := s.o.Tenant.Audit(ctx, by, q)
	if err != nil {
		return s.fail(c, err)
	}
	head := []string{"№", "Время (" + loc.String() + ")", "Клиент", "Кто", "Вид", "IP", "Действие", "Объект", "ID объекта", "Причина", "До", "После"}
	return streamTable(c, "audit", head, "csv", func(emit func([]any) error) error {
		page, n := first, 0
		for len(page) > 0 && n < auditExportMax {
			for _, e := range page {
				n++
				client := ""
				if e.ClientID != 0 {
					client = strconv.FormatInt(e.ClientID, 10)
				}
				if err := emit([]any{e.ID, e.At.In(loc).Format("02.01.2006 15:04:05"), client, safeCell(e.Actor.Name),
					string(e.Actor.Kind), e.Actor.IP, e.Action, e.ObjectKind, safeCell(e.ObjectID), safeCell(e.Reason),
					safeCell(string(e.Before)), safeCell(string(e.After))}); err != nil {
					return err
				}
			}
			if len(page) < q.Limit {
				break
			}
			q.BeforeID = page[len(page)-1].ID
			var err error
			if page, err = s.o.Tenant.Audit(ctx, by, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// safeCell keeps a spreadsheet from reading free text as a formula.
func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// adminHome is where a staff member without programs lands: the clients
// for an operator, their client's page for the rest.
func (s *Server) adminHome(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.errorPage(c, fiber.StatusNotFound, "У вас пока нет программ.")
	}
	return s.ownStaff(c)
}
