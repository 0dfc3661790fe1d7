package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
)

// pngBomb is a valid PNG header declaring 60000×60000 pixels.
func pngBomb() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 60000)
	binary.BigEndian.PutUint32(ihdr[4:], 60000)
	ihdr[8], ihdr[9] = 8, 0
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

var heic = append([]byte{0, 0, 0, 0x18}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)

type accepted struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func TestReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c1 := e.client(t, "live")
	c2 := e.client(t, "live")
	p1 := e.participant(t, c1, "", "active")
	p2 := e.participant(t, c1, "", "active")
	tok1 := e.login(t, p1).AccessToken
	tok2 := e.login(t, p2).AccessToken

	qr := qrText()
	photoQR := qrText()
	photo := qrPNG(t, photoQR)
	truncated := photo[:len(photo)/2]

	cases := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
		wantField  string
		wantState  string
	}{
		{"qr as json", withKey(jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qr, "lat": 56.3, "lon": 44.0}), "k-qr"), 202, "", "", "queued"},
		{"same qr again → existing", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qr}), 200, "", "", "queued"},
		{"same idempotency key → existing", withKey(jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText()}), "k-qr"), 200, "", "", "queued"},
		{"same qr by another participant", jsonReq("POST", "/v1/receipts", tok2, map[string]any{"qr": qr}), 409, "receipt_already_claimed", "", ""},
		{"manual fields, multipart", multipartReq("/v1/receipts", tok1, map[string]any{"t": "2024-03-01T09:15", "s": "1499,90", "fn": "7281440500000999", "i": "0042", "fp": "3000000999", "n": "1"}), 202, "", "", "queued"},
		{"manual fields, json numbers", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"t": "20240301T0916", "s": 10.5, "fn": "7281440500000998", "i": 43, "fp": 3000000998, "n": 1}), 202, "", "", "queued"},
		{"qr as urlencoded form", formReq(tok1, url.Values{"qr": {qrText()}}), 202, "", "", "queued"},
		{"photo png with a qr", multipartReq("/v1/receipts", tok1, map[string]any{"photo": photo}), 202, "", "", "queued"},
		{"photo, shop of the client", multipartReq("/v1/receipts", tok1, map[string]any{"photo": qrPNG(t, qrText()), "shop_id": c1.Shop}), 202, "", "", "queued"},
		{"photo without a qr", multipartReq("/v1/receipts", tok1, map[string]any{"photo": blankPNG(t)}), 422, "qr_not_found", "photo", ""},
		{"photo of a non-fiscal qr", multipartReq("/v1/receipts", tok1, map[string]any{"photo": qrPNG(t, "https://example.com")}), 422, "not_fiscal_qr", "photo", ""},
		{"heic", multipartReq("/v1/receipts", tok1, map[string]any{"photo": heic}), 415, "photo_heic", "photo", ""},
		{"gif", multipartReq("/v1/receipts", tok1, map[string]any{"photo": []byte("GIF89a\x01\x00\x01\x00")}), 415, "photo_unsupported_format", "photo", ""},
		{"not an image", multipartReq("/v1/receipts", tok1, map[string]any{"photo": []byte("%PDF-1.4 hello")}), 422, "photo_not_image", "photo", ""},
		{"empty photo", multipartReq("/v1/receipts", tok1, map[string]any{"photo": []byte{}}), 422, "photo_empty", "photo", ""},
		{"truncated png", multipartReq("/v1/receipts", tok1, map[string]any{"photo": truncated}), 422, "photo_corrupt", "photo", ""},
		{"truncated jpeg header", multipartReq("/v1/receipts", tok1, map[string]any{"photo": []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10}}), 422, "photo_corrupt", "photo", ""},
		{"decompression bomb", multipartReq("/v1/receipts", tok1, map[string]any{"photo": pngBomb()}), 422, "photo_too_many_pixels", "photo", ""},
		{"photo over the limit", multipartReq("/v1/receipts", tok1, map[string]any{"photo": append([]byte{0xff, 0xd8, 0xff}, make([]byte, 2<<20)...)}), 413, "photo_too_large", "photo", ""},
		{"body over the limit", multipartReq("/v1/receipts", tok1, map[string]any{"photo": make([]byte, 4<<20)}), 413, "payload_too_large", "", ""},
		{"malformed json", jsonReq("POST", "/v1/receipts", tok1, `{"qr":`), 422, "malformed_json", "", ""},
		{"json with an object value", jsonReq("POST", "/v1/receipts", tok1, `{"qr":{"a":1}}`), 422, "invalid_field", "qr", ""},
		{"no content type", func() *http.Request {
			r := jsonReq("POST", "/v1/receipts", tok1, `x`)
			r.Header.Del("Content-Type")
			return r
		}(), 415, "unsupported_media_type", "", ""},
		{"text/plain", func() *http.Request {
			r := jsonReq("POST", "/v1/receipts", tok1, qr)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}(), 415, "unsupported_media_type", "", ""},
		{"multipart without boundary", func() *http.Request {
			r := jsonReq("POST", "/v1/receipts", tok1, "x")
			r.Header.Set("Content-Type", "multipart/form-data")
			return r
		}(), 422, "malformed_multipart", "", ""},
		{"nothing", jsonReq("POST", "/v1/receipts", tok1, map[string]any{}), 422, "receipt_input_missing", "", ""},
		{"qr and photo", multipartReq("/v1/receipts", tok1, map[string]any{"photo": photo, "qr": qr}), 422, "receipt_input_ambiguous", "", ""},
		{"bad fn", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": "t=20240301T0915&s=1.00&fn=123&i=1&fp=1&n=1"}), 422, "bad_fn", "fn", ""},
		{"manual, missing fp", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"t": "20240301T0915", "s": "1.00", "fn": "7281440500000997", "i": "1", "n": "1"}), 422, "missing_field", "fp", ""},
		{"not a fiscal qr", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": "https://example.com/pay"}), 422, "not_fiscal_qr", "qr", ""},
		{"qr too long", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": strings.Repeat("a", 2000)}), 422, "qr_too_long", "qr", ""},
		{"shop of another client", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText(), "shop_id": c2.Shop}), 422, "invalid_shop", "shop_id", ""},
		{"shop id not a number", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText(), "shop_id": "abc"}), 422, "invalid_shop", "shop_id", ""},
		{"lat without lon", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText(), "lat": 1}), 422, "invalid_geo", "lat", ""},
		{"lat out of range", jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText(), "lat": 91, "lon": 1}), 422, "invalid_geo", "lat", ""},
		{"bad idempotency key", withKey(jsonReq("POST", "/v1/receipts", tok1, map[string]any{"qr": qrText()}), strings.Repeat("k", 201)), 422, "invalid_idempotency_key", "Idempotency-Key", ""},
	}
	ids := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r resp
			if tc.wantCode == "payload_too_large" {
				r = e.doNet(t, tc.req)
			} else {
				r = e.do(t, tc.req)
			}
			var body struct {
				accepted
				Code  string `json:"code"`
				Field string `json:"field"`
			}
			r.json(t, &body)
			if r.Status != tc.wantStatus || body.Code != tc.wantCode || body.Field != tc.wantField {
				t.Fatalf("got %d %s, want %d %s field %q", r.Status, r.Body, tc.wantStatus, tc.wantCode, tc.wantField)
			}
			if tc.wantState != "" && body.Status != tc.wantState {
				t.Fatalf("status %s, want %s", body.Status, tc.wantState)
			}
			if r.Status == 409 && strings.Contains(string(r.Body), p1.Login) {
				t.Fatal("409 names the owner")
			}
			ids[tc.name] = body.ID
		})
	}

	if ids["same qr again → existing"] != ids["qr as json"] || ids["same idempotency key → existing"] != ids["qr as json"] {
		t.Fatalf("repeats did not return the existing receipt: %v", ids)
	}

	t.Run("accepted receipts are enqueued once, after commit, with the receipt id as task id", func(t *testing.T) {
		for _, name := range []string{"qr as json", "photo png with a qr", "manual fields, multipart"} {
			id := ids[name]
			info, err := e.insp.GetTaskInfo(queue.Critical, queue.TypeReceiptVerify+":"+id)
			if err != nil {
				t.Fatalf("%s: task: %v", name, err)
			}
			if info.Type != queue.TypeReceiptVerify || !strings.Contains(string(info.Payload), id) {
				t.Fatalf("%s: task %+v", name, info)
			}
		}
		// The repeat did not enqueue anything new.
		tasks, err := e.insp.ListPendingTasks(queue.Critical, asynq.PageSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		e.db.QueryRow(ctx, `SELECT count(*) FROM receipts`).Scan(&rows)
		if len(tasks) != rows {
			t.Fatalf("%d tasks for %d receipts", len(tasks), rows)
		}
	})

	t.Run("the receipt row keeps the program, shop, geo, photo and events", func(t *testing.T) {
		var program, shop *int64
		var lat *float64
		var photoKey *string
		var events int
		id := ids["qr as json"]
		if err := e.db.QueryRow(ctx, `SELECT program_id, shop_id, geo_lat, photo_key, (SELECT count(*) FROM receipt_events WHERE receipt_id = r.id)
			FROM receipts r WHERE id = $1`, id).Scan(&program, &shop, &lat, &photoKey, &events); err != nil {
			t.Fatal(err)
		}
		if program == nil || *program != c1.Program || shop == nil || *shop != c1.Shop || lat == nil || *lat != 56.3 || photoKey != nil || events != 2 {
			t.Fatalf("program %v shop %v lat %v photo %v events %d", program, shop, lat, photoKey, events)
		}
		id = ids["photo png with a qr"]
		if err := e.db.QueryRow(ctx, `SELECT photo_key FROM receipts WHERE id = $1`, id).Scan(&photoKey); err != nil || photoKey == nil {
			t.Fatalf("photo key %v %v", photoKey, err)
		}
	})

	t.Run("get shows the fiscal fields and the timeline in Russian", func(t *testing.T) {
		id := ids["photo png with a qr"]
		r := e.do(t, jsonReq("GET", "/v1/receipts/"+id, tok1, nil))
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var d struct {
			Status string `json:"status"`
			Fiscal struct {
				QR string `json:"qr"`
			} `json:"fiscal"`
			Events []struct {
				ToStatus string `json:"to_status"`
				Message  string `json:"message"`
			} `json:"events"`
		}
		r.json(t, &d)
		if d.Fiscal.QR == "" || len(d.Events) != 3 || d.Events[0].ToStatus != "received" || d.Events[2].ToStatus != "queued" || !strings.Contains(d.Events[1].Message, "распознан") {
			t.Fatalf("%s", r.Body)
		}
		// Another participant does not see it; nor a bad id.
		for _, path := range []string{"/v1/receipts/" + id, "/v1/receipts/not-a-uuid", "/v1/receipts/00000000-0000-0000-0000-000000000000"} {
			r = e.do(t, jsonReq("GET", path, tok2, nil))
			if r.Status != 404 || r.code() != "receipt_not_found" {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
		}
	})

	t.Run("list pages with a cursor and filters by status", func(t *testing.T) {
		var all []string
		cursor := ""
		for page := 0; page < 10; page++ {
			path := "/v1/receipts?limit=2"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do(t, jsonReq("GET", path, tok1, nil))
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var l struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			r.json(t, &l)
			for _, it := range l.Items {
				all = append(all, it.ID)
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
		}
		var n int
		e.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE participant_id = $1`, p1.ID).Scan(&n)
		if len(all) != n || n < 5 {
			t.Fatalf("listed %d of %d", len(all), n)
		}
		r := e.do(t, jsonReq("GET", "/v1/receipts?status=credited", tok1, nil))
		if r.Status != 200 || !strings.Contains(string(r.Body), `"items":[]`) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r = e.do(t, jsonReq("GET", "/v1/receipts", tok2, nil))
		if r.Status != 200 || !strings.Contains(string(r.Body), `"items":[]`) {
			t.Fatalf("other participant sees: %s", r.Body)
		}
		for q, code := range map[string]string{"status=nope": "invalid_status", "limit=0": "invalid_limit", "limit=x": "invalid_limit", "cursor=%25%25": "bad_cursor"} {
			r = e.do(t, jsonReq("GET", "/v1/receipts?"+q, tok1, nil))
			if r.Status != 422 || r.code() != code {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
}

func withKey(r *http.Request, key string) *http.Request {
	r.Header.Set("Idempotency-Key", key)
	return r
}

func formReq(token string, v url.Values) *http.Request {
	r := jsonReq("POST", "/v1/receipts", token, v.Encode())
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestLimitsAndBudget runs with small limits: a decode budget that is
// always spent (the photo goes to the worker) and two uploads per hour.
func TestLimitsAndBudget(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.DecodeBudget = time.Nanosecond
	cfg.UploadsPerHour = 2
	e := newEnv(t, cfg)
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken

	r := e.do(t, multipartReq("/v1/receipts", tok, map[string]any{"photo": qrPNG(t, qrText())}))
	var a accepted
	r.json(t, &a)
	if r.Status != 202 || a.Status != "received" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if _, err := e.insp.GetTaskInfo(queue.Critical, queue.TypeReceiptDecode+":"+a.ID); err != nil {
		t.Fatalf("decode task: %v", err)
	}
	// Format checks do not need the budget: a HEIC is refused even now.
	r = e.do(t, multipartReq("/v1/receipts", tok, map[string]any{"photo": heic}))
	if r.Status != 415 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}))
	if r.Status != 429 || r.code() != "upload_limit_exceeded" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Another participant has their own limit.
	p2 := e.participant(t, c, "", "active")
	r = e.do(t, jsonReq("POST", "/v1/receipts", e.login(t, p2).AccessToken, map[string]any{"qr": qrText()}))
	if r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

// TestConcurrentClaim: 50 participants upload the same receipt at once;
// exactly one owns it.
func TestConcurrentClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	const n = 50
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e.login(t, e.participant(t, c, "", "active")).AccessToken
	}
	qr := qrText()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range toks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := e.do(t, jsonReq("POST", "/v1/receipts", toks[i], map[string]any{"qr": qr}))
			statuses[i] = r.Status
		}(i)
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[202] != 1 || count[409] != n-1 {
		t.Fatalf("statuses %v", count)
	}
	var rows int
	e.db.QueryRow(context.Background(), `SELECT count(*) FROM receipts`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d rows", rows)
	}
}

// TestRealPhoto uploads a real phone photo of a receipt when the shared
// test set is present.
func TestRealPhoto(t *testing.T) {
	t.Parallel()
	dir := "/work/shared/testdata/qr/receipts"
	b, err := os.ReadFile(filepath.Join(dir, "000.jpg"))
	if err != nil {
		t.Skipf("no shared receipt photos: %v", err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "000.txt"))
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	tok := e.login(t, e.participant(t, c, "", "active")).AccessToken
	r := e.do(t, multipartReq("/v1/receipts", tok, map[string]any{"photo": b}))
	var a accepted
	r.json(t, &a)
	if r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var raw string
	e.db.QueryRow(context.Background(), `SELECT COALESCE(qr_raw, '') FROM receipts WHERE id = $1`, a.ID).Scan(&raw)
	if a.Status == "queued" && strings.TrimSpace(raw) != strings.TrimSpace(string(want)) {
		t.Fatalf("decoded %q, want %q", raw, want)
	}
	fmt.Println("real photo:", a.Status)
}

// FuzzReceiptUpload sends arbitrary bodies to POST /v1/receipts through
// the whole app: never a 5xx, and every answer matches openapi.yaml.
func FuzzReceiptUpload(f *testing.F) {
	cfg := defaultAuth()
	// Fuzzing accepts many uploads: upload limits must not turn the rest into 429s.
	cfg.UploadsPerHour, cfg.UploadsPerDay = 1<<30, 1<<30
	e := newEnv(f, cfg)
	c := e.client(f, "live")
	tok := e.login(f, e.participant(f, c, "", "active")).AccessToken
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"qr":"t=20240301T0915&s=1.00&fn=7281440500000101&i=1&fp=1&n=1"}`},
		{"application/json", `{"t":"20240301T0915","s":"1","fn":"7281440500000101","i":"1","fp":"1","n":"1","shop_id":"1"}`},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n\r\n\xff\xd8\xff\xe0\x00\x10JFIF\r\n--x--\r\n"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n\r\n\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x00\x00\x00\x00\r\n--x--\r\n"},
		{"application/x-www-form-urlencoded", "qr=t%3D20240301T0915%26s%3D1%26fn%3D1%26i%3D1%26fp%3D1%26n%3D1&lat=1&lon=2"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	e.listen()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		req := jsonReq("POST", "/v1/receipts", tok, body)
		req.Header.Set("Content-Type", ct)
		// Over a real connection: fasthttp pre-parses multipart bodies and
		// its answer to a broken one (400) only shows on the wire.
		r := e.doNet(t, req)
		if r.Status >= 500 || r.code() == "internal" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
