// Package httpapi is the Fiber plumbing shared by every HTTP surface: the
// app with its error handler, request ids, panic recovery, access logs,
// the input check (every query and form value is UTF-8 and of bounded
// length, see checkInput) and health endpoints. Route groups (mobile-api,
// dashboard, admin) mount on it.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
)

// Options configure the app.
type Options struct {
	Logger    *slog.Logger
	BodyLimit int
	// ReadTimeout bounds reading one request (slow clients on bad networks
	// still get this long to send a photo).
	ReadTimeout time.Duration
	// MaxFieldBytes bounds one query or form value (default
	// DefaultMaxFieldBytes); longer ones answer 422 too_long.
	MaxFieldBytes int
	// Outage reports whether an error without an apperr kind is an outage
	// of a dependency rather than a bug (postgres.Unavailable: the
	// database cannot be reached or went away mid-query), to answer 503
	// instead of 500. Nil: only errors of kind apperr.Unavailable are.
	Outage func(error) bool
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// New returns a Fiber app with request ids, recovery, access logging and
// the JSON error handler installed.
func New(o Options) *fiber.App {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BodyLimit == 0 {
		o.BodyLimit = 16 << 20
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 60 * time.Second
	}
	if o.MaxFieldBytes == 0 {
		o.MaxFieldBytes = DefaultMaxFieldBytes
	}
	app := fiber.New(fiber.Config{
		AppName:               "loyaltyjam",
		DisableStartupMessage: true,
		BodyLimit:             o.BodyLimit,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          errorHandler(o.Logger, o.Outage),
		// Multipart bodies are parsed once, by the handler that wants them.
		DisablePreParseMultipartForm: true,
	})
	app.Use(requestID, accessLog(o.Logger), recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		o.Logger.ErrorContext(c.UserContext(), "panic in handler", "panic", e)
	}}), checkInput(o.MaxFieldBytes))
	return app
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestID takes a well-formed X-Request-ID from the caller or makes one,
// echoes it and puts it in the context's log attributes.
func requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID.MatchString(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(fiber.HeaderXRequestID, id)
	c.SetUserContext(logging.With(c.UserContext(), slog.String("request_id", id)))
	return c.Next()
}

func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler write the response before logging its status.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		path := c.Route().Path
		if path == "" || path == "/" {
			path = c.Path()
		}
		log.InfoContext(c.UserContext(), "http request",
			"method", c.Method(), "route", path, "status", c.Response().StatusCode(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes_in", len(c.Request().Body()))
		return nil
	}
}

// Status maps an error kind to its HTTP status.
func Status(k apperr.Kind) int {
	switch k {
	case apperr.Invalid:
		return fiber.StatusUnprocessableEntity
	case apperr.NotFound:
		return fiber.StatusNotFound
	case apperr.Conflict:
		return fiber.StatusConflict
	case apperr.Unauthorized:
		return fiber.StatusUnauthorized
	case apperr.Forbidden:
		return fiber.StatusForbidden
	case apperr.RateLimited:
		return fiber.StatusTooManyRequests
	case apperr.TooLarge:
		return fiber.StatusRequestEntityTooLarge
	case apperr.Unsupported:
		return fiber.StatusUnsupportedMediaType
	case apperr.Unavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// errorHandler writes every error as ErrorBody. Domain errors keep their
// code and message; Fiber's own errors (404 route, 413 body) get stable
// codes; anything else is a 500 whose details stay in the log.
func errorHandler(log *slog.Logger, outage func(error) bool) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		ctx := c.UserContext()
		body := ErrorBody{RequestID: logging.RequestID(ctx)}
		status := fiber.StatusInternalServerError
		var fe *fiber.Error
		var se *statusError
		if errors.As(err, &se) {
			status, body.Code, body.Message, body.Field = se.status, se.err.Code, se.err.Message, se.err.Field
		} else if ae, ok := apperr.As(err); ok && ae.Kind != apperr.Internal {
			status, body.Code, body.Message, body.Field = Status(ae.Kind), ae.Code, ae.Message, ae.Field
		} else if Unavailable(err, outage) {
			status, body.Code, body.Message = fiber.StatusServiceUnavailable, ErrUnavailable.Code, ErrUnavailable.Message
		} else if errors.As(err, &fe) {
			status = fe.Code
			body.Code, body.Message = fiberCode(fe.Code)
		} else {
			body.Code, body.Message = "internal", "Внутренняя ошибка сервера. Попробуйте ещё раз позже."
		}
		if status == fiber.StatusServiceUnavailable && len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
			c.Set(fiber.HeaderRetryAfter, RetryAfterUnavailable)
		}
		if status >= 500 {
			log.ErrorContext(ctx, "request failed", "status", status, "err", err)
		}
		return c.Status(status).JSON(body)
	}
}

// ErrUnavailable is what a request gets when a dependency it needs
// (PostgreSQL) is down: 503 with Retry-After, never a 500.
var ErrUnavailable = apperr.New(apperr.Unavailable, "unavailable", "Сервис временно недоступен. Повторите через несколько секунд.")

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503: about as
// long as a database restart or fail-over takes.
const RetryAfterUnavailable = "5"

// Unavailable reports whether err is an outage rather than a bug: an
// apperr of kind Unavailable, or one outage (if not nil) recognises, such as
// a database that cannot be reached or went away mid-query
// (postgres.Unavailable, handed in by the wiring so that transport knows no
// driver). Surfaces that render their own errors (the dashboard's HTML
// pages) use it to answer 503 as the JSON error handler does.
func Unavailable(err error, outage func(error) bool) bool {
	return apperr.KindOf(err) == apperr.Unavailable || (outage != nil && outage(err))
}

func fiberCode(status int) (string, string) {
	switch status {
	case fiber.StatusNotFound:
		return "not_found", "Не найдено."
	case fiber.StatusMethodNotAllowed:
		return "method_not_allowed", "Метод не поддерживается."
	case fiber.StatusRequestEntityTooLarge:
		return "payload_too_large", "Слишком большой запрос."
	case fiber.StatusUnsupportedMediaType:
		return "unsupported_media_type", "Неподдерживаемый тип содержимого."
	case fiber.StatusBadRequest:
		return "bad_request", "Некорректный запрос."
	case fiber.StatusRequestTimeout:
		return "timeout", "Запрос не успел прийти целиком."
	}
	if status >= 500 {
		return "internal", "Внутренняя ошибка сервера. Попробуйте ещё раз позже."
	}
	return "error", "Ошибка запроса."
}

// ClientIP is the caller's address. Behind a proxy, header names the
// header the proxy sets (X-Real-IP) or appends to (X-Forwarded-For): the
// last entry is the one our proxy wrote, every entry before it came from
// the client and could be anything, so only the last counts, and only when
// it is an IP address. Otherwise (or with no header) the peer.
func ClientIP(c *fiber.Ctx, header string) string {
	if header == "" {
		return c.IP()
	}
	h := c.Get(header)
	if i := strings.LastIndexByte(h, ','); i >= 0 {
		h = h[i+1:]
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil {
		return ip.Unmap().String()
	}
	return c.IP()
}

// Checker is a dependency /readyz pings.
type Checker interface {
	Ping(ctx context.Context) error
}

// CheckFunc adapts a function to Checker.
type CheckFunc func(ctx context.Context) error

// Ping calls f.
func (f CheckFunc) Ping(ctx context.Context) error { return f(ctx) }

// Health mounts GET /healthz (the process is alive) and GET /readyz (every
// dependency answers within two seconds; 503 naming the failures otherwise).
func Health(app *fiber.App, deps map[string]Checker) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		checks := map[string]string{}
		ok := true
		for name, d := range deps {
			if err := d.Ping(ctx); err != nil {
				checks[name] = "unavailable"
				ok = false
			} else {
				checks[name] = "ok"
			}
		}
		if !ok {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
		}
		return c.JSON(fiber.Map{"status": "ok", "checks": checks})
	})
}
