package mobileapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
)

type otpRequestBody struct {
	Phone string `json:"phone"`
}

type otpRequested struct {
	ExpiresIn   int `json:"expires_in"`
	ResendAfter int `json:"resend_after"`
}

type otpVerifyBody struct {
	Phone         string `json:"phone"`
	Code          string `json:"code"`
	ParticipantID int64  `json:"participant_id"`
}

type loginBody struct {
	Login         string `json:"login"`
	Password      string `json:"password"`
	ParticipantID int64  `json:"participant_id"`
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    int             `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Participant  participantInfo `json:"participant"`
}

type participantInfo struct {
	ID         int64  `json:"id"`
	ClientID   int64  `json:"client_id"`
	ClientCode string `json:"client_code"`
	ClientName string `json:"client_name"`
	Role       string `json:"role"`
	Status     string `json:"status"`
}

type choiceResponse struct {
	Code         string      `json:"code"`
	Message      string      `json:"message"`
	RequestID    string      `json:"request_id,omitempty"`
	Participants []candidate `json:"participants"`
}

type candidate struct {
	ParticipantID int64  `json:"participant_id"`
	ClientCode    string `json:"client_code"`
	ClientName    string `json:"client_name"`
	Role          string `json:"role"`
}

// decodeJSON reads the body as one JSON object into v.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errBadJSON
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

func (a *API) otpRequest(c *fiber.Ctx) error {
	var b otpRequestBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	sent, err := a.auth.RequestOTP(c.UserContext(), b.Phone, a.clientIP(c))
	if err != nil {
		return fail(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(otpRequested{ExpiresIn: secs(sent.ExpiresIn), ResendAfter: secs(sent.ResendAfter)})
}

func (a *API) otpVerify(c *fiber.Ctx) error {
	var b otpVerifyBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	t, err := a.auth.VerifyOTP(c.UserContext(), b.Phone, b.Code, b.ParticipantID, a.clientIP(c))
	return a.tokens(c, t, err)
}

func (a *API) login(c *fiber.Ctx) error {
	var b loginBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	t, err := a.auth.Login(c.UserContext(), b.Login, b.Password, b.ParticipantID, a.clientIP(c))
	return a.tokens(c, t, err)
}

func (a *API) refresh(c *fiber.Ctx) error {
	var b refreshBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	t, err := a.auth.Refresh(c.UserContext(), b.RefreshToken)
	return a.tokens(c, t, err)
}

func (a *API) logout(c *fiber.Ctx) error {
	var b refreshBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := a.auth.Logout(c.UserContext(), b.RefreshToken); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) tokens(c *fiber.Ctx, t auth.Tokens, err error) error {
	var ce *auth.ChoiceError
	if errors.As(err, &ce) {
		resp := choiceResponse{Code: auth.ErrChoice.Code, Message: auth.ErrChoice.Message, RequestID: logging.RequestID(c.UserContext())}
		for _, p := range ce.Candidates {
			resp.Participants = append(resp.Participants, candidate{ParticipantID: p.ParticipantID, ClientCode: p.ClientCode, ClientName: p.ClientName, Role: p.Role})
		}
		return c.Status(fiber.StatusConflict).JSON(resp)
	}
	if err != nil {
		return fail(c, err)
	}
	p := t.Participant
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(tokenResponse{
		AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: secs(t.AccessExpires.Sub(a.now()).Round(time.Second)),
		RefreshToken: t.RefreshToken,
		Participant: participantInfo{ID: p.ID, ClientID: p.ClientID, ClientCode: p.ClientCode, ClientName: p.ClientName,
			Role: p.Role, Status: p.Status},
	})
}

func secs(d time.Duration) int {
	if d < 0 {
		return 0
	}
	return int(d / time.Second)
}

type passwordBody struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type loggedOutAll struct {
	Sessions int `json:"sessions"`
}

// changePassword replaces the caller's password; the caller's own session
// stays, every other one ends.
func (a *API) changePassword(c *fiber.Ctx) error {
	var b passwordBody
	// encoding/json would turn invalid UTF-8 into U+FFFD, silently
	// changing the password the user typed.
	if !utf8.Valid(c.Body()) {
		return errBadJSON
	}
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	who := callerOf(c)
	if err := a.auth.ChangePassword(c.UserContext(), who.ID, who.SessionID, b.CurrentPassword, b.NewPassword, a.clientIP(c)); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// logoutAll ends every session of the caller, this one included.
func (a *API) logoutAll(c *fiber.Ctx) error {
	n, err := a.auth.LogoutAll(c.UserContext(), callerOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(loggedOutAll{Sessions: n})
}
