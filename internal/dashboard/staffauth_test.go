package dashboard_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// The admin API authenticates staff by the dashboard session (with the
// CSRF header for changes) or by HTTP Basic; these cases pin that down.
func TestStaffAuth(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	srv := dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet})
	srv.Register(app)
	whoami := func(c *fiber.Ctx) error {
		st, err := srv.Staff(c)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"user": st.UserID, "client": st.ClientID, "role": st.Role})
	}
	app.Get("/admin/v1/whoami", whoami)
	app.Post("/admin/v1/whoami", whoami)
	e := &env{app: app, data: data, clock: clk}
	browser := e.mustLogin(t, "manager@vetluga.demo")
	e.do(t, browser, "GET", fmt.Sprintf("/dashboard/p/%d/overview", data.Vetluga.ProgramID), nil) // the session's CSRF token

	basic := func(user, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	cases := []struct {
		name, method, auth, csrf string
		session                  bool
		want                     int
	}{
		{"no credentials", "GET", "", "", false, 401},
		{"session read", "GET", "", "", true, 200},
		{"session change without csrf", "POST", "", "", true, 403},
		{"session change with csrf", "POST", "", browser.csrf, true, 200},
		{"basic right password", "POST", basic("manager@vetluga.demo", seed.DemoPassword), "", false, 200},
		{"basic wrong password", "GET", basic("manager@vetluga.demo", "nope"), "", false, 401},
		{"basic unknown user", "GET", basic("ghost@nowhere.demo", "nope"), "", false, 401},
		{"basic garbage", "GET", "Basic !!!", "", false, 401},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, "/admin/v1/whoami", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if tc.csrf != "" {
			req.Header.Set("X-CSRF-Token", tc.csrf)
		}
		if tc.session {
			req.AddCookie(&http.Cookie{Name: "lj_session", Value: browser.cookies["lj_session"]})
		}
		resp, err := app.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	// Wrong Basic passwords lock the account like the sign-in form does.
	for i := 0; i < 5; i++ {
		req := httptest.NewRequest("GET", "/admin/v1/whoami", nil)
		req.Header.Set("Authorization", basic("moderator@vetluga.demo", "wrong"))
		app.Test(req, 30_000)
	}
	req := httptest.NewRequest("GET", "/admin/v1/whoami", nil)
	req.Header.Set("Authorization", basic("moderator@vetluga.demo", seed.DemoPassword))
	resp, _ := app.Test(req, 30_000)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong passwords: status %d, want 429", resp.StatusCode)
	}
}
