package dashboard_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	app   *fiber.App
	data  reporttest.Data
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e, _ := newEnvDB(t)
	return e
}

func newEnvDB(t *testing.T) (*env, *pgxpool.Pool) {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet}).Register(app)
	return &env{app: app, data: data, clock: clk}, db
}

// client is a browser-like cookie holder.
type client struct {
	e       *env
	cookies map[string]string
	csrf    string
}

func (e *env) do(t *testing.T, c *client, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c != nil {
		for k, v := range c.cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
	}
	resp, err := e.app.Test(req, 30_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	if c != nil {
		for _, ck := range resp.Cookies() {
			c.cookies[ck.Name] = ck.Value
		}
		if m := csrfRe.FindStringSubmatch(string(b)); m != nil {
			c.csrf = m[1]
		}
	}
	return resp, string(b)
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

func (e *env) login(t *testing.T, email, pw string) (*client, *http.Response) {
	t.Helper()
	c := &client{e: e, cookies: map[string]string{}}
	e.do(t, c, "GET", "/dashboard/login", nil)
	resp, _ := e.do(t, c, "POST", "/dashboard/login", url.Values{"_csrf": {c.csrf}, "email": {email}, "password": {pw}})
	return c, resp
}

func (e *env) mustLogin(t *testing.T, email string) *client {
	t.Helper()
	c, resp := e.login(t, email, seed.DemoPassword)
	if resp.StatusCode != http.StatusSeeOther || c.cookies["lj_session"] == "" {
		t.Fatalf("login %s: status %d", email, resp.StatusCode)
	}
	e.do(t, c, "GET", "/dashboard/", nil) // pick up a CSRF token
	return c
}

func pages(pid int64, receiptID string, participantID int64) []string {
	b := fmt.Sprintf("/dashboard/p/%d", pid)
	return []string{
		b + "/overview", b + "/overview?grain=week&from=2026-01&to=2026-03",
		b + "/sales", b + "/sales?by=shop", b + "/sales?by=chain", b + "/sales?by=region", b + "/sales?by=participant",
		b + "/receipts", b + "/receipts?status=needs_review", b + "/receipts/" + receiptID,
		b + "/moderation", b + "/unmatched", b + "/participants", fmt.Sprintf("%s/participants/%d", b, participantID),
		b + "/settings",
	}
}

func exports(pid int64) []string {
	b := fmt.Sprintf("/dashboard/p/%d", pid)
	var out []string
	for _, f := range []string{"csv", "xlsx"} {
		out = append(out, b+"/sales/export?by=sku&format="+f, b+"/sales/export?by=participant&format="+f,
			b+"/receipts/export?format="+f, b+"/participants/export?format="+f, b+"/settings/skus/export?format="+f)
	}
	return out
}

func TestPagesAndExports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	for _, p := range pages(v.ProgramID, v.Credited[0], v.Participants[0]) {
		resp, body := e.do(t, c, "GET", p, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "Зимний сезон") {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/overview?from=2026-02&to=2026-03", v.ProgramID), nil)
	for _, want := range []string{"Продано единиц", `title="Σ количества`, "15", "2 300,00 ₽", "<svg", "на модерации"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	receiptPage(t, e, c)
	settingsPage(t, e, c)
	_, body = e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/participants/%d", v.ProgramID, v.Participants[0]), nil)
	if !strings.Contains(body, "Счёт: Начисление за чек") || strings.Contains(body, "receipt_credit") {
		t.Errorf("participant timeline does not name ledger movements in Russian")
	}
	for _, p := range exports(v.ProgramID) {
		resp, body := e.do(t, c, "GET", p, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
			continue
		}
		if strings.HasSuffix(p, "xlsx") {
			f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
			if err != nil {
				t.Errorf("%s: not a workbook: %v", p, err)
				continue
			}
			rows, _ := f.GetRows(f.GetSheetName(0))
			if len(rows) < 2 {
				t.Errorf("%s: %d rows", p, len(rows))
			}
		} else if !strings.Contains(body, "\n") || len(strings.Split(body, "\n")) < 3 {
			t.Errorf("%s: csv %q", p, body)
		}
	}
	resp, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/sales/export?by=sku&format=csv&from=2026-02&to=2026-03", v.ProgramID), nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "\ufeffКлюч;SKU") || !strings.Contains(body, ";10000,00;400,00;") {
		t.Errorf("sales csv: %q", body)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	vet := e.mustLogin(t, v.ManagerEmail)
	kb := fmt.Sprintf("/dashboard/p/%d", k.ProgramID)
	vb := fmt.Sprintf("/dashboard/p/%d", v.ProgramID)
	var urls []string
	urls = append(urls, pages(k.ProgramID, k.Credited[0], k.Participants[0])...)
	urls = append(urls, exports(k.ProgramID)...)
	urls = append(urls, kb+"/receipts/"+k.Credited[0]+"/photo",
		// krasnodol's receipt and participant under vetluga's own program
		vb+"/receipts/"+k.Credited[0], vb+"/receipts/"+k.Credited[0]+"/photo",
		fmt.Sprintf("%s/participants/%d", vb, k.Participants[0]),
		"/dashboard/p/999999/overview", "/dashboard/p/abc/overview")
	for _, u := range urls {
		resp, body := e.do(t, vet, "GET", u, nil)
		if resp.StatusCode != 404 && resp.StatusCode != 403 {
			t.Errorf("vetluga GET %s: %d", u, resp.StatusCode)
		}
		if strings.Contains(body, "Краснодол") {
			t.Errorf("vetluga GET %s shows krasnodol data", u)
		}
	}
	posts := []string{kb + "/moderation/" + k.Review[0] + "/approve", kb + "/moderation/" + k.Review[0] + "/reject",
		vb + "/moderation/" + k.Review[0] + "/approve", vb + "/moderation/" + k.Review[1] + "/reject",
		kb + "/unmatched/confirm", fmt.Sprintf("%s/settings/skus/%d/weight", kb, k.SKUIDs[0]),
		fmt.Sprintf("%s/settings/skus/%d/weight", vb, k.SKUIDs[0])}
	for _, u := range posts {
		resp, _ := e.do(t, vet, "POST", u, url.Values{"_csrf": {vet.csrf}, "reason": {"x"}, "weight": {"2"},
			"alias": {"x"}, "sku": {fmt.Sprint(k.SKUIDs[0])}})
		if resp.StatusCode != 404 && resp.StatusCode != 403 {
			t.Errorf("vetluga POST %s: %d", u, resp.StatusCode)
		}
	}
	// Nothing of krasnodol changed.
	r, err := e.data.Receipts.Get(t.Context(), k.Review[0])
	if err != nil || r.Status != receipt.NeedsReview {
		t.Errorf("krasnodol review receipt: %v %v", r.Status, err)
	}
	// The operator sees both tenants; krasnodol's manager sees its own.
	op := e.mustLogin(t, "operator@loyaltyjam.demo")
	kr := e.mustLogin(t, k.ManagerEmail)
	for _, c := range []*client{op, kr} {
		for _, u := range pages(k.ProgramID, k.Credited[0], k.Participants[0]) {
			if resp, _ := e.do(t, c, "GET", u, nil); resp.StatusCode != 200 {
				t.Errorf("GET %s: %d", u, resp.StatusCode)
			}
		}
	}
	// Signed out: every page sends to the sign-in form.
	anon := &client{cookies: map[string]string{}}
	for _, u := range append(pages(v.ProgramID, v.Credited[0], v.Participants[0]), exports(v.ProgramID)...) {
		resp, _ := e.do(t, anon, "GET", u, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/login" {
			t.Errorf("anonymous GET %s: %d %s", u, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestCSRFAndModeration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ModeratorMail)
	base := fmt.Sprintf("/dashboard/p/%d/moderation/", v.ProgramID)
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no token", url.Values{}},
		{"wrong token", url.Values{"_csrf": {strings.Repeat("a", 64)}}},
	} {
		resp, _ := e.do(t, c, "POST", base+v.Review[0]+"/approve", tc.form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if r, _ := e.data.Receipts.Get(t.Context(), v.Review[0]); r.Status != receipt.NeedsReview {
		t.Fatalf("a forged form changed the receipt: %s", r.Status)
	}
	// Sign-in form without its token.
	resp, _ := e.do(t, &client{cookies: map[string]string{}}, "POST", "/dashboard/login",
		url.Values{"email": {v.ManagerEmail}, "password": {seed.DemoPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without token: %d", resp.StatusCode)
	}
	// Reject needs a reason.
	resp, _ = e.do(t, c, "POST", base+v.Review[1]+"/reject", url.Values{"_csrf": {c.csrf}, "reason": {" "}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("reject without reason: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, c, "POST", base+v.Review[1]+"/reject", url.Values{"_csrf": {c.csrf}, "reason": {"Чек не из вашего магазина"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("reject: %d", resp.StatusCode)
	}
	r, _ := e.data.Receipts.Get(t.Context(), v.Review[1])
	last := r.Events[len(r.Events)-1]
	if r.Status != receipt.Rejected || last.Reason != "moderator_rejected" || last.Data["comment"] != "Чек не из вашего магазина" {
		t.Errorf("after reject: %s %+v", r.Status, last)
	}
	// Approve: one without fiscal items goes back to verification, one with
	// items moves on to matched.
	for _, id := range v.Review[:1] {
		resp, _ = e.do(t, c, "POST", base+id+"/approve", url.Values{"_csrf": {c.csrf}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("approve: %d", resp.StatusCode)
		}
		r, _ := e.data.Receipts.Get(t.Context(), id)
		if r.Status != receipt.Queued && r.Status != receipt.Matched {
			t.Errorf("after approve: %s", r.Status)
		}
	}
	// Deciding twice is a conflict, not a second transition.
	resp, _ = e.do(t, c, "POST", base+v.Review[0]+"/approve", url.Values{"_csrf": {c.csrf}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second approve: %d", resp.StatusCode)
	}
	// A moderator may not edit settings.
	resp, _ = e.do(t, c, "POST", fmt.Sprintf("/dashboard/p/%d/settings/skus/%d/weight", v.ProgramID, v.SKUIDs[0]),
		url.Values{"_csrf": {c.csrf}, "weight": {"2"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator edits weight: %d", resp.StatusCode)
	}
	// Logout ends the session server-side.
	old := c.cookies["lj_session"]
	resp, _ = e.do(t, c, "POST", "/dashboard/logout", url.Values{"_csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	replay := &client{cookies: map[string]string{"lj_session": old}}
	if resp, _ := e.do(t, replay, "GET", fmt.Sprintf("/dashboard/p/%d/overview", v.ProgramID), nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after logout: %d", resp.StatusCode)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.data.Vetluga.ManagerEmail
	for i := 1; i <= 5; i++ {
		_, resp := e.login(t, email, "wrong-password")
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, resp.StatusCode, want)
		}
		e.clock.Add(10 * time.Second) // past the progressive delay after the third
	}
	if _, resp := e.login(t, email, seed.DemoPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d", resp.StatusCode)
	}
	// Unknown e-mails read like a wrong password.
	if _, resp := e.login(t, "nobody@example.com", "x"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown e-mail: %d", resp.StatusCode)
	}
	e.clock.Add(16 * time.Minute)
	c, resp := e.login(t, email, seed.DemoPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the lock: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, c, "GET", "/dashboard/", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/overview") {
		t.Errorf("home after sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := &client{cookies: map[string]string{}}
	e.do(t, c, "GET", "/dashboard/login", nil)
	req := httptest.NewRequest("POST", "/dashboard/login", strings.NewReader(url.Values{"_csrf": {c.csrf},
		"email": {e.data.Vetluga.ManagerEmail}, "password": {seed.DemoPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "lj_login_csrf", Value: c.cookies["lj_login_csrf"]})
	resp, err := e.app.Test(req, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	sc := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"lj_session=", "HttpOnly", "SameSite=Lax", "path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie lacks %q: %s", want, sc)
		}
	}
}

// rawCodes are reason codes the pages must show in Russian, never as is.
var rawCodes = []string{"earned", "cap_per_receipt", "no_brand", "not_matched", "shop_mismatch", "sku_not_in_program"}

// receiptPage: line reasons and match reasons in Russian, and the stored
// evaluation's rule version, bonus and caps.
func receiptPage(t *testing.T, e *env, c *client) {
	t.Helper()
	v := e.data.Vetluga
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/receipts/%s", v.ProgramID, v.Credited[0]), nil)
	for _, want := range []string{"по GTIN", "Товар программы",
		"Баллы начислены.", "Достигнут лимит баллов за один чек.", "Товар не распознан в каталоге программы.",
		"ни брендов, ни артикулов программы в названии", "До лимитов: 80.",
		`id="evaluation"`, "версия 1", "«Два SKU в чеке»: <b>0</b> из 20",
		"Лимит 150, уже начислено 0, срезано <b>50</b>."} {
		if !strings.Contains(body, want) {
			t.Errorf("credited receipt page lacks %q", want)
		}
	}
	for _, code := range rawCodes {
		if strings.Contains(body, code) {
			t.Errorf("credited receipt page shows the raw code %q", code)
		}
	}
	_, body = e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/receipts/%s", v.ProgramID, v.Rejected[0]), nil)
	if strings.Count(body, "Чек пробит не в вашем магазине.") < 4 { // status, 3 lines (and the event)
		t.Errorf("rejected receipt page does not explain its lines")
	}
	for _, code := range rawCodes {
		if strings.Contains(body, code) {
			t.Errorf("rejected receipt page shows the raw code %q", code)
		}
	}
}

var absurdForecast = regexp.MustCompile(`через [0-9  ]{5,} дн`)

// settingsPage: spending and balance from the ledger, a sane forecast.
func settingsPage(t *testing.T, e *env, c *client) {
	t.Helper()
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/settings", e.data.Vetluga.ProgramID), nil)
	// Two receipts of 150 points in the 30 days to 15 March: 10 a day,
	// which would last ~50 000 days; the program ends on 31.12.2026.
	for _, want := range []string{`id="burn" data-kopecks="1000" data-window="30000" data-days="30">10<`, "чеки 300",
		"хватит до окончания программы 31.12.2026", `id="budget-spent" data-kopecks="60000">600 `} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if m := absurdForecast.FindString(body); m != "" {
		t.Errorf("settings page forecasts %q", m)
	}
}

// TestOverviewChurnOfCompleteMonths: on 15 March the default period ends in
// the running month; churn compares January and February and says so.
func TestOverviewChurnOfCompleteMonths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustLogin(t, e.data.Vetluga.ManagerEmail)
	_, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/overview", e.data.Vetluga.ProgramID), nil)
	m := regexp.MustCompile(`(?s)<div class="kpi" title="([^"]*)" data-kpi="churn">.*?<div class="kpi-value">\s*([^<]*?)\s*</div>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("overview has no churn KPI")
	}
	for _, want := range []string{"активные в январе 2026 и не активные в феврале 2026", "два последних полных месяца"} {
		if !strings.Contains(m[1], want) {
			t.Errorf("churn formula %q lacks %q", m[1], want)
		}
	}
	if !strings.Contains(m[2], "(янв 2026 → фев 2026)") {
		t.Errorf("churn value %q does not name its months", m[2])
	}
}

// TestApproveThroughPointsService wires the dashboard as serve does: the
// points service's ProcessApproved as Credit and the notification hook on
// the receipt store. A needs_review receipt the rules then reject is shown
// as rejected, not "подтверждён", and its participant is notified.
func TestApproveThroughPointsService(t *testing.T) {
	t.Parallel()
	e, db, store := newApproveEnv(t)
	data := e.data
	v := data.Vetluga
	c := e.mustLogin(t, v.ModeratorMail)
	// Review[1] has verified items; the demo shops' cash registers are not
	// the receipt's, so the rules reject it once the anomaly check is
	// waived.
	id := v.Review[1]
	before, err := store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/moderation", v.ProgramID), nil) // the session's CSRF token
	resp, body := e.do(t, c, "POST", fmt.Sprintf("/dashboard/p/%d/moderation/%s/approve", v.ProgramID, id), url.Values{"_csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}
	r, err := store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != receipt.Rejected {
		t.Fatalf("after approve through the points service: %s (%s)", r.Status, r.StatusReason)
	}
	_, body = e.do(t, c, "GET", resp.Header.Get("Location"), nil)
	flash := regexp.MustCompile(`<p class="ok" role="status"[^>]*>([^<]*)</p>`).FindStringSubmatch(body)
	if flash == nil {
		t.Fatalf("no flash after approve; redirected to %s", resp.Header.Get("Location"))
	}
	t.Logf("flash: %s", flash[1])
	last := r.Events[len(r.Events)-1]
	if strings.Contains(flash[1], "подтверждён") || !strings.Contains(flash[1], "отклонён") || !strings.Contains(flash[1], last.Message) {
		t.Errorf("flash %q for a receipt rejected with %q", flash[1], last.Message)
	}
	var n int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM notification_intents WHERE participant_id = $1
		AND event_type = 'receipt_rejected' AND data->>'receipt_id' = $2`, before.ParticipantID, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d receipt_rejected intents for the participant, want 1", n)
	}
	// A forged flash shows nothing: the text comes from the receipt.
	_, body = e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/moderation?done=approved&rid=%s", v.ProgramID, data.Krasnodol.Review[0]), nil)
	if strings.Contains(body, `role="status"`) {
		t.Error("flash for another tenant's receipt")
	}
}

// TestDrillDownCounts follows every drill-down link of the sales report
// (each dimension, with the unknown shop and the chain and region not
// specified) and of the overview's receipt counts, through all pages, and
// checks that it lists exactly as many receipts as the number it is on,
// each once and in a status the number counts. The data adds to
// reporttest's receipts of no shop and of a shop with no chain or region,
// a receipt outside sales in the same place, a duplicate bought in the
// period but uploaded later, and receipts whose QR was never read
// (dated by upload).
func TestDrillDownCounts(t *testing.T) {
	t.Parallel()
	e, db := newEnvDB(t)
	ctx := t.Context()
	v := e.data.Vetluga
	var bare int64
	if err := db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, address) VALUES ($1, 'BARE-1', 'Киоск без сети', 'ул. Пустая, 1')
		RETURNING id`, v.ClientID).Scan(&bare); err != nil {
		t.Fatal(err)
	}
	feb := time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 3, 18, 30, 0, 0, time.UTC)
	for _, x := range []struct {
		shop    *int64
		part    int
		at      time.Time
		outcome receipt.Status
	}{
		{nil, 0, feb, receipt.Credited}, {nil, 1, mar, receipt.Credited}, {nil, 2, mar, receipt.NoEligibleItems},
		{nil, 0, mar, receipt.NeedsReview}, {&bare, 1, feb, receipt.Credited}, {&bare, 2, mar, receipt.Rejected},
		{nil, 1, feb, receipt.Duplicate}, // uploaded today (the database's clock), bought in February
	} {
		reporttest.AddReceipt(t, e.data.Receipts, &v, x.shop, x.part, x.at, x.outcome)
	}
	// Never read: dated by upload, moved into March.
	for i, st := range []receipt.Status{receipt.Unreadable, receipt.Unreadable, receipt.Duplicate} {
		id := reporttest.AddUnreadable(t, e.data.Receipts, &v, i, st)
		if _, err := db.Exec(ctx, `UPDATE receipts SET created_at = $2 WHERE id = $1`, id, mar.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	c := e.mustLogin(t, v.ManagerEmail)
	base := fmt.Sprintf("/dashboard/p/%d", v.ProgramID)
	const per = "from=2026-02&to=2026-03"

	// list follows a receipts URL through its pages and returns the
	// statuses of the receipts it lists, by id.
	list := func(href string) map[string]string {
		t.Helper()
		got := map[string]string{}
		for page := 0; href != ""; page++ {
			if page > 100 {
				t.Fatalf("%s: too many pages", href)
			}
			resp, body := e.do(t, c, "GET", href, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", href, resp.StatusCode)
			}
			for _, m := range receiptRowRe.FindAllStringSubmatch(body, -1) {
				if _, dup := got[m[1]]; dup {
					t.Errorf("%s lists receipt %s twice", href, m[1])
				}
				got[m[1]] = m[2]
			}
			href = ""
			if m := nextRe.FindStringSubmatch(body); m != nil {
				href = base + "/receipts" + html.UnescapeString(m[1])
			}
		}
		return got
	}
	check := func(what, href string, n int64, statuses ...string) {
		t.Helper()
		got := list(href)
		if int64(len(got)) != n {
			t.Errorf("%s: the number is %d, its drill-down %s lists %d receipts", what, n, href, len(got))
		}
		for id, st := range got {
			if len(statuses) > 0 && !slices.Contains(statuses, st) {
				t.Errorf("%s: %s lists receipt %s in status %s", what, href, id, st)
			}
		}
	}
	var salesTotal int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE program_id = $1 AND status IN ('credited', 'no_eligible_items')
		AND purchased_at >= '2026-02-01' AND purchased_at < '2026-04-01'`, v.ProgramID).Scan(&salesTotal); err != nil {
		t.Fatal(err)
	}
	// The unknown shop and the chain/region "not specified", counted from
	// the receipts themselves.
	var noShop, noChain, noRegion int64
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE r.shop_id IS NULL), count(*) FILTER (WHERE COALESCE(sh.chain, '') = ''),
		count(*) FILTER (WHERE COALESCE(sh.region, '') = '')
		FROM receipts r LEFT JOIN shops sh ON sh.id = r.shop_id WHERE r.program_id = $1 AND r.status IN ('credited', 'no_eligible_items')
		AND r.purchased_at >= '2026-02-01' AND r.purchased_at < '2026-04-01'`, v.ProgramID).Scan(&noShop, &noChain, &noRegion); err != nil {
		t.Fatal(err)
	}
	if noShop != 3 || noChain != 4 || noRegion < 4 {
		t.Fatalf("test data: %d receipts of no shop, %d of no chain, %d of no region", noShop, noChain, noRegion)
	}
	special := map[string]struct {
		label string
		n     int64
	}{report.ByShop: {"Магазин не определён", noShop}, report.ByChain: {"Не указано", noChain},
		report.ByRegion: {"Не указано", noRegion}}
	for _, by := range []string{report.BySKU, report.ByShop, report.ByChain, report.ByRegion, report.ByParticipant} {
		resp, body := e.do(t, c, "GET", base+"/sales?by="+by+"&"+per, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("sales by %s: %d", by, resp.StatusCode)
		}
		rows := salesRowRe.FindAllStringSubmatch(body, -1)
		if len(rows) < 2 {
			t.Fatalf("sales by %s: %d rows", by, len(rows))
		}
		var sum int64
		seen := 0
		for _, m := range rows {
			label, href, n := m[1], html.UnescapeString(m[2]), count(t, m[3])
			sum += n
			check("sales by "+by+" "+label, href, n, "credited", "no_eligible_items")
			if sp, ok := special[by]; ok && label == sp.label {
				seen++
				if n != sp.n {
					t.Errorf("sales by %s: %q shows %d receipts, the receipts say %d", by, label, n, sp.n)
				}
				if !strings.Contains(href, "="+report.None) {
					t.Errorf("sales by %s: %q drills down with %s", by, label, href)
				}
			}
		}
		if sp, ok := special[by]; ok && seen != 1 {
			t.Errorf("sales by %s: %d rows %q, want 1", by, seen, sp.label)
		}
		if by != report.BySKU && sum != salesTotal {
			t.Errorf("sales by %s: rows sum to %d receipts, the period has %d", by, sum, salesTotal)
		}
	}

	// The overview: receipts processed, by outcome, and verified sales.
	_, body := e.do(t, c, "GET", base+"/overview?"+per, nil)
	outcomes := outcomeRe.FindAllStringSubmatch(body, -1)
	var total int64
	statuses := map[string]bool{}
	for _, m := range outcomes {
		href := html.UnescapeString(m[1])
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		st := u.Query().Get("status")
		statuses[st] = true
		n := count(t, m[2])
		total += n
		check("overview outcome "+st, href, n, st)
	}
	for _, st := range []string{"credited", "no_eligible_items", "needs_review", "rejected", "unreadable", "duplicate"} {
		if !statuses[st] {
			t.Errorf("overview shows no %s receipts", st)
		}
	}
	m := receiptsKPIRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("overview: no receipts KPI link")
	}
	if n := count(t, m[2]); n != total {
		t.Errorf("overview: %d receipts processed, outcomes sum to %d", n, total)
	}
	check("overview receipts processed", html.UnescapeString(m[1]), total)
	check("overview verified sales", base+"/receipts?status=sales&d_from=2026-02-01&d_to=2026-03-31", salesTotal,
		"credited", "no_eligible_items")
}

var (
	receiptRowRe  = regexp.MustCompile(`class="receipt-link" href="[^"]*/receipts/([0-9a-f-]{36})">[^<]*</a></td>\s*<td><span class="st st-([a-z_]+)"`)
	nextRe        = regexp.MustCompile(`<a href="(\?[^"]*)" id="next-page"`)
	salesRowRe    = regexp.MustCompile(`(?s)<tr>\s*<td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>\s*<td class="muted small">[^<]*</td>\s*<td class="num"><a href="([^"]*)">([^<]*)</a></td>`)
	outcomeRe     = regexp.MustCompile(`<td class="num"><a href="([^"]*/receipts\?[^"]*status=[^"]*)">([^<]*)</a></td>`)
	receiptsKPIRe = regexp.MustCompile(`data-kpi="receipts">(?s:.*?)<a href="([^"]*)">([^<]*)</a>`)
)

// count reads a number as the templates print it (digits with thin or
// non-breaking spaces).
func count(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n = n*10 + int64(r-'0')
			digits++
		}
	}
	if digits == 0 {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// newApproveEnv is a dashboard wired as serve wires it for moderation: the
// receipt store with the notifier and rollup subscribers, and the points
// service's ProcessApproved as the approval's Credit.
func newApproveEnv(t *testing.T) (*env, *pgxpool.Pool, *receiptdb.Store) {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	store := receiptdb.New(db, notifydb.Notifier{}, reportdb.Rollups{})
	quiet := slog.New(slog.DiscardHandler)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	pts := points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{}, points.WithClock(func() time.Time { return testNow }))
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: store,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: store, Credit: pts.ProcessApproved}, Now: func() time.Time { return testNow }, Logger: quiet}).Register(app)
	return &env{app: app, data: data, clock: &clock{t: testNow}}, db, store
}
