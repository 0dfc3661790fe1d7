package mobileapi

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/authdb"
)

type meResponse struct {
	ID                  int64        `json:"id"`
	Name                string       `json:"name"`
	Phone               string       `json:"phone"`
	Login               *string      `json:"login"`
	Email               *string      `json:"email"`
	Role                string       `json:"role"`
	Roles               []string     `json:"roles"`
	Status              string       `json:"status"`
	Region              string       `json:"region"`
	IsTest              bool         `json:"is_test"`
	Client              clientDTO    `json:"client"`
	Shop                *shopDTO     `json:"shop"`
	Programs            []programDTO `json:"programs"`
	UnreadNotifications int          `json:"unread_notifications"`
	// MustChangePassword: the password was issued by a registry invitation;
	// the app shows the password change before anything else.
	MustChangePassword bool `json:"must_change_password"`
}

type clientDTO struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

type shopDTO struct {
	ID      int64  `json:"id"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Chain   string `json:"chain"`
	Address string `json:"address"`
	Region  string `json:"region"`
}

type programDTO struct {
	ID       int64  `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// me returns the profile. Programs are the client's live ones, plus its
// test ones for test participants.
func (a *API) me(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	p, err := a.users.Profile(ctx, who.ID)
	if err != nil {
		return err
	}
	statuses := []string{"live"}
	if p.IsTest {
		statuses = append(statuses, "test")
	}
	progs, err := a.users.Programs(ctx, p.ClientID, statuses...)
	if err != nil {
		return err
	}
	resp := meResponse{ID: p.ID, Name: p.Name, Phone: p.Phone, Login: strPtr(p.Login), Email: strPtr(p.Email),
		Role: p.Role, Roles: []string{p.Role}, Status: p.Status, Region: p.Region, IsTest: p.IsTest,
		Client: clientDTO{ID: p.ClientID, Code: p.ClientCode, Name: p.ClientName}, Programs: []programDTO{},
		MustChangePassword: who.MustChangePassword}
	if a.inbox != nil {
		if resp.UnreadNotifications, err = a.inbox.UnreadCount(ctx, p.ID); err != nil {
			return err
		}
	}
	if s := p.Shop; s != nil {
		resp.Shop = &shopDTO{ID: s.ID, Code: s.Code, Name: s.Name, Chain: s.Chain, Address: s.Address, Region: s.Region}
	}
	for _, pr := range progs {
		resp.Programs = append(resp.Programs, programDTO{ID: pr.ID, Code: pr.Code, Name: pr.Name, Status: pr.Status,
			StartsOn: pr.StartsOn.Format("2006-01-02"), EndsOn: pr.EndsOn.Format("2006-01-02")})
	}
	return c.JSON(resp)
}

type deviceBody struct {
	Token    string `json:"token"`
	Platform string `json:"platform"`
}

func (a *API) registerDevice(c *fiber.Ctx) error {
	var b deviceBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := a.users.RegisterDevice(c.UserContext(), callerOf(c).ID, callerOf(c).SessionID, b.Token, b.Platform); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) deleteDevice(c *fiber.Ctx) error {
	tok, err := url.PathUnescape(c.Params("token"))
	if err != nil || tok == "" {
		return authdb.ErrBadDevice
	}
	if err := a.users.DeleteDevice(c.UserContext(), callerOf(c).ID, tok); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
