package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
)

// Store keeps clients, staff and invitations (*tenantdb.Store). Every
// method that takes an audit.Entry records it in the transaction of its
// change, with ClientID, ObjectID, Before and After filled in from the
// rows it wrote.
type Store interface {
	// CreateClient inserts c; ErrClientExists if its code is taken.
	CreateClient(ctx context.Context, c Client, e audit.Entry) (Client, error)
	// Client returns the client with id or ErrClientNotFound.
	Client(ctx context.Context, id int64) (Client, error)
	// ClientByCode returns the client with code or ErrClientNotFound.
	ClientByCode(ctx context.Context, code string) (Client, error)
	// Clients lists every client by name.
	Clients(ctx context.Context) ([]Client, error)
	// UpdateClient locks the client, applies fn and stores the result;
	// ErrClientNotFound if there is none, fn's error as is.
	UpdateClient(ctx context.Context, id int64, fn func(*Client) error, e audit.Entry) (Client, error)

	// CreateInvitation stores inv (revoking a pending invitation of the
	// same e-mail in the same client); ErrEmailTaken if a dashboard user
	// has the e-mail or another client has a pending invitation of it.
	CreateInvitation(ctx context.Context, inv Invitation, e audit.Entry) (Invitation, error)
	// InvitationSent records the outcome of sending the invitation's
	// e-mail (sendErr empty: delivered to the SMTP server at at).
	InvitationSent(ctx context.Context, id int64, at time.Time, sendErr string) error
	// Invitation returns the invitation with id or ErrInvitationNotFound.
	Invitation(ctx context.Context, id int64) (Invitation, error)
	// InvitationByToken returns the invitation whose token hashes to hash,
	// or ErrInvitationInvalid.
	InvitationByToken(ctx context.Context, hash []byte) (Invitation, error)
	// Invitations lists a client's invitations, newest first.
	Invitations(ctx context.Context, clientID int64) ([]Invitation, error)
	// RevokeInvitation revokes a pending invitation (ErrInvitationUsed if
	// it was accepted; a revoked one is returned as is).
	RevokeInvitation(ctx context.Context, id int64, now time.Time, e audit.Entry) (Invitation, error)
	// AcceptInvitation, with the invitation locked: refuses it unless it
	// is pending at now (ErrInvitationInvalid, ErrInvitationUsed,
	// ErrInvitationRevoked, ErrInvitationExpired), creates the dashboard
	// user, marks the invitation accepted and records e with the new user
	// as its actor. ErrEmailTaken if the e-mail got an account meanwhile.
	AcceptInvitation(ctx context.Context, hash []byte, now time.Time, name, passwordHash string, e audit.Entry) (Member, error)

	// Member returns the staff member with id or ErrMemberNotFound.
	Member(ctx context.Context, id int64) (Member, error)
	// Members lists a client's staff (clientID 0: the operators).
	Members(ctx context.Context, clientID int64) ([]Member, error)
	// Deactivate marks the member deactivated at now and deletes their
	// sessions; a deactivated member is returned as is, nothing recorded.
	Deactivate(ctx context.Context, id int64, now time.Time, e audit.Entry) (Member, error)

	// ImportShops upserts shops by (client, code) in one transaction and
	// records e once with the counts and codes.
	ImportShops(ctx context.Context, clientID int64, shops []Shop, e audit.Entry) (ImportResult, error)
	// Shops lists a client's shops by code.
	Shops(ctx context.Context, clientID int64) ([]Shop, error)
	// Shop returns the shop with id or ErrShopNotFound.
	Shop(ctx context.Context, id int64) (Shop, error)
	// UpdateShop locks the shop, applies fn and stores the result.
	UpdateShop(ctx context.Context, id int64, fn func(*Shop) error, e audit.Entry) (Shop, error)

	// ParticipantClient returns the client of a participant, or
	// ErrParticipantNotFound.
	ParticipantClient(ctx context.Context, id int64) (int64, error)
	// SetSupervisor sets (nil: clears) the participant's supervisor, with
	// the chain above the supervisor locked: ErrParticipantNotFound if
	// the supervisor is not the client's, ErrSupervisorRole, or
	// ErrSupervisorCycle.
	SetSupervisor(ctx context.Context, clientID, id int64, supervisorID *int64, e audit.Entry) (TeamMember, error)
}

// AuditLog lists audit entries (*auditdb.Store).
type AuditLog interface {
	List(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
}

// Mailer sends one e-mail (*email.Client).
type Mailer interface {
	Send(ctx context.Context, m email.Message) (email.Result, error)
}

// Config tunes the Service.
type Config struct {
	// PublicURL is the external base URL invitation links start with.
	PublicURL string
	// InvitationTTL is how long an invitation works (default 7 days).
	InvitationTTL time.Duration
	// Mail sends invitations; nil: they are stored and reported undelivered.
	Mail Mailer
	// SendTimeout bounds one e-mail (default 30 s).
	SendTimeout time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Service is the clients and staff use cases.
type Service struct {
	store Store
	log   AuditLog
	cfg   Config
}

// NewService returns a Service.
func NewService(store Store, log AuditLog, cfg Config) *Service {
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{store: store, log: log, cfg: cfg}
}

// Caller is who calls: their access and how the audit log names them.
type Caller struct {
	Staff access.Staff
	Actor audit.Actor
}

// StaffCaller is a signed-in staff member calling from ip.
func StaffCaller(st access.Staff, ip string) Caller {
	return Caller{Staff: st, Actor: audit.StaffActor(st.UserID, "", ip)}
}

// CLICaller is a platform operator at the command line (name: the OS user).
func CLICaller(name string) Caller {
	return Caller{Staff: access.Staff{Role: access.Operator}, Actor: audit.Actor{Kind: audit.CLI, Name: name}}
}

func (c Caller) entry(action, kind, reason string) audit.Entry {
	return audit.Entry{Actor: c.Actor, Action: action, ObjectKind: kind, Reason: reason}
}

func (c Caller) operator() bool { return c.Staff.Role == access.Operator }

// CreateClient creates a client (operators only).
func (s *Service) CreateClient(ctx context.Context, by Caller, c Client) (Client, error) {
	if !by.operator() {
		return Client{}, access.ErrForbidden
	}
	if err := c.Validate(); err != nil {
		return Client{}, err
	}
	return s.store.CreateClient(ctx, c, by.entry("client.create", "client", ""))
}

// Client returns a client its staff or an operator may see.
func (s *Service) Client(ctx context.Context, by Caller, id int64) (Client, error) {
	if !by.Staff.CanSee(id) {
		return Client{}, ErrClientNotFound
	}
	return s.store.Client(ctx, id)
}

// Clients lists every client (operators only).
func (s *Service) Clients(ctx context.Context, by Caller) ([]Client, error) {
	if !by.operator() {
		return nil, access.ErrForbidden
	}
	return s.store.Clients(ctx)
}

// UpdateClient changes a client's card (operators only).
func (s *Service) UpdateClient(ctx context.Context, by Caller, id int64, p ClientPatch) (Client, error) {
	if !by.Staff.CanSee(id) {
		return Client{}, ErrClientNotFound
	}
	if !by.operator() {
		return Client{}, access.ErrForbidden
	}
	return s.store.UpdateClient(ctx, id, p.Apply, by.entry("client.update", "client", ""))
}

// mayManageStaff: the operator, or the client's manager.
func (by Caller) mayManageStaff(clientID int64) error {
	if !by.Staff.CanSee(clientID) {
		return ErrClientNotFound
	}
	return by.Staff.CheckClient(clientID, access.ClientManager)
}

// InviteRequest is who to invite.
type InviteRequest struct {
	ClientID int64       `json:"client_id"`
	Email    string      `json:"email"`
	Name     string      `json:"name"`
	Role     access.Role `json:"role"`
}

// Invite invites a staff member of a client (the operator or the client's
// manager) and e-mails them the link. The invitation is stored whether or
// not the e-mail goes out; EmailError says why it did not (resend with
// Resend).
func (s *Service) Invite(ctx context.Context, by Caller, r InviteRequest) (Invitation, error) {
	if err := by.mayManageStaff(r.ClientID); err != nil {
		return Invitation{}, err
	}
	client, err := s.store.Client(ctx, r.ClientID)
	if err != nil {
		return Invitation{}, err
	}
	addr, err := Email(r.Email, "email")
	if err != nil {
		return Invitation{}, err
	}
	name, err := text(r.Name, "name", 200, false)
	if err != nil {
		return Invitation{}, err
	}
	ok := false
	for _, role := range InvitableRoles {
		ok = ok || role == r.Role
	}
	if !ok {
		return Invitation{}, ErrBadRole
	}
	now := s.cfg.Now()
	tok, hash := NewToken()
	inv := Invitation{ClientID: client.ID, Email: addr, Name: name, Role: r.Role, InvitedBy: by.Staff.UserID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL), TokenHash: hash}
	inv, err = s.store.CreateInvitation(ctx, inv, by.entry("staff.invite", "staff_invitation", ""))
	if err != nil {
		return Invitation{}, err
	}
	inv.Token = tok
	return s.send(ctx, inv, client), nil
}

// Resend replaces a pending or expired invitation with a new one (a new
// token, a new term) and e-mails it; the old link stops working.
func (s *Service) Resend(ctx context.Context, by Caller, id int64) (Invitation, error) {
	old, err := s.store.Invitation(ctx, id)
	if errors.Is(err, ErrInvitationNotFound) || (err == nil && !by.Staff.CanSee(old.ClientID)) {
		return Invitation{}, ErrInvitationNotFound
	}
	if err != nil {
		return Invitation{}, err
	}
	if old.AcceptedAt != nil {
		return Invitation{}, ErrInvitationUsed
	}
	return s.Invite(ctx, by, InviteRequest{ClientID: old.ClientID, Email: old.Email, Name: old.Name, Role: old.Role})
}

// InviteLink is the dashboard page an invitation's token opens.
func (s *Service) InviteLink(tok string) string {
	return s.cfg.PublicURL + "/dashboard/invite/" + url.PathEscape(tok)
}

func (s *Service) send(ctx context.Context, inv Invitation, c Client) Invitation {
	sendErr := ""
	if s.cfg.Mail == nil {
		sendErr = "e-mail не настроен (SMTP_ADDR)"
	} else {
		greeting := "Здравствуйте!"
		if inv.Name != "" {
			greeting = "Здравствуйте, " + inv.Name + "!"
		}
		m := email.Message{To: inv.Email, ToName: inv.Name,
			Subject: "Приглашение в кабинет Loyalty Jam — " + c.Name,
			Text: fmt.Sprintf("%s\n\nВас пригласили в кабинет Loyalty Jam компании %s с ролью «%s».\n\n"+
				"Чтобы войти, задайте пароль по ссылке (она действует до %s UTC и срабатывает один раз):\n%s\n\n"+
				"Если вы не ждали этого письма, просто не открывайте ссылку.\n",
				greeting, c.Name, RoleName(inv.Role), inv.ExpiresAt.UTC().Format("02.01.2006 15:04"), s.InviteLink(inv.Token)),
			Headers: map[string]string{"X-Loyaltyjam-Invitation": fmt.Sprint(inv.ID)}}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SendTimeout)
		_, err := s.cfg.Mail.Send(sctx, m)
		cancel()
		if err != nil {
			sendErr = err.Error()
			s.cfg.Logger.WarnContext(ctx, "staff invitation e-mail failed", "invitation_id", inv.ID, "err", err)
		}
	}
	now := s.cfg.Now()
	if err := s.store.InvitationSent(context.WithoutCancel(ctx), inv.ID, now, sendErr); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "record invitation delivery", "invitation_id", inv.ID, "err", err)
	}
	if sendErr == "" {
		inv.EmailSentAt = &now
	}
	inv.EmailError = sendErr
	return inv
}

// RoleName is the Russian name of a staff role.
func RoleName(r access.Role) string {
	switch r {
	case access.ClientManager:
		return "менеджер клиента"
	case access.Moderator:
		return "модератор"
	case access.Analyst:
		return "аналитик (только чтение)"
	case access.Operator:
		return "оператор платформы"
	case access.TaxOfficer:
		return "налоговый специалист"
	}
	return string(r)
}

// RevokeInvitation revokes a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, by Caller, id int64) (Invitation, error) {
	inv, err := s.store.Invitation(ctx, id)
	if errors.Is(err, ErrInvitationNotFound) || (err == nil && !by.Staff.CanSee(inv.ClientID)) {
		return Invitation{}, ErrInvitationNotFound
	}
	if err != nil {
		return Invitation{}, err
	}
	if err := by.mayManageStaff(inv.ClientID); err != nil {
		return Invitation{}, err
	}
	return s.store.RevokeInvitation(ctx, id, s.cfg.Now(), by.entry("staff.invitation_revoke", "staff_invitation", ""))
}

// PendingInvitation returns the invitation a link's token opens if it can
// still be accepted, or the error saying why not.
func (s *Service) PendingInvitation(ctx context.Context, tok string) (Invitation, error) {
	if !ValidTokenShape(tok) {
		return Invitation{}, ErrInvitationInvalid
	}
	inv, err := s.store.InvitationByToken(ctx, HashToken(tok))
	if err != nil {
		return Invitation{}, err
	}
	switch inv.State(s.cfg.Now()) {
	case "accepted":
		return inv, ErrInvitationUsed
	case "revoked":
		return inv, ErrInvitationRevoked
	case "expired":
		return inv, ErrInvitationExpired
	}
	return inv, nil
}

// Accept creates the invitee's account with the password they chose
// (name: their name, if they changed it) from ip; the token then stops
// working.
func (s *Service) Accept(ctx context.Context, tok, name, pw, ip string) (Member, error) {
	inv, err := s.PendingInvitation(ctx, tok)
	if err != nil {
		return Member{}, err
	}
	if err := CheckPassword(pw); err != nil {
		return Member{}, err
	}
	if name, err = text(name, "name", 200, false); err != nil {
		return Member{}, err
	}
	if name == "" {
		name = inv.Name
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return Member{}, err
	}
	e := audit.Entry{Actor: audit.Actor{Kind: audit.Staff, IP: ip}, Action: "staff.invitation_accept", ObjectKind: "staff"}
	return s.store.AcceptInvitation(ctx, HashToken(tok), s.cfg.Now(), name, hash, e)
}

// Staff lists a client's staff and invitations (any of its staff, or an
// operator).
func (s *Service) Staff(ctx context.Context, by Caller, clientID int64) ([]Member, []Invitation, error) {
	if !by.Staff.CanSee(clientID) {
		return nil, nil, ErrClientNotFound
	}
	if _, err := s.store.Client(ctx, clientID); err != nil {
		return nil, nil, err
	}
	ms, err := s.store.Members(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	invs, err := s.store.Invitations(ctx, clientID)
	return ms, invs, err
}

// Deactivate closes a staff member's account (the operator, or the
// client's manager): they can no longer sign in and their sessions end.
func (s *Service) Deactivate(ctx context.Context, by Caller, id int64, reason string) (Member, error) {
	m, err := s.store.Member(ctx, id)
	if err != nil {
		return Member{}, err
	}
	if m.ClientID == 0 && !by.operator() || m.ClientID != 0 && !by.Staff.CanSee(m.ClientID) {
		return Member{}, ErrMemberNotFound
	}
	if m.ClientID == 0 {
		if !by.operator() {
			return Member{}, access.ErrForbidden
		}
	} else if err := by.mayManageStaff(m.ClientID); err != nil {
		return Member{}, err
	}
	if m.ID == by.Staff.UserID {
		return Member{}, ErrDeactivateSelf
	}
	if reason, err = text(reason, "reason", audit.MaxReasonRunes, false); err != nil {
		return Member{}, err
	}
	return s.store.Deactivate(ctx, id, s.cfg.Now(), by.entry("staff.deactivate", "staff", reason))
}

// AuditQuery selects audit entries for a page or an export.
type AuditQuery struct {
	ClientID int64 // 0: the caller's client; an operator's 0: every client
	ActorID  int64
	Action   string // prefix
	From, To time.Time
	BeforeID int64
	Limit    int
}

// ErrBadAuditFilter: an action filter that is no action prefix.
var ErrBadAuditFilter = &apperr.Error{Kind: apperr.Invalid, Code: "bad_audit_filter", Field: "action",
	Message: "Действие — латинские буквы, «_» и точки, например «staff.» или «client.create»."}

// Audit lists the audit log as the caller may see it: a client's staff
// their client's entries only, an operator every client's (or one's).
func (s *Service) Audit(ctx context.Context, by Caller, q AuditQuery) ([]audit.Entry, error) {
	f := audit.Filter{ActorID: q.ActorID, Action: q.Action, From: q.From, To: q.To, BeforeID: q.BeforeID, Limit: q.Limit}
	for _, r := range q.Action {
		if !(r >= 'a' && r <= 'z' || r == '_' || r == '.') {
			return nil, ErrBadAuditFilter
		}
	}
	switch {
	case by.operator() && q.ClientID == 0:
		f.AllClients = true
	case by.operator():
		f.ClientID = q.ClientID
	case q.ClientID != 0 && q.ClientID != by.Staff.ClientID, by.Staff.ClientID == 0:
		return nil, ErrClientNotFound
	default:
		f.ClientID = by.Staff.ClientID
	}
	return s.log.List(ctx, f)
}

// ImportShops creates or updates (by code) a client's shops from a CSV or
// XLSX file, all or nothing (the operator, or the client's manager).
func (s *Service) ImportShops(ctx context.Context, by Caller, clientID int64, data []byte) (ImportResult, error) {
	if err := by.mayManageStaff(clientID); err != nil {
		return ImportResult{}, err
	}
	if _, err := s.store.Client(ctx, clientID); err != nil {
		return ImportResult{}, err
	}
	shops, err := ParseShops(data)
	if err != nil {
		return ImportResult{}, err
	}
	return s.store.ImportShops(ctx, clientID, shops, by.entry("shop.import", "client", ""))
}

// Shops lists a client's shops (any of its staff, or an operator).
func (s *Service) Shops(ctx context.Context, by Caller, clientID int64) ([]Shop, error) {
	if !by.Staff.CanSee(clientID) {
		return nil, ErrClientNotFound
	}
	if _, err := s.store.Client(ctx, clientID); err != nil {
		return nil, err
	}
	return s.store.Shops(ctx, clientID)
}

// UpdateShop edits one shop (the operator, or the client's manager).
func (s *Service) UpdateShop(ctx context.Context, by Caller, id int64, p ShopPatch) (Shop, error) {
	sh, err := s.store.Shop(ctx, id)
	if err != nil {
		return Shop{}, err
	}
	if !by.Staff.CanSee(sh.ClientID) {
		return Shop{}, ErrShopNotFound
	}
	if err := by.mayManageStaff(sh.ClientID); err != nil {
		return Shop{}, err
	}
	return s.store.UpdateShop(ctx, id, p.Apply, by.entry("shop.update", "shop", ""))
}
