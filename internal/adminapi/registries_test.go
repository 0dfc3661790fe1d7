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
	"strconv"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/sheet/sheettest"
)

type env struct {
	app     *fiber.App
	db      *pgxpool.Pool
	store   *registrydb.Store
	program int64
	users   map[string]access.Staff
}

// setup runs the API on a fresh database; the caller is chosen by the
// X-Test-Staff header (a stand-in for the lead's real auth).
func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var acme, rival, program int64
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Акме') RETURNING id`).Scan(&acme))
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Конкурент') RETURNING id`).Scan(&rival))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P1', '2026-01-01', '2026-12-31', 0) RETURNING id`, acme).Scan(&program))
	_, err := db.Exec(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79991234567', 'seller'), ($1, '+79991234568', 'seller')`, acme)
	must(t, err)
	users := map[string]access.Staff{}
	for _, u := range []struct {
		name   string
		client *int64
		role   access.Role
	}{{"maker", &acme, access.ClientManager}, {"checker", &acme, access.ClientManager}, {"moderator", &acme, access.Moderator},
		{"rival", &rival, access.ClientManager}, {"operator", nil, access.Operator}} {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
			u.client, u.name+"@example.ru", string(u.role)).Scan(&id))
		st := access.Staff{UserID: id, Role: u.role}
		if u.client != nil {
			st.ClientID = *u.client
		}
		users[u.name] = st
	}
	svc := registry.NewService(registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithCreditSubscribers(notifydb.Notifier{})), registry.EnqueueFunc(func(context.Context, int64, string) error { return nil }),
		registry.Config{SecondApprovalKopecks: 100_00, Logger: slog.New(slog.DiscardHandler)})
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	api, err := adminapi.New(adminapi.Deps{Registries: svc, Staff: func(c *fiber.Ctx) (access.Staff, error) {
		st, ok := users[c.Get("X-Test-Staff")]
		if !ok {
			return access.Staff{}, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
		}
		return st, nil
	}})
	must(t, err)
	api.Register(app)
	return env{app: app, db: db, store: registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithCreditSubscribers(notifydb.Notifier{})), program: program, users: users}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e env) do(t *testing.T, req *http.Request, who string) (int, map[string]any) {
	t.Helper()
	if who != "" {
		req.Header.Set("X-Test-Staff", who)
	}
	resp, err := e.app.Test(req, -1)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (e env) upload(t *testing.T, who string, fields map[string]string, file []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		must(t, w.WriteField(k, v))
	}
	if file != nil {
		fw, err := w.CreateFormFile("file", "registry.csv")
		must(t, err)
		_, _ = fw.Write(file)
	}
	must(t, w.Close())
	req := httptest.NewRequest(http.MethodPost, "/admin/v1/registries", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return e.do(t, req, who)
}

func TestRegistryAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	points := map[string]string{"kind": "points", "program_id": strconv.FormatInt(e.program, 10), "period": "2026-03"}
	large := []byte("телефон;баллы\n+79991234567;150\n")

	// Uploads.
	uploads := []struct {
		name       string
		who        string
		fields     map[string]string
		file       []byte
		wantStatus int
		wantCode   string
	}{
		{"no auth", "", points, large, 401, "unauthorized"},
		{"no file", "maker", points, nil, 422, "registry_file_missing"},
		{"moderator may not upload", "moderator", points, large, 403, "forbidden"},
		{"other client's program", "rival", points, large, 404, "program_not_found"},
		{"bad period", "maker", map[string]string{"kind": "points", "program_id": points["program_id"], "period": "март"}, large, 422, "registry_bad_period"},
		{"garbage", "maker", points, []byte("\x00\x01\x02garbage"), 415, "registry_file_unreadable"},
	}
	for _, tc := range uploads {
		status, body := e.upload(t, tc.who, tc.fields, tc.file)
		if status != tc.wantStatus || body["code"] != tc.wantCode {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.wantStatus, tc.wantCode)
		}
	}
	status, body := e.upload(t, "maker", points, []byte("телефон;баллы\n+79990000000;1\n"))
	if status != 201 || body["status"] != "rejected" || body["error_count"] != float64(1) {
		t.Errorf("rejected upload: %d %v", status, body)
	}
	status, body = e.upload(t, "maker", points, large)
	if status != 201 || body["status"] != "validated" || body["needs_second_approval"] != true {
		t.Fatalf("upload: %d %v", status, body)
	}
	id := int64(body["id"].(float64))

	// Reads and confirmation as every kind of caller.
	path := func(suffix string) string { return fmt.Sprintf("/admin/v1/registries/%d%s", id, suffix) }
	calls := []struct {
		name, method, path, who string
		wantStatus              int
		wantCode                string
	}{
		{"get as maker", "GET", path(""), "maker", 200, ""},
		{"get as operator", "GET", path(""), "operator", 200, ""},
		{"get as other client", "GET", path(""), "rival", 404, "registry_not_found"},
		{"progress as other client", "GET", path("/progress"), "rival", 404, "registry_not_found"},
		{"lines as other client", "GET", path("/lines"), "rival", 404, "registry_not_found"},
		{"lines", "GET", path("/lines"), "moderator", 200, ""},
		{"unknown id", "GET", "/admin/v1/registries/999999", "maker", 404, "registry_not_found"},
		{"bad id", "GET", "/admin/v1/registries/abc", "maker", 404, "registry_not_found"},
		{"confirm as other client", "POST", path("/confirm"), "rival", 404, "registry_not_found"},
		{"confirm as moderator", "POST", path("/confirm"), "moderator", 403, "forbidden"},
		{"confirm own large registry", "POST", path("/confirm"), "maker", 403, "registry_second_approval_required"},
		{"resend before applied", "POST", path("/invitations/resend"), "maker", 409, "registry_not_applied"},
		{"confirm as checker", "POST", path("/confirm"), "checker", 202, ""},
		{"confirm twice", "POST", path("/confirm"), "checker", 409, "registry_not_confirmable"},
		{"progress", "GET", path("/progress"), "maker", 200, ""},
	}
	for _, tc := range calls {
		status, body := e.do(t, httptest.NewRequest(tc.method, tc.path, nil), tc.who)
		if status != tc.wantStatus || (tc.wantCode != "" && body["code"] != tc.wantCode) {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.wantStatus, tc.wantCode)
		}
	}
	_, body = e.do(t, httptest.NewRequest("GET", path("/progress"), nil), "maker")
	if body["status"] != "confirmed" || body["items_total"] != float64(1) {
		t.Errorf("progress: %v", body)
	}
	_, body = e.do(t, httptest.NewRequest("GET", path("/lines"), nil), "maker")
	if lines, _ := body["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["amount_kopecks"] != float64(15000) {
		t.Errorf("lines: %v", body)
	}
}

// A re-send's "new_password" reaches the new round's invitations; without
// it the round keeps signed-in participants' passwords.
func TestResendNewPassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	status, body := e.upload(t, "maker", map[string]string{"kind": "participants", "invite": "sms", "invite_method": "password"},
		[]byte("ФИО;Телефон;Роль\nАнна;+79160000001;продавец\n"))
	if status != 201 {
		t.Fatalf("upload: %d %v", status, body)
	}
	id := int64(body["id"].(float64))
	path := fmt.Sprintf("/admin/v1/registries/%d", id)
	if status, body := e.do(t, httptest.NewRequest("POST", path+"/confirm", nil), "maker"); status != 202 {
		t.Fatalf("confirm: %d %v", status, body)
	}
	// No SMS gateway here: the invitation fails (not_configured), the
	// upload is applied.
	_ = registry.NewProcessor(e.store, nil, nil, registry.ProcessorConfig{Logger: slog.New(slog.DiscardHandler)}).Process(ctx, id)
	for _, b := range []string{`{}`, `{"new_password":true}`} {
		req := httptest.NewRequest("POST", path+"/invitations/resend", bytes.NewBufferString(b))
		req.Header.Set("Content-Type", "application/json")
		if status, body := e.do(t, req, "maker"); status != 202 || body["queued"] != float64(1) {
			t.Fatalf("resend %s: %d %v", b, status, body)
		}
	}
	rows, err := e.db.Query(ctx, `SELECT round, new_password FROM registry_invitations WHERE upload_id = $1 ORDER BY round`, id)
	must(t, err)
	var got []string
	for rows.Next() {
		var round int
		var np bool
		must(t, rows.Scan(&round, &np))
		got = append(got, fmt.Sprintf("%d:%v", round, np))
	}
	must(t, rows.Err())
	if fmt.Sprint(got) != "[1:false 2:false 3:true]" {
		t.Errorf("rounds %v", got)
	}
}

// TestUploadBombs sends XLSX decompression bombs to the registry route:
// each is refused with 413/415 and a code while the heap stays within a
// few megabytes (before the bounded reader, a 1 MB bomb took serve past
// 11 GB). Not parallel: it measures the process's heap.
func TestUploadBombs(t *testing.T) {
	e := setup(t)
	points := map[string]string{"kind": "points", "program_id": strconv.FormatInt(e.program, 10), "period": "2026-03"}
	for _, tc := range []struct {
		name       string
		bomb       sheettest.Bomb
		wantStatus int
		wantCode   string
		maxHeap    int64
	}{
		{"sheet inflating to 1 GiB", sheettest.Bomb{Part: "sheet", Inflate: 1 << 30}, 413, "spreadsheet_too_large", 64 << 20},
		{"shared strings inflating to 1 GiB", sheettest.Bomb{Part: "sst", Inflate: 1 << 30}, 413, "spreadsheet_too_large", 64 << 20},
		{"sheet declared 1 KiB, inflating to 1 GiB", sheettest.Bomb{Part: "sheet", Inflate: 1 << 30, Lie: true}, 415, "registry_file_unreadable", 64 << 20},
		// Streamed until the registry holds MaxRows rows, as many as the
		// largest registry it accepts.
		{"100 MiB of rows", sheettest.Bomb{Part: "sheet", Inflate: 100 << 20}, 413, "registry_too_many_rows", 128 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.bomb.XLSX(t)
			var status int
			var body map[string]any
			h := heaptest.Measure(func() { status, body = e.upload(t, "maker", points, data) })
			if status != tc.wantStatus || body["code"] != tc.wantCode {
				t.Fatalf("%d %v, want %d %s", status, body, tc.wantStatus, tc.wantCode)
			}
			t.Logf("%d KiB bomb: %d %s; peak heap +%d KiB, allocated %d MiB", len(data)>>10, status, tc.wantCode, h.PeakInuse>>10, h.Alloc>>20)
			if h.PeakInuse > tc.maxHeap && !heaptest.Race {
				t.Errorf("peak heap +%d MiB, want < %d MiB", h.PeakInuse>>20, tc.maxHeap>>20)
			}
		})
	}
}
