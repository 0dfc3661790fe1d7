package dashboard_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/peopledb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

type moneyDash struct {
	*env
	db      *pgxpool.Pool
	budgets *budgetdb.Store
}

func newMoneyDash(t *testing.T) *moneyDash {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	rec := auditdb.New(db)
	b := budgetdb.New(db, ledgerdb.Postings{}, rec, quiet)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet,
		Budgets: b, People: peopledb.New(db, ledgerdb.Postings{}, rec, secondApproval)}).Register(app)
	return &moneyDash{env: &env{app: app, data: data, clock: clk}, db: db, budgets: b}
}

func (e *moneyDash) audits(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var keyRe = regexp.MustCompile(`name="key" value="([^"]+)"`)

func TestBudgetPage(t *testing.T) {
	t.Parallel()
	e := newMoneyDash(t)
	v := e.data.Vetluga
	base := fmt.Sprintf("/dashboard/p/%d/budget", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)
	resp, body := e.do(t, mgr, "GET", base, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="budget-top-up"`) || !strings.Contains(body, `id="nav-budget"`) {
		t.Fatalf("budget page: %d", resp.StatusCode)
	}
	before := section(body, `id="budget-balance"`)
	key := keyRe.FindStringSubmatch(body)[1]

	// A hostile amount re-shows the form with the reason; nothing funded.
	resp, body = e.do(t, mgr, "POST", base+"/top-up", url.Values{"_csrf": {mgr.csrf}, "key": {key}, "amount": {"1e3"}, "document": {"Счёт 1"}})
	if resp.StatusCode != 422 || !strings.Contains(body, `id="top-up-error"`) {
		t.Fatalf("hostile amount: %d", resp.StatusCode)
	}
	form := url.Values{"_csrf": {mgr.csrf}, "key": {key}, "amount": {"25 000,00"}, "document": {"Платёжное поручение № 5"}, "comment": {"второй транш"}}
	for range 2 { // a double submit of one form funds once
		resp, _ = e.do(t, mgr, "POST", base+"/top-up", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("top-up: %d", resp.StatusCode)
		}
	}
	_, body = e.do(t, mgr, "GET", base+"?done=topup", nil)
	if !strings.Contains(section(body, `id="top-ups"`), "Платёжное поручение № 5") || section(body, `id="budget-balance"`) == before {
		t.Fatalf("history or balance not updated:\n%s\n%s", section(body, `id="top-ups"`), section(body, `id="budget-balance"`))
	}
	if n := e.audits(t, "budget.top_up"); n != 1 {
		t.Fatalf("%d top-up audit entries, want 1", n)
	}

	// Settings: a 1 % threshold is crossed at once (the demo data spent
	// some); the worker's check raises it and every program page shows
	// the banner.
	resp, _ = e.do(t, mgr, "POST", base+"/settings", url.Values{"_csrf": {mgr.csrf}, "alert_percents": {"1, 200"}, "alert_runway_days": {"14"}, "at_zero": {"pause"}})
	if resp.StatusCode != 422 {
		t.Fatalf("a 200 %% threshold: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, mgr, "POST", base+"/settings", url.Values{"_csrf": {mgr.csrf}, "alert_percents": {"1"}, "alert_runway_days": {"0"}, "at_zero": {"review"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", resp.StatusCode)
	}
	// Pay out 10 % of the budget (a task reward), past the 1 % threshold.
	if err := postgres.WithTx(t.Context(), e.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.Post(t.Context(), tx, ledger.Transaction{IdempotencyKey: "test:spend", Kind: ledger.KindTaskReward,
			ClientID: v.ClientID, ProgramID: v.ProgramID, ParticipantID: v.Participants[0], OccurredOn: time.Now(),
			Postings: ledger.Credit(v.ClientID, v.ProgramID, v.Participants[0], 52_000_00, false)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r, err := e.budgets.CheckAlerts(t.Context(), time.Now(), nil); err != nil || r.Raised == 0 {
		o, _ := e.budgets.Overview(t.Context(), staffOf(t, e.db, v.ManagerEmail), v.ProgramID, time.Now())
		t.Fatalf("check: %+v %v; %+v", r, err, o)
	}
	_, body = e.do(t, mgr, "GET", fmt.Sprintf("/dashboard/p/%d/overview", v.ProgramID), nil)
	if !strings.Contains(body, `id="budget-alerts"`) || !strings.Contains(body, "израсходовано") {
		t.Fatalf("no budget banner on the overview")
	}
	// Another client's manager sees none of it and changes nothing.
	kr := e.mustLogin(t, e.data.Krasnodol.ManagerEmail)
	e.do(t, kr, "GET", fmt.Sprintf("/dashboard/p/%d/overview", e.data.Krasnodol.ProgramID), nil)
	for _, u := range []string{base} {
		if resp, _ := e.do(t, kr, "GET", u, nil); resp.StatusCode != 404 {
			t.Errorf("krasnodol GET %s: %d", u, resp.StatusCode)
		}
	}
	for _, u := range []string{base + "/top-up", base + "/settings"} {
		if resp, _ := e.do(t, kr, "POST", u, url.Values{"_csrf": {kr.csrf}, "key": {"k"}, "amount": {"1"}, "document": {"d"},
			"alert_percents": {"50"}, "alert_runway_days": {"1"}, "at_zero": {"pause"}}); resp.StatusCode != 404 {
			t.Errorf("krasnodol POST %s: %d", u, resp.StatusCode)
		}
	}
	_, body = e.do(t, kr, "GET", fmt.Sprintf("/dashboard/p/%d/overview", e.data.Krasnodol.ProgramID), nil)
	if strings.Contains(body, `id="budget-alerts"`) {
		t.Errorf("krasnodol sees vetluga's budget banner")
	}
	if n := e.audits(t, "budget.top_up"); n != 1 {
		t.Fatalf("%d top-up audit entries after the rival, want 1", n)
	}
}

func TestParticipantPeopleActions(t *testing.T) {
	t.Parallel()
	e := newMoneyDash(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	pid := v.Participants[0]
	page := fmt.Sprintf("/dashboard/p/%d/participants/%d", v.ProgramID, pid)
	mgr := e.mustLogin(t, v.ManagerEmail)
	e.do(t, mgr, "GET", page, nil) // the session's CSRF token
	post := func(c *client, path string, form url.Values) (*http.Response, string) {
		form.Set("_csrf", c.csrf)
		return e.do(t, c, "POST", path, form)
	}
	resp, body := post(mgr, page+"/block", url.Values{"reason": {"фиктивные чеки"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block: %d %s", resp.StatusCode, body)
	}
	_, body = e.do(t, mgr, "GET", page, nil)
	if !strings.Contains(section(body, `id="people"`), "фиктивные чеки") || !strings.Contains(body, `id="unblock-btn"`) {
		t.Fatalf("blocked participant page:\n%s", section(body, `id="people"`))
	}
	if resp, _ := post(mgr, page+"/unblock", url.Values{"reason": {"разобрались"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unblock: %d", resp.StatusCode)
	}
	if resp, _ := post(mgr, page+"/tester", url.Values{"is_tester": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("tester: %d", resp.StatusCode)
	}
	if resp, _ := post(mgr, page+"/move", url.Values{"shop_id": {fmt.Sprint(k.ShopIDs[0])}, "reason": {"x"}}); resp.StatusCode != 422 {
		t.Fatalf("move to krasnodol's shop: %d", resp.StatusCode)
	}
	if resp, _ := post(mgr, page+"/move", url.Values{"shop_id": {fmt.Sprint(v.ShopIDs[len(v.ShopIDs)-1])}, "reason": {"перевод"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("move: %d", resp.StatusCode)
	}

	// A credit at the threshold waits for a second manager.
	_, body = e.do(t, mgr, "GET", page, nil)
	key := keyRe.FindStringSubmatch(body)[1]
	resp, _ = post(mgr, page+"/adjust", url.Values{"key": {key}, "amount": {"10000"}, "reason": {"премия за выкладку"}, "document": {"Приказ 12"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adjust: %d", resp.StatusCode)
	}
	_, body = e.do(t, mgr, "GET", page, nil)
	adj := section(body, `id="adjustments"`)
	if !strings.Contains(adj, "ждёт второго сотрудника") || strings.Contains(adj, "approve-adjustment") {
		t.Fatalf("the maker's view of a pending adjustment:\n%s", adj)
	}
	var aid int64
	if err := e.db.QueryRow(t.Context(), `SELECT id FROM manual_adjustments WHERE participant_id = $1`, pid).Scan(&aid); err != nil {
		t.Fatal(err)
	}
	approve := fmt.Sprintf("%s/adjustments/%d/approve", page, aid)
	if resp, _ := post(mgr, approve, url.Values{}); resp.StatusCode != 403 {
		t.Fatalf("the maker approves: %d", resp.StatusCode)
	}
	hash, err := password.Hash(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(t.Context(), `INSERT INTO dashboard_users (client_id, email, name, role, password_hash)
		VALUES ($1, 'checker@vetluga.demo', 'Контролёр', 'client_manager', $2)`, v.ClientID, hash); err != nil {
		t.Fatal(err)
	}
	checker := e.mustLogin(t, "checker@vetluga.demo")
	_, body = e.do(t, checker, "GET", fmt.Sprintf("/dashboard/p/%d/budget", v.ProgramID), nil)
	if !strings.Contains(section(body, `id="pending-adjustments"`), "премия за выкладку") {
		t.Fatalf("the budget page lists no pending adjustment")
	}
	_, body = e.do(t, checker, "GET", page, nil)
	if checker.csrf == "" {
		t.Fatal("no CSRF token for the checker")
	}
	if !strings.Contains(section(body, `id="adjustments"`), "approve-adjustment") {
		t.Fatalf("the checker sees no approve button")
	}
	// Krasnodol's manager cannot act on vetluga's participant, even under
	// its own program's pages.
	kr := e.mustLogin(t, k.ManagerEmail)
	e.do(t, kr, "GET", fmt.Sprintf("/dashboard/p/%d/overview", k.ProgramID), nil)
	kpage := fmt.Sprintf("/dashboard/p/%d/participants/%d", k.ProgramID, pid)
	for _, u := range []string{kpage + "/block", fmt.Sprintf("%s/adjustments/%d/approve", kpage, aid), approve} {
		if resp, _ := post(kr, u, url.Values{"reason": {"x"}}); resp.StatusCode != 404 {
			t.Errorf("krasnodol POST %s: %d", u, resp.StatusCode)
		}
	}
	if resp, _ := post(checker, approve, url.Values{"note": {"проверено"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the checker approves: %d", resp.StatusCode)
	}
	_, body = e.do(t, mgr, "GET", page, nil)
	if !strings.Contains(section(body, `id="adjustments"`), "проведено") {
		t.Fatalf("approved adjustment:\n%s", section(body, `id="adjustments"`))
	}
	for action, want := range map[string]int{"participant.block": 1, "participant.unblock": 1, "participant.tester": 1,
		"participant.move": 1, "participant.adjust_request": 1, "participant.credit": 1} {
		if n := e.audits(t, action); n != want {
			t.Errorf("%s: %d audit entries, want %d", action, n, want)
		}
	}
}
