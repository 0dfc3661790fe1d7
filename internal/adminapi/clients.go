package adminapi

// The operations routes: clients (operators), staff invitations and
// deactivation (operators and client managers), the audit log (every
// client's staff, their own client; operators, all).

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// Tenant is what the operations routes need (*tenant.Service); every call
// checks the caller's client and role there.
type Tenant interface {
	CreateClient(ctx context.Context, by tenant.Caller, c tenant.Client) (tenant.Client, error)
	Client(ctx context.Context, by tenant.Caller, id int64) (tenant.Client, error)
	Clients(ctx context.Context, by tenant.Caller) ([]tenant.Client, error)
	UpdateClient(ctx context.Context, by tenant.Caller, id int64, p tenant.ClientPatch) (tenant.Client, error)
	Invite(ctx context.Context, by tenant.Caller, r tenant.InviteRequest) (tenant.Invitation, error)
	Resend(ctx context.Context, by tenant.Caller, id int64) (tenant.Invitation, error)
	RevokeInvitation(ctx context.Context, by tenant.Caller, id int64) (tenant.Invitation, error)
	Accept(ctx context.Context, tok, name, pw, ip string) (tenant.Member, error)
	Staff(ctx context.Context, by tenant.Caller, clientID int64) ([]tenant.Member, []tenant.Invitation, error)
	Deactivate(ctx context.Context, by tenant.Caller, id int64, reason string) (tenant.Member, error)
	Audit(ctx context.Context, by tenant.Caller, q tenant.AuditQuery) ([]audit.Entry, error)
	SetSupervisor(ctx context.Context, by tenant.Caller, participantID int64, supervisorID *int64) (tenant.TeamMember, error)
}

var _ Tenant = (*tenant.Service)(nil)

// MaxJSONBody bounds the JSON body of an operations route.
const MaxJSONBody = 64 << 10

var (
	errOpsBadJSON  = apperr.New(apperr.Invalid, "bad_json", "Некорректный JSON в теле запроса.")
	errOpsTooLarge = apperr.New(apperr.TooLarge, "body_too_large", "Слишком большое тело запроса (не больше 64 КиБ).")
	errOpsBadUTF8  = apperr.New(apperr.Invalid, "invalid_utf8", "Запрос содержит недопустимые символы (ожидается UTF-8).")
	errOpsBadParam = func(name string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: "bad_param", Field: name, Message: "Некорректное значение параметра " + name + "."}
	}
	errAnalystWrite = apperr.New(apperr.Forbidden, "read_only_role", "Роль «аналитик» только просматривает данные и ничего не меняет.")
)

// decodeJSON reads a bounded, UTF-8, strict JSON body into v.
func decodeJSON(c *fiber.Ctx, v any) error {
	b := c.Body()
	if len(b) > MaxJSONBody {
		return errOpsTooLarge
	}
	if !utf8.Valid(b) {
		return errOpsBadUTF8
	}
	return httpapi.DecodeStrictJSON(b, v, errOpsBadJSON)
}

func (a *API) caller(c *fiber.Ctx) (tenant.Caller, error) {
	st, err := a.staff(c)
	if err != nil {
		return tenant.Caller{}, err
	}
	return tenant.StaffCaller(st, httpapi.ClientIP(c, a.proxyHeader)), nil
}

func (a *API) registerOps(r fiber.Router) {
	cl := r.Group("/admin/v1/clients")
	cl.Post("/", a.createClient)
	cl.Get("/", a.listClients)
	cl.Get("/:id", a.getClient)
	cl.Patch("/:id", a.patchClient)
	cl.Get("/:id/staff", a.listStaff)
	st := r.Group("/admin/v1/staff")
	st.Post("/invitations", a.invite)
	st.Post("/invitations/accept", a.accept)
	st.Post("/invitations/:id/resend", a.resendInvitation)
	st.Post("/invitations/:id/revoke", a.revokeInvitation)
	st.Post("/:id/deactivate", a.deactivate)
	r.Get("/admin/v1/audit", a.auditLog)
	r.Put("/admin/v1/participants/:id/supervisor", a.setSupervisor)
}

func (a *API) setSupervisor(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrParticipantNotFound)
	if err != nil {
		return err
	}
	var in struct {
		SupervisorID *int64 `json:"supervisor_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := a.tenant.SetSupervisor(c.UserContext(), by, id, in.SupervisorID)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (a *API) createClient(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	var in tenant.Client
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.ID, in.CreatedAt, in.UpdatedAt = 0, time.Time{}, time.Time{}
	out, err := a.tenant.CreateClient(c.UserContext(), by, in)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/clients/"+strconv.FormatInt(out.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (a *API) listClients(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	list, err := a.tenant.Clients(c.UserContext(), by)
	if err != nil {
		return err
	}
	if list == nil {
		list = []tenant.Client{}
	}
	return c.JSON(fiber.Map{"items": list})
}

func (a *API) getClient(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrClientNotFound)
	if err != nil {
		return err
	}
	out, err := a.tenant.Client(c.UserContext(), by, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (a *API) patchClient(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrClientNotFound)
	if err != nil {
		return err
	}
	var p tenant.ClientPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	out, err := a.tenant.UpdateClient(c.UserContext(), by, id, p)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

type invitationDTO struct {
	tenant.Invitation
	State string `json:"state"`
}

func invitationView(i tenant.Invitation, now time.Time) invitationDTO {
	return invitationDTO{Invitation: i, State: i.State(now)}
}

func (a *API) listStaff(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrClientNotFound)
	if err != nil {
		return err
	}
	ms, invs, err := a.tenant.Staff(c.UserContext(), by, id)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []tenant.Member{}
	}
	now := time.Now()
	out := make([]invitationDTO, 0, len(invs))
	for _, i := range invs {
		out = append(out, invitationView(i, now))
	}
	return c.JSON(fiber.Map{"members": ms, "invitations": out})
}

func (a *API) invite(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	var in tenant.InviteRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.ClientID == 0 {
		in.ClientID = by.Staff.ClientID
	}
	inv, err := a.tenant.Invite(c.UserContext(), by, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(invitationView(inv, time.Now()))
}

func (a *API) invitationAction(c *fiber.Ctx, do func(context.Context, tenant.Caller, int64) (tenant.Invitation, error), status int) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrInvitationNotFound)
	if err != nil {
		return err
	}
	inv, err := do(c.UserContext(), by, id)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(invitationView(inv, time.Now()))
}

func (a *API) resendInvitation(c *fiber.Ctx) error {
	return a.invitationAction(c, a.tenant.Resend, fiber.StatusCreated)
}

func (a *API) revokeInvitation(c *fiber.Ctx) error {
	return a.invitationAction(c, a.tenant.RevokeInvitation, fiber.StatusOK)
}

// accept needs no sign-in: the token from the e-mail is the credential.
func (a *API) accept(c *fiber.Ctx) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := a.tenant.Accept(c.UserContext(), in.Token, in.Name, in.Password, httpapi.ClientIP(c, a.proxyHeader))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (a *API) deactivate(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrMemberNotFound)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := a.tenant.Deactivate(c.UserContext(), by, id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

type auditActorDTO struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
	IP   string `json:"ip,omitempty"`
}

type auditDTO struct {
	ID         int64         `json:"id"`
	At         time.Time     `json:"at"`
	ClientID   int64         `json:"client_id,omitempty"`
	Actor      auditActorDTO `json:"actor"`
	Action     string        `json:"action"`
	ObjectKind string        `json:"object_kind"`
	ObjectID   string        `json:"object_id"`
	Before     any           `json:"before"`
	After      any           `json:"after"`
	Reason     string        `json:"reason"`
}

func rawOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return jsonRaw(b)
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

// parseDay reads a date bound of an audit filter: YYYY-MM-DD (midnight in
// loc; end bounds are the day after, so "to" is inclusive) or RFC 3339.
func parseDay(v string, loc *time.Location, end bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

func (a *API) auditLog(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	var q tenant.AuditQuery
	for name, dst := range map[string]*int64{"client_id": &q.ClientID, "actor_id": &q.ActorID, "before_id": &q.BeforeID} {
		if *dst, err = httpapi.QueryInt(c, name, errOpsBadParam); err != nil {
			return err
		}
	}
	limit, err := httpapi.QueryInt(c, "limit", errOpsBadParam)
	if err != nil || limit > 1000 {
		return errOpsBadParam("limit")
	}
	q.Limit = int(limit)
	if q.Limit == 0 {
		q.Limit = 100
	}
	q.Action = c.Query("action")
	var ok bool
	if q.From, ok = parseDay(c.Query("from"), time.UTC, false); !ok {
		return errOpsBadParam("from")
	}
	if q.To, ok = parseDay(c.Query("to"), time.UTC, true); !ok {
		return errOpsBadParam("to")
	}
	list, err := a.tenant.Audit(c.UserContext(), by, q)
	if err != nil {
		return err
	}
	out := make([]auditDTO, 0, len(list))
	for _, e := range list {
		out = append(out, auditDTO{ID: e.ID, At: e.At, ClientID: e.ClientID,
			Actor:  auditActorDTO{Kind: string(e.Actor.Kind), ID: e.Actor.ID, Name: e.Actor.Name, IP: e.Actor.IP},
			Action: e.Action, ObjectKind: e.ObjectKind, ObjectID: e.ObjectID,
			Before: rawOrNil(e.Before), After: rawOrNil(e.After), Reason: e.Reason})
	}
	res := fiber.Map{"items": out}
	if len(list) == q.Limit && len(list) > 0 {
		res["next_before_id"] = list[len(list)-1].ID
	}
	return c.JSON(res)
}

// readOnly wraps the staff authentication so that an analyst, who reads
// and changes nothing, is refused every request that is not a read, on
// every route of the API, present or future.
func readOnly(staff StaffFunc) StaffFunc {
	return func(c *fiber.Ctx) (access.Staff, error) {
		st, err := staff(c)
		if err != nil {
			return st, err
		}
		if st.Role == access.Analyst && c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return access.Staff{}, errAnalystWrite
		}
		return st, nil
	}
}
