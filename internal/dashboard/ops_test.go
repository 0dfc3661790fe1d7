package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

const operatorEmail = "operator@loyaltyjam.demo"

// opsEnv is the whole dashboard (tasks and registries too, so every route
// exists) with the operations pages on the demo data, invitations going
// through the SMTP simulator.
type opsEnv struct {
	env
	db   *pgxpool.Pool
	mail *emailsim.Server
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	quiet := slog.New(slog.DiscardHandler)
	sim := emailsim.New(emailsim.Options{Logger: quiet})
	addr, err := sim.StartSMTP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	mc, err := email.New(email.Options{Addr: addr, From: "noreply@loyaltyjam.test", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// An analyst of Ветлуга, for the read-only walk.
	h, err := password.Hash(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash) VALUES ($1, 'analyst@vetluga.demo', 'Аналитик', 'analyst', $2)`,
		data.Vetluga.ClientID, h); err != nil {
		t.Fatal(err)
	}
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	svc := tenant.NewService(tenantdb.New(db, auditdb.New(db)), auditdb.New(db), tenant.Config{PublicURL: "http://dash.test", Mail: mc, Logger: quiet, Now: clk.Now})
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Photos: photos, Logger: quiet, Now: clk.Now,
		Tasks: taskdb.New(db, photos, ledgerdb.Postings{}), Tenant: svc,
		Registries: registry.NewService(registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithCreditSubscribers(notifydb.Notifier{})),
			registry.EnqueueFunc(func(context.Context, int64, string) error { return nil }), registry.Config{Logger: quiet})}).Register(app)
	return &opsEnv{env: env{app: app, data: data, clock: clk}, db: db, mail: sim}
}

var inviteLinkRe = regexp.MustCompile(`http://dash\.test(/dashboard/invite/[A-Za-z0-9_-]{43})`)

func (e *opsEnv) inviteLink(t *testing.T, to string, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := e.mail.Wait(ctx, to, n)
	if err != nil {
		t.Fatal(err)
	}
	got := inviteLinkRe.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no link in %q", m.Text)
	}
	return got[1]
}

func (e *opsEnv) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpsPages(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	op := e.mustLogin(t, operatorEmail)
	mgr := e.mustLogin(t, e.data.Vetluga.ManagerEmail)
	rival := e.mustLogin(t, e.data.Krasnodol.ManagerEmail)
	vet := fmt.Sprint(e.data.Vetluga.ClientID)

	// Clients: the operator's pages.
	resp, body := e.do(t, op, "GET", "/dashboard/admin/clients", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "vetluga") || !strings.Contains(body, "krasnodol") {
		t.Fatalf("clients page %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mgr, "GET", "/dashboard/admin/clients", nil); resp.StatusCode != 403 {
		t.Errorf("a client manager opens the clients page: %d", resp.StatusCode)
	}
	form := url.Values{"_csrf": {op.csrf}, "code": {"romashka"}, "legal_name": {"ООО «Ромашка»"}, "inn": {"7707083894"}, "time_zone": {"Europe/Moscow"}}
	resp, body = e.do(t, op, "POST", "/dashboard/admin/clients", form)
	if resp.StatusCode != 422 || !strings.Contains(body, "контрольные цифры") || !strings.Contains(body, `value="romashka"`) {
		t.Fatalf("bad ИНН: %d", resp.StatusCode)
	}
	form.Set("inn", "7707083893")
	resp, _ = e.do(t, op, "POST", "/dashboard/admin/clients", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.HasPrefix(loc, "/dashboard/admin/clients/") {
		t.Fatalf("create: %d %s", resp.StatusCode, loc)
	}
	romashka := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/admin/clients/"), "?done=created")
	if resp, body := e.do(t, op, "GET", loc, nil); resp.StatusCode != 200 || !strings.Contains(body, "Клиент создан") {
		t.Fatalf("client page %d", resp.StatusCode)
	}
	// Tenant isolation: another client's pages are not found.
	for _, p := range []string{"/dashboard/admin/clients/" + romashka, "/dashboard/admin/clients/" + vet, "/dashboard/admin/audit?client_id=" + vet,
		"/dashboard/admin/audit/export?client_id=" + vet} {
		if resp, _ := e.do(t, rival, "GET", p, nil); resp.StatusCode != 404 {
			t.Errorf("rival GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := e.do(t, rival, "POST", "/dashboard/admin/clients/"+vet+"/invite", url.Values{"_csrf": {rival.csrf}, "email": {"spy@x.ru"}, "role": {"moderator"}}); resp.StatusCode != 404 {
		t.Errorf("rival invites into Ветлуга: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mgr, "POST", "/dashboard/admin/clients/"+vet, url.Values{"_csrf": {mgr.csrf}, "legal_name": {"x"}, "inn": {"7707083893"}}); resp.StatusCode != 403 {
		t.Errorf("a manager edits the client card: %d", resp.StatusCode)
	}

	// The manager invites a moderator; a bad address is shown on the form.
	resp, body = e.do(t, mgr, "POST", "/dashboard/admin/clients/"+vet+"/invite", url.Values{"_csrf": {mgr.csrf}, "email": {"не адрес"}, "role": {"moderator"}})
	if resp.StatusCode != 422 || !strings.Contains(body, "Неверный адрес") {
		t.Fatalf("bad invite: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, mgr, "POST", "/dashboard/admin/clients/"+vet+"/invite", url.Values{"_csrf": {mgr.csrf}, "email": {"new.mod@vetluga.demo"}, "name": {"Пётр"}, "role": {"moderator"}})
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "done=invited") {
		t.Fatalf("invite: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	link := e.inviteLink(t, "new.mod@vetluga.demo", 1)
	guest := &client{e: &e.env, cookies: map[string]string{}}
	if resp, body := e.do(t, guest, "GET", link, nil); resp.StatusCode != 200 || !strings.Contains(body, "модератор") {
		t.Fatalf("invite page %d", resp.StatusCode)
	}
	if resp, body := e.do(t, guest, "POST", link, url.Values{"password": {"long password 1"}, "password_repeat": {"long password 2"}}); resp.StatusCode != 422 || !strings.Contains(body, "не совпадают") {
		t.Errorf("mismatch: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, guest, "POST", link, url.Values{"password": {"short"}, "password_repeat": {"short"}}); resp.StatusCode != 422 || !strings.Contains(body, "от 10") {
		t.Errorf("weak: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, guest, "POST", link, url.Values{"name": {"Пётр"}, "password": {"a good password"}, "password_repeat": {"a good password"}}); resp.StatusCode != 200 || !strings.Contains(body, "Пароль задан") {
		t.Fatalf("accept: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, guest, "GET", link, nil); resp.StatusCode != 410 || !strings.Contains(body, "уже использовано") {
		t.Errorf("reused link: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, guest, "GET", "/dashboard/invite/"+strings.Repeat("x", 43), nil); resp.StatusCode != 404 {
		t.Errorf("unknown link: %d", resp.StatusCode)
	}
	newMod, resp := e.login(t, "new.mod@vetluga.demo", "a good password")
	if resp.StatusCode != 303 {
		t.Fatalf("the new moderator cannot sign in: %d", resp.StatusCode)
	}

	// The manager deactivates them: the session ends, sign-in fails.
	var id int64
	if err := e.db.QueryRow(context.Background(), `SELECT id FROM dashboard_users WHERE email = 'new.mod@vetluga.demo'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(t, rival, "POST", fmt.Sprintf("/dashboard/admin/staff/%d/deactivate", id), url.Values{"_csrf": {rival.csrf}}); resp.StatusCode != 404 {
		t.Errorf("rival deactivates: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, mgr, "POST", fmt.Sprintf("/dashboard/admin/staff/%d/deactivate", id), url.Values{"_csrf": {mgr.csrf}, "reason": {"испытательный срок"}})
	if resp.StatusCode != 303 {
		t.Fatalf("deactivate: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, newMod, "GET", "/dashboard/admin/staff", nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/dashboard/login" {
		t.Errorf("a deactivated session still works: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, resp := e.login(t, "new.mod@vetluga.demo", "a good password"); resp.StatusCode != 401 {
		t.Errorf("a deactivated account signs in: %d", resp.StatusCode)
	}

	// The audit page and its export: Ветлуга's manager sees Ветлуга's
	// entries, filtered; the rival none of them.
	resp, body = e.do(t, mgr, "GET", "/dashboard/admin/audit", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("audit page %d", resp.StatusCode)
	}
	for _, a := range []string{`data-action="staff.invite"`, `data-action="staff.invitation_accept"`, `data-action="staff.deactivate"`, "испытательный срок"} {
		if !strings.Contains(body, a) {
			t.Errorf("audit page lacks %s", a)
		}
	}
	if strings.Contains(body, `data-action="client.create"`) {
		t.Error("a client's manager sees the creation of another client")
	}
	_, body = e.do(t, mgr, "GET", "/dashboard/admin/audit?action=staff.deactivate&from="+time.Now().Format(time.DateOnly), nil)
	if n := strings.Count(body, `class="audit-entry"`); n != 1 {
		t.Errorf("filtered audit page: %d entries", n)
	}
	if resp, _ := e.do(t, mgr, "GET", "/dashboard/admin/audit?from=вчера", nil); resp.StatusCode != 400 {
		t.Errorf("bad date filter: %d", resp.StatusCode)
	}
	_, body = e.do(t, rival, "GET", "/dashboard/admin/audit", nil)
	if strings.Contains(body, `data-action="staff.invite"`) {
		t.Error("the rival sees Ветлуга's entries")
	}
	resp, body = e.do(t, mgr, "GET", "/dashboard/admin/audit/export", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || strings.Count(body, "staff.") != 3 {
		t.Errorf("export %d %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	_, body = e.do(t, op, "GET", "/dashboard/admin/audit", nil)
	if !strings.Contains(body, `data-action="client.create"`) || !strings.Contains(body, `data-action="staff.deactivate"`) {
		t.Error("the operator does not see every client's entries")
	}
	for _, a := range []string{"client.create", "staff.invite", "staff.invitation_accept", "staff.deactivate"} {
		if e.auditCount(t, a) != 1 {
			t.Errorf("%s recorded %d times", a, e.auditCount(t, a))
		}
	}
}

// Every dashboard route that is not a read refuses an analyst (signing
// out aside), whoever added it.
func TestAnalystReadOnlyDashboard(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	an := e.mustLogin(t, "analyst@vetluga.demo")
	n := 0
	seen := map[string]bool{}
	for _, rt := range e.app.GetRoutes(true) {
		key := rt.Method + " " + rt.Path
		if !strings.HasPrefix(rt.Path, dashboard.Prefix) || rt.Method == fiber.MethodGet || rt.Method == fiber.MethodHead ||
			rt.Method == "USE" || seen[key] || rt.Path == "/dashboard/login" || rt.Path == "/dashboard/logout" ||
			strings.HasPrefix(rt.Path, "/dashboard/invite/") {
			continue
		}
		seen[key] = true
		path := strings.ReplaceAll(rt.Path, ":pid", fmt.Sprint(e.data.Vetluga.ProgramID))
		path = regexp.MustCompile(`:[a-z]+`).ReplaceAllString(path, "1")
		resp, _ := e.do(t, an, rt.Method, path, url.Values{"_csrf": {an.csrf}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s as analyst: %d", rt.Method, rt.Path, resp.StatusCode)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d mutating routes walked", n)
	}
	// Reads still work.
	if resp, _ := e.do(t, an, "GET", "/dashboard/admin/audit", nil); resp.StatusCode != 200 {
		t.Errorf("analyst reads the audit log: %d", resp.StatusCode)
	}
	var audit int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&audit); err != nil || audit != 0 {
		t.Errorf("%d audit entries after refused requests (%v)", audit, err)
	}
}

func TestOpsShopsPage(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	mgr := e.mustLogin(t, e.data.Vetluga.ManagerEmail)
	rival := e.mustLogin(t, e.data.Krasnodol.ManagerEmail)
	base := fmt.Sprintf("/dashboard/admin/clients/%d/shops", e.data.Vetluga.ClientID)
	resp, body := e.do(t, mgr, "GET", base, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "AUTO-001") {
		t.Fatalf("shops page %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, rival, "GET", base, nil); resp.StatusCode != 404 {
		t.Errorf("rival sees Ветлуга's shops: %d", resp.StatusCode)
	}
	upload := func(c *client, content string) (*http.Response, string) {
		t.Helper()
		var buf strings.Builder
		b := "xBOUNDARYx"
		buf.WriteString("--" + b + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + c.csrf + "\r\n")
		buf.WriteString("--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shops.csv\"\r\nContent-Type: text/csv\r\n\r\n" + content + "\r\n--" + b + "--\r\n")
		req := httptest.NewRequest("POST", base, strings.NewReader(buf.String()))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+b)
		for k, v := range c.cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := e.app.Test(req, 30_000)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	resp, body = upload(mgr, "код;название;ИНН\nN-1;Новый;7707083894\n")
	if resp.StatusCode != 422 || !strings.Contains(body, "row-errors") || !strings.Contains(body, "контрольные цифры") {
		t.Fatalf("bad file: %d", resp.StatusCode)
	}
	resp, _ = upload(mgr, "код;название;ИНН;ФН;дистрибьютор\nN-1;Новый;7707083893;7281440500000777;ООО Дистр\nAUTO-001;Автомир на Ленина (обновлён);;;\n")
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "created=1&updated=1") {
		t.Fatalf("import: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := upload(rival, "код;название\nX;Y\n"); resp.StatusCode != 404 {
		t.Errorf("rival imports: %d", resp.StatusCode)
	}
	var id int64
	if err := e.db.QueryRow(context.Background(), `SELECT id FROM shops WHERE code = 'N-1'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"_csrf": {mgr.csrf}, "name": {"Новый"}, "inn": {"7707083893"}, "kkt": {"0004567890099999"}, "fn": {"7281440500000777"},
		"address": {"Тула"}, "chain": {"Сеть"}, "region": {"Тульская область"}, "distributor": {"ООО Дистр"}}
	if resp, _ := e.do(t, rival, "POST", fmt.Sprintf("/dashboard/admin/shops/%d", id), url.Values{"_csrf": {rival.csrf}, "name": {"x"}}); resp.StatusCode != 404 {
		t.Errorf("rival edits: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mgr, "POST", fmt.Sprintf("/dashboard/admin/shops/%d", id), form); resp.StatusCode != 303 {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	_, body = e.do(t, mgr, "GET", base, nil)
	if !strings.Contains(body, "0004567890099999") || !strings.Contains(body, "Тульская область") {
		t.Error("the edit is not shown")
	}
	if e.auditCount(t, "shop.import") != 1 || e.auditCount(t, "shop.update") != 1 {
		t.Error("shop changes not audit-logged")
	}
}
