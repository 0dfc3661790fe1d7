package dashboard

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Errors of Staff, rendered as JSON by the admin API.
var (
	ErrStaffUnauthorized = apperr.New(apperr.Unauthorized, "staff_unauthorized",
		"Войдите в кабинет или передайте e-mail и пароль (HTTP Basic).")
	ErrStaffLocked = apperr.New(apperr.RateLimited, "staff_locked",
		"Слишком много неудачных попыток входа с этого адреса. Повторите позже.")
	ErrStaffCSRF = apperr.New(apperr.Forbidden, "csrf_token_required",
		"Для изменений из браузера нужен заголовок X-CSRF-Token из сессии кабинета.")
)

// Staff authenticates a request of the admin API (/admin/v1/...) as a
// dashboard user: by the dashboard session cookie (a state-changing request
// must then carry the session's CSRF token in X-CSRF-Token, because the
// cookie is sent by the browser on its own), or by HTTP Basic with e-mail
// and password (scripts), which goes through the same per-address limits
// and throttling as the sign-in form (see signIn).
func (s *Server) Staff(c *fiber.Ctx) (access.Staff, error) {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); strings.HasPrefix(h, "Basic ") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		email, pw, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return access.Staff{}, ErrStaffUnauthorized
		}
		u, err := s.signIn(ctx, email, pw, s.clientIP(c))
		if err != nil {
			s.retryAfter(c, err)
			return access.Staff{}, err
		}
		return u.Staff(), nil
	}
	tok := c.Cookies(sessionCookie)
	if tok == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="loyaltyjam admin"`)
		return access.Staff{}, ErrStaffUnauthorized
	}
	ss, err := s.store.SessionByHash(ctx, hashToken(tok), s.o.Now())
	if errors.Is(err, report.ErrNotFound) {
		return access.Staff{}, ErrStaffUnauthorized
	}
	if err != nil {
		return access.Staff{}, err
	}
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead &&
		subtle.ConstantTimeCompare([]byte(c.Get("X-CSRF-Token")), []byte(ss.CSRFToken)) != 1 {
		return access.Staff{}, ErrStaffCSRF
	}
	return ss.User.Staff(), nil
}
