package mobileapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

type inboxFixture struct {
	app     *fiber.App
	store   *notifydb.Store
	p1, p2  int64
	p1Items []int64 // oldest first
	p2Item  int64
}

// setup: two clients, a participant in each; five inbox items for p1, one
// for p2. The participant is taken from X-Participant (the real auth
// middleware's job), none means 401.
func setupInbox(t *testing.T) inboxFixture {
	t.Helper()
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	q := func(sql string, args ...any) int64 {
		t.Helper()
		var id int64
		if err := pool.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	var f inboxFixture
	for i, code := range []string{"acme", "globex"} {
		cid := q(`INSERT INTO clients (code, name) VALUES ($1, $1) RETURNING id`, code)
		pid := q(`INSERT INTO participants (client_id, phone, role) VALUES ($1, $2, 'seller') RETURNING id`, cid, fmt.Sprintf("+7999200000%d", i))
		n := 5
		if i == 1 {
			n = 1
		}
		for j := 0; j < n; j++ {
			intent := q(`INSERT INTO notification_intents (client_id, participant_id, event_type, dedup_key)
				VALUES ($1, $2, 'receipt_credited', $3) RETURNING id`, cid, pid, fmt.Sprintf("k:%d:%d", i, j))
			id := q(`INSERT INTO notifications (intent_id, client_id, participant_id, event_type, title, body, data)
				VALUES ($1, $2, $3, 'receipt_credited', $4, 'body', $5) RETURNING id`, intent, cid, pid,
				fmt.Sprintf("title %d", j), fmt.Sprintf(`{"receipt_id":"r%d","deep_link":"loyaltyjam://receipts/r%d"}`, j, j))
			if i == 0 {
				f.p1Items = append(f.p1Items, id)
			} else {
				f.p2Item = id
			}
		}
		if i == 0 {
			f.p1 = pid
		} else {
			f.p2 = pid
		}
	}
	f.app = httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	f.store = notifydb.New(pool)
	mobileapi.RegisterFeatures(f.app, mobileapi.Deps{Notifications: f.store}, func(c *fiber.Ctx) (auth.Participant, error) {
		id, err := strconv.ParseInt(c.Get("X-Participant"), 10, 64)
		if err != nil {
			return auth.Participant{}, apperr.New(apperr.Unauthorized, "unauthorized", "Нужно войти.")
		}
		return auth.Participant{ID: id}, nil
	})
	return f
}

func (f inboxFixture) do(t *testing.T, method, path string, who int64, body string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if who != 0 {
		req.Header.Set("X-Participant", strconv.FormatInt(who, 10))
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, out
}

func TestInboxPaginationAndReading(t *testing.T) {
	t.Parallel()
	f := setupInbox(t)
	ctx := context.Background()

	var seen []float64
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/notifications?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		st, body := f.do(t, http.MethodGet, path, f.p1, "")
		if st != 200 {
			t.Fatalf("page %d: %d %v", page, st, body)
		}
		if body["unread_count"].(float64) != 5 {
			t.Errorf("unread_count = %v", body["unread_count"])
		}
		for _, it := range body["items"].([]any) {
			m := it.(map[string]any)
			seen = append(seen, m["id"].(float64))
			if !strings.HasPrefix(m["deep_link"].(string), "loyaltyjam://receipts/") || m["read"].(bool) {
				t.Errorf("item %v", m)
			}
		}
		c, _ := body["next_cursor"].(string)
		if c == "" {
			break
		}
		cursor = c
	}
	want := []float64{}
	for i := len(f.p1Items) - 1; i >= 0; i-- {
		want = append(want, float64(f.p1Items[i]))
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("pages gave %v, want newest first %v", seen, want)
	}

	// Mark one read (twice: idempotent), then all.
	for i := 0; i < 2; i++ {
		if st, body := f.do(t, http.MethodPost, fmt.Sprintf("/v1/notifications/%d/read", f.p1Items[0]), f.p1, ""); st != 204 {
			t.Fatalf("read: %d %v", st, body)
		}
	}
	if n, _ := f.store.UnreadCount(ctx, f.p1); n != 4 {
		t.Errorf("unread after one read = %d, want 4", n)
	}
	if st, body := f.do(t, http.MethodPost, "/v1/notifications/read-all", f.p1, ""); st != 200 || body["marked"].(float64) != 4 {
		t.Errorf("read-all: %d %v", st, body)
	}
	if n, _ := f.store.UnreadCount(ctx, f.p1); n != 0 {
		t.Errorf("unread after read-all = %d", n)
	}
	// p2's inbox was not touched.
	if n, _ := f.store.UnreadCount(ctx, f.p2); n != 1 {
		t.Errorf("p2 unread = %d, want 1", n)
	}
}

func TestInboxErrorsAndIsolation(t *testing.T) {
	t.Parallel()
	f := setupInbox(t)
	tests := []struct {
		name, method, path string
		who                int64
		body               string
		wantStatus         int
		wantCode           string
	}{
		{"no participant", http.MethodGet, "/v1/notifications", 0, "", 401, "unauthorized"},
		{"other participant's item", http.MethodPost, fmt.Sprintf("/v1/notifications/%d/read", f.p2Item), f.p1, "", 404, "notification_not_found"},
		{"missing item", http.MethodPost, "/v1/notifications/99999999/read", f.p1, "", 404, "notification_not_found"},
		{"non-numeric id", http.MethodPost, "/v1/notifications/abc/read", f.p1, "", 404, "notification_not_found"},
		{"bad cursor", http.MethodGet, "/v1/notifications?cursor=%%%", f.p1, "", 422, "bad_cursor"},
		{"bad limit", http.MethodGet, "/v1/notifications?limit=1000", f.p1, "", 422, "bad_limit"},
		{"bad json", http.MethodPut, "/v1/notifications/preferences", f.p1, "{", 422, "bad_json"},
		{"bad timezone", http.MethodPut, "/v1/notifications/preferences", f.p1, `{"timezone":"Mars/Base"}`, 422, "notification_timezone_invalid"},
		{"bad clock", http.MethodPut, "/v1/notifications/preferences", f.p1, `{"quiet_hours":{"enabled":true,"start":"25:00","end":"08:00"}}`, 422, "notification_quiet_hours_invalid"},
		{"mandatory channel", http.MethodPut, "/v1/notifications/preferences", f.p1, `{"channels":{"credentials":{"sms":false}}}`, 422, "notification_channel_not_configurable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := f.do(t, tc.method, tc.path, tc.who, tc.body)
			if st != tc.wantStatus || body["code"] != tc.wantCode {
				t.Errorf("%d %v, want %d %s", st, body, tc.wantStatus, tc.wantCode)
			}
		})
	}
	// p1's list never shows p2's item.
	_, body := f.do(t, http.MethodGet, "/v1/notifications?limit=100", f.p2, "")
	items := body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"].(float64) != float64(f.p2Item) {
		t.Errorf("p2 sees %v", items)
	}
}

func TestPreferencesRoundTrip(t *testing.T) {
	t.Parallel()
	f := setupInbox(t)
	st, body := f.do(t, http.MethodGet, "/v1/notifications/preferences", f.p1, "")
	if st != 200 || body["timezone"] != "Europe/Moscow" {
		t.Fatalf("defaults: %d %v", st, body)
	}
	q := body["quiet_hours"].(map[string]any)
	if q["enabled"] != true || q["start"] != "22:00" || q["end"] != "08:00" {
		t.Errorf("default quiet hours %v", q)
	}
	if body["channels"].(map[string]any)["receipt_credited"].(map[string]any)["push"] != true {
		t.Errorf("default channels %v", body["channels"])
	}
	st, body = f.do(t, http.MethodPut, "/v1/notifications/preferences", f.p1,
		`{"timezone":"Asia/Yekaterinburg","quiet_hours":{"enabled":true,"start":"23:30","end":"07:15"},"channels":{"receipt_credited":{"push":false}}}`)
	if st != 200 {
		t.Fatalf("put: %d %v", st, body)
	}
	_, body = f.do(t, http.MethodGet, "/v1/notifications/preferences", f.p1, "")
	q = body["quiet_hours"].(map[string]any)
	ch := body["channels"].(map[string]any)
	if body["timezone"] != "Asia/Yekaterinburg" || q["start"] != "23:30" || q["end"] != "07:15" ||
		ch["receipt_credited"].(map[string]any)["push"] != false || ch["receipt_rejected"].(map[string]any)["push"] != true {
		t.Errorf("after put: %v", body)
	}
	// Another participant keeps the defaults.
	_, body = f.do(t, http.MethodGet, "/v1/notifications/preferences", f.p2, "")
	if body["timezone"] != "Europe/Moscow" {
		t.Errorf("p2 preferences changed: %v", body)
	}
}
