package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/peopledb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

// threshold is the maker-checker threshold of these tests: 1 000 ₽.
const threshold = 1000_00

type moneyEnv struct {
	app                *fiber.App
	db                 *pgxpool.Pool
	acme, rival        int64
	program, rivalProg int64
	seller, seller2    int64
	shop2, rivalShop   int64
	users              map[string]access.Staff
}

func setupMoney(t *testing.T) moneyEnv {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	e := moneyEnv{db: db, users: map[string]access.Staff{}}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Акме') RETURNING id`).Scan(&e.acme))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Конкурент') RETURNING id`).Scan(&e.rival))
	for _, p := range []struct {
		client int64
		id     *int64
	}{{e.acme, &e.program}, {e.rival, &e.rivalProg}} {
		must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
			VALUES ($1, 'p1', 'Весна', 'live', current_date - 30, current_date + 60) RETURNING id`, p.client).Scan(p.id))
	}
	var shop1 int64
	must(t, db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 'S1', 'Магазин 1') RETURNING id`, e.acme).Scan(&shop1))
	must(t, db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 'S2', 'Магазин 2') RETURNING id`, e.acme).Scan(&e.shop2))
	must(t, db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 'R1', 'Чужой') RETURNING id`, e.rival).Scan(&e.rivalShop))
	must(t, db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, shop_id, status) VALUES ($1, '+79990000001', 'seller', $2, 'active') RETURNING id`,
		e.acme, shop1).Scan(&e.seller))
	must(t, db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, shop_id, status) VALUES ($1, '+79990000002', 'seller', $2, 'active') RETURNING id`,
		e.acme, shop1).Scan(&e.seller2))
	for _, u := range []struct {
		name   string
		client *int64
		role   access.Role
	}{{"maker", &e.acme, access.ClientManager}, {"checker", &e.acme, access.ClientManager}, {"moderator", &e.acme, access.Moderator},
		{"analyst", &e.acme, access.Analyst}, {"rival", &e.rival, access.ClientManager}, {"operator", nil, access.Operator}} {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, 'x') RETURNING id`,
			u.client, u.name+"@example.ru", "Сотрудник "+u.name, string(u.role)).Scan(&id))
		st := access.Staff{UserID: id, Role: u.role}
		if u.client != nil {
			st.ClientID = *u.client
		}
		e.users[u.name] = st
	}
	rec := auditdb.New(db)
	e.app = httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	api, err := adminapi.New(adminapi.Deps{
		Budgets: budgetdb.New(db, ledgerdb.Postings{}, rec, nil),
		People:  peopledb.New(db, ledgerdb.Postings{}, rec, threshold),
		Staff: func(c *fiber.Ctx) (access.Staff, error) {
			st, ok := e.users[c.Get("X-Test-Staff")]
			if !ok {
				return access.Staff{}, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
			}
			return st, nil
		}})
	must(t, err)
	api.Register(e.app)
	return e
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func (r reply) code() string { s, _ := r.body["code"].(string); return s }

func (e moneyEnv) call(t testing.TB, who, method, path, key string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		must(t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("X-Test-Staff", who)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := e.app.Test(req, -1)
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	if err := validateResponse(method, path, resp.StatusCode, resp.Header, raw); err != nil {
		t.Error(err)
	}
	return r
}

var (
	docOnce   sync.Once
	docRouter routers.Router
	docErr    error
)

// validateResponse checks a response against openapi.yaml: the route is
// documented, the status is one the document lists, the body matches.
func validateResponse(method, path string, status int, header http.Header, body []byte) error {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile("openapi.yaml")
		if err != nil {
			docErr = err
			return
		}
		if docErr = doc.Validate(loader.Context); docErr != nil {
			return
		}
		doc.Servers = openapi3.Servers{{URL: "http://localhost"}}
		docRouter, docErr = gorillamux.NewRouter(doc)
	})
	if docErr != nil {
		return fmt.Errorf("openapi.yaml: %w", docErr)
	}
	req, _ := http.NewRequest(method, "http://localhost"+path, nil)
	route, params, err := docRouter.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: not in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		return fmt.Errorf("%s %s → %d %s: does not match openapi.yaml: %v", method, path, status, body, err)
	}
	return nil
}

func (e moneyEnv) topUpPath() string {
	return fmt.Sprintf("/admin/v1/programs/%d/budget/top-ups", e.program)
}

func (e moneyEnv) budgetBalance(t testing.TB, program int64) int64 {
	t.Helper()
	var client int64
	must(t, e.db.QueryRow(context.Background(), `SELECT client_id FROM programs WHERE id = $1`, program).Scan(&client))
	b, err := ledgerdb.AccountBalance(context.Background(), e.db, ledger.BudgetAccount(client, program))
	must(t, err)
	return b
}

func (e moneyEnv) ledgerOK(t testing.TB) {
	t.Helper()
	r, err := ledgerdb.New(e.db).Check(context.Background())
	must(t, err)
	if !r.OK() {
		t.Fatalf("ledger check: %v", r.Discrepancies)
	}
	var sum int64
	for _, v := range r.BalanceByKind {
		sum += v
	}
	if sum != 0 {
		t.Fatalf("ledger accounts sum to %d, want 0: %v", sum, r.BalanceByKind)
	}
}

func (e moneyEnv) auditCount(t testing.TB, action, objectID string) int {
	t.Helper()
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2`, action, objectID).Scan(&n))
	return n
}

func TestBudgetTopUp(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	body := map[string]any{"amount": "15 000,50", "document": "Платёжное поручение № 17 от 01.12.2026", "comment": "первый транш"}
	r := e.call(t, "maker", "POST", e.topUpPath(), "k-1", body)
	if r.status != 201 || r.body["amount_kopecks"] != float64(15000_50) || r.body["replayed"] != false {
		t.Fatalf("top-up: %d %s", r.status, r.raw)
	}
	first := r.body["id"]
	// A retry with the same key funds once and answers the first top-up.
	r = e.call(t, "maker", "POST", e.topUpPath(), "k-1", body)
	if r.status != 200 || r.body["id"] != first || r.body["replayed"] != true {
		t.Fatalf("replay: %d %s", r.status, r.raw)
	}
	// The same key for another request is a conflict, not a second top-up.
	r = e.call(t, "maker", "POST", e.topUpPath(), "k-1", map[string]any{"amount": "1.00", "document": "другой"})
	if r.status != 409 || r.code() != "idempotency_key_reused" {
		t.Fatalf("reused key: %d %s", r.status, r.raw)
	}
	if b := e.budgetBalance(t, e.program); b != 15000_50 {
		t.Fatalf("balance %d, want 1500050", b)
	}
	var budgetKopecks int64
	must(t, e.db.QueryRow(context.Background(), `SELECT budget_kopecks FROM programs WHERE id = $1`, e.program).Scan(&budgetKopecks))
	if budgetKopecks != 15000_50 {
		t.Errorf("programs.budget_kopecks %d, want 1500050", budgetKopecks)
	}
	// SyncBudget (program creation's funding) finds nothing left to fund.
	if e.auditCount(t, "budget.top_up", strconv.FormatInt(e.program, 10)) != 1 {
		t.Errorf("want one budget.top_up audit entry")
	}

	hostile := []struct {
		name       string
		key        string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"negative", "h1", map[string]any{"amount": "-100", "document": "d"}, 422, "invalid_amount"},
		{"zero", "h2", map[string]any{"amount": "0", "document": "d"}, 422, "invalid_amount"},
		{"zero with cents", "h2b", map[string]any{"amount": "0.00", "document": "d"}, 422, "invalid_amount"},
		{"exponent string", "h3", map[string]any{"amount": "1e3", "document": "d"}, 422, "invalid_amount"},
		{"JSON number", "h4", `{"amount": 1000, "document": "d"}`, 422, "invalid_amount"},
		{"JSON exponent", "h5", `{"amount": 1e3, "document": "d"}`, 422, "invalid_amount"},
		{"overflow", "h6", map[string]any{"amount": "99999999999999999999999", "document": "d"}, 422, "invalid_amount"},
		{"above the cap", "h7", map[string]any{"amount": "10000000001", "document": "d"}, 422, "invalid_amount"},
		{"three decimals", "h8", map[string]any{"amount": "1.005", "document": "d"}, 422, "invalid_amount"},
		{"NaN", "h9", map[string]any{"amount": "NaN", "document": "d"}, 422, "invalid_amount"},
		{"null", "h10", `{"amount": null, "document": "d"}`, 422, "invalid_amount"},
		{"missing amount", "h11", map[string]any{"document": "d"}, 422, "invalid_amount"},
		{"no document", "h12", map[string]any{"amount": "10"}, 422, "document_required"},
		{"blank document", "h13", map[string]any{"amount": "10", "document": "   "}, 422, "document_required"},
		{"no key", "", map[string]any{"amount": "10", "document": "d"}, 422, "idempotency_key_required"},
		{"key with spaces", "a b", map[string]any{"amount": "10", "document": "d"}, 422, "idempotency_key_required"},
		{"key too long", strings.Repeat("k", 201), map[string]any{"amount": "10", "document": "d"}, 422, "idempotency_key_required"},
		{"unknown field", "h14", map[string]any{"amount": "10", "document": "d", "amount_kopecks": 1}, 422, "invalid_json"},
		{"not JSON", "h15", "amount=10", 422, "invalid_json"},
		{"two objects", "h16", `{"amount":"10","document":"d"}{"amount":"10","document":"d"}`, 422, "invalid_json"},
		{"huge body", "h17", `{"amount":"10","document":"` + strings.Repeat("x", 20<<10) + `"}`, 413, "body_too_large"},
	}
	for _, tc := range hostile {
		r := e.call(t, "maker", "POST", e.topUpPath(), tc.key, tc.body)
		if r.status != tc.wantStatus || r.code() != tc.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.raw, tc.wantStatus, tc.wantCode)
		}
	}
	if b := e.budgetBalance(t, e.program); b != 15000_50 {
		t.Fatalf("hostile requests moved the balance to %d", b)
	}
	// Roles: a moderator and an analyst read but do not fund.
	for _, who := range []string{"moderator", "analyst"} {
		if r := e.call(t, who, "POST", e.topUpPath(), "role-"+who, map[string]any{"amount": "10", "document": "d"}); r.status != 403 {
			t.Errorf("%s top-up: %d %s, want 403", who, r.status, r.raw)
		}
		if r := e.call(t, who, "GET", fmt.Sprintf("/admin/v1/programs/%d/budget", e.program), "", nil); r.status != 200 {
			t.Errorf("%s reads the budget: %d %s", who, r.status, r.raw)
		}
	}
	// An operator funds any client's program.
	if r := e.call(t, "operator", "POST", e.topUpPath(), "op-1", map[string]any{"amount": "100", "document": "Счёт 5"}); r.status != 201 {
		t.Fatalf("operator top-up: %d %s", r.status, r.raw)
	}
	r = e.call(t, "maker", "GET", fmt.Sprintf("/admin/v1/programs/%d/budget", e.program), "", nil)
	fig, _ := r.body["figures"].(map[string]any)
	if r.status != 200 || fig["funded_kopecks"] != float64(15100_50) || fig["balance_kopecks"] != float64(15100_50) || fig["spent_kopecks"] != float64(0) {
		t.Fatalf("overview: %d %s", r.status, r.raw)
	}
	r = e.call(t, "maker", "GET", e.topUpPath(), "", nil)
	if ts, _ := r.body["top_ups"].([]any); r.status != 200 || len(ts) != 2 {
		t.Fatalf("history: %d %s", r.status, r.raw)
	}
	e.ledgerOK(t)
}

func TestBudgetSettings(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	path := fmt.Sprintf("/admin/v1/programs/%d/budget/settings", e.program)
	r := e.call(t, "maker", "PUT", path, "", map[string]any{"at_zero": "review", "alert_percents": []int{90, 50, 90}, "alert_runway_days": 7})
	if r.status != 200 || r.body["at_zero"] != "review" || fmt.Sprint(r.body["alert_percents"]) != "[50 90]" {
		t.Fatalf("settings: %d %s", r.status, r.raw)
	}
	for _, bad := range []map[string]any{
		{"at_zero": "explode", "alert_percents": []int{80}, "alert_runway_days": 14},
		{"at_zero": "pause", "alert_percents": []int{0}, "alert_runway_days": 14},
		{"at_zero": "pause", "alert_percents": []int{101}, "alert_runway_days": 14},
		{"at_zero": "pause", "alert_percents": []int{80}, "alert_runway_days": -1},
		{"at_zero": "pause", "alert_percents": []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "alert_runway_days": 1},
	} {
		if r := e.call(t, "maker", "PUT", path, "", bad); r.status != 422 || r.code() != "invalid_budget_settings" {
			t.Errorf("%v: %d %s", bad, r.status, r.raw)
		}
	}
	var atZero string
	must(t, e.db.QueryRow(context.Background(), `SELECT budget_at_zero FROM programs WHERE id = $1`, e.program).Scan(&atZero))
	if atZero != "review" || e.auditCount(t, "budget.settings", strconv.FormatInt(e.program, 10)) != 1 {
		t.Fatalf("at_zero %q, audit entries %d", atZero, e.auditCount(t, "budget.settings", strconv.FormatInt(e.program, 10)))
	}
}

// Fifty top-ups at once, some of them retries of one another: every
// distinct key funds exactly once, retries fund nothing, and the ledger
// balances.
func TestConcurrentTopUps(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	const n = 50
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Keys k0..k24, each sent twice: 25 distinct top-ups of 1..25 ₽.
			k := i % 25
			r := e.call(t, "maker", "POST", e.topUpPath(), fmt.Sprintf("race-%d", k),
				map[string]any{"amount": strconv.Itoa(k+1) + ".00", "document": "Счёт " + strconv.Itoa(k)})
			statuses[i] = r.status
		}()
	}
	wg.Wait()
	created, replayed := 0, 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 200:
			replayed++
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 25 || replayed != 25 {
		t.Fatalf("created %d replayed %d, want 25 and 25", created, replayed)
	}
	want := int64(25 * 26 / 2 * 100)
	if b := e.budgetBalance(t, e.program); b != want {
		t.Fatalf("balance %d, want %d", b, want)
	}
	var rows int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM budget_top_ups WHERE program_id = $1`, e.program).Scan(&rows))
	if rows != 25 || e.auditCount(t, "budget.top_up", strconv.FormatInt(e.program, 10)) != 25 {
		t.Fatalf("%d top-up rows, %d audit entries, want 25", rows, e.auditCount(t, "budget.top_up", strconv.FormatInt(e.program, 10)))
	}
	e.ledgerOK(t)
}

func (e moneyEnv) adjustPath(p int64) string {
	return fmt.Sprintf("/admin/v1/participants/%d/adjustments", p)
}

func (e moneyEnv) available(t testing.TB, participant int64) int64 {
	t.Helper()
	b, err := ledgerdb.AccountBalance(context.Background(), e.db, ledger.AvailableAccount(e.acme, e.program, participant))
	must(t, err)
	return b
}

func TestManualAdjustmentsMakerChecker(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	must(t, e.call(t, "maker", "POST", e.topUpPath(), "fund", map[string]any{"amount": "10000", "document": "Договор 1"}).err())
	pid := strconv.FormatInt(e.seller, 10)

	// Below the threshold: applied at once by its maker.
	r := e.call(t, "maker", "POST", e.adjustPath(e.seller), "a1",
		map[string]any{"program_id": e.program, "amount": "300", "reason": "не засчитан чек", "document": "Служебная записка 4"})
	if r.status != 201 || r.body["status"] != "applied" || r.body["needs_second_approval"] != false {
		t.Fatalf("small credit: %d %s", r.status, r.raw)
	}
	if r2 := e.call(t, "maker", "POST", e.adjustPath(e.seller), "a1",
		map[string]any{"program_id": e.program, "amount": "300", "reason": "не засчитан чек", "document": "Служебная записка 4"}); r2.status != 200 || r2.body["id"] != r.body["id"] {
		t.Fatalf("replay: %d %s", r2.status, r2.raw)
	}
	if got := e.available(t, e.seller); got != 300_00 {
		t.Fatalf("available %d after a credit of 300", got)
	}
	// A debit of part of it.
	r = e.call(t, "maker", "POST", e.adjustPath(e.seller), "a2",
		map[string]any{"program_id": e.program, "amount": "-100.50", "reason": "возврат товара", "document": "Акт 2"})
	if r.status != 201 || r.body["amount_kopecks"] != float64(-100_50) {
		t.Fatalf("debit: %d %s", r.status, r.raw)
	}
	// A debit of more than the balance is refused whole.
	r = e.call(t, "maker", "POST", e.adjustPath(e.seller), "a3",
		map[string]any{"program_id": e.program, "amount": "-500", "reason": "ошибка", "document": "Акт 3"})
	if r.status != 409 || r.code() != "insufficient_balance" {
		t.Fatalf("overdraw: %d %s", r.status, r.raw)
	}
	// Split: 300 + 100.50 already moved within the window; 600 more reaches
	// the 1 000 ₽ threshold and waits for a second person.
	r = e.call(t, "maker", "POST", e.adjustPath(e.seller), "a4",
		map[string]any{"program_id": e.program, "amount": "600", "reason": "бонус", "document": "Приказ 7"})
	if r.status != 202 || r.body["status"] != "pending" || r.body["needs_second_approval"] != true {
		t.Fatalf("split over the threshold: %d %s", r.status, r.raw)
	}
	pending := int64(r.body["id"].(float64))
	if got := e.available(t, e.seller); got != 199_50 {
		t.Fatalf("a pending adjustment moved points: %d", got)
	}
	r = e.call(t, "maker", "GET", "/admin/v1/adjustments", "", nil)
	if as, _ := r.body["adjustments"].([]any); r.status != 200 || len(as) != 1 {
		t.Fatalf("pending list: %d %s", r.status, r.raw)
	}
	approve := fmt.Sprintf("/admin/v1/adjustments/%d/approve", pending)
	// The maker cannot approve their own; a moderator is not a checker.
	if r := e.call(t, "maker", "POST", approve, "", map[string]any{"note": "сам"}); r.status != 403 || r.code() != "maker_cannot_approve" {
		t.Fatalf("maker approves own: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "moderator", "POST", approve, "", nil); r.status != 403 {
		t.Fatalf("moderator approves: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "rival", "POST", approve, "", nil); r.status != 404 {
		t.Fatalf("rival approves: %d %s", r.status, r.raw)
	}
	r = e.call(t, "checker", "POST", approve, "", map[string]any{"note": "проверено"})
	if r.status != 200 || r.body["status"] != "applied" || r.body["checker_id"] != float64(e.users["checker"].UserID) {
		t.Fatalf("checker approves: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "checker", "POST", approve, "", nil); r.status != 409 || r.code() != "adjustment_not_pending" {
		t.Fatalf("approved twice: %d %s", r.status, r.raw)
	}
	if got := e.available(t, e.seller); got != 799_50 {
		t.Fatalf("available %d after approval, want 79950", got)
	}
	// One adjustment alone at the threshold needs a second person too, and
	// a rejected one moves nothing.
	r = e.call(t, "maker", "POST", e.adjustPath(e.seller2), "b1",
		map[string]any{"program_id": e.program, "amount": "1000", "reason": "премия", "document": "Приказ 8"})
	if r.status != 202 {
		t.Fatalf("at the threshold: %d %s", r.status, r.raw)
	}
	r = e.call(t, "checker", "POST", fmt.Sprintf("/admin/v1/adjustments/%d/reject", int64(r.body["id"].(float64))), "", map[string]any{"note": "нет оснований"})
	if r.status != 200 || r.body["status"] != "rejected" || e.available(t, e.seller2) != 0 {
		t.Fatalf("reject: %d %s", r.status, r.raw)
	}
	// The database refuses a checker who is the maker, whatever the code.
	_, err := e.db.Exec(context.Background(), `UPDATE manual_adjustments SET checker_id = maker_id WHERE id = $1`, pending)
	if err == nil || !strings.Contains(err.Error(), "manual_adjustments_four_eyes") {
		t.Fatalf("four-eyes constraint: %v", err)
	}

	// Every money action is in the audit log with before and after (the
	// refused overdraw rolled back with its request entry).
	for action, want := range map[string]int{"participant.adjust_request": 3, "participant.credit": 2, "participant.debit": 1} {
		if n := e.auditCount(t, action, pid); n != want {
			t.Errorf("%s: %d audit entries, want %d", action, n, want)
		}
	}
	entries, err := auditdb.New(e.db).List(context.Background(), audit.Filter{ClientID: e.acme, Action: "participant.credit", ObjectID: pid})
	must(t, err)
	for _, en := range entries {
		if en.Before == nil || en.After == nil || en.Actor.Kind != audit.Staff {
			t.Errorf("credit entry without before/after: %+v", en)
		}
	}
	if n := e.auditCount(t, "participant.adjust_reject", strconv.FormatInt(e.seller2, 10)); n != 1 {
		t.Errorf("reject audit entries %d", n)
	}

	hostile := []struct {
		name string
		body any
		key  string
		code string
	}{
		{"zero", map[string]any{"program_id": e.program, "amount": "0", "reason": "r", "document": "d"}, "x1", "invalid_amount"},
		{"number", `{"program_id": 1, "amount": 100, "reason": "r", "document": "d"}`, "x2", "invalid_amount"},
		{"1e3", map[string]any{"program_id": e.program, "amount": "1e3", "reason": "r", "document": "d"}, "x3", "invalid_amount"},
		{"double sign", map[string]any{"program_id": e.program, "amount": "--5", "reason": "r", "document": "d"}, "x4", "invalid_amount"},
		{"overflow", map[string]any{"program_id": e.program, "amount": "-9223372036854775808", "reason": "r", "document": "d"}, "x5", "invalid_amount"},
		{"no reason", map[string]any{"program_id": e.program, "amount": "5", "document": "d"}, "x6", "reason_required"},
		{"no document", map[string]any{"program_id": e.program, "amount": "5", "reason": "r"}, "x7", "document_required"},
		{"no key", map[string]any{"program_id": e.program, "amount": "5", "reason": "r", "document": "d"}, "", "idempotency_key_required"},
		{"rival's program", map[string]any{"program_id": e.rivalProg, "amount": "5", "reason": "r", "document": "d"}, "x8", "program_not_found"},
	}
	for _, tc := range hostile {
		if r := e.call(t, "maker", "POST", e.adjustPath(e.seller), tc.key, tc.body); r.status != 422 || r.code() != tc.code {
			t.Errorf("%s: %d %s, want 422 %s", tc.name, r.status, r.raw, tc.code)
		}
	}
	e.ledgerOK(t)
}

func (r reply) err() error {
	if r.status >= 300 {
		return fmt.Errorf("status %d: %s", r.status, r.raw)
	}
	return nil
}

// Fifty debits of 10 ₽ at once from a balance of 300 ₽: exactly thirty
// succeed, twenty are refused, none is lost or doubled and the ledger
// balances. And fifty credits racing a budget of 200 ₽: exactly twenty of
// 10 ₽ are paid.
func TestConcurrentManualDebitsAndCredits(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	must(t, e.call(t, "maker", "POST", e.topUpPath(), "fund", map[string]any{"amount": "500", "document": "Договор 1"}).err())
	must(t, e.call(t, "maker", "POST", e.adjustPath(e.seller), "seed", map[string]any{"program_id": e.program, "amount": "300", "reason": "старт", "document": "Акт"}).err())
	race := func(participant int64, amount, prefix string) (ok, refused int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.call(t, "checker", "POST", e.adjustPath(participant), fmt.Sprintf("%s-%d", prefix, i),
					map[string]any{"program_id": e.program, "amount": amount, "reason": "гонка", "document": "Акт"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.status == 201:
					ok++
				case r.status == 409:
					refused++
				default:
					t.Errorf("%s %d: %d %s", prefix, i, r.status, r.raw)
				}
			}()
		}
		wg.Wait()
		return ok, refused
	}
	// The threshold counts a participant's adjustments over 30 days: the
	// 300 ₽ seed and at most 50 × 10 ₽ stay under 1 000 ₽, so none waits.
	ok, refused := race(e.seller, "-10", "debit")
	if ok != 30 || refused != 20 {
		t.Fatalf("debits: %d ok, %d refused; want 30 and 20", ok, refused)
	}
	if got := e.available(t, e.seller); got != 0 {
		t.Fatalf("available %d after the debits, want 0", got)
	}
	// The budget now holds 500 ₽: 500 funded − 300 credited + 300 debited.
	if b := e.budgetBalance(t, e.program); b != 500_00 {
		t.Fatalf("budget %d, want 50000", b)
	}
	// Spend the budget down to 200 ₽ on seller2, then race credits of 10 ₽.
	must(t, e.call(t, "maker", "POST", e.adjustPath(e.seller2), "spend", map[string]any{"program_id": e.program, "amount": "300", "reason": "премия", "document": "Акт"}).err())
	var credits, empty int
	ok, refused = race(e.seller2, "10", "credit")
	credits, empty = ok, refused
	// seller2: 300 + 50×10 = 800 ₽ < threshold, so none waits for approval.
	if credits != 20 || empty != 30 {
		t.Fatalf("credits against a 200 ₽ budget: %d ok, %d refused; want 20 and 30", credits, empty)
	}
	if b := e.budgetBalance(t, e.program); b != 0 {
		t.Fatalf("budget %d, want 0", b)
	}
	var applied int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM manual_adjustments WHERE status = 'applied'`).Scan(&applied))
	if applied != 1+30+1+20 {
		t.Fatalf("%d applied adjustments, want 52", applied)
	}
	e.ledgerOK(t)
}

func TestPeopleActions(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	base := fmt.Sprintf("/admin/v1/participants/%d", e.seller)
	pid := strconv.FormatInt(e.seller, 10)
	if r := e.call(t, "maker", "POST", base+"/block", "", map[string]any{"reason": ""}); r.status != 422 || r.code() != "reason_required" {
		t.Fatalf("block without reason: %d %s", r.status, r.raw)
	}
	r := e.call(t, "maker", "POST", base+"/block", "", map[string]any{"reason": "фиктивные чеки"})
	if r.status != 200 || r.body["status"] != "blocked" || r.body["blocked_reason"] != "фиктивные чеки" {
		t.Fatalf("block: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "POST", base+"/block", "", map[string]any{"reason": "ещё раз"}); r.status != 409 {
		t.Fatalf("block twice: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "moderator", "POST", base+"/unblock", "", map[string]any{"reason": "x"}); r.status != 403 {
		t.Fatalf("moderator unblocks: %d %s", r.status, r.raw)
	}
	r = e.call(t, "maker", "GET", base, "", nil)
	if r.status != 200 || r.body["status"] != "blocked" || r.body["blocked_reason"] != "фиктивные чеки" {
		t.Fatalf("participant page: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "POST", base+"/unblock", "", map[string]any{"reason": "ошибка модерации"}); r.status != 200 || r.body["status"] != "active" {
		t.Fatalf("unblock: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "POST", base+"/move", "", map[string]any{"shop_id": e.rivalShop, "reason": "перевод"}); r.status != 422 || r.code() != "shop_not_found" {
		t.Fatalf("move to a rival's shop: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "POST", base+"/move", "", map[string]any{"shop_id": e.shop2, "reason": "перевод"}); r.status != 200 || r.body["shop_id"] != float64(e.shop2) {
		t.Fatalf("move: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "PUT", base+"/tester", "", map[string]any{"is_tester": true}); r.status != 200 || r.body["is_tester"] != true {
		t.Fatalf("tester: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "maker", "PUT", base+"/tester", "", map[string]any{}); r.status != 422 {
		t.Fatalf("tester without a value: %d %s", r.status, r.raw)
	}
	var tester bool
	var shop int64
	must(t, e.db.QueryRow(context.Background(), `SELECT is_tester, shop_id FROM participants WHERE id = $1`, e.seller).Scan(&tester, &shop))
	if !tester || shop != e.shop2 {
		t.Fatalf("stored tester %v shop %d", tester, shop)
	}
	entries, err := auditdb.New(e.db).List(context.Background(), audit.Filter{ClientID: e.acme, ObjectKind: "participant", ObjectID: pid})
	must(t, err)
	got := map[string]int{}
	for _, en := range entries {
		got[en.Action]++
		var before, after map[string]any
		if json.Unmarshal(en.Before, &before) != nil || json.Unmarshal(en.After, &after) != nil {
			t.Errorf("%s without before/after: %s / %s", en.Action, en.Before, en.After)
		}
	}
	if fmt.Sprint(got) != "map[participant.block:1 participant.move:1 participant.tester:1 participant.unblock:1]" {
		t.Fatalf("audit entries: %v", got)
	}
}

// Another client's manager gets 404 on every new route, and changes
// nothing.
func TestMoneyRoutesTenantIsolation(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	must(t, e.call(t, "maker", "POST", e.topUpPath(), "fund", map[string]any{"amount": "5000", "document": "Договор"}).err())
	r := e.call(t, "maker", "POST", e.adjustPath(e.seller), "big", map[string]any{"program_id": e.program, "amount": "2000", "reason": "премия", "document": "Приказ"})
	if r.status != 202 {
		t.Fatalf("pending adjustment: %d %s", r.status, r.raw)
	}
	adj := int64(r.body["id"].(float64))
	prog := fmt.Sprintf("/admin/v1/programs/%d/budget", e.program)
	part := fmt.Sprintf("/admin/v1/participants/%d", e.seller)
	routes := []struct {
		method, path, key string
		body              any
	}{
		{"GET", prog, "", nil},
		{"GET", prog + "/top-ups", "", nil},
		{"POST", prog + "/top-ups", "rival-1", map[string]any{"amount": "1", "document": "d"}},
		{"PUT", prog + "/settings", "", map[string]any{"at_zero": "review", "alert_percents": []int{}, "alert_runway_days": 0}},
		{"GET", part, "", nil},
		{"POST", part + "/block", "", map[string]any{"reason": "r"}},
		{"POST", part + "/unblock", "", map[string]any{"reason": "r"}},
		{"POST", part + "/move", "", map[string]any{"shop_id": e.rivalShop, "reason": "r"}},
		{"PUT", part + "/tester", "", map[string]any{"is_tester": true}},
		{"POST", part + "/adjustments", "rival-2", map[string]any{"program_id": e.rivalProg, "amount": "1", "reason": "r", "document": "d"}},
		{"POST", fmt.Sprintf("/admin/v1/adjustments/%d/approve", adj), "", nil},
		{"POST", fmt.Sprintf("/admin/v1/adjustments/%d/reject", adj), "", nil},
	}
	for _, rt := range routes {
		r := e.call(t, "rival", rt.method, rt.path, rt.key, rt.body)
		if r.status != 404 {
			t.Errorf("rival %s %s: %d %s, want 404", rt.method, rt.path, r.status, r.raw)
		}
		if r := e.call(t, "", rt.method, rt.path, rt.key, rt.body); r.status != 401 {
			t.Errorf("anonymous %s %s: %d", rt.method, rt.path, r.status)
		}
	}
	// The lists answer only the caller's own client.
	if r := e.call(t, "rival", "GET", "/admin/v1/adjustments", "", nil); r.status != 200 || len(r.body["adjustments"].([]any)) != 0 {
		t.Errorf("rival's pending list: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "rival", "GET", fmt.Sprintf("/admin/v1/adjustments?client_id=%d", e.acme), "", nil); r.status != 404 {
		t.Errorf("rival's pending list of acme: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "rival", "GET", fmt.Sprintf("/admin/v1/budget/alerts?client_id=%d", e.acme), "", nil); r.status != 404 {
		t.Errorf("rival's alerts of acme: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "operator", "GET", fmt.Sprintf("/admin/v1/adjustments?client_id=%d", e.acme), "", nil); r.status != 200 || len(r.body["adjustments"].([]any)) != 1 {
		t.Errorf("operator's pending list of acme: %d %s", r.status, r.raw)
	}
	var status string
	var reason string
	must(t, e.db.QueryRow(context.Background(), `SELECT status, blocked_reason FROM participants WHERE id = $1`, e.seller).Scan(&status, &reason))
	if status != "active" || reason != "" || e.budgetBalance(t, e.program) != 5000_00 {
		t.Fatalf("the rival changed something: %s %q %d", status, reason, e.budgetBalance(t, e.program))
	}
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE actor_id = $1`, e.users["rival"].UserID).Scan(&n))
	if n != 0 {
		t.Fatalf("%d audit entries by the rival", n)
	}
}

// PostgreSQL gone: the money routes answer 503 with Retry-After, never 500,
// and the response still matches the document.
func TestMoneyRoutesOutage(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Outage: postgres.Unavailable})
	rec := auditdb.New(e.db)
	api, err := adminapi.New(adminapi.Deps{Budgets: budgetdb.New(e.db, ledgerdb.Postings{}, rec, nil), People: peopledb.New(e.db, ledgerdb.Postings{}, rec, threshold),
		Staff: func(c *fiber.Ctx) (access.Staff, error) { return e.users["maker"], nil }})
	must(t, err)
	api.Register(app)
	e.app = app
	e.db.Close()
	for _, rt := range []struct{ method, path, key string }{
		{"POST", e.topUpPath(), "k"},
		{"GET", fmt.Sprintf("/admin/v1/programs/%d/budget", e.program), ""},
		{"POST", e.adjustPath(e.seller), "k"},
		{"POST", fmt.Sprintf("/admin/v1/participants/%d/block", e.seller), ""},
	} {
		body := map[string]any{"reason": "r"}
		if strings.HasSuffix(rt.path, "top-ups") {
			body = map[string]any{"amount": "10", "document": "d"}
		} else if strings.HasSuffix(rt.path, "adjustments") {
			body = map[string]any{"program_id": e.program, "amount": "10", "reason": "r", "document": "d"}
		} else if rt.method == "GET" {
			body = nil
		}
		req := httptest.NewRequest(rt.method, rt.path, nil)
		if body != nil {
			raw, _ := json.Marshal(body)
			req = httptest.NewRequest(rt.method, rt.path, bytes.NewReader(raw))
		}
		req.Header.Set("Content-Type", "application/json")
		if rt.key != "" {
			req.Header.Set("Idempotency-Key", rt.key)
		}
		resp, err := app.Test(req, -1)
		must(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s with PostgreSQL down: %d %s (Retry-After %q)", rt.method, rt.path, resp.StatusCode, raw, resp.Header.Get("Retry-After"))
		}
		if err := validateResponse(rt.method, rt.path, resp.StatusCode, resp.Header, raw); err != nil {
			t.Error(err)
		}
	}
}

// A large credit split into small ones sent at once cannot slip under the
// maker-checker threshold: under the participant's lock each sees the ones
// before it, so exactly 9 × 100 ₽ post and every later one waits for a
// second person.
func TestSplitAdjustmentsRacingTheThreshold(t *testing.T) {
	t.Parallel()
	e := setupMoney(t)
	must(t, e.call(t, "maker", "POST", e.topUpPath(), "fund", map[string]any{"amount": "10000", "document": "Договор"}).err())
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call(t, "maker", "POST", e.adjustPath(e.seller), fmt.Sprintf("split-%d", i),
				map[string]any{"program_id": e.program, "amount": "100", "reason": "частями", "document": "Акт"})
			mu.Lock()
			got[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[201] != 9 || got[202] != 11 || len(got) != 2 {
		t.Fatalf("statuses %v, want 9 × 201 and 11 × 202", got)
	}
	if a := e.available(t, e.seller); a != 900_00 {
		t.Fatalf("available %d, want 90000", a)
	}
	e.ledgerOK(t)
}
