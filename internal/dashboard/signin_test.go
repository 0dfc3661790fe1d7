package dashboard_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

type alerts struct {
	mu   sync.Mutex
	list []dashboard.LoginAlert
}

func (a *alerts) LoginAlert(_ context.Context, al dashboard.LoginAlert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, al)
	return nil
}

// signinEnv is a dashboard with the admin API's whoami, addresses taken
// from X-Real-IP, and hasher calls counted.
type signinEnv struct {
	*env
	alerts *alerts
	hashes atomic.Int64
}

func newSigninEnv(t *testing.T, tune func(*dashboard.Options)) *signinEnv {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	quiet := slog.New(slog.DiscardHandler)
	se := &signinEnv{alerts: &alerts{}}
	clk := &clock{t: testNow}
	o := dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet,
		TrustedProxyHeader: "X-Real-IP", Alerter: se.alerts,
		Hasher: password.NewGuard(2, time.Minute, func(pw, enc string) error {
			se.hashes.Add(1)
			return password.Verify(pw, enc)
		})}
	if tune != nil {
		tune(&o)
	}
	app := httpapi.New(httpapi.Options{Logger: quiet})
	srv := dashboard.New(o)
	srv.Register(app)
	app.Get("/admin/v1/whoami", func(c *fiber.Ctx) error {
		st, err := srv.Staff(c)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"user": st.UserID})
	})
	se.env = &env{app: app, data: data, clock: clk}
	return se
}

// basic calls the admin API with HTTP Basic from ip.
func (e *signinEnv) basic(t *testing.T, ip, user, pw string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", "/admin/v1/whoami", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	req.Header.Set("X-Real-IP", ip)
	resp, err := e.app.Test(req, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp
}

// form signs in through the form from ip; it returns the browser.
func (e *signinEnv) form(t *testing.T, ip, email, pw string) (*client, *http.Response) {
	t.Helper()
	c := &client{e: e.env, cookies: map[string]string{}}
	send := func(method, path string, form url.Values) *http.Response {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Real-IP", ip)
		for k, v := range c.cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := e.app.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		for _, ck := range resp.Cookies() {
			c.cookies[ck.Name] = ck.Value
		}
		if m := csrfRe.FindStringSubmatch(string(b)); m != nil {
			c.csrf = m[1]
		}
		return resp
	}
	send("GET", "/dashboard/login", nil)
	return c, send("POST", "/dashboard/login", url.Values{"_csrf": {c.csrf}, "email": {email}, "password": {pw}})
}

// A stranger's wrong passwords used to lock any account (the operator's
// too) after five tries and end its sessions. Now they throttle the
// stranger's address; the owner signs in from elsewhere, keeps the session
// they have, and is told.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	t.Parallel()
	e := newSigninEnv(t, nil)
	owner := e.data.Vetluga.ManagerEmail
	browser, resp := e.form(t, "198.51.100.7", owner, seed.DemoPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's sign-in: %d", resp.StatusCode)
	}
	overview := fmt.Sprintf("/dashboard/p/%d/overview", e.data.Vetluga.ProgramID)

	const stranger = "203.0.113.66"
	throttled := 0
	for i := 0; i < 50; i++ {
		var st int
		if i%2 == 0 {
			st = e.basic(t, stranger, owner, fmt.Sprintf("guess-%d", i)).StatusCode
		} else {
			_, r := e.form(t, stranger, owner, fmt.Sprintf("guess-%d", i))
			st = r.StatusCode
		}
		if st == http.StatusTooManyRequests {
			throttled++
		} else if st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, st)
		}
		e.clock.Add(time.Second)
	}
	if throttled < 40 {
		t.Errorf("the stranger's address was throttled %d times of 50", throttled)
	}
	if got := e.hashes.Load(); got > 10 {
		t.Errorf("%d of the stranger's guesses were hashed; throttled ones must not be", got)
	}
	// The stranger's address stays shut even with the right password.
	if r := e.basic(t, stranger, owner, seed.DemoPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password from the throttled address: %d, want 429", r.StatusCode)
	}
	if r, _ := e.do(t, browser, "GET", overview, nil); r.StatusCode != http.StatusOK {
		t.Errorf("owner's existing session after the attack: %d, want 200", r.StatusCode)
	}
	if r := e.basic(t, "198.51.100.7", owner, seed.DemoPassword); r.StatusCode != http.StatusOK {
		t.Errorf("owner's Basic call from their address: %d, want 200", r.StatusCode)
	}
	if _, r := e.form(t, "192.0.2.10", owner, seed.DemoPassword); r.StatusCode != http.StatusSeeOther {
		t.Errorf("owner's sign-in from a new address: %d, want 303", r.StatusCode)
	}
	e.alerts.mu.Lock()
	defer e.alerts.mu.Unlock()
	if len(e.alerts.list) != 1 || e.alerts.list[0].Email != owner || e.alerts.list[0].IP != stranger {
		t.Errorf("alerts %+v, want one to %s naming %s", e.alerts.list, owner, stranger)
	}
}

// Many addresses failing together close the account, but only to addresses
// its owner has never signed in from.
func TestAccountLockSparesKnownAddresses(t *testing.T) {
	t.Parallel()
	e := newSigninEnv(t, func(o *dashboard.Options) { o.AccountFailures = 6 })
	owner := e.data.Vetluga.ModeratorMail
	if r := e.basic(t, "198.51.100.7", owner, seed.DemoPassword); r.StatusCode != http.StatusOK {
		t.Fatalf("owner: %d", r.StatusCode)
	}
	for i := 0; i < 6; i++ {
		e.basic(t, fmt.Sprintf("203.0.113.%d", i+1), owner, "wrong")
	}
	if r := e.basic(t, "203.0.113.99", owner, seed.DemoPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password from an unknown address while locked: %d, want 429", r.StatusCode)
	}
	if r := e.basic(t, "198.51.100.7", owner, seed.DemoPassword+"x"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password from the owner's address: %d, want 401", r.StatusCode)
	}
	e.clock.Add(2 * time.Minute) // past the per-address cache of a proven password
	if r := e.basic(t, "198.51.100.7", owner, seed.DemoPassword); r.StatusCode != http.StatusOK {
		t.Errorf("owner's known address while the account is locked: %d, want 200", r.StatusCode)
	}
}

// 400 sign-ins for unknown e-mails from one address each cost an argon2
// hash and slowed the whole API 115×. Over the per-address limit they are
// refused (429 + Retry-After) before hashing.
func TestSignInFloodRefusedBeforeHashing(t *testing.T) {
	t.Parallel()
	e := newSigninEnv(t, func(o *dashboard.Options) { o.IPAttempts = 10 })
	limited := 0
	for i := 0; i < 40; i++ {
		var r *http.Response
		if i%2 == 0 {
			r = e.basic(t, "203.0.113.5", fmt.Sprintf("nobody%d@example.com", i), "x")
		} else {
			_, r = e.form(t, "203.0.113.5", fmt.Sprintf("nobody%d@example.com", i), "x")
		}
		if r.StatusCode == http.StatusTooManyRequests {
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("attempt %d: 429 without Retry-After", i)
			}
		}
	}
	if limited != 30 || e.hashes.Load() != 10 {
		t.Errorf("%d refused, %d hashed; want 30 and 10", limited, e.hashes.Load())
	}
	// Another address is not affected.
	if r := e.basic(t, "198.51.100.7", e.data.Vetluga.ManagerEmail, seed.DemoPassword); r.StatusCode != http.StatusOK {
		t.Errorf("another address: %d", r.StatusCode)
	}
	// A script repeating a proven password is neither hashed nor counted.
	before := e.hashes.Load()
	for i := 0; i < 20; i++ {
		if r := e.basic(t, "198.51.100.7", e.data.Vetluga.ManagerEmail, seed.DemoPassword); r.StatusCode != http.StatusOK {
			t.Fatalf("repeated Basic call %d: %d", i, r.StatusCode)
		}
	}
	if e.hashes.Load() != before {
		t.Errorf("repeated Basic calls hashed %d times", e.hashes.Load()-before)
	}
}

// When every hashing slot stays taken, a sign-in answers 503 with
// Retry-After instead of queueing without end.
func TestSignInBusy(t *testing.T) {
	t.Parallel()
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	e := newSigninEnv(t, func(o *dashboard.Options) {
		o.Hasher = password.NewGuard(1, 10*time.Millisecond, func(pw, enc string) error {
			held <- struct{}{}
			<-hold
			return password.ErrMismatch
		})
	})
	done := make(chan int)
	go func() { done <- e.basic(t, "203.0.113.1", "ghost@example.com", "x").StatusCode }()
	<-held
	r := e.basic(t, "203.0.113.2", "ghost2@example.com", "x")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("with the hasher full: %d Retry-After %q, want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	close(hold)
	if st := <-done; st != http.StatusUnauthorized {
		t.Errorf("the held sign-in: %d", st)
	}
}
