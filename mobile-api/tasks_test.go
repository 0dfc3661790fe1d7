package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

var errUnauth = apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")

// Test authentication: "X-Participant: id:client:role", "X-Staff: id:client:role".
func participantAuth(c *fiber.Ctx) (auth.Participant, error) {
	var id, client int64
	var role string
	if _, err := fmt.Sscanf(strings.ReplaceAll(c.Get("X-Participant"), ":", " "), "%d %d %s", &id, &client, &role); err != nil {
		return auth.Participant{}, errUnauth
	}
	return auth.Participant{ID: id, ClientID: client, Role: role}, nil
}

func staffAuth(c *fiber.Ctx) (access.Staff, error) {
	var id, client int64
	var role string
	if _, err := fmt.Sscanf(strings.ReplaceAll(c.Get("X-Staff"), ":", " "), "%d %d %s", &id, &client, &role); err != nil {
		return access.Staff{}, errUnauth
	}
	return access.Staff{UserID: id, ClientID: client, Role: access.Role(role)}, nil
}

type taskFixture struct {
	app                  *fiber.App
	clientA, clientB     int64
	programA             int64
	partA, partB         string // X-Participant values
	managerA, modA, modB string // X-Staff values
	shopA                int64
}

func setupTasks(t *testing.T) *taskFixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &taskFixture{}
	var pA, pB int64
	err = postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		for i, code := range []string{"acme", "other"} {
			var client, program, shop, part int64
			if err := tx.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ($1, $1) RETURNING id`, code).Scan(&client); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
				VALUES ($1, 'p1', 'П', 'live', '2020-01-01', '2099-12-31', 10000000) RETURNING id`, client).Scan(&program); err != nil {
				return err
			}
			if _, err := ledgerdb.SyncBudget(ctx, tx, program); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, lat, lon) VALUES ($1, 's', 'S', 55.75, 37.62) RETURNING id`, client).Scan(&shop); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, status, shop_id)
				VALUES ($1, $2, 'merchandiser', 'active', $3) RETURNING id`, client, fmt.Sprintf("+7901000000%d", i), shop).Scan(&part); err != nil {
				return err
			}
			if i == 0 {
				f.clientA, f.programA, f.shopA, pA = client, program, shop, part
			} else {
				f.clientB, pB = client, part
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.partA = fmt.Sprintf("%d:%d:merchandiser", pA, f.clientA)
	f.partB = fmt.Sprintf("%d:%d:merchandiser", pB, f.clientB)
	f.managerA = fmt.Sprintf("1:%d:client_manager", f.clientA)
	f.modA = fmt.Sprintf("2:%d:moderator", f.clientA)
	f.modB = fmt.Sprintf("3:%d:moderator", f.clientB)
	f.app = httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	store := taskdb.New(db, photos, ledgerdb.Postings{}, taskdb.WithNotifier(notifydb.Notifier{}))
	mobileapi.RegisterFeatures(f.app, mobileapi.Deps{Tasks: store}, participantAuth)
	admin, err := adminapi.New(adminapi.Deps{Tasks: store, Staff: staffAuth})
	if err != nil {
		t.Fatal(err)
	}
	admin.Register(f.app)
	return f
}

type taskReq struct {
	method, path string
	participant  string
	staff        string
	body         io.Reader
	contentType  string
}

func (f *taskFixture) do(t *testing.T, r taskReq) (int, map[string]any) {
	t.Helper()
	hr := httptest.NewRequest(r.method, r.path, r.body)
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	} else if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.participant != "" {
		hr.Header.Set("X-Participant", r.participant)
	}
	if r.staff != "" {
		hr.Header.Set("X-Staff", r.staff)
	}
	resp, err := f.app.Test(hr, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s: %d %s", r.method, r.path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func photo(t *testing.T, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			v := uint8((x*seed + y*(seed+3)) % 256)
			img.Set(x, y, color.RGBA{v, uint8(x), uint8(y * seed), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartReport builds a report form.
func multipartReport(t *testing.T, photos [][]byte, fields map[string]string) (io.Reader, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i, p := range photos {
		fw, err := w.CreateFormFile("photos", "p"+strconv.Itoa(i)+".jpg")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p)
	}
	for k, v := range fields {
		w.WriteField(k, v)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func TestHTTPFlowAndBadInput(t *testing.T) {
	t.Parallel()
	f := setupTasks(t)
	now := time.Now()
	create := map[string]any{
		"program_id": f.programA, "title": "Выкладка", "reward_kopecks": 25000,
		"starts_at": now.Add(-time.Hour), "due_at": now.Add(30 * 24 * time.Hour), "recurrence": "weekly",
		"evidence": map[string]any{"min_photos": 1, "max_photos": 2,
			"checklist": []map[string]any{{"key": "facings", "question": "Сколько фейсингов?", "kind": "number", "required": true, "min": 0}}},
		"geofence_meters": 500,
	}
	status, body := f.do(t, taskReq{method: "POST", path: "/admin/v1/tasks", staff: f.managerA, body: jsonBody(create)})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	taskID := int64(body["id"].(float64))
	tp := "/v1/tasks/" + strconv.FormatInt(taskID, 10)

	status, body = f.do(t, taskReq{method: "GET", path: "/v1/tasks", participant: f.partA})
	if items, _ := body["items"].([]any); status != 200 || len(items) != 1 {
		t.Fatalf("available: %d %v", status, body)
	}
	status, body = f.do(t, taskReq{method: "POST", path: tp + "/take", participant: f.partA})
	if status != http.StatusCreated || body["status"] != "taken" {
		t.Fatalf("take: %d %v", status, body)
	}
	subPath := "/v1/tasks/submissions/" + strconv.FormatInt(int64(body["id"].(float64)), 10)
	adminSub := "/admin/v1/tasks/submissions/" + strconv.FormatInt(int64(body["id"].(float64)), 10)

	good := map[string]string{"answers": `{"facings": 7}`, "lat": "55.7501", "lon": "37.6201", "captured_at": now.Format(time.RFC3339)}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		r          func() taskReq
		wantStatus int
		wantCode   string
	}{
		{"no participant", func() taskReq { return taskReq{method: "GET", path: "/v1/tasks"} }, 401, "unauthorized"},
		{"no staff", func() taskReq { return taskReq{method: "GET", path: "/admin/v1/tasks/submissions"} }, 401, "unauthorized"},
		{"task id not a number", func() taskReq { return taskReq{method: "GET", path: "/v1/tasks/abc", participant: f.partA} }, 404, "task_not_found"},
		{"negative task id", func() taskReq { return taskReq{method: "POST", path: "/v1/tasks/-1/take", participant: f.partA} }, 404, "task_not_found"},
		{"take: broken JSON", func() taskReq {
			return taskReq{method: "POST", path: tp + "/take", participant: f.partA, body: strings.NewReader(`{"shop_id":`)}
		}, 422, "task_bad_json"},
		{"take: wrong type", func() taskReq {
			return taskReq{method: "POST", path: tp + "/take", participant: f.partA, body: strings.NewReader(`{"shop_id":"x"}`)}
		}, 422, "task_bad_json"},
		{"take: another client's task", func() taskReq { return taskReq{method: "POST", path: tp + "/take", participant: f.partB} }, 404, "task_not_found"},
		{"report: not multipart", func() taskReq {
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: strings.NewReader(`{}`)}
		}, 422, "task_bad_form"},
		{"report: not a photo", func() taskReq {
			b, ct := multipartReport(t, [][]byte{[]byte("hello")}, good)
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct}
		}, 422, "task_bad_photo"},
		{"report: no photos", func() taskReq {
			b, ct := multipartReport(t, nil, good)
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct}
		}, 422, "task_too_few_photos"},
		{"report: bad answers", func() taskReq {
			b, ct := multipartReport(t, [][]byte{photo(t, 1)}, with("answers", `{"facings": "много"}`))
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct}
		}, 422, "task_bad_answers"},
		{"report: bad latitude", func() taskReq {
			b, ct := multipartReport(t, [][]byte{photo(t, 1)}, with("lat", "NaN"))
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct}
		}, 422, "task_bad_location"},
		{"report: bad capture time", func() taskReq {
			b, ct := multipartReport(t, [][]byte{photo(t, 1)}, with("captured_at", "вчера"))
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct}
		}, 422, "task_bad_capture_time"},
		{"report: someone else's", func() taskReq {
			b, ct := multipartReport(t, [][]byte{photo(t, 1)}, good)
			return taskReq{method: "POST", path: subPath + "/report", participant: f.partB, body: b, contentType: ct}
		}, 404, "task_submission_not_found"},
		{"admin: create with unknown field", func() taskReq {
			return taskReq{method: "POST", path: "/admin/v1/tasks", staff: f.managerA, body: strings.NewReader(`{"titel":"x"}`)}
		}, 422, "task_bad_json"},
		{"admin: create without title", func() taskReq {
			return taskReq{method: "POST", path: "/admin/v1/tasks", staff: f.managerA, body: jsonBody(map[string]any{"program_id": f.programA, "reward_kopecks": 1})}
		}, 422, "task_invalid"},
		{"admin: moderator cannot create", func() taskReq {
			return taskReq{method: "POST", path: "/admin/v1/tasks", staff: f.modA, body: jsonBody(create)}
		}, 403, "forbidden"},
		{"admin: other client's queue", func() taskReq {
			return taskReq{method: "GET", path: "/admin/v1/tasks/submissions?client_id=" + strconv.FormatInt(f.clientA, 10), staff: f.modB}
		}, 403, "forbidden"},
		{"admin: other client's task", func() taskReq {
			return taskReq{method: "GET", path: "/admin/v1/tasks/" + strconv.FormatInt(taskID, 10), staff: f.modB}
		}, 404, "task_not_found"},
		{"admin: other client's report", func() taskReq {
			return taskReq{method: "POST", path: adminSub + "/approve", staff: f.modB}
		}, 404, "task_submission_not_found"},
		{"admin: bad status filter", func() taskReq {
			return taskReq{method: "GET", path: "/admin/v1/tasks/submissions?status=lost", staff: f.modA}
		}, 422, "task_bad_param"},
		{"admin: unknown action", func() taskReq { return taskReq{method: "POST", path: adminSub + "/delete", staff: f.modA} }, 404, "not_found"},
		{"admin: approve before the report", func() taskReq { return taskReq{method: "POST", path: adminSub + "/approve", staff: f.modA} }, 409, "task_submission_bad_status"},
		{"admin: reject with an unknown reason", func() taskReq {
			return taskReq{method: "POST", path: adminSub + "/reject", staff: f.modA, body: jsonBody(map[string]string{"reason_code": "meh"})}
		}, 422, "task_bad_reason"},
		{"admin: operator without client", func() taskReq {
			return taskReq{method: "GET", path: "/admin/v1/tasks", staff: "9:0:operator"}
		}, 422, "task_client_required"},
		{"admin: photo index out of range", func() taskReq {
			return taskReq{method: "GET", path: adminSub + "/photos/99", staff: f.modA}
		}, 404, "task_submission_not_found"},
	}
	for _, tc := range tests {
		status, body := f.do(t, tc.r())
		if status != tc.wantStatus || body["code"] != tc.wantCode {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.wantStatus, tc.wantCode)
		}
		if msg, _ := body["message"].(string); msg == "" {
			t.Errorf("%s: no message", tc.name)
		}
	}

	// The good report, approval and points.
	b, ct := multipartReport(t, [][]byte{photo(t, 2)}, good)
	status, body = f.do(t, taskReq{method: "POST", path: subPath + "/report", participant: f.partA, body: b, contentType: ct})
	if status != 200 || body["status"] != "submitted" {
		t.Fatalf("report: %d %v", status, body)
	}
	if _, ok := body["flags"]; ok {
		t.Error("participant sees integrity flags")
	}
	status, body = f.do(t, taskReq{method: "GET", path: "/admin/v1/tasks/submissions", staff: f.modA})
	if items, _ := body["items"].([]any); status != 200 || len(items) != 1 {
		t.Fatalf("queue: %d %v", status, body)
	}
	status, _ = f.do(t, taskReq{method: "GET", path: adminSub + "/photos/0", staff: f.modA})
	if status != 200 {
		t.Errorf("photo: %d", status)
	}
	for i := 0; i < 2; i++ {
		status, body = f.do(t, taskReq{method: "POST", path: adminSub + "/approve", staff: f.modA})
		if status != 200 || body["status"] != "approved" {
			t.Fatalf("approve #%d: %d %v", i+1, status, body)
		}
	}
	status, body = f.do(t, taskReq{method: "GET", path: "/v1/tasks/submissions", participant: f.partA})
	if status != 200 || body["total_kopecks"] != float64(25000) {
		t.Fatalf("my submissions: %d %v", status, body)
	}
	status, body = f.do(t, taskReq{method: "GET", path: "/v1/tasks/submissions?status=nope", participant: f.partA})
	if status != 422 || body["code"] != "task_bad_param" {
		t.Errorf("bad status filter: %d %v", status, body)
	}
}
