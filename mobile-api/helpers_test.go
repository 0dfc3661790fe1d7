package mobileapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

const testSecret = "test-secret-of-at-least-32-characters!"

// env is one API on a fresh database and a private Redis DB, with the SMS
// simulator behind the real SMS client.
type env struct {
	t       testing.TB
	app     *fiber.App
	db      *pgxpool.Pool
	rdb     *redis.Client
	sim     *smssim.Server
	insp    *asynq.Inspector
	router  routers.Router
	cfg     config.Auth
	checked atomic.Int64 // responses validated against the OpenAPI document
	netOnce sync.Once
	base    string
}

func defaultAuth() config.Auth {
	return config.Auth{
		JWTSecret: testSecret, AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour, OTPTTL: 5 * time.Minute,
		OTPMaxAttempts: 5, UploadsPerHour: 1000, UploadsPerDay: 1000, DecodeBudget: 30 * time.Second,
		DecodeWorkers: 2, MaxPhotoBytes: 2 << 20, MaxPhotoPixels: 20_000_000,
	}
}

var openapiDoc = func() *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(mobileapi.OpenAPI)
	if err != nil {
		panic(fmt.Sprintf("openapi.yaml does not load: %v", err))
	}
	if err := doc.Validate(context.Background()); err != nil {
		panic(fmt.Sprintf("openapi.yaml is not valid: %v", err))
	}
	return doc
}()

func newEnv(t testing.TB, cfg config.Auth) *env {
	t.Helper()
	return newEnvWith(t, cfg, nil)
}

// newEnvWith is newEnv with the API's dependencies changed by tune (the QR
// decoder, the clock) before the API is built.
func newEnvWith(t testing.TB, cfg config.Auth, tune func(*mobileapi.Deps)) *env {
	t.Helper()
	db, _ := pgtest.New(t)
	ropt := redistest.DB(t)
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	aopt := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, DB: ropt.DB}
	qc := asynq.NewClient(aopt)
	t.Cleanup(func() { qc.Close() })
	insp := asynq.NewInspector(aopt)
	t.Cleanup(func() { insp.Close() })
	sim := smssim.New(smssim.Options{APIID: "test-api-id", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sc, err := sms.New(sms.Options{BaseURL: srv.URL, APIID: "test-api-id", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	deps := mobileapi.Deps{DB: db, Redis: rdb, Queue: qc, Logger: log, SMS: sc, Auth: cfg, PhotoDir: t.TempDir()}
	if tune != nil {
		tune(&deps)
	}
	api, err := mobileapi.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	app := httpapi.New(httpapi.Options{Logger: log, BodyLimit: int(cfg.MaxPhotoBytes) + 1<<20, Outage: postgres.Unavailable})
	api.Register(app)
	router, err := legacy.NewRouter(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: app, db: db, rdb: rdb, sim: sim, insp: insp, router: router, cfg: cfg}
	t.Cleanup(func() {
		if !t.Failed() && e.checked.Load() == 0 {
			t.Error("no response was validated against openapi.yaml")
		}
	})
	return e
}

// resp is a response with its body read.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) code() string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Code
}

// do sends req through the app and validates the response against the
// OpenAPI document (status, headers, body schema).
func (e *env) do(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r := resp{Status: res.StatusCode, Header: res.Header, Body: body}
	if r.Status >= 500 {
		t.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, r.Status, body)
	}
	if err := e.validate(req, r); err != nil {
		t.Error(err)
	}
	return r
}

// listen serves the app on a real port (once per env).
func (e *env) listen() {
	e.netOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			e.t.Fatal(err)
		}
		go e.app.Listener(ln)
		e.t.Cleanup(func() { _ = e.app.Shutdown() })
		e.base = "http://" + ln.Addr().String()
	})
}

// doNet is do over a real listener, for what app.Test cannot show (the
// server's answer to a body over the limit).
func (e *env) doNet(t testing.TB, req *http.Request) resp {
	t.Helper()
	e.listen()

	// A raw connection: the server answers 413 after the headers and
	// closes, which an http.Client still writing the body reports as a
	// reset instead of the answer.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { _ = req.Write(conn) }()
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r := resp{Status: res.StatusCode, Header: res.Header, Body: body}
	if err := e.validate(req, r); err != nil {
		t.Error(err)
	}
	return r
}

// validate checks r against the document's response for req's route.
func (e *env) validate(req *http.Request, r resp) error {
	vreq, _ := http.NewRequest(req.Method, "http://localhost"+req.URL.RequestURI(), nil)
	vreq.Header = req.Header.Clone()
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		return fmt.Errorf("%s %s: not in openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.Status, Header: r.Header, Body: io.NopCloser(bytes.NewReader(r.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
	e.checked.Add(1)
	if err != nil {
		return fmt.Errorf("%s %s → %d %s: response does not match openapi.yaml: %v", req.Method, req.URL.Path, r.Status, r.Body, err)
	}
	return nil
}

func jsonReq(method, path, token string, body any) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// multipartReq builds a multipart upload; a value of type []byte is sent
// as a file part.
func multipartReq(path, token string, fields map[string]any) *http.Request {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		switch v := v.(type) {
		case []byte:
			fw, _ := w.CreateFormFile(k, "photo.bin")
			fw.Write(v)
		default:
			w.WriteField(k, fmt.Sprint(v))
		}
	}
	w.Close()
	req := httptest.NewRequest(http.MethodPost, path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// fixture data: a demo-seed-independent helper creating clients, programs,
// shops and participants directly in the test database.

var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1}

type tclient struct {
	ID      int64
	Code    string
	Program int64
	Shop    int64
}

var seq atomic.Int64

func (e *env) client(t testing.TB, programStatus string) tclient {
	t.Helper()
	ctx := context.Background()
	n := seq.Add(1)
	c := tclient{Code: fmt.Sprintf("client%d", n)}
	if err := e.db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ($1, $2) RETURNING id`, c.Code, "Клиент "+c.Code).Scan(&c.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'main', 'Программа', $2, current_date - 30, current_date + 60, 100000000) RETURNING id`, c.ID, programStatus).Scan(&c.Program); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, chain, address) VALUES ($1, 'S1', 'Магазин', 'Сеть', 'ул. Ленина, 1') RETURNING id`, c.ID).Scan(&c.Shop); err != nil {
		t.Fatal(err)
	}
	return c
}

type tparticipant struct {
	ID       int64
	Phone    string
	Login    string
	Password string
}

// participant creates a participant of c; status "" means invited.
func (e *env) participant(t testing.TB, c tclient, phone, status string) tparticipant {
	t.Helper()
	n := seq.Add(1)
	if phone == "" {
		phone = fmt.Sprintf("+7999%07d", n)
	}
	if status == "" {
		status = "invited"
	}
	p := tparticipant{Phone: phone, Login: fmt.Sprintf("user%d", n), Password: fmt.Sprintf("pw-%d-secret", n)}
	hash, err := password.HashWith(p.Password, cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(context.Background(), `INSERT INTO participants (client_id, phone, login, name, role, shop_id, status, password_hash)
		VALUES ($1, $2, $3, $4, 'seller', $5, $6, $7) RETURNING id`, c.ID, phone, p.Login, "Продавец "+p.Login, c.Shop, status, hash).Scan(&p.ID); err != nil {
		t.Fatal(err)
	}
	return p
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Participant  struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"participant"`
}

func (e *env) login(t testing.TB, p tparticipant) tokens {
	t.Helper()
	r := e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": p.Login, "password": p.Password}))
	if r.Status != 200 {
		t.Fatalf("login %s: %d %s", p.Login, r.Status, r.Body)
	}
	var tk tokens
	r.json(t, &tk)
	return tk
}

// expiredToken signs a token for p that expired an hour ago.
func expiredToken(t *testing.T, p tparticipant, c tclient) string {
	t.Helper()
	svc, err := auth.New(nil, nil, nil, auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.IssueAccess(auth.Participant{ID: p.ID, ClientID: c.ID, Role: "seller"}, "5b0c1a52-8d1e-4f3a-9a43-2f6f7f0f2c11", time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// qrPNG renders text as a QR code PNG.
func qrPNG(t testing.TB, text string) []byte {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 300, 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blankPNG is a readable image without any code.
func blankPNG(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range img.Pix {
		img.Pix[i] = 230
	}
	img.Set(10, 10, color.Black)
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

var qrSeq atomic.Int64

// qrText returns a fresh valid fiscal QR text (unique fiscal identity).
func qrText() string {
	n := qrSeq.Add(1) + time.Now().UnixNano()%1_000_000*1000
	return fmt.Sprintf("t=%s&s=1499.90&fn=7281440500%06d&i=%d&fp=%d&n=1",
		time.Now().Add(-time.Hour).Format("20060102T1504"), n%1_000_000, n%100000+1, 3000000000+n%1000000)
}
