package dashboard

import (
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
)

// loginCSRFCookie carries the token of the sign-in form before a session
// exists (double submit: the form field must equal the cookie).
const loginCSRFCookie = "lj_login_csrf"

func (s *Server) loginPage(c *fiber.Ctx) error {
	return s.showLogin(c, fiber.StatusOK, "", "")
}

func (s *Server) showLogin(c *fiber.Ctx, status int, email, msg string) error {
	tok := randomToken()
	s.setCookie(c, loginCSRFCookie, tok, time.Time{})
	c.Status(status)
	return s.render(c, "login", map[string]any{"LoginCSRF": tok, "Email": email, "Error": msg})
}

// Sign-in messages. A wrong e-mail and a wrong password read the same, so
// the form does not tell which e-mails exist.
const (
	msgBadCredentials = "Неверный e-mail или пароль."
	msgLocked         = "Слишком много неудачных попыток с этого адреса. Вход с него временно приостановлен, попробуйте позже."
)

func (s *Server) login(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cookie := c.Cookies(loginCSRFCookie)
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(c.FormValue("_csrf"))) != 1 {
		return s.showLogin(c, fiber.StatusForbidden, "", "Форма устарела. Попробуйте ещё раз.")
	}
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	now := s.o.Now()
	u, err := s.signIn(ctx, email, pw, s.clientIP(c))
	var ex *ratelimit.ExceededError
	switch {
	case errors.Is(err, ErrStaffUnauthorized):
		return s.showLogin(c, fiber.StatusUnauthorized, email, msgBadCredentials)
	case errors.As(err, &ex):
		s.retryAfter(c, err)
		return s.showLogin(c, fiber.StatusTooManyRequests, email, msgLocked)
	case errors.Is(err, password.ErrBusy):
		s.retryAfter(c, err)
		return s.showLogin(c, fiber.StatusServiceUnavailable, email, password.ErrBusy.Message)
	case err != nil:
		return s.fail(c, err)
	}
	tok := randomToken()
	expires := now.Add(s.o.SessionTTL)
	if err := s.store.CreateSession(ctx, hashToken(tok), u.ID, randomToken(), expires); err != nil {
		return s.fail(c, err)
	}
	// A browser-session cookie: the server-side expires_at decides how long
	// it works, so a skewed client clock neither extends nor cuts it.
	s.setCookie(c, sessionCookie, tok, time.Time{})
	c.ClearCookie(loginCSRFCookie)
	s.o.Logger.InfoContext(ctx, "dashboard sign-in", "user_id", u.ID)
	return c.Redirect(Prefix+"/", fiber.StatusSeeOther)
}

func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.store.DeleteSession(c.UserContext(), hashToken(c.Cookies(sessionCookie)), s.o.Now()); err != nil {
		return s.fail(c, err)
	}
	s.setCookie(c, sessionCookie, "", time.Unix(0, 0))
	return c.Redirect(Prefix+"/login", fiber.StatusSeeOther)
}

// dummyHash is an argon2id hash of a random password, verified against
// when the e-mail is unknown.
var dummyHash = func() string {
	h, err := password.Hash(randomToken())
	if err != nil {
		panic(err)
	}
	return h
}()
