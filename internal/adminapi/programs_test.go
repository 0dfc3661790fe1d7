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
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// progEnv runs the program routes on a fresh database with two clients
// (vetluga with its catalog, rival) and their staff; every response is
// checked against openapi.yaml.
type progEnv struct {
	app    *fiber.App
	db     *pgxpool.Pool
	client int64
	rival  int64
	users  map[string]access.Staff
	router routers.Router
	now    time.Time
	points *points.Service
}

func newProgEnv(t *testing.T) *progEnv {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	e := &progEnv{db: db, users: map[string]access.Staff{}, now: time.Now()}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга') RETURNING id`).Scan(&e.client))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Конкурент') RETURNING id`).Scan(&e.rival))
	for _, u := range []struct {
		name   string
		client *int64
		role   access.Role
	}{{"manager", &e.client, access.ClientManager}, {"moderator", &e.client, access.Moderator},
		{"rival", &e.rival, access.ClientManager}, {"operator", nil, access.Operator}} {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
			u.client, u.name+"@example.ru", string(u.role)).Scan(&id))
		st := access.Staff{UserID: id, Role: u.role}
		if u.client != nil {
			st.ClientID = *u.client
		}
		e.users[u.name] = st
	}
	f, err := os.Open("../catalog/testdata/catalog_small.csv")
	must(t, err)
	defer f.Close()
	skus, _, err := catalog.ParseCSV(f)
	must(t, err)
	var own []catalog.SKU
	for _, k := range skus {
		if k.Client == "vetluga" {
			own = append(own, k)
		}
	}
	_, err = catalogdb.New(db).Import(ctx, "vetluga", own)
	must(t, err)

	e.points = points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{})
	store := programdb.New(db)
	svc := program.NewService(store, auditdb.New(db), ledgerdb.New(db), func() time.Time { return e.now })
	e.app = httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Outage: postgres.Unavailable})
	api, err := adminapi.New(adminapi.Deps{Programs: &adminapi.Programs{Service: svc, Store: store, Matcher: e.points},
		Staff: func(c *fiber.Ctx) (access.Staff, error) {
			st, ok := e.users[c.Get("X-Test-Staff")]
			if !ok {
				return access.Staff{}, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
			}
			return st, nil
		}})
	must(t, err)
	api.Register(e.app)
	doc, err := openapi3.NewLoader().LoadFromFile("openapi.yaml")
	must(t, err)
	doc.Servers = nil // "/" as the base: paths are matched as written
	e.router, err = legacy.NewRouter(doc)
	must(t, err)
	return e
}

// call sends method path with body (JSON-encoded unless a string) as who,
// checks the response against the document and decodes it.
func (e *progEnv) call(t *testing.T, who, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		must(t, err)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("X-Test-Staff", who)
	}
	resp, err := e.app.Test(req, -1)
	must(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	vreq, _ := http.NewRequest(method, "http://localhost"+path, nil)
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: not in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}); err != nil {
		t.Errorf("%s %s → %d %s: does not match openapi.yaml: %v", method, path, resp.StatusCode, out, err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return resp.StatusCode, m
}

func (e *progEnv) want(t *testing.T, status int, code string, who, method, path string, body any) map[string]any {
	t.Helper()
	got, m := e.call(t, who, method, path, body)
	if got != status || (code != "" && m["code"] != code) {
		t.Fatalf("%s %s as %s: %d %v, want %d %s", method, path, who, got, m, status, code)
	}
	return m
}

func newProgram(code string) map[string]any {
	return map[string]any{"code": code, "name": "Антифриз весна", "mechanics": []string{"receipts"},
		"starts_on": "2020-01-01", "ends_on": "2099-12-31", "time_zone": "Europe/Moscow", "crediting": "immediate",
		"eligibility": map[string]any{"roles": []string{"seller"}},
		"texts":       map[string]any{"description": "Продавайте антифриз — получайте баллы.", "how_to_join": "Загрузите чек."}}
}

var antifreeze = map[string]any{"earn": []any{map[string]any{"categories": []string{"Антифриз"}, "fixed_per_unit_kopecks": 5000}}}

func (e *progEnv) create(t *testing.T, code string) string {
	t.Helper()
	m := e.want(t, 201, "", "manager", "POST", "/admin/v1/programs", newProgram(code))
	return fmt.Sprint(int64(m["id"].(float64)))
}

func (e *progEnv) auditActions(t *testing.T, id string) []string {
	t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT action FROM audit_log WHERE object_kind = 'program' AND object_id = $1 ORDER BY id`, id)
	must(t, err)
	acts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	return acts
}

func TestProgramLifecycleThroughAPI(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	id := e.create(t, "spring")
	base := "/admin/v1/programs/" + id
	m := e.want(t, 200, "", "manager", "GET", base, nil)
	if m["status"] != "draft" || fmt.Sprint(m["next_statuses"]) != "[test closed]" {
		t.Fatalf("new program %v", m)
	}
	e.want(t, 409, "program_code_taken", "manager", "POST", "/admin/v1/programs", newProgram("spring"))
	e.want(t, 409, "program_transition_refused", "manager", "POST", base+"/status", map[string]any{"status": "live"})
	e.want(t, 409, "program_rules_required", "manager", "POST", base+"/status", map[string]any{"status": "test"})
	e.want(t, 201, "", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01", "rules": antifreeze})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "test"})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "live", "reason": "пилот прошёл"})
	e.want(t, 409, "program_transition_refused", "manager", "POST", base+"/status", map[string]any{"status": "test"})
	// A live program keeps its start date.
	edit := newProgram("spring")
	edit["starts_on"] = "2021-01-01"
	e.want(t, 409, "program_live_locked", "manager", "PUT", base, edit)
	edit["starts_on"] = "2020-01-01"
	edit["name"] = "Антифриз весна-лето"
	if m := e.want(t, 200, "", "manager", "PUT", base, edit); m["name"] != "Антифриз весна-лето" {
		t.Fatalf("edit %v", m)
	}
	m = e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "closed"})
	if m["closed_at"] == nil || fmt.Sprint(m["next_statuses"]) != "[]" {
		t.Fatalf("closed %v", m)
	}
	e.want(t, 409, "program_transition_refused", "manager", "POST", base+"/status", map[string]any{"status": "live"})
	e.want(t, 409, "program_closed_final", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2099-01-01", "rules": antifreeze})
	got := strings.Join(e.auditActions(t, id), " ")
	if got != "program.create program.rules_save program.status program.status program.update program.status" {
		t.Fatalf("audit log: %s", got)
	}
	// A closed receipt program refuses new uploads, saying why.
	_, err := programdb.New(e.db).ReceiptProgramFor(context.Background(), e.client, false)
	if ae, ok := apperr.As(err); !ok || ae.Code != "program_closed" || !strings.Contains(ae.Message, "новые чеки не принимаются") {
		t.Fatalf("upload after close: %v", err)
	}
}

func TestProgramTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	id := e.create(t, "own")
	base := "/admin/v1/programs/" + id
	e.want(t, 201, "", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01", "rules": antifreeze})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"PUT", base, newProgram("own")},
		{"POST", base + "/clone", map[string]any{"code": "stolen", "name": "x"}},
		{"POST", base + "/status", map[string]any{"status": "test"}},
		{"GET", base + "/rules", nil},
		{"POST", base + "/rules", map[string]any{"effective_from": "2030-01-01", "rules": antifreeze}},
		{"POST", base + "/dry-run", map[string]any{"items": []any{map[string]any{"name": "x", "quantity_milli": 1000, "sum_kopecks": 100}}, "purchased_at": "2025-01-01"}},
		{"GET", "/admin/v1/programs/999999", nil},
		{"GET", "/admin/v1/programs/abc", nil},
	} {
		e.want(t, 404, "", "rival", c.method, c.path, c.body)
	}
	// Creating for another client is 404 too; listing another client's 404.
	p := newProgram("intrude")
	p["client_id"] = e.client
	e.want(t, 404, "program_not_found", "rival", "POST", "/admin/v1/programs", p)
	e.want(t, 404, "", "rival", "GET", fmt.Sprintf("/admin/v1/programs?client_id=%d", e.client), nil)
	if m := e.want(t, 200, "", "rival", "GET", "/admin/v1/programs", nil); len(m["programs"].([]any)) != 0 {
		t.Fatalf("rival sees %v", m)
	}
	// A moderator of the client reads but does not configure; no staff: 401.
	e.want(t, 200, "", "moderator", "GET", base, nil)
	e.want(t, 403, "forbidden", "moderator", "POST", base+"/status", map[string]any{"status": "test"})
	e.want(t, 401, "", "", "GET", base, nil)
	// The operator acts for any client, naming it.
	p["code"] = "by-operator"
	e.want(t, 201, "", "operator", "POST", "/admin/v1/programs", p)
	e.want(t, 422, "program_client_required", "operator", "POST", "/admin/v1/programs", newProgram("nobody"))
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM programs WHERE code IN ('stolen', 'intrude')`).Scan(&n))
	if n != 0 {
		t.Fatalf("another client's manager created %d programs", n)
	}
}

func TestProgramHostileInput(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	id := e.create(t, "hostile")
	base := "/admin/v1/programs/" + id
	bad := func(mut func(map[string]any)) map[string]any { p := newProgram("h2"); mut(p); return p }
	for name, c := range map[string]struct {
		body   any
		status int
		code   string
	}{
		"not json":        {"{", 422, "program_bad_json"},
		"unknown field":   {`{"code":"x","bogus":1}`, 422, "program_bad_json"},
		"bad code":        {bad(func(p map[string]any) { p["code"] = "Кириллица" }), 422, "program_invalid"},
		"no mechanics":    {bad(func(p map[string]any) { p["mechanics"] = []string{} }), 422, "program_invalid"},
		"odd mechanic":    {bad(func(p map[string]any) { p["mechanics"] = []string{"lottery"} }), 422, "program_invalid"},
		"ends before":     {bad(func(p map[string]any) { p["ends_on"] = "2019-01-01" }), 422, "program_invalid"},
		"bad date":        {bad(func(p map[string]any) { p["starts_on"] = "01.01.2020" }), 422, "program_bad_date"},
		"bad zone":        {bad(func(p map[string]any) { p["time_zone"] = "MSK" }), 422, "program_invalid"},
		"bad crediting":   {bad(func(p map[string]any) { p["crediting"] = "later" }), 422, "program_invalid"},
		"bad role":        {bad(func(p map[string]any) { p["eligibility"] = map[string]any{"roles": []string{"boss"}} }), 422, "program_invalid"},
		"text too long":   {bad(func(p map[string]any) { p["texts"] = map[string]any{"description": strings.Repeat("я", 20001)} }), 422, "program_invalid"},
		"body over 1 MiB": {`{"name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "program_body_too_large"},
	} {
		t.Run(name, func(t *testing.T) {
			e.want(t, c.status, c.code, "manager", "POST", "/admin/v1/programs", c.body)
		})
	}
	// Rules: every problem listed in Russian, nothing stored.
	m := e.want(t, 422, "rules_invalid", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01",
		"rules": map[string]any{"earn": []any{map[string]any{"percent_bp": 500, "fixed_per_unit_kopecks": 100}},
			"caps": map[string]any{"per_receipt": -1}}})
	if msg := m["message"].(string); !strings.Contains(msg, "что-то одно") || !strings.Contains(msg, "Лимиты не могут быть отрицательными") {
		t.Fatalf("rules message %q", msg)
	}
	e.want(t, 422, "program_bad_json", "manager", "POST", base+"/rules", `{"effective_from":"2020-01-01","rules":{"earn":[],"cap":{}}}`)
	e.want(t, 422, "program_bad_date", "manager", "POST", base+"/rules", map[string]any{"rules": antifreeze})
	e.want(t, 422, "program_invalid", "manager", "POST", base+"/status", map[string]any{"status": "paused"})
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM program_rules`).Scan(&n))
	if n != 0 {
		t.Fatalf("%d rules versions stored from invalid input", n)
	}
	// Dry run: too many lines, a QR that is not a receipt's, none at all.
	lines := make([]any, 501)
	for i := range lines {
		lines[i] = map[string]any{"name": "x", "quantity_milli": 1000, "sum_kopecks": 100}
	}
	e.want(t, 422, "dry_run_too_many_lines", "manager", "POST", base+"/dry-run", map[string]any{"items": lines, "purchased_at": "2025-01-01"})
	e.want(t, 422, "dry_run_qr_invalid", "manager", "POST", base+"/dry-run", map[string]any{"qr": "<script>alert(1)</script>"})
	e.want(t, 422, "dry_run_input_required", "manager", "POST", base+"/dry-run", map[string]any{})
	e.want(t, 404, "dry_run_receipt_not_found", "manager", "POST", base+"/dry-run",
		map[string]any{"qr": "t=20250110T1200&s=100.00&fn=9999078900001234&i=1&fp=123&n=1"})
}

// Versions are effective-dated and never rewritten: a receipt purchased
// before a new version's date is evaluated (dry run and real processing)
// with the old one; a live program takes no version dated in the past.
func TestRulesVersioningAndDryRun(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	ctx := context.Background()
	id := e.create(t, "versions")
	base := "/admin/v1/programs/" + id
	today := time.Now().UTC().Truncate(24 * time.Hour)
	e.want(t, 201, "", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01", "rules": antifreeze})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "test"})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "live"})
	doubled := map[string]any{"earn": []any{map[string]any{"categories": []string{"Антифриз"}, "fixed_per_unit_kopecks": 10000}}}
	e.want(t, 409, "rules_past", "manager", "POST", base+"/rules",
		map[string]any{"effective_from": today.AddDate(0, 0, -1).Format(time.DateOnly), "rules": doubled})
	e.want(t, 201, "", "manager", "POST", base+"/rules",
		map[string]any{"effective_from": today.AddDate(0, 0, 1).Format(time.DateOnly), "rules": doubled})
	m := e.want(t, 200, "", "manager", "GET", base+"/rules", nil)
	vs := m["versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["effective_from"] != "2020-01-01" {
		t.Fatalf("versions %v", vs)
	}
	desc := fmt.Sprint(vs[1].(map[string]any)["description"])
	if !strings.Contains(desc, "100\u00a0₽ за единицу товара") {
		t.Fatalf("description %s", desc)
	}

	// A past receipt of the client, purchased today: v1 is in force.
	var shop, part int64
	must(t, e.db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, inn, address, kkt_reg_numbers)
		VALUES ($1, 's1', 'Автомир', '7701234567', 'г. Кострома, ул. Советская, д. 10', '{0001234567012345}') RETURNING id`, e.client).Scan(&shop))
	must(t, e.db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, shop_id, status)
		VALUES ($1, '+79001112233', 'seller', $2, 'active') RETURNING id`, e.client, shop).Scan(&part))
	rs := receiptdb.New(e.db)
	purchased := time.Date(today.Year(), today.Month(), today.Day(), 10, 0, 0, 0, time.UTC)
	r := &receipt.Receipt{ClientID: e.client, ParticipantID: part, Source: receipt.SourceQR,
		FN: "9999000000000777", FD: 77, FP: 7777, Operation: 1, PurchasedAt: purchased, SumKopecks: 95000}
	must(t, r.Transition(receipt.Verified, "test", "ofd_verified", nil))
	_, err := rs.Create(ctx, r)
	must(t, err)
	must(t, rs.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		x.Items = []receipt.Item{
			{LineNo: 1, Name: "Антифриз ТЕРМОКС G11 зелёный -40 1 кг", PriceKopecks: 45000, QuantityMilli: 2000, SumKopecks: 90000},
			{LineNo: 2, Name: "Хлеб белый нарезной", PriceKopecks: 5000, QuantityMilli: 1000, SumKopecks: 5000}}
		x.ItemsChanged = true
		x.SellerINN, x.KKTRegNumber, x.RetailAddress = "7701234567", "0001234567012345", "г Кострома, ул Советская, д.10"
		return nil
	}))
	draft := map[string]any{"earn": []any{map[string]any{"percent_bp": 1000}}}
	m = e.want(t, 200, "", "manager", "POST", base+"/dry-run",
		map[string]any{"qr": "t=20250110T1200&s=950.00&fn=9999000000000777&i=77&fp=7777&n=1", "draft": draft})
	got := m["versions"].([]any)
	if len(got) != 3 || m["receipt_id"] != r.ID {
		t.Fatalf("dry run %v", m)
	}
	type vline struct {
		points float64
		reason string
	}
	for i, w := range []struct {
		version float64
		inForce bool
		total   float64
		lines   []vline
	}{
		{1, true, 10000, []vline{{10000, "earned"}, {0, "not_matched"}}},
		{2, false, 20000, []vline{{20000, "earned"}, {0, "not_matched"}}},
		{0, false, 9000, []vline{{9000, "earned"}, {0, "not_matched"}}},
	} {
		v := got[i].(map[string]any)
		if v["version"] != w.version || v["in_force"] != w.inForce || v["total_kopecks"] != w.total {
			t.Errorf("version %d: %v", i, v)
			continue
		}
		for j, l := range v["lines"].([]any) {
			lm := l.(map[string]any)
			if lm["points_kopecks"] != w.lines[j].points || lm["reason"] != w.lines[j].reason || lm["reason_text"] == "" {
				t.Errorf("version %v line %d: %v", w.version, j+1, lm)
			}
		}
	}
	// The real evaluation agrees: the receipt purchased today is credited
	// by v1, not by v2 (effective tomorrow). (Budgets are topped up by
	// another route; here directly.)
	_, err = e.db.Exec(ctx, `UPDATE programs SET budget_kopecks = 1000000 WHERE id = $1`, id)
	must(t, err)
	must(t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, mustInt(t, id))
		return err
	}))
	must(t, rs.Modify(ctx, r.ID, e.points.Process))
	done, err := rs.Get(ctx, r.ID)
	must(t, err)
	if done.Status != receipt.Credited || done.PointsKopecks != 10000 {
		t.Fatalf("processed %s/%s %d, want credited 10000 by v1", done.Status, done.StatusReason, done.PointsKopecks)
	}
	m = e.want(t, 200, "", "manager", "GET", "/admin/v1/receipts/"+r.ID+"/programs", nil)
	res := m["programs"].([]any)[0].(map[string]any)
	if res["rule_version"] != float64(1) || res["points_kopecks"] != float64(10000) || res["status"] != "credited" {
		t.Fatalf("receipt outcome %v", res)
	}
	e.want(t, 404, "receipt_not_found", "rival", "GET", "/admin/v1/receipts/"+r.ID+"/programs", nil)
	// Typed lines, and the receipt by id.
	m = e.want(t, 200, "", "manager", "POST", base+"/dry-run", map[string]any{"purchased_at": "2025-03-01",
		"items": []any{map[string]any{"name": "Антифриз ТЕРМОКС G11 зелёный -40 1 кг", "quantity_milli": 3000, "sum_kopecks": 135000}}})
	if v := m["versions"].([]any)[0].(map[string]any); v["total_kopecks"] != float64(15000) || v["in_force"] != true {
		t.Fatalf("typed lines %v", m)
	}
	e.want(t, 200, "", "manager", "POST", base+"/dry-run", map[string]any{"receipt_id": r.ID})
	// Version 1 was never rewritten.
	var n int
	must(t, e.db.QueryRow(ctx, `SELECT count(*) FROM program_rules WHERE program_id = $1 AND version = 1
		AND effective_from = '2020-01-01' AND body->'earn'->0->>'fixed_per_unit_kopecks' = '5000'`, id).Scan(&n))
	if n != 1 {
		t.Fatal("version 1 changed")
	}
}

func TestCloneProgram(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	id := e.create(t, "pilot")
	base := "/admin/v1/programs/" + id
	e.want(t, 201, "", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01", "rules": antifreeze})
	m := e.want(t, 201, "", "manager", "POST", base+"/clone", map[string]any{"code": "rollout", "name": "Раскатка", "starts_on": "2030-01-01"})
	if m["status"] != "draft" || m["cloned_from"] != float64(mustInt(t, id)) || m["starts_on"] != "2030-01-01" ||
		m["ends_on"] != "2099-12-31" || fmt.Sprint(m["eligibility"].(map[string]any)["roles"]) != "[seller]" {
		t.Fatalf("clone %v", m)
	}
	cid := fmt.Sprint(int64(m["id"].(float64)))
	v := e.want(t, 200, "", "manager", "GET", "/admin/v1/programs/"+cid+"/rules", nil)["versions"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["effective_from"] != "2030-01-01" {
		t.Fatalf("clone rules %v", v)
	}
	if acts := e.auditActions(t, cid); fmt.Sprint(acts) != "[program.clone]" {
		t.Fatalf("audit %v", acts)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	_, err := fmt.Sscan(s, &n)
	must(t, err)
	return n
}

// Closing a program that credits at period close settles its pending
// points: the seller's pending balance becomes available.
func TestCloseSettlesPendingPoints(t *testing.T) {
	t.Parallel()
	e := newProgEnv(t)
	ctx := context.Background()
	p := newProgram("pending")
	p["crediting"] = "period_close"
	m := e.want(t, 201, "", "manager", "POST", "/admin/v1/programs", p)
	id := fmt.Sprint(int64(m["id"].(float64)))
	base := "/admin/v1/programs/" + id
	e.want(t, 201, "", "manager", "POST", base+"/rules", map[string]any{"effective_from": "2020-01-01", "rules": antifreeze})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "test"})
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "live"})
	_, err := e.db.Exec(ctx, `UPDATE programs SET budget_kopecks = 1000000 WHERE id = $1`, id)
	must(t, err)
	must(t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, mustInt(t, id))
		return err
	}))
	var part int64
	must(t, e.db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, status)
		VALUES ($1, '+79001112299', 'seller', 'active') RETURNING id`, e.client).Scan(&part))
	rs := receiptdb.New(e.db)
	y := time.Now().UTC().AddDate(0, 0, -1)
	r := &receipt.Receipt{ClientID: e.client, ParticipantID: part, Source: receipt.SourceQR,
		FN: "9999000000000888", FD: 88, FP: 8888, Operation: 1, PurchasedAt: time.Date(y.Year(), y.Month(), y.Day(), 10, 0, 0, 0, time.UTC), SumKopecks: 90000}
	must(t, r.Transition(receipt.Verified, "test", "ofd_verified", nil))
	_, err = rs.Create(ctx, r)
	must(t, err)
	// The rules check no shop: this seller has none.
	_, err = e.db.Exec(ctx, `INSERT INTO program_rules (program_id, version, effective_from, body)
		VALUES ($1, 2, '2020-01-01', '{"earn":[{"categories":["Антифриз"],"fixed_per_unit_kopecks":5000}],"seller_check":"none"}')`, id)
	must(t, err)
	must(t, rs.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		x.Items = []receipt.Item{{LineNo: 1, Name: "Антифриз ТЕРМОКС G11 зелёный -40 1 кг", PriceKopecks: 45000, QuantityMilli: 2000, SumKopecks: 90000}}
		x.ItemsChanged = true
		return nil
	}))
	must(t, rs.Modify(ctx, r.ID, e.points.Process))
	led := ledgerdb.New(e.db)
	b, err := led.Balance(ctx, part)
	must(t, err)
	if b.PendingKopecks != 10000 || b.AvailableKopecks != 0 {
		t.Fatalf("before close: %+v", b)
	}
	e.want(t, 200, "", "manager", "POST", base+"/status", map[string]any{"status": "closed", "reason": "акция завершена"})
	b, err = led.Balance(ctx, part)
	must(t, err)
	if b.PendingKopecks != 0 || b.AvailableKopecks != 10000 {
		t.Fatalf("after close: %+v", b)
	}
}
