package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
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

// Bytes that are not UTF-8 must not reach a handler (PostgreSQL rejects
// them in text columns, which surfaced as a 500), nor may a megabyte in
// one field; every app built by New gets the check.
func TestInputCheck(t *testing.T) {
	t.Parallel()
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), MaxFieldBytes: 100})
	reached := 0
	echo := func(c *fiber.Ctx) error { reached++; return c.SendString("ok") }
	app.Get("/q", echo)
	app.Post("/f", echo)
	multipartBody := func(field, value string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("photo", "x.jpg")
		fw.Write([]byte{0xff, 0xd8, 0xff, 0x00}) // file bytes are not text and stay unchecked
		w.WriteField(field, value)
		w.Close()
		return b.String(), w.FormDataContentType()
	}
	mpBad, mpBadCT := multipartBody("comment", "\xff")
	mpLong, mpLongCT := multipartBody("comment", strings.Repeat("я", 60))
	mpOK, mpOKCT := multipartBody("comment", "Чек из магазина")
	cases := []struct {
		name, method, path, ct, body string
		wantStatus                   int
		wantCode                     string
	}{
		{"query ok", "GET", "/q?chain=%D0%9C%D0%B0%D0%B3%D0%BD%D0%B8%D1%82", "", "", 200, ""},
		{"query overlong encoding", "GET", "/q?chain=%E0%80%80", "", "", 400, "invalid_utf8"},
		{"query bad key", "GET", "/q?%ff=1", "", "", 400, "invalid_utf8"},
		{"query too long", "GET", "/q?chain=" + strings.Repeat("a", 101), "", "", 422, "too_long"},
		{"path bad bytes", "GET", "/q%ff", "", "", 400, "invalid_utf8"},
		{"form ok", "POST", "/f", "application/x-www-form-urlencoded", "email=a%40b.ru", 200, ""},
		{"form bad", "POST", "/f", "application/x-www-form-urlencoded", "email=%ff", 400, "invalid_utf8"},
		{"form bad with charset", "POST", "/f", "application/x-www-form-urlencoded; charset=utf-8", "email=%ff", 400, "invalid_utf8"},
		{"form too long", "POST", "/f", "application/x-www-form-urlencoded", "alias=" + strings.Repeat("b", 101), 422, "too_long"},
		{"multipart ok", "POST", "/f", mpOKCT, mpOK, 200, ""},
		{"multipart bad", "POST", "/f", mpBadCT, mpBad, 400, "invalid_utf8"},
		{"multipart too long", "POST", "/f", mpLongCT, mpLong, 422, "too_long"},
		{"json is the handler's", "POST", "/f", "application/json", `{"a":"\xff"}`, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := reached
			req := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			req.URL.RawPath, req.URL.RawQuery = "", ""
			req.RequestURI = tc.path
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			var body httpapi.ErrorBody
			_ = json.Unmarshal(raw, &body)
			if resp.StatusCode != tc.wantStatus || body.Code != tc.wantCode {
				t.Fatalf("status %d code %q, want %d %q (%s)", resp.StatusCode, body.Code, tc.wantStatus, tc.wantCode, raw)
			}
			if got := reached - before; (tc.wantStatus == 200) != (got == 1) {
				t.Errorf("handler reached %d times", got)
			}
		})
	}
}
