package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
)

func newApp(t *testing.T) (*fiber.App, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	app := httpapi.New(httpapi.Options{Logger: logging.New(&logs, "debug", "json")})
	app.Get("/panic", func(c *fiber.Ctx) error { panic("boom") })
	app.Get("/domain", func(c *fiber.Ctx) error {
		return apperr.New(apperr.Conflict, "receipt_already_claimed", "Чек уже зарегистрирован.")
	})
	app.Get("/oops", func(c *fiber.Ctx) error { return errors.New("db password=secret exploded") })
	httpapi.Health(app, map[string]httpapi.Checker{
		"postgres": httpapi.CheckFunc(func(context.Context) error { return nil }),
		"redis":    httpapi.CheckFunc(func(context.Context) error { return errors.New("down") }),
	})
	return app, &logs
}

func do(t *testing.T, app *fiber.App, path string) (int, httpapi.ErrorBody, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Request-ID", "req-12345678")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	var body httpapi.ErrorBody
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, string(raw)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	app, logs := newApp(t)
	cases := []struct {
		path       string
		wantStatus int
		wantCode   string
	}{
		{"/panic", 500, "internal"},
		{"/domain", 409, "receipt_already_claimed"},
		{"/oops", 500, "internal"},
		{"/nowhere", 404, "not_found"},
	}
	for _, tc := range cases {
		status, body, raw := do(t, app, tc.path)
		if status != tc.wantStatus || body.Code != tc.wantCode || body.Message == "" {
			t.Errorf("%s: got %d %s, want %d %s", tc.path, status, raw, tc.wantStatus, tc.wantCode)
		}
		if body.RequestID != "req-12345678" {
			t.Errorf("%s: request id %q not carried into the error body", tc.path, body.RequestID)
		}
		if strings.Contains(raw, "secret") {
			t.Errorf("%s: internal detail leaked to the client: %s", tc.path, raw)
		}
	}
	// Every log line of a request carries its id.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["request_id"] != "req-12345678" {
			t.Errorf("log line without request id: %s", line)
		}
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	app, _ := newApp(t)
	status, _, raw := do(t, app, "/readyz")
	if status != 503 || !strings.Contains(raw, `"redis":"unavailable"`) {
		t.Fatalf("readyz: %d %s", status, raw)
	}
	if status, _, _ := do(t, app, "/healthz"); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
}

var _ = slog.Default
