package mobileapi_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// featureFixture: two clients; in the first an owner and a peer (same
// client), in the second a stranger; a running task of the first client
// (one attempt per participant per week, 1–2 photos, one numeric checklist
// question), one that starts tomorrow, and inbox items for owner and peer.
type featureFixture struct {
	*servedEnv
	c1, c2                                 tclient
	owner, peer, stranger, blocked         tparticipant
	ownerTok, peerTok, strangerTok, blkTok string
	expiredTok                             string
	task, later                            task.Task
	ownerItems                             []int64 // inbox, oldest first
	peerItem                               int64
}

func newFeatureFixture(t *testing.T) *featureFixture {
	t.Helper()
	ctx := context.Background()
	f := &featureFixture{servedEnv: newServedEnv(t, defaultAuth())}
	f.c1, f.c2 = f.client(t, "live"), f.client(t, "live")
	// Fund the program budget so task approvals can credit points.
	if err := postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, f.c1.Program)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.owner = f.participant(t, f.c1, "", "active")
	f.peer = f.participant(t, f.c1, "", "active")
	f.stranger = f.participant(t, f.c2, "", "active")
	f.blocked = f.participant(t, f.c1, "", "active")
	f.ownerTok, f.peerTok, f.strangerTok = f.login(t, f.owner).AccessToken, f.login(t, f.peer).AccessToken, f.login(t, f.stranger).AccessToken
	f.blkTok = f.login(t, f.blocked).AccessToken
	if _, err := f.db.Exec(ctx, `UPDATE participants SET status = 'blocked' WHERE id = $1`, f.blocked.ID); err != nil {
		t.Fatal(err)
	}
	f.expiredTok = expiredToken(t, f.owner, f.c1)

	manager := access.Staff{UserID: 1, ClientID: f.c1.ID, Role: access.ClientManager}
	now := time.Now()
	min0 := 0.0
	var err error
	f.task, err = f.tasks.CreateTask(ctx, manager, task.Task{ProgramID: f.c1.Program, Title: "Выкладка на полке",
		Instructions: "Сфотографируйте полку.", RewardKopecks: 30000, StartsAt: now.Add(-time.Hour),
		DueAt: now.AddDate(0, 1, 0), Recurrence: task.Weekly, PerParticipant: 1,
		Evidence: task.Evidence{MinPhotos: 1, MaxPhotos: 2, Checklist: []task.ChecklistItem{
			{Key: "facings", Question: "Сколько фейсингов?", Kind: task.Number, Required: true, Min: &min0}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.later, err = f.tasks.CreateTask(ctx, manager, task.Task{ProgramID: f.c1.Program, Title: "Завтра",
		RewardKopecks: 100, StartsAt: now.Add(24 * time.Hour), DueAt: now.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}

	for i, who := range []tparticipant{f.owner, f.owner, f.peer} {
		var intent, id int64
		if err := f.db.QueryRow(ctx, `INSERT INTO notification_intents (client_id, participant_id, event_type, dedup_key)
			VALUES ($1, $2, 'receipt_credited', $3) RETURNING id`, f.c1.ID, who.ID, fmt.Sprintf("test:%d", i)).Scan(&intent); err != nil {
			t.Fatal(err)
		}
		if err := f.db.QueryRow(ctx, `INSERT INTO notifications (intent_id, client_id, participant_id, event_type, title, body, data)
			VALUES ($1, $2, $3, 'receipt_credited', 'Начислено 12 баллов', 'Чек проверен.', $4) RETURNING id`, intent, f.c1.ID, who.ID,
			fmt.Sprintf(`{"receipt_id":"r%d","deep_link":"loyaltyjam://receipts/r%d"}`, i, i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if who.ID == f.owner.ID {
			f.ownerItems = append(f.ownerItems, id)
		} else {
			f.peerItem = id
		}
	}
	return f
}

// shelfJPEG is a small JPEG whose content depends on seed.
func shelfJPEG(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{uint8((x*seed + y*(seed+3)) % 256), uint8(x), uint8(y * seed), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// reportReq is a task report: photos as repeated "photos" parts.
func reportReq(path, token string, photos [][]byte, fields map[string]string) *http.Request {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i, p := range photos {
		fw, _ := w.CreateFormFile("photos", fmt.Sprintf("p%d.jpg", i))
		fw.Write(p)
	}
	for k, v := range fields {
		w.WriteField(k, v)
	}
	w.Close()
	req := httptest.NewRequest(http.MethodPost, path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

type submission struct {
	ID            int64          `json:"id"`
	Status        string         `json:"status"`
	Answers       map[string]any `json:"answers"`
	PointsKopecks int64          `json:"points_kopecks"`
}

// TestFeatureRoutesFlow walks the participant's day through the served
// app: tasks (list, get, take, report, reports), points after the
// moderator approves, the inbox and its preferences — every answer
// validated against openapi.yaml.
func TestFeatureRoutesFlow(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	ctx := context.Background()
	tp := "/v1/tasks/" + strconv.FormatInt(f.task.ID, 10)

	var avail struct {
		Items []struct {
			Task struct {
				ID int64 `json:"id"`
			} `json:"task"`
			Remaining        int   `json:"remaining"`
			OpenSubmissionID int64 `json:"open_submission_id"`
		} `json:"items"`
	}
	r := f.do(t, jsonReq("GET", "/v1/tasks", f.ownerTok, nil))
	r.json(t, &avail)
	if r.Status != 200 || len(avail.Items) != 1 || avail.Items[0].Task.ID != f.task.ID || avail.Items[0].Remaining != 1 {
		t.Fatalf("available: %d %s", r.Status, r.Body)
	}
	if r := f.do(t, jsonReq("GET", tp, f.ownerTok, nil)); r.Status != 200 {
		t.Fatalf("get task: %d %s", r.Status, r.Body)
	}

	var sub submission
	r = f.do(t, jsonReq("POST", tp+"/take", f.ownerTok, nil))
	r.json(t, &sub)
	if r.Status != 201 || sub.Status != "taken" {
		t.Fatalf("take: %d %s", r.Status, r.Body)
	}
	var again submission
	r = f.do(t, jsonReq("POST", tp+"/take", f.ownerTok, map[string]any{}))
	r.json(t, &again)
	if r.Status != 201 || again.ID != sub.ID {
		t.Fatalf("take while open: %d %s, want the open attempt %d", r.Status, r.Body, sub.ID)
	}
	f.do(t, jsonReq("GET", "/v1/tasks", f.ownerTok, nil)).json(t, &avail)
	if len(avail.Items) != 1 || avail.Items[0].OpenSubmissionID != sub.ID {
		t.Fatalf("available after take: %+v", avail)
	}
	sp := "/v1/tasks/submissions/" + strconv.FormatInt(sub.ID, 10)
	if r := f.do(t, jsonReq("GET", sp, f.ownerTok, nil)); r.Status != 200 {
		t.Fatalf("get submission: %d %s", r.Status, r.Body)
	}

	good := map[string]string{"answers": `{"facings": 7}`, "comment": "Готово", "lat": "55.75", "lon": "37.62",
		"captured_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}
	r = f.do(t, reportReq(sp+"/report", f.ownerTok, [][]byte{shelfJPEG(t, 3), shelfJPEG(t, 5)}, good))
	r.json(t, &sub)
	if r.Status != 200 || sub.Status != "submitted" || sub.Answers["facings"] != 7.0 {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	if r := f.do(t, reportReq(sp+"/report", f.ownerTok, [][]byte{shelfJPEG(t, 7)}, good)); r.Status != 409 || r.code() != "task_submission_bad_status" {
		t.Fatalf("second report: %d %s", r.Status, r.Body)
	}
	if r := f.do(t, jsonReq("POST", tp+"/take", f.ownerTok, nil)); r.Status != 409 || r.code() != "task_participant_limit" {
		t.Fatalf("take over the limit: %d %s", r.Status, r.Body)
	}

	// The moderator approves: points land on the ledger.
	mod := access.Staff{UserID: 2, ClientID: f.c1.ID, Role: access.Moderator}
	if _, err := f.tasks.Review(ctx, mod, sub.ID, task.Review{Action: task.ActApprove}); err != nil {
		t.Fatal(err)
	}
	var mine struct {
		Items        []submission `json:"items"`
		TotalKopecks int64        `json:"total_kopecks"`
		NextBefore   int64        `json:"next_before"`
	}
	r = f.do(t, jsonReq("GET", "/v1/tasks/submissions?status=approved&task_id="+strconv.FormatInt(f.task.ID, 10)+"&limit=1", f.ownerTok, nil))
	r.json(t, &mine)
	if r.Status != 200 || len(mine.Items) != 1 || mine.TotalKopecks != 30000 || mine.NextBefore != sub.ID {
		t.Fatalf("my reports: %d %s", r.Status, r.Body)
	}
	if r := f.do(t, jsonReq("GET", "/v1/tasks/submissions?before="+strconv.FormatInt(sub.ID, 10), f.ownerTok, nil)); r.Status != 200 {
		t.Fatalf("older reports: %d %s", r.Status, r.Body)
	}

	var bal struct {
		AvailableKopecks int64  `json:"available_kopecks"`
		PendingKopecks   int64  `json:"pending_kopecks"`
		Available        string `json:"available"`
	}
	r = f.do(t, jsonReq("GET", "/v1/balance", f.ownerTok, nil))
	r.json(t, &bal)
	if r.Status != 200 || bal.AvailableKopecks+bal.PendingKopecks != 30000 {
		t.Fatalf("balance: %d %s", r.Status, r.Body)
	}
	var led struct {
		Items []struct {
			Kind             string `json:"kind"`
			AvailableKopecks int64  `json:"available_kopecks"`
			PendingKopecks   int64  `json:"pending_kopecks"`
			Reason           string `json:"reason"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	r = f.do(t, jsonReq("GET", "/v1/ledger?limit=1", f.ownerTok, nil))
	r.json(t, &led)
	if r.Status != 200 || len(led.Items) != 1 || led.Items[0].Kind != "task_reward" ||
		led.Items[0].AvailableKopecks+led.Items[0].PendingKopecks != 30000 || led.Items[0].Reason == "" || led.NextCursor != "" {
		t.Fatalf("ledger: %d %s", r.Status, r.Body)
	}

	// Inbox: two items, newest first, paged one at a time.
	var inbox struct {
		Items []struct {
			ID       int64  `json:"id"`
			DeepLink string `json:"deep_link"`
			Read     bool   `json:"read"`
		} `json:"items"`
		NextCursor  string `json:"next_cursor"`
		UnreadCount int    `json:"unread_count"`
	}
	r = f.do(t, jsonReq("GET", "/v1/notifications?limit=1", f.ownerTok, nil))
	r.json(t, &inbox)
	if r.Status != 200 || len(inbox.Items) != 1 || inbox.Items[0].ID != f.ownerItems[1] || inbox.NextCursor == "" || inbox.UnreadCount != 2 {
		t.Fatalf("inbox page 1: %d %s", r.Status, r.Body)
	}
	r = f.do(t, jsonReq("GET", "/v1/notifications?limit=1&cursor="+inbox.NextCursor, f.ownerTok, nil))
	r.json(t, &inbox)
	if r.Status != 200 || len(inbox.Items) != 1 || inbox.Items[0].ID != f.ownerItems[0] {
		t.Fatalf("inbox page 2: %d %s", r.Status, r.Body)
	}
	var me struct {
		Unread int `json:"unread_notifications"`
	}
	f.do(t, jsonReq("GET", "/v1/me", f.ownerTok, nil)).json(t, &me)
	if me.Unread != 2 {
		t.Fatalf("/v1/me unread_notifications = %d, want 2 (serve passes the inbox's count)", me.Unread)
	}
	for i := 0; i < 2; i++ { // idempotent
		if r := f.do(t, jsonReq("POST", fmt.Sprintf("/v1/notifications/%d/read", f.ownerItems[0]), f.ownerTok, nil)); r.Status != 204 {
			t.Fatalf("read: %d %s", r.Status, r.Body)
		}
	}
	var all struct {
		Marked int `json:"marked"`
	}
	r = f.do(t, jsonReq("POST", "/v1/notifications/read-all", f.ownerTok, nil))
	r.json(t, &all)
	if r.Status != 200 || all.Marked != 1 {
		t.Fatalf("read-all: %d %s", r.Status, r.Body)
	}
	f.do(t, jsonReq("GET", "/v1/me", f.peerTok, nil)).json(t, &me)
	if me.Unread != 1 {
		t.Fatalf("peer's unread = %d after the owner read all, want 1", me.Unread)
	}

	// Preferences round trip.
	var prefs struct {
		Timezone   string                     `json:"timezone"`
		Channels   map[string]map[string]bool `json:"channels"`
		QuietHours struct {
			Start string `json:"start"`
		} `json:"quiet_hours"`
	}
	r = f.do(t, jsonReq("GET", "/v1/notifications/preferences", f.ownerTok, nil))
	r.json(t, &prefs)
	if r.Status != 200 || prefs.Timezone != "Europe/Moscow" || !prefs.Channels["receipt_credited"]["push"] {
		t.Fatalf("default preferences: %d %s", r.Status, r.Body)
	}
	r = f.do(t, jsonReq("PUT", "/v1/notifications/preferences", f.ownerTok, map[string]any{"timezone": "Asia/Yekaterinburg",
		"quiet_hours": map[string]any{"enabled": true, "start": "23:30", "end": "07:15"},
		"channels":    map[string]any{"receipt_credited": map[string]bool{"push": false}}}))
	r.json(t, &prefs)
	if r.Status != 200 || prefs.Timezone != "Asia/Yekaterinburg" || prefs.QuietHours.Start != "23:30" || prefs.Channels["receipt_credited"]["push"] {
		t.Fatalf("put preferences: %d %s", r.Status, r.Body)
	}
	f.do(t, jsonReq("GET", "/v1/notifications/preferences", f.peerTok, nil)).json(t, &prefs)
	if prefs.Timezone != "Europe/Moscow" {
		t.Fatalf("the peer's preferences changed: %+v", prefs)
	}
}

// TestFeatureRoutesAsEveryCaller runs every feature route as no token, an
// expired token, a blocked participant, a participant of the same client
// and one of another client: none of them reads or changes the owner's
// task reports, points or inbox.
func TestFeatureRoutesAsEveryCaller(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	tp := "/v1/tasks/" + strconv.FormatInt(f.task.ID, 10)
	var sub submission
	f.do(t, jsonReq("POST", tp+"/take", f.ownerTok, nil)).json(t, &sub)
	sp := "/v1/tasks/submissions/" + strconv.FormatInt(sub.ID, 10)
	item := fmt.Sprintf("/v1/notifications/%d/read", f.ownerItems[0])
	report := func(tok string) *http.Request {
		return reportReq(sp+"/report", tok, [][]byte{shelfJPEG(t, 9)}, map[string]string{"answers": `{"facings": 3}`})
	}

	type want struct {
		status int
		code   string
		// items is the length of "items" for list answers (-1: not checked)
		items int
	}
	endpoints := []struct {
		name           string
		req            func(tok string) *http.Request
		peer, stranger want
	}{
		{"balance", func(tok string) *http.Request { return jsonReq("GET", "/v1/balance", tok, nil) }, want{200, "", -1}, want{200, "", -1}},
		{"ledger", func(tok string) *http.Request { return jsonReq("GET", "/v1/ledger", tok, nil) }, want{200, "", 0}, want{200, "", 0}},
		{"inbox", func(tok string) *http.Request { return jsonReq("GET", "/v1/notifications", tok, nil) }, want{200, "", 1}, want{200, "", 0}},
		{"read owner's item", func(tok string) *http.Request { return jsonReq("POST", item, tok, nil) },
			want{404, "notification_not_found", -1}, want{404, "notification_not_found", -1}},
		{"read all", func(tok string) *http.Request { return jsonReq("POST", "/v1/notifications/read-all", tok, nil) }, want{200, "", -1}, want{200, "", -1}},
		{"get preferences", func(tok string) *http.Request { return jsonReq("GET", "/v1/notifications/preferences", tok, nil) }, want{200, "", -1}, want{200, "", -1}},
		{"put preferences", func(tok string) *http.Request {
			return jsonReq("PUT", "/v1/notifications/preferences", tok, map[string]any{"timezone": "Europe/Samara"})
		}, want{200, "", -1}, want{200, "", -1}},
		{"available tasks", func(tok string) *http.Request { return jsonReq("GET", "/v1/tasks", tok, nil) }, want{200, "", 1}, want{200, "", 0}},
		{"get task", func(tok string) *http.Request { return jsonReq("GET", tp, tok, nil) }, want{200, "", -1}, want{404, "task_not_found", -1}},
		{"my reports", func(tok string) *http.Request { return jsonReq("GET", "/v1/tasks/submissions", tok, nil) }, want{200, "", 0}, want{200, "", 0}},
		{"owner's report", func(tok string) *http.Request { return jsonReq("GET", sp, tok, nil) },
			want{404, "task_submission_not_found", -1}, want{404, "task_submission_not_found", -1}},
		{"report owner's attempt", report, want{404, "task_submission_not_found", -1}, want{404, "task_submission_not_found", -1}},
		{"take the task", func(tok string) *http.Request { return jsonReq("POST", tp+"/take", tok, nil) },
			want{201, "", -1}, want{404, "task_not_found", -1}},
	}
	callers := []struct {
		name  string
		token string
		fixed *want // same answer for every endpoint
	}{
		{"no token", "", &want{401, "unauthorized", -1}},
		{"garbage token", "not.a.jwt", &want{401, "token_invalid", -1}},
		{"expired token", f.expiredTok, &want{401, "token_expired", -1}},
		{"blocked participant", f.blkTok, &want{403, "participant_blocked", -1}},
		{"participant of the same client", f.peerTok, nil},
		{"participant of another client", f.strangerTok, nil},
	}
	for _, c := range callers {
		for _, ep := range endpoints {
			t.Run(c.name+"/"+ep.name, func(t *testing.T) {
				w := ep.peer
				switch {
				case c.fixed != nil:
					w = *c.fixed
				case c.token == f.strangerTok:
					w = ep.stranger
				}
				r := f.do(t, ep.req(c.token))
				if r.Status != w.status || (w.code != "" && r.code() != w.code) {
					t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, w.status, w.code)
				}
				if r.Status == 401 && r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if w.items >= 0 {
					var l struct {
						Items []any `json:"items"`
					}
					r.json(t, &l)
					if len(l.Items) != w.items {
						t.Fatalf("%d items, want %d: %s", len(l.Items), w.items, r.Body)
					}
				}
			})
		}
	}

	// The owner's things are as they were.
	var inbox struct {
		UnreadCount int `json:"unread_count"`
	}
	f.do(t, jsonReq("GET", "/v1/notifications", f.ownerTok, nil)).json(t, &inbox)
	if inbox.UnreadCount != 2 {
		t.Errorf("owner's unread = %d, want 2", inbox.UnreadCount)
	}
	var got submission
	f.do(t, jsonReq("GET", sp, f.ownerTok, nil)).json(t, &got)
	if got.Status != "taken" {
		t.Errorf("owner's attempt is %q, want taken", got.Status)
	}
	var prefs struct {
		Timezone string `json:"timezone"`
	}
	f.do(t, jsonReq("GET", "/v1/notifications/preferences", f.ownerTok, nil)).json(t, &prefs)
	if prefs.Timezone != "Europe/Moscow" {
		t.Errorf("owner's timezone = %q", prefs.Timezone)
	}
}

// TestFeatureRoutesBadInput: each error code the feature handlers return
// for bad input, through the served app and the contract.
func TestFeatureRoutesBadInput(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	tp := "/v1/tasks/" + strconv.FormatInt(f.task.ID, 10)
	var sub submission
	f.do(t, jsonReq("POST", tp+"/take", f.ownerTok, nil)).json(t, &sub)
	sp := "/v1/tasks/submissions/" + strconv.FormatInt(sub.ID, 10) + "/report"
	good := map[string]string{"answers": `{"facings": 7}`}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range good {
			if a != k {
				m[a] = b
			}
		}
		return m
	}
	photo := [][]byte{shelfJPEG(t, 11)}
	tok := f.ownerTok
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
	}{
		{"ledger limit 0", jsonReq("GET", "/v1/ledger?limit=0", tok, nil), 422, "bad_limit"},
		{"ledger limit text", jsonReq("GET", "/v1/ledger?limit=ten", tok, nil), 422, "bad_limit"},
		{"ledger cursor", jsonReq("GET", "/v1/ledger?cursor=***", tok, nil), 422, "bad_cursor"},
		{"ledger cursor not an id", jsonReq("GET", "/v1/ledger?cursor=eHl6", tok, nil), 422, "bad_cursor"},
		{"inbox limit 101", jsonReq("GET", "/v1/notifications?limit=101", tok, nil), 422, "bad_limit"},
		{"inbox cursor", jsonReq("GET", "/v1/notifications?cursor=***", tok, nil), 422, "bad_cursor"},
		{"read: id not a number", jsonReq("POST", "/v1/notifications/abc/read", tok, nil), 404, "notification_not_found"},
		{"read: no such id", jsonReq("POST", "/v1/notifications/99999999/read", tok, nil), 404, "notification_not_found"},
		{"read: peer's item", jsonReq("POST", fmt.Sprintf("/v1/notifications/%d/read", f.peerItem), tok, nil), 404, "notification_not_found"},
		{"preferences: broken JSON", jsonReq("PUT", "/v1/notifications/preferences", tok, "{"), 422, "bad_json"},
		{"preferences: timezone", jsonReq("PUT", "/v1/notifications/preferences", tok, `{"timezone":"Mars/Base"}`), 422, "notification_timezone_invalid"},
		{"preferences: clock", jsonReq("PUT", "/v1/notifications/preferences", tok, `{"quiet_hours":{"enabled":true,"start":"25:00","end":"08:00"}}`), 422, "notification_quiet_hours_invalid"},
		{"preferences: unknown type", jsonReq("PUT", "/v1/notifications/preferences", tok, `{"channels":{"nope":{"push":false}}}`), 422, "notification_type_unknown"},
		{"preferences: mandatory channel", jsonReq("PUT", "/v1/notifications/preferences", tok, `{"channels":{"credentials":{"sms":false}}}`), 422, "notification_channel_not_configurable"},
		{"task id not a number", jsonReq("GET", "/v1/tasks/abc", tok, nil), 404, "task_not_found"},
		{"no such task", jsonReq("GET", "/v1/tasks/99999999", tok, nil), 404, "task_not_found"},
		{"take: broken JSON", jsonReq("POST", tp+"/take", tok, `{"shop_id":`), 422, "task_bad_json"},
		{"take: unknown field", jsonReq("POST", tp+"/take", tok, `{"shop":1}`), 422, "task_bad_json"},
		{"take: negative shop", jsonReq("POST", tp+"/take", tok, `{"shop_id":-1}`), 422, "task_bad_param"},
		{"take: another client's shop", jsonReq("POST", tp+"/take", tok, map[string]any{"shop_id": f.c2.Shop}), 403, "task_shop_not_eligible"},
		{"take: not started", jsonReq("POST", "/v1/tasks/"+strconv.FormatInt(f.later.ID, 10)+"/take", tok, nil), 409, "task_not_started"},
		{"reports: status", jsonReq("GET", "/v1/tasks/submissions?status=done", tok, nil), 422, "task_bad_param"},
		{"reports: limit", jsonReq("GET", "/v1/tasks/submissions?limit=500", tok, nil), 422, "task_bad_param"},
		{"reports: task_id", jsonReq("GET", "/v1/tasks/submissions?task_id=-3", tok, nil), 422, "task_bad_param"},
		{"report id not a number", reportReq("/v1/tasks/submissions/x/report", tok, photo, good), 404, "task_submission_not_found"},
		{"report: not multipart", jsonReq("POST", sp, tok, `{}`), 422, "task_bad_form"},
		{"report: no photos", reportReq(sp, tok, nil, good), 422, "task_too_few_photos"},
		{"report: too many photos", reportReq(sp, tok, [][]byte{shelfJPEG(t, 1), shelfJPEG(t, 2), shelfJPEG(t, 4)}, good), 422, "task_too_many_photos"},
		{"report: not a photo", reportReq(sp, tok, [][]byte{[]byte("hello")}, good), 422, "task_bad_photo"},
		{"report: HEIC", reportReq(sp, tok, [][]byte{heic}, good), 422, "task_bad_photo"},
		{"report: decompression bomb", reportReq(sp, tok, [][]byte{pngBomb()}, good), 413, "task_photo_too_large"},
		{"report: answers missing", reportReq(sp, tok, photo, map[string]string{}), 422, "task_bad_answers"},
		{"report: answers wrong type", reportReq(sp, tok, photo, with("answers", `{"facings":"many"}`)), 422, "task_bad_answers"},
		{"report: answers not JSON", reportReq(sp, tok, photo, with("answers", `{`)), 422, "task_bad_answers"},
		{"report: lat without lon", reportReq(sp, tok, photo, with("lat", "55.7")), 422, "task_bad_location"},
		{"report: lat out of range", reportReq(sp, tok, photo, map[string]string{"answers": good["answers"], "lat": "91", "lon": "37"}), 422, "task_bad_location"},
		{"report: captured_at", reportReq(sp, tok, photo, with("captured_at", "yesterday")), 422, "task_bad_capture_time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.req)
			if r.Status != tc.wantStatus || r.code() != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.wantStatus, tc.wantCode)
			}
		})
	}
	// None of the bad reports got through.
	var got submission
	f.do(t, jsonReq("GET", "/v1/tasks/submissions/"+strconv.FormatInt(sub.ID, 10), tok, nil)).json(t, &got)
	if got.Status != "taken" {
		t.Fatalf("attempt is %q after bad reports", got.Status)
	}
}
