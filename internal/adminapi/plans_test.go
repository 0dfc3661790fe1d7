package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet/sheettest"
)

// plansEnv is setup's database and users with the plan routes mounted.
func plansEnv(t *testing.T) env {
	t.Helper()
	e := setup(t)
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Outage: postgres.Unavailable})
	api, err := adminapi.New(adminapi.Deps{Plans: plandb.New(e.db, ledgerdb.Postings{}, auditdb.New(e.db), plandb.WithSecondApproval(100_000)),
		Staff: func(c *fiber.Ctx) (access.Staff, error) {
			st, ok := e.users[c.Get("X-Test-Staff")]
			if !ok {
				return access.Staff{}, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
			}
			return st, nil
		}})
	must(t, err)
	api.Register(app)
	e.app = app
	_, err = e.db.Exec(context.Background(), `UPDATE programs SET budget_kopecks = 100000000 WHERE id = $1`, e.program)
	must(t, err)
	must(t, postgres.WithTx(context.Background(), e.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(context.Background(), tx, e.program)
		return err
	}))
	return e
}

func (e env) json(t *testing.T, method, path, who, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.do(t, req, who)
}

func (e env) planFile(t *testing.T, path, who, confirm string, file []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if confirm != "" {
		must(t, w.WriteField("confirm", confirm))
	}
	fw, err := w.CreateFormFile("file", "plans.csv")
	must(t, err)
	_, _ = fw.Write(file)
	must(t, w.Close())
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return e.do(t, req, who)
}

func TestPlanAPI(t *testing.T) {
	t.Parallel()
	e := plansEnv(t)
	base := fmt.Sprintf("/admin/v1/programs/%d", e.program)
	table := `{"measure":"roubles","tiers":[{"threshold_bp":7000,"kind":"fixed","fixed_kopecks":100000},
		{"threshold_bp":10000,"kind":"percent_of_sales","rate_bp":250}]}`

	// Tenant isolation: another client's manager gets 404 on every route.
	for _, r := range []struct{ method, path, body string }{
		{"PUT", base + "/plans/2026-11/table", table},
		{"GET", base + "/plans/2026-11", ""},
		{"PUT", base + "/plans/2026-11/targets", `{"targets":[{"participant_id":1,"target":5}]}`},
		{"GET", base + "/plans/2026-11/participants/1/lines", ""},
		{"POST", base + "/periods/2026-11/close", ""},
		{"PUT", base + "/plan-close-schedule", `{"close_day":3}`},
		{"GET", base + "/plans/2026-11/summary", ""},
	} {
		if code, body := e.json(t, r.method, r.path, "rival", r.body); code != 404 {
			t.Errorf("rival %s %s: %d %v", r.method, r.path, code, body)
		}
	}
	if code, body := e.planFile(t, base+"/plans/2026-11/import", "rival", "", []byte("Телефон;План\n+79991234567;1\n")); code != 404 {
		t.Errorf("rival import: %d %v", code, body)
	}
	// Bad input: a period, a table, an unknown field.
	if code, body := e.json(t, "PUT", base+"/plans/2026-13/table", "maker", table); code != 422 && code != 400 {
		t.Errorf("bad period: %d %v", code, body)
	}
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "maker", `{"measure":"roubles","tiers":[]}`); code != 422 && code != 400 {
		t.Errorf("empty tiers: %d %v", code, body)
	}
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "maker", `{"measure":"roubles","bonus":1}`); code != 422 && code != 400 {
		t.Errorf("unknown field: %d %v", code, body)
	}
	for _, hostile := range []string{
		`{"measure":"roubles","reason":"` + strings.Repeat("я", 2001) + `","tiers":[{"threshold_bp":1,"kind":"fixed","fixed_kopecks":1}]}`,
		`{"measure":"roubles","reason":"a\u0000b","tiers":[{"threshold_bp":1,"kind":"fixed","fixed_kopecks":1}]}`,
		`{"measure":"roubles","tiers":[{"threshold_bp":1,"kind":"fixed","fixed_kopecks":1,"name":"a\u0000"}]}`,
		`{"measure":"roubles","tiers":[{"threshold_bp":1,"kind":"fixed","fixed_kopecks":99999999999999999999}]}`,
		"{\"measure\":\"roubles\",\"reason\":\"\xff\xfe\"}",
	} {
		if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "maker", hostile); code != 422 && code != 400 {
			t.Errorf("hostile table %.60q: %d %v", hostile, code, body)
		}
	}
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/targets", "maker", `{"targets":[{"participant_id":1,"target":-5}]}`); code != 422 {
		t.Errorf("negative target: %d %v", code, body)
	}
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "moderator", table); code != 403 {
		t.Errorf("moderator sets table: %d %v", code, body)
	}
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "maker", table); code != 200 || body["version"] != float64(1) {
		t.Fatalf("table: %d %v", code, body)
	}

	// Import: preview with row errors, then a clean file confirmed.
	// Invalid UTF-8 is read as Windows-1251 (the registries' rule): the
	// header no longer matches and the preview says so.
	code, body := e.planFile(t, base+"/plans/2026-11/import", "maker", "", []byte("Телефон;План\n\xff\xfe\xfd;1\n"))
	if code != 200 || len(body["errors"].([]any)) != 1 {
		t.Fatalf("bad UTF-8: %d %v", code, body)
	}
	bad := []byte("Телефон;План\n+79991234567;100000\n+79990000000;5\n+79991234568;abc\nnot a phone;1\n")
	code, body = e.planFile(t, base+"/plans/2026-11/import", "maker", "", bad)
	if code != 200 || len(body["errors"].([]any)) != 3 {
		t.Fatalf("preview: %d %v", code, body)
	}
	if code, body := e.planFile(t, base+"/plans/2026-11/import", "maker", body["sha256"].(string), bad); code != 409 {
		t.Fatalf("confirming a file with errors: %d %v", code, body)
	}
	good := []byte("Телефон;План, ₽\n+79991234567;100 000\n+79991234568;50000\n")
	code, body = e.planFile(t, base+"/plans/2026-11/import", "maker", "", good)
	if code != 200 || len(body["changes"].([]any)) != 2 || body["applied"] != false {
		t.Fatalf("good preview: %d %v", code, body)
	}
	if code, body := e.planFile(t, base+"/plans/2026-11/import", "maker", strings.Repeat("0", 64), good); code != 409 {
		t.Fatalf("confirm with another digest: %d %v", code, body)
	}
	code, body = e.planFile(t, base+"/plans/2026-11/import", "maker", body["sha256"].(string), good)
	if code != 200 || body["applied"] != true || body["changed"] != float64(2) {
		t.Fatalf("confirm: %d %v", code, body)
	}
	code, body = e.json(t, "GET", base+"/plans/2026-11", "moderator", "")
	if code != 200 || len(body["targets"].([]any)) != 2 {
		t.Fatalf("plans: %d %v", code, body)
	}

	// A credited receipt reaching 70 % for the first participant.
	var pid int64
	must(t, e.db.QueryRow(context.Background(), `SELECT id FROM participants WHERE phone = '+79991234567'`).Scan(&pid))
	var sku int64
	must(t, e.db.QueryRow(context.Background(), `INSERT INTO skus (client_id, code, brand, name) SELECT client_id, 'k', 'b', 'n' FROM programs WHERE id = $1 RETURNING id`, e.program).Scan(&sku))
	_, err := e.db.Exec(context.Background(), `WITH r AS (INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation, purchased_at, sum_kopecks)
		SELECT client_id, $1, id, 'credited', 'qr', '9999000000000003', 1, 1, 1, '2026-11-20 10:00', 7000000 FROM programs WHERE id = $2 RETURNING id)
		INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id) SELECT id, 1, 'n', 7000000, 1000, 7000000, $3 FROM r`,
		pid, e.program, sku)
	must(t, err)
	if code, body := e.json(t, "GET", fmt.Sprintf("%s/plans/2026-11/participants/%d/lines", base, pid), "maker", ""); code != 200 || len(body["lines"].([]any)) != 1 {
		t.Fatalf("lines: %d %v", code, body)
	}

	// Close: preview by the maker; 1 000 ₽ at a 1 000 ₽ threshold needs the checker.
	code, run := e.json(t, "POST", base+"/periods/2026-11/close", "maker", "")
	if code != 201 || run["credit_kopecks"] != float64(100000) || run["needs_second_approval"] != true {
		t.Fatalf("preview: %d %v", code, run)
	}
	runPath := fmt.Sprintf("%s/periods/2026-11/close/%v", base, run["id"])
	if code, body := e.json(t, "GET", runPath, "rival", ""); code != 404 {
		t.Fatalf("rival reads run: %d %v", code, body)
	}
	if code, body := e.json(t, "POST", runPath+"/approve", "rival", ""); code != 404 {
		t.Fatalf("rival approves: %d %v", code, body)
	}
	if code, body := e.json(t, "GET", fmt.Sprintf("%s/periods/2026-10/close/%v", base, run["id"]), "maker", ""); code != 404 {
		t.Fatalf("run under another period: %d %v", code, body)
	}
	if code, body := e.json(t, "GET", runPath, "maker", ""); code != 200 || len(body["lines"].([]any)) != 2 {
		t.Fatalf("run: %d %v", code, body)
	}
	if code, body := e.json(t, "POST", runPath+"/approve", "maker", ""); code != 403 || body["code"] != "plan_close_second_approval_required" {
		t.Fatalf("maker approves own: %d %v", code, body)
	}
	if code, body := e.json(t, "POST", runPath+"/approve", "checker", ""); code != 200 || body["status"] != "posted" {
		t.Fatalf("checker approves: %d %v", code, body)
	}
}

// XLSX bombs on the plan import are refused by the registries' bounded
// reader with the heap bounded. Not parallel: it measures the heap.
func TestPlanImportBombs(t *testing.T) {
	e := plansEnv(t)
	base := fmt.Sprintf("/admin/v1/programs/%d", e.program)
	if code, body := e.json(t, "PUT", base+"/plans/2026-11/table", "maker",
		`{"measure":"units","tiers":[{"threshold_bp":7000,"kind":"fixed","fixed_kopecks":100}]}`); code != 200 {
		t.Fatalf("table: %d %v", code, body)
	}
	for _, b := range []sheettest.Bomb{{Part: "sheet", Inflate: 1 << 30}, {Part: "sst", Inflate: 1 << 30}} {
		data := b.XLSX(t)
		var code int
		var body map[string]any
		h := heaptest.Measure(func() { code, body = e.planFile(t, base+"/plans/2026-11/import", "maker", "", data) })
		if code != 413 {
			t.Fatalf("%s bomb: %d %v", b.Part, code, body)
		}
		if h.PeakInuse > 64<<20 && !heaptest.Race {
			t.Errorf("%s bomb: peak heap +%d MiB", b.Part, h.PeakInuse>>20)
		}
	}
	huge := bytes.Repeat([]byte("+79991234567;1\n"), (15<<20)/15+100)
	if code, body := e.planFile(t, base+"/plans/2026-11/import", "maker", "", huge); code != 413 {
		t.Fatalf("15 MiB file: %d %v", code, body)
	}
}

// The plan paths of openapi.yaml load, validate, and describe the
// answers the routes give.
func TestPlanOpenAPI(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("openapi.yaml")
	must(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(data)
	must(t, err)
	must(t, doc.Validate(context.Background()))
	doc.Servers = nil // match paths on any host
	router, err := legacy.NewRouter(doc)
	must(t, err)
	e := plansEnv(t)
	base := fmt.Sprintf("/admin/v1/programs/%d", e.program)
	check := func(method, path, who, body string) map[string]any {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Test-Staff", who)
		res, err := e.app.Test(req, -1)
		must(t, err)
		b, _ := io.ReadAll(res.Body)
		vreq, _ := http.NewRequest(method, "http://localhost"+path, nil)
		route, params, err := router.FindRoute(vreq)
		must(t, err)
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
			Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(b)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}); err != nil {
			t.Errorf("%s %s → %d %s: %v", method, path, res.StatusCode, b, err)
		}
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return out
	}
	check("PUT", base+"/plans/2026-Q4/table", "maker", `{"measure":"receipts","tiers":[{"threshold_bp":10000,"kind":"points_multiplier","factor_milli":1500}]}`)
	check("PUT", base+"/plans/2026-Q4/targets", "maker", `{"targets":[{"participant_id":999999,"target":5}]}`)
	check("GET", base+"/plans/2026-Q4", "maker", "")
	run := check("POST", base+"/periods/2026-Q4/close", "maker", "")
	check("GET", fmt.Sprintf("%s/periods/2026-Q4/close/%v", base, run["id"]), "maker", "")
	check("POST", fmt.Sprintf("%s/periods/2026-Q4/close/%v/approve", base, run["id"]), "maker", "")
	check("POST", base+"/periods/2026-Q3/close", "maker", "")
	if out := check("PUT", base+"/plan-close-schedule", "maker", `{"close_day":3}`); out["close_day"] != float64(3) {
		t.Errorf("schedule: %v", out)
	}
	check("PUT", base+"/plan-close-schedule", "maker", `{"close_day":31}`)
	if out := check("GET", base+"/plans/2026-Q4/summary?top=5", "moderator", ""); out["participants"] != float64(0) {
		t.Errorf("summary: %v", out)
	}
}

// PostgreSQL gone: the plan routes answer 503 with Retry-After, never 500.
func TestPlanRoutesOutage(t *testing.T) {
	t.Parallel()
	e := plansEnv(t)
	base := fmt.Sprintf("/admin/v1/programs/%d", e.program)
	e.db.Close()
	for _, r := range []struct{ method, path, body string }{
		{"GET", base + "/plans/2026-11", ""},
		{"POST", base + "/periods/2026-11/close", ""},
		{"PUT", base + "/plans/2026-11/targets", `{"targets":[{"participant_id":1,"target":5}]}`},
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Test-Staff", "maker")
		res, err := e.app.Test(req, -1)
		must(t, err)
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: %d, Retry-After %q", r.method, r.path, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
}
